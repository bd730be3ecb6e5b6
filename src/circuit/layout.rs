//! Where every value of a program lives in the circuit. Computed from the
//! program alone (no witness), so keygen and proving agree by construction.

use crate::model::{Neuron, Program, Value, ValueId};
use super::poseidon::sponge_rows;
use super::public::{public_items, PublicItem, Tensor, Visibility, Vis};
use super::GateParams;
use crate::quant::{circuit_neurons, QuantParams};

/// Smallest domain we use; below it the constant verifier overhead dominates.
pub const MIN_K: u32 = 5;
pub const MAX_K: u32 = 26;

/// Where one neuron sits: `padding` zero-weight multiply rows, one multiply
/// row per term, two per product, then the result row. Its bit chain
/// occupies `z` rows `result_row - chain_bits ..= result_row`.
#[derive(Clone, Debug)]
pub struct NeuronRows {
    /// The program value this neuron computes or (a quotient's second and
    /// third neuron) checks.
    pub value: ValueId,
    /// What the rows compute, in quantized form.
    pub neuron: Neuron<i64>,
    /// First multiply row.
    pub start: usize,
    /// Zero-weight rows before the real terms, so the chain fits.
    pub padding: usize,
    pub result_row: usize,
    pub chain_start: usize,
}

/// One Poseidon sponge, in the hash columns from row `start`.
#[derive(Clone, Debug)]
pub struct Sponge {
    pub tensor: Tensor,
    pub start: usize,
    /// Message words.
    pub len: usize,
}

#[derive(Clone, Debug)]
pub struct Layout {
    pub k: u32,
    pub num_inputs: usize,
    pub num_outputs: usize,
    pub visibility: Visibility,
    /// What public row `i` (public input `i`) holds.
    pub public: Vec<PublicItem>,
    /// Rows after the public ones that hold the inputs when those are not
    /// public.
    pub hidden_inputs: usize,
    /// The sponges of hashed tensors, beside the neuron rows.
    pub sponges: Vec<Sponge>,
    /// Bits per chain: range bits + weight bits.
    pub chain_bits: usize,
    /// Row of the `x` cell that holds each value.
    pub value_row: Vec<usize>,
    pub neurons: Vec<NeuronRows>,
    pub rows_used: usize,
    /// Rows of the function tables (0 without tables).
    pub table_rows: usize,
    /// Rows halo2 keeps at the end of the domain.
    pub reserved_rows: usize,
}

impl Layout {
    /// Lay the program out: public rows, then back-to-back neuron blocks.
    /// A block is padded with zero-weight multiply rows where the neuron has
    /// fewer multiply rows than its chain has bits (the chain runs up the
    /// `z` column alongside the block). Blocks leave no gaps: every multiply
    /// chain starts from the zero `acc` of the row above. A quotient is
    /// three blocks; its value is the first one's result.
    ///
    /// Public rows come first (see [`public_items`]), then the inputs that
    /// are not public. Sponges run in their own columns from row 0.
    pub fn new(program: &Program<i64>, q: &QuantParams, k: u32, visibility: Visibility) -> Layout {
        let chain_bits = (q.range_bits + q.weight_bits) as usize;
        let public = public_items(&visibility, program.num_inputs, program.outputs.len());
        let hidden_inputs = if visibility.input == Vis::Public { 0 } else { program.num_inputs };
        let mut value_row = vec![0; program.values.len()];
        let mut neurons = Vec::new();
        let mut row = public.len() + hidden_inputs;
        let mut z_free = 0usize;
        for (id, v) in program.values.iter().enumerate() {
            if let Value::Input(i) = v {
                value_row[id] = if hidden_inputs == 0 { *i } else { public.len() + *i };
            }
            for (j, neuron) in circuit_neurons(program, id, q).into_iter().enumerate() {
                let t = neuron.terms.len() + 2 * neuron.products.len();
                // The chain ends at the result row and must start at or after z_free.
                let padding = (z_free + chain_bits).saturating_sub(row + t);
                let result_row = row + padding + t;
                if j == 0 {
                    value_row[id] = result_row;
                }
                neurons.push(NeuronRows { value: id, neuron, start: row, padding, result_row, chain_start: result_row - chain_bits });
                z_free = result_row + 1;
                row = result_row + 1;
            }
        }
        let num_params: usize = neurons.iter().map(|n: &NeuronRows| n.neuron.terms.len() + 1).sum();
        let mut sponges = Vec::new();
        let mut hash_rows = 0;
        for (vis, tensor, len) in [
            (visibility.input, Tensor::Input, program.num_inputs),
            (visibility.params, Tensor::Params, num_params),
            (visibility.output, Tensor::Output, program.outputs.len()),
        ] {
            if vis == Vis::Hashed {
                sponges.push(Sponge { tensor, start: hash_rows, len });
                hash_rows += sponge_rows(len);
            }
        }
        Layout {
            k,
            num_inputs: program.num_inputs,
            num_outputs: program.outputs.len(),
            visibility,
            public,
            hidden_inputs,
            sponges,
            chain_bits,
            value_row,
            neurons,
            rows_used: row.max(hash_rows),
            table_rows: table_rows(program, q),
            reserved_rows: reserved_rows(&GateParams::of(q, program, visibility)),
        }
    }

    /// The rows of the weights and biases, with their values, in the order
    /// the params commitment hashes them: per neuron block, its term
    /// weights then its bias. (Product coefficients are structure, like
    /// the 1 of `x·x`, and stay in the circuit.)
    pub fn param_cells(&self) -> Vec<(usize, i64)> {
        self.neurons
            .iter()
            .flat_map(|nr| {
                let first = nr.start + nr.padding;
                nr.neuron.terms.iter().enumerate().map(move |(i, &(_, w))| (first + i, w)).chain([(nr.result_row, nr.neuron.bias)])
            })
            .collect()
    }

    pub fn usable_rows(&self) -> usize {
        (1usize << self.k) - self.reserved_rows
    }

    /// Smallest k that holds the neuron rows and the tables.
    pub fn min_k(&self) -> Option<u32> {
        (MIN_K..=MAX_K).find(|k| (1usize << k) >= self.rows_used.max(self.table_rows) + self.reserved_rows)
    }
}

/// halo2 reserves `blinding_factors() + 1` rows at the end of the domain:
/// 7 for our circuits, whose `z` column is queried at four rotations, 8
/// when a table reads one more chain prefix.
pub fn reserved_rows(params: &GateParams) -> usize {
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<halo2_proofs::halo2curves::bn256::Fr>::default();
    super::ModelConfig::configure(&mut cs, params.clone());
    cs.blinding_factors() + 1
}

/// Rows the function tables of `program` take: one per entry of each
/// table, plus the all-zero row that rows without a lookup read.
pub fn table_rows(program: &Program<i64>, q: &QuantParams) -> usize {
    match program.lut_fns().len() {
        0 => 0,
        n => n * q.lut_len() + 1,
    }
}


