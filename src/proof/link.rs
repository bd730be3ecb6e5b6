//! Linking two proofs by commitment equality (the alternative to hashed
//! chunk boundaries of issue #17), without a patched halo2.
//!
//! Chunk A writes the boundary tensor into an advice column `L` of its
//! own; chunk B reads it from an advice column `L` of its own, both at the
//! same rows and at the same k. If the two proofs' commitments to `L` are
//! the same point, KZG's binding makes the two columns the same polynomial,
//! so B's inputs are A's outputs, row for row — no hash, no packing, and no
//! range check of B's inputs (they are A's neuron outputs, which A's chains
//! already bound).
//!
//! halo2 blinds an advice column by filling its last `blinding_factors + 1`
//! rows from the prover's rng, so two honest proofs commit `L` equally only
//! if those rows agree. halo2-axiom draws them column by column, in column
//! order, before anything else, 8 `next_u64` per field element
//! (`Fr::random` reduces 512 bits). [`ScriptedTails`] is an rng that answers
//! those first draws from a script, then defers to a real rng: with `L`
//! allocated first, its tail is the script's and every other column's is
//! random as before.
//!
//! The tail is defined from the bottom (`row n − 1 − i` holds `T[i]`),
//! because the two circuits need not have the same number of blinding
//! rows: a chunk with fewer assigns the rest of `T` as ordinary witness
//! cells just above its tail ([`pad_rows`]). `T` comes from a seed the two
//! provers share and nobody else sees (one prover proves every chunk),
//! fresh for every inference and separate per link ([`tail_values`]): a
//! tail used twice cancels in the difference of two commitments, which
//! then commits to the difference of the data, unblinded.
//!
//! Zero knowledge of `L`: the random rows `T` must outnumber the linear
//! functions of `L` the two proofs reveal: the commitment (one point, the
//! same in both), and in each proof one evaluation per rotation `L` is
//! queried at plus one multiopen evaluation ([`min_tail_len`]). A column
//! with equality enabled is queried at the current row, so a link read by
//! no gate reveals 1 + 2 + 2 = 5.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use rand::RngCore;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::VecDeque;

/// `T[0..len]` of link `link` (row `n − 1 − i` holds `T[i]`), from the
/// seed the linked provers share for one inference: each link its own
/// ChaCha stream, so no two links share a tail.
pub fn tail_values(seed: [u8; 32], link: u64, len: usize) -> Vec<Fr> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    rng.set_stream(link);
    (0..len).map(|_| Fr::random(&mut rng)).collect()
}

/// The fewest random rows that keep `L` hidden when the linked proofs
/// query it at `rotations[p]` rotations each: the commitment, and per
/// proof its evaluations and a multiopen evaluation.
pub fn min_tail_len(rotations: &[usize]) -> usize {
    1 + rotations.iter().map(|q| q + 1).sum::<usize>()
}

/// The `next_u64` answers that make halo2 fill the tails of the first
/// columns (one `T` per linked column, in column order) with their values,
/// for a circuit with `blinding_factors` blinding rows. halo2 fills rows
/// `n − 1 − bf ..= n − 1` top down, so draw `j` is `T[bf − j]`. One
/// circuit per `create_proof` call: a second circuit's columns would draw
/// after the first's and miss the script.
pub fn tail_script(tails: &[&[Fr]], blinding_factors: usize) -> Vec<u64> {
    let mut script = Vec::new();
    for t in tails {
        assert!(
            t.len() > blinding_factors,
            "a link tail covers every blinding row"
        );
        for j in 0..=blinding_factors {
            let repr = t[blinding_factors - j].to_repr();
            // `Fr::random` reads 8 limbs as a 512-bit little-endian number:
            // the value's own 4 limbs and 4 zero limbs reduce to the value.
            for limb in repr.as_ref().chunks(8) {
                script.push(u64::from_le_bytes(limb.try_into().expect("8 bytes")));
            }
            script.extend([0; 4]);
        }
    }
    script
}

/// The rows above the tail where a circuit with `blinding_factors`
/// blinding rows must assign the rest of `T` itself: `(row, T[i])` for
/// `blinding_factors < i < T.len()`. The caller keeps its boundary rows
/// above `n − tail.len()`.
pub fn pad_rows(n: usize, tail: &[Fr], blinding_factors: usize) -> Vec<(usize, Fr)> {
    assert!(
        tail.len() <= n,
        "a link tail of {} rows in a column of {n}",
        tail.len()
    );
    (blinding_factors + 1..tail.len())
        .map(|i| (n - 1 - i, tail[i]))
        .collect()
}

/// An rng that answers its script first (through `next_u64` only, which is
/// all `Fr::random` uses), then its inner rng.
pub struct ScriptedTails<R> {
    script: VecDeque<u64>,
    rest: R,
}

impl<R: RngCore> ScriptedTails<R> {
    pub fn new(script: Vec<u64>, rest: R) -> Self {
        ScriptedTails {
            script: script.into(),
            rest,
        }
    }

    /// Whether every scripted answer was drawn.
    pub fn spent(&self) -> bool {
        self.script.is_empty()
    }

    /// A draw other than `next_u64` before the script is spent means halo2
    /// no longer draws as this module expects: fail loudly, since a proof
    /// made anyway would simply not link.
    fn assert_script_spent(&self) {
        assert!(
            self.script.is_empty(),
            "halo2 drew randomness in an unexpected order while link tails were scripted"
        );
    }
}

impl<R: RngCore> RngCore for ScriptedTails<R> {
    fn next_u32(&mut self) -> u32 {
        self.assert_script_spent();
        self.rest.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        match self.script.pop_front() {
            Some(v) => v,
            None => self.rest.next_u64(),
        }
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.assert_script_spent();
        self.rest.fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.assert_script_spent();
        self.rest.try_fill_bytes(dest)
    }
}

#[cfg(test)]
pub(crate) mod tests;
