//! Finer exp and log tables for models whose activation range is wide.
//!
//! A table reads the top `lut_bits` of a value's range, so its input steps
//! `2^(range_bits − lut_bits)` quanta whatever the function. Where the range
//! must hold large values (inputs near 10⁴ leave 6 fractional bits in a
//! 20-bit range), an exp or a log reads its input in steps of 0.25 even at
//! 2^16 rows, and a log-softmax misses its tolerance. Two functions only
//! matter on a short interval:
//!
//! - `exp` rounds to 0 below `−(s + 2)·ln 2` and saturates above
//!   `(r − s)·ln 2` (scale `2^s`, range `r` bits). Clamping its argument to
//!   that interval changes no fixed-point output; the clamped argument then
//!   fits `2^g` times over in the range, and the table reads it at that gain
//!   (`exp(x / 2^g)` of `2^g·x`), `2^g` times finer.
//! - the log of a softmax's sum: `Σ exp(x_i − max)` lies in `[1, n]` by
//!   construction ([`LutFn::LogOfSum`] carries the bound), so it needs no
//!   clamp and is read at a gain the same way.
//!
//! The gain `g` keeps every new value below `2^m`, where `m` is the bit
//! length of the largest calibrated activation (`range_bits − 1 −
//! scale_bits − headroom`), so narrowing never widens the range and the
//! compiled scale and range are those of the program before it. That is
//! what lets `Compiled::load` redo it from the stored settings.
//!
//! It costs three neurons per exp (the argument, and two ReLUs for the
//! clamp), so calibration narrows only where the plain tables miss the
//! accuracy target or need more rows (`compile::calibrate_quant`).

use super::program::{Activation, LutFn, Neuron, Program, Value, ValueId};

/// The scale and range a program is narrowed for.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub scale_bits: u32,
    pub range_bits: u32,
    /// Every calibrated activation is below `2^magnitude_bits`.
    pub magnitude_bits: u32,
}

/// Whether `p` has a table [`narrowed`] could read at a gain.
pub fn has_candidates(p: &Program<f64>) -> bool {
    p.neurons()
        .any(|(_, n)| matches!(n.act, Activation::Lut(LutFn::Exp | LutFn::LogOfSum(_))))
}

/// `p` as compiled: narrowed where calibration chose it.
pub fn in_context(
    p: &Program<f64>,
    narrow: bool,
    c: Context,
) -> std::borrow::Cow<'_, Program<f64>> {
    match narrow {
        true => std::borrow::Cow::Owned(narrowed(p, c)),
        false => std::borrow::Cow::Borrowed(p),
    }
}

/// `p` with every exp clamped and read at a gain, and every log of a
/// softmax sum read at a gain, wherever a gain of 2 or more fits.
pub fn narrowed(p: &Program<f64>, c: Context) -> Program<f64> {
    let (exp_clamp, exp_bits) = exp_bound(c);
    let exp_gain = gain(c, exp_bits);
    let mut values: Vec<Value<f64>> = Vec::with_capacity(p.values.len());
    let mut new_id: Vec<ValueId> = Vec::with_capacity(p.values.len());
    for v in &p.values {
        let id = match v.map_ids(|t| new_id[t]) {
            Value::Neuron(n) => {
                let log_gain = match n.act {
                    Activation::Lut(LutFn::LogOfSum(b)) => gain(c, b),
                    _ => None,
                };
                match (n.act, exp_gain, log_gain) {
                    (Activation::Lut(LutFn::Exp), Some(g), _) => {
                        clamped_exp(&mut values, n, exp_clamp, g)
                    }
                    (_, _, Some(g)) => {
                        let n = scaled(n, g, Activation::Lut(LutFn::LogGained(g)));
                        push(&mut values, Value::Neuron(n))
                    }
                    _ => push(&mut values, Value::Neuron(n)),
                }
            }
            other => push(&mut values, other),
        };
        new_id.push(id);
    }
    p.with_values(values, &new_id)
}

/// The interval outside which exp's fixed-point value cannot change
/// (`[lo, hi]`), and the bits `b` with `max(|lo|, |hi|) < 2^b`.
fn exp_bound(c: Context) -> ((f64, f64), u8) {
    let ln2 = std::f64::consts::LN_2;
    // exp(lo)·2^s = 1/4 rounds to 0; exp(hi)·2^s = 2^r is past the range.
    let lo = -f64::from(c.scale_bits + 2) * ln2;
    let hi = f64::from(c.range_bits.saturating_sub(c.scale_bits)) * ln2;
    let b = lo.abs().max(hi).log2().floor() as u8 + 1;
    ((lo, hi), b)
}

/// The gain for an input below `2^b`: the largest keeping `2^g·x` below
/// `2^magnitude_bits`, if any (at least 1: a table twice as fine).
fn gain(c: Context, b: u8) -> Option<u8> {
    let g = c.magnitude_bits.checked_sub(u32::from(b))?;
    (g >= 1).then_some(g as u8)
}

fn push(values: &mut Vec<Value<f64>>, v: Value<f64>) -> ValueId {
    values.push(v);
    values.len() - 1
}

/// `n` with every weight and its bias multiplied by `2^g`, computing `act`.
fn scaled(n: Neuron<f64>, g: u8, act: Activation) -> Neuron<f64> {
    let k = f64::from(g).exp2();
    Neuron {
        terms: n.terms.into_iter().map(|(v, w)| (v, w * k)).collect(),
        products: n
            .products
            .into_iter()
            .map(|(a, b, w)| (a, b, w * k))
            .collect(),
        bias: n.bias * k,
        act,
        node: n.node,
    }
}

/// `exp(clamp(x, lo, hi))` for `n`'s pre-activation `x`, read at gain `g`:
/// `clamp = x − 8·relu((x − hi)/8) + 8·relu((lo − x)/8)`. The ReLUs read
/// `x` divided by 8 so that, however large `x` is, they stay inside the
/// calibrated magnitude; their rounding (8 quanta at most) lands where exp
/// is flat (0 or saturated).
fn clamped_exp(
    values: &mut Vec<Value<f64>>,
    n: Neuron<f64>,
    (lo, hi): (f64, f64),
    g: u8,
) -> ValueId {
    let node = n.node;
    let x = push(
        values,
        Value::Neuron(Neuron {
            act: Activation::Identity,
            ..n
        }),
    );
    let mut relu = |w: f64, edge: f64| {
        let r = Neuron::affine(vec![(x, w / 8.0)], -w * edge / 8.0, Activation::Relu, node);
        push(values, Value::Neuron(r))
    };
    let above = relu(1.0, hi);
    let below = relu(-1.0, lo);
    let clamp = Neuron::affine(
        vec![(x, 1.0), (above, -8.0), (below, 8.0)],
        0.0,
        Activation::Identity,
        node,
    );
    let e = scaled(clamp, g, Activation::Lut(LutFn::ExpGained(g)));
    push(values, Value::Neuron(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: Context = Context {
        scale_bits: 6,
        range_bits: 20,
        magnitude_bits: 12,
    };

    fn exp_of(bias: f64) -> Program<f64> {
        Program {
            values: vec![
                Value::Input(0),
                Value::Input(1),
                Value::Neuron(Neuron::affine(
                    vec![(0, 1.0)],
                    bias,
                    Activation::Lut(LutFn::Exp),
                    0,
                )),
                // A sum the lowering bounds below 2^3.
                Value::Neuron(Neuron::affine(
                    vec![(1, 1.0)],
                    0.0,
                    Activation::Lut(LutFn::LogOfSum(3)),
                    0,
                )),
            ],
            num_inputs: 2,
            outputs: vec![2, 3],
            input_shapes: vec![vec![1], vec![1]],
            output_shapes: vec![vec![1], vec![1]],
            nodes: vec!["f".into()],
            copies: 1,
        }
    }

    #[test]
    fn narrowing_changes_no_value_on_any_input() {
        let (plain, narrow) = (exp_of(-0.5), narrowed(&exp_of(-0.5), WIDE));
        assert!(narrow.values.len() > plain.values.len(), "exp is rewritten");
        for x in [-9000.0, -40.0, -5.0, -1.25, 0.0, 1.5, 6.0] {
            let (a, b) = (plain.eval_f64(&[x, 1.0]), narrow.eval_f64(&[x, 1.0]));
            let (ea, eb) = (a[plain.outputs[0]], b[narrow.outputs[0]]);
            // Outside the clamp exp is below 2^-8 (rounds to 0 at 2^6).
            if (-5.5..9.7).contains(&(x - 0.5)) {
                assert!((ea - eb).abs() < 1e-9, "exp at {x}: {ea} vs {eb}");
            } else {
                assert!(
                    eb < 2f64.powi(-7) || ea >= 2f64.powi(13),
                    "clamped exp at {x}: {eb}"
                );
            }
        }
        let (a, b) = (plain.eval_f64(&[0.0, 7.9]), narrow.eval_f64(&[0.0, 7.9]));
        assert!(
            (a[plain.outputs[1]] - b[narrow.outputs[1]]).abs() < 1e-9,
            "log"
        );
    }

    #[test]
    fn every_pre_activation_stays_inside_the_calibrated_magnitude() {
        let narrow = narrowed(&exp_of(0.0), WIDE);
        let limit = 2f64.powi(WIDE.magnitude_bits as i32);
        for x in [-4000.0, -3.0, 0.0, 3.0, 4000.0] {
            let vals = narrow.eval_f64(&[x, 7.99]);
            // A neuron's range check holds its pre-activation.
            for (id, n) in narrow.neurons() {
                let pre = n.terms.iter().map(|&(t, w)| w * vals[t]).sum::<f64>() + n.bias;
                assert!(pre.abs() < limit, "value {id} at {x}: {pre}");
            }
        }
    }

    #[test]
    fn a_narrow_range_leaves_the_tables_alone() {
        let narrow = Context {
            magnitude_bits: 4,
            ..WIDE
        };
        let p = exp_of(0.0);
        assert_eq!(narrowed(&p, narrow).values.len(), p.values.len());
    }
}
