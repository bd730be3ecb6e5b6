//! From an ONNX file to a [`Program`]: parse, resolve shapes, lower each node
//! through the op table.

pub mod fold;
pub mod narrow;
pub mod onnx;
pub mod ops;
pub mod program;
pub mod rational;
pub mod tensor;
pub mod types;

pub use program::{Activation, LutFn, Neuron, Program, QuotientKind, Value, ValueId};

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
    UnsupportedOp {
        op: String,
        node: String,
        supported: String,
        hint: String,
    },
    #[error("ONNX op '{op}' at node '{node}': {reason}")]
    Op {
        op: String,
        node: String,
        reason: String,
    },
    /// A lowering reads input `index` as structure (a shape, index, axis
    /// or weight), and the model feeds it a value that depends on the
    /// input.
    #[error("ONNX op '{op}' at node '{node}': {what} must be a constant (it fixes the circuit's structure; here it depends on the model input)")]
    NotConstant {
        op: String,
        node: String,
        what: String,
        index: usize,
    },
    #[error("model graph: {0}")]
    Graph(String),
    #[error("input: {0}")]
    Input(String),
}

/// A loaded model: its lowered program and where it came from.
pub struct Model {
    pub path: PathBuf,
    pub program: Program<f64>,
    /// The graph inputs, in graph order (the program's inputs are their
    /// values, concatenated).
    pub inputs: Vec<GraphInput>,
    /// Whether the graph has `ai.onnx.ml` nodes (scikit-learn's and
    /// XGBoost's exporters), several of which tract cannot run.
    pub ml_domain: bool,
}

/// What a proof's outputs are compared with: tract running the ONNX graph,
/// or, for a graph of `ai.onnx.ml` ops tract cannot type (a
/// TreeEnsembleRegressor, a LinearClassifier pipeline), the float
/// evaluation of our own lowering, each op of which is checked against the
/// ONNX reference implementation by the conformance tests.
pub enum FloatReference<'a> {
    Tract(onnx::FloatModel),
    Lowered(&'a Program<f64>),
}

impl FloatReference<'_> {
    /// Every output of one inference, flattened and concatenated.
    pub fn run(&self, input: &[f64]) -> Result<Vec<f64>, ModelError> {
        match self {
            FloatReference::Tract(m) => m.run(input),
            FloatReference::Lowered(p) => {
                let values = p.eval_f64(input);
                Ok(p.outputs.iter().map(|&o| values[o]).collect())
            }
        }
    }
}

/// A graph input as the circuit sees it: its name, ONNX element type and
/// concrete shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphInput {
    pub name: String,
    pub elem_type: i32,
    pub shape: Vec<usize>,
}

/// How symbolic (batch) dimensions of the graph inputs become concrete.
#[derive(Clone, Copy, Debug)]
pub enum InputShapes<'a> {
    /// Every symbolic dim is 1: a batch of one.
    BatchOfOne,
    /// Each input's first symbolic dim sized so that it holds this many
    /// values (a sample's length), the others 1.
    FitLengths(&'a [usize]),
    /// Exactly these shapes (what `settings.json` recorded).
    Exact(&'a [Vec<usize>]),
}

/// The graph inputs that are not initializers, in graph order, with
/// concrete shapes.
pub fn graph_inputs(
    graph: &tract_onnx::pb::GraphProto,
    shapes: InputShapes,
) -> Result<Vec<GraphInput>, ModelError> {
    use tract_onnx::pb::type_proto::Value as TV;
    let inits: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let declared: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !inits.contains(&i.name.as_str()))
        .collect();
    if declared.is_empty() {
        return Err(ModelError::Graph("the model has no input".into()));
    }
    let count_mismatch = |n: usize, what: &str| {
        let names: Vec<&str> = declared.iter().map(|i| i.name.as_str()).collect();
        ModelError::Input(format!(
            "{n} {what} for a model with {} inputs ({})",
            declared.len(),
            names.join(", ")
        ))
    };
    let shapes = match shapes {
        // The input file's count check names the file.
        InputShapes::FitLengths(l) if l.len() != declared.len() => InputShapes::BatchOfOne,
        InputShapes::Exact(s) if s.len() != declared.len() => {
            return Err(count_mismatch(s.len(), "input shapes"))
        }
        other => other,
    };
    declared
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let Some(TV::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref())
            else {
                return Err(ModelError::Graph(format!(
                    "input '{}' is not a tensor",
                    input.name
                )));
            };
            let dims: Vec<Option<usize>> = t
                .shape
                .as_ref()
                .map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match &d.value {
                            Some(dimension::Value::DimValue(v)) if *v > 0 => Some(*v as usize),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let shape = match shapes {
                InputShapes::Exact(s) => s[i].clone(),
                InputShapes::BatchOfOne => dims.iter().map(|d| d.unwrap_or(1)).collect(),
                InputShapes::FitLengths(lens) => fit_symbolic(&dims, lens[i]),
            };
            Ok(GraphInput {
                name: input.name.clone(),
                elem_type: t.elem_type,
                shape,
            })
        })
        .collect()
}

/// `dims` with the first unknown dim set so the shape holds `len` values
/// and the others 1; where no such shape exists, every unknown dim 1 (the
/// input's length check then names the mismatch).
fn fit_symbolic(dims: &[Option<usize>], len: usize) -> Vec<usize> {
    let known: usize = dims.iter().flatten().product();
    let mut shape: Vec<usize> = dims.iter().map(|d| d.unwrap_or(1)).collect();
    if let Some(first) = dims.iter().position(|d| d.is_none()) {
        if known > 0 && len > 0 && len % known == 0 {
            shape[first] = len / known;
        }
    }
    shape
}

impl Model {
    /// Load with symbolic dims set to 1.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        Self::load_with(path, InputShapes::BatchOfOne)
    }

    pub fn load_with(path: &Path, shapes: InputShapes) -> Result<Model, ModelError> {
        let proto = onnx::read_proto(path)?;
        let graph = proto.graph.as_ref().expect("checked by read_proto");
        let inputs = graph_inputs(graph, shapes)?;
        // What tract can compute without input values never reaches the op
        // table. Should tract fail on it, every node is lowered as it is.
        let folded = fold::fold(&proto, &inputs).unwrap_or_default();

        // Reject unknown ops up front, naming the first offending node.
        let lowered = |i: &usize| !folded.nodes.contains(i);
        if let Some(node) = (0..graph.node.len())
            .filter(lowered)
            .map(|i| &graph.node[i])
            .find(|n| ops::lookup(&n.op_type).is_none())
        {
            return Err(ModelError::UnsupportedOp {
                op: node.op_type.clone(),
                node: node.name.clone(),
                supported: ops::supported_ops().join(", "),
                hint: "export the model with these ops, or open an issue for this op".into(),
            });
        }

        let num_inputs: usize = inputs.iter().map(|i| tensor::numel(&i.shape)).sum();
        let mut syms: HashMap<String, Sym> = HashMap::new();
        for init in &graph.initializer {
            let c = onnx::const_from_proto(init).map_err(ModelError::Graph)?;
            syms.insert(init.name.clone(), Sym::Const(c));
        }
        for (name, c) in folded.tensors {
            syms.insert(name, Sym::Const(c));
        }
        let mut lowering = ops::Lowering::new(graph, num_inputs, onnx::opset(&proto, ""));
        let mut first = 0;
        for input in &inputs {
            let n = tensor::numel(&input.shape);
            syms.insert(
                input.name.clone(),
                Sym::Dyn(DynTensor {
                    shape: input.shape.clone(),
                    ids: (first..first + n).collect(),
                }),
            );
            first += n;
        }
        // Integer-typed inputs are read through proofs that they are whole,
        // boolean ones as `x ≠ 0`; those neurons are labelled by pseudo
        // nodes after the graph's own.
        for (k, input) in inputs.iter().enumerate() {
            let (integer, boolean) = (
                types::is_integer(input.elem_type),
                input.elem_type == types::BOOL,
            );
            if !integer && !boolean {
                continue;
            }
            let Some(Sym::Dyn(d)) = syms.get(&input.name).cloned() else {
                continue;
            };
            let node = graph.node.len() + k;
            let ids = match integer {
                true => lowering.whole_inputs(&d.ids, node),
                false => lowering.boolean_inputs(&d.ids, node),
            };
            let sym = Sym::Dyn(DynTensor { ids, ..d });
            lowering.produce(&input.name, &sym);
            syms.insert(input.name.clone(), sym);
        }

        for (index, node) in graph.node.iter().enumerate() {
            let name = if node.name.is_empty() {
                format!("{}_{index}", node.op_type)
            } else {
                node.name.clone()
            };
            lowering.nodes.push(name.clone());
            if folded.nodes.contains(&index) {
                // Its outputs are in `syms` already; it has read its inputs.
                let read: Vec<Option<Sym>> =
                    node.input.iter().map(|i| syms.get(i).cloned()).collect();
                lowering.consume(&read);
                continue;
            }
            let inputs = node
                .input
                .iter()
                .map(|i| {
                    if i.is_empty() {
                        return Ok(None);
                    }
                    syms.get(i)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| ModelError::Op {
                            op: node.op_type.clone(),
                            node: name.clone(),
                            reason: format!(
                                "input tensor '{i}' is not produced by any earlier node"
                            ),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut named = node.clone();
            named.name = name;
            let ctx = ops::NodeCtx {
                proto: &named,
                index,
                inputs,
                scope: &syms,
            };
            let lower = ops::lookup(&node.op_type).expect("checked above");
            let outs = lower.run(&mut lowering, &ctx)?;
            lowering.consume(&ctx.inputs);
            for (out_name, out) in node
                .output
                .iter()
                .zip(outs)
                .filter(|(name, _)| !name.is_empty())
            {
                lowering.produce(out_name, &out);
                syms.insert(out_name.clone(), out);
            }
        }

        for input in &inputs {
            lowering.nodes.push(format!("input '{}'", input.name));
        }
        if graph.output.is_empty() {
            return Err(ModelError::Graph("the model has no output".into()));
        }
        let (mut outputs, mut output_shapes) = (Vec::new(), Vec::new());
        for out in &graph.output {
            let ids = match syms.get(&out.name) {
                Some(Sym::Dyn(d)) => d.ids.clone(),
                // An output that does not depend on the input is proved
                // like any other value: constant neurons.
                Some(Sym::Const(c)) => lowering.constant_values(c),
                None => {
                    return Err(ModelError::Graph(format!(
                        "output '{}' is never produced",
                        out.name
                    )))
                }
            };
            outputs.extend(ids);
            output_shapes.push(syms[&out.name].shape().to_vec());
        }
        // Lowerings fold constants and fused neurons into later ones; what
        // no output reads any more is dropped.
        let program = Program {
            values: lowering.values,
            num_inputs,
            outputs,
            input_shapes: inputs.iter().map(|i| i.shape.clone()).collect(),
            output_shapes,
            nodes: lowering.nodes,
            copies: 1,
        }
        .prune();
        Ok(Model {
            path: path.to_path_buf(),
            program,
            inputs,
            ml_domain: graph.node.iter().any(|n| n.domain == "ai.onnx.ml"),
        })
    }

    pub fn float_model(&self) -> Result<onnx::FloatModel, ModelError> {
        onnx::FloatModel::load(&self.path, &self.inputs)
    }

    /// tract's float model where tract can run the graph; our lowering's
    /// float evaluation for an `ai.onnx.ml` graph it cannot.
    pub fn float_reference(&self) -> Result<FloatReference<'_>, ModelError> {
        match self.float_model() {
            Ok(m) => Ok(FloatReference::Tract(m)),
            Err(ModelError::Corrupt { .. }) if self.ml_domain => {
                Ok(FloatReference::Lowered(&self.program))
            }
            Err(e) => Err(e),
        }
    }
}

/// `{"input_data": [[...]], "output_data": [[...]]}`: the common convention
/// of ONNX example suites: one flattened tensor per graph input (and
/// output), in graph order.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct InputFile {
    pub input_data: Vec<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data: Option<Vec<Vec<f64>>>,
}

impl InputFile {
    pub fn read(path: &Path) -> Result<InputFile, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
            path: path.into(),
            reason: e.to_string(),
        })?;
        // NaN and inf are not JSON; serde rejects them with a position.
        let file: InputFile = serde_json::from_str(&text).map_err(|e| {
            ModelError::Input(format!(
                "{}: {e} (expected {{\"input_data\": [[numbers...]]}})",
                path.display()
            ))
        })?;
        if file.input_data.is_empty() {
            return Err(ModelError::Input(format!(
                "{}: input_data is empty",
                path.display()
            )));
        }
        Ok(file)
    }

    /// The length of each input tensor, to size symbolic dims.
    pub fn lengths(&self) -> Vec<usize> {
        self.input_data.iter().map(Vec::len).collect()
    }

    /// Every input tensor, checked against the model's inputs, concatenated.
    pub fn input_for(&self, program: &Program<f64>, path: &Path) -> Result<Vec<f64>, ModelError> {
        let shapes = &program.input_shapes;
        if self.input_data.len() != shapes.len() {
            return Err(ModelError::Input(format!(
                "{}: input_data holds {} tensors but the model takes {} inputs (one flattened tensor per graph input, in graph order)",
                path.display(),
                self.input_data.len(),
                shapes.len()
            )));
        }
        let mut x = Vec::with_capacity(program.num_inputs);
        for (i, (data, shape)) in self.input_data.iter().zip(shapes).enumerate() {
            let which = if shapes.len() == 1 {
                "input".to_string()
            } else {
                format!("input #{i}")
            };
            if data.len() != tensor::numel(shape) {
                return Err(ModelError::Input(format!(
                    "{}: {which} has {} values but the model takes shape {shape:?} ({} values)",
                    path.display(),
                    data.len(),
                    tensor::numel(shape)
                )));
            }
            x.extend_from_slice(data);
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Input(format!(
                "{}: input value #{i} is not finite",
                path.display()
            )));
        }
        Ok(x)
    }

    /// The expected outputs, every output tensor concatenated, if given.
    pub fn expected_outputs(&self) -> Option<Vec<f64>> {
        self.output_data.as_ref().map(|o| o.concat())
    }
}
