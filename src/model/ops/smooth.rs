//! Ops beyond affine and piecewise-linear maps: smooth functions through
//! lookup tables ([`LutFn`]), element-wise products of two values, and
//! element-wise quotients (proved exactly, see `quant::quotient_checks`).
//!
//! Softmax is `exp(x − max) / Σ exp(x − max)`: the max keeps every table
//! input at or below zero, so exp never saturates and the sum is ≥ 1.

use super::pwl::abs_elem;
use super::pwl::{clamp, extreme, resolve};
use super::*;
use crate::model::{LutFn, QuotientKind};

/// `f` of every element: constants are folded; a fresh identity neuron read
/// only here takes `f` as its activation; other values get a neuron each.
/// The op table routes Sigmoid, Tanh, Exp, Log, Erf, Sqrt and Softplus here.
pub(super) fn table_op(l: &mut Lowering, n: &NodeCtx, f: LutFn) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    if let Sym::Dyn(d) = &x {
        if l.fresh_single_use(&d.ids) {
            for &id in &d.ids {
                if let Value::Neuron(nr) = &mut l.values[id] {
                    nr.act = Activation::Lut(f);
                }
            }
            return Ok(x);
        }
    }
    let elems = (0..numel(x.shape()))
        .map(|o| l.activated(n.index, Affine::of(elem(&x, o)), Activation::Lut(f)))
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

pub(super) fn gelu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let approx = n
        .attr("approximate")
        .map(|a| String::from_utf8_lossy(&a.s).into_owned());
    match approx.as_deref() {
        None | Some("none") => table_op(l, n, LutFn::Gelu),
        Some("tanh") => table_op(l, n, LutFn::GeluTanh),
        Some(other) => Err(n.err(format!(
            "approximate = '{other}' is not an ONNX Gelu mode (none, tanh)"
        ))),
    }
}

/// `max(0, min(1, α·x + β))`.
pub(super) fn hard_sigmoid(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (alpha, beta) = (
        n.attr_float("alpha", 0.2) as f64,
        n.attr_float("beta", 0.5) as f64,
    );
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let mut form = Affine::of(elem(&x, o)).times(alpha);
            form.bias += beta;
            let before = l.values.len();
            let v = l.element(n.index, form);
            // A neuron made just now is read by nothing else yet.
            let fuse = matches!(v, Elem::Val(id) if id >= before);
            clamp(l, n.index, v, Some(0.0), Some(1.0), fuse)
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `a · b` element-wise, both operands dynamic: one product neuron each.
pub(super) fn products(
    l: &mut Lowering,
    n: &NodeCtx,
    a: &Sym,
    b: &Sym,
    Broadcast { shape, ia, ib }: Broadcast,
) -> Sym {
    let elems = (0..numel(&shape))
        .map(|o| product(l, n.index, elem(a, ia[o]), elem(b, ib[o])))
        .collect();
    l.tensor(n.index, shape, elems)
}

pub(super) fn product(l: &mut Lowering, node: usize, a: Elem, b: Elem) -> Elem {
    match (resolve(l, a), resolve(l, b)) {
        (Elem::Const(x), Elem::Const(y)) => Elem::Const(x * y),
        (Elem::Const(c), Elem::Val(v)) | (Elem::Val(v), Elem::Const(c)) => {
            l.element(node, Affine::of(Elem::Val(v)).times(c))
        }
        (Elem::Val(x), Elem::Val(y)) => Elem::Val(l.push_neuron(Neuron {
            terms: vec![],
            products: vec![(x, y, 1.0)],
            bias: 0.0,
            act: Activation::Identity,
            node,
        })),
    }
}

/// `a / b` element-wise with a dynamic divisor of either sign: one
/// quotient each (see [`signed_quotient`]).
pub(super) fn quotients(
    l: &mut Lowering,
    n: &NodeCtx,
    a: &Sym,
    b: &Sym,
    Broadcast { shape, ia, ib }: Broadcast,
) -> Sym {
    let elems = (0..numel(&shape))
        .map(|o| signed_quotient(l, n.index, elem(a, ia[o]), elem(b, ib[o])))
        .collect();
    l.tensor(n.index, shape, elems)
}

fn as_value(l: &mut Lowering, node: usize, e: Elem) -> ValueId {
    match resolve(l, e) {
        Elem::Val(id) => id,
        Elem::Const(c) => l.push_neuron(Neuron::affine(vec![], c, Activation::Identity, node)),
    }
}

/// `a / b` for a divisor the lowering made positive (a sum of
/// exponentials, a norm): one quotient, which refuses a divisor ≤ 0.
pub(super) fn quotient(l: &mut Lowering, node: usize, a: Elem, b: Elem) -> Elem {
    match (resolve(l, a), resolve(l, b)) {
        (Elem::Const(0.0), _) => Elem::Const(0.0),
        (x, Elem::Const(c)) if c != 0.0 => product(l, node, x, Elem::Const(1.0 / c)),
        (x, y) => {
            let (num, den) = (as_value(l, node, x), as_value(l, node, y));
            Elem::Val(l.push_value(Value::Quotient {
                num,
                den,
                node,
                kind: QuotientKind::Scaled,
            }))
        }
    }
}

/// `a / b` for a divisor of either sign (a model's own Div or
/// Reciprocal): `sign(b)·(a / |b|)`, unless `b` is non-negative by
/// construction (see [`known_nonneg`]), when it is a plain quotient.
pub(super) fn signed_quotient(l: &mut Lowering, node: usize, a: Elem, b: Elem) -> Elem {
    let b = resolve(l, b);
    let Elem::Val(den) = b else {
        return quotient(l, node, a, b);
    };
    if known_nonneg(l, den, 3) {
        return quotient(l, node, a, b);
    }
    let magnitude = abs_elem(l, node, b);
    let q = quotient(l, node, a, magnitude);
    let nonneg = l.activated(node, Affine::of(b), Activation::Step);
    times_sign(l, node, q, nonneg)
}

/// `q` when `nonneg` is 1, `−q` when it is 0: `2·q·nonneg − q`.
fn times_sign(l: &mut Lowering, node: usize, q: Elem, nonneg: Elem) -> Elem {
    let (Elem::Val(q), Elem::Val(g)) = (resolve(l, q), resolve(l, nonneg)) else {
        let flip = |v: Elem, g: f64| Affine::of(v).times(2.0 * g - 1.0);
        return match (resolve(l, q), resolve(l, nonneg)) {
            (v, Elem::Const(g)) => l.element(node, flip(v, g)),
            (Elem::Const(c), g) => l.element(node, Affine::of(g).times(2.0 * c).plus(-c)),
            _ => unreachable!("the both-values case is handled above"),
        };
    };
    Elem::Val(l.push_neuron(Neuron {
        terms: vec![(q, -1.0)],
        products: vec![(q, g, 2.0)],
        bias: 0.0,
        act: Activation::Identity,
        node,
    }))
}

/// Whether value `id` is ≥ 0 whatever the input, by how it is built: a
/// ReLU, a step, a table of a non-negative function, or a non-negative
/// combination of such values (a sum of exponentials). `depth` bounds the
/// search; "don't know" is false.
fn known_nonneg(l: &Lowering, id: ValueId, depth: usize) -> bool {
    let Value::Neuron(nr) = &l.values[id] else {
        return false;
    };
    match nr.act {
        Activation::Relu | Activation::Step | Activation::NonNeg => true,
        Activation::Lut(f) => matches!(
            f,
            LutFn::Exp
                | LutFn::Sigmoid
                | LutFn::Sqrt
                | LutFn::Rsqrt
                | LutFn::Softplus
                | LutFn::Cosh
        ),
        Activation::Identity => {
            depth > 0
                && nr.products.is_empty()
                && nr.bias >= 0.0
                && nr
                    .terms
                    .iter()
                    .all(|&(t, w)| w > 0.0 && known_nonneg(l, t, depth - 1))
        }
    }
}

/// Integer `a / b` element-wise, truncating toward zero as ONNX does for
/// integer tensors (see [`integer_quotient`]).
pub(super) fn integer_quotients(
    l: &mut Lowering,
    n: &NodeCtx,
    a: &Sym,
    b: &Sym,
    Broadcast { shape, ia, ib }: Broadcast,
    signed: bool,
) -> Result<Sym, ModelError> {
    let elems = (0..numel(&shape))
        .map(|o| integer_quotient(l, n, elem(a, ia[o]), elem(b, ib[o]), signed))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(l.tensor(n.index, shape, elems))
}

/// `trunc(a / b)` of two integers, exact at any activation scale: a floor
/// quotient `t = ⌊|a| / |b|⌋` (a plain integer, `QuotientKind::Floor`),
/// read at the activation scale by one identity neuron, then given the
/// sign `sign(a)·sign(b)`. Unsigned operands skip the absolute values and
/// the sign.
fn integer_quotient(
    l: &mut Lowering,
    n: &NodeCtx,
    a: Elem,
    b: Elem,
    signed: bool,
) -> Result<Elem, ModelError> {
    let node = n.index;
    let (a, b) = (resolve(l, a), resolve(l, b));
    if let (Elem::Const(x), Elem::Const(y)) = (a, b) {
        if y == 0.0 {
            return Err(n.err("integer division by a constant zero"));
        }
        return Ok(Elem::Const((x / y).trunc()));
    }
    let (num, den) = match signed {
        true => (abs_elem(l, node, a), abs_elem(l, node, b)),
        false => (a, b),
    };
    let (num, den) = (as_value(l, node, num), as_value(l, node, den));
    let floor = l.push_value(Value::Quotient {
        num,
        den,
        node,
        kind: QuotientKind::Floor,
    });
    // Pushed as is: `element` would hand back the unscaled value itself.
    let scaled = Elem::Val(l.push_neuron(Neuron::affine(
        vec![(floor, 1.0)],
        0.0,
        Activation::Identity,
        node,
    )));
    if !signed {
        return Ok(scaled);
    }
    // Same signs: 1 − ga − gb + 2·ga·gb with g = [operand ≥ 0]. A zero
    // numerator makes the quotient 0, so its sign does not matter.
    let ga = l.activated(node, Affine::of(a), Activation::Step);
    let gb = l.activated(node, Affine::of(b), Activation::Step);
    let same = match (resolve(l, ga), resolve(l, gb)) {
        (Elem::Val(x), Elem::Val(y)) => Elem::Val(l.push_neuron(Neuron {
            terms: vec![(x, -1.0), (y, -1.0)],
            products: vec![(x, y, 2.0)],
            bias: 1.0,
            act: Activation::Identity,
            node,
        })),
        (Elem::Const(g), v) | (v, Elem::Const(g)) => {
            // 1 − g − v + 2·g·v
            l.element(node, Affine::of(v).times(2.0 * g - 1.0).plus(1.0 - g))
        }
    };
    Ok(times_sign(l, node, scaled, same))
}

/// Cast and CastLike: a value not known to be whole, cast to an integer
/// type, truncates toward zero (exactly: an integer quotient by 1); cast
/// to bool it becomes `x ≠ 0`; every other cast keeps the value (a whole
/// number is the same in every numeric type the range holds).
pub(super) fn cast(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    use crate::model::types::{is_integer, BOOL};
    let x = n.input(0)?.clone();
    let to = match n.proto.op_type.as_str() {
        "CastLike" => l.input_type(n, 1),
        _ => n.attr("to").map(|a| a.i as i32),
    };
    let from = l.input_type(n, 0);
    let whole = from.is_some_and(|f| is_integer(f) || f == BOOL);
    let elems: Vec<Elem> = match to {
        Some(BOOL) if from != Some(BOOL) => (0..numel(x.shape()))
            .map(|o| nonzero(l, n.index, elem(&x, o)))
            .collect(),
        Some(t) if is_integer(t) && !whole => (0..numel(x.shape()))
            .map(|o| integer_quotient(l, n, elem(&x, o), Elem::Const(1.0), true))
            .collect::<Result<_, _>>()?,
        _ => return Ok(x),
    };
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `[x ≠ 0] = 2 − [x ≥ 0] − [−x ≥ 0]`, exact on the fixed-point value.
fn nonzero(l: &mut Lowering, node: usize, x: Elem) -> Elem {
    let x = resolve(l, x);
    if let Elem::Const(c) = x {
        return Elem::Const((c != 0.0) as u8 as f64);
    }
    let pos = l.activated(node, Affine::of(x), Activation::Step);
    let neg = l.activated(node, Affine::of(x).times(-1.0), Activation::Step);
    let mut form = Affine::constant(2.0);
    form.add_scaled(&Affine::of(pos), -1.0);
    form.add_scaled(&Affine::of(neg), -1.0);
    l.element(node, form)
}

/// `√(Σ items²)` rounded down at the activation scale, exact (a
/// [`Value::Root`]): the squares are never rounded, so tiny items count
/// and large ones do not widen the range.
pub(super) fn exact_norm(l: &mut Lowering, node: usize, items: &[Elem]) -> Elem {
    let mut constant = 0.0;
    let mut squares = Vec::new();
    for &e in items {
        match resolve(l, e) {
            Elem::Const(c) => constant += c * c,
            Elem::Val(v) => squares.push(v),
        }
    }
    if squares.is_empty() {
        return Elem::Const(constant.sqrt());
    }
    let linear = (constant != 0.0)
        .then(|| l.push_neuron(Neuron::affine(vec![], constant, Activation::Identity, node)));
    Elem::Val(l.push_value(Value::Root {
        squares,
        linear,
        node,
    }))
}

/// `√e` rounded down at the activation scale, exact (a [`Value::Root`]);
/// refused before proving when `e` is negative.
pub(super) fn exact_sqrt(l: &mut Lowering, node: usize, e: Elem) -> Elem {
    match resolve(l, e) {
        Elem::Const(c) => Elem::Const(c.sqrt()),
        Elem::Val(x) => Elem::Val(l.push_value(Value::Root {
            squares: vec![],
            linear: Some(x),
            node,
        })),
    }
}

pub(super) fn reciprocal(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let elems = (0..numel(x.shape()))
        .map(|o| signed_quotient(l, n.index, Elem::Const(1.0), elem(&x, o)))
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `x^p`, element-wise with broadcasting. A constant exponent is exact
/// where it can be (0, ±1, 2, 3, 4: products, a quotient), a table
/// otherwise (any real exponent, `x^0.5` as √x). A constant base `c > 0`
/// with a dynamic exponent is `exp(p·ln c)`.
pub(super) fn pow(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let (x, e) = (n.input(0)?.clone(), n.input(1)?.clone());
    let Broadcast { shape, ia, ib } = n.broadcast(&x, &e)?;
    let elems = (0..numel(&shape))
        .map(
            |o| match (resolve(l, elem(&x, ia[o])), resolve(l, elem(&e, ib[o]))) {
                (Elem::Const(b), Elem::Const(p)) => Ok(Elem::Const(b.powf(p))),
                (v, Elem::Const(p)) => Ok(power(l, n.index, v, p)),
                (Elem::Const(c), p) if c > 0.0 => Ok(l.activated(
                    n.index,
                    Affine::of(p).times(c.ln()),
                    Activation::Lut(LutFn::Exp),
                )),
                (Elem::Const(c), _) => Err(n.err(format!(
                    "a dynamic exponent needs a positive constant base, got {c}"
                ))),
                (Elem::Val(_), Elem::Val(_)) => {
                    Err(n.err("the base or the exponent must be a constant"))
                }
            },
        )
        .collect::<Result<Vec<_>, ModelError>>()?;
    Ok(l.tensor(n.index, shape, elems))
}

/// `v^p` for a constant `p`.
fn power(l: &mut Lowering, node: usize, v: Elem, p: f64) -> Elem {
    match p {
        0.0 => Elem::Const(1.0),
        1.0 => v,
        2.0 => product(l, node, v, v),
        3.0 => {
            let sq = product(l, node, v, v);
            product(l, node, sq, v)
        }
        4.0 => {
            let sq = product(l, node, v, v);
            product(l, node, sq, sq)
        }
        -1.0 => signed_quotient(l, node, Elem::Const(1.0), v),
        0.5 => l.activated(node, Affine::of(v), Activation::Lut(LutFn::Sqrt)),
        -0.5 => l.activated(node, Affine::of(v), Activation::Lut(LutFn::Rsqrt)),
        p => l.activated(node, Affine::of(v), Activation::Lut(LutFn::pow(p))),
    }
}

/// The softmax groups: one axis (default −1) from opset 13 on, every axis
/// from `axis` (default 1) before.
pub(super) fn softmax_groups(
    l: &Lowering,
    n: &NodeCtx,
    x: &Sym,
) -> Result<Vec<Vec<usize>>, ModelError> {
    let rank = x.shape().len();
    // Before opset 13 the op flattens every axis from `axis` (default 1) on.
    let axes: Vec<usize> = if l.opset() < 13 {
        (n.axis_attr(1, rank)?..rank).collect()
    } else {
        vec![n.axis_attr(-1, rank)?]
    };
    Ok(super::window::reduce_groups(x.shape(), &axes, true).1)
}

/// For each group: its max `m`, `e_i = exp(x_i − m)` and `Σ e_i`. A
/// masked entry (a constant −∞, see [`super::masked`]) has `e_i = 0` and
/// takes no part in the max, so an attention mask costs nothing.
fn shifted_exps(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    group: &[usize],
) -> (Elem, Vec<Elem>, Elem) {
    let items: Vec<Elem> = group.iter().map(|&i| resolve(l, elem(x, i))).collect();
    let is_masked = |e: &Elem| matches!(e, Elem::Const(c) if *c == f64::NEG_INFINITY);
    let live: Vec<Elem> = items.iter().copied().filter(|e| !is_masked(e)).collect();
    let m = if live.is_empty() {
        Elem::Const(0.0)
    } else {
        extreme(l, n.index, &live, 1.0)
    };
    let exps: Vec<Elem> = items
        .iter()
        .map(|&v| match is_masked(&v) {
            true => Elem::Const(0.0),
            false => l.activated(n.index, Affine::diff(v, m), Activation::Lut(LutFn::Exp)),
        })
        .collect();
    let mut sum = Affine::default();
    for &e in &exps {
        sum.add_scaled(&Affine::of(e), 1.0);
    }
    let sum = l.element(n.index, sum);
    (m, exps, sum)
}

pub(super) fn softmax(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let mut elems = vec![Elem::Const(0.0); numel(x.shape())];
    for group in softmax_groups(l, n, &x)? {
        let (_, exps, sum) = shifted_exps(l, n, &x, &group);
        for (&i, e) in group.iter().zip(exps) {
            elems[i] = quotient(l, n.index, e, sum);
        }
    }
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `x_i − m − log Σ exp(x_j − m)`.
pub(super) fn log_softmax(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let groups = softmax_groups(l, n, &x)?;
    log_softmax_groups(l, n, &x, groups)
}

/// The log-softmax of `x` over axis `axis`.
pub(super) fn log_softmax_over(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    axis: usize,
) -> Result<Sym, ModelError> {
    let groups = super::window::reduce_groups(x.shape(), &[axis], true).1;
    log_softmax_groups(l, n, x, groups)
}

fn log_softmax_groups(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    groups: Vec<Vec<usize>>,
) -> Result<Sym, ModelError> {
    let x = x.clone();
    let mut elems = vec![Elem::Const(0.0); numel(x.shape())];
    for group in groups {
        let (m, _, sum) = shifted_exps(l, n, &x, &group);
        let log_fn = LutFn::log_of_exp_sum(group.len());
        let log_sum = l.activated(n.index, Affine::of(sum), Activation::Lut(log_fn));
        for &i in &group {
            if resolve(l, elem(&x, i)) == Elem::Const(f64::NEG_INFINITY) {
                elems[i] = Elem::Const(f64::NEG_INFINITY);
                continue;
            }
            let mut form = Affine::diff(elem(&x, i), m);
            form.add_scaled(&Affine::of(log_sum), -1.0);
            elems[i] = l.element(n.index, form);
        }
    }
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `γ·(relu(x) + α·(exp(x − relu(x)) − 1))`: ELU (γ = 1) and SELU. The
/// table input `min(x, 0)` is never positive, so exp stays in (0, 1].
fn elu_like(l: &mut Lowering, n: &NodeCtx, alpha: f64, gamma: f64) -> Result<Sym, ModelError> {
    scaled_elu(l, n, alpha, gamma, 1.0)
}

/// `γ·(relu(x) + α·(exp((x − relu(x))/θ) − 1))`: ELU and SELU (θ = 1),
/// CELU (γ = 1, θ = α).
fn scaled_elu(
    l: &mut Lowering,
    n: &NodeCtx,
    alpha: f64,
    gamma: f64,
    theta: f64,
) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let elems = (0..numel(x.shape()))
        .map(|o| match resolve(l, elem(&x, o)) {
            Elem::Const(c) => Elem::Const(
                gamma
                    * if c > 0.0 {
                        c
                    } else {
                        alpha * (c / theta).exp_m1()
                    },
            ),
            Elem::Val(id) => {
                let r = l.neuron(n.index, Affine::of(Elem::Val(id)), Activation::Relu);
                let e = l.neuron(
                    n.index,
                    Affine {
                        terms: vec![(id, 1.0 / theta), (r, -1.0 / theta)],
                        bias: 0.0,
                    },
                    Activation::Lut(LutFn::Exp),
                );
                l.element(
                    n.index,
                    Affine {
                        terms: vec![(r, gamma), (e, gamma * alpha)],
                        bias: -gamma * alpha,
                    },
                )
            }
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

pub(super) fn celu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let alpha = n.attr_float("alpha", 1.0) as f64;
    if alpha == 0.0 {
        return Err(n.err("alpha must not be 0"));
    }
    scaled_elu(l, n, alpha, 1.0, alpha)
}

/// `x · max(0, min(1, x/6 + 1/2))`: the clamp (two ReLUs) times x.
pub(super) fn hard_swish(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let v = resolve(l, elem(&x, o));
            let mut form = Affine::of(v).times(1.0 / 6.0);
            form.bias += 0.5;
            let gate = l.element(n.index, form);
            let gate = clamp(l, n.index, gate, Some(0.0), Some(1.0), false);
            product(l, n.index, v, gate)
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `x` where `x > α`, else 0: x times the step `[x > α]`.
pub(super) fn thresholded_relu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let alpha = n.attr_float("alpha", 1.0) as f64;
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let v = resolve(l, elem(&x, o));
            let below = l.activated(
                n.index,
                Affine::diff(Elem::Const(alpha), v),
                Activation::Step,
            );
            let above = l.element(n.index, Affine::diff(Elem::Const(1.0), below));
            product(l, n.index, v, above)
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

pub(super) fn elu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    elu_like(l, n, n.attr_float("alpha", 1.0) as f64, 1.0)
}

pub(super) fn selu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let alpha = n.attr_float("alpha", 1.673_263_2) as f64;
    let gamma = n.attr_float("gamma", 1.050_701) as f64;
    elu_like(l, n, alpha, gamma)
}

/// The `post_transform` of the `ai.onnx.ml` classifiers and regressors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum PostTransform {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
}

impl PostTransform {
    pub(super) fn parse(n: &NodeCtx) -> Result<PostTransform, ModelError> {
        Ok(match n.attr_str("post_transform", "NONE").as_str() {
            "NONE" => PostTransform::None,
            "SOFTMAX" => PostTransform::Softmax,
            "LOGISTIC" => PostTransform::Logistic,
            "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
            other => return Err(n.err(format!("post_transform {other} is not supported (NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO are)"))),
        })
    }
}

/// `scores` after `post`: as they are, a softmax (SOFTMAX_ZERO: entries
/// that are exactly 0 stay 0, which for fixed-point scores means the
/// constant zeros), or a logistic of each.
pub(super) fn normalize_scores(
    l: &mut Lowering,
    node: usize,
    scores: &[Elem],
    post: PostTransform,
) -> Vec<Elem> {
    match post {
        PostTransform::None => scores.to_vec(),
        PostTransform::Logistic => scores
            .iter()
            .map(|&s| l.activated(node, Affine::of(s), Activation::Lut(LutFn::Sigmoid)))
            .collect(),
        PostTransform::Softmax | PostTransform::SoftmaxZero => {
            let zero_stays = post == PostTransform::SoftmaxZero;
            let live: Vec<Elem> = scores
                .iter()
                .map(|&s| resolve(l, s))
                .filter(|e| !(zero_stays && *e == Elem::Const(0.0)))
                .collect();
            if live.is_empty() {
                return scores.to_vec();
            }
            let m = extreme(l, node, &live, 1.0);
            let exps: Vec<Option<Elem>> = scores
                .iter()
                .map(|&s| match zero_stays && resolve(l, s) == Elem::Const(0.0) {
                    true => None,
                    false => {
                        Some(l.activated(node, Affine::diff(s, m), Activation::Lut(LutFn::Exp)))
                    }
                })
                .collect();
            let mut sum = Affine::default();
            for e in exps.iter().flatten() {
                sum.add_scaled(&Affine::of(*e), 1.0);
            }
            let sum = l.element(node, sum);
            exps.into_iter()
                .map(|e| e.map_or(Elem::Const(0.0), |e| quotient(l, node, e, sum)))
                .collect()
        }
    }
}
