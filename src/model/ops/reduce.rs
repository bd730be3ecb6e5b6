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
    let elems = groups
        .iter()
        .map(|g| fold_group(l, n.index, &x, g, fold))
        .collect();
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
            let s = sum_of(l, &|l, v| {
                l.activated(node, Affine::diff(v, m), Activation::Lut(LutFn::Exp))
            });
            let log_sum = LutFn::log_of_exp_sum(items.len());
            let log = l.activated(node, s, Activation::Lut(log_sum));
            let mut out = Affine::of(m);
            out.add_scaled(&Affine::of(log), 1.0);
            l.element(node, out)
        }
        Fold::Prod => items.iter().skip(1).fold(
            items.first().copied().unwrap_or(Elem::Const(1.0)),
            |acc, &v| product(l, node, acc, v),
        ),
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
    let axis = n.axis_index(
        *const_ints(axis_t)
            .first()
            .ok_or_else(|| n.err("empty axis"))?,
        s.len(),
    )?;
    let (exclusive, reverse) = (
        n.attr_int("exclusive", 0) != 0,
        n.attr_int("reverse", 0) != 0,
    );
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

/// NegativeLogLikelihoodLoss with constant targets (and weights): `−x[n,
/// target, d]·weight[target]`, averaged over the weights, summed, or per
/// element; `ignore_index` targets weigh 0. Affine throughout.
pub(super) fn nll_loss(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    nll_of(l, n, &x)
}

fn nll_of(l: &mut Lowering, n: &NodeCtx, x: &Sym) -> Result<Sym, ModelError> {
    let s = x.shape().to_vec();
    if s.len() < 2 {
        return Err(n.err("expects [N, C, ...]"));
    }
    let target = n.constant(1, "the loss's target")?;
    let weight = match n.opt_input(2) {
        Some(_) => Some(n.constant(2, "the loss's weight")?.data.clone()),
        None => None,
    };
    let (batch, classes, inner) = (s[0], s[1], numel(&s[2..]));
    let ignore = n.attr("ignore_index").map(|a| a.i);
    let reduction = n.attr_str("reduction", "mean");
    let targets = const_ints(target);
    if targets.len() != batch * inner {
        return Err(n.err(format!(
            "target {:?} does not fit input {s:?}",
            target.shape
        )));
    }
    let mut losses = Vec::with_capacity(targets.len());
    let mut weight_sum = 0.0;
    for (j, &t) in targets.iter().enumerate() {
        let (b, d) = (j / inner, j % inner);
        if Some(t) == ignore {
            losses.push(Affine::default());
            continue;
        }
        let c = t.clamp(0, classes as i64 - 1) as usize;
        let w = weight.as_ref().map_or(1.0, |w| w[c]);
        weight_sum += w;
        losses.push(Affine::of(elem(x, (b * classes + c) * inner + d)).times(-w));
    }
    match reduction.as_str() {
        "none" => {
            let elems = losses.into_iter().map(|f| l.element(n.index, f)).collect();
            Ok(l.tensor(n.index, target.shape.clone(), elems))
        }
        "sum" | "mean" => {
            let mut total = Affine::default();
            losses.iter().for_each(|f| total.add_scaled(f, 1.0));
            let divisor = if reduction == "sum" {
                1.0
            } else if weight.is_some() || ignore.is_some() {
                weight_sum
            } else {
                losses.len() as f64
            };
            let e = if divisor == 0.0 {
                Elem::Const(0.0)
            } else {
                super::linear::scale_accurately(l, n.index, total, 1.0 / divisor)
            };
            Ok(l.tensor(n.index, vec![], vec![e]))
        }
        other => Err(n.err(format!("reduction {other}"))),
    }
}

/// SoftmaxCrossEntropyLoss: the NLL of the log-softmax over the class
/// axis; its second output is that log-softmax.
pub(super) fn softmax_cross_entropy_loss(
    l: &mut Lowering,
    n: &NodeCtx,
) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let log_prob = super::smooth::log_softmax_over(l, n, &x, 1)?;
    Ok(vec![nll_of(l, n, &log_prob)?, log_prob])
}
