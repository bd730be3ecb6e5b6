//! The op table: one entry per supported ONNX op, each lowering a node to
//! program neurons (or to a re-indexing of existing values).
//!
//! An op missing from [`OPS`] is rejected when the model is loaded, with the
//! node name, never later during layout.

use super::program::{Activation, LutFn, Neuron, Value, ValueId};
use super::tensor::*;
use super::ModelError;
use std::collections::HashMap;
use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto};

mod einsum;
mod index;
mod linear;
mod logic;
mod ml;
mod norm;
mod pwl;
mod rec;
mod reduce;
mod resize;
mod scan;
mod select;
mod shape;
mod smooth;
mod window;
use shape::*;

/// State shared by all lowerings: the values created so far.
pub struct Lowering {
    pub values: Vec<Value<f64>>,
    pub nodes: Vec<String>,
    /// How many nodes read each tensor name; a graph output counts as one
    /// more reader.
    readers: HashMap<String, usize>,
    /// Pending reads of each value: one per neuron term that reads it, plus
    /// one per not-yet-lowered reader of each tensor that holds it. A neuron
    /// whose only pending read is the node being lowered may be rewritten in
    /// place (see [`Lowering::fresh_single_use`]).
    uses: Vec<usize>,
    /// The model's opset for the default (`ai.onnx`) domain: op semantics
    /// that changed between opsets read it, never guess.
    opset: i64,
    /// Element types of the graph's tensors (see [`super::types`]): ops
    /// that mean something else on integers read them.
    types: HashMap<String, i32>,
}

/// One node being lowered: its inputs resolved, its attributes at hand.
pub struct NodeCtx<'a> {
    pub proto: &'a NodeProto,
    pub index: usize,
    pub inputs: Vec<Option<Sym>>,
    /// The tensors of the enclosing graph, which a subgraph (a `Scan`
    /// body) may read by name.
    pub scope: &'a HashMap<String, Sym>,
}

impl NodeCtx<'_> {
    pub fn name(&self) -> &str {
        &self.proto.name
    }

    fn err(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Op {
            op: self.proto.op_type.clone(),
            node: self.proto.name.clone(),
            reason: reason.into(),
        }
    }

    fn input(&self, i: usize) -> Result<&Sym, ModelError> {
        self.inputs
            .get(i)
            .and_then(|s| s.as_ref())
            .ok_or_else(|| self.err(format!("missing input #{i}")))
    }

    fn opt_input(&self, i: usize) -> Option<&Sym> {
        self.inputs.get(i).and_then(|s| s.as_ref())
    }

    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    fn attr_int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map(|a| a.i).unwrap_or(default)
    }

    fn attr_float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map(|a| a.f).unwrap_or(default)
    }

    fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    /// A float list attribute (empty when absent).
    fn attr_floats(&self, name: &str) -> Vec<f64> {
        self.attr(name)
            .map(|a| a.floats.iter().map(|&v| v as f64).collect())
            .unwrap_or_default()
    }

    /// A string list attribute (empty when absent).
    fn attr_strings(&self, name: &str) -> Vec<String> {
        self.attr(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A string attribute, or `default`.
    fn attr_str(&self, name: &str, default: &str) -> String {
        self.attr(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .unwrap_or_else(|| default.to_string())
    }

    /// A list attribute that must have `len` entries (`what` names it).
    fn expect_len<T>(&self, v: Vec<T>, len: usize, what: &str) -> Result<Vec<T>, ModelError> {
        if v.len() != len {
            return Err(self.err(format!("{what} has {} entries, expected {len}", v.len())));
        }
        Ok(v)
    }

    /// An ONNX axis (negative counts from the end) as an index into `rank`
    /// dims.
    fn axis_index(&self, axis: i64, rank: usize) -> Result<usize, ModelError> {
        let ax = if axis < 0 { axis + rank as i64 } else { axis };
        if !(0..rank as i64).contains(&ax) {
            return Err(self.err(format!("axis {axis} out of range for rank {rank}")));
        }
        Ok(ax as usize)
    }

    /// Attribute `axis` (default `default`) as an index into `rank` dims.
    fn axis_attr(&self, default: i64, rank: usize) -> Result<usize, ModelError> {
        self.axis_index(self.attr_int("axis", default), rank)
    }

    /// The broadcast of two operands, or an error naming both shapes.
    fn broadcast(&self, a: &Sym, b: &Sym) -> Result<Broadcast, ModelError> {
        let shape = broadcast_shape(a.shape(), b.shape()).ok_or_else(|| {
            self.err(format!(
                "shapes do not broadcast: {:?} and {:?}",
                a.shape(),
                b.shape()
            ))
        })?;
        Ok(Broadcast {
            ia: broadcast_indices(a.shape(), &shape),
            ib: broadcast_indices(b.shape(), &shape),
            shape,
        })
    }

    fn constant(&self, i: usize, what: &str) -> Result<&ConstTensor, ModelError> {
        match self.input(i)? {
            Sym::Const(c) => Ok(c),
            Sym::Dyn(_) => Err(ModelError::NotConstant {
                op: self.proto.op_type.clone(),
                node: self.proto.name.clone(),
                what: what.into(),
                index: i,
            }),
        }
    }
}

/// Two operands broadcast together: the output shape and, per output
/// element, the element of `a` and of `b` it reads.
pub struct Broadcast {
    pub shape: Vec<usize>,
    pub ia: Vec<usize>,
    pub ib: Vec<usize>,
}

type LowerFn = fn(&mut Lowering, &NodeCtx) -> Result<Sym, ModelError>;
type LowerManyFn = fn(&mut Lowering, &NodeCtx) -> Result<Vec<Sym>, ModelError>;

/// A lowering: of a node with one output, or with several (`Split`, the
/// recurrent ops, classifiers with a label and probabilities).
#[derive(Clone, Copy)]
pub enum Lower {
    One(LowerFn),
    Many(LowerManyFn),
}

impl Lower {
    /// The node's outputs, in order: at least every one the node names.
    pub fn run(self, l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
        let outs = match self {
            Lower::One(f) => vec![f(l, n)?],
            Lower::Many(f) => f(l, n)?,
        };
        let named = n
            .proto
            .output
            .iter()
            .rposition(|o| !o.is_empty())
            .map_or(0, |i| i + 1);
        if outs.len() < named {
            return Err(n.err(format!(
                "output #{} is not supported ({} of {} computed)",
                outs.len(),
                outs.len(),
                named
            )));
        }
        Ok(outs)
    }
}

/// ONNX op type -> lowering. Keep sorted by name.
pub const OPS: &[(&str, Lower)] = &[
    ("Abs", Lower::One(pwl::abs)),
    (
        "Acos",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Acos)),
    ),
    (
        "Acosh",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Acosh)),
    ),
    ("Add", Lower::One(add)),
    ("And", Lower::One(logic::and)),
    ("ArgMax", Lower::One(select::arg_max)),
    ("ArgMin", Lower::One(select::arg_min)),
    (
        "ArrayFeatureExtractor",
        Lower::One(ml::array_feature_extractor),
    ),
    (
        "Asin",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Asin)),
    ),
    (
        "Asinh",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Asinh)),
    ),
    (
        "Atan",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Atan)),
    ),
    (
        "Atanh",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Atanh)),
    ),
    ("AveragePool", Lower::One(linear::average_pool)),
    (
        "BatchNormalization",
        Lower::One(linear::batch_normalization),
    ),
    ("Binarizer", Lower::One(ml::binarizer)),
    ("Cast", Lower::One(smooth::cast)),
    ("CastLike", Lower::One(smooth::cast)),
    (
        "Ceil",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Ceil)),
    ),
    ("Celu", Lower::One(smooth::celu)),
    ("CenterCropPad", Lower::One(index::center_crop_pad)),
    ("Clip", Lower::One(pwl::clip)),
    ("Compress", Lower::One(index::compress)),
    ("Concat", Lower::One(concat)),
    ("Constant", Lower::One(constant)),
    ("ConstantOfShape", Lower::One(constant_of_shape)),
    ("Conv", Lower::One(linear::conv)),
    ("ConvTranspose", Lower::One(linear::conv_transpose)),
    ("Cos", Lower::One(|l, n| smooth::table_op(l, n, LutFn::Cos))),
    (
        "Cosh",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Cosh)),
    ),
    ("CumSum", Lower::One(reduce::cum_sum)),
    ("DepthToSpace", Lower::One(index::depth_to_space)),
    ("Div", Lower::One(div)),
    ("Dropout", Lower::Many(dropout)),
    ("Einsum", Lower::One(einsum::einsum)),
    ("Elu", Lower::One(smooth::elu)),
    ("Equal", Lower::One(select::equal)),
    ("Erf", Lower::One(|l, n| smooth::table_op(l, n, LutFn::Erf))),
    ("Exp", Lower::One(|l, n| smooth::table_op(l, n, LutFn::Exp))),
    ("Expand", Lower::One(expand)),
    ("EyeLike", Lower::One(index::eye_like)),
    ("Flatten", Lower::One(flatten)),
    (
        "Floor",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Floor)),
    ),
    ("GRU", Lower::Many(rec::gru)),
    ("Gather", Lower::One(gather)),
    ("GatherElements", Lower::One(index::gather_elements)),
    ("GatherND", Lower::One(index::gather_nd)),
    ("Gelu", Lower::One(smooth::gelu)),
    ("Gemm", Lower::One(gemm)),
    ("GlobalAveragePool", Lower::One(linear::global_average_pool)),
    ("GlobalLpPool", Lower::One(norm::global_lp_pool)),
    ("GlobalMaxPool", Lower::One(pwl::global_max_pool)),
    ("Greater", Lower::One(select::greater)),
    ("GreaterOrEqual", Lower::One(select::greater_or_equal)),
    ("GroupNormalization", Lower::One(norm::group_normalization)),
    ("HardSigmoid", Lower::One(smooth::hard_sigmoid)),
    ("HardSwish", Lower::One(smooth::hard_swish)),
    ("Hardmax", Lower::One(index::hardmax)),
    ("Identity", Lower::One(identity)),
    (
        "InstanceNormalization",
        Lower::One(norm::instance_normalization),
    ),
    ("LRN", Lower::One(norm::lrn)),
    ("LSTM", Lower::Many(rec::lstm)),
    ("LayerNormalization", Lower::Many(norm::layer_normalization)),
    ("LeakyRelu", Lower::One(pwl::leaky_relu)),
    ("Less", Lower::One(select::less)),
    ("LessOrEqual", Lower::One(select::less_or_equal)),
    ("LinearClassifier", Lower::Many(ml::linear_classifier)),
    ("LinearRegressor", Lower::One(ml::linear_regressor)),
    ("Log", Lower::One(|l, n| smooth::table_op(l, n, LutFn::Log))),
    ("LogSoftmax", Lower::One(smooth::log_softmax)),
    ("LpNormalization", Lower::One(norm::lp_normalization)),
    ("LpPool", Lower::One(norm::lp_pool)),
    ("MatMul", Lower::One(matmul)),
    ("Max", Lower::One(pwl::max)),
    ("MaxPool", Lower::Many(pwl::max_pool)),
    ("Mean", Lower::One(linear::mean)),
    (
        "MeanVarianceNormalization",
        Lower::One(norm::mean_variance_normalization),
    ),
    ("Min", Lower::One(pwl::min)),
    (
        "Mish",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Mish)),
    ),
    ("Mul", Lower::One(mul)),
    ("Neg", Lower::One(linear::neg)),
    ("NegativeLogLikelihoodLoss", Lower::One(reduce::nll_loss)),
    ("Normalizer", Lower::One(ml::normalizer)),
    ("Not", Lower::One(logic::not)),
    ("OneHot", Lower::One(index::one_hot)),
    ("Or", Lower::One(logic::or)),
    ("PRelu", Lower::One(pwl::prelu)),
    ("Pad", Lower::One(pad)),
    ("Pow", Lower::One(smooth::pow)),
    ("RMSNormalization", Lower::One(norm::rms_normalization)),
    ("RNN", Lower::Many(rec::rnn)),
    ("Range", Lower::One(index::range)),
    ("Reciprocal", Lower::One(smooth::reciprocal)),
    ("ReduceL1", Lower::One(reduce::reduce_l1)),
    ("ReduceL2", Lower::One(reduce::reduce_l2)),
    ("ReduceLogSum", Lower::One(reduce::reduce_log_sum)),
    ("ReduceLogSumExp", Lower::One(reduce::reduce_log_sum_exp)),
    ("ReduceMax", Lower::One(pwl::reduce_max)),
    ("ReduceMean", Lower::One(linear::reduce_mean)),
    ("ReduceMin", Lower::One(pwl::reduce_min)),
    ("ReduceProd", Lower::One(reduce::reduce_prod)),
    ("ReduceSum", Lower::One(linear::reduce_sum)),
    ("ReduceSumSquare", Lower::One(reduce::reduce_sum_square)),
    ("Relu", Lower::One(pwl::relu)),
    ("Reshape", Lower::One(reshape)),
    ("Resize", Lower::One(resize::resize)),
    (
        "Round",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Round)),
    ),
    ("SVMClassifier", Lower::Many(ml::svm_classifier)),
    ("SVMRegressor", Lower::One(ml::svm_regressor)),
    ("Scaler", Lower::One(ml::scaler)),
    ("Scan", Lower::Many(scan::scan)),
    ("Scatter", Lower::One(index::scatter_elements)),
    ("ScatterElements", Lower::One(index::scatter_elements)),
    ("ScatterND", Lower::One(index::scatter_nd)),
    ("Selu", Lower::One(smooth::selu)),
    ("Shape", Lower::One(shape)),
    ("Shrink", Lower::One(logic::shrink)),
    (
        "Sigmoid",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Sigmoid)),
    ),
    ("Sign", Lower::One(logic::sign)),
    ("Sin", Lower::One(|l, n| smooth::table_op(l, n, LutFn::Sin))),
    (
        "Sinh",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Sinh)),
    ),
    ("Slice", Lower::One(slice)),
    ("Softmax", Lower::One(smooth::softmax)),
    (
        "SoftmaxCrossEntropyLoss",
        Lower::Many(reduce::softmax_cross_entropy_loss),
    ),
    (
        "Softplus",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Softplus)),
    ),
    (
        "Softsign",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Softsign)),
    ),
    ("SpaceToDepth", Lower::One(index::space_to_depth)),
    ("Split", Lower::Many(split)),
    (
        "Sqrt",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Sqrt)),
    ),
    ("Squeeze", Lower::One(squeeze)),
    ("Sub", Lower::One(sub)),
    ("Sum", Lower::One(linear::sum)),
    ("Tan", Lower::One(|l, n| smooth::table_op(l, n, LutFn::Tan))),
    (
        "Tanh",
        Lower::One(|l, n| smooth::table_op(l, n, LutFn::Tanh)),
    ),
    ("ThresholdedRelu", Lower::One(smooth::thresholded_relu)),
    ("Tile", Lower::One(tile)),
    ("TopK", Lower::Many(index::top_k)),
    ("Transpose", Lower::One(transpose)),
    (
        "TreeEnsembleClassifier",
        Lower::Many(ml::tree_ensemble_classifier),
    ),
    (
        "TreeEnsembleRegressor",
        Lower::One(ml::tree_ensemble_regressor),
    ),
    ("Trilu", Lower::One(index::trilu)),
    ("Unsqueeze", Lower::One(unsqueeze)),
    ("Upsample", Lower::One(resize::resize)),
    ("Where", Lower::One(select::where_)),
    ("Xor", Lower::One(logic::xor)),
];

pub fn lookup(op_type: &str) -> Option<Lower> {
    OPS.iter()
        .find(|(name, _)| *name == op_type)
        .map(|(_, f)| *f)
}

pub fn supported_ops() -> Vec<&'static str> {
    OPS.iter().map(|(n, _)| *n).collect()
}

impl Lowering {
    /// The `ai.onnx` opset the model declares.
    pub fn opset(&self) -> i64 {
        self.opset
    }

    /// A lowering of `graph` (of a model of `ai.onnx` opset `opset`) with
    /// `num_inputs` input values.
    pub fn new(graph: &GraphProto, num_inputs: usize, opset: i64) -> Lowering {
        let mut readers: HashMap<String, usize> = HashMap::new();
        for i in graph
            .node
            .iter()
            .flat_map(|n| &n.input)
            .filter(|i| !i.is_empty())
        {
            *readers.entry(i.clone()).or_default() += 1;
        }
        for o in &graph.output {
            *readers.entry(o.name.clone()).or_default() += 1;
        }
        Lowering {
            values: (0..num_inputs).map(Value::Input).collect(),
            nodes: vec![],
            readers,
            uses: vec![0; num_inputs],
            opset,
            types: super::types::elem_types(graph),
        }
    }

    /// The ONNX element type of input `i` of `n`, where the graph declares
    /// or implies it.
    fn input_type(&self, n: &NodeCtx, i: usize) -> Option<i32> {
        n.proto
            .input
            .get(i)
            .and_then(|t| self.types.get(t))
            .copied()
    }

    /// `ids` (the elements of an integer-typed model input) read through
    /// exact quotients by 1 (`QuotientKind::Exact`), so the circuit proves
    /// each a whole number: an input's range check proves only a
    /// fixed-point value, and an integer op (a Div that truncates, a
    /// Gather by index) given 2.5 would compute what no integer input
    /// gives. Returns the values that stand for the input.
    pub fn whole_inputs(&mut self, ids: &[ValueId], node: usize) -> Vec<ValueId> {
        let one = self.push_neuron(Neuron::affine(vec![], 1.0, Activation::Identity, node));
        ids.iter()
            .map(|&id| {
                let whole = self.push_value(Value::Quotient {
                    num: id,
                    den: one,
                    node,
                    kind: super::program::QuotientKind::Exact,
                });
                self.push_neuron(Neuron::affine(
                    vec![(whole, 1.0)],
                    0.0,
                    Activation::Identity,
                    node,
                ))
            })
            .collect()
    }

    /// `ids` (the elements of a boolean model input) read as `x ≠ 0`, as
    /// a cast to bool reads them (`2 − [x ≥ 0] − [−x ≥ 0]`): the range
    /// check proves only a fixed-point value, and And, Or, Not and Where
    /// given 0.5 would compute what no boolean gives. Returns the values
    /// that stand for the input.
    pub fn boolean_inputs(&mut self, ids: &[ValueId], node: usize) -> Vec<ValueId> {
        ids.iter()
            .map(|&id| {
                let step = |l: &mut Lowering, w: f64| {
                    l.push_neuron(Neuron::affine(vec![(id, w)], 0.0, Activation::Step, node))
                };
                let (pos, neg) = (step(self, 1.0), step(self, -1.0));
                self.push_neuron(Neuron::affine(
                    vec![(pos, -1.0), (neg, -1.0)],
                    2.0,
                    Activation::Identity,
                    node,
                ))
            })
            .collect()
    }

    /// Bookkeeping after a node's output `name`: its readers will read it.
    pub fn produce(&mut self, name: &str, output: &Sym) {
        if let Sym::Dyn(d) = output {
            let r = self.readers.get(name).copied().unwrap_or(0);
            for &id in &d.ids {
                self.uses[id] += r;
            }
        }
    }

    /// A node has read `inputs`: one pending read fewer on each value.
    pub fn consume(&mut self, inputs: &[Option<Sym>]) {
        for d in inputs.iter().flatten().filter_map(|s| match s {
            Sym::Dyn(d) => Some(d),
            Sym::Const(_) => None,
        }) {
            for &id in &d.ids {
                self.uses[id] = self.uses[id].saturating_sub(1);
            }
        }
    }

    fn push_neuron(&mut self, n: Neuron<f64>) -> ValueId {
        self.push_value(Value::Neuron(n))
    }

    fn push_value(&mut self, v: Value<f64>) -> ValueId {
        for id in v.reads() {
            self.uses[id] += 1;
        }
        self.values.push(v);
        self.uses.push(0);
        self.values.len() - 1
    }

    /// Whether neuron `id` computes products (their weights must stay ±1:
    /// see `Neuron::products`).
    fn has_products(&self, id: ValueId) -> bool {
        matches!(&self.values[id], Value::Neuron(nr) if !nr.products.is_empty())
    }

    /// Whether the neurons `ids` (elements of an input of the node being
    /// lowered) may be changed in place: they are distinct identity neurons
    /// (not inputs, not activated) that nothing but this node reads: no
    /// neuron, no other node, no graph output.
    fn fresh_single_use(&self, ids: &[ValueId]) -> bool {
        let mut seen = std::collections::HashSet::new();
        ids.iter().all(|&id| {
            self.uses[id] == 1
                && matches!(&self.values[id], Value::Neuron(nr) if nr.act == Activation::Identity)
        }) && ids.iter().all(|id| seen.insert(*id))
    }

    /// Add `w·other[io[o]]` as one more term to each neuron `fresh.ids[o]`
    /// when `fresh` has the output's `shape`, is fresh and single-use, and
    /// every added term reads an earlier value (so evaluation order holds).
    /// False, changing nothing, otherwise.
    fn fold_operand(
        &mut self,
        shape: &[usize],
        fresh: &DynTensor,
        other: &DynTensor,
        io: &[usize],
        w: f64,
    ) -> bool {
        let foldable = shape == fresh.shape
            && self.fresh_single_use(&fresh.ids)
            && fresh
                .ids
                .iter()
                .enumerate()
                .all(|(o, &id)| other.ids[io[o]] < id);
        if foldable {
            for (o, &id) in fresh.ids.iter().enumerate() {
                self.add_term(id, other.ids[io[o]], w);
            }
        }
        foldable
    }
}

fn identity(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    Ok(n.input(0)?.clone())
}

/// Dropout at inference: the input, and a mask of ones.
fn dropout(_: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let mask = Sym::Const(ConstTensor {
        shape: x.shape().to_vec(),
        data: vec![1.0; numel(x.shape())],
    });
    Ok(vec![x, mask])
}

fn constant(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    if let Some(t) = n.attr("value").and_then(|a| a.t.as_ref()) {
        return super::onnx::const_from_proto(t)
            .map(Sym::Const)
            .map_err(|e| n.err(e));
    }
    if let Some(a) = n.attr("value_float") {
        return Ok(Sym::Const(ConstTensor {
            shape: vec![],
            data: vec![a.f as f64],
        }));
    }
    if let Some(a) = n.attr("value_floats") {
        let data: Vec<f64> = a.floats.iter().map(|&v| v as f64).collect();
        return Ok(Sym::Const(ConstTensor {
            shape: vec![data.len()],
            data,
        }));
    }
    if let Some(a) = n.attr("value_int") {
        return Ok(Sym::Const(ConstTensor {
            shape: vec![],
            data: vec![a.i as f64],
        }));
    }
    if let Some(a) = n.attr("value_ints") {
        let data: Vec<f64> = a.ints.iter().map(|&v| v as f64).collect();
        return Ok(Sym::Const(ConstTensor {
            shape: vec![data.len()],
            data,
        }));
    }
    Err(n.err("unsupported Constant encoding (expected value, value_float(s) or value_int(s))"))
}

/// `out = Σ_k lhs·rhs` contraction of a dynamic tensor with a constant one:
/// each output element becomes one neuron over its non-zero weights.
fn affine_from_terms(
    l: &mut Lowering,
    n: &NodeCtx,
    shape: Vec<usize>,
    terms: impl Fn(usize) -> Vec<(ValueId, f64)>,
    bias: impl Fn(usize) -> f64,
) -> Sym {
    let ids = (0..numel(&shape))
        .map(|o| {
            l.neuron(
                n.index,
                Affine {
                    terms: terms(o),
                    bias: bias(o),
                },
                Activation::Identity,
            )
        })
        .collect();
    Sym::Dyn(DynTensor { shape, ids })
}

/// Matrix product of `a` [.., M, K] and `b` [.., K, N] (numpy semantics,
/// batch dims broadcast); exactly one side must be constant.
fn matmul_syms(
    l: &mut Lowering,
    n: &NodeCtx,
    a: &Sym,
    b: &Sym,
    scale: f64,
    bias: Option<(&ConstTensor, f64)>,
) -> Result<Sym, ModelError> {
    let (mut sa, mut sb) = (a.shape().to_vec(), b.shape().to_vec());
    let (a1, b1) = (sa.len() == 1, sb.len() == 1);
    if a1 {
        sa.insert(0, 1);
    }
    if b1 {
        sb.push(1);
    }
    if sa.len() < 2 || sb.len() < 2 {
        return Err(n.err("operands must have rank >= 1"));
    }
    let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
    let (k2, nn) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    if k != k2 {
        return Err(n.err(format!(
            "inner dimensions differ: {:?} x {:?}",
            a.shape(),
            b.shape()
        )));
    }
    let batch = broadcast_shape(&sa[..sa.len() - 2], &sb[..sb.len() - 2]).ok_or_else(|| {
        n.err(format!(
            "batch dims do not broadcast: {:?} x {:?}",
            a.shape(),
            b.shape()
        ))
    })?;
    let a_batch = broadcast_indices(&sa[..sa.len() - 2], &batch);
    let b_batch = broadcast_indices(&sb[..sb.len() - 2], &batch);
    let mut out_shape = batch.clone();
    if !a1 {
        out_shape.push(m);
    }
    if !b1 {
        out_shape.push(nn);
    }
    // Element (bi, i, j) of the product as (a index, b index) pairs over k.
    let pairs = |o: usize| -> Vec<(usize, usize)> {
        let (bi, rest) = (o / (m * nn), o % (m * nn));
        let (i, j) = (rest / nn, rest % nn);
        (0..k)
            .map(|kk| {
                (
                    a_batch[bi] * m * k + i * k + kk,
                    b_batch[bi] * k * nn + kk * nn + j,
                )
            })
            .collect()
    };
    // The bias (Gemm's C) folds into each neuron instead of adding neurons.
    let bias_at: Vec<f64> = match bias {
        None => vec![0.0; numel(&out_shape)],
        Some((c, beta)) => {
            if broadcast_shape(&c.shape, &out_shape).as_deref() != Some(&out_shape[..]) {
                return Err(n.err(format!(
                    "bias shape {:?} does not broadcast to {out_shape:?}",
                    c.shape
                )));
            }
            broadcast_indices(&c.shape, &out_shape)
                .into_iter()
                .map(|i| beta * c.data[i])
                .collect()
        }
    };
    match (a, b) {
        (Sym::Dyn(da), Sym::Const(cb)) => Ok(affine_from_terms(
            l,
            n,
            out_shape,
            |o| {
                pairs(o)
                    .into_iter()
                    .map(|(ia, ib)| (da.ids[ia], scale * cb.data[ib]))
                    .collect()
            },
            |o| bias_at[o],
        )),
        (Sym::Const(ca), Sym::Dyn(db)) => Ok(affine_from_terms(
            l,
            n,
            out_shape,
            |o| {
                pairs(o)
                    .into_iter()
                    .map(|(ia, ib)| (db.ids[ib], scale * ca.data[ia]))
                    .collect()
            },
            |o| bias_at[o],
        )),
        (Sym::Const(ca), Sym::Const(cb)) => {
            let data = (0..numel(&out_shape))
                .map(|o| {
                    pairs(o)
                        .into_iter()
                        .map(|(ia, ib)| scale * ca.data[ia] * cb.data[ib])
                        .sum::<f64>()
                        + bias_at[o]
                })
                .collect();
            Ok(Sym::Const(ConstTensor {
                shape: out_shape,
                data,
            }))
        }
        (Sym::Dyn(da), Sym::Dyn(db)) => {
            // Attention-style products: one neuron of k products per output
            // element (weights 1, exact; a scale other than 1 gets its own
            // neuron).
            let elems = (0..numel(&out_shape))
                .map(|o| {
                    let products = pairs(o)
                        .into_iter()
                        .map(|(ia, ib)| (da.ids[ia], db.ids[ib], 1.0))
                        .collect();
                    let bias = if scale == 1.0 { bias_at[o] } else { 0.0 };
                    let id = l.push_neuron(Neuron {
                        terms: vec![],
                        products,
                        bias,
                        act: Activation::Identity,
                        node: n.index,
                    });
                    match scale == 1.0 {
                        true => Elem::Val(id),
                        false => l.element(
                            n.index,
                            Affine {
                                terms: vec![(id, scale)],
                                bias: bias_at[o],
                            },
                        ),
                    }
                })
                .collect();
            Ok(l.tensor(n.index, out_shape, elems))
        }
    }
}

fn matmul(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    matmul_syms(l, n, &a, &b, 1.0, None)
}

fn transpose_2d(sym: &Sym) -> Sym {
    let s = sym.shape();
    let src = transpose_indices(s, &[1, 0]);
    reindex(sym, vec![s[1], s[0]], |i| src[i])
}

fn gemm(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let mut a = n.input(0)?.clone();
    let mut b = n.input(1)?.clone();
    if a.shape().len() != 2 || b.shape().len() != 2 {
        return Err(n.err(format!(
            "expects 2-D operands, got {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    if n.attr_int("transA", 0) != 0 {
        a = transpose_2d(&a);
    }
    if n.attr_int("transB", 0) != 0 {
        b = transpose_2d(&b);
    }
    let alpha = n.attr_float("alpha", 1.0) as f64;
    let beta = n.attr_float("beta", 1.0) as f64;
    match n.opt_input(2) {
        None => matmul_syms(l, n, &a, &b, alpha, None),
        Some(Sym::Const(c)) => {
            let c = c.clone();
            matmul_syms(l, n, &a, &b, alpha, Some((&c, beta)))
        }
        Some(Sym::Dyn(_)) => {
            let c = n.opt_input(2).cloned().expect("matched");
            let prod = matmul_syms(l, n, &a, &b, alpha, None)?;
            add_syms(l, n, &prod, &c, beta)
        }
    }
}

/// Constants this large are masks, not model values: `x + c` is then ±∞
/// whatever `x` is (attention masks are −∞, −1e9, −3.4e38 or −10000
/// depending on the exporter). Softmax gives a −∞ entry probability 0
/// exactly; any other reader of a saturated constant sees the end of the
/// activation range (see `quant::quantize`).
pub const MASK_LIMIT: f64 = 1e4;

/// `c` as a mask (±∞) when it is one.
pub(crate) fn masked(c: f64) -> Option<f64> {
    (c.is_nan() || c.abs() >= MASK_LIMIT).then(|| {
        if c < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    })
}

/// `a + sign·b` with broadcasting. When one side is constant and the other a
/// fresh single-use product, the constant folds into those neurons' biases
/// instead of creating new neurons.
fn add_syms(l: &mut Lowering, n: &NodeCtx, a: &Sym, b: &Sym, sign: f64) -> Result<Sym, ModelError> {
    let Broadcast { shape, ia, ib } = n.broadcast(a, b)?;
    let masks = |c: &ConstTensor, s: f64| c.data.iter().any(|&v| masked(s * v).is_some());
    match (a, b) {
        (Sym::Dyn(d), Sym::Const(c)) if masks(c, sign) => Ok(mask_add(l, n, shape, |o| {
            (d.ids[ia[o]], sign * c.data[ib[o]])
        })),
        (Sym::Const(c), Sym::Dyn(d)) if masks(c, 1.0) => {
            Ok(mask_add(l, n, shape, |o| (d.ids[ib[o]], c.data[ia[o]])))
        }
        (Sym::Const(ca), Sym::Const(cb)) => Ok(Sym::Const(ConstTensor {
            data: (0..numel(&shape))
                .map(|o| ca.data[ia[o]] + sign * cb.data[ib[o]])
                .collect(),
            shape,
        })),
        (Sym::Dyn(d), Sym::Const(c)) if shape == d.shape && l.fresh_single_use(&d.ids) => {
            // MatMul then Add(bias): fold the constant into the producing neurons.
            for (o, &id) in d.ids.iter().enumerate() {
                if let Value::Neuron(nr) = &mut l.values[id] {
                    nr.bias += sign * c.data[ib[o]];
                }
            }
            Ok(a.clone())
        }
        (Sym::Dyn(d), Sym::Const(c)) => Ok(affine_from_terms(
            l,
            n,
            shape,
            |o| vec![(d.ids[ia[o]], 1.0)],
            |o| sign * c.data[ib[o]],
        )),
        (Sym::Const(c), Sym::Dyn(d)) => Ok(affine_from_terms(
            l,
            n,
            shape,
            |o| vec![(d.ids[ib[o]], sign)],
            |o| c.data[ia[o]],
        )),
        (Sym::Dyn(da), Sym::Dyn(db)) => {
            // A fresh single-use operand takes the other as one more term:
            // a residual add or `x² + x` costs no neuron.
            if l.fold_operand(&shape, da, db, &ib, sign) {
                return Ok(a.clone());
            }
            if sign == 1.0 && l.fold_operand(&shape, db, da, &ia, 1.0) {
                return Ok(b.clone());
            }
            Ok(affine_from_terms(
                l,
                n,
                shape,
                |o| vec![(da.ids[ia[o]], 1.0), (db.ids[ib[o]], sign)],
                |_| 0.0,
            ))
        }
    }
}

/// `x + c` element-wise where some `c` are masks: those elements become
/// ±∞ constants, the others `x + c` (for the addend `(x, c)` of each).
fn mask_add(
    l: &mut Lowering,
    n: &NodeCtx,
    shape: Vec<usize>,
    addend: impl Fn(usize) -> (ValueId, f64),
) -> Sym {
    let elems = (0..numel(&shape))
        .map(|o| {
            let (x, c) = addend(o);
            match masked(c) {
                Some(inf) => Elem::Const(inf),
                None => l.element(
                    n.index,
                    Affine {
                        terms: vec![(x, 1.0)],
                        bias: c,
                    },
                ),
            }
        })
        .collect();
    l.tensor(n.index, shape, elems)
}

fn add(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    add_syms(l, n, &a, &b, 1.0)
}

fn sub(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    add_syms(l, n, &a, &b, -1.0)
}

/// Element-wise product where at least one side is constant.
fn scale_syms(
    l: &mut Lowering,
    n: &NodeCtx,
    a: &Sym,
    b: &Sym,
    invert_b: bool,
) -> Result<Sym, ModelError> {
    let Broadcast { shape, ia, ib } = n.broadcast(a, b)?;
    let cval = |c: &ConstTensor, i: usize| -> Result<f64, ModelError> {
        let v = c.data[i];
        if invert_b {
            if v == 0.0 {
                return Err(n.err("division by a constant zero"));
            }
            Ok(1.0 / v)
        } else {
            Ok(v)
        }
    };
    match (a, b) {
        (Sym::Const(ca), Sym::Const(cb)) => {
            let data = (0..numel(&shape))
                .map(|o| Ok(ca.data[ia[o]] * cval(cb, ib[o])?))
                .collect::<Result<_, _>>()?;
            Ok(Sym::Const(ConstTensor { shape, data }))
        }
        (Sym::Dyn(d), Sym::Const(c)) => {
            let ws: Vec<f64> = (0..numel(&shape))
                .map(|o| cval(c, ib[o]))
                .collect::<Result<_, _>>()?;
            if shape == d.shape {
                return Ok(scale_shift(l, n, a, |o| ws[o], |_| 0.0));
            }
            Ok(affine_from_terms(
                l,
                n,
                shape,
                |o| vec![(d.ids[ia[o]], ws[o])],
                |_| 0.0,
            ))
        }
        (Sym::Const(c), Sym::Dyn(d)) if !invert_b => Ok(affine_from_terms(
            l,
            n,
            shape,
            |o| vec![(d.ids[ib[o]], c.data[ia[o]])],
            |_| 0.0,
        )),
        (_, Sym::Dyn(_)) if invert_b => {
            Ok(smooth::quotients(l, n, a, b, Broadcast { shape, ia, ib }))
        }
        (Sym::Dyn(_), Sym::Dyn(_)) => Ok(smooth::products(l, n, a, b, Broadcast { shape, ia, ib })),
        _ => unreachable!("every operand pair is matched above"),
    }
}

fn mul(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    scale_syms(l, n, &a, &b, false)
}

/// Real division, or integer division (truncating) when both operands are
/// integer tensors.
fn div(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    let types = [l.input_type(n, 0), l.input_type(n, 1)];
    if let [Some(ta), Some(tb)] = types {
        if super::types::is_integer(ta) && super::types::is_integer(tb) {
            let signed = !(super::types::is_unsigned(ta) && super::types::is_unsigned(tb));
            let bc = n.broadcast(&a, &b)?;
            return smooth::integer_quotients(l, n, &a, &b, bc, signed);
        }
    }
    scale_syms(l, n, &a, &b, true)
}

fn const_ints(c: &ConstTensor) -> Vec<i64> {
    c.data.iter().map(|&v| v as i64).collect()
}

fn constant_of_shape(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let shape: Vec<usize> = const_ints(n.constant(0, "ConstantOfShape's shape")?)
        .iter()
        .map(|&d| d.max(0) as usize)
        .collect();
    let value = match n.attr("value").and_then(|a| a.t.as_ref()) {
        Some(t) => super::onnx::const_from_proto(t)
            .map_err(|e| n.err(e))?
            .data
            .first()
            .copied()
            .unwrap_or(0.0),
        None => 0.0,
    };
    Ok(Sym::Const(ConstTensor {
        data: vec![value; numel(&shape)],
        shape,
    }))
}

/// A linear form over program values, `Σ w·v + bias`: what a neuron
/// computes before its activation.
#[derive(Clone, Debug, Default, PartialEq)]
struct Affine {
    terms: Vec<(ValueId, f64)>,
    bias: f64,
}

impl Affine {
    fn constant(c: f64) -> Affine {
        Affine {
            terms: vec![],
            bias: c,
        }
    }

    fn of(e: Elem) -> Affine {
        match e {
            Elem::Const(c) => Affine::constant(c),
            Elem::Val(id) => Affine {
                terms: vec![(id, 1.0)],
                bias: 0.0,
            },
        }
    }

    /// `a − b`.
    fn diff(a: Elem, b: Elem) -> Affine {
        let mut d = Affine::of(a);
        d.add_scaled(&Affine::of(b), -1.0);
        d
    }

    fn times(mut self, k: f64) -> Affine {
        self.terms.iter_mut().for_each(|(_, w)| *w *= k);
        self.bias *= k;
        self
    }

    fn plus(mut self, c: f64) -> Affine {
        self.bias += c;
        self
    }

    /// `self += k·other`.
    fn add_scaled(&mut self, other: &Affine, k: f64) {
        self.terms
            .extend(other.terms.iter().map(|&(id, w)| (id, k * w)));
        self.bias += k * other.bias;
    }
}

/// One element of a tensor: a constant or a program value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Elem {
    Const(f64),
    Val(ValueId),
}

/// Element `i` of a tensor.
fn elem(sym: &Sym, i: usize) -> Elem {
    match sym {
        Sym::Const(c) => Elem::Const(c.data[i]),
        Sym::Dyn(d) => Elem::Val(d.ids[i]),
    }
}

impl Lowering {
    /// The value of `id` when it is a constant (a neuron without terms).
    fn const_value(&self, id: ValueId) -> Option<f64> {
        match &self.values[id] {
            Value::Neuron(nr) if nr.terms.is_empty() && nr.products.is_empty() => {
                Some(nr.act.apply_f64(nr.bias))
            }
            _ => None,
        }
    }

    /// `form` with constant values folded into the bias, repeated values
    /// merged (first occurrence keeps its place) and zero weights dropped.
    fn simplify(&self, form: Affine) -> Affine {
        let mut bias = form.bias;
        let mut terms: Vec<(ValueId, f64)> = Vec::with_capacity(form.terms.len());
        let mut at: HashMap<ValueId, usize> = HashMap::new();
        for (id, w) in form.terms {
            if let Some(c) = self.const_value(id) {
                bias += w * c;
            } else if let Some(&i) = at.get(&id) {
                terms[i].1 += w;
            } else {
                at.insert(id, terms.len());
                terms.push((id, w));
            }
        }
        terms.retain(|(_, w)| *w != 0.0);
        Affine { terms, bias }
    }

    /// A new neuron `act(form)` of ONNX node `node`.
    fn neuron(&mut self, node: usize, form: Affine, act: Activation) -> ValueId {
        let Affine { terms, bias } = self.simplify(form);
        self.push_neuron(Neuron::affine(terms, bias, act, node))
    }

    /// `act(form)` as a tensor element: a constant when the form is one,
    /// else a new neuron.
    fn activated(&mut self, node: usize, form: Affine, act: Activation) -> Elem {
        let form = self.simplify(form);
        match form.terms.is_empty() {
            true => Elem::Const(act.apply_f64(form.bias)),
            false => Elem::Val(self.neuron(node, form, act)),
        }
    }

    /// `form` as a tensor element: a constant, the value itself when the
    /// form is exactly one value, else a new identity neuron.
    fn element(&mut self, node: usize, form: Affine) -> Elem {
        let form = self.simplify(form);
        match form.terms.as_slice() {
            [] => Elem::Const(form.bias),
            [(id, w)] if *w == 1.0 && form.bias == 0.0 => Elem::Val(*id),
            _ => Elem::Val(self.neuron(node, form, Activation::Identity)),
        }
    }

    /// Elements as a tensor: constant when every element is, else values,
    /// with one constant neuron per distinct constant.
    fn tensor(&mut self, node: usize, shape: Vec<usize>, elems: Vec<Elem>) -> Sym {
        if elems.iter().all(|e| matches!(e, Elem::Const(_))) {
            let data = elems
                .iter()
                .map(|e| {
                    if let Elem::Const(c) = e {
                        *c
                    } else {
                        unreachable!()
                    }
                })
                .collect();
            return Sym::Const(ConstTensor { shape, data });
        }
        let mut consts: HashMap<u64, ValueId> = HashMap::new();
        let ids = elems
            .into_iter()
            .map(|e| match e {
                Elem::Val(id) => id,
                Elem::Const(c) => *consts.entry(c.to_bits()).or_insert_with(|| {
                    self.push_neuron(Neuron::affine(vec![], c, Activation::Identity, node))
                }),
            })
            .collect();
        Sym::Dyn(DynTensor { shape, ids })
    }

    /// A constant tensor's elements as program values (neurons without
    /// terms), for a graph output that does not depend on the input.
    pub fn constant_values(&mut self, c: &ConstTensor) -> Vec<ValueId> {
        let node = self.nodes.len().saturating_sub(1);
        c.data
            .iter()
            .map(|&v| self.push_neuron(Neuron::affine(vec![], v, Activation::Identity, node)))
            .collect()
    }

    /// Add `w·other` to neuron `id` (see [`Lowering::fresh_single_use`]).
    fn add_term(&mut self, id: ValueId, other: ValueId, w: f64) {
        if let Value::Neuron(nr) = &mut self.values[id] {
            nr.terms.push((other, w));
            self.uses[other] += 1;
        }
    }

    /// Rewrite identity neuron `id` (see [`Lowering::fresh_single_use`]) to
    /// `act(alpha·(its form) + beta)`.
    fn refit(&mut self, id: ValueId, alpha: f64, beta: f64, act: Activation) {
        if let Value::Neuron(nr) = &mut self.values[id] {
            for (_, w) in &mut nr.terms {
                *w *= alpha;
            }
            for (_, _, w) in &mut nr.products {
                *w *= alpha;
            }
            nr.bias = alpha * nr.bias + beta;
            nr.act = act;
        }
    }
}

/// `out[o] = Σ w·x[i] + bias(o)` over the taps `(i, w)` of each output
/// element: one identity neuron per output element (none where the result
/// is a constant or a plain copy); a constant tensor when `x` is constant.
fn linear_map(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    shape: Vec<usize>,
    taps: impl Fn(usize) -> Vec<(usize, f64)>,
    bias: impl Fn(usize) -> f64,
) -> Sym {
    let elems = (0..numel(&shape))
        .map(|o| {
            let mut form = Affine::constant(bias(o));
            for (i, w) in taps(o) {
                form.add_scaled(&Affine::of(elem(x, i)), w);
            }
            l.element(n.index, form)
        })
        .collect();
    l.tensor(n.index, shape, elems)
}

/// `w(o)·x[o] + b(o)` element-wise. When `x`'s neurons are read only here,
/// the scale and shift fold into them and no neuron is added.
fn scale_shift(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    w: impl Fn(usize) -> f64,
    b: impl Fn(usize) -> f64,
) -> Sym {
    if let Sym::Dyn(d) = x {
        let exact = d
            .ids
            .iter()
            .enumerate()
            .all(|(o, &id)| !l.has_products(id) || w(o).abs() == 1.0);
        if exact && l.fresh_single_use(&d.ids) {
            for (o, &id) in d.ids.iter().enumerate() {
                l.refit(id, w(o), b(o), Activation::Identity);
            }
            return x.clone();
        }
    }
    linear_map(l, n, x, x.shape().to_vec(), |o| vec![(o, w(o))], b)
}

/// Elements of a constant tensor as program values (neurons with no terms),
/// so constants can sit beside dynamic values in one tensor.
fn materialize(l: &mut Lowering, n: &NodeCtx, sym: &Sym) -> DynTensor {
    match sym {
        Sym::Dyn(d) => d.clone(),
        Sym::Const(c) => DynTensor {
            shape: c.shape.clone(),
            ids: c
                .data
                .iter()
                .map(|&v| l.push_neuron(Neuron::affine(vec![], v, Activation::Identity, n.index)))
                .collect(),
        },
    }
}

#[cfg(test)]
pub(crate) mod tests;
