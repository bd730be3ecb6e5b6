//! Where every value of a program lives in the circuit, and which lookup
//! table entries fill the fixed table columns. Computed from the program
//! alone (no witness), so keygen and proving agree by construction.

use crate::model::{Activation, Program, Value, ValueId};
use crate::quant::QuantParams;
use serde::{Deserialize, Serialize};

/// Rows at the end of the domain halo2 reserves for blinding: the gates
/// query `acc` at three rotations, so blinding_factors() = max(3,3)+2 = 5,
/// plus one row for the last-row check.
pub const RESERVED_ROWS: usize = 6;
/// Smallest domain we use; below it the constant verifier overhead dominates.
pub const MIN_K: u32 = 6;
pub const MAX_K: u32 = 26;

/// A lookup table: its tag (the value in the tag columns) and what it maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Table {
    /// `v -> act(v)` for v in the signed activation range.
    Act(Activation),
    /// `v -> v` for v in [0, 2^weight_bits): the rescale remainder.
    Remainder,
}

/// Rows of one neuron: init (bias), one per term, result, remainder.
pub fn neuron_rows(num_terms: usize) -> usize {
    num_terms + 3
}

pub fn table_rows(tables: &[Table], q: &QuantParams) -> usize {
    tables
        .iter()
        .map(|t| match t {
            Table::Act(_) => 1usize << q.range_bits,
            Table::Remainder => 1usize << q.weight_bits,
        })
        .sum()
}

/// Rows the circuit region needs (public rows plus neuron blocks).
pub fn region_rows(program: &Program<i64>) -> usize {
    program.num_inputs
        + program.outputs.len()
        + program.neurons().map(|(_, n)| neuron_rows(n.terms.len())).sum::<usize>()
}

/// Smallest k whose usable rows hold both the region and the tables (plus
/// one all-zero table row that unselected rows look up).
pub fn min_k(region_rows: usize, table_rows: usize) -> Option<u32> {
    let need = region_rows.max(table_rows + 1) + RESERVED_ROWS;
    (MIN_K..=MAX_K).find(|k| (1usize << k) >= need)
}

#[derive(Clone, Debug)]
pub struct Layout {
    pub k: u32,
    pub num_inputs: usize,
    pub num_outputs: usize,
    /// Row of the `x` cell that holds each value.
    pub value_row: Vec<usize>,
    /// First row (the bias row) of each neuron, in program order.
    pub neuron_start: Vec<(ValueId, usize)>,
    pub rows_used: usize,
    pub tables: Vec<Table>,
}

impl Layout {
    pub fn new(program: &Program<i64>, tables: Vec<Table>, k: u32) -> Layout {
        let num_public = program.num_inputs + program.outputs.len();
        let mut value_row = vec![0; program.values.len()];
        let mut neuron_start = Vec::new();
        let mut row = num_public;
        for (id, v) in program.values.iter().enumerate() {
            match v {
                Value::Input(i) => value_row[id] = *i,
                Value::Neuron(n) => {
                    neuron_start.push((id, row));
                    value_row[id] = row + 1 + n.terms.len();
                    row += neuron_rows(n.terms.len());
                }
            }
        }
        Layout {
            k,
            num_inputs: program.num_inputs,
            num_outputs: program.outputs.len(),
            value_row,
            neuron_start,
            rows_used: row,
            tables,
        }
    }

    pub fn usable_rows(&self) -> usize {
        (1usize << self.k) - RESERVED_ROWS
    }

    /// Tag of a table: its position + 1, so tag 0 means "no lookup here".
    pub fn tag(&self, t: Table) -> u64 {
        self.tables.iter().position(|x| *x == t).expect("table registered") as u64 + 1
    }
}

/// `(tag, input, output)` entries of all tables, one per row, in row order.
pub fn table_entries(tables: &[Table], q: &QuantParams) -> Vec<(u64, i64, i64)> {
    let (lo, hi) = q.range();
    let mut out = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let tag = i as u64 + 1;
        match t {
            Table::Act(a) => out.extend((lo..=hi).map(|v| (tag, v, a.apply_i64(v)))),
            Table::Remainder => out.extend((0..1i64 << q.weight_bits).map(|v| (tag, v, v))),
        }
    }
    out
}
