//! `aggregate`: fold proofs of compiled models into one KZG proof.
//!
//! Inner proofs are made with the Poseidon transcript (`prove
//! --for-aggregation`): snark-verifier replays Poseidon in-circuit far more
//! cheaply than Keccak. The aggregation circuit (snark-verifier-sdk,
//! SHPLONK) verifies every inner proof up to its final pairing and folds
//! those pairings into one KZG accumulator, exposed as 12 limbs at the front
//! of its public inputs; every inner proof's public inputs follow, in order.
//! The outer proof uses the EVM transcript, so our own verifier generator
//! emits its Solidity verifier, which adds the accumulator's pairing to the
//! proof's own (see `evm::codegen`).
//!
//! The aggregation keys depend on the inner verifying keys (the inner
//! circuits are constants of the outer one) and on k; they are written to the
//! output directory and reused while that shape stays the same.

mod accumulator;
mod inner;
#[cfg(test)]
mod tests;

pub use accumulator::point_limbs;
pub use accumulator::{accumulator_holds, ACCUMULATOR_LIMBS};
pub use inner::{ChildShape, Edge, Inner, Source, POINT_LIMBS};

use crate::artifact::{self, to_hex};
use crate::proof::{self, fr_to_hex, srs, Keys, TranscriptKind};
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::GroupEncoding;
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use snark_verifier_sdk::halo2::aggregation::{
    aggregate_snarks, AggregationCircuit, AggregationConfigParams, AssignedTranscriptObject, Svk,
    VerifierUniversality,
};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::{GateChip, GateInstructions};
use snark_verifier_sdk::snark_verifier::halo2_base::AssignedValue;
use snark_verifier_sdk::{CircuitExt, Snark, SHPLONK};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const SETTINGS_FILE: &str = "aggregate.json";
pub const PROOF_FILE: &str = "proof.json";
pub const SETTINGS_VERSION: u32 = 1;
pub const PROOF_VERSION: u32 = 1;

/// Rows the aggregation circuit keeps free of gates (blinding and halo2-base's
/// own margin).
const MINIMUM_ROWS: usize = 20;

/// `ADIR/aggregate.json`: what the aggregation circuit was built for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AggregateSettings {
    pub version: u32,
    pub k: u32,
    /// Identifies the keys: k and every inner verifying key.
    pub shape_id: String,
    pub config: AggregationConfigParams,
    pub break_points: Vec<Vec<usize>>,
    pub inner: Vec<InnerSpec>,
    /// 12 accumulator limbs, then each inner proof's exposed public inputs,
    /// then the limbs of the edge points (`Wiring::edges`, tree nodes).
    pub num_public: usize,
    pub dev_srs: bool,
    /// Which inner public inputs are exposed and which are linked (a split
    /// model's chunk boundaries); the default exposes all, links none.
    #[serde(default)]
    pub wiring: Wiring,
}

/// How the inner proofs meet in the aggregation circuit. The circuit holds
/// every inner public input and every loaded commitment as cells; links
/// constrain two of them equal (a split model's cuts, see
/// `split::wiring_of`), and only the exposed inputs and the edge points
/// become public inputs of the aggregated proof.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wiring {
    /// Per inner proof, the indices of its public inputs to expose, in
    /// order; `None` exposes all of every proof.
    #[serde(default)]
    pub exposed: Option<Vec<Vec<usize>>>,
    /// `[(proof a, index i), (proof b, index j)]`: a's i-th public input
    /// equals b's j-th.
    #[serde(default)]
    pub links: Vec<[(usize, usize); 2]>,
    /// `[(proof a, column i), (proof b, column j)]`: a's commitment to its
    /// i-th advice column is b's to its j-th, so the two columns hold the
    /// same data (commitment-equality links, `proof::link`). Model proofs
    /// only. Left out of the JSON when empty, so the keys of wirings
    /// without them keep their ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub point_links: Vec<[(usize, usize); 2]>,
    /// `[(proof a, column i), (proof b, index j)]`: the limbs of a's
    /// commitment to its i-th advice column are b's public inputs
    /// `j..j + POINT_LIMBS` (a chunk beside an aggregation's edge).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limb_links: Vec<[(usize, usize); 2]>,
    /// The cut points at this aggregation's own edges, exposed as limbs
    /// after every other public input, so that its parent can link them.
    #[serde(default, skip_serializing_if = "Edges::is_none")]
    pub edges: Edges,
}

/// A tree node's edges ([`Wiring::edges`]): `(proof, where it carries
/// the point)` for the cut before its first chunk and after its last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edges {
    pub input: Option<(usize, Edge)>,
    pub output: Option<(usize, Edge)>,
}

impl Edges {
    pub fn is_none(&self) -> bool {
        self.input.is_none() && self.output.is_none()
    }

    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Input edge first, as they are exposed.
    pub fn iter(&self) -> impl Iterator<Item = (usize, Edge)> {
        self.input.into_iter().chain(self.output)
    }
}

impl Wiring {
    /// The indices of the public inputs proof `which` exposes: `default`
    /// (all but an accumulator, [`ChildShape::exposed`]) unless set.
    pub fn exposed_of(&self, which: usize, default: &[usize]) -> Vec<usize> {
        match &self.exposed {
            Some(e) => e[which].clone(),
            None => default.to_vec(),
        }
    }

    /// Per proof, the public inputs it exposes.
    fn exposed_all(&self, shapes: &[ChildShape]) -> Vec<Vec<usize>> {
        (0..shapes.len())
            .map(|w| self.exposed_of(w, &shapes[w].exposed))
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InnerSpec {
    pub model_hash: String,
    pub k: u32,
    /// Index of this proof's first public input in the aggregated proof.
    pub public_start: usize,
    pub num_public: usize,
    pub public_offset: i64,
    pub scale_bits: u32,
    /// The name of each of this proof's public inputs (`input[0]`,
    /// `output[1]`, ...), as in its model's settings.
    #[serde(default)]
    pub public_layout: Vec<String>,
}

/// `ADIR/proof.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AggregateProof {
    pub version: u32,
    pub aggregated: usize,
    pub k: u32,
    pub proof: String,
    /// uint256 hex: 12 accumulator limbs (88 bits each: lhs.x, lhs.y, rhs.x,
    /// rhs.y, low limb first), then every inner proof's public inputs.
    pub public_inputs: Vec<String>,
    pub inner: Vec<InnerSummary>,
    pub prove_seconds: f64,
    /// Keccak for the EVM verifier; Poseidon for a parent aggregation
    /// (`aggregate --for-aggregation`).
    #[serde(default)]
    pub transcript: TranscriptKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InnerSummary {
    pub model_hash: String,
    pub public_start: usize,
    pub num_public: usize,
    pub public_offset: i64,
    pub scale_bits: u32,
    /// The model outputs this proof attests to, dequantized.
    pub outputs: Vec<f64>,
}

impl AggregateProof {
    pub fn read(path: &Path) -> Result<AggregateProof> {
        Self::from_json(artifact::read_json(path)?, path)
    }

    /// The proof in `v`, the contents of `path`.
    pub fn from_json(v: serde_json::Value, path: &Path) -> Result<AggregateProof> {
        if v.get("aggregated").is_none() && v.get("model_hash").is_some() {
            bail!(
                "{} is a model proof, not an aggregated one: verify it with its model directory",
                path.display()
            );
        }
        let p: AggregateProof = serde_json::from_value(v)
            .with_context(|| format!("{} is malformed", path.display()))?;
        if p.version != PROOF_VERSION {
            bail!(
                "{}: aggregate proof version {} is not supported (expected {PROOF_VERSION})",
                path.display(),
                p.version
            );
        }
        Ok(p)
    }

    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        artifact::from_hex(&self.proof).context("field `proof`")
    }

    pub fn instances(&self) -> Result<Vec<Fr>> {
        proof::parse_instances(&self.public_inputs)
    }
}

/// What `aggregate` did.
#[derive(Debug, Clone, Serialize)]
pub struct AggregateReport {
    pub aggregated: usize,
    pub k: u32,
    pub num_advice: usize,
    pub num_lookup_advice: usize,
    pub num_fixed: usize,
    /// None when the keys of an earlier run with the same shape were reused.
    pub keygen_seconds: Option<f64>,
    pub prove_seconds: f64,
    pub proof_bytes: usize,
    pub num_public: usize,
}

pub struct Options {
    /// log2 rows of the aggregation circuit.
    pub k: u32,
    /// Ceremony SRS (else the development SRS); must be the one the inner
    /// proofs were made with.
    pub srs: Option<PathBuf>,
    /// The proof's transcript: `Evm` for an EVM verifier, `Poseidon` for a
    /// proof another aggregation folds.
    pub transcript: TranscriptKind,
}

/// Default log2 rows of the aggregation circuit; see README "Aggregation" for
/// the measurements behind it.
pub const DEFAULT_K: u32 = 21;

/// Identifies aggregation keys: k, every inner verifying key and its
/// public-input count, and the wiring (its links are constraints).
fn shape_id(k: u32, inners: &[(&VerifyingKey<G1Affine>, usize)], wiring: &Wiring) -> String {
    let mut h = Keccak256::new()
        .chain_update(b"zkml-evm aggregate v2")
        .chain_update(k.to_le_bytes());
    for (vk, num_public) in inners {
        h.update(Keccak256::digest(vk.to_bytes(SerdeFormat::RawBytes)));
        h.update((*num_public as u64).to_le_bytes());
    }
    if *wiring != Wiring::default() {
        h.update(serde_json::to_vec(wiring).expect("wiring serializes"));
    }
    to_hex(&h.finalize())
}

fn id_bytes(shape_id: &str) -> [u8; 32] {
    let b = artifact::from_hex(shape_id).unwrap_or_default();
    b.try_into().unwrap_or([0u8; 32])
}

fn outer_params(opts: &Options) -> Result<ParamsKZG<Bn256>> {
    match &opts.srs {
        Some(p) => srs::params_from_file(p, opts.k),
        None => {
            eprintln!("warning: {}", srs::DEV_WARNING);
            srs::dev_params(opts.k)
        }
    }
}

/// The aggregation circuit over `snarks`: the accumulator, then the inner
/// public inputs `exposed` names (per proof); the links of `wiring` are
/// copy constraints between inner public-input cells, and its point links
/// between the limbs of inner witness commitments. An inner aggregation's
/// accumulator is folded into this one (its protocol marks it, see
/// [`Inner::snark_as_given`]), never exposed.
///
/// snark-verifier-sdk's `AggregationCircuit::new` keeps the inner public
/// inputs and drops the loaded proofs; this is the same circuit (the same
/// builder calls, so the same keys) with the proofs' points kept for the
/// point links.
fn circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    wiring: &Wiring,
    exposed: &[Vec<usize>],
) -> Result<BaseCircuitBuilder<Fr>> {
    check_point_link_shapes(&snarks, wiring)?;
    let svk: Svk = ParamsProver::get_g(params)[0].into();
    let mut builder = BaseCircuitBuilder::from_stage(stage).use_params(config.into());
    let range = builder.range_chip();
    let out = aggregate_snarks::<SHPLONK>(
        builder.pool(0),
        &range,
        svk,
        snarks,
        VerifierUniversality::None,
    );
    builder.assigned_instances[0] = out.accumulator;
    let inner = out.previous_instances;
    let gate = GateChip::<Fr>::default();
    for [(a, i), (b, j)] in &wiring.links {
        let (x, y) = (inner[*a][*i], inner[*b][*j]);
        let ctx = builder.main(0);
        ctx.constrain_equal(&x, &y);
        // A model circuit binds nothing to a zero public input (its public
        // gate is multiplied by the instance), so a hidden link of two zeros
        // would join any two tensors: the verifiers refuse zero for the
        // public inputs they see, and this does it for the hidden ones.
        // (Split builds link only point limbs this way, which an
        // aggregation's proof binds whatever their value; a limb of a real
        // commitment is zero with negligible probability.)
        let zero = gate.is_zero(ctx, x);
        gate.assert_is_const(ctx, &zero, &Fr::zero());
    }
    let transcripts = &out.proof_transcripts;
    for [(a, i), (b, j)] in &wiring.point_links {
        // Equal limbs are equal coordinates, so equal points: KZG binds
        // each proof's column to its commitment, so the two columns are one
        // polynomial over their one domain (see `proof::link`). halo2-ecc
        // loads coordinates reduced (its on-curve check calls `is_zero`,
        // which enforces `< p`), so equal points have equal limbs.
        let (p, q) = (
            point_limb_cells(transcripts, *a, *i),
            point_limb_cells(transcripts, *b, *j),
        );
        let ctx = builder.main(0);
        for (l, m) in p.iter().zip(&q) {
            ctx.constrain_equal(l, m);
        }
    }
    for [(a, column), (b, start)] in &wiring.limb_links {
        // The limbs a node passed up from its edge chunk (that node's own
        // circuit copies them from the point it loaded, see `edges` below).
        let p = point_limb_cells(transcripts, *a, *column);
        let ctx = builder.main(0);
        for (l, m) in p.iter().zip(&inner[*b][*start..*start + POINT_LIMBS]) {
            ctx.constrain_equal(l, m);
        }
    }
    for (cells, shown) in inner.iter().zip(exposed) {
        for &i in shown {
            builder.assigned_instances[0].push(cells[i]);
        }
    }
    for (w, edge) in wiring.edges.iter() {
        let limbs = match edge {
            Edge::Column(column) => point_limb_cells(transcripts, w, column),
            Edge::Limbs(start) => inner[w][start..start + POINT_LIMBS].to_vec(),
        };
        builder.assigned_instances[0].extend(limbs);
    }
    Ok(builder)
}

/// Refuse point links that could not mean what they say: an end that is
/// an aggregation's proof (its commitments are its own circuit's), a
/// column past the first phase's advice columns (the point loaded there is
/// another commitment), or two proofs over different domains (equal
/// commitments are one polynomial, but its rows differ between domains).
/// Limb ends must be an aggregation's public inputs. (The domain of the
/// chunk whose limbs a node passed up is checked against the node's shape,
/// in [`check_limb_link_domains`].)
fn check_point_link_shapes(snarks: &[Snark], wiring: &Wiring) -> Result<()> {
    let protocol = |w: usize| {
        snarks
            .get(w)
            .map(|s| &s.protocol)
            .with_context(|| format!("point link to proof {w}, of {}", snarks.len()))
    };
    let column_end = |w: usize, column: usize| -> Result<()> {
        let p = protocol(w)?;
        if !p.accumulator_indices.is_empty() {
            bail!("point link to proof {w}: it is an aggregation's proof, not a model proof");
        }
        if column >= p.num_witness.first().copied().unwrap_or(0) {
            bail!("point link to proof {w}: it has no first-phase advice column {column}");
        }
        Ok(())
    };
    let limbs_end = |w: usize, start: usize| -> Result<()> {
        let p = protocol(w)?;
        let count = snarks[w].instances.first().map_or(0, Vec::len);
        if p.accumulator_indices.is_empty() || start + POINT_LIMBS > count {
            bail!("limb link to proof {w}: it has no point limbs at public input {start}");
        }
        Ok(())
    };
    for link in &wiring.point_links {
        for &(w, column) in link {
            column_end(w, column)?;
        }
        let [(a, _), (b, _)] = *link;
        let (ka, kb) = (snarks[a].protocol.domain.k, snarks[b].protocol.domain.k);
        if ka != kb {
            bail!("point link between proofs {a} (k = {ka}) and {b} (k = {kb}): linked columns must share one domain");
        }
    }
    for &[(a, column), (b, start)] in &wiring.limb_links {
        column_end(a, column)?;
        limbs_end(b, start)?;
    }
    for (w, edge) in wiring.edges.iter() {
        match edge {
            Edge::Column(column) => column_end(w, column)?,
            Edge::Limbs(start) => limbs_end(w, start)?,
        }
    }
    Ok(())
}

/// A limb link's two points must be commitments over one domain too: the
/// chunk's k against that of the chunk at the node's edge (its first model
/// proof for an input edge, its last for an output edge), which the node's
/// shape records. (`check_point_link_shapes` checks the rest; the node's
/// circuit cannot show this k, its shape can.)
fn check_limb_link_domains(snarks: &[Snark], shapes: &[ChildShape], wiring: &Wiring) -> Result<()> {
    for &[(a, _), (b, start)] in &wiring.limb_links {
        let (Some(chunk), Some(node)) = (snarks.get(a), shapes.get(b)) else {
            bail!("limb link between proofs {a} and {b}, of {}", snarks.len());
        };
        let edge_chunk = match (node.link_in, node.link_out) {
            (Some(Edge::Limbs(s)), _) if s == start => node.specs.first(),
            (_, Some(Edge::Limbs(s))) if s == start => node.specs.last(),
            _ => bail!("limb link to proof {b}: it carries no edge at public input {start}"),
        };
        let k = chunk.protocol.domain.k as u32;
        match edge_chunk {
            Some(spec) if spec.k == k => {}
            _ => bail!("limb link between proofs {a} (k = {k}) and {b}: the chunk at its edge is at another k; linked columns must share one domain"),
        }
    }
    Ok(())
}

/// The limbs (x's, then y's) of the `i`-th point proof `w`'s transcript
/// loads: its `i`-th advice commitment, for a proof whose advice columns
/// are all in the first phase (every model circuit's), as halo2 writes
/// those first.
fn point_limb_cells(
    transcripts: &[Vec<AssignedTranscriptObject>],
    w: usize,
    i: usize,
) -> Vec<AssignedValue<Fr>> {
    let p = transcripts[w]
        .iter()
        .filter_map(|o| match o {
            AssignedTranscriptObject::EcPoint(p) => Some(p),
            AssignedTranscriptObject::Scalar(_) => None,
        })
        .nth(i)
        .expect("a point link names a commitment the proof has (checked before proving)");
    [p.x(), p.y()]
        .into_iter()
        .flat_map(|c| c.limbs().iter().copied())
        .collect()
}

fn initial_config(k: u32) -> AggregationConfigParams {
    AggregationConfigParams {
        degree: k,
        lookup_bits: k as usize - 1,
        ..Default::default()
    }
}

/// Fold `inners` into one proof written to `out/proof.json`; keys and
/// settings go to `out` too.
pub fn aggregate(inners: &[Inner], out: &Path, opts: &Options) -> Result<AggregateReport> {
    if inners.is_empty() {
        bail!("nothing to aggregate: give at least one proof");
    }
    aggregate_wired(inners, &Wiring::default(), out, &out.join(PROOF_FILE), opts)
}

/// [`aggregate`] with `wiring`, keys in `key_dir`, the proof at `proof_path`.
pub fn aggregate_wired(
    inners: &[Inner],
    wiring: &Wiring,
    key_dir: &Path,
    proof_path: &Path,
    opts: &Options,
) -> Result<AggregateReport> {
    check_links(inners, wiring)?;
    let snarks = inners
        .iter()
        .map(Inner::snark)
        .collect::<Result<Vec<_>>>()?;
    prove_wired(inners, snarks, wiring, key_dir, proof_path, opts)
}

/// [`aggregate_wired`] as an attacker runs it, with the public proving key
/// and none of the driver's checks (each inner proof verifies, linked
/// public inputs are equal): a test shows that the aggregation circuit
/// itself refuses what those checks refuse, as its proof fails
/// verification.
#[doc(hidden)]
pub fn aggregate_wired_unchecked(
    inners: &[Inner],
    wiring: &Wiring,
    key_dir: &Path,
    proof_path: &Path,
    opts: &Options,
) -> Result<AggregateReport> {
    let snarks = inners
        .iter()
        .map(Inner::snark_as_given)
        .collect::<Result<Vec<_>>>()?;
    prove_wired(inners, snarks, wiring, key_dir, proof_path, opts)
}

fn prove_wired(
    inners: &[Inner],
    snarks: Vec<Snark>,
    wiring: &Wiring,
    key_dir: &Path,
    proof_path: &Path,
    opts: &Options,
) -> Result<AggregateReport> {
    let out = key_dir;
    if !(12..=26).contains(&opts.k) {
        bail!(
            "--k {} is out of range: the aggregation circuit needs 12 <= k <= 26",
            opts.k
        );
    }
    let params = outer_params(opts)?;
    for i in inners {
        if i.params().s_g2() != params.s_g2() {
            bail!("{} was proved with another SRS than the aggregation's; use the same --srs for both", i.label);
        }
    }
    let shapes: Vec<ChildShape> = inners.iter().map(Inner::shape).collect();
    let described: Vec<_> = inners
        .iter()
        .zip(&shapes)
        .map(|(i, s)| (i.vk(), s.num_public))
        .collect();
    let shape = shape_id(opts.k, &described, wiring);
    let exposed = wiring.exposed_all(&shapes);
    let (settings, pk, keygen_seconds) = match load_keys_for(out, &shape, &params)? {
        Some((s, pk)) => {
            eprintln!("reusing aggregation keys in {}", out.display());
            (s, pk, None)
        }
        None => {
            let t = Instant::now();
            eprintln!(
                "aggregation keygen (k={}, {} proofs) ...",
                opts.k,
                inners.len()
            );
            let keygen_step = crate::progress::step("aggregation keygen");
            let (s, pk) = keygen(&shapes, &snarks, &params, opts, shape, wiring)?;
            drop(keygen_step);
            write_keys(out, &s, &pk, &params)?;
            (s, pk, Some(t.elapsed().as_secs_f64()))
        }
    };

    check_limb_link_domains(&snarks, &shapes, wiring)?;
    eprintln!("proving the aggregation ...");
    let t = Instant::now();
    let c = circuit(
        CircuitBuilderStage::Prover,
        settings.config,
        &params,
        snarks,
        wiring,
        &exposed,
    )?
    .use_break_points(settings.break_points.clone());
    let instances = c.instances().remove(0);
    let proving = crate::progress::step("proving the aggregation");
    let proof_bytes = proof::prove_circuit_with(opts.transcript, &params, &pk, c, &instances)?;
    drop(proving);
    let prove_seconds = t.elapsed().as_secs_f64();
    if !verify_bytes(
        opts.transcript,
        &params,
        pk.get_vk(),
        &settings,
        &proof_bytes,
        &instances,
    ) {
        bail!("internal error: the aggregated proof does not verify");
    }

    let inner_summaries = placed_specs(&shapes, &exposed)
        .iter()
        .zip(inners)
        .flat_map(|(specs, i)| i.summaries(specs))
        .collect();
    let file = AggregateProof {
        version: PROOF_VERSION,
        aggregated: inners.len(),
        k: settings.k,
        proof: to_hex(&proof_bytes),
        public_inputs: instances.iter().map(fr_to_hex).collect(),
        inner: inner_summaries,
        prove_seconds,
        transcript: opts.transcript,
    };
    artifact::write_json(proof_path, &file)?;
    Ok(AggregateReport {
        aggregated: inners.len(),
        k: settings.k,
        num_advice: settings.config.num_advice,
        num_lookup_advice: settings.config.num_lookup_advice,
        num_fixed: settings.config.num_fixed,
        keygen_seconds,
        prove_seconds,
        proof_bytes: proof_bytes.len(),
        num_public: instances.len(),
    })
}

/// Refuse linked public inputs that differ before proving: the circuit's
/// copy constraint would make the proof fail, but only after minutes, and
/// without saying which proofs do not fit together.
fn check_links(inners: &[Inner], wiring: &Wiring) -> Result<()> {
    for [(a, i), (b, j)] in &wiring.links {
        let (x, y) = (inners[*a].instances()?, inners[*b].instances()?);
        if x.get(*i).is_none() || x.get(*i) != y.get(*j) {
            let name = |w: usize, k: usize| {
                inners[w]
                    .shape()
                    .names
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| format!("public input {k}"))
            };
            bail!(
                "{}: its {} does not equal the {} of {}, which it must continue; the proofs are not of one computation",
                inners[*b].label,
                name(*b, *j),
                name(*a, *i),
                inners[*a].label
            );
        }
    }
    let commitment = |w: usize, column: usize| -> Result<Vec<u8>> {
        let inner = &inners[w];
        if inner.is_node() {
            bail!("{}: a point link needs a model proof", inner.label);
        }
        if inner.transcript() != TranscriptKind::Poseidon {
            bail!(
                "{} was proved for the EVM verifier; aggregation needs `prove --for-aggregation`",
                inner.label
            );
        }
        let proof = inner.proof_bytes()?;
        advice_commitment(&proof, inner.vk(), column)
            .map(<[u8]>::to_vec)
            .with_context(|| format!("{}: no advice column {column} to link", inner.label))
    };
    for [(a, i), (b, j)] in &wiring.point_links {
        if commitment(*a, *i)? != commitment(*b, *j)? {
            bail!(
                "{}: its commitment to the boundary (advice column {j}) is not that of {} (column {i}); the proofs are not of one computation",
                inners[*b].label,
                inners[*a].label
            );
        }
    }
    for [(a, column), (b, start)] in &wiring.limb_links {
        let limbs = decompress(&commitment(*a, *column)?).and_then(|p| point_limbs(&p));
        let carried = inners[*b].instances()?;
        if limbs.as_deref() != carried.get(*start..*start + POINT_LIMBS) {
            bail!(
                "{}: its commitment to the boundary (advice column {column}) is not the one {} carries at its edge; the proofs are not of one computation",
                inners[*a].label,
                inners[*b].label
            );
        }
    }
    Ok(())
}

/// A compressed G1 point, if it is one.
fn decompress(bytes: &[u8]) -> Option<G1Affine> {
    let mut c = <G1Affine as GroupEncoding>::Repr::default();
    c.as_mut().copy_from_slice(bytes.get(..32)?);
    Option::from(G1Affine::from_bytes(&c))
}

/// The commitment to advice column `column` in a Poseidon-transcript proof
/// of a circuit whose advice columns are all in the first phase (every
/// model circuit): halo2 writes those commitments first, in column order,
/// 32 bytes each (compressed, so equal bytes are equal points).
pub fn advice_commitment<'a>(
    proof: &'a [u8],
    vk: &VerifyingKey<G1Affine>,
    column: usize,
) -> Option<&'a [u8]> {
    if column >= vk.cs().num_advice_columns() {
        return None;
    }
    proof.get(32 * column..32 * (column + 1))
}

/// Aggregation keys for proofs of the shapes `shapes` and keys `keys` give
/// (model proofs, or proofs of other aggregations), made before any proof
/// exists: keygen needs only each proof's shape, so placeholder proofs of
/// the right shape stand in.
pub fn setup_wired(
    shapes: &[ChildShape],
    keys: &[&Keys],
    wiring: &Wiring,
    key_dir: &Path,
    opts: &Options,
) -> Result<f64> {
    let params = outer_params(opts)?;
    let described: Vec<_> = shapes
        .iter()
        .zip(keys)
        .map(|(s, k)| (&k.vk, s.num_public))
        .collect();
    let shape = shape_id(opts.k, &described, wiring);
    if load_keys_for(key_dir, &shape, &params)?.is_some() {
        return Ok(0.0);
    }
    let snarks: Vec<Snark> = shapes
        .iter()
        .zip(keys)
        .map(|(s, k)| {
            let accumulator = s
                .accumulator
                .then(AggregationCircuit::accumulator_indices)
                .flatten();
            snark_verifier_sdk::halo2::gen_dummy_snark_from_vk::<SHPLONK>(
                &k.params,
                &k.vk,
                vec![s.num_public],
                accumulator,
            )
        })
        .collect();
    let t = Instant::now();
    let keygen_step = crate::progress::step("aggregation keygen");
    std::fs::create_dir_all(key_dir)
        .with_context(|| format!("cannot create {}", key_dir.display()))?;
    let (s, pk) = keygen(shapes, &snarks, &params, opts, shape, wiring)?;
    drop(keygen_step);
    write_keys(key_dir, &s, &pk, &params)?;
    Ok(t.elapsed().as_secs_f64())
}

/// Per proof, the model specs within it, placed in the aggregated
/// proof's public inputs (after the accumulator, in proof order).
fn placed_specs(shapes: &[ChildShape], exposed: &[Vec<usize>]) -> Vec<Vec<InnerSpec>> {
    let mut start = ACCUMULATOR_LIMBS;
    shapes
        .iter()
        .zip(exposed)
        .map(|(shape, shown)| {
            let specs = shape.placed_specs(shown, start);
            start += shown.len();
            specs
        })
        .collect()
}

fn keygen(
    shapes: &[ChildShape],
    snarks: &[Snark],
    params: &ParamsKZG<Bn256>,
    opts: &Options,
    shape_id: String,
    wiring: &Wiring,
) -> Result<(AggregateSettings, ProvingKey<G1Affine>)> {
    let exposed = wiring.exposed_all(shapes);
    check_limb_link_domains(snarks, shapes, wiring)?;
    let mut c = circuit(
        CircuitBuilderStage::Keygen,
        initial_config(opts.k),
        params,
        snarks.to_vec(),
        wiring,
        &exposed,
    )?;
    let config: AggregationConfigParams = c
        .calculate_params(Some(MINIMUM_ROWS))
        .try_into()
        .map_err(anyhow::Error::msg)?;
    let vk = keygen_vk_custom(params, &c, true)
        .context("aggregation verifying key generation failed")?;
    let pk = keygen_pk(params, vk, &c).context("aggregation proving key generation failed")?;
    let inner: Vec<InnerSpec> = placed_specs(shapes, &exposed).concat();
    // The accumulator, the exposed inner inputs, then the edge limbs.
    let num_public = c.assigned_instances[0].len();
    assert_eq!(
        num_public,
        ACCUMULATOR_LIMBS
            + exposed.iter().map(Vec::len).sum::<usize>()
            + POINT_LIMBS * wiring.edges.count(),
        "the aggregation's public inputs are laid out as ChildShape::of_node reads them"
    );
    let settings = AggregateSettings {
        version: SETTINGS_VERSION,
        k: opts.k,
        shape_id,
        config,
        break_points: c.break_points(),
        inner,
        num_public,
        dev_srs: opts.srs.is_none(),
        wiring: wiring.clone(),
    };
    Ok((settings, pk))
}

fn write_keys(
    out: &Path,
    s: &AggregateSettings,
    pk: &ProvingKey<G1Affine>,
    params: &ParamsKZG<Bn256>,
) -> Result<()> {
    let id = id_bytes(&s.shape_id);
    srs::write_params(&out.join(proof::SRS_FILE), params)?;
    proof::write_key(
        &out.join(proof::VK_FILE),
        &id,
        pk.get_vk().to_bytes(SerdeFormat::RawBytes),
    )?;
    proof::write_key(
        &out.join(proof::PK_FILE),
        &id,
        pk.to_bytes(SerdeFormat::RawBytesUnchecked),
    )?;
    artifact::write_json(&out.join(SETTINGS_FILE), s)
}

/// Keys of an earlier run with the same shape, if `out` holds them intact.
fn load_keys_for(
    out: &Path,
    shape_id: &str,
    params: &ParamsKZG<Bn256>,
) -> Result<Option<(AggregateSettings, ProvingKey<G1Affine>)>> {
    let Ok(s) = artifact::read_json::<AggregateSettings>(&out.join(SETTINGS_FILE)) else {
        return Ok(None);
    };
    if s.version != SETTINGS_VERSION || s.shape_id != shape_id {
        return Ok(None);
    }
    match srs::params_from_file(&out.join(proof::SRS_FILE), s.k) {
        Ok(p) if p.s_g2() == params.s_g2() => {}
        _ => return Ok(None),
    }
    let Ok(body) = proof::read_key(
        &out.join(proof::PK_FILE),
        &id_bytes(shape_id),
        "zkml-evm aggregate",
    ) else {
        return Ok(None);
    };
    let pk = ProvingKey::<G1Affine>::read::<_, AggregationCircuit>(
        &mut &body[..],
        SerdeFormat::RawBytesUnchecked,
        s.config,
    )
    .context("aggregation proving key is corrupt")?;
    Ok(Some((s, pk)))
}

/// An aggregation directory: settings, SRS and verifying key.
pub struct Aggregated {
    pub dir: PathBuf,
    pub settings: AggregateSettings,
    pub params: ParamsKZG<Bn256>,
    pub vk: VerifyingKey<G1Affine>,
}

impl Aggregated {
    pub fn is_aggregate_dir(dir: &Path) -> bool {
        dir.join(SETTINGS_FILE).is_file()
    }

    pub fn load(dir: &Path) -> Result<Aggregated> {
        let settings: AggregateSettings = artifact::read_json(&dir.join(SETTINGS_FILE))?;
        if settings.version != SETTINGS_VERSION {
            bail!(
                "{}: version {} is not supported; rerun `zkml-evm aggregate`",
                dir.join(SETTINGS_FILE).display(),
                settings.version
            );
        }
        let params = srs::params_from_file(&dir.join(proof::SRS_FILE), settings.k)?;
        let body = proof::read_key(
            &dir.join(proof::VK_FILE),
            &id_bytes(&settings.shape_id),
            "zkml-evm aggregate",
        )?;
        let vk = VerifyingKey::<G1Affine>::read::<_, AggregationCircuit>(
            &mut &body[..],
            SerdeFormat::RawBytes,
            settings.config,
        )
        .with_context(|| format!("{} is corrupt", dir.join(proof::VK_FILE).display()))?;
        Ok(Aggregated {
            dir: dir.to_path_buf(),
            settings,
            params,
            vk,
        })
    }

    pub fn keys(&self) -> Keys {
        Keys {
            params: self.params.clone(),
            vk: self.vk.clone(),
            num_public: self.settings.num_public,
        }
    }

    /// Native verification of an aggregated proof. As for a model proof,
    /// each inner proof's decoded outputs must be what its public inputs
    /// say, or the file is refused.
    pub fn verify(&self, p: &AggregateProof) -> Result<bool> {
        let instances = p.instances()?;
        if p.inner.len() != self.settings.inner.len() || instances.len() != self.settings.num_public
        {
            return Ok(false);
        }
        for (spec, summary) in self.settings.inner.iter().zip(&p.inner) {
            let own = &instances[spec.public_start..spec.public_start + spec.num_public];
            proof::check_decoded_outputs(
                &spec.public_layout,
                spec.public_offset,
                spec.scale_bits,
                own,
                &summary.outputs,
            )?;
        }
        Ok(verify_bytes(
            p.transcript,
            &self.params,
            &self.vk,
            &self.settings,
            &p.proof_bytes()?,
            &instances,
        ))
    }
}

/// The outer proof, the accumulator's pairing, and the public-input rule the
/// EVM verifier applies: inner public inputs are offset-encoded, never zero
/// (an inner circuit leaves a zero instance unbound). A tree node's edge
/// limbs, past them, are not offset-encoded, but a limb of a commitment is
/// zero with negligible probability.
pub fn verify_bytes(
    kind: TranscriptKind,
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    s: &AggregateSettings,
    proof: &[u8],
    instances: &[Fr],
) -> bool {
    instances.len() == s.num_public
        && !instances[ACCUMULATOR_LIMBS..]
            .iter()
            .any(|v| bool::from(v.is_zero()))
        && proof::verify_shplonk(kind, params, vk, s.num_public, proof, instances)
        && accumulator_holds(params, &instances[..ACCUMULATOR_LIMBS])
}
