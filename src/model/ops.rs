//! The op table: one entry per supported ONNX op, each lowering a node to
//! program neurons (or to a re-indexing of existing values).
//!
//! An op missing from [`OPS`] is rejected when the model is loaded, with the
//! node name, never later during layout.

use super::program::{Activation, Neuron, Value, ValueId};
use super::tensor::*;
use super::ModelError;
use tract_onnx::pb::{AttributeProto, NodeProto};

/// State shared by all lowerings: the values created so far.
pub struct Lowering {
    pub values: Vec<Value<f64>>,
    pub nodes: Vec<String>,
    /// How many nodes read each tensor name (for activation fusion).
    pub consumers: std::collections::HashMap<String, usize>,
    pub graph_outputs: Vec<String>,
}

/// One node being lowered: its inputs resolved, its attributes at hand.
pub struct NodeCtx<'a> {
    pub proto: &'a NodeProto,
    pub index: usize,
    pub inputs: Vec<Option<Sym>>,
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

    fn constant(&self, i: usize, what: &str) -> Result<&ConstTensor, ModelError> {
        match self.input(i)? {
            Sym::Const(c) => Ok(c),
            Sym::Dyn(_) => Err(self.err(format!("{what} must be a constant"))),
        }
    }
}

type LowerFn = fn(&mut Lowering, &NodeCtx) -> Result<Sym, ModelError>;

/// ONNX op type -> lowering. Keep sorted by name.
pub const OPS: &[(&str, LowerFn)] = &[
    ("Add", add),
    ("Cast", identity),
    ("Concat", concat),
    ("Constant", constant),
    ("ConstantOfShape", constant_of_shape),
    ("Div", div),
    ("Dropout", identity),
    ("Expand", expand),
    ("Flatten", flatten),
    ("Gemm", gemm),
    ("Identity", identity),
    ("MatMul", matmul),
    ("Mul", mul),
    ("Relu", relu),
    ("Reshape", reshape),
    ("Slice", slice),
    ("Squeeze", squeeze),
    ("Sub", sub),
    ("Tile", tile),
    ("Transpose", transpose),
    ("Unsqueeze", unsqueeze),
];

pub fn lookup(op_type: &str) -> Option<LowerFn> {
    OPS.iter().find(|(name, _)| *name == op_type).map(|(_, f)| *f)
}

pub fn supported_ops() -> Vec<&'static str> {
    OPS.iter().map(|(n, _)| *n).collect()
}

impl Lowering {
    fn push_neuron(&mut self, n: Neuron<f64>) -> ValueId {
        self.values.push(Value::Neuron(n));
        self.values.len() - 1
    }

    /// Whether the neurons `ids` of `tensor` may be changed in place: the
    /// tensor is read by exactly one node and is not a model output, and its
    /// elements are distinct identity neurons (not inputs, not activated).
    fn fresh_single_use(&self, tensor: &str, ids: &[ValueId]) -> bool {
        let mut seen = std::collections::HashSet::new();
        self.consumers.get(tensor).copied() == Some(1)
            && !self.graph_outputs.iter().any(|o| o == tensor)
            && ids.iter().all(|&id| matches!(&self.values[id], Value::Neuron(nr) if nr.act == Activation::Identity))
            && ids.iter().all(|id| seen.insert(*id))
    }
}

fn identity(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    Ok(n.input(0)?.clone())
}

fn constant(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    if let Some(t) = n.attr("value").and_then(|a| a.t.as_ref()) {
        return super::onnx::const_from_proto(t).map(Sym::Const).map_err(|e| n.err(e));
    }
    if let Some(a) = n.attr("value_float") {
        return Ok(Sym::Const(ConstTensor { shape: vec![], data: vec![a.f as f64] }));
    }
    if let Some(a) = n.attr("value_floats") {
        let data: Vec<f64> = a.floats.iter().map(|&v| v as f64).collect();
        return Ok(Sym::Const(ConstTensor { shape: vec![data.len()], data }));
    }
    if let Some(a) = n.attr("value_int") {
        return Ok(Sym::Const(ConstTensor { shape: vec![], data: vec![a.i as f64] }));
    }
    if let Some(a) = n.attr("value_ints") {
        let data: Vec<f64> = a.ints.iter().map(|&v| v as f64).collect();
        return Ok(Sym::Const(ConstTensor { shape: vec![data.len()], data }));
    }
    Err(n.err("unsupported Constant encoding (expected value, value_float(s) or value_int(s))"))
}

/// Re-index the elements of a tensor: constants and dynamic tensors alike.
fn reindex(sym: &Sym, shape: Vec<usize>, src: impl Fn(usize) -> usize) -> Sym {
    let len = numel(&shape);
    match sym {
        Sym::Const(c) => Sym::Const(ConstTensor { data: (0..len).map(|i| c.data[src(i)]).collect(), shape }),
        Sym::Dyn(d) => Sym::Dyn(DynTensor { ids: (0..len).map(|i| d.ids[src(i)]).collect(), shape }),
    }
}

fn with_shape(sym: &Sym, shape: Vec<usize>) -> Sym {
    reindex(sym, shape, |i| i)
}

fn reshape(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let target = n.constant(1, "Reshape's shape")?;
    let in_shape = x.shape();
    let mut shape: Vec<i64> = target.data.iter().map(|&v| v as i64).collect();
    for (i, d) in shape.iter_mut().enumerate() {
        if *d == 0 {
            *d = *in_shape.get(i).ok_or_else(|| n.err("shape entry 0 refers past the input rank"))? as i64;
        }
    }
    let known: i64 = shape.iter().filter(|&&d| d != -1).product();
    let total = numel(in_shape) as i64;
    if shape.iter().filter(|&&d| d == -1).count() > 1 {
        return Err(n.err("more than one -1 in shape"));
    }
    let shape: Vec<usize> = shape
        .iter()
        .map(|&d| if d == -1 { (total / known.max(1)) as usize } else { d as usize })
        .collect();
    if numel(&shape) != numel(in_shape) {
        return Err(n.err(format!("cannot reshape {in_shape:?} to {shape:?}")));
    }
    Ok(with_shape(x, shape))
}

fn flatten(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let rank = x.shape().len() as i64;
    let mut axis = n.attr_int("axis", 1);
    if axis < 0 {
        axis += rank;
    }
    let axis = axis.clamp(0, rank) as usize;
    let outer: usize = x.shape()[..axis].iter().product();
    let inner: usize = x.shape()[axis..].iter().product();
    Ok(with_shape(x, vec![outer, inner]))
}

fn axes_of(n: &NodeCtx, rank: usize) -> Result<Vec<usize>, ModelError> {
    // Opset < 13 passes axes as an attribute, later ones as input #1.
    let raw: Vec<i64> = match (n.attr_ints("axes"), n.opt_input(1)) {
        (Some(a), _) => a,
        (None, Some(Sym::Const(c))) => c.data.iter().map(|&v| v as i64).collect(),
        (None, Some(Sym::Dyn(_))) => return Err(n.err("axes must be a constant")),
        (None, None) => vec![],
    };
    Ok(raw.iter().map(|&a| if a < 0 { (a + rank as i64) as usize } else { a as usize }).collect())
}

fn squeeze(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let axes = axes_of(n, x.shape().len())?;
    let shape: Vec<usize> = x
        .shape()
        .iter()
        .enumerate()
        .filter(|(i, &d)| !(if axes.is_empty() { d == 1 } else { axes.contains(i) }))
        .map(|(_, &d)| d)
        .collect();
    Ok(with_shape(x, shape))
}

fn unsqueeze(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let rank = x.shape().len() + axes_of(n, 0)?.len();
    let axes = axes_of(n, rank)?;
    let mut dims = x.shape().iter();
    let shape: Vec<usize> = (0..rank)
        .map(|i| if axes.contains(&i) { 1 } else { *dims.next().unwrap_or(&1) })
        .collect();
    Ok(with_shape(x, shape))
}

fn transpose(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let rank = x.shape().len();
    let perm: Vec<usize> = match n.attr_ints("perm") {
        Some(p) => p.iter().map(|&v| v as usize).collect(),
        None => (0..rank).rev().collect(),
    };
    if perm.len() != rank || (0..rank).any(|i| !perm.contains(&i)) {
        return Err(n.err(format!("perm {perm:?} is not a permutation of rank {rank}")));
    }
    let src = transpose_indices(x.shape(), &perm);
    let shape = perm.iter().map(|&p| x.shape()[p]).collect();
    Ok(reindex(x, shape, |i| src[i]))
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
            let terms: Vec<(ValueId, f64)> = terms(o).into_iter().filter(|(_, w)| *w != 0.0).collect();
            l.push_neuron(Neuron { terms, bias: bias(o), act: Activation::Identity, node: n.index })
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
        return Err(n.err(format!("inner dimensions differ: {:?} x {:?}", a.shape(), b.shape())));
    }
    let batch = broadcast_shape(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
        .ok_or_else(|| n.err(format!("batch dims do not broadcast: {:?} x {:?}", a.shape(), b.shape())))?;
    let nb = numel(&batch);
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
            .map(|kk| (a_batch[bi] * m * k + i * k + kk, b_batch[bi] * k * nn + kk * nn + j))
            .collect()
    };
    let _ = nb;
    // The bias (Gemm's C) folds into each neuron instead of adding neurons.
    let bias_at: Vec<f64> = match bias {
        None => vec![0.0; numel(&out_shape)],
        Some((c, beta)) => {
            if broadcast_shape(&c.shape, &out_shape).as_deref() != Some(&out_shape[..]) {
                return Err(n.err(format!("bias shape {:?} does not broadcast to {out_shape:?}", c.shape)));
            }
            broadcast_indices(&c.shape, &out_shape).into_iter().map(|i| beta * c.data[i]).collect()
        }
    };
    match (a, b) {
        (Sym::Dyn(da), Sym::Const(cb)) => Ok(affine_from_terms(
            l,
            n,
            out_shape,
            |o| pairs(o).into_iter().map(|(ia, ib)| (da.ids[ia], scale * cb.data[ib])).collect(),
            |o| bias_at[o],
        )),
        (Sym::Const(ca), Sym::Dyn(db)) => Ok(affine_from_terms(
            l,
            n,
            out_shape,
            |o| pairs(o).into_iter().map(|(ia, ib)| (db.ids[ib], scale * ca.data[ia])).collect(),
            |o| bias_at[o],
        )),
        (Sym::Const(ca), Sym::Const(cb)) => {
            let data = (0..numel(&out_shape))
                .map(|o| pairs(o).into_iter().map(|(ia, ib)| scale * ca.data[ia] * cb.data[ib]).sum::<f64>() + bias_at[o])
                .collect();
            Ok(Sym::Const(ConstTensor { shape: out_shape, data }))
        }
        (Sym::Dyn(_), Sym::Dyn(_)) => Err(n.err(
            "product of two non-constant tensors is not supported yet (one operand must be a weight)",
        )),
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
        return Err(n.err(format!("expects 2-D operands, got {:?} and {:?}", a.shape(), b.shape())));
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

/// `a + sign·b` with broadcasting. When one side is constant and the other a
/// fresh single-use product, the constant folds into those neurons' biases
/// instead of creating new neurons.
fn add_syms(l: &mut Lowering, n: &NodeCtx, a: &Sym, b: &Sym, sign: f64) -> Result<Sym, ModelError> {
    let shape = broadcast_shape(a.shape(), b.shape())
        .ok_or_else(|| n.err(format!("shapes do not broadcast: {:?} and {:?}", a.shape(), b.shape())))?;
    let ia = broadcast_indices(a.shape(), &shape);
    let ib = broadcast_indices(b.shape(), &shape);
    match (a, b) {
        (Sym::Const(ca), Sym::Const(cb)) => Ok(Sym::Const(ConstTensor {
            data: (0..numel(&shape)).map(|o| ca.data[ia[o]] + sign * cb.data[ib[o]]).collect(),
            shape,
        })),
        (Sym::Dyn(d), Sym::Const(c)) if shape == d.shape && l.fresh_single_use(&n.proto.input[0], &d.ids) => {
            // MatMul then Add(bias): fold the constant into the producing neurons.
            for (o, &id) in d.ids.iter().enumerate() {
                if let Value::Neuron(nr) = &mut l.values[id] {
                    nr.bias += sign * c.data[ib[o]];
                }
            }
            Ok(a.clone())
        }
        (Sym::Dyn(d), Sym::Const(c)) => Ok(affine_from_terms(l, n, shape, |o| vec![(d.ids[ia[o]], 1.0)], |o| sign * c.data[ib[o]])),
        (Sym::Const(c), Sym::Dyn(d)) => Ok(affine_from_terms(l, n, shape, |o| vec![(d.ids[ib[o]], sign)], |o| c.data[ia[o]])),
        (Sym::Dyn(da), Sym::Dyn(db)) => Ok(affine_from_terms(
            l,
            n,
            shape,
            |o| vec![(da.ids[ia[o]], 1.0), (db.ids[ib[o]], sign)],
            |_| 0.0,
        )),
    }
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
fn scale_syms(l: &mut Lowering, n: &NodeCtx, a: &Sym, b: &Sym, invert_b: bool) -> Result<Sym, ModelError> {
    let shape = broadcast_shape(a.shape(), b.shape())
        .ok_or_else(|| n.err(format!("shapes do not broadcast: {:?} and {:?}", a.shape(), b.shape())))?;
    let ia = broadcast_indices(a.shape(), &shape);
    let ib = broadcast_indices(b.shape(), &shape);
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
            let data = (0..numel(&shape)).map(|o| Ok(ca.data[ia[o]] * cval(cb, ib[o])?)).collect::<Result<_, _>>()?;
            Ok(Sym::Const(ConstTensor { shape, data }))
        }
        (Sym::Dyn(d), Sym::Const(c)) => {
            let ws: Vec<f64> = (0..numel(&shape)).map(|o| cval(c, ib[o])).collect::<Result<_, _>>()?;
            Ok(affine_from_terms(l, n, shape, |o| vec![(d.ids[ia[o]], ws[o])], |_| 0.0))
        }
        (Sym::Const(c), Sym::Dyn(d)) if !invert_b => {
            Ok(affine_from_terms(l, n, shape, |o| vec![(d.ids[ib[o]], c.data[ia[o]])], |_| 0.0))
        }
        _ => Err(n.err("element-wise product or quotient of two non-constant tensors is not supported yet")),
    }
}

fn mul(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    scale_syms(l, n, &a, &b, false)
}

fn div(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    scale_syms(l, n, &a, &b, true)
}

fn relu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    match x {
        Sym::Const(c) => Ok(Sym::Const(ConstTensor {
            shape: c.shape.clone(),
            data: c.data.iter().map(|v| v.max(0.0)).collect(),
        })),
        Sym::Dyn(d) => {
            // Fuse into the producing neurons when they are fresh identity
            // neurons read only here: saves a neuron per element.
            if l.fresh_single_use(&n.proto.input[0], &d.ids) {
                for &id in &d.ids {
                    if let Value::Neuron(nr) = &mut l.values[id] {
                        nr.act = Activation::Relu;
                    }
                }
                return Ok(x.clone());
            }
            let ids = d
                .ids
                .iter()
                .map(|&id| {
                    l.push_neuron(Neuron { terms: vec![(id, 1.0)], bias: 0.0, act: Activation::Relu, node: n.index })
                })
                .collect();
            Ok(Sym::Dyn(DynTensor { shape: d.shape.clone(), ids }))
        }
    }
}

fn const_ints(c: &ConstTensor) -> Vec<i64> {
    c.data.iter().map(|&v| v as i64).collect()
}

fn constant_of_shape(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let shape: Vec<usize> = const_ints(n.constant(0, "ConstantOfShape's shape")?).iter().map(|&d| d.max(0) as usize).collect();
    let value = match n.attr("value").and_then(|a| a.t.as_ref()) {
        Some(t) => super::onnx::const_from_proto(t).map_err(|e| n.err(e))?.data.first().copied().unwrap_or(0.0),
        None => 0.0,
    };
    Ok(Sym::Const(ConstTensor { data: vec![value; numel(&shape)], shape }))
}

/// Numpy-style broadcast of the input to `shape` (ONNX Expand).
fn expand(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let target: Vec<usize> = const_ints(n.constant(1, "Expand's shape")?).iter().map(|&d| d.max(0) as usize).collect();
    let shape = broadcast_shape(x.shape(), &target)
        .ok_or_else(|| n.err(format!("cannot expand {:?} to {target:?}", x.shape())))?;
    let src = broadcast_indices(x.shape(), &shape);
    Ok(reindex(x, shape, |i| src[i]))
}

fn tile(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let reps = const_ints(n.constant(1, "Tile's repeats")?);
    let in_shape = x.shape().to_vec();
    if reps.len() != in_shape.len() || reps.iter().any(|&r| r < 0) {
        return Err(n.err(format!("repeats {reps:?} do not fit input rank {}", in_shape.len())));
    }
    let shape: Vec<usize> = in_shape.iter().zip(&reps).map(|(&d, &r)| d * r as usize).collect();
    let (out_strides, in_strides) = (strides(&shape), strides(&in_shape));
    Ok(reindex(x, shape.clone(), |i| {
        (0..shape.len()).map(|d| ((i / out_strides[d]) % shape[d] % in_shape[d]) * in_strides[d]).sum()
    }))
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
                .map(|&v| l.push_neuron(Neuron { terms: vec![], bias: v, act: Activation::Identity, node: n.index }))
                .collect(),
        },
    }
}

fn concat(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let inputs: Vec<Sym> = (0..n.inputs.len()).map(|i| n.input(i).cloned()).collect::<Result<_, _>>()?;
    let rank = inputs[0].shape().len() as i64;
    let mut axis = n.attr_int("axis", 0);
    if axis < 0 {
        axis += rank;
    }
    let axis = axis as usize;
    for s in &inputs {
        let (a, b) = (s.shape(), inputs[0].shape());
        if a.len() != b.len() || (0..a.len()).any(|d| d != axis && a[d] != b[d]) {
            return Err(n.err(format!("shapes {:?} and {:?} cannot be concatenated on axis {axis}", b, a)));
        }
    }
    let all_const = inputs.iter().all(|s| matches!(s, Sym::Const(_)));
    let mut shape = inputs[0].shape().to_vec();
    shape[axis] = inputs.iter().map(|s| s.shape()[axis]).sum();
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    // Walk the output in order: for each outer index, each input's block.
    let mut out_f = Vec::new();
    let mut out_ids = Vec::new();
    let dyns: Vec<Option<DynTensor>> =
        inputs.iter().map(|s| if all_const { None } else { Some(materialize(l, n, s)) }).collect();
    for o in 0..outer {
        for (s, d) in inputs.iter().zip(&dyns) {
            let block = s.shape()[axis] * inner;
            let range = o * block..(o + 1) * block;
            match (s, d) {
                (Sym::Const(c), None) => out_f.extend_from_slice(&c.data[range]),
                (_, Some(d)) => out_ids.extend_from_slice(&d.ids[range]),
                (Sym::Dyn(_), None) => unreachable!("dynamic inputs are materialized"),
            }
        }
    }
    Ok(if all_const { Sym::Const(ConstTensor { shape, data: out_f }) } else { Sym::Dyn(DynTensor { shape, ids: out_ids }) })
}

fn slice(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let in_shape = x.shape().to_vec();
    let rank = in_shape.len();
    let (starts, ends) = (const_ints(n.constant(1, "Slice's starts")?), const_ints(n.constant(2, "Slice's ends")?));
    let axes: Vec<usize> = match n.opt_input(3) {
        Some(Sym::Const(c)) => const_ints(c).iter().map(|&a| if a < 0 { (a + rank as i64) as usize } else { a as usize }).collect(),
        Some(Sym::Dyn(_)) => return Err(n.err("axes must be a constant")),
        None => (0..starts.len()).collect(),
    };
    let steps: Vec<i64> = match n.opt_input(4) {
        Some(Sym::Const(c)) => const_ints(c),
        Some(Sym::Dyn(_)) => return Err(n.err("steps must be a constant")),
        None => vec![1; starts.len()],
    };
    // Per axis: the source coordinates kept, in output order.
    let mut keep: Vec<Vec<usize>> = in_shape.iter().map(|&d| (0..d).collect()).collect();
    for (i, &ax) in axes.iter().enumerate() {
        let d = in_shape.get(ax).copied().ok_or_else(|| n.err(format!("axis {ax} out of range")))? as i64;
        let step = steps[i];
        if step == 0 {
            return Err(n.err("step 0"));
        }
        let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
        let norm = |v: i64| if v < 0 { v + d } else { v };
        let (mut cur, end) = if step > 0 {
            (clamp(norm(starts[i]), 0, d), clamp(norm(ends[i]), 0, d))
        } else {
            (clamp(norm(starts[i]), -1, d - 1), clamp(norm(ends[i]), -1, d - 1))
        };
        let mut v = Vec::new();
        while (step > 0 && cur < end) || (step < 0 && cur > end) {
            v.push(cur as usize);
            cur += step;
        }
        keep[ax] = v;
    }
    let shape: Vec<usize> = keep.iter().map(|k| k.len()).collect();
    let (out_strides, in_strides) = (strides(&shape), strides(&in_shape));
    Ok(reindex(x, shape.clone(), |i| (0..rank).map(|d| keep[d][(i / out_strides[d]) % shape[d]] * in_strides[d]).sum()))
}
