//! Reading ONNX files: the protobuf (for node names, op types and
//! attributes) and tract's runnable model (for the float reference).

use super::tensor::ConstTensor;
use super::ModelError;
use std::path::Path;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, TensorProto};
use tract_onnx::prelude::*;

pub fn read_proto(path: &Path) -> Result<ModelProto, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::Io { path: path.into(), reason: e.to_string() })?;
    use tract_onnx::prelude::Framework;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::Corrupt { path: path.into(), reason: root_cause(&e) })?;
    if proto.graph.is_none() {
        return Err(ModelError::Corrupt { path: path.into(), reason: "no graph in the model".into() });
    }
    Ok(proto)
}

fn root_cause(e: &anyhow::Error) -> String {
    e.chain().last().map(|c| c.to_string()).unwrap_or_else(|| e.to_string())
}

/// Decode an initializer or Constant tensor into f64 values.
pub fn const_from_proto(t: &TensorProto) -> Result<ConstTensor, String> {
    if t.data_location == Some(1) {
        return Err(format!("tensor '{}' uses external data, which is not supported", t.name));
    }
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("tensor '{}' has negative dim {d}", t.name)))
        .collect::<Result<_, _>>()?;
    let n: usize = shape.iter().product();
    let raw = &t.raw_data;
    let data: Vec<f64> = match DataType::try_from(t.data_type) {
        Ok(DataType::Float) if !raw.is_empty() => {
            raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64).collect()
        }
        Ok(DataType::Float) => t.float_data.iter().map(|&v| v as f64).collect(),
        Ok(DataType::Double) if !raw.is_empty() => {
            raw.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
        }
        Ok(DataType::Double) => t.double_data.clone(),
        Ok(DataType::Int64) if !raw.is_empty() => {
            raw.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64).collect()
        }
        Ok(DataType::Int64) => t.int64_data.iter().map(|&v| v as f64).collect(),
        Ok(DataType::Int32) if !raw.is_empty() => {
            raw.chunks_exact(4).map(|b| i32::from_le_bytes(b.try_into().unwrap()) as f64).collect()
        }
        Ok(DataType::Int32) => t.int32_data.iter().map(|&v| v as f64).collect(),
        other => return Err(format!("tensor '{}' has unsupported data type {other:?}", t.name)),
    };
    if data.len() != n {
        return Err(format!("tensor '{}' holds {} values for shape {shape:?}", t.name, data.len()));
    }
    Ok(ConstTensor { shape, data })
}

/// The float model as tract runs it, for reference outputs.
pub struct FloatModel {
    plan: std::sync::Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
}

impl FloatModel {
    pub fn load(path: &Path, input_shape: &[usize]) -> Result<Self, ModelError> {
        let corrupt = |e: anyhow::Error| ModelError::Corrupt { path: path.into(), reason: root_cause(&e) };
        // Exporters often declare output shapes that disagree with what the
        // graph computes (a Tile that grows the batch, say); trust the graph.
        let plan = tract_onnx::onnx()
            .with_ignore_output_shapes(true)
            .with_ignore_value_info(true)
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_typed())
            .and_then(|m| m.into_runnable())
            .map_err(corrupt)?;
        Ok(FloatModel { plan, input_shape: input_shape.to_vec() })
    }

    /// Run on one flattened input; returns the first output, flattened.
    pub fn run(&self, input: &[f64]) -> Result<Vec<f64>, ModelError> {
        let data: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let tensor = tract_ndarray::Array::from_shape_vec(self.input_shape.clone(), data)
            .map_err(|e| ModelError::Input(format!("input does not fit shape {:?}: {e}", self.input_shape)))?;
        let out = self
            .plan
            .run(tvec!(Tensor::from(tensor).into_tvalue()))
            .map_err(|e| ModelError::Input(format!("tract could not run the model: {}", root_cause(&e))))?;
        let view = out[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::Input(format!("model output is not f32: {e}")))?;
        Ok(view.iter().map(|&v| v as f64).collect())
    }
}
