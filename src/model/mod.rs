//! From an ONNX file to a [`Program`]: parse, resolve shapes, lower each node
//! through the op table.

pub mod onnx;
pub mod ops;
pub mod program;
pub mod tensor;

pub use program::{Activation, LutFn, Neuron, Program, Value, ValueId};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tensor::{DynTensor, Sym};
use tract_onnx::pb::tensor_shape_proto::dimension;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path} is not a valid ONNX model: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("unsupported ONNX op '{op}' at node '{node}' (supported: {supported}); hint: {hint}")]
    UnsupportedOp { op: String, node: String, supported: String, hint: String },
    #[error("ONNX op '{op}' at node '{node}': {reason}")]
    Op { op: String, node: String, reason: String },
    #[error("model graph: {0}")]
    Graph(String),
    #[error("input: {0}")]
    Input(String),
}

/// A loaded model: its lowered program and where it came from.
pub struct Model {
    pub path: PathBuf,
    pub program: Program<f64>,
}

/// Shape of the single graph input, with symbolic (batch) dims set to 1.
fn input_shape(graph: &tract_onnx::pb::GraphProto) -> Result<(String, Vec<usize>), ModelError> {
    let inits: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<_> = graph.input.iter().filter(|i| !inits.contains(&i.name.as_str())).collect();
    let [input] = inputs.as_slice() else {
        return Err(ModelError::Graph(format!(
            "expected exactly one model input, found {} ({})",
            inputs.len(),
            inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    };
    use tract_onnx::pb::type_proto::Value as TV;
    let dims = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(TV::TensorType(t)) => t.shape.as_ref().map(|s| s.dim.clone()).unwrap_or_default(),
        _ => return Err(ModelError::Graph(format!("input '{}' is not a tensor", input.name))),
    };
    let shape = dims
        .iter()
        .map(|d| match &d.value {
            Some(dimension::Value::DimValue(v)) if *v > 0 => *v as usize,
            _ => 1, // symbolic or unknown: a batch of one
        })
        .collect();
    Ok((input.name.clone(), shape))
}

impl Model {
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let proto = onnx::read_proto(path)?;
        let graph = proto.graph.as_ref().expect("checked by read_proto");

        // Reject unknown ops up front, naming every offending node.
        if let Some(node) = graph.node.iter().find(|n| ops::lookup(&n.op_type).is_none()) {
            return Err(ModelError::UnsupportedOp {
                op: node.op_type.clone(),
                node: node.name.clone(),
                supported: ops::supported_ops().join(", "),
                hint: "export the model with these ops, or open an issue for this op".into(),
            });
        }

        let (input_name, input_shape) = input_shape(graph)?;
        let num_inputs = tensor::numel(&input_shape);
        let mut syms: HashMap<String, Sym> = HashMap::new();
        for init in &graph.initializer {
            let c = onnx::const_from_proto(init).map_err(ModelError::Graph)?;
            syms.insert(init.name.clone(), Sym::Const(c));
        }
        let mut lowering = ops::Lowering::new(graph, num_inputs);
        syms.insert(
            input_name,
            Sym::Dyn(DynTensor { shape: input_shape.clone(), ids: (0..num_inputs).collect() }),
        );

        for (index, node) in graph.node.iter().enumerate() {
            let name = if node.name.is_empty() { format!("{}_{index}", node.op_type) } else { node.name.clone() };
            lowering.nodes.push(name.clone());
            let inputs = node
                .input
                .iter()
                .map(|i| {
                    if i.is_empty() {
                        return Ok(None);
                    }
                    syms.get(i).cloned().map(Some).ok_or_else(|| ModelError::Op {
                        op: node.op_type.clone(),
                        node: name.clone(),
                        reason: format!("input tensor '{i}' is not produced by any earlier node"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut named = node.clone();
            named.name = name;
            let ctx = ops::NodeCtx { proto: &named, index, inputs };
            let lower = ops::lookup(&node.op_type).expect("checked above");
            let out = lower(&mut lowering, &ctx)?;
            let out_name = node.output.first().map(String::as_str).unwrap_or("");
            lowering.finish_node(&ctx.inputs, out_name, &out);
            if !out_name.is_empty() {
                syms.insert(out_name.to_string(), out);
            }
        }

        let out_name = match graph.output.as_slice() {
            [o] => &o.name,
            outs => {
                return Err(ModelError::Graph(format!("expected exactly one model output, found {}", outs.len())))
            }
        };
        let (outputs, output_shape) = match syms.get(out_name) {
            Some(Sym::Dyn(d)) => (d.ids.clone(), d.shape.clone()),
            Some(Sym::Const(_)) => {
                return Err(ModelError::Graph(format!("output '{out_name}' does not depend on the input")))
            }
            None => return Err(ModelError::Graph(format!("output '{out_name}' is never produced"))),
        };
        // Lowerings fold constants and fused neurons into later ones; what
        // no output reads any more is dropped.
        let program = Program {
            values: lowering.values,
            num_inputs,
            outputs,
            input_shape,
            output_shape,
            nodes: lowering.nodes,
        }
        .prune();
        Ok(Model { path: path.to_path_buf(), program })
    }

    pub fn float_model(&self) -> Result<onnx::FloatModel, ModelError> {
        onnx::FloatModel::load(&self.path, &self.program.input_shape)
    }
}

/// `{"input_data": [[...]], "output_data": [[...]]}`: the common convention
/// of ONNX example suites. Only the first tensor of each is used.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct InputFile {
    pub input_data: Vec<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data: Option<Vec<Vec<f64>>>,
}

impl InputFile {
    pub fn read(path: &Path) -> Result<InputFile, ModelError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ModelError::Io { path: path.into(), reason: e.to_string() })?;
        // NaN and inf are not JSON; serde rejects them with a position.
        let file: InputFile = serde_json::from_str(&text)
            .map_err(|e| ModelError::Input(format!("{}: {e} (expected {{\"input_data\": [[numbers...]]}})", path.display())))?;
        if file.input_data.is_empty() {
            return Err(ModelError::Input(format!("{}: input_data is empty", path.display())));
        }
        Ok(file)
    }

    /// The first input tensor, checked against the model's input length.
    pub fn input_for(&self, program: &Program<f64>, path: &Path) -> Result<Vec<f64>, ModelError> {
        let x = &self.input_data[0];
        if x.len() != program.num_inputs {
            return Err(ModelError::Input(format!(
                "{}: input has {} values but the model takes shape {:?} ({} values)",
                path.display(),
                x.len(),
                program.input_shape,
                program.num_inputs
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Input(format!("{}: input value #{i} is not finite", path.display())));
        }
        Ok(x.clone())
    }
}
