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
}

impl std::fmt::Display for Vis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Vis::Public => "public",
            Vis::Private => "private",
            Vis::Hashed => "hashed",
            Vis::Fixed => "fixed",
        })
    }
}

/// The three choices `compile` records in `settings.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Visibility {
    pub input: Vis,
    pub output: Vis,
    pub params: Vis,
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility { input: Vis::Public, output: Vis::Public, params: Vis::Fixed }
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
            return Err("--param-visibility public: weights are either fixed in the circuit, private, or hashed".into());
        }
        if self.input == Vis::Private && self.output == Vis::Private && self.params != Vis::Hashed {
            return Err("nothing would be public: with private input and output, a proof says nothing; make one of them public or hashed".into());
        }
        Ok(())
    }

    /// Whether weights live in advice cells rather than the fixed column.
    pub fn params_in_advice(&self) -> bool {
        matches!(self.params, Vis::Private | Vis::Hashed)
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
        Tensor::COMMITMENT_ORDER.into_iter().filter(|&t| self.of(t) == Vis::Hashed)
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
        }
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
/// commitments (input, params, output) of hashed tensors.
pub fn public_items(vis: &Visibility, num_inputs: usize, num_outputs: usize) -> Vec<PublicItem> {
    let mut items = Vec::new();
    if vis.input == Vis::Public {
        items.extend((0..num_inputs).map(PublicItem::Input));
    }
    if vis.output == Vis::Public {
        items.extend((0..num_outputs).map(PublicItem::Output));
    }
    items.extend(vis.hashed().map(PublicItem::Commitment));
    items
}
