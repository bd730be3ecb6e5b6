//! What a proof reveals: the visibility of inputs, outputs and weights, and
//! the resulting order of public inputs, which `settings.json`,
//! `proof.json` and the generated Solidity layout library all name.

use serde::{Deserialize, Serialize};

/// How a tensor appears in the proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Vis {
    /// Every element is a public input.
    Public,
    /// A witness only: the proof says nothing about it.
    Private,
    /// A witness whose Poseidon hash (BN254, t = 3, the circomlib
    /// parameters) is the one public input.
    Hashed,
    /// Weights only: baked into the circuit's fixed columns, so the
    /// verifying key itself pins them.
    Fixed,
    /// Weights only: a witness in an advice column of their own, whose KZG
    /// commitment (the proof's first point) says which weights ran. Its
    /// unused rows hold a salt the owner keeps, so that commitment is the
    /// same in every proof and hides the weights (see `docs/soundness.md`).
    Committed,
}

impl std::fmt::Display for Vis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Vis::Public => "public",
            Vis::Private => "private",
            Vis::Hashed => "hashed",
            Vis::Fixed => "fixed",
            Vis::Committed => "committed",
        })
    }
}

/// The choices `compile` records in `settings.json`: what is public,
/// private or hashed, and whether public values are packed into words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Visibility {
    pub input: Vis,
    pub output: Vis,
    pub params: Vis,
    /// Public inputs and outputs packed into words (see [`ValuePacking`]).
    #[serde(default)]
    pub packed: bool,
    /// Which private tensors are also carried in a link column of their
    /// own (a split model's cuts): the aggregation checks that two chunk
    /// proofs commit to the same column (see `proof::link`).
    #[serde(default, skip_serializing_if = "Linked::is_none")]
    pub linked: Linked,
}

/// The tensors a circuit writes into link columns ([`Visibility::linked`]).
/// The link columns are the circuit's first advice columns: the input's,
/// then the output's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Linked {
    pub input: bool,
    pub output: bool,
}

impl Linked {
    pub const NONE: Linked = Linked {
        input: false,
        output: false,
    };

    pub fn is_none(&self) -> bool {
        *self == Linked::NONE
    }

    /// The advice column that carries `tensor`, if it is linked.
    pub fn column(&self, tensor: Tensor) -> Option<usize> {
        match tensor {
            Tensor::Input => self.input.then_some(0),
            Tensor::Output => self.output.then_some(self.input as usize),
            Tensor::Params => None,
        }
    }

    /// The linked tensors, in column order.
    pub fn tensors(&self) -> impl Iterator<Item = Tensor> + '_ {
        [Tensor::Input, Tensor::Output]
            .into_iter()
            .filter(|&t| self.column(t).is_some())
    }
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility {
            input: Vis::Public,
            output: Vis::Public,
            params: Vis::Fixed,
            packed: false,
            linked: Linked::NONE,
        }
    }
}

impl Visibility {
    /// Refuse the combinations that make no sense, naming the flag.
    pub fn check(&self) -> Result<(), String> {
        if self.input == Vis::Fixed {
            return Err("--input-visibility fixed: only weights can be fixed (baked into the circuit); use public, private or hashed".into());
        }
        if self.output == Vis::Fixed {
            return Err("--output-visibility fixed: only weights can be fixed; use public, private or hashed".into());
        }
        if self.params == Vis::Public {
            return Err("--param-visibility public: weights are either fixed in the circuit, private, hashed or committed".into());
        }
        if self.input == Vis::Committed || self.output == Vis::Committed {
            return Err("--input-visibility/--output-visibility committed: only weights can be committed (a column commitment per weight version); use hashed for an input or output".into());
        }
        if self.params == Vis::Committed && !self.linked.is_none() {
            return Err("--param-visibility committed does not split: each chunk would commit its own weights column and the final proof could not expose them; use hashed or fixed, or a larger --max-k".into());
        }
        if self.input == Vis::Private
            && self.output == Vis::Private
            && self.params != Vis::Hashed
            && self.linked.is_none()
        {
            return Err("nothing would be public: with private input and output, a proof says nothing; make one of them public or hashed".into());
        }
        if self.linked.input && self.input != Vis::Private
            || self.linked.output && self.output != Vis::Private
        {
            return Err("a linked tensor is private: its link column is what binds it".into());
        }
        Ok(())
    }

    /// Whether the circuit has any public row (a value, a word or a
    /// commitment): only a split model's chunk with no public input,
    /// output or weights has none.
    pub fn has_public_rows(&self) -> bool {
        [self.input, self.output, self.params]
            .iter()
            .any(|v| matches!(v, Vis::Public | Vis::Hashed))
    }

    /// Whether weights live in advice cells rather than the fixed column.
    pub fn params_in_advice(&self) -> bool {
        matches!(self.params, Vis::Private | Vis::Hashed | Vis::Committed)
    }

    /// Whether the weights column is committed as a whole: it is then the
    /// circuit's first advice column, with a salted tail.
    pub fn params_committed(&self) -> bool {
        self.params == Vis::Committed
    }

    pub fn hashes(&self) -> bool {
        [self.input, self.output, self.params].contains(&Vis::Hashed)
    }

    /// The visibility of `tensor`.
    pub fn of(&self, tensor: Tensor) -> Vis {
        match tensor {
            Tensor::Input => self.input,
            Tensor::Params => self.params,
            Tensor::Output => self.output,
        }
    }

    /// The hashed tensors, in commitment order.
    pub fn hashed(&self) -> impl Iterator<Item = Tensor> + '_ {
        Tensor::COMMITMENT_ORDER
            .into_iter()
            .filter(|&t| self.of(t) == Vis::Hashed)
    }
}

/// A tensor a commitment covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tensor {
    Input,
    Params,
    Output,
}

impl Tensor {
    /// The order of commitments among the public inputs and of sponges in
    /// the circuit.
    pub const COMMITMENT_ORDER: [Tensor; 3] = [Tensor::Input, Tensor::Params, Tensor::Output];
}

/// What one public input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicItem {
    /// Input element `i` (flattened), offset-encoded.
    Input(usize),
    /// Output element `j`, offset-encoded.
    Output(usize),
    /// The Poseidon hash of a tensor, as is.
    Commitment(Tensor),
    /// Elements `first .. first + len` of the input (`Tensor::Input`) or
    /// output, offset-encoded and packed into one word (see
    /// [`ValuePacking`]).
    Packed {
        tensor: Tensor,
        first: usize,
        len: usize,
    },
}

impl PublicItem {
    /// The name in `settings.json`, `proof.json` and the Solidity library.
    pub fn name(&self) -> String {
        match self {
            PublicItem::Input(i) => format!("input[{i}]"),
            PublicItem::Output(j) => format!("output[{j}]"),
            PublicItem::Commitment(Tensor::Input) => "input_commitment".into(),
            PublicItem::Commitment(Tensor::Params) => "params_commitment".into(),
            PublicItem::Commitment(Tensor::Output) => "output_commitment".into(),
            PublicItem::Packed { tensor, first, len } => {
                let base = if *tensor == Tensor::Input {
                    "input"
                } else {
                    "output"
                };
                format!("{base}[{first}..{}]", first + len)
            }
        }
    }

    /// The item a name stands for (`input[3]`, `output[0..12]`, ...).
    pub fn parse(name: &str) -> Option<PublicItem> {
        let commitment = |t| Some(PublicItem::Commitment(t));
        match name {
            "input_commitment" => return commitment(Tensor::Input),
            "params_commitment" => return commitment(Tensor::Params),
            "output_commitment" => return commitment(Tensor::Output),
            _ => {}
        }
        let (base, rest) = name.split_once('[')?;
        let inner = rest.strip_suffix(']')?;
        let tensor = match base {
            "input" => Tensor::Input,
            "output" => Tensor::Output,
            _ => return None,
        };
        match inner.split_once("..") {
            Some((a, b)) => {
                let (first, end): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                Some(PublicItem::Packed {
                    tensor,
                    first,
                    len: end.checked_sub(first)?,
                })
            }
            None => {
                let i = inner.parse().ok()?;
                Some(if tensor == Tensor::Input {
                    PublicItem::Input(i)
                } else {
                    PublicItem::Output(i)
                })
            }
        }
    }
}

/// How public values (inputs, outputs) pack into words: `per_word`
/// offset-encoded values of `bits` bits each, the first in the top slot.
/// An encoded value lies in `[1, 2^range_bits]`, so `bits = range_bits +
/// 1` holds it and `per_word · bits ≤ 252` keeps the word below the
/// modulus: each word has exactly one decomposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValuePacking {
    pub bits: u32,
    pub per_word: usize,
}

impl ValuePacking {
    pub fn for_range_bits(range_bits: u32) -> ValuePacking {
        let bits = range_bits + 1;
        ValuePacking {
            bits,
            per_word: (252 / bits as usize).max(1),
        }
    }

    /// `2^(range_bits−1) + 1`: what a slot adds to its value (the public
    /// offset, so a slot is never zero and always below `2^bits`).
    pub fn offset(&self) -> i64 {
        (1i64 << (self.bits - 2)) + 1
    }

    /// The packing of values whose encoding is `v + offset` (`offset =
    /// 2^(range_bits−1) + 1`, as `proof.json`'s `public_offset`).
    pub fn for_offset(offset: i64) -> ValuePacking {
        Self::for_range_bits((offset - 1).max(1).ilog2() + 1)
    }
}

/// Public-input names as runs: `(base, first index, length)` for a run of
/// `base[i]` names (`input[0]`, `input[1]`, ...), `(name, index, 0)` for a
/// single name such as `params_commitment`.
pub fn name_runs(names: &[String]) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match n.split_once('[') {
            Some((base, _)) => match out.last_mut() {
                Some((b, start, len)) if b == base && *len > 0 && *start + *len == i => *len += 1,
                _ => out.push((base.to_string(), i, 1)),
            },
            None => out.push((n.clone(), i, 0)),
        }
    }
    out
}

/// Public inputs in verifier order: public inputs, public outputs, then the
/// commitments (input, params, output) of hashed tensors. With `packing`,
/// the inputs and then the outputs are packed words (a tensor's last word
/// holds the rest; no word mixes inputs and outputs).
pub fn public_items(
    vis: &Visibility,
    num_inputs: usize,
    num_outputs: usize,
    packing: Option<ValuePacking>,
) -> Vec<PublicItem> {
    let mut items = Vec::new();
    let mut values = |tensor: Tensor, count: usize, one: fn(usize) -> PublicItem| match packing {
        None => items.extend((0..count).map(one)),
        Some(p) => items.extend(
            (0..count)
                .step_by(p.per_word)
                .map(|first| PublicItem::Packed {
                    tensor,
                    first,
                    len: p.per_word.min(count - first),
                }),
        ),
    };
    if vis.input == Vis::Public {
        values(Tensor::Input, num_inputs, PublicItem::Input);
    }
    if vis.output == Vis::Public {
        values(Tensor::Output, num_outputs, PublicItem::Output);
    }
    items.extend(vis.hashed().map(PublicItem::Commitment));
    items
}
