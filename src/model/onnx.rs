//! Reading ONNX files: the protobuf (for node names, op types and
//! attributes) and tract's runnable model (for the float reference).

use super::tensor::ConstTensor;
use super::ModelError;
use std::path::Path;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, TensorProto};
use tract_onnx::prelude::*;

pub fn read_proto(path: &Path) -> Result<ModelProto, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::Io {
        path: path.into(),
        reason: e.to_string(),
    })?;
    use tract_onnx::prelude::Framework;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::Corrupt {
            path: path.into(),
            reason: root_cause(&e),
        })?;
    if proto.graph.is_none() {
        return Err(ModelError::Corrupt {
            path: path.into(),
            reason: "no graph in the model".into(),
        });
    }
    Ok(proto)
}

/// The opset `proto` imports for `domain` (`""` is `ai.onnx`); 1 when it
/// declares none, as ONNX prescribes.
pub fn opset(proto: &ModelProto, domain: &str) -> i64 {
    let default = |d: &str| d.is_empty() || d == "ai.onnx";
    proto
        .opset_import
        .iter()
        .find(|o| o.domain == domain || (default(domain) && default(&o.domain)))
        .map_or(1, |o| o.version)
}

fn root_cause(e: &anyhow::Error) -> String {
    e.chain()
        .last()
        .map(|c| c.to_string())
        .unwrap_or_else(|| e.to_string())
}

/// Decode an initializer, Constant or test-data tensor into f64 values:
/// every numeric and boolean element type.
pub fn const_from_proto(t: &TensorProto) -> Result<ConstTensor, String> {
    if t.data_location == Some(1) {
        return Err(format!(
            "tensor '{}' uses external data, which is not supported",
            t.name
        ));
    }
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| format!("tensor '{}' has negative dim {d}", t.name))
        })
        .collect::<Result<_, _>>()?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("tensor '{}' has an impossible shape {shape:?}", t.name))?;
    let raw = &t.raw_data;
    macro_rules! le {
        ($ty:ty) => {
            raw.chunks_exact(std::mem::size_of::<$ty>())
                .map(|b| <$ty>::from_le_bytes(b.try_into().unwrap()) as f64)
                .collect()
        };
    }
    let has_raw = !raw.is_empty();
    let data: Vec<f64> = match DataType::try_from(t.data_type) {
        Ok(DataType::Float) if has_raw => le!(f32),
        Ok(DataType::Float) => t.float_data.iter().map(|&v| v as f64).collect(),
        Ok(DataType::Double) if has_raw => le!(f64),
        Ok(DataType::Double) => t.double_data.clone(),
        Ok(DataType::Float16) if has_raw => raw
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect(),
        Ok(DataType::Float16) => t
            .int32_data
            .iter()
            .map(|&v| f16::from_bits(v as u16).to_f64())
            .collect(),
        Ok(DataType::Int64) if has_raw => le!(i64),
        Ok(DataType::Int64) => t.int64_data.iter().map(|&v| v as f64).collect(),
        Ok(DataType::Uint64) if has_raw => le!(u64),
        Ok(DataType::Uint64) => t.uint64_data.iter().map(|&v| v as f64).collect(),
        Ok(DataType::Int32) if has_raw => le!(i32),
        Ok(DataType::Uint32) if has_raw => le!(u32),
        Ok(DataType::Int16) if has_raw => le!(i16),
        Ok(DataType::Uint16) if has_raw => le!(u16),
        Ok(DataType::Int8) if has_raw => le!(i8),
        Ok(DataType::Uint8) | Ok(DataType::Bool) if has_raw => {
            raw.iter().map(|&b| b as f64).collect()
        }
        // Small integer types and booleans live in int32_data otherwise.
        Ok(
            DataType::Int32
            | DataType::Int16
            | DataType::Uint16
            | DataType::Int8
            | DataType::Uint8
            | DataType::Bool,
        ) => t.int32_data.iter().map(|&v| v as f64).collect(),
        Ok(DataType::Uint32) => t.uint64_data.iter().map(|&v| v as f64).collect(),
        other => {
            return Err(format!(
                "tensor '{}' has unsupported data type {other:?}",
                t.name
            ))
        }
    };
    if data.len() != n {
        return Err(format!(
            "tensor '{}' holds {} values for shape {shape:?}",
            t.name,
            data.len()
        ));
    }
    Ok(ConstTensor { shape, data })
}

/// The float model as tract runs it, for reference outputs.
pub struct FloatModel {
    plan: std::sync::Arc<TypedRunnableModel>,
    inputs: Vec<super::GraphInput>,
}

impl FloatModel {
    pub fn load(path: &Path, inputs: &[super::GraphInput]) -> Result<Self, ModelError> {
        let corrupt = |e: anyhow::Error| ModelError::Corrupt {
            path: path.into(),
            reason: root_cause(&e),
        };
        // Exporters often declare output shapes that disagree with what the
        // graph computes (a Tile that grows the batch, say); trust the graph.
        let mut model = tract_onnx::onnx()
            .with_ignore_output_shapes(true)
            .with_ignore_value_info(true)
            .model_for_path(path)
            .map_err(corrupt)?;
        for (i, input) in inputs.iter().enumerate() {
            let dt = datum_type(input.elem_type)
                .map_err(|e| ModelError::Graph(format!("input '{}': {e}", input.name)))?;
            model = model
                .with_input_fact(i, InferenceFact::dt_shape(dt, &input.shape))
                .map_err(corrupt)?;
        }
        let plan = model
            .into_typed()
            .and_then(|m| m.into_runnable())
            .map_err(corrupt)?;
        Ok(FloatModel {
            plan,
            inputs: inputs.to_vec(),
        })
    }

    /// Run on the flattened, concatenated inputs; returns every output,
    /// flattened and concatenated.
    pub fn run(&self, input: &[f64]) -> Result<Vec<f64>, ModelError> {
        let mut tensors = TVec::new();
        let mut at = 0;
        for gi in &self.inputs {
            let n: usize = gi.shape.iter().product();
            let data = input
                .get(at..at + n)
                .ok_or_else(|| ModelError::Input(format!("input '{}' is short", gi.name)))?;
            at += n;
            let dt = datum_type(gi.elem_type).map_err(ModelError::Input)?;
            tensors.push(tensor_of(dt, &gi.shape, data)?.into_tvalue());
        }
        let out = self.plan.run(tensors).map_err(|e| {
            ModelError::Input(format!("tract could not run the model: {}", root_cause(&e)))
        })?;
        let mut values = Vec::new();
        for t in out.iter() {
            let f = t.cast_to::<f64>().map_err(|e| {
                ModelError::Input(format!(
                    "model output of type {:?} is not numeric: {e}",
                    t.datum_type()
                ))
            })?;
            values.extend(
                f.to_plain_array_view::<f64>()
                    .map_err(|e| ModelError::Input(e.to_string()))?
                    .iter()
                    .copied(),
            );
        }
        Ok(values)
    }
}

/// tract's type for an ONNX element type the circuit can feed: numbers and
/// booleans (all become fixed-point values).
pub(crate) fn datum_type(elem_type: i32) -> Result<DatumType, String> {
    Ok(match DataType::try_from(elem_type) {
        Ok(DataType::Float) | Ok(DataType::Undefined) => f32::datum_type(),
        Ok(DataType::Double) => f64::datum_type(),
        Ok(DataType::Float16) => f16::datum_type(),
        Ok(DataType::Int64) => i64::datum_type(),
        Ok(DataType::Int32) => i32::datum_type(),
        Ok(DataType::Int16) => i16::datum_type(),
        Ok(DataType::Int8) => i8::datum_type(),
        Ok(DataType::Uint8) => u8::datum_type(),
        Ok(DataType::Bool) => bool::datum_type(),
        other => {
            return Err(format!(
                "element type {other:?} is not supported (numbers and booleans are)"
            ))
        }
    })
}

/// A tensor of type `dt` from f64 values (integers rounded, booleans
/// nonzero).
fn tensor_of(dt: DatumType, shape: &[usize], data: &[f64]) -> Result<Tensor, ModelError> {
    let bad = |e: tract_ndarray::ShapeError| {
        ModelError::Input(format!("input does not fit shape {shape:?}: {e}"))
    };
    let t = if dt == bool::datum_type() {
        Tensor::from(
            tract_ndarray::Array::from_shape_vec(
                shape.to_vec(),
                data.iter().map(|&v| v != 0.0).collect(),
            )
            .map_err(bad)?,
        )
    } else if dt.is_integer() {
        Tensor::from(
            tract_ndarray::Array::from_shape_vec(
                shape.to_vec(),
                data.iter().map(|&v| v.round() as i64).collect(),
            )
            .map_err(bad)?,
        )
    } else {
        Tensor::from(
            tract_ndarray::Array::from_shape_vec(shape.to_vec(), data.to_vec()).map_err(bad)?,
        )
    };
    t.cast_to_dt(dt)
        .map(|c| c.into_owned())
        .map_err(|e| ModelError::Input(format!("cannot make a {dt:?} input: {e}")))
}

/// A tract tensor of numbers or booleans as a constant of the lowering.
pub(crate) fn tensor_to_const(t: &Tensor) -> TractResult<ConstTensor> {
    let t = if t.datum_type() == bool::datum_type() {
        t.cast_to::<u8>()?.into_owned()
    } else {
        t.clone()
    };
    let f = t.cast_to::<f64>()?;
    Ok(ConstTensor {
        shape: f.shape().to_vec(),
        data: f.to_plain_array_view::<f64>()?.iter().copied().collect(),
    })
}
