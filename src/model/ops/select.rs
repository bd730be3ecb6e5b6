//! Comparisons, Where and ArgMax, from the step activation (1 where a
//! value is ≥ 0, read off the range-check chain's sign bit) and products of
//! 0/1 values:
//!
//! ```text
//! a ≥ b = step(a − b)        a > b = 1 − step(b − a)     a = b = step(a − b) + step(b − a) − 1
//! where(c, x, y) = y + c·(x − y)
//! argmax: m = max, hit_i = step(x_i − m), seen_i = seen_{i−1} OR hit_i, index = Σ (1 − seen_i)
//! ```
//! Comparisons are exact on the fixed-point values the circuit holds.

use super::pwl::{extreme, resolve};
use super::window::reduce_groups;
use super::*;

/// `step(form)` as an element.
fn step(l: &mut Lowering, node: usize, form: Affine) -> Elem {
    l.activated(node, form, Activation::Step)
}

fn compare(
    l: &mut Lowering,
    n: &NodeCtx,
    f: impl Fn(&mut Lowering, usize, Elem, Elem) -> Elem,
) -> Result<Sym, ModelError> {
    let (a, b) = (n.input(0)?.clone(), n.input(1)?.clone());
    let Broadcast { shape, ia, ib } = n.broadcast(&a, &b)?;
    let elems = (0..numel(&shape))
        .map(|o| {
            let (x, y) = (resolve(l, elem(&a, ia[o])), resolve(l, elem(&b, ib[o])));
            f(l, n.index, x, y)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

/// `1 − e` as an element.
fn not(l: &mut Lowering, node: usize, e: Elem) -> Elem {
    let mut f = Affine::constant(1.0);
    f.add_scaled(&Affine::of(e), -1.0);
    l.element(node, f)
}

pub(super) fn greater_or_equal(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    compare(l, n, |l, node, a, b| step(l, node, Affine::diff(a, b)))
}

pub(super) fn less_or_equal(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    compare(l, n, |l, node, a, b| step(l, node, Affine::diff(b, a)))
}

pub(super) fn greater(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    compare(l, n, |l, node, a, b| {
        let s = step(l, node, Affine::diff(b, a));
        not(l, node, s)
    })
}

pub(super) fn less(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    compare(l, n, |l, node, a, b| {
        let s = step(l, node, Affine::diff(a, b));
        not(l, node, s)
    })
}

pub(super) fn equal(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    compare(l, n, |l, node, a, b| {
        let (ge, le) = (
            step(l, node, Affine::diff(a, b)),
            step(l, node, Affine::diff(b, a)),
        );
        let mut f = Affine::constant(-1.0);
        f.add_scaled(&Affine::of(ge), 1.0);
        f.add_scaled(&Affine::of(le), 1.0);
        l.element(node, f)
    })
}

/// `y + c·(x − y)` for a 0/1 condition `c`.
fn select(l: &mut Lowering, node: usize, c: Elem, x: Elem, y: Elem) -> Elem {
    match c {
        Elem::Const(c) => {
            if c != 0.0 {
                x
            } else {
                y
            }
        }
        Elem::Val(c) => match l.element(node, Affine::diff(x, y)) {
            // x − y constant: linear in c.
            Elem::Const(d) => {
                let mut f = Affine::of(y);
                f.add_scaled(&Affine::of(Elem::Val(c)), d);
                l.element(node, f)
            }
            Elem::Val(d) => {
                let y = Affine::of(y);
                Elem::Val(l.push_neuron(Neuron {
                    terms: y.terms,
                    products: vec![(c, d, 1.0)],
                    bias: y.bias,
                    act: Activation::Identity,
                    node,
                }))
            }
        },
    }
}

pub(super) fn where_(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (c, x, y) = (
        n.input(0)?.clone(),
        n.input(1)?.clone(),
        n.input(2)?.clone(),
    );
    let shape = broadcast_shape(c.shape(), x.shape())
        .and_then(|s| broadcast_shape(&s, y.shape()))
        .ok_or_else(|| {
            n.err(format!(
                "shapes do not broadcast: {:?}, {:?}, {:?}",
                c.shape(),
                x.shape(),
                y.shape()
            ))
        })?;
    let (ic, ix, iy) = (
        broadcast_indices(c.shape(), &shape),
        broadcast_indices(x.shape(), &shape),
        broadcast_indices(y.shape(), &shape),
    );
    let elems = (0..numel(&shape))
        .map(|o| {
            // With a constant condition (masked_fill's), a branch constant
            // beyond ±10⁴ is a mask, as in Add.
            let cv = resolve(l, elem(&c, ic[o]));
            let mask = |e: Elem| match (cv, e) {
                (Elem::Const(_), Elem::Const(v)) => Elem::Const(super::masked(v).unwrap_or(v)),
                (_, other) => other,
            };
            let (xv, yv) = (
                mask(resolve(l, elem(&x, ix[o]))),
                mask(resolve(l, elem(&y, iy[o]))),
            );
            select(l, n.index, cv, xv, yv)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

/// `a OR b` of two 0/1 elements: `a + b − a·b`.
fn or(l: &mut Lowering, node: usize, a: Elem, b: Elem) -> Elem {
    match (a, b) {
        (Elem::Const(c), other) | (other, Elem::Const(c)) => {
            if c != 0.0 {
                Elem::Const(1.0)
            } else {
                other
            }
        }
        (Elem::Val(a), Elem::Val(b)) => Elem::Val(l.push_neuron(Neuron {
            terms: vec![(a, 1.0), (b, 1.0)],
            products: vec![(a, b, -1.0)],
            bias: 0.0,
            act: Activation::Identity,
            node,
        })),
    }
}

/// Index of the first (or, with `select_last_index`, the last) maximum
/// along `axis`.
pub(super) fn arg_max(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    arg_extreme(l, n, 1.0)
}

/// As [`arg_max`], of the minimum.
pub(super) fn arg_min(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    arg_extreme(l, n, -1.0)
}

fn arg_extreme(l: &mut Lowering, n: &NodeCtx, s: f64) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let last = n.attr_int("select_last_index", 0) != 0;
    let ax = n.axis_attr(0, x.shape().len())?;
    let (shape, groups) = reduce_groups(x.shape(), &[ax], n.attr_int("keepdims", 1) != 0);
    let elems = groups
        .iter()
        .map(|g| {
            let mut items: Vec<Elem> = g.iter().map(|&i| resolve(l, elem(&x, i))).collect();
            if !last {
                return first_extreme_index(l, n.index, &items, s);
            }
            // The last extreme is the first one of the reversed items.
            items.reverse();
            let from_end = first_extreme_index(l, n.index, &items, s);
            l.element(
                n.index,
                Affine::diff(Elem::Const(items.len() as f64 - 1.0), from_end),
            )
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

/// The index of the first maximum of `items` (not empty).
pub(super) fn first_max_index(l: &mut Lowering, node: usize, items: &[Elem]) -> Elem {
    first_extreme_index(l, node, items, 1.0)
}

/// The index of the first maximum (`s = 1`) or minimum (`s = −1`):
/// the number of positions before the extreme has been seen.
fn first_extreme_index(l: &mut Lowering, node: usize, items: &[Elem], s: f64) -> Elem {
    let seen = running_hits(l, node, items, s);
    let mut index = Affine::default();
    for &now in &seen[..seen.len() - 1] {
        index.bias += 1.0;
        index.add_scaled(&Affine::of(now), -1.0);
    }
    l.element(node, index)
}

/// `seen_i`: whether an extreme (`s = 1` max, `−1` min) of `items` occurs
/// at or before position `i` (the running OR of `x_i ≥ max`); the last is
/// 1.
pub(super) fn running_hits(l: &mut Lowering, node: usize, items: &[Elem], s: f64) -> Vec<Elem> {
    let items: Vec<Elem> = items.iter().map(|&e| resolve(l, e)).collect();
    let m = extreme(l, node, &items, s);
    let mut out = Vec::with_capacity(items.len());
    let mut seen: Option<Elem> = None;
    for &v in &items[..items.len() - 1] {
        let hit = step(l, node, Affine::diff(v, m).times(s));
        let now = match seen {
            None => hit,
            Some(s) => or(l, node, s, hit),
        };
        out.push(now);
        seen = Some(now);
    }
    out.push(Elem::Const(1.0));
    out
}

/// Above this many entries, a gather by a dynamic index is refused: it
/// costs one step neuron per entry.
const MAX_DYNAMIC_GATHER: usize = 4096;

/// The indicators `ge_i = [idx ≥ i]` (`i = 1 .. len − 1`) of a dynamic
/// integer index: `step(idx − i + ½)`, exact on the integer index.
pub(super) fn index_steps(l: &mut Lowering, node: usize, idx: Elem, len: usize) -> Vec<Elem> {
    (1..len)
        .map(|i| {
            let mut f = Affine::of(idx);
            f.bias -= i as f64 - 0.5;
            step(l, node, f)
        })
        .collect()
}

/// `table[idx]` for a dynamic integer index, from its steps (see
/// [`index_steps`]): `table[0] + Σ (table[i] − table[i−1])·ge_i`. An
/// index outside `[0, len)` reads the nearer end.
pub(super) fn lookup_const(l: &mut Lowering, node: usize, steps: &[Elem], table: &[f64]) -> Elem {
    let mut f = Affine::constant(table[0]);
    for (i, &ge) in steps.iter().enumerate() {
        f.add_scaled(&Affine::of(ge), table[i + 1] - table[i]);
    }
    l.element(node, f)
}

/// Gather from a constant tensor by dynamic indices (a class label from an
/// ArgMax, say): one set of index steps per index element, one neuron per
/// output element.
pub(super) fn gather_by_dynamic_index(
    l: &mut Lowering,
    n: &NodeCtx,
    data: &ConstTensor,
    idx: &DynTensor,
    axis: usize,
) -> Result<Sym, ModelError> {
    let s = &data.shape;
    let dim = s[axis];
    if dim == 0 || dim > MAX_DYNAMIC_GATHER {
        return Err(n.err(format!("a gather by a dynamic index needs 1 to {MAX_DYNAMIC_GATHER} entries along the axis, not {dim}")));
    }
    let (outer, inner, ni) = (numel(&s[..axis]), numel(&s[axis + 1..]), idx.ids.len());
    let steps: Vec<Vec<Elem>> = idx
        .ids
        .iter()
        .map(|&id| index_steps(l, n.index, resolve(l, Elem::Val(id)), dim))
        .collect();
    let mut elems = Vec::with_capacity(outer * ni * inner);
    for a in 0..outer {
        for st in &steps {
            for k in 0..inner {
                let table: Vec<f64> = (0..dim)
                    .map(|i| data.data[(a * dim + i) * inner + k])
                    .collect();
                elems.push(lookup_const(l, n.index, st, &table));
            }
        }
    }
    let mut shape = s[..axis].to_vec();
    shape.extend(&idx.shape);
    shape.extend(&s[axis + 1..]);
    Ok(l.tensor(n.index, shape, elems))
}
