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

use crate::model::{Neuron, Program, Value};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantParams {
    /// Activations (and inputs/outputs) are multiplied by 2^scale_bits.
    pub scale_bits: u32,
    /// Weights are multiplied by 2^weight_bits; the rescale divides by it.
    pub weight_bits: u32,
    /// Activations must fit in this many signed bits.
    pub range_bits: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    #[error("value {value} at node '{node}' leaves the calibrated range [{lo}, {hi}] (input out of range? recompile with --calibrate on more inputs or a smaller --scale)")]
    OutOfRange { node: String, value: f64, lo: f64, hi: f64 },
    #[error("input #{index} = {value} leaves the calibrated range [{lo}, {hi}]")]
    InputOutOfRange { index: usize, value: f64, lo: f64, hi: f64 },
    #[error("weight {weight} at node '{node}' is too large for fixed point at 2^{bits}")]
    WeightTooLarge { node: String, weight: f64, bits: u32 },
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
    let limit = (MAX_WEIGHT_BITS as f64).exp2();
    let fixed = |v: f64, scale: f64, node: usize| -> Result<i64, QuantError> {
        let r = (v * scale).round();
        if !r.is_finite() || r.abs() >= limit {
            return Err(QuantError::WeightTooLarge { node: program.nodes[node].clone(), weight: v, bits: q.weight_bits });
        }
        Ok(r as i64)
    };
    let values = program
        .values
        .iter()
        .map(|v| match v {
            Value::Input(i) => Ok(Value::Input(*i)),
            Value::Neuron(n) => {
                let terms = n
                    .terms
                    .iter()
                    .map(|(id, w)| Ok((*id, fixed(*w, w_scale, n.node)?)))
                    .filter(|t| !matches!(t, Ok((_, 0))))
                    .collect::<Result<Vec<_>, QuantError>>()?;
                let bias = fixed(n.bias, b_scale, n.node)? + half;
                Ok(Value::Neuron(Neuron { terms, bias, act: n.act, node: n.node }))
            }
        })
        .collect::<Result<Vec<_>, QuantError>>()?;
    Ok(Program {
        values,
        num_inputs: program.num_inputs,
        outputs: program.outputs.clone(),
        input_shape: program.input_shape.clone(),
        output_shape: program.output_shape.clone(),
        nodes: program.nodes.clone(),
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
}

pub fn neuron_step(n: &Neuron<i64>, vals: &[i64], q: &QuantParams) -> NeuronWitness {
    let acc = n.terms.iter().map(|(id, w)| *w as i128 * vals[*id] as i128).sum::<i128>() + n.bias as i128;
    let y = acc.div_euclid(1i128 << q.weight_bits) - q.half_range() as i128;
    let y = y.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    NeuronWitness { acc, y, out: n.act.apply_i64(y) }
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
    qp.eval_with(input, |n, vals| {
        let w = neuron_step(n, vals, q);
        if !w.in_range(q) {
            return Err(QuantError::OutOfRange {
                node: qp.nodes[n.node].clone(),
                value: q.dequantize(w.y),
                lo: q.dequantize(lo),
                hi: q.dequantize(hi),
            });
        }
        Ok(w.out)
    })
}

/// Largest |value| the float program produces on these inputs, counting
/// inputs and every neuron's pre-activation (which the circuit range-checks).
pub fn max_abs_activation(program: &Program<f64>, inputs: &[Vec<f64>]) -> f64 {
    let mut max = 0f64;
    for input in inputs {
        max = input.iter().fold(max, |m, v| m.max(v.abs()));
        let _ = program.eval_with(input, |n: &Neuron<f64>, vals: &[f64]| {
            let pre = n.terms.iter().map(|(id, w)| w * vals[*id]).sum::<f64>() + n.bias;
            max = max.max(pre.abs());
            Ok::<_, std::convert::Infallible>(n.act.apply_f64(pre))
        });
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;

    #[test]
    fn rescale_rounds_half_up_and_floors_negatives() {
        let q = QuantParams { scale_bits: 4, weight_bits: 4, range_bits: 6 };
        // bias = rounding 8 + range offset 32·16
        let n = Neuron { terms: vec![(0, 3)], bias: 8 + (32 << 4), act: Activation::Identity, node: 0 };
        // 3 * 5 + 8 = 23 -> floor(23/16) = 1
        assert_eq!(neuron_step(&n, &[5], &q).y, 1);
        // -15 + 8 = -7 -> floor(-7/16) = -1
        assert_eq!(neuron_step(&n, &[-5], &q).y, -1);
        let relu = Neuron { act: Activation::Relu, ..n.clone() };
        assert_eq!(neuron_step(&relu, &[-5], &q).out, 0);
        // 3 * 11 + 8 = 41 -> y = 2 at the edge: in range; 3 * 200 far out.
        assert!(neuron_step(&n, &[11], &q).in_range(&q));
        assert!(!neuron_step(&n, &[200], &q).in_range(&q));
        assert!(!neuron_step(&n, &[-200], &q).in_range(&q));
    }
}
