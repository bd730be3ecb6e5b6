//! Where every value of a program lives in the circuit. Computed from the
//! program alone (no witness), so keygen and proving agree by construction.

use crate::model::{Program, Value, ValueId};
use crate::quant::QuantParams;

/// halo2 reserves `blinding_factors() + 1` rows at the end of the domain.
/// The `z` column is queried at five rotations, so blinding_factors() =
/// max(3, 5) + 2 = 7.
pub const RESERVED_ROWS: usize = 8;
/// Smallest domain we use; below it the constant verifier overhead dominates.
pub const MIN_K: u32 = 5;
pub const MAX_K: u32 = 26;

/// Where one neuron sits. Its bit chain occupies `z` rows
/// `chain_start ..= start + terms`.
#[derive(Clone, Copy, Debug)]
pub struct NeuronRows {
    pub value: ValueId,
    /// The bias row; multiply rows follow, then the result row.
    pub start: usize,
    pub chain_start: usize,
}

impl NeuronRows {
    pub fn result_row(&self, terms: usize) -> usize {
        self.start + terms + 1
    }
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
    /// Lay the program out: public rows, then one block per neuron, padded
    /// where a neuron has fewer terms than its chain has bits (the chain
    /// runs up the `z` column alongside the neuron's own rows).
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
                    // chain: rows start + t - chain_bits ..= start + t
                    let start = row.max((z_free + chain_bits).saturating_sub(t));
                    let nr = NeuronRows { value: id, start, chain_start: start + t - chain_bits };
                    value_row[id] = nr.result_row(t);
                    z_free = start + t + 1;
                    row = nr.result_row(t) + 1;
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
