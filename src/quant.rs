//! Fixed-point quantization: scales, calibration and the integer forward
//! pass whose every intermediate is a circuit witness.
//!
//! Activations are integers at scale `2^scale_bits`; weights at
//! `2^weight_bits`; a neuron's accumulator is at `2^(scale+weight)` and is
//! rescaled back by floor division with rounding:
//! `y = floor((Σ w·x + b + 2^(weight_bits-1)) / 2^weight_bits)`.
//! Every `y` must lie in `[-2^(range_bits-1), 2^(range_bits-1))`. The
//! circuit checks both at once: with the offset `2^(range_bits-1)·2^weight_bits`
//! folded into the bias, the accumulator must be a `range_bits+weight_bits`
//! bit number whose top bits are `y + 2^(range_bits-1)`.

use crate::model::{Activation, LutFn, Neuron, Program, QuotientKind, Value, ValueId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantParams {
    /// Activations (and inputs/outputs) are multiplied by 2^scale_bits.
    pub scale_bits: u32,
    /// Weights are multiplied by 2^weight_bits; the rescale divides by it.
    pub weight_bits: u32,
    /// Activations must fit in this many signed bits.
    pub range_bits: u32,
    /// Index bits of a function table: the table reads the top `lut_bits`
    /// of a value's `range_bits` (all of them when the range is smaller).
    #[serde(default = "default_lut_bits")]
    pub lut_bits: u32,
}

/// Table index bits when calibration sets none: 2^12 rows per function.
pub const DEFAULT_LUT_BITS: u32 = 12;

fn default_lut_bits() -> u32 {
    DEFAULT_LUT_BITS
}

#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    #[error("value {value} at node '{node}' leaves the calibrated range [{lo}, {hi}] (input out of range? recompile with --calibrate on more inputs or a smaller --scale)")]
    OutOfRange {
        node: String,
        value: f64,
        lo: f64,
        hi: f64,
    },
    #[error("input #{index} = {value} leaves the calibrated range [{lo}, {hi}]")]
    InputOutOfRange {
        index: usize,
        value: f64,
        lo: f64,
        hi: f64,
    },
    #[error("weight {weight} at node '{node}' is too large for fixed point at 2^{bits}")]
    WeightTooLarge {
        node: String,
        weight: f64,
        bits: u32,
    },
    #[error("node '{node}' multiplies two activations: that needs --weight-bits >= the activation scale ({scale_bits}), got {weight_bits}")]
    ProductPrecision {
        node: String,
        scale_bits: u32,
        weight_bits: u32,
    },
    #[error("divisor {value} at node '{node}' is not allowed: a divisor must be non-zero, and positive where the model builds it positive (a softmax's sum)")]
    Divisor { node: String, value: f64 },
    #[error("{node}: {value} is not a whole number, as the input's integer type requires")]
    NotWhole { node: String, value: f64 },
    #[error("square root of {value} at node '{node}': the radicand must not be negative")]
    NegativeRadicand { node: String, value: f64 },
    #[error(
        "node '{node}': an integer quotient may only be read by neuron terms (a lowering bug)"
    )]
    Unscaled { node: String },
}

impl QuantParams {
    pub fn scale(&self) -> f64 {
        (self.scale_bits as f64).exp2()
    }
    pub fn range(&self) -> (i64, i64) {
        let half = self.half_range();
        (-half, half - 1)
    }
    /// `2^(range_bits-1)`: the offset that makes activations non-negative.
    pub fn half_range(&self) -> i64 {
        1i64 << (self.range_bits - 1)
    }
    /// Public inputs and outputs are encoded as `v + 2^(range_bits-1) + 1`:
    /// always in `[1, 2^range_bits]` for in-range values, so positive,
    /// order-preserving under unsigned comparison, cheap in calldata, and
    /// never zero (the circuit relies on that; verifiers reject 0).
    pub fn public_offset(&self) -> i64 {
        self.half_range() + 1
    }
    /// Bits of a neuron's offset accumulator: range + weight bits.
    pub fn chain_bits(&self) -> u32 {
        self.range_bits + self.weight_bits
    }
    pub fn quantize_input(&self, x: f64) -> i64 {
        (x * self.scale()).round() as i64
    }
    pub fn dequantize(&self, v: i64) -> f64 {
        v as f64 / self.scale()
    }
    /// Low bits of `y + H` a table ignores: its index is `(y + H) >> shift`.
    pub fn lut_shift(&self) -> u32 {
        self.range_bits - self.lut_bits.min(self.range_bits)
    }
    /// Rows of one function's table.
    pub fn lut_len(&self) -> usize {
        1usize << (self.range_bits - self.lut_shift())
    }
    /// Entry `index` of `f`'s table: `f` at the centre of the bucket of
    /// `y` values sharing that index, rounded to the activation scale and
    /// saturated to the range (so ±∞ and NaN land on an end or zero).
    pub fn lut_entry(&self, f: LutFn, index: usize) -> i64 {
        let shift = self.lut_shift();
        let bucket_mid = ((1i64 << shift) - 1) as f64 / 2.0;
        let y = ((index as i64) << shift) as f64 + bucket_mid - self.half_range() as f64;
        let v = f.apply(y / self.scale()) * self.scale();
        let (lo, hi) = self.range();
        if v.is_nan() {
            0
        } else {
            v.round().clamp(lo as f64, hi as f64) as i64
        }
    }
    /// `act(y)` in fixed point; `y` must be in range for a table function.
    pub fn activate(&self, act: Activation, y: i64) -> i64 {
        match act {
            Activation::Identity | Activation::NonNeg => y,
            Activation::Relu => y.max(0),
            Activation::Step => ((y >= 0) as i64) << self.scale_bits,
            Activation::Lut(f) => {
                self.lut_entry(f, ((y + self.half_range()) >> self.lut_shift()) as usize)
            }
        }
    }
}

/// Weight precision when the user sets none: weights are multiples of
/// 2^-10. Lowerings that would round a weight badly at this precision (an
/// average's 1/n, say) restructure instead.
pub const DEFAULT_WEIGHT_BITS: u32 = 10;

/// Largest |weight| we accept in fixed point; keeps accumulators far from
/// the field modulus and inside i128 witness arithmetic.
const MAX_WEIGHT_BITS: u32 = 62;

/// The float program with weights and biases in fixed point. The rounding
/// offset `2^(weight_bits-1)` and the range offset
/// `2^(range_bits-1)·2^weight_bits` are folded into every bias.
pub fn quantize(program: &Program<f64>, q: &QuantParams) -> Result<Program<i64>, QuantError> {
    let w_scale = (q.weight_bits as f64).exp2();
    let b_scale = ((q.scale_bits + q.weight_bits) as f64).exp2();
    let half = (1i64 << (q.weight_bits - 1)) + (q.half_range() << q.weight_bits);
    let p_scale = (q.weight_bits as f64 - q.scale_bits as f64).exp2();
    let limit = (MAX_WEIGHT_BITS as f64).exp2();
    // A floor quotient holds a plain integer: what reads it scales it up.
    let unscaled = |id: ValueId| matches!(program.values[id], Value::Quotient { kind, .. } if kind.is_unscaled());
    let reader_scale = |id: ValueId| if unscaled(id) { q.scale() } else { 1.0 };
    if let Some(&id) = program.outputs.iter().find(|&&id| unscaled(id)) {
        return Err(QuantError::Unscaled {
            node: program.nodes[program.node_of(id).unwrap_or(0)].clone(),
        });
    }
    let fixed = |v: f64, scale: f64, node: usize| -> Result<i64, QuantError> {
        let r = (v * scale).round();
        if !r.is_finite() || r.abs() >= limit {
            return Err(QuantError::WeightTooLarge {
                node: program.nodes[node].clone(),
                weight: v,
                bits: q.weight_bits,
            });
        }
        Ok(r as i64)
    };
    let values = program
        .values
        .iter()
        .map(|v| match v {
            Value::Neuron(n) => {
                if !n.products.is_empty() && q.weight_bits < q.scale_bits {
                    return Err(QuantError::ProductPrecision {
                        node: program.nodes[n.node].clone(),
                        scale_bits: q.scale_bits,
                        weight_bits: q.weight_bits,
                    });
                }
                // a·b is at scale 2^(2s); the accumulator at 2^(s+wb).
                let products = n
                    .products
                    .iter()
                    .map(|(a, b, w)| {
                        let scale = p_scale * reader_scale(*a) * reader_scale(*b);
                        Ok((*a, *b, fixed(*w, scale, n.node)?))
                    })
                    .filter(|t| !matches!(t, Ok((_, _, 0))))
                    .collect::<Result<Vec<_>, QuantError>>()?;
                let terms = n
                    .terms
                    .iter()
                    .map(|(id, w)| Ok((*id, fixed(*w, w_scale * reader_scale(*id), n.node)?)))
                    .filter(|t| !matches!(t, Ok((_, 0))))
                    .collect::<Result<Vec<_>, QuantError>>()?;
                // A constant that saturates (an attention mask's −∞ read
                // by something other than a softmax) is the range's end.
                let bias = match n.terms.is_empty()
                    && n.products.is_empty()
                    && crate::model::ops::masked(n.bias).is_some()
                {
                    true => {
                        (if n.bias < 0.0 {
                            -q.half_range()
                        } else {
                            q.half_range() - 1
                        } << q.weight_bits)
                            + half
                    }
                    false => fixed(n.bias, b_scale, n.node)? + half,
                };
                Ok(Value::Neuron(Neuron {
                    terms,
                    products,
                    bias,
                    act: n.act,
                    node: n.node,
                }))
            }
            // Checked values read their operands as they are, so none may
            // be an unscaled floor quotient.
            checked => match checked.reads().into_iter().any(unscaled) {
                true => Err(QuantError::Unscaled {
                    node: program.nodes[checked.node().unwrap_or(0)].clone(),
                }),
                false => Ok(checked.without_weights()),
            },
        })
        .collect::<Result<Vec<_>, QuantError>>()?;
    Ok(Program {
        values,
        num_inputs: program.num_inputs,
        outputs: program.outputs.clone(),
        input_shapes: program.input_shapes.clone(),
        output_shapes: program.output_shapes.clone(),
        nodes: program.nodes.clone(),
        copies: program.copies,
    })
}

/// The intermediate values of one neuron, as the circuit lays them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeuronWitness {
    /// Accumulator including bias and both offsets; in range it is a
    /// `chain_bits`-bit non-negative number.
    pub acc: i128,
    /// Rescaled pre-activation: floor(acc / 2^weight_bits) - 2^(range_bits-1).
    pub y: i64,
    /// act(y).
    pub out: i64,
}

impl NeuronWitness {
    pub fn in_range(&self, q: &QuantParams) -> bool {
        self.acc >= 0 && self.acc < 1i128 << q.chain_bits()
    }

    /// In range, and non-negative where the activation asserts it.
    pub fn holds(&self, act: Activation, q: &QuantParams) -> bool {
        self.in_range(q) && (act != Activation::NonNeg || self.y >= 0)
    }
}

pub fn neuron_step(n: &Neuron<i64>, vals: &[i64], q: &QuantParams) -> NeuronWitness {
    let acc = n
        .terms
        .iter()
        .map(|(id, w)| *w as i128 * vals[*id] as i128)
        .sum::<i128>()
        + n.products
            .iter()
            .map(|(a, b, w)| *w as i128 * vals[*a] as i128 * vals[*b] as i128)
            .sum::<i128>()
        + n.bias as i128;
    let y = acc.div_euclid(1i128 << q.weight_bits) - q.half_range() as i128;
    let y = y.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    let mut w = NeuronWitness { acc, y, out: y };
    // Out of range a table has no entry; the witness is refused anyway.
    if w.in_range(q) {
        w.out = q.activate(n.act, y);
    }
    w
}

/// The quotient `kind` defines, for a positive `den` (`S = 2^scale`):
/// `Scaled` is `round(num / den)` at the activation scale, half up,
/// `floor((2·num·S + den) / (2·den))`; `Floor` is `floor(num / den)`.
pub fn quotient(num: i64, den: i64, kind: QuotientKind, q: &QuantParams) -> i64 {
    let (n, d) = (num as i128, den as i128);
    match kind {
        QuotientKind::Scaled => ((2 * n * (1i128 << q.scale_bits) + d).div_euclid(2 * d)) as i64,
        QuotientKind::Floor | QuotientKind::Exact => n.div_euclid(d) as i64,
    }
}

/// The radicand of a [`Value::Root`] at the scale `S²` (`S = 2^scale`):
/// `V = Σ Rᵢ² + S·X`, so that `√V` is the root at the activation scale.
pub fn root_radicand(squares: &[i64], linear: Option<i64>, q: &QuantParams) -> i128 {
    let sum: i128 = squares.iter().map(|&r| r as i128 * r as i128).sum();
    sum + linear.map_or(0, |x| (x as i128) << q.scale_bits)
}

/// The three neurons that prove `Y = ⌊√V⌋`, `V = Σ Rᵢ² + S·X` (see
/// [`root_radicand`]), for the value `yid` holding `Y` (`H·W` the range
/// offset at the accumulator scale):
///
/// ```text
/// range: W·Y + W/2 + H·W               identity: Y is an in-range value
/// low:   H·W + Σ Rᵢ² + S·X − Y²             ≥ H·W   (Y² ≤ V)
/// high:  H·W − Σ Rᵢ² − S·X + Y² + 2·Y       ≥ H·W   (V < (Y + 1)²)
/// ```
/// Together `Y² ≤ V < (Y + 1)²`, which no negative `Y` meets (`Y² >
/// (Y + 1)²` there), so `Y = ⌊√V⌋` and `V ≥ 0`. Both remainders lie in
/// `[0, 2Y]`, within a chain; the running sums before them are field
/// elements below `n·2^(2·range_bits)`, far from the modulus, and with
/// every `Rᵢ`, `X` and `Y` range-checked the checks hold over the
/// integers. The range neuron plays the part it plays for quotients:
/// without it `Y` could be a field element with `Y²` small.
pub fn root_checks(
    yid: ValueId,
    squares: &[ValueId],
    linear: Option<ValueId>,
    node: usize,
    q: &QuantParams,
) -> [Neuron<i64>; 3] {
    let hw = q.half_range() << q.weight_bits;
    let s = 1i64 << q.scale_bits;
    let check = |sign: i64| {
        let mut terms: Vec<(ValueId, i64)> = linear.map(|x| (x, sign * s)).into_iter().collect();
        if sign < 0 {
            terms.push((yid, 2));
        }
        let mut products: Vec<(ValueId, ValueId, i64)> =
            squares.iter().map(|&r| (r, r, sign)).collect();
        products.push((yid, yid, -sign));
        Neuron {
            terms,
            products,
            bias: hw,
            act: Activation::NonNeg,
            node,
        }
    };
    [range_check(yid, node, q), check(1), check(-1)]
}

/// The three neurons that prove `Q = quotient(A, B, kind)` for the value
/// `qid` holding `Q` (`A = num`, `B = den`, `H·W` the range offset at the
/// accumulator scale). Both kinds bound a remainder `R = m·A + c·B − d·Q·B`
/// to `[0, d·B)`:
///
/// ```text
/// range: W·Q + W/2 + H·W                  identity: Q is an in-range value
/// low:   H·W + m·A + c·B − d·Q·B     ≥ H·W   (R ≥ 0)
/// high:  H·W − 1 − m·A + (d − c)·B + d·Q·B ≥ H·W   (R ≤ d·B − 1)
/// ```
/// `Scaled` (`m = 2S`, `c = 1`, `d = 2`, `S = 2^scale`) makes
/// `Q = floor((2SA + B) / 2B)`; `Floor` (`m = 1`, `c = 0`, `d = 1`) makes
/// `Q = floor(A / B)`. Both imply `B ≥ 1`. `Exact` is `Floor` with the
/// upper bound `R ≤ 0`: `A = Q·B`. The range neuron reads its own
/// output, so its chain bounds `Q`; without it a prover could pick a field
/// element `Q' = (m·A + c·B − R')/(d·B)` for another `R'` in range. With
/// `A`, `B`, `Q` range-checked, `R` is far below the field modulus, so the
/// checks hold over the integers.
pub fn quotient_checks(
    qid: ValueId,
    num: ValueId,
    den: ValueId,
    node: usize,
    kind: QuotientKind,
    q: &QuantParams,
) -> [Neuron<i64>; 3] {
    let hw = q.half_range() << q.weight_bits;
    let (m, c, d) = match kind {
        QuotientKind::Scaled => (2i64 << q.scale_bits, 1, 2),
        QuotientKind::Floor | QuotientKind::Exact => (1, 0, 1),
    };
    let neuron = |terms: Vec<(ValueId, i64)>, products, bias| Neuron {
        terms: terms.into_iter().filter(|t| t.1 != 0).collect(),
        products,
        bias,
        act: Activation::NonNeg,
        node,
    };
    [
        range_check(qid, node, q),
        neuron(vec![(num, m), (den, c)], vec![(qid, den, -d)], hw),
        match kind {
            // −R ≥ 0.
            QuotientKind::Exact => neuron(vec![(num, -m), (den, -c)], vec![(qid, den, d)], hw),
            // d·B − 1 − R ≥ 0.
            _ => neuron(vec![(num, -m), (den, d - c)], vec![(qid, den, d)], hw - 1),
        },
    ]
}

/// The identity neuron `W·v + W/2 + H·W` that reads the value `v` it
/// computes (the circuit copies its output into its own term), so its
/// chain proves `v` an in-range integer: the chain makes `V` a
/// `range_bits + weight_bits`-bit number and its top `range_bits` bits
/// `p`, and the gate sets `v = p − H`. A value that is no small integer
/// (a field element `X` with `W·X` small) cannot pass: the gate's output is
/// always `p − H`. Model inputs and quotients take one each: nothing else
/// bounds them.
pub fn range_check(id: ValueId, node: usize, q: &QuantParams) -> Neuron<i64> {
    let w = 1i64 << q.weight_bits;
    Neuron::affine(
        vec![(id, w)],
        w / 2 + (q.half_range() << q.weight_bits),
        Activation::Identity,
        node,
    )
}

/// The neurons the circuit lays out for value `id`; the first one's result
/// row holds the value. A neuron itself; an input's range check; a
/// quotient's three checks.
pub fn circuit_neurons(program: &Program<i64>, id: ValueId, q: &QuantParams) -> Vec<Neuron<i64>> {
    match &program.values[id] {
        // An input comes from no ONNX node; node 0 only labels the neuron
        // (the integer pass checks inputs before any neuron runs).
        Value::Input(_) => vec![range_check(id, 0, q)],
        Value::Neuron(n) => vec![n.clone()],
        Value::Quotient {
            num,
            den,
            node,
            kind,
        } => quotient_checks(id, *num, *den, *node, *kind, q).to_vec(),
        Value::Root {
            squares,
            linear,
            node,
        } => root_checks(id, squares, *linear, *node, q).to_vec(),
    }
}

/// Integer forward pass: every value of the program, range-checked the way
/// the circuit will check it, so a bad input fails here with a node name
/// instead of inside the prover.
pub fn forward(qp: &Program<i64>, q: &QuantParams, input: &[i64]) -> Result<Vec<i64>, QuantError> {
    let (lo, hi) = q.range();
    if let Some((index, &v)) = input.iter().enumerate().find(|(_, &v)| v < lo || v > hi) {
        return Err(QuantError::InputOutOfRange {
            index,
            value: q.dequantize(v),
            lo: q.dequantize(lo),
            hi: q.dequantize(hi),
        });
    }
    let out_of_range = |node: usize, y: i64| QuantError::OutOfRange {
        node: qp.nodes[node].clone(),
        value: q.dequantize(y),
        lo: q.dequantize(lo),
        hi: q.dequantize(hi),
    };
    let mut vals: Vec<i64> = Vec::with_capacity(qp.values.len());
    for (id, v) in qp.values.iter().enumerate() {
        let out = match v {
            Value::Input(i) => input[*i],
            Value::Neuron(n) => {
                let w = neuron_step(n, &vals, q);
                if !w.in_range(q) {
                    return Err(out_of_range(n.node, w.y));
                }
                w.out
            }
            Value::Quotient {
                num,
                den,
                node,
                kind,
            } => {
                if vals[*den] <= 0 {
                    return Err(QuantError::Divisor {
                        node: qp.nodes[*node].clone(),
                        value: q.dequantize(vals[*den]),
                    });
                }
                // The checks read Q itself, so it goes in before them.
                if *kind == QuotientKind::Exact && vals[*num] % vals[*den] != 0 {
                    return Err(QuantError::NotWhole {
                        node: qp.nodes[*node].clone(),
                        value: q.dequantize(vals[*num]),
                    });
                }
                vals.push(quotient(vals[*num], vals[*den], *kind, q));
                for check in quotient_checks(id, *num, *den, *node, *kind, q) {
                    let w = neuron_step(&check, &vals, q);
                    if !w.holds(check.act, q) {
                        return Err(out_of_range(*node, vals[id]));
                    }
                }
                continue;
            }
            Value::Root {
                squares,
                linear,
                node,
            } => {
                let rs: Vec<i64> = squares.iter().map(|&r| vals[r]).collect();
                let v = root_radicand(&rs, linear.map(|x| vals[x]), q);
                if v < 0 {
                    return Err(QuantError::NegativeRadicand {
                        node: qp.nodes[*node].clone(),
                        value: v as f64 / (q.scale() * q.scale()),
                    });
                }
                vals.push(v.isqrt() as i64);
                for check in root_checks(id, squares, *linear, *node, q) {
                    let w = neuron_step(&check, &vals, q);
                    if !w.holds(check.act, q) {
                        return Err(out_of_range(*node, vals[id]));
                    }
                }
                continue;
            }
        };
        vals.push(out);
    }
    Ok(vals)
}

/// Largest |value| the float program produces on these inputs, counting
/// inputs, every neuron's pre-activation (which the circuit range-checks)
/// and every output (a table's must fit the range too). Infinite and NaN
/// values (a log at zero) are left out: the tables saturate them.
pub fn max_abs_activation(program: &Program<f64>, inputs: &[Vec<f64>]) -> f64 {
    let mut max = 0f64;
    let mut see = |v: f64| {
        if v.is_finite() {
            max = max.max(v.abs())
        }
    };
    for input in inputs {
        input.iter().for_each(|&v| see(v));
        let _ = program.eval_with(input, |v, vals: &[f64]| {
            let out = match v {
                Value::Neuron(n) => {
                    let pre = n.pre_activation_f64(vals);
                    see(pre);
                    n.act.apply_f64(pre)
                }
                Value::Quotient { num, den, kind, .. } => kind.apply_f64(vals[*num], vals[*den]),
                Value::Root {
                    squares, linear, ..
                } => Value::root_f64(squares, *linear, vals),
                Value::Input(_) => unreachable!("eval_with passes only computed values"),
            };
            see(out);
            Ok::<_, std::convert::Infallible>(out)
        });
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_half_up_and_floors_negatives() {
        let q = QuantParams {
            scale_bits: 4,
            weight_bits: 4,
            range_bits: 6,
            lut_bits: DEFAULT_LUT_BITS,
        };
        // bias = rounding 8 + range offset 32·16
        let n = Neuron::affine(vec![(0, 3)], 8 + (32 << 4), Activation::Identity, 0);
        // 3 * 5 + 8 = 23 -> floor(23/16) = 1
        assert_eq!(neuron_step(&n, &[5], &q).y, 1);
        // -15 + 8 = -7 -> floor(-7/16) = -1
        assert_eq!(neuron_step(&n, &[-5], &q).y, -1);
        let relu = Neuron {
            act: Activation::Relu,
            ..n.clone()
        };
        assert_eq!(neuron_step(&relu, &[-5], &q).out, 0);
        // 3 * 11 + 8 = 41 -> y = 2 at the edge: in range; 3 * 200 far out.
        assert!(neuron_step(&n, &[11], &q).in_range(&q));
        assert!(!neuron_step(&n, &[200], &q).in_range(&q));
        assert!(!neuron_step(&n, &[-200], &q).in_range(&q));
    }
}
