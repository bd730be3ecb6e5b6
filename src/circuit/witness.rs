//! The cells of one neuron block, computed in the field from the values
//! the block reads.
//!
//! The integer forward pass (`quant::forward`) decides what an honest
//! prover computes. The circuit, though, is assigned from field elements,
//! so that a test can hand it any value a cheating prover might claim (an
//! input that is no small integer, say) and have every cell downstream
//! recomputed consistently from it: the only constraint left failing is
//! then the one that binds that value. For honest values the two agree.

use super::fe;
use crate::model::{Activation, Neuron};
use crate::quant::QuantParams;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use num_bigint::BigUint;

/// One multiply row of a block: what `x` (and `x2`) hold and the running
/// sum `acc` after it.
#[derive(Clone, Debug)]
pub struct MulRow {
    pub x: Fr,
    pub x2: Option<Fr>,
    pub acc: Fr,
}

/// The witness of one block: its multiply rows, the chain prefixes
/// `p_0 ..= p_bits` of `V = acc + bias` (MSB first, `p_bits = V`), and what
/// the result gate makes of them.
#[derive(Clone, Debug)]
pub struct BlockWitness {
    pub rows: Vec<MulRow>,
    pub prefixes: Vec<Fr>,
    pub out: Fr,
}

/// The block of neuron `n` over program values `vals`, with `lanes` terms
/// per multiply row. Rows are the terms (chunked by lanes), then two per
/// product: `(a, adds w·a·b)`, `(b, adds 0)`.
pub fn block(n: &Neuron<i64>, lanes: usize, vals: &[Fr], q: &QuantParams) -> BlockWitness {
    let mut acc = Fr::zero();
    let mut rows = Vec::with_capacity(n.terms.len().div_ceil(lanes) + 2 * n.products.len());
    for chunk in n.terms.chunks(lanes) {
        let (src, w) = chunk[0];
        acc += fe(w as i128) * vals[src];
        let x2 = chunk.get(1).map(|&(s2, w2)| {
            acc += fe(w2 as i128) * vals[s2];
            vals[s2]
        });
        rows.push(MulRow {
            x: vals[src],
            x2,
            acc,
        });
    }
    for &(a, b, w) in &n.products {
        acc += fe(w as i128) * vals[a] * vals[b];
        rows.push(MulRow {
            x: vals[a],
            x2: None,
            acc,
        });
        rows.push(MulRow {
            x: vals[b],
            x2: None,
            acc,
        });
    }
    let v = acc + fe(n.bias as i128);
    let bits = q.chain_bits() as usize;
    let prefixes = chain_prefixes(v, bits);
    let out = gate_output(n.act, &prefixes, q);
    BlockWitness {
        rows,
        prefixes,
        out,
    }
}

/// `p_m = ⌊V / 2^(bits − m)⌋` for `m = 0 ..= bits`, reading `V` as a signed
/// integer when it is a small positive or negative one, else as its
/// canonical representative. Every step `p_{m+1} = 2·p_m + bit` then holds
/// with a bit, whatever `V` is; an out-of-range `V` shows only in a nonzero
/// `p_0`, which the chain-start gate refuses.
pub fn chain_prefixes(v: Fr, bits: usize) -> Vec<Fr> {
    if let Some(int) = small_signed(v) {
        return (0..=bits).map(|m| fe(int >> (bits - m))).collect();
    }
    let big = BigUint::from_bytes_le(v.to_repr().as_ref());
    (0..=bits)
        .map(|m| {
            let mut le = (&big >> (bits - m)).to_bytes_le();
            le.resize(32, 0);
            Fr::from_repr(le.try_into().expect("32 bytes")).expect("a prefix is below the modulus")
        })
        .collect()
}

/// `v` as an i128 when `|v| < 2^126`.
pub fn small_signed(v: Fr) -> Option<i128> {
    let as_u128 = |f: Fr| -> Option<i128> {
        let repr = f.to_repr();
        let bytes = repr.as_ref();
        if bytes[16..].iter().any(|&b| b != 0) {
            return None;
        }
        let low = u128::from_le_bytes(bytes[..16].try_into().expect("16 bytes"));
        (low < 1 << 126).then_some(low as i128)
    };
    as_u128(v).or_else(|| as_u128(-v).map(|m| -m))
}

/// What a result gate makes of the chain: the rescaled value `y = p_{n−wb} − H`
/// (identity, and the sign-asserting identity), `y·sign` (ReLU), the scaled
/// sign (step), or the table entry at the index prefix. A table index
/// outside the table has no entry: 0, which the lookup then refuses.
pub fn gate_output(act: Activation, prefixes: &[Fr], q: &QuantParams) -> Fr {
    let n = prefixes.len() - 1;
    let wb = q.weight_bits as usize;
    let y = prefixes[n - wb] - fe(q.half_range() as i128);
    let sign = prefixes[1];
    match act {
        Activation::Identity | Activation::NonNeg => y,
        Activation::Relu => y * sign,
        Activation::Step => sign * fe(1i128 << q.scale_bits),
        Activation::Lut(f) => {
            let index = small_signed(prefixes[n - wb - q.lut_shift() as usize]);
            match index {
                Some(i) if (0..q.lut_len() as i128).contains(&i) => {
                    fe(q.lut_entry(f, i as usize) as i128)
                }
                _ => Fr::zero(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{neuron_step, DEFAULT_LUT_BITS};

    const Q: QuantParams = QuantParams {
        scale_bits: 6,
        weight_bits: 4,
        range_bits: 9,
        lut_bits: DEFAULT_LUT_BITS,
    };

    #[test]
    fn agrees_with_the_integer_pass_in_and_out_of_range() {
        let h = 256i64 << 4;
        for act in [
            Activation::Identity,
            Activation::Relu,
            Activation::Step,
            Activation::NonNeg,
        ] {
            for x in [-300i64, -17, 0, 5, 255, 4000] {
                let n = Neuron::affine(vec![(0, 3)], 8 + h, act, 0);
                let w = neuron_step(&n, &[x], &Q);
                let b = block(&n, 1, &[fe(x as i128)], &Q);
                assert_eq!(*b.prefixes.last().unwrap(), fe(w.acc));
                assert_eq!(b.prefixes[0] == Fr::zero(), w.in_range(&Q), "x = {x}");
                if w.in_range(&Q) {
                    assert_eq!(b.out, fe(w.out as i128), "{act:?} x = {x}");
                }
            }
        }
    }

    #[test]
    fn prefixes_of_any_field_element_step_by_bits() {
        let big = -Fr::from(12345u64) * Fr::from(7u64).invert().unwrap();
        for v in [Fr::from(77u64), -Fr::from(77u64), big] {
            let p = chain_prefixes(v, 13);
            assert_eq!(p[13], v);
            for m in 0..13 {
                let bit = p[m + 1] - p[m] - p[m];
                assert!(bit == Fr::zero() || bit == Fr::one(), "step {m} of {v:?}");
            }
            assert_eq!(p[0] == Fr::zero(), v == Fr::from(77u64));
        }
    }
}
