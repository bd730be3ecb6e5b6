//! `zkml-evm bind`: a one-time proof, per weight version, that a
//! committed-weights build's weights commitment `C` (the first point of
//! each of its proofs) holds the weights whose Poseidon hash is `H` (the
//! params hash `--param-visibility hashed` would expose). See
//! [`crate::circuit::binding`] for the circuit.
//!
//! What it buys: hashed weights' guarantee ("this inference ran the
//! weights with hash H") at the committed-weights verifier's price per
//! inference. The sponge is paid once, in the binding proof; a registry
//! contract (`contracts/src/BoundWeights.sol`) records `C ↦ H` when its
//! binding verifier accepts, then checks each inference proof's first 64
//! bytes against the record before calling the committed verifier.
//!
//! A bind directory holds `bind.json` (the circuit's shape), its keys and
//! SRS, and `proof.json`; `verify`, `gen-verifier` and `test-evm` take it
//! as they take a model directory.

use super::{committed, link, srs, Keys};
use crate::artifact::{self, to_hex};
use crate::circuit::binding::{self, BindingCircuit, BindingShape};
use crate::circuit::layout::{Layout, Packing, ParamWord};
use crate::compile::Compiled;
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::EvaluationDomain;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub const BIND_FILE: &str = "bind.json";
pub const PROOF_FILE: &str = "proof.json";
const BIND_VERSION: u32 = 1;
/// The `kind` of a binding `proof.json`.
pub const PROOF_KIND: &str = "weights-binding";

/// `bind.json`: what configures the binding circuit's keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BindSettings {
    pub version: u32,
    /// The committed build's k, and this circuit's.
    pub build_k: u32,
    pub k: u32,
    pub packing: Option<Packing>,
    /// Params words the sponge absorbs.
    pub words: usize,
    /// The committed build's verifier digest (`CIRCUIT` of its verifier,
    /// [`crate::evm::codegen::circuit_digest`]), hex: the circuit whose
    /// weights column this one reads, row for row. The binding verifier
    /// exposes it as `BOUND_CIRCUIT`, and `BoundWeights` refuses a binding
    /// verifier and a committed verifier that do not match (with another
    /// build's layout or k, its rows would be other weights).
    pub build_circuit: String,
    /// keccak of everything that shapes the circuit: its keys carry it.
    pub shape_id: String,
}

/// A binding `proof.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BindProof {
    pub version: u32,
    pub kind: String,
    pub k: u32,
    pub proof: String,
    /// `[H]`, uint256 hex: what the binding verifier takes.
    pub public_inputs: Vec<String>,
    /// `H`, the weights' Poseidon hash (as hashed weights expose it).
    pub params_hash: String,
    /// `C = [x, y]`, the proof's first point: the weights commitment every
    /// proof of the build starts with.
    pub params_commitment: [String; 2],
    pub prove_seconds: f64,
}

impl BindProof {
    pub fn from_json(v: serde_json::Value, name: &Path) -> Result<BindProof> {
        let p: BindProof = serde_json::from_value(v)
            .with_context(|| format!("{} is malformed", name.display()))?;
        if p.version != BIND_VERSION || p.kind != PROOF_KIND {
            bail!(
                "{}: a {} proof version {}, not a weights-binding proof version {BIND_VERSION}",
                name.display(),
                p.kind,
                p.version
            );
        }
        Ok(p)
    }

    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        artifact::from_hex(&self.proof).context("field `proof`")
    }
}

/// Whether `dir` is a bind directory.
pub fn is_bind_dir(dir: &Path) -> bool {
    dir.join(BIND_FILE).is_file()
}

/// The build row `r` of a column of `2^k` rows, as the polynomial it
/// interpolates evaluated on the domain of `2^k2` rows: row `2^(k2−k)·r`
/// holds it, the rows between the polynomial's values at the new points.
pub fn extend_column(column: &[Fr], k: u32, k2: u32) -> Vec<Fr> {
    assert_eq!(column.len(), 1 << k, "a column of the build's domain");
    if k2 == k {
        return column.to_vec();
    }
    let small = EvaluationDomain::<Fr>::new(1, k);
    let mut coeffs = small
        .lagrange_to_coeff(small.lagrange_from_vec(column.to_vec()))
        .to_vec();
    coeffs.resize(1 << k2, Fr::zero());
    let large = EvaluationDomain::<Fr>::new(1, k2);
    let data = large.get_fft_data(coeffs.len());
    halo2_proofs::arithmetic::best_fft(&mut coeffs, large.get_omega(), k2, data, false);
    coeffs
}

/// The binding circuit's shape for build `c`: the words hashed weights
/// would absorb, and the smallest k (at least the build's) that holds the
/// sponge, the slot range table and every weight cell above the reserved
/// rows.
pub fn shape_for(layout: &Layout) -> Result<BindingShape> {
    let packing = layout.hashed_packing();
    let words = layout.param_words_with(packing);
    let reserved = binding::reserved_rows(packing);
    let last_w_row = layout.w_cells().iter().map(|c| c.0).max().unwrap_or(0);
    let table = packing.map_or(0, |p| 1usize << p.bits);
    let mut shape = BindingShape {
        build_k: layout.k,
        k: layout.k,
        packing,
        words,
    };
    while shape.k <= crate::circuit::layout::MAX_K {
        let usable = (1usize << shape.k) - reserved;
        if shape.sponge_rows().max(table) <= usable && last_w_row * shape.stride() < usable {
            return Ok(shape);
        }
        shape.k += 1;
    }
    bail!(
        "bind: the params sponge over {} words needs more than 2^{} rows",
        shape.words.len(),
        crate::circuit::layout::MAX_K
    )
}

fn shape_id(shape: &BindingShape, build_circuit: &[u8; 32]) -> [u8; 32] {
    use sha3::{Digest, Keccak256};
    let mut h = Keccak256::new();
    h.update(b"zkml-evm weights binding v1");
    h.update(build_circuit);
    h.update([shape.build_k as u8, shape.k as u8]);
    match shape.packing {
        Some(p) => h.update([1, p.bits as u8, p.per_word as u8]),
        None => h.update([0]),
    }
    for w in &shape.words {
        let kind = match w {
            ParamWord::Packed(_) => b'p',
            ParamWord::Raw(_) => b'r',
        };
        let cells = w.cells();
        h.update([kind]);
        h.update((cells.len() as u64).to_le_bytes());
        for &(row, _) in cells {
            h.update((row as u64).to_le_bytes());
        }
    }
    h.finalize().into()
}

/// The weights' Poseidon hash under `shape`: what the binding proof makes
/// public, computed outside the circuit.
pub fn params_hash(shape: &BindingShape) -> Fr {
    let words: Vec<Fr> = shape.words.iter().map(|w| w.value(shape.packing)).collect();
    crate::poseidon::hash(&words)
}

/// The SRS for the binding circuit: the development one when the build's
/// is, else `srs_file` (the ceremony file the build's was cut from), which
/// must hold `k` rows and be the build's. Returned with the build's own
/// (downsizing recomputes the Lagrange points, seconds of curve
/// arithmetic, so the build's file is read instead).
fn binding_params(
    c: &Compiled,
    k: u32,
    srs_file: Option<&Path>,
) -> Result<(ParamsKZG<Bn256>, ParamsKZG<Bn256>)> {
    let build = srs::params_from_file(&c.dir.join(super::SRS_FILE), c.layout.k)
        .context("bind: run `zkml-evm setup` on the build first")?;
    let params = match srs_file {
        Some(path) => srs::params_from_file(path, k)?,
        None if srs::is_dev(&build) => srs::dev_params(k)?,
        None if k == c.layout.k => build.clone(),
        None => bail!(
            "bind: the binding circuit needs k = {k} but {} holds k = {}: pass --srs with the ceremony file the build's SRS came from",
            c.dir.join(super::SRS_FILE).display(),
            c.layout.k
        ),
    };
    if params.s_g2() != build.s_g2() {
        bail!("bind: the SRS given is not the one the build was set up with (another [s]G2)");
    }
    Ok((params, build))
}

/// Keys of the binding circuit in `out`, made on first use and reused while
/// the circuit's shape stays the same.
fn keys_for(
    shape: &Arc<BindingShape>,
    build_circuit: &[u8; 32],
    params: &ParamsKZG<Bn256>,
    out: &Path,
) -> Result<(VerifyingKey<G1Affine>, ProvingKey<G1Affine>)> {
    let id = shape_id(shape, build_circuit);
    let keygen = BindingCircuit::keygen(shape);
    let (vk_path, pk_path) = (out.join(super::VK_FILE), out.join(super::PK_FILE));
    if let (Ok(vk), Ok(pk)) = (
        super::read_key(&vk_path, &id, "zkml-evm bind"),
        super::read_key(&pk_path, &id, "zkml-evm bind"),
    ) {
        let vk = VerifyingKey::read::<_, BindingCircuit>(
            &mut &vk[..],
            SerdeFormat::RawBytes,
            shape.packing,
        )
        .with_context(|| format!("{} is corrupt", vk_path.display()))?;
        let pk = ProvingKey::read::<_, BindingCircuit>(
            &mut &pk[..],
            SerdeFormat::RawBytesUnchecked,
            shape.packing,
        )
        .with_context(|| format!("{} is corrupt", pk_path.display()))?;
        return Ok((vk, pk));
    }
    let _progress = crate::progress::step(&format!("binding keygen (k={})", shape.k));
    let vk = keygen_vk_custom(params, &keygen, true).context("binding verifying key")?;
    let pk = keygen_pk(params, vk.clone(), &keygen).context("binding proving key")?;
    super::write_key(&vk_path, &id, vk.to_bytes(SerdeFormat::RawBytes))?;
    super::write_key(&pk_path, &id, pk.to_bytes(SerdeFormat::RawBytesUnchecked))?;
    Ok((vk, pk))
}

/// Prove that build `c`'s weights commitment holds the weights of hash
/// `H`, into `out` (keys made there on first use). The proof reveals two
/// evaluations of the weights column, as an inference proof does, so it
/// counts against the salt's bound ([`committed::count_proof`]).
pub fn bind(c: &Compiled, out: &Path, srs_file: Option<&Path>) -> Result<BindProof> {
    let shape = committed_shape(c, "bind")?;
    let (params, build_params) = binding_params(c, shape.k, srs_file)?;
    let build_circuit = build_circuit(c)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let settings = BindSettings {
        version: BIND_VERSION,
        build_k: shape.build_k,
        k: shape.k,
        packing: shape.packing,
        words: shape.words.len(),
        build_circuit: to_hex(&build_circuit),
        shape_id: to_hex(&shape_id(&shape, &build_circuit)),
    };
    let (vk, pk) = keys_for(&shape, &build_circuit, &params, out)?;
    srs::write_params(&out.join(super::SRS_FILE), &params)?;
    artifact::write_json(&out.join(BIND_FILE), &settings)?;

    let salt = committed::read_salt(&c.dir)?;
    committed::count_proof(&c.dir, &c.layout, salt)?;
    let tail = committed::salt_tail(&c.layout, salt);
    let hash = params_hash(&shape);
    let t = Instant::now();
    let proof = prove_binding(c, &shape, &tail, &params, &pk, hash)?;
    let first = committed::proof_commitment(&proof)?;
    if first != committed::commitment_with(&build_params, &c.layout, &tail) {
        bail!(
            "internal error: the binding proof's first point is not the build's weights commitment"
        );
    }
    let keys = Keys {
        params,
        vk,
        num_public: 1,
    };
    if !super::verify_bytes(&keys, &proof, &[hash]) {
        bail!("internal error: the binding proof does not verify");
    }
    let file = BindProof {
        version: BIND_VERSION,
        kind: PROOF_KIND.into(),
        k: shape.k,
        proof: to_hex(&proof),
        public_inputs: vec![super::fr_to_hex(&hash)],
        params_hash: super::fr_to_hex(&hash),
        params_commitment: committed::to_hex_pair(&first),
        prove_seconds: t.elapsed().as_secs_f64(),
    };
    artifact::write_json(&out.join(PROOF_FILE), &file)?;
    Ok(file)
}

/// The binding proof of build `c`'s weights column (salt tail `tail`)
/// for the public hash `hash`.
fn prove_binding(
    c: &Compiled,
    shape: &Arc<BindingShape>,
    tail: &[Fr],
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    hash: Fr,
) -> Result<Vec<u8>> {
    let column = extend_column(
        &committed::weights_column(&c.layout, tail),
        c.layout.k,
        shape.k,
    );
    let reserved = binding::reserved_rows(shape.packing);
    let n = column.len();
    // halo2 fills the last `reserved` rows of `w` itself: scripted to the
    // polynomial's values there, bottom row first.
    let bottom: Vec<Fr> = (0..reserved).map(|i| column[n - 1 - i]).collect();
    let circuit = BindingCircuit {
        shape: shape.clone(),
        column: Some(Arc::new(column[..n - reserved].to_vec())),
        message: Some(c.layout.param_cells().iter().map(|c| c.1).collect()),
    };
    let _proving = crate::progress::step(&format!("proving the weights binding (k={})", shape.k));
    let mut rng = link::ScriptedTails::new(
        link::tail_script(&[&bottom], reserved - 1),
        rand::rngs::OsRng,
    );
    let proof = super::prove_circuit_with_rng(
        super::TranscriptKind::Evm,
        params,
        pk,
        circuit,
        &[hash],
        &mut rng,
    )?;
    if !rng.spent() {
        bail!("internal error: halo2 did not draw the weights column's last rows; the binding would not match the build's commitment");
    }
    Ok(proof)
}

/// The binding shape of build `c`, which must have committed weights
/// (`what` names the step in the error).
fn committed_shape(c: &Compiled, what: &str) -> Result<Arc<BindingShape>> {
    if !c.settings.visibility.params_committed() {
        bail!(
            "{what}: {} does not have committed weights (compile with --param-visibility committed)",
            c.dir.display()
        );
    }
    Ok(Arc::new(shape_for(&c.layout)?))
}

/// The `CIRCUIT` digest of build `c`'s verifier (from its verifying key).
pub fn build_circuit(c: &Compiled) -> Result<[u8; 32]> {
    Ok(crate::evm::codegen::circuit_digest(
        &super::load_keys(c)?.vk,
    ))
}

/// The binding verifier's keys for build `c`, made from the build alone
/// (no salt, no bind directory): what a consumer who did not make the
/// binding generates its verifier from (`gen-verifier BUILD --binder`).
/// Returns them with the build's `CIRCUIT`.
pub fn binder_keys(c: &Compiled, srs_file: Option<&Path>) -> Result<(Keys, [u8; 32])> {
    let shape = committed_shape(c, "--binder")?;
    let (params, _) = binding_params(c, shape.k, srs_file)?;
    let keygen = BindingCircuit::keygen(&shape);
    let vk = {
        let _progress = crate::progress::step(&format!("binding keygen (k={})", shape.k));
        keygen_vk_custom(&params, &keygen, true).context("binding verifying key")?
    };
    Ok((
        Keys {
            params,
            vk,
            num_public: 1,
        },
        build_circuit(c)?,
    ))
}

impl BindSettings {
    /// `dir/bind.json`, refused unless this version wrote it.
    pub fn read(dir: &Path) -> Result<BindSettings> {
        let settings: BindSettings = artifact::read_json(&dir.join(BIND_FILE))?;
        if settings.version != BIND_VERSION {
            bail!(
                "{}: version {} is not supported (expected {BIND_VERSION}); rerun `zkml-evm bind`",
                dir.join(BIND_FILE).display(),
                settings.version
            );
        }
        Ok(settings)
    }

    /// The build's `CIRCUIT` digest, the binding verifier's `BOUND_CIRCUIT`.
    pub fn build_circuit_digest(&self) -> Result<[u8; 32]> {
        digest_from_hex(&self.build_circuit, "build_circuit")
    }
}

fn digest_from_hex(hex: &str, field: &str) -> Result<[u8; 32]> {
    artifact::from_hex(hex)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{BIND_FILE}: {field} is not 32 bytes"))
}

/// A bind directory's settings and the binding verifier's keys.
pub fn load(dir: &Path) -> Result<(BindSettings, Keys)> {
    let settings = BindSettings::read(dir)?;
    let id = digest_from_hex(&settings.shape_id, "shape_id")?;
    let body = super::read_key(&dir.join(super::VK_FILE), &id, "zkml-evm bind")?;
    let vk = VerifyingKey::read::<_, BindingCircuit>(
        &mut &body[..],
        SerdeFormat::RawBytes,
        settings.packing,
    )
    .with_context(|| format!("{} is corrupt", dir.join(super::VK_FILE).display()))?;
    let keys = Keys {
        params: srs::params_from_file(&dir.join(super::SRS_FILE), settings.k)?,
        vk,
        num_public: 1,
    };
    Ok((settings, keys))
}

/// Whether `proof` is a valid binding proof for the bind directory `dir`:
/// its `params_hash` and `params_commitment` must be what the proof
/// itself says (its public input and its first point).
pub fn verify(dir: &Path, proof: &BindProof) -> Result<bool> {
    let (_, keys) = load(dir)?;
    let bytes = proof.proof_bytes()?;
    let instance = super::parse_instances(&proof.public_inputs)?;
    if proof.public_inputs.first() != Some(&proof.params_hash) {
        bail!("the binding proof's params_hash is not its public input");
    }
    if committed::to_hex_pair(&committed::proof_commitment(&bytes)?) != proof.params_commitment {
        bail!("the binding proof's params_commitment is not its first point");
    }
    Ok(super::verify_bytes(&keys, &bytes, &instance))
}
