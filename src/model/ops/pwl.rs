//! Piecewise-linear ops, built from ReLU neurons (whose sign the range-check
//! chain already proves) and identity neurons:
//!
//! ```text
//! max(m, v) = m + relu(v − m)        min(m, v) = m − relu(m − v)
//! clip(x, lo, hi) = lo + r − relu(r − (hi − lo)),  r = relu(x − lo)
//! leaky_relu(x) = α·x + (1 − α)·relu(x)             abs(x) = 2·relu(x) − x
//! ```
//! A running max stays a linear form over the first operand and the ReLU
//! neurons so far, so the max of `k` values costs `k − 1` ReLU neurons and
//! one identity neuron. All weights are ±1 (or α), so the fixed-point
//! rescale is exact.

use super::linear::broadcast_all;
use super::window::{reduce_axes, reduce_groups, Window};
use super::*;

/// Terms a running max may carry before it is written to a neuron of its
/// own: up to about the chain length (range + weight bits, ~28) a neuron's
/// terms cost no extra rows.
const MAX_RUNNING_TERMS: usize = 20;

/// `m := m + s·relu(s·(v − m))`: `max(m, v)` for `s = 1`, `min(m, v)` for
/// `s = −1`.
fn relu_step(l: &mut Lowering, node: usize, m: &mut Affine, v: &Affine, s: f64) {
    if m.terms.len() >= MAX_RUNNING_TERMS {
        *m = Affine::of(l.element(node, m.clone()));
    }
    let mut d = Affine::default();
    d.add_scaled(v, s);
    d.add_scaled(m, -s);
    let r = l.neuron(node, d, Activation::Relu);
    m.add_scaled(&Affine::of(Elem::Val(r)), s);
}

/// An element with constant neurons read as constants.
pub(super) fn resolve(l: &Lowering, e: Elem) -> Elem {
    match e {
        Elem::Val(id) => l.const_value(id).map(Elem::Const).unwrap_or(e),
        c => c,
    }
}

/// Max (`s = 1`) or min (`s = −1`) of `items` (not empty). Constants are
/// combined first; repeated values count once.
pub(super) fn extreme(l: &mut Lowering, node: usize, items: &[Elem], s: f64) -> Elem {
    let mut c: Option<f64> = None;
    let mut vals: Vec<ValueId> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &e in items {
        match resolve(l, e) {
            Elem::Const(v) => c = Some(c.map_or(v, |c| if s > 0.0 { c.max(v) } else { c.min(v) })),
            Elem::Val(id) => {
                if seen.insert(id) {
                    vals.push(id)
                }
            }
        }
    }
    let mut rest = vals.into_iter();
    let mut m = match c {
        Some(c) => Affine::constant(c),
        None => Affine::of(Elem::Val(rest.next().expect("extreme of no items"))),
    };
    for v in rest {
        relu_step(l, node, &mut m, &Affine::of(Elem::Val(v)), s);
    }
    l.element(node, m)
}

/// `min(max(x, lo), hi)` of one element. With `fuse`, `x` is an identity
/// neuron only this node reads, and its first ReLU is folded into it.
pub(super) fn clamp(
    l: &mut Lowering,
    node: usize,
    x: Elem,
    lo: Option<f64>,
    hi: Option<f64>,
    fuse: bool,
) -> Elem {
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            // ONNX: every element becomes max.
            return Elem::Const(hi);
        }
    }
    let id = match resolve(l, x) {
        Elem::Const(v) => {
            return Elem::Const(
                hi.map_or(v.max(lo.unwrap_or(v)), |h| v.max(lo.unwrap_or(v)).min(h)),
            )
        }
        Elem::Val(id) => id,
    };
    let mut m = Affine::of(Elem::Val(id));
    // The first step reads x: relu(x − lo), or relu(hi − x) without lo.
    let first = match (lo, hi) {
        (Some(lo), _) => Some((lo, 1.0)),
        (None, Some(hi)) => Some((hi, -1.0)),
        (None, None) => None,
    };
    if let Some((c, s)) = first {
        if fuse {
            l.refit(id, s, -s * c, Activation::Relu);
            m = Affine {
                terms: vec![(id, s)],
                bias: c,
            };
        } else {
            m = Affine::constant(c);
            relu_step(l, node, &mut m, &Affine::of(Elem::Val(id)), s);
        }
    }
    if let (Some(_), Some(hi)) = (lo, hi) {
        relu_step(l, node, &mut m, &Affine::constant(hi), -1.0);
    }
    l.element(node, m)
}

fn max_min(l: &mut Lowering, n: &NodeCtx, s: f64) -> Result<Sym, ModelError> {
    let (ins, shape, idx) = broadcast_all(n)?;
    let dyns: Vec<usize> = (0..ins.len())
        .filter(|&i| matches!(ins[i], Sym::Dyn(_)))
        .collect();
    // One dynamic operand of the output's shape against constants: a clamp,
    // whose first ReLU may fold into the operand's neurons.
    if let [d] = dyns[..] {
        if ins.len() > 1 && ins[d].shape() == &shape[..] {
            let Sym::Dyn(x) = &ins[d] else { unreachable!() };
            let fuse = l.fresh_single_use(&x.ids);
            let elems = (0..numel(&shape))
                .map(|o| {
                    let consts = (0..ins.len())
                        .filter(|&i| i != d)
                        .map(|i| elem(&ins[i], idx[i][o]));
                    let c = consts
                        .filter_map(|e| {
                            if let Elem::Const(c) = e {
                                Some(c)
                            } else {
                                None
                            }
                        })
                        .reduce(|a, b| if s > 0.0 { a.max(b) } else { a.min(b) });
                    let (lo, hi) = if s > 0.0 { (c, None) } else { (None, c) };
                    clamp(l, n.index, Elem::Val(x.ids[o]), lo, hi, fuse)
                })
                .collect();
            return Ok(l.tensor(n.index, shape, elems));
        }
    }
    let elems = (0..numel(&shape))
        .map(|o| {
            let items: Vec<Elem> = ins.iter().zip(&idx).map(|(x, ix)| elem(x, ix[o])).collect();
            extreme(l, n.index, &items, s)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

pub(super) fn max(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    max_min(l, n, 1.0)
}

pub(super) fn min(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    max_min(l, n, -1.0)
}

pub(super) fn relu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    match x {
        Sym::Const(c) => Ok(Sym::Const(ConstTensor {
            shape: c.shape.clone(),
            data: c.data.iter().map(|v| v.max(0.0)).collect(),
        })),
        Sym::Dyn(d) => {
            // Fuse into the producing neurons when they are fresh identity
            // neurons read only here: saves a neuron per element.
            if l.fresh_single_use(&d.ids) {
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
                    l.push_neuron(Neuron::affine(
                        vec![(id, 1.0)],
                        0.0,
                        Activation::Relu,
                        n.index,
                    ))
                })
                .collect();
            Ok(Sym::Dyn(DynTensor {
                shape: d.shape.clone(),
                ids,
            }))
        }
    }
}

/// A scalar bound of Clip: input `i` (opset 11+) or attribute `attr`
/// (older opsets). Bounds at ±f32::MAX mean "none".
fn clip_bound(n: &NodeCtx, i: usize, attr: &str) -> Result<Option<f64>, ModelError> {
    let v = match n.opt_input(i) {
        Some(Sym::Const(c)) if c.data.len() == 1 => Some(c.data[0]),
        Some(Sym::Const(c)) => {
            return Err(n.err(format!("{attr} must be a scalar, got shape {:?}", c.shape)))
        }
        Some(Sym::Dyn(_)) => return Err(n.err(format!("{attr} must be a constant"))),
        None => n.attr(attr).map(|a| a.f as f64),
    };
    Ok(v.filter(|v| v.abs() < f32::MAX as f64))
}

pub(super) fn clip(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (lo, hi) = (clip_bound(n, 1, "min")?, clip_bound(n, 2, "max")?);
    let fuse = matches!(&x, Sym::Dyn(d) if l.fresh_single_use(&d.ids));
    let elems = (0..numel(x.shape()))
        .map(|o| clamp(l, n.index, elem(&x, o), lo, hi, fuse))
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `α·x + (1 − α)·relu(x)` element-wise: LeakyRelu and PRelu.
fn leaky(l: &mut Lowering, n: &NodeCtx, x: &Sym, alpha: impl Fn(usize) -> f64) -> Sym {
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let a = alpha(o);
            match resolve(l, elem(x, o)) {
                Elem::Const(v) => Elem::Const(if v < 0.0 { a * v } else { v }),
                Elem::Val(id) if a == 1.0 => Elem::Val(id),
                Elem::Val(id) => {
                    let r = l.neuron(n.index, Affine::of(Elem::Val(id)), Activation::Relu);
                    let form = Affine {
                        terms: vec![(id, a), (r, 1.0 - a)],
                        bias: 0.0,
                    };
                    l.element(n.index, form)
                }
            }
        })
        .collect();
    l.tensor(n.index, x.shape().to_vec(), elems)
}

pub(super) fn leaky_relu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let alpha = n.attr_float("alpha", 0.01) as f64;
    Ok(leaky(l, n, &x, |_| alpha))
}

pub(super) fn prelu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let slope = n.constant(1, "PRelu's slope")?.clone();
    if broadcast_shape(x.shape(), &slope.shape).as_deref() != Some(x.shape()) {
        return Err(n.err(format!(
            "slope {:?} does not broadcast to {:?}",
            slope.shape,
            x.shape()
        )));
    }
    let idx = broadcast_indices(&slope.shape, x.shape());
    Ok(leaky(l, n, &x, |o| slope.data[idx[o]]))
}

pub(super) fn abs(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let elems = (0..numel(x.shape()))
        .map(|o| abs_elem(l, n.index, elem(&x, o)))
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `|x| = 2·relu(x) − x`.
pub(super) fn abs_elem(l: &mut Lowering, node: usize, x: Elem) -> Elem {
    match resolve(l, x) {
        Elem::Const(v) => Elem::Const(v.abs()),
        Elem::Val(id) => {
            let r = l.neuron(node, Affine::of(Elem::Val(id)), Activation::Relu);
            l.element(
                node,
                Affine {
                    terms: vec![(r, 2.0), (id, -1.0)],
                    bias: 0.0,
                },
            )
        }
    }
}

/// Max over each window; padding cells are ignored (ONNX pads with −∞).
/// MaxPool, and its optional Indices output: the flat input index (row
/// major, or column major over the spatial dims with `storage_order = 1`)
/// of each window's first maximum.
pub(super) fn max_pool(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let values = max_pool_values(l, n)?;
    if !n.proto.output.get(1).is_some_and(|o| !o.is_empty()) {
        return Ok(vec![values]);
    }
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    let win = Window::from_kernel_attr(n, &s[2..])?;
    let (isp, osp) = (win.in_numel(), win.out_numel());
    let column_major = n.attr_int("storage_order", 0) != 0;
    let spatial = &s[2..];
    let stored = |pos: usize| -> f64 {
        if !column_major {
            return pos as f64;
        }
        // Column-major over the spatial dims: the first dim varies fastest.
        let (mut rest, mut flat, mut stride) = (pos, 0usize, 1usize);
        let mut coords = vec![0; spatial.len()];
        for d in (0..spatial.len()).rev() {
            coords[d] = rest % spatial[d];
            rest /= spatial[d];
        }
        for (d, &c) in coords.iter().enumerate() {
            flat += c * stride;
            stride *= spatial[d];
        }
        flat as f64
    };
    let mut shape = s[..2].to_vec();
    shape.extend(&win.output);
    let elems = (0..numel(&shape))
        .map(|o| {
            let (nc, p) = (o / osp, o % osp);
            let taps: Vec<usize> = win.taps(p).into_iter().filter_map(|(_, pos)| pos).collect();
            let items: Vec<Elem> = taps.iter().map(|&pos| elem(&x, nc * isp + pos)).collect();
            let seen = super::select::running_hits(l, n.index, &items, 1.0);
            // The first hit is where `seen` turns from 0 to 1.
            let mut index = Affine::default();
            let mut prev = Elem::Const(0.0);
            for (&pos, &now) in taps.iter().zip(&seen) {
                index.add_scaled(
                    &Affine::diff(now, prev),
                    nc as f64 * isp as f64 + stored(pos),
                );
                prev = now;
            }
            l.element(n.index, index)
        })
        .collect();
    Ok(vec![values, l.tensor(n.index, shape, elems)])
}

fn max_pool_values(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    if s.len() < 3 {
        return Err(n.err(format!("expects an input [N, C, spatial...], got {s:?}")));
    }
    let win = Window::from_kernel_attr(n, &s[2..])?;
    let (isp, osp) = (win.in_numel(), win.out_numel());
    let taps: Vec<Vec<usize>> = (0..osp)
        .map(|p| win.taps(p).into_iter().filter_map(|(_, pos)| pos).collect())
        .collect();
    if taps.iter().any(|t| t.is_empty()) {
        return Err(n.err("a window lies entirely in the padding"));
    }
    let mut shape = s[..2].to_vec();
    shape.extend(&win.output);
    let elems = (0..numel(&shape))
        .map(|o| {
            let (nc, p) = (o / osp, o % osp);
            let items: Vec<Elem> = taps[p]
                .iter()
                .map(|&pos| elem(&x, nc * isp + pos))
                .collect();
            extreme(l, n.index, &items, 1.0)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

pub(super) fn global_max_pool(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    if s.len() < 3 {
        return Err(n.err(format!("expects an input [N, C, spatial...], got {s:?}")));
    }
    let axes: Vec<usize> = (2..s.len()).collect();
    reduce_extreme(l, n, &x, &axes, true, 1.0)
}

fn reduce_extreme(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    axes: &[usize],
    keepdims: bool,
    s: f64,
) -> Result<Sym, ModelError> {
    let (shape, groups) = reduce_groups(x.shape(), axes, keepdims);
    let elems = groups
        .iter()
        .map(|g| {
            let items: Vec<Elem> = g.iter().map(|&i| elem(x, i)).collect();
            extreme(l, n.index, &items, s)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

fn reduce_max_min(l: &mut Lowering, n: &NodeCtx, s: f64) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let Some(axes) = reduce_axes(n, x.shape().len())? else {
        return Ok(x);
    };
    reduce_extreme(l, n, &x, &axes, n.attr_int("keepdims", 1) != 0, s)
}

pub(super) fn reduce_max(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_max_min(l, n, 1.0)
}

pub(super) fn reduce_min(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_max_min(l, n, -1.0)
}
