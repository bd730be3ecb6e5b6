//! setup / prove / verify: KZG on BN254 with SHPLONK openings and the EVM
//! transcript.

pub mod bind;
pub mod committed;
pub mod link;
pub mod srs;
pub mod transcript;

use crate::artifact::{self, from_hex, to_hex};
use crate::circuit::witness::small_signed;
use crate::circuit::ModelCircuit;
use crate::compile::Compiled;
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk_custom, verify_proof, Circuit, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{
    EncodedChallenge, TranscriptRead, TranscriptReadBuffer, TranscriptWriterBuffer,
};
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::NativeLoader;
use std::path::Path;
use std::time::Instant;
use transcript::EvmTranscript;

pub const SRS_FILE: &str = "kzg.srs";
pub const VK_FILE: &str = "vk.bin";
pub const PK_FILE: &str = "pk.bin";
/// 3: `input_shapes` and `output_shapes`, one per graph input and output.
pub const PROOF_VERSION: u32 = 3;
const KEY_MAGIC: &[u8; 8] = b"ZKMLKEY2";
/// magic, circuit id, keccak256 of the body.
const KEY_HEADER: usize = 8 + 32 + 32;

/// Identifies the circuit a key belongs to: model bytes and the settings
/// that shape the circuit. Calibration statistics are left out: they are
/// floats, which need not survive a JSON round trip bit for bit, and they do
/// not change the circuit.
pub fn circuit_id(c: &Compiled) -> [u8; 32] {
    let s = &c.settings;
    let shaping = (
        s.version,
        s.k,
        &s.quant,
        &s.input_shapes,
        &s.output_shapes,
        &s.visibility,
        &s.layout,
    );
    let settings = serde_json::to_vec(&shaping).expect("settings serialize");
    let mut h = Keccak256::new()
        .chain_update(c.settings.model_hash.as_bytes())
        .chain_update(settings);
    // A chunk's keys are its slice's: two chunks of one model differ here.
    if let Some(chunk) = &s.chunk {
        h.update(serde_json::to_vec(chunk).expect("chunk serializes"));
    }
    h.finalize().into()
}

/// Keys carry the circuit they were made for and a checksum of their body:
/// halo2's key readers trust their input (a truncated file makes them
/// panic), so nothing reaches them unverified.
pub(crate) fn write_key(path: &Path, id: &[u8; 32], body: Vec<u8>) -> Result<()> {
    let mut bytes = Vec::with_capacity(body.len() + KEY_HEADER);
    bytes.extend_from_slice(KEY_MAGIC);
    bytes.extend_from_slice(id);
    bytes.extend_from_slice(&Keccak256::digest(&body));
    bytes.extend_from_slice(&body);
    artifact::write_atomic(path, &bytes)
}

/// The key body, after checking its header; `remedy` is the command that
/// makes the key again (named in the errors).
pub(crate) fn read_key(path: &Path, id: &[u8; 32], remedy: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {} (run `zkml-evm setup` first)",
            path.display()
        )
    })?;
    if bytes.len() < KEY_HEADER || &bytes[..8] != KEY_MAGIC {
        bail!("{} is not a zkml-evm key file (corrupt, truncated or from another version); rerun `{remedy}`", path.display());
    }
    if &bytes[8..40] != id {
        bail!(
            "{} was made for another model or settings; rerun `{remedy}`",
            path.display()
        );
    }
    let body = &bytes[KEY_HEADER..];
    if Keccak256::digest(body)[..] != bytes[40..72] {
        bail!(
            "{} is corrupt or truncated (checksum mismatch); rerun `{remedy}`",
            path.display()
        );
    }
    Ok(body.to_vec())
}

/// What verifies proofs of one circuit: the SRS, its verifying key, and
/// how many public inputs each proof carries. The count is part of the
/// statement: halo2 reads a missing instance cell as zero, and a row whose
/// instance is zero is bound by nothing, so a short instance must be
/// refused before halo2 sees it.
#[derive(Clone)]
pub struct Keys {
    pub params: ParamsKZG<Bn256>,
    pub vk: VerifyingKey<G1Affine>,
    pub num_public: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetupReport {
    pub k: u32,
    pub dev_srs: bool,
    pub keygen_seconds: f64,
    pub vk_bytes: usize,
    pub pk_bytes: usize,
}

/// Generate keys into the compiled directory.
pub fn setup(c: &Compiled, srs_file: Option<&Path>) -> Result<SetupReport> {
    let k = c.settings.k;
    let params = match srs_file {
        Some(p) => srs::params_from_file(p, k)?,
        None => {
            eprintln!("warning: {}", srs::DEV_WARNING);
            srs::dev_params(k)?
        }
    };
    let t = Instant::now();
    let _progress = crate::progress::step(&format!("keygen (k={k})"));
    let circuit = c.keygen_circuit();
    // Selector compression folds the gate selectors into fewer fixed
    // columns: each fixed column costs the EVM verifier an ecMul.
    let vk =
        keygen_vk_custom(&params, &circuit, true).context("verifying key generation failed")?;
    let pk = keygen_pk(&params, vk.clone(), &circuit).context("proving key generation failed")?;
    let keygen_seconds = t.elapsed().as_secs_f64();
    drop(_progress);
    let id = circuit_id(c);
    let vk_bytes = vk.to_bytes(SerdeFormat::RawBytes);
    let pk_bytes = pk.to_bytes(SerdeFormat::RawBytesUnchecked);
    srs::write_params(&c.dir.join(SRS_FILE), &params)?;
    write_key(&c.dir.join(VK_FILE), &id, vk_bytes.clone())?;
    write_key(&c.dir.join(PK_FILE), &id, pk_bytes.clone())?;
    Ok(SetupReport {
        k,
        dev_srs: srs_file.is_none(),
        keygen_seconds,
        vk_bytes: vk_bytes.len(),
        pk_bytes: pk_bytes.len(),
    })
}

pub fn load_keys(c: &Compiled) -> Result<Keys> {
    let body = read_key(&c.dir.join(VK_FILE), &circuit_id(c), "zkml-evm setup")?;
    let params = srs::params_from_file(&c.dir.join(SRS_FILE), c.settings.k)?;
    let vk = VerifyingKey::<G1Affine>::read::<_, ModelCircuit>(
        &mut &body[..],
        SerdeFormat::RawBytes,
        c.keygen_circuit().gate_params(),
    )
    .with_context(|| format!("{} is corrupt", c.dir.join(VK_FILE).display()))?;
    Ok(Keys {
        params,
        vk,
        num_public: c.settings.layout.public_inputs,
    })
}

pub(crate) fn load_pk(c: &Compiled) -> Result<ProvingKey<G1Affine>> {
    let body = read_key(&c.dir.join(PK_FILE), &circuit_id(c), "zkml-evm setup")?;
    ProvingKey::<G1Affine>::read::<_, ModelCircuit>(
        &mut &body[..],
        SerdeFormat::RawBytesUnchecked,
        c.keygen_circuit().gate_params(),
    )
    .with_context(|| format!("{} is corrupt", c.dir.join(PK_FILE).display()))
}

/// The Fiat-Shamir transcript a proof was made with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TranscriptKind {
    /// Keccak-256 over uncompressed points: what the EVM verifier replays.
    #[default]
    Evm,
    /// Poseidon over compressed points: what the aggregation circuit replays
    /// cheaply (`prove --for-aggregation`).
    Poseidon,
}

/// `proof.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofFile {
    pub version: u32,
    /// Absent in files from before aggregation existed: those are EVM proofs.
    #[serde(default)]
    pub transcript: TranscriptKind,
    /// keccak256 of the ONNX model the proof is about.
    pub model_hash: String,
    pub k: u32,
    /// Proof bytes, hex.
    pub proof: String,
    /// Public inputs as uint256 hex, in verifier order (named in
    /// `public_layout`): public inputs, then public outputs, each the
    /// quantized value plus `public_offset` (so never zero), then the
    /// Poseidon commitments of hashed tensors.
    pub public_inputs: Vec<String>,
    /// The name of each public input (`input[3]`, `output[0]`,
    /// `params_commitment`, ...). Absent in files from before visibility
    /// options: those are inputs then outputs.
    #[serde(default)]
    pub public_layout: Vec<String>,
    /// Added to each quantized value to form its public input.
    pub public_offset: i64,
    /// Quantized value = public input - public_offset; float = that / 2^scale_bits.
    pub scale_bits: u32,
    /// One inference's input and output shapes.
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shapes: Vec<Vec<usize>>,
    /// Inferences the proof covers; `outputs` lists each one's in turn.
    #[serde(default = "one")]
    pub batch: usize,
    /// Outputs of the circuit, dequantized; empty unless outputs are public
    /// (a hashed or private output stays with the prover).
    pub outputs: Vec<f64>,
    /// The float model (tract) on the same input.
    pub float_outputs: Vec<f64>,
    pub max_abs_error: f64,
    pub max_rel_error: f64,
    /// Per output: |circuit - float model|, and that relative to |float model|.
    pub abs_errors: Vec<f64>,
    pub rel_errors: Vec<f64>,
    pub prove_seconds: f64,
    /// With committed weights: their commitment `[x, y]` (uint256 hex),
    /// the proof's first point, which a pinned contract compares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_commitment: Option<[String; 2]>,
}

fn one() -> usize {
    1
}

impl ProofFile {
    pub fn read(path: &Path) -> Result<ProofFile> {
        Self::from_json(artifact::read_json(path)?, path)
    }

    /// The proof in `v`, the contents of `path`.
    pub fn from_json(v: serde_json::Value, path: &Path) -> Result<ProofFile> {
        if v.get("aggregated").is_some() {
            bail!("{} is an aggregated proof: verify it with its aggregation directory (`zkml-evm aggregate -o DIR`)", path.display());
        }
        let p: ProofFile = serde_json::from_value(v)
            .with_context(|| format!("{} is malformed", path.display()))?;
        if p.version != PROOF_VERSION {
            bail!(
                "{}: proof version {} is not supported (expected {PROOF_VERSION})",
                path.display(),
                p.version
            );
        }
        Ok(p)
    }

    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        from_hex(&self.proof).context("field `proof`")
    }

    pub fn instances(&self) -> Result<Vec<Fr>> {
        parse_instances(&self.public_inputs)
    }
}

/// Public inputs from their uint256 hex form.
pub fn parse_instances(public_inputs: &[String]) -> Result<Vec<Fr>> {
    public_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let b = from_hex(s).with_context(|| format!("public_inputs[{i}]"))?;
            if b.len() > 32 {
                bail!("public_inputs[{i}] is longer than 32 bytes");
            }
            let mut be = [0u8; 32];
            be[32 - b.len()..].copy_from_slice(&b);
            transcript::fr_from_be(&be)
                .with_context(|| format!("public_inputs[{i}] is not a field element"))
        })
        .collect()
}

pub fn fr_to_hex(f: &Fr) -> String {
    to_hex(&transcript::be_bytes(f))
}

/// Prove the inferences a compiled model covers (one, or `batch` of
/// them: `input` holds every inference's input in turn).
pub fn prove(c: &Compiled, input: &[f64], transcript: TranscriptKind) -> Result<ProofFile> {
    let witness_step = crate::progress::step("witness and float model");
    let (mut circuit, values) = c.circuit_for(input)?;
    let float_outputs = float_outputs(c, input)?;
    let committed = c.settings.visibility.params_committed();
    if committed && transcript != TranscriptKind::Evm {
        bail!("--for-aggregation: committed weights do not aggregate (the aggregated proof would not expose their commitment); use --param-visibility hashed or fixed");
    }
    let salt_tail = if committed {
        let salt = committed::read_salt(&c.dir)?;
        committed::count_proof(&c.dir, &c.layout, salt)?;
        committed::salt_tail(&c.layout, salt)
    } else {
        Vec::new()
    };
    circuit.params_tail = salt_tail.clone();
    drop(witness_step);
    let pk = {
        let _loading = crate::progress::step("loading the proving key");
        load_pk(c)?
    };
    let params = srs::params_from_file(&c.dir.join(SRS_FILE), c.settings.k)?;
    let instance = circuit.instance();
    let t = Instant::now();
    let proving = crate::progress::step(&format!("proving (k={})", c.settings.k));
    // The salt tail goes into halo2's blinding rows of `w` (an empty
    // script without committed weights: plain OsRng).
    let tails: Vec<&[Fr]> = if committed {
        vec![&salt_tail]
    } else {
        Vec::new()
    };
    let mut rng = link::ScriptedTails::new(
        link::tail_script(&tails, c.layout.reserved_rows - 1),
        rand::rngs::OsRng,
    );
    let proof = prove_circuit_with_rng(transcript, &params, &pk, circuit, &instance, &mut rng)?;
    if !rng.spent() {
        bail!("internal error: halo2 did not draw the weights column's salt; the commitment would not be the pinned one");
    }
    drop(proving);
    let params_commitment = if committed {
        // What a pinned contract compares: refuse here, not on chain, if
        // the circuit's column ever drifts from `commit`'s.
        let first = committed::proof_commitment(&proof)?;
        if first != committed::commitment_with(&params, &c.layout, &salt_tail) {
            bail!("internal error: the proof's weights commitment is not the one `commit` computes; pinned contracts would refuse it");
        }
        Some(committed::to_hex_pair(&first))
    } else {
        None
    };
    let prove_seconds = t.elapsed().as_secs_f64();

    let q = &c.settings.quant;
    let outputs: Vec<f64> = c
        .program
        .outputs
        .iter()
        .map(|&o| q.dequantize(values[o]))
        .collect();
    if float_outputs.len() != outputs.len() {
        bail!(
            "tract produced {} outputs but the circuit {}",
            float_outputs.len(),
            outputs.len()
        );
    }
    let abs_errors: Vec<f64> = outputs
        .iter()
        .zip(&float_outputs)
        .map(|(o, f)| (o - f).abs())
        .collect();
    let rel_errors: Vec<f64> = abs_errors
        .iter()
        .zip(&float_outputs)
        .map(|(e, f)| e / f.abs().max(1e-9))
        .collect();
    let max_abs_error = abs_errors.iter().copied().fold(0.0, f64::max);
    let max_rel_error = rel_errors.iter().copied().fold(0.0, f64::max);
    let public_outputs = c.settings.visibility.output == crate::compile::Vis::Public;
    let (outputs, float_outputs, abs_errors, rel_errors) = if public_outputs {
        (outputs, float_outputs, abs_errors, rel_errors)
    } else {
        Default::default()
    };
    Ok(ProofFile {
        version: PROOF_VERSION,
        transcript,
        model_hash: c.settings.model_hash.clone(),
        k: c.settings.k,
        proof: to_hex(&proof),
        public_inputs: instance.iter().map(fr_to_hex).collect(),
        public_layout: c.layout.public_names(),
        public_offset: q.public_offset(),
        scale_bits: q.scale_bits,
        input_shapes: c.settings.input_shapes.clone(),
        output_shapes: c.settings.output_shapes.clone(),
        batch: c.settings.batch.max(1),
        outputs,
        float_outputs,
        max_abs_error,
        max_rel_error,
        abs_errors,
        rel_errors,
        prove_seconds,
        params_commitment,
    })
}

/// Prove a compiled circuit on its integer input, without a float
/// reference: a chunk of a split model, whose input is the previous chunk's
/// output (`crate::split` compares the whole model's outputs with the
/// float model). Also returns every value the circuit computed.
pub fn prove_quantized(
    c: &Compiled,
    xq: &[i64],
    transcript: TranscriptKind,
) -> Result<(ProofFile, Vec<i64>)> {
    prove_quantized_with_instance(c, xq, transcript, &[], &|_| {})
}

/// A chunk proof of a split model for aggregation: [`prove_quantized`]
/// with each link column's tail `T` (in column order, see [`link`]), so
/// that its commitments equal those of the chunks across its cuts.
pub fn prove_linked(c: &Compiled, xq: &[i64], tails: &[Vec<Fr>]) -> Result<(ProofFile, Vec<i64>)> {
    prove_quantized_with_instance(c, xq, TranscriptKind::Poseidon, tails, &|_| {})
}

/// [`prove_quantized`] against an instance `edit` changed: what a
/// dishonest prover can do with the public proving key. Tests use it to
/// make proofs whose public inputs the circuit does not bind (zeros).
#[doc(hidden)]
pub fn prove_quantized_with_instance(
    c: &Compiled,
    xq: &[i64],
    transcript: TranscriptKind,
    tails: &[Vec<Fr>],
    edit: &dyn Fn(&mut Vec<Fr>),
) -> Result<(ProofFile, Vec<i64>)> {
    if c.settings.visibility.params_committed() {
        bail!(
            "{}: committed weights prove through `prove` (they do not split)",
            c.dir.display()
        );
    }
    let q = &c.settings.quant;
    let values = crate::quant::forward(&c.program, q, xq)?;
    let mut circuit = ModelCircuit::new(c.program.clone(), *q, c.layout.clone(), Some(&values));
    let links = c.settings.visibility.linked.tensors().count();
    if tails.len() != links {
        bail!(
            "{}: {links} link columns, {} link tails given",
            c.dir.display(),
            tails.len()
        );
    }
    circuit.link_tails = tails.to_vec();
    let pk = load_pk(c)?;
    let params = srs::params_from_file(&c.dir.join(SRS_FILE), c.settings.k)?;
    let mut instance = circuit.instance();
    edit(&mut instance);
    let t = Instant::now();
    let blinding_factors = c.layout.reserved_rows - 1;
    let tails: Vec<&[Fr]> = tails.iter().map(Vec::as_slice).collect();
    let mut rng = link::ScriptedTails::new(
        link::tail_script(&tails, blinding_factors),
        rand::rngs::OsRng,
    );
    let proof = prove_circuit_with_rng(transcript, &params, &pk, circuit, &instance, &mut rng)?;
    if !rng.spent() {
        bail!("internal error: halo2 did not draw every link tail; the proof would not link");
    }
    let outputs = if c.settings.visibility.output == crate::compile::Vis::Public {
        c.program
            .outputs
            .iter()
            .map(|&o| q.dequantize(values[o]))
            .collect()
    } else {
        Vec::new()
    };
    let file = ProofFile {
        version: PROOF_VERSION,
        transcript,
        model_hash: c.settings.model_hash.clone(),
        k: c.settings.k,
        proof: to_hex(&proof),
        public_inputs: instance.iter().map(fr_to_hex).collect(),
        public_layout: c.layout.public_names(),
        public_offset: q.public_offset(),
        scale_bits: q.scale_bits,
        input_shapes: c.program.input_shapes.clone(),
        output_shapes: c.program.output_shapes.clone(),
        batch: 1,
        outputs,
        float_outputs: Vec::new(),
        max_abs_error: 0.0,
        max_rel_error: 0.0,
        abs_errors: Vec::new(),
        rel_errors: Vec::new(),
        prove_seconds: t.elapsed().as_secs_f64(),
        params_commitment: None,
    };
    Ok((file, values))
}

/// The float model's outputs for every inference in `input`, in turn.
fn float_outputs(c: &Compiled, input: &[f64]) -> Result<Vec<f64>> {
    let per = c.model.program.num_inputs;
    if per == 0 || input.len() % per != 0 {
        bail!(
            "the input holds {} values, not a whole number of inferences of {per}",
            input.len()
        );
    }
    let float = c.model.float_reference()?;
    let mut out = Vec::new();
    for one in input.chunks(per) {
        out.extend(float.run(one)?);
    }
    Ok(out)
}

pub fn prove_circuit(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ModelCircuit,
    instance: &[Fr],
) -> Result<Vec<u8>> {
    prove_circuit_with(TranscriptKind::Evm, params, pk, circuit, instance)
}

/// A SHPLONK proof of any circuit with one instance column.
pub fn prove_circuit_with<C: Circuit<Fr>>(
    kind: TranscriptKind,
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
) -> Result<Vec<u8>> {
    prove_circuit_with_rng(kind, params, pk, circuit, instance, rand::rngs::OsRng)
}

/// [`prove_circuit_with`] drawing halo2's randomness from `rng`: a
/// [`link::ScriptedTails`] gives a link column the tail its linked proof
/// shares.
pub fn prove_circuit_with_rng<C: Circuit<Fr>>(
    kind: TranscriptKind,
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
    rng: impl rand::RngCore,
) -> Result<Vec<u8>> {
    match kind {
        TranscriptKind::Evm => shplonk_proof(
            params,
            pk,
            circuit,
            instance,
            rng,
            EvmTranscript::<Vec<u8>>::init(Vec::new()),
        ),
        TranscriptKind::Poseidon => shplonk_proof(
            params,
            pk,
            circuit,
            instance,
            rng,
            PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(
                Vec::new(),
                POSEIDON_SPEC.clone(),
            ),
        ),
    }
}

fn shplonk_proof<C, E, T>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instance: &[Fr],
    rng: impl rand::RngCore,
    mut transcript: T,
) -> Result<Vec<u8>>
where
    C: Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWriterBuffer<Vec<u8>, G1Affine, E>,
{
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, E, _, _, _>(
        params,
        pk,
        &[circuit],
        &[&[instance]],
        rng,
        &mut transcript,
    )
    .context("proof generation failed")?;
    Ok(transcript.finalize())
}

/// Native verification of a model proof (EVM transcript): true when the
/// proof is valid for `instance`.
pub fn verify_bytes(keys: &Keys, proof: &[u8], instance: &[Fr]) -> bool {
    verify_model_proof(TranscriptKind::Evm, keys, proof, instance)
}

/// Native verification of a model proof made with either transcript.
pub fn verify_model_proof(
    kind: TranscriptKind,
    keys: &Keys,
    proof: &[u8],
    instance: &[Fr],
) -> bool {
    // Offset-encoded public values are never zero, and the circuit leaves a
    // zero instance cell unbound, so a zero is refused here (as on chain).
    if instance.iter().any(|v| bool::from(v.is_zero())) {
        return false;
    }
    verify_shplonk(
        kind,
        &keys.params,
        &keys.vk,
        keys.num_public,
        proof,
        instance,
    )
}

/// halo2's SHPLONK verifier for one proof of a circuit with one instance
/// column of `num_public` cells, after exact length checks: halo2 ignores
/// trailing proof bytes and reads missing instance cells as zero; the EVM
/// verifier does neither, so neither does this.
pub fn verify_shplonk(
    kind: TranscriptKind,
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_public: usize,
    proof: &[u8],
    instance: &[Fr],
) -> bool {
    if instance.len() != num_public || proof.len() != expected_proof_len_with(kind, vk) {
        return false;
    }
    match kind {
        TranscriptKind::Evm => {
            shplonk_verifies(params, vk, instance, EvmTranscript::<&[u8]>::init(proof))
        }
        TranscriptKind::Poseidon => shplonk_verifies(
            params,
            vk,
            instance,
            PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone()),
        ),
    }
}

fn shplonk_verifies<E, T>(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instance: &[Fr],
    mut transcript: T,
) -> bool
where
    E: EncodedChallenge<G1Affine>,
    T: TranscriptRead<G1Affine, E>,
{
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, E, _, _>(
        params,
        vk,
        SingleStrategy::new(params),
        &[&[instance]],
        &mut transcript,
    )
    .is_ok()
}

/// Proof length in bytes for the EVM transcript.
pub fn expected_proof_len(vk: &VerifyingKey<G1Affine>) -> usize {
    expected_proof_len_with(TranscriptKind::Evm, vk)
}

/// Proof length in bytes (see the proof layout in halo2's verifier): points
/// are 64 bytes in the EVM transcript and 32 (compressed) in Poseidon's,
/// scalars 32.
pub fn expected_proof_len_with(kind: TranscriptKind, vk: &VerifyingKey<G1Affine>) -> usize {
    let cs = vk.cs();
    let lookups = cs.lookups().len();
    let perm_cols = cs.permutation().get_columns().len();
    let chunk = cs.degree() - 2;
    let perm_sets = perm_cols.div_ceil(chunk);
    let points = cs.num_advice_columns() + 3 * lookups + perm_sets + 1 + (cs.degree() - 1) + 2;
    let scalars = cs.advice_queries().len()
        + cs.fixed_queries().len()
        + 1
        + perm_cols
        + if perm_sets > 0 { 3 * perm_sets - 1 } else { 0 }
        + 5 * lookups;
    let point_bytes = match kind {
        TranscriptKind::Evm => 64,
        TranscriptKind::Poseidon => 32,
    };
    point_bytes * points + 32 * scalars
}

/// Which weights a committed-weights proof must have been made with. The
/// verifying key is the same for every weight version of an architecture;
/// only the proof's first point (the weights column's commitment) tells
/// them apart, so "valid for this model" has to compare it.
#[derive(Clone, Copy, Debug)]
pub enum WeightsPin {
    /// The build's own weights under its salt (what `commit` prints).
    Build,
    /// A commitment pinned elsewhere, as a `PinnedWeights` contract holds
    /// it: for a verifier without the owner's salt.
    Point(G1Affine),
    /// Any weight version of the architecture.
    Any,
}

/// What native verification concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// With committed weights, the proof's weights commitment, as checked
    /// against the pin.
    Valid { weights: Option<[String; 2]> },
    /// Why not, in a phrase that follows "not valid: ".
    Invalid(String),
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid { .. })
    }
}

/// Native verification of `proof.json` against a compiled model, committed
/// weights compared with the build's own ([`verify_pinned`]).
pub fn verify(c: &Compiled, proof: &ProofFile) -> Result<bool> {
    Ok(verify_pinned(c, proof, WeightsPin::Build)?.is_valid())
}

/// Native verification against a compiled model. The file's decoded
/// `outputs` are only a convenience copy of what its public inputs say; a
/// file where they disagree was edited, and is refused rather than
/// verified, so nobody reads outputs a proof does not carry.
///
/// With committed weights the verifying key fixes the architecture and the
/// proof's first point the weights, which must be the ones `pin` names.
/// `model_hash` (a hash of the ONNX file, weights included, and not
/// authenticated by the proof) is then not compared: a verifier pinning
/// the owner's point may hold the architecture with other weights.
pub fn verify_pinned(c: &Compiled, proof: &ProofFile, pin: WeightsPin) -> Result<Verdict> {
    let committed = c.settings.visibility.params_committed();
    if !committed && !matches!(pin, WeightsPin::Build) {
        bail!(
            "{} does not commit its weights (--param-visibility {}): a weights commitment applies to committed-weights builds only",
            c.dir.display(),
            c.settings.visibility.params
        );
    }
    if !committed && proof.model_hash != c.settings.model_hash {
        return Ok(Verdict::Invalid(format!(
            "it was made for another model (model hash {}, this build's {})",
            proof.model_hash, c.settings.model_hash
        )));
    }
    if committed && proof.public_layout != c.layout.public_names() {
        return Ok(Verdict::Invalid(
            "it was made for another architecture (its public inputs are not this build's)".into(),
        ));
    }
    let q = &c.settings.quant;
    check_decoded_outputs(
        &c.layout.public_names(),
        q.public_offset(),
        q.scale_bits,
        &proof.instances()?,
        &proof.outputs,
    )?;
    if committed {
        committed::check_file_commitment(proof)?;
    }
    let keys = load_keys(c)?;
    let bytes = proof.proof_bytes()?;
    if !verify_model_proof(proof.transcript, &keys, &bytes, &proof.instances()?) {
        return Ok(Verdict::Invalid("the verifier rejects it".into()));
    }
    if !committed {
        return Ok(Verdict::Valid { weights: None });
    }
    let weights = committed::proof_commitment(&bytes)?;
    Ok(
        match committed::pin_mismatch(c, keys.params(), &weights, pin)? {
            Some(reason) => Verdict::Invalid(reason),
            None => Verdict::Valid {
                weights: Some(committed::to_hex_pair(&weights)),
            },
        },
    )
}

/// Refuse `outputs` unless they are exactly the dequantized public outputs
/// of `instance`, whose public inputs are named `names` (`output[j]`, or
/// `output[a..b]` for a packed word); with no public outputs they must be
/// empty.
pub fn check_decoded_outputs(
    names: &[String],
    public_offset: i64,
    scale_bits: u32,
    instance: &[Fr],
    outputs: &[f64],
) -> Result<()> {
    let encoded = encoded_outputs(names, public_offset, instance);
    if encoded.len() != outputs.len() {
        bail!(
            "the proof file lists {} outputs but its public inputs carry {}: the file was edited",
            outputs.len(),
            encoded.len()
        );
    }
    let off = crate::circuit::fe(public_offset as i128);
    for (j, v) in encoded {
        let said = small_signed(v - off).map(|q| q as f64 / (scale_bits as f64).exp2());
        if outputs.get(j).copied() != said {
            let listed = outputs
                .get(j)
                .map_or("nothing".to_string(), |v| v.to_string());
            let said = said.map_or("no in-range value".to_string(), |s| s.to_string());
            bail!("the proof file says outputs[{j}] = {listed} but its public input output[{j}] encodes {said}: the file was edited");
        }
    }
    Ok(())
}

/// Every public output's encoded value, by output index, unpacking packed
/// words (first value in the top slot).
fn encoded_outputs(names: &[String], public_offset: i64, instance: &[Fr]) -> Vec<(usize, Fr)> {
    use crate::circuit::public::{PublicItem, Tensor, ValuePacking};
    let packing = ValuePacking::for_offset(public_offset);
    let mut out = Vec::new();
    for (name, v) in names.iter().zip(instance) {
        match PublicItem::parse(name) {
            Some(PublicItem::Output(j)) => out.push((j, *v)),
            Some(PublicItem::Packed {
                tensor: Tensor::Output,
                first,
                len,
            }) => {
                let word = num_bigint::BigUint::from_bytes_be(&transcript::be_bytes(v));
                let mask = (num_bigint::BigUint::from(1u8) << packing.bits) - 1u8;
                for i in 0..len {
                    let slot: num_bigint::BigUint =
                        (&word >> (packing.bits as usize * (len - 1 - i))) & &mask;
                    let mut le = slot.to_bytes_le();
                    le.resize(32, 0);
                    let fr = <Fr as halo2_proofs::halo2curves::ff::PrimeField>::from_repr(
                        le.try_into().expect("32 bytes"),
                    );
                    out.push((first + i, Option::from(fr).unwrap_or(Fr::zero())));
                }
            }
            _ => {}
        }
    }
    out
}

impl Keys {
    pub fn params(&self) -> &ParamsKZG<Bn256> {
        &self.params
    }
    pub fn n(&self) -> u64 {
        self.params.n()
    }
}
