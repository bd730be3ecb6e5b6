//! Where every value of a program lives in the circuit. Computed from the
//! program alone (no witness), so keygen and proving agree by construction.

use super::poseidon::sponge_rows;
use super::public::{public_items, PublicItem, Tensor, Vis, Visibility};
use super::{Col, GateParams};
use crate::model::{Neuron, Program, Value, ValueId};
use crate::quant::{circuit_neurons, QuantParams};

/// Smallest domain we use; below it the constant verifier overhead dominates.
pub const MIN_K: u32 = 5;
pub const MAX_K: u32 = 26;

/// Where one neuron sits: `padding` zero-weight multiply rows, one multiply
/// row per term (per pair of terms in the wide shape), two per product, then
/// the result row. Its bit chain occupies the chain rows
/// `chain_start ..= result_row` (see [`Shape::chain_cell`]).
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
    /// A range check ([`crate::quant::range_check`]: an input's, or a
    /// quotient's first block). Its weight and bias are structure, not
    /// model weights, and need no binding: the identity gate makes its
    /// output `p − H` for a chain prefix `p`, whatever they are. So they
    /// stay out of the params commitment.
    pub range_check: bool,
}

impl NeuronRows {
    /// Whether the weight and bias cells are model weights (and hashed
    /// with them).
    fn holds_weights(&self) -> bool {
        !self.range_check
    }
}

/// One packed word: a multiply row per value (weight `2^(bits·(len−1−i))`,
/// the operand a copy of the value's cell), then a result row whose `x` is
/// the word minus the public offset, a copy of its public row.
#[derive(Clone, Debug)]
pub struct WordRows {
    pub public_row: usize,
    /// The tensor whose values the word packs.
    pub tensor: Tensor,
    pub values: Vec<ValueId>,
    pub start: usize,
    pub result_row: usize,
}

/// How the params sponge packs weights into words: `per_word` signed
/// weights of `bits` bits each (range-checked by a lookup), Horner-combined.
/// Packing is what makes hashed weights affordable: about 66 rows per two
/// words, so one weight per word would cost 33 rows a weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Packing {
    pub bits: u32,
    pub per_word: usize,
}

/// Slot width bounds: the range table has `2^bits` rows.
pub const MIN_PACK_BITS: u32 = 12;
pub const MAX_PACK_BITS: u32 = 16;

impl Packing {
    /// The fewest bits (at least [`MIN_PACK_BITS`]) that hold every weight;
    /// `None` past [`MAX_PACK_BITS`] (the weights are then hashed one per word).
    pub fn for_weights(weights: impl Iterator<Item = i64>) -> Option<Packing> {
        let max = weights.map(|w| w.unsigned_abs()).max().unwrap_or(0);
        // w + 2^(bits-1) must lie in [0, 2^bits).
        let bits = (u64::BITS - max.leading_zeros() + 1).max(MIN_PACK_BITS);
        (bits <= MAX_PACK_BITS).then(|| Packing {
            bits,
            per_word: (252 / bits as usize).min(33),
        })
    }

    /// Added to a weight to make it a `bits`-bit unsigned slot.
    pub fn offset(&self) -> i64 {
        1 << (self.bits - 1)
    }

    /// The word of `s ≤ per_word` weights: `Σ (w_i + offset)·2^(bits·(s−1−i))`.
    /// Only a tensor's last word holds fewer than `per_word`, and it has no
    /// padding slots: a slot beyond the weights would be a value the
    /// prover chooses, giving one set of weights many commitments.
    pub fn word(&self, weights: &[i64]) -> halo2_proofs::halo2curves::bn256::Fr {
        use halo2_proofs::halo2curves::bn256::Fr;
        debug_assert!(weights.len() <= self.per_word);
        let shift = Fr::from(1u64 << self.bits);
        weights.iter().fold(Fr::zero(), |acc, &w| {
            acc * shift + Fr::from((w + self.offset()) as u64)
        })
    }
}

/// How wide the neuron rows are. The narrow shape (three advice columns)
/// keeps the EVM verifier cheapest. A large model trades a column or two
/// for fewer rows, and proving work follows columns × rows: the domain
/// halves for one more column or two.
///
/// - `wide_mac`: a second operand column `x2` with weights `f2`, so a row
///   adds two terms (`acc = acc[-1] + f·x + f2·x2`); a dense layer takes
///   half the rows. Only with fixed weights.
/// - `wide_chain`: a second chain column `z2`, so a chain row holds two
///   bits; a neuron with few terms (a pooling or product neuron, padded to
///   its chain) takes half the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    #[serde(default)]
    pub wide_mac: bool,
    #[serde(default)]
    pub wide_chain: bool,
}

/// Below this k the narrow shape is always used: proving is fast there and
/// the verifier's gas, which every extra column raises, matters more.
pub const WIDE_FROM_K: u32 = 17;

impl Shape {
    pub const NARROW: Shape = Shape {
        wide_mac: false,
        wide_chain: false,
    };

    /// Every shape, narrowest first.
    pub const ALL: [Shape; 4] = [
        Shape::NARROW,
        Shape {
            wide_mac: false,
            wide_chain: true,
        },
        Shape {
            wide_mac: true,
            wide_chain: false,
        },
        Shape {
            wide_mac: true,
            wide_chain: true,
        },
    ];

    /// Multiply terms per row.
    pub fn lanes(&self) -> usize {
        1 + self.wide_mac as usize
    }

    /// Rows a chain of `bits` bits takes above its result row.
    pub fn chain_rows(&self, bits: usize) -> usize {
        if self.wide_chain {
            bits.div_ceil(2)
        } else {
            bits
        }
    }

    /// Where the chain prefix `p_m = V >> (bits − m)` sits, for a chain
    /// whose full value `p_bits = V` is in `z` at the result row: its column
    /// ([`Col::Z`] or [`Col::Z2`]) and rotation from the result row. Narrow:
    /// `p_m` in `z`, `bits − m` rows up. Wide: prefixes alternate `z`, `z2`
    /// along the rows; an odd chain starts with a zero in `z` at its first
    /// row (the virtual `p_-1`) so that `p_bits` lands in `z`.
    pub fn chain_cell(&self, bits: usize, m: usize) -> (Col, i32) {
        if !self.wide_chain {
            return (Col::Z, m as i32 - bits as i32);
        }
        let lead = bits % 2;
        let v = m + lead;
        let col = if v % 2 == 0 { Col::Z } else { Col::Z2 };
        (col, (v / 2) as i32 - ((bits + lead) / 2) as i32)
    }

    /// Whether an odd wide chain holds a virtual zero in `z` below `p_0`.
    pub fn has_virtual_zero(&self, bits: usize) -> bool {
        self.chain_cell(bits, 0).0 == Col::Z2
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.wide_mac, self.wide_chain) {
            (false, false) => "narrow",
            (true, false) => "2 terms a row",
            (false, true) => "2 chain bits a row",
            (true, true) => "2 terms and 2 chain bits a row",
        })
    }
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
    /// The sponges of hashed tensors, beside the neuron rows.
    pub sponges: Vec<Sponge>,
    /// Weight packing of the params sponge (hashed params only).
    pub packing: Option<Packing>,
    /// Packing of public values into words, and the rows of each word.
    pub value_packing: Option<super::public::ValuePacking>,
    pub words: Vec<WordRows>,
    pub shape: Shape,
    /// Bits per chain: range bits + weight bits.
    pub chain_bits: usize,
    /// Row of the cell that holds each value: its `x` row, or for a
    /// linked input its row of the input link column (see
    /// [`Layout::value_cell`]).
    pub value_row: Vec<usize>,
    pub neurons: Vec<NeuronRows>,
    pub rows_used: usize,
    /// Inferences laid out ([`Program::copies`]); the weights are copy
    /// 0's, and with weights in advice every later copy's weight cells are
    /// linked to them ([`Layout::weight_links`]).
    pub copies: usize,
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
    /// Public rows come first (see [`public_items`]). Every input, public
    /// or not, then gets a range-check block (see
    /// [`crate::quant::range_check`]) whose result row holds it; a public
    /// input's row is a copy of that cell. A linked input (a split model's
    /// cut) gets no rows here: its link column row is its cell, and the
    /// chunk before bounds it (see [`Layout::value_cell`]). Sponges run in
    /// their own columns from row 0.
    ///
    /// The wide multiply shape needs fixed weights (panics otherwise:
    /// [`choose_shape`] never picks it for other weights).
    pub fn new(
        program: &Program<i64>,
        q: &QuantParams,
        k: u32,
        visibility: Visibility,
        shape: Shape,
    ) -> Layout {
        assert!(
            !shape.wide_mac || visibility.params == Vis::Fixed,
            "two multiply lanes need fixed weights"
        );
        let chain_bits = (q.range_bits + q.weight_bits) as usize;
        let chain_rows = shape.chain_rows(chain_bits);
        let value_packing = visibility
            .packed
            .then(|| super::public::ValuePacking::for_range_bits(q.range_bits));
        let public = public_items(
            &visibility,
            program.num_inputs,
            program.outputs.len(),
            value_packing,
        );
        let mut value_row = vec![0; program.values.len()];
        let mut neurons = Vec::new();
        // The first block's multiply reads `acc` one row up: a public row,
        // where the public gate holds `acc = 0`. A split model's chunk with
        // nothing public has none: row 0 is kept for it, where the `top`
        // gate holds `acc = 0` (and the block never reads a blinding row).
        assert_eq!(
            public.is_empty(),
            !visibility.has_public_rows(),
            "the top gate is configured exactly when there is no public row"
        );
        let mut row = public.len().max(1);
        let mut z_free = 0usize;
        for id in 0..program.values.len() {
            if let Some(i) = linked_input(&visibility, program, id) {
                value_row[id] = i;
                continue;
            }
            for (j, neuron) in circuit_neurons(program, id, q).into_iter().enumerate() {
                let t = neuron.terms.len().div_ceil(shape.lanes()) + 2 * neuron.products.len();
                // The chain ends at the result row and must start at or after z_free.
                let padding = (z_free + chain_rows).saturating_sub(row + t);
                let result_row = row + padding + t;
                if j == 0 {
                    value_row[id] = result_row;
                }
                let range_check = j == 0 && !matches!(program.values[id], Value::Neuron(_));
                neurons.push(NeuronRows {
                    value: id,
                    neuron,
                    start: row,
                    padding,
                    result_row,
                    chain_start: result_row - chain_rows,
                    range_check,
                });
                z_free = result_row + 1;
                row = result_row + 1;
            }
        }
        // Packed public words after the neurons, each reading its values.
        let mut words = Vec::new();
        for (public_row, item) in public.iter().enumerate() {
            if let PublicItem::Packed { tensor, first, len } = *item {
                let values = (first..first + len)
                    .map(|i| {
                        if tensor == Tensor::Input {
                            i
                        } else {
                            program.outputs[i]
                        }
                    })
                    .collect();
                words.push(WordRows {
                    public_row,
                    tensor,
                    values,
                    start: row,
                    result_row: row + len,
                });
                row += len + 1;
            }
        }
        let copies = program.copies.max(1);
        let packing = match visibility.params {
            Vis::Hashed => weights_packing(&neurons, copies),
            _ => None,
        };
        let num_weights = num_weights(&neurons, copies);
        let biases = model_weight_blocks(&neurons, copies).count();
        let param_words = match packing {
            Some(p) => num_weights.div_ceil(p.per_word) + biases,
            None => num_weights + biases,
        };
        let mut sponges = Vec::new();
        let mut hash_rows = 0;
        for tensor in visibility.hashed() {
            let len = match tensor {
                Tensor::Params => param_words,
                Tensor::Input => program.num_inputs,
                Tensor::Output => program.outputs.len(),
            };
            sponges.push(Sponge {
                tensor,
                start: hash_rows,
                len,
            });
            hash_rows += sponge_rows(len);
        }
        Layout {
            k,
            num_inputs: program.num_inputs,
            num_outputs: program.outputs.len(),
            visibility,
            public,
            sponges,
            packing,
            value_packing,
            words,
            shape,
            chain_bits,
            value_row,
            neurons,
            rows_used: row.max(hash_rows),
            copies,
            table_rows: table_rows(program, q).max(packing.map_or(0, |p| 1 << p.bits)),
            reserved_rows: reserved_rows(&GateParams::of(q, program, visibility, packing, shape)),
        }
    }

    /// The rows of the weights and biases, with their values, in the order
    /// the params commitment hashes them: every term weight in layout
    /// order, then every bias. (Product coefficients are structure, like
    /// the 1 of `x·x`, and stay in the circuit; range-check blocks are
    /// structure too, see [`NeuronRows::range_check`].) In the wide multiply
    /// shape two weights share a row (`f` and `f2`); that shape has only
    /// fixed weights, so no `w` cell is ever read from such a row.
    ///
    /// In a batch these are copy 0's: every copy runs the same weights, and
    /// later copies' cells are tied to copy 0's by [`Layout::weight_links`].
    pub fn param_cells(&self) -> Vec<(usize, i64)> {
        let blocks: Vec<&NeuronRows> = model_weight_blocks(&self.neurons, self.copies).collect();
        self.weight_cells(&blocks)
    }

    /// Every nonzero cell the circuit writes into `w` (weights in advice):
    /// each block's term weights and bias, range checks and every copy of
    /// a batch included. Committed weights commit to exactly these.
    pub fn w_cells(&self) -> Vec<(usize, i64)> {
        let blocks: Vec<&NeuronRows> = self.neurons.iter().collect();
        self.weight_cells(&blocks)
    }

    /// `(row, weight)` of the term weights, then the biases, of `blocks`.
    fn weight_cells(&self, blocks: &[&NeuronRows]) -> Vec<(usize, i64)> {
        let lanes = self.shape.lanes();
        let weights = blocks.iter().flat_map(move |nr| {
            let first = nr.start + nr.padding;
            nr.neuron
                .terms
                .iter()
                .enumerate()
                .map(move |(i, &(_, w))| (first + i / lanes, w))
        });
        weights
            .chain(blocks.iter().map(|nr| (nr.result_row, nr.neuron.bias)))
            .collect()
    }

    /// With weights in advice, the `w` rows of every later copy of a batch
    /// paired with copy 0's row of the same weight: `(row in copy c, row in
    /// copy 0)`. The circuit constrains each pair equal, so one weight set
    /// (private, or hashed under one commitment) runs every inference.
    /// Empty with fixed weights (the fixed columns are the verifying key's)
    /// and for a single inference.
    pub fn weight_links(&self) -> Vec<(usize, usize)> {
        if !self.visibility.params_in_advice() || self.copies < 2 {
            return Vec::new();
        }
        let blocks: Vec<&NeuronRows> = weight_blocks(&self.neurons).collect();
        let per_copy = blocks.len() / self.copies;
        let first = self.weight_cells(&blocks[..per_copy]);
        (1..self.copies)
            .flat_map(|c| self.weight_cells(&blocks[c * per_copy..(c + 1) * per_copy]))
            .zip(first.iter().cycle())
            .map(|((row, _), &(row0, _))| (row, row0))
            .collect()
    }

    /// Term weights (the rest of [`Layout::param_cells`] are biases).
    pub fn num_weights(&self) -> usize {
        num_weights(&self.neurons, self.copies)
    }

    /// The params sponge's words, as cells: a packed word's weights, or
    /// one raw weight or bias (see [`Packing`]).
    pub fn param_words(&self) -> Vec<ParamWord> {
        self.param_words_with(self.packing)
    }

    /// The packing hashed weights would use for this layout's weights,
    /// whatever their visibility here: what `bind` hashes a committed
    /// column with, so its hash is the one `--param-visibility hashed`
    /// exposes for the same weights.
    pub fn hashed_packing(&self) -> Option<Packing> {
        weights_packing(&self.neurons, self.copies)
    }

    /// [`Layout::param_words`] under `packing`.
    pub fn param_words_with(&self, packing: Option<Packing>) -> Vec<ParamWord> {
        let cells = self.param_cells();
        let (weights, biases) = cells.split_at(self.num_weights());
        let weight_words: Vec<ParamWord> = match packing {
            Some(p) => weights
                .chunks(p.per_word)
                .map(|c| ParamWord::Packed(c.to_vec()))
                .collect(),
            None => weights.iter().map(|&c| ParamWord::Raw(c)).collect(),
        };
        weight_words
            .into_iter()
            .chain(biases.iter().map(|&c| ParamWord::Raw(c)))
            .collect()
    }

    /// The name of each public input, in verifier order.
    pub fn public_names(&self) -> Vec<String> {
        self.public.iter().map(|p| p.name()).collect()
    }

    /// The cell that holds value `id`, which every copy of it reads.
    ///
    /// A linked input's cell is row `i` of the input link column itself,
    /// with no range check: the aggregation makes that column's commitment
    /// equal to the previous chunk's output link column, whose rows are
    /// copies of cells that chunk's own gates bound (a neuron's chain, a
    /// quotient's check, or, for a value passed through, the same argument
    /// one chunk earlier, down to the first chunk's range-checked model
    /// input). So a cut binds its values exactly as a copy constraint
    /// inside one circuit would (docs/soundness.md, "Split models").
    pub fn value_cell(&self, id: ValueId) -> (Col, usize) {
        if self.visibility.linked.input && id < self.num_inputs {
            (Col::Link(Tensor::Input), self.value_row[id])
        } else {
            (Col::X, self.value_row[id])
        }
    }

    pub fn usable_rows(&self) -> usize {
        (1usize << self.k) - self.reserved_rows
    }

    /// Smallest k that holds the neuron rows and the tables.
    pub fn min_k(&self) -> Option<u32> {
        min_k_for(self.rows_used, self.table_rows, self.reserved_rows)
    }
}

/// Smallest k whose `2^k` rows hold `rows` of neurons or `table_rows` of
/// tables, whichever is more, plus `reserved_rows`.
pub fn min_k_for(rows: usize, table_rows: usize, reserved_rows: usize) -> Option<u32> {
    (MIN_K..=MAX_K).find(|k| (1usize << k) >= rows.max(table_rows) + reserved_rows)
}

/// The packing of one inference's term weights (see [`Packing::for_weights`]).
fn weights_packing(neurons: &[NeuronRows], copies: usize) -> Option<Packing> {
    Packing::for_weights(
        model_weight_blocks(neurons, copies).flat_map(|n| n.neuron.terms.iter().map(|t| t.1)),
    )
}

fn num_weights(neurons: &[NeuronRows], copies: usize) -> usize {
    model_weight_blocks(neurons, copies)
        .map(|n| n.neuron.terms.len())
        .sum()
}

/// The blocks whose weights and bias are model weights.
fn weight_blocks(neurons: &[NeuronRows]) -> impl Iterator<Item = &NeuronRows> {
    neurons.iter().filter(|n| n.holds_weights())
}

/// The weight blocks of one inference: the first of `copies` equal runs
/// (a batch lays its copies out in order, see [`Program::batched`]).
fn model_weight_blocks(neurons: &[NeuronRows], copies: usize) -> impl Iterator<Item = &NeuronRows> {
    let per_copy = weight_blocks(neurons).count() / copies.max(1);
    weight_blocks(neurons).take(per_copy)
}

/// One word of the params sponge: `(row of the w cell, value)` of what it holds.
#[derive(Clone, Debug)]
pub enum ParamWord {
    Packed(Vec<(usize, i64)>),
    Raw((usize, i64)),
}

impl ParamWord {
    /// The `(row, value)` cells the word holds, in slot order.
    pub fn cells(&self) -> &[(usize, i64)] {
        match self {
            ParamWord::Packed(cells) => cells,
            ParamWord::Raw(cell) => std::slice::from_ref(cell),
        }
    }

    /// The word the sponge absorbs: the packed slots under `packing`, or
    /// the raw value as a field element.
    pub fn value(&self, packing: Option<Packing>) -> halo2_proofs::halo2curves::bn256::Fr {
        match (self, packing) {
            (ParamWord::Packed(cells), Some(p)) => {
                p.word(&cells.iter().map(|c| c.1).collect::<Vec<_>>())
            }
            (ParamWord::Raw((_, v)), _) => super::fe(*v as i128),
            (ParamWord::Packed(_), None) => unreachable!("packed words come with a packing"),
        }
    }
}

/// The shape to compile `program` with, and its smallest k: narrow when
/// that fits below [`WIDE_FROM_K`]; otherwise the shape with the smallest
/// k, the narrowest among equals (at one k, fewer columns prove faster and
/// verify cheaper). `None` when no shape fits in [`MAX_K`].
///
/// A batch ([`Program::copies`] > 1) spreads the verifier's gas over its
/// inferences, so there proving work decides at any k: the shape with the
/// fewest advice cells (columns × 2^k), the narrowest among equals. (Eight
/// tic-tac-toe inferences: two chain bits a row prove in 0.4 s at k = 13
/// against 0.65 s narrow at k = 14, for 8k more gas.)
pub fn choose_shape(
    program: &Program<i64>,
    q: &QuantParams,
    visibility: Visibility,
) -> Option<(Shape, u32)> {
    let fits = |shape: Shape| {
        Layout::new(program, q, 0, visibility, shape)
            .min_k()
            .map(|k| (shape, k))
    };
    let allowed = Shape::ALL
        .into_iter()
        .filter(|s| !s.wide_mac || visibility.params == Vis::Fixed);
    if program.copies > 1 {
        let cells = |&(shape, k): &(Shape, u32)| {
            let lay = Layout::new(program, q, k, visibility, shape);
            let params = GateParams::of(q, program, visibility, lay.packing, shape);
            super::column_counts(&params).0 << k
        };
        // `min_by_key` keeps the first of equals: the narrowest.
        return allowed.filter_map(fits).min_by_key(cells);
    }
    match fits(Shape::NARROW) {
        Some((shape, k)) if k < WIDE_FROM_K => Some((shape, k)),
        // `min_by_key` keeps the first of equals: the narrowest.
        narrow => narrow
            .into_iter()
            .chain(
                Shape::ALL[1..]
                    .iter()
                    .filter(|s| !s.wide_mac || visibility.params == Vis::Fixed)
                    .filter_map(|&s| fits(s)),
            )
            .min_by_key(|&(_, k)| k),
    }
}

/// For a linked input value, its index in the input tensor (the row of
/// the input link column that holds it).
fn linked_input(visibility: &Visibility, program: &Program<i64>, id: ValueId) -> Option<usize> {
    match program.values[id] {
        // Programs keep their inputs first (input i is value i), which is
        // what lets `Layout::value_cell` tell a linked input by its id.
        Value::Input(i) if visibility.linked.input => {
            debug_assert_eq!(i, id, "input {i} is not value {i}");
            Some(i)
        }
        _ => None,
    }
}

/// halo2 reserves `blinding_factors() + 1` rows at the end of the domain:
/// 8 for our circuits, whose `z` column is queried at five rotations, 9
/// when a table reads one more chain prefix.
pub fn reserved_rows(params: &GateParams) -> usize {
    let mut cs =
        halo2_proofs::plonk::ConstraintSystem::<halo2_proofs::halo2curves::bn256::Fr>::default();
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
