//! Reductions beyond sum, mean, max and min, each a fold over the groups
//! of [`reduce_groups`]:
//!
//! ```text
//! L1 = Σ|x|          L2 = √Σx²          SumSquare = Σx²
//! LogSum = ln Σx     LogSumExp = m + ln Σ exp(x − m)      Prod = Π x
//! ```
//! and CumSum, a running sum along one axis.

use super::pwl::{abs_elem, extreme, resolve};
use super::smooth::product;
use super::window::{reduce_axes, reduce_groups};
use super::*;
use crate::model::LutFn;

#[derive(Clone, Copy)]
enum Fold {
    L1,
    L2,
    SumSquare,
    LogSum,
    LogSumExp,
    Prod,
}

fn reduce_with(l: &mut Lowering, n: &NodeCtx, fold: Fold) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let Some(axes) = reduce_axes(n, x.shape().len())? else {
        // noop_with_empty_axes: the op applies element-wise to no axes.
        return Ok(x);
    };
    let (shape, groups) = reduce_groups(x.shape(), &axes, n.attr_int("keepdims", 1) != 0);
    let elems = groups.iter().map(|g| fold_group(l, n.index, &x, g, fold)).collect();
    Ok(l.tensor(n.index, shape, elems))
}

fn fold_group(l: &mut Lowering, node: usize, x: &Sym, group: &[usize], fold: Fold) -> Elem {
    let items: Vec<Elem> = group.iter().map(|&i| resolve(l, elem(x, i))).collect();
    let sum_of = |l: &mut Lowering, f: &dyn Fn(&mut Lowering, Elem) -> Elem| {
        let mut s = Affine::default();
        for &v in &items {
            let t = f(l, v);
            s.add_scaled(&Affine::of(t), 1.0);
        }
        s
    };
    match fold {
        Fold::L1 => {
            let s = sum_of(l, &|l, v| abs_elem(l, node, v));
            l.element(node, s)
        }
        Fold::SumSquare => {
            let s = sum_of(l, &|l, v| product(l, node, v, v));
            l.element(node, s)
        }
        Fold::L2 => {
            let s = sum_of(l, &|l, v| product(l, node, v, v));
            l.activated(node, s, Activation::Lut(LutFn::Sqrt))
        }
        Fold::LogSum => {
            let s = sum_of(l, &|_, v| v);
            l.activated(node, s, Activation::Lut(LutFn::Log))
        }
        Fold::LogSumExp => {
            // The max keeps every exp input at or below 0, as in softmax.
            let m = extreme(l, node, &items, 1.0);
            let s = sum_of(l, &|l, v| l.activated(node, Affine::diff(v, m), Activation::Lut(LutFn::Exp)));
            let log = l.activated(node, s, Activation::Lut(LutFn::Log));
            let mut out = Affine::of(m);
            out.add_scaled(&Affine::of(log), 1.0);
            l.element(node, out)
        }
        Fold::Prod => items.iter().skip(1).fold(items.first().copied().unwrap_or(Elem::Const(1.0)), |acc, &v| product(l, node, acc, v)),
    }
}

pub(super) fn reduce_l1(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_with(l, n, Fold::L1)
}

pub(super) fn reduce_l2(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_with(l, n, Fold::L2)
}

pub(super) fn reduce_sum_square(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_with(l, n, Fold::SumSquare)
}

pub(super) fn reduce_log_sum(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_with(l, n, Fold::LogSum)
}

pub(super) fn reduce_log_sum_exp(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_with(l, n, Fold::LogSumExp)
}

pub(super) fn reduce_prod(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_with(l, n, Fold::Prod)
}

/// Running sum along a constant axis; `exclusive` leaves the element
/// itself out, `reverse` runs from the end.
pub(super) fn cum_sum(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    let axis_t = n.constant(1, "CumSum's axis")?;
    let axis = n.axis_index(*const_ints(axis_t).first().ok_or_else(|| n.err("empty axis"))?, s.len())?;
    let (exclusive, reverse) = (n.attr_int("exclusive", 0) != 0, n.attr_int("reverse", 0) != 0);
    let (dim, inner) = (s[axis], numel(&s[axis + 1..]));
    Ok(linear_map(
        l,
        n,
        &x,
        s.clone(),
        |o| {
            let (pos, base) = ((o / inner) % dim, o - ((o / inner) % dim) * inner);
            let range: Vec<usize> = match (reverse, exclusive) {
                (false, false) => (0..=pos).collect(),
                (false, true) => (0..pos).collect(),
                (true, false) => (pos..dim).collect(),
                (true, true) => (pos + 1..dim).collect(),
            };
            range.into_iter().map(|j| (base + j * inner, 1.0)).collect()
        },
        |_| 0.0,
    ))
}
