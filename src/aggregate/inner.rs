//! What an aggregation folds: model proofs, and proofs of other
//! aggregations (a tree of aggregations, each node bounded in memory
//! whatever the number of leaves).
//!
//! A node's proof carries its accumulator in its first 12 public inputs.
//! Its parent compiles the node's protocol with those indices marked, so
//! snark-verifier folds that accumulator into the parent's own instead of
//! exposing it: the pairing a leaf defers reaches the root's single check.

use super::{AggregateProof, Aggregated, InnerSpec, InnerSummary, ACCUMULATOR_LIMBS};
use crate::circuit::public::Tensor;
use crate::compile::Compiled;
use crate::proof::{self, Keys, ProofFile, TranscriptKind};
use anyhow::{bail, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile as compile_protocol, Config};
use snark_verifier_sdk::{CircuitExt, Snark};
use std::path::Path;

/// One proof to aggregate and what made it.
pub struct Inner {
    /// Where the proof came from, for messages.
    pub label: String,
    pub source: Source,
}

pub enum Source {
    /// A model proof (`prove --for-aggregation`).
    Model {
        compiled: Box<Compiled>,
        keys: Box<Keys>,
        proof: ProofFile,
    },
    /// An aggregation's proof (`aggregate --for-aggregation`).
    Node {
        node: Box<Aggregated>,
        proof: AggregateProof,
    },
}

/// What an aggregation's keys depend on in one of its proofs, known
/// before the proof exists (keygen runs on placeholders of this shape).
#[derive(Clone, Debug)]
pub struct ChildShape {
    pub num_public: usize,
    /// The first [`ACCUMULATOR_LIMBS`] public inputs are an accumulator.
    pub accumulator: bool,
    /// The public inputs exposed by default: all but an accumulator.
    pub exposed: Vec<usize>,
    /// The name of each public input.
    pub names: Vec<String>,
    /// The model proofs within, with `public_start` relative to this
    /// proof's public inputs.
    pub specs: Vec<InnerSpec>,
    /// Where it carries the cut before its first value and after its last
    /// (a split model's chunk or node; `None` at the model's own ends).
    pub link_in: Option<Edge>,
    pub link_out: Option<Edge>,
}

/// Where a proof carries one end of a cut of a split model: the commitment
/// to the cut's link column (`proof::link`), or that point's limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edge {
    /// A model proof's advice column: the point is its commitment to it.
    Column(usize),
    /// An aggregation's proof: its public inputs from this index on are
    /// the point's [`POINT_LIMBS`] limbs, which it took from the chunk at
    /// its edge ([`super::Wiring::edges`]).
    Limbs(usize),
}

/// x's limbs, then y's: a point as the aggregation circuit loads it.
pub const POINT_LIMBS: usize = 2 * super::accumulator::LIMBS_PER_COORDINATE;

impl ChildShape {
    /// A model proof's shape.
    pub fn of_model(c: &Compiled) -> ChildShape {
        let names = c.layout.public_names();
        let q = &c.settings.quant;
        let linked = c.settings.visibility.linked;
        ChildShape {
            link_in: linked.column(Tensor::Input).map(Edge::Column),
            link_out: linked.column(Tensor::Output).map(Edge::Column),
            num_public: names.len(),
            accumulator: false,
            exposed: (0..names.len()).collect(),
            specs: vec![InnerSpec {
                model_hash: c.settings.model_hash.clone(),
                k: c.settings.k,
                public_start: 0,
                num_public: names.len(),
                public_offset: q.public_offset(),
                scale_bits: q.scale_bits,
                public_layout: names.clone(),
            }],
            names,
        }
    }

    /// An aggregation's proof's shape: its accumulator, then the public
    /// inputs of the model proofs it exposes.
    pub fn of_node(a: &Aggregated) -> ChildShape {
        let s = &a.settings;
        let edges = &s.wiring.edges;
        // The edge points' limbs close its public inputs, input's first.
        let first_edge = s.num_public.saturating_sub(POINT_LIMBS * edges.count());
        let link_in = edges.input.map(|_| Edge::Limbs(first_edge));
        let link_out = edges
            .output
            .map(|_| Edge::Limbs(first_edge + POINT_LIMBS * link_in.is_some() as usize));
        let mut names: Vec<String> = (0..s.num_public)
            .map(|i| match i {
                i if i < ACCUMULATOR_LIMBS => format!("accumulator[{i}]"),
                i if i >= first_edge => {
                    let (side, at) = match link_in {
                        Some(Edge::Limbs(start)) if i < start + POINT_LIMBS => ("in", i - start),
                        _ => ("out", (i - first_edge) % POINT_LIMBS),
                    };
                    format!("link_{side}_limb[{at}]")
                }
                _ => format!("public input {i}"),
            })
            .collect();
        for spec in &s.inner {
            for (j, name) in spec.public_layout.iter().enumerate() {
                if let Some(slot) = names.get_mut(spec.public_start + j) {
                    slot.clone_from(name);
                }
            }
        }
        ChildShape {
            num_public: s.num_public,
            accumulator: true,
            exposed: (ACCUMULATOR_LIMBS..first_edge).collect(),
            names,
            specs: s.inner.clone(),
            link_in,
            link_out,
        }
    }

    /// The model specs within, placed for a parent that exposes `exposed`
    /// of this proof's public inputs from `start` on. A spec keeps the
    /// inputs of its own that are exposed: a split model's chunk shows the
    /// parent only its model-facing inputs, and a middle chunk none (its
    /// spec stays, with no inputs, so each model proof keeps its summary).
    pub fn placed_specs(&self, exposed: &[usize], start: usize) -> Vec<InnerSpec> {
        self.specs
            .iter()
            .map(|spec| {
                let own = spec.public_start..spec.public_start + spec.num_public;
                let shown: Vec<(usize, usize)> = exposed
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| own.contains(i))
                    .map(|(at, &i)| (at, i))
                    .collect();
                let first = match shown.first() {
                    Some(&(at, _)) => at,
                    None => exposed.iter().filter(|&&i| i < own.start).count(),
                };
                InnerSpec {
                    public_start: start + first,
                    num_public: shown.len(),
                    public_layout: shown
                        .iter()
                        .map(|&(_, i)| spec.public_layout[i - spec.public_start].clone())
                        .collect(),
                    ..spec.clone()
                }
            })
            .collect()
    }
}

impl Inner {
    /// A model proof of the compiled model in `model_dir`.
    pub fn load(model_dir: &Path, proof_path: &Path) -> Result<Inner> {
        let compiled = Compiled::load(model_dir)?;
        let keys = proof::load_keys(&compiled)?;
        let proof = ProofFile::read(proof_path)?;
        Ok(Inner {
            label: proof_path.display().to_string(),
            source: Source::Model {
                compiled: Box::new(compiled),
                keys: Box::new(keys),
                proof,
            },
        })
    }

    /// A proof of the aggregation in `dir`, or of the model there.
    pub fn load_any(dir: &Path, proof_path: &Path) -> Result<Inner> {
        match Aggregated::is_aggregate_dir(dir) {
            true => Inner::load_node(dir, proof_path),
            false => Inner::load(dir, proof_path),
        }
    }

    /// A proof of the aggregation in `dir` (`aggregate --for-aggregation`).
    pub fn load_node(dir: &Path, proof_path: &Path) -> Result<Inner> {
        Ok(Inner {
            label: proof_path.display().to_string(),
            source: Source::Node {
                node: Box::new(Aggregated::load(dir)?),
                proof: AggregateProof::read(proof_path)?,
            },
        })
    }

    /// The model proof, if this is one.
    pub fn model_proof(&self) -> Option<&ProofFile> {
        match &self.source {
            Source::Model { proof, .. } => Some(proof),
            Source::Node { .. } => None,
        }
    }

    /// The model proof, if this is one, to replace (tests of what a
    /// cheating prover can do).
    pub fn model_proof_mut(&mut self) -> Option<&mut ProofFile> {
        match &mut self.source {
            Source::Model { proof, .. } => Some(proof),
            Source::Node { .. } => None,
        }
    }

    pub fn shape(&self) -> ChildShape {
        match &self.source {
            Source::Model { compiled, .. } => ChildShape::of_model(compiled),
            Source::Node { node, .. } => ChildShape::of_node(node),
        }
    }

    /// The transcript the proof was made with.
    pub fn transcript(&self) -> TranscriptKind {
        match &self.source {
            Source::Model { proof, .. } => proof.transcript,
            Source::Node { proof, .. } => proof.transcript,
        }
    }

    /// Whether this is a proof of an aggregation.
    pub fn is_node(&self) -> bool {
        matches!(self.source, Source::Node { .. })
    }

    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        match &self.source {
            Source::Model { keys, .. } => &keys.vk,
            Source::Node { node, .. } => &node.vk,
        }
    }

    pub fn params(&self) -> &ParamsKZG<Bn256> {
        match &self.source {
            Source::Model { keys, .. } => &keys.params,
            Source::Node { node, .. } => &node.params,
        }
    }

    pub fn instances(&self) -> Result<Vec<Fr>> {
        match &self.source {
            Source::Model { proof, .. } => proof.instances(),
            Source::Node { proof, .. } => proof.instances(),
        }
    }

    pub(super) fn proof_bytes(&self) -> Result<Vec<u8>> {
        match &self.source {
            Source::Model { proof, .. } => proof.proof_bytes(),
            Source::Node { proof, .. } => proof.proof_bytes(),
        }
    }

    /// The outputs of each model proof within, dequantized, in order.
    pub fn outputs(&self) -> Vec<Vec<f64>> {
        match &self.source {
            Source::Model { proof, .. } => vec![proof.outputs.clone()],
            Source::Node { proof, .. } => proof.inner.iter().map(|s| s.outputs.clone()).collect(),
        }
    }

    /// The model summaries within, placed as [`ChildShape::placed_specs`].
    pub fn summaries(&self, specs: &[InnerSpec]) -> Vec<InnerSummary> {
        specs
            .iter()
            .zip(self.outputs())
            .map(|(spec, outputs)| InnerSummary {
                model_hash: spec.model_hash.clone(),
                public_start: spec.public_start,
                num_public: spec.num_public,
                public_offset: spec.public_offset,
                scale_bits: spec.scale_bits,
                outputs,
            })
            .collect()
    }

    /// The proof as snark-verifier sees it, after checking it is one the
    /// aggregation circuit can prove: a refused proof must fail here, with
    /// its name, not deep inside the prover.
    pub fn snark(&self) -> Result<Snark> {
        let label = &self.label;
        match &self.source {
            Source::Model {
                compiled: c,
                keys,
                proof: p,
            } => {
                if c.settings.visibility.params_committed() {
                    bail!("{label}: committed weights do not aggregate (the aggregated proof would not expose their commitment, so it would say \"some weights\"); use --param-visibility hashed or fixed");
                }
                if p.transcript != TranscriptKind::Poseidon {
                    bail!("{label} was proved for the EVM verifier; aggregation needs `zkml-evm prove --for-aggregation`");
                }
                if p.model_hash != c.settings.model_hash {
                    bail!(
                        "{label} is a proof for another model than {} (model hash differs)",
                        c.dir.display()
                    );
                }
                let instance = p.instances()?;
                if instance.len() != c.settings.layout.public_inputs {
                    bail!(
                        "{label} has {} public inputs; model {} has {}",
                        instance.len(),
                        c.dir.display(),
                        c.settings.layout.public_inputs
                    );
                }
                let bytes = p.proof_bytes()?;
                if !proof::verify_model_proof(TranscriptKind::Poseidon, keys, &bytes, &instance) {
                    bail!(
                        "{label} does not verify for model {}: refusing to aggregate it",
                        c.dir.display()
                    );
                }
            }
            Source::Node { node, proof: p } => {
                if p.transcript != TranscriptKind::Poseidon {
                    bail!("{label} was proved for the EVM verifier; a parent aggregation needs `zkml-evm aggregate --for-aggregation`");
                }
                if !node.verify(p)? {
                    bail!(
                        "{label} does not verify for aggregation {}: refusing to aggregate it",
                        node.dir.display()
                    );
                }
            }
        }
        self.snark_as_given()
    }

    /// The proof as snark-verifier sees it, unchecked.
    pub fn snark_as_given(&self) -> Result<Snark> {
        let instance = self.instances()?;
        let mut config = Config::kzg().with_num_instance(vec![instance.len()]);
        if matches!(self.source, Source::Node { .. }) {
            config = config.with_accumulator_indices(AggregationCircuit::accumulator_indices());
        }
        let protocol = compile_protocol(self.params(), self.vk(), config);
        Ok(Snark::new(protocol, vec![instance], self.proof_bytes()?))
    }
}
