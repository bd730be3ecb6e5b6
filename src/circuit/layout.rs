//! Where every value of a program lives in the circuit. Computed from the
//! program alone (no witness), so keygen and proving agree by construction.

use crate::model::{Program, Value, ValueId};
use crate::quant::QuantParams;

/// halo2 reserves `blinding_factors() + 1` rows at the end of the domain.
/// The `z` column is queried at four rotations, so blinding_factors() =
/// max(3, 4) + 2 = 6 (a unit test checks this against the real circuit).
pub const RESERVED_ROWS: usize = 7;
/// Smallest domain we use; below it the constant verifier overhead dominates.
pub const MIN_K: u32 = 5;
pub const MAX_K: u32 = 26;

/// Where one neuron sits: `padding` zero-weight multiply rows, one multiply
/// row per term, then the result row. Its bit chain occupies `z` rows
/// `result_row - chain_bits ..= result_row`.
#[derive(Clone, Copy, Debug)]
pub struct NeuronRows {
    pub value: ValueId,
    /// First multiply row.
    pub start: usize,
    /// Zero-weight rows before the real terms, so the chain fits.
    pub padding: usize,
    pub result_row: usize,
    pub chain_start: usize,
}

#[derive(Clone, Debug)]
pub struct Layout {
    pub k: u32,
    pub num_inputs: usize,
    pub num_outputs: usize,
    /// Bits per chain: range bits + weight bits.
    pub chain_bits: usize,
    /// Row of the `x` cell that holds each value.
    pub value_row: Vec<usize>,
    pub neurons: Vec<NeuronRows>,
    pub rows_used: usize,
}

impl Layout {
    /// Lay the program out: public rows, then back-to-back neuron blocks.
    /// A block is padded with zero-weight multiply rows where the neuron has
    /// fewer terms than its chain has bits (the chain runs up the `z` column
    /// alongside the block). Blocks leave no gaps: every multiply chain
    /// starts from the zero `acc` of the row above.
    pub fn new(program: &Program<i64>, q: &QuantParams, k: u32) -> Layout {
        let chain_bits = (q.range_bits + q.weight_bits) as usize;
        let num_public = program.num_inputs + program.outputs.len();
        let mut value_row = vec![0; program.values.len()];
        let mut neurons = Vec::new();
        let mut row = num_public;
        let mut z_free = 0usize;
        for (id, v) in program.values.iter().enumerate() {
            match v {
                Value::Input(i) => value_row[id] = *i,
                Value::Neuron(n) => {
                    let t = n.terms.len();
                    // The chain ends at the result row and must start at or after z_free.
                    let padding = (z_free + chain_bits).saturating_sub(row + t);
                    let result_row = row + padding + t;
                    let nr = NeuronRows { value: id, start: row, padding, result_row, chain_start: result_row - chain_bits };
                    value_row[id] = result_row;
                    z_free = result_row + 1;
                    row = result_row + 1;
                    neurons.push(nr);
                }
            }
        }
        Layout { k, num_inputs: program.num_inputs, num_outputs: program.outputs.len(), chain_bits, value_row, neurons, rows_used: row }
    }

    pub fn usable_rows(&self) -> usize {
        (1usize << self.k) - RESERVED_ROWS
    }
}

/// Smallest k whose usable rows hold `rows`.
pub fn min_k(rows: usize) -> Option<u32> {
    (MIN_K..=MAX_K).find(|k| (1usize << k) >= rows + RESERVED_ROWS)
}
