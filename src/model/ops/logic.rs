//! Boolean logic on 0/1 values and the sign, from products and steps:
//!
//! ```text
//! not a = 1 − a      a and b = a·b      a or b = a + b − a·b      a xor b = a + b − 2·a·b
//! sign x = step(x) − step(−x)
//! ```
//! Inputs of the boolean ops are the 0/1 outputs of comparisons (or
//! boolean model inputs, which the input range check bounds but does not
//! force to 0/1: a model's boolean input is a claim the prover makes).

use super::pwl::resolve;
use super::smooth::product;
use super::*;

fn binary(
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

/// `a + b + k·a·b` (or, xor).
fn sum_and_product(l: &mut Lowering, node: usize, a: Elem, b: Elem, k: f64) -> Elem {
    let ab = product(l, node, a, b);
    let mut f = Affine::of(a);
    f.add_scaled(&Affine::of(b), 1.0);
    f.add_scaled(&Affine::of(ab), k);
    l.element(node, f)
}

pub(super) fn and(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    binary(l, n, product)
}

pub(super) fn or(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    binary(l, n, |l, node, a, b| sum_and_product(l, node, a, b, -1.0))
}

pub(super) fn xor(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    binary(l, n, |l, node, a, b| sum_and_product(l, node, a, b, -2.0))
}

pub(super) fn not(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let elems = (0..numel(x.shape()))
        .map(|o| l.element(n.index, Affine::diff(Elem::Const(1.0), elem(&x, o))))
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

pub(super) fn sign(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let v = resolve(l, elem(&x, o));
            let pos = l.activated(n.index, Affine::of(v), Activation::Step);
            let neg = l.activated(n.index, Affine::of(v).times(-1.0), Activation::Step);
            l.element(n.index, Affine::diff(pos, neg))
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// Shrink: `x − bias` above `λ`, `x + bias` below `−λ`, else 0:
/// `relu(x − λ) − relu(−x − λ) + (λ − bias)·([x > λ] − [x < −λ])`.
pub(super) fn shrink(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (bias, lambd) = (
        n.attr_float("bias", 0.0) as f64,
        n.attr_float("lambd", 0.5) as f64,
    );
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let v = resolve(l, elem(&x, o));
            let mut above_in = Affine::of(v);
            above_in.bias -= lambd;
            let mut below_in = Affine::of(v).times(-1.0);
            below_in.bias -= lambd;
            let up = l.activated(n.index, above_in.clone(), Activation::Relu);
            let down = l.activated(n.index, below_in.clone(), Activation::Relu);
            let mut out = Affine::diff(up, down);
            if lambd != bias {
                // [x > λ] = 1 − step(λ − x); [x < −λ] = 1 − step(x + λ).
                let not_above = l.activated(n.index, above_in.times(-1.0), Activation::Step);
                let not_below = l.activated(n.index, below_in.times(-1.0), Activation::Step);
                out.add_scaled(&Affine::diff(not_below, not_above), lambd - bias);
            }
            l.element(n.index, out)
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}
