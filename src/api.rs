//! The pipeline's steps over artefact directories and proof documents,
//! shared by every front end: the command line prints around these, and the
//! Python package (`python/`) wraps them, so both accept the same things
//! and fail with the same one-line messages.

use crate::aggregate::{AggregateProof, Aggregated, Inner};
use crate::compile::Compiled;
use crate::evm::{self, verifier::VerifierArtifact};
use crate::proof::{self, ProofFile};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// A `proof.json` document, model or aggregated, with the name its errors
/// use (its path, or `<proof>` for one held in memory).
pub struct ProofDoc {
    pub value: serde_json::Value,
    pub name: PathBuf,
}

impl ProofDoc {
    pub fn read(path: &Path) -> Result<ProofDoc> {
        Ok(ProofDoc {
            value: crate::artifact::read_json(path)?,
            name: path.to_path_buf(),
        })
    }

    pub fn parse(text: &str, name: &str) -> Result<ProofDoc> {
        let value =
            serde_json::from_str(text).with_context(|| format!("{name} is malformed JSON"))?;
        Ok(ProofDoc {
            value,
            name: name.into(),
        })
    }

    pub fn is_aggregate(&self) -> bool {
        self.value.get("aggregated").is_some()
    }

    /// A weights-binding proof (`zkml-evm bind`).
    pub fn is_binding(&self) -> bool {
        self.value.get("kind").and_then(|k| k.as_str()) == Some(proof::bind::PROOF_KIND)
    }

    pub fn binding_proof(&self) -> Result<proof::bind::BindProof> {
        proof::bind::BindProof::from_json(self.value.clone(), &self.name)
    }

    pub fn model_proof(&self) -> Result<ProofFile> {
        ProofFile::from_json(self.value.clone(), &self.name)
    }

    pub fn aggregate_proof(&self) -> Result<AggregateProof> {
        AggregateProof::from_json(self.value.clone(), &self.name)
    }
}

/// Whether `proof` is valid for the model or aggregation directory `dir`:
/// `Ok(false)` when a verifier says no, `Err` for bad input. Committed
/// weights must be the build's own.
pub fn verify(dir: &Path, proof: &ProofDoc) -> Result<bool> {
    Ok(verify_pinned(dir, proof, proof::WeightsPin::Build)?.is_valid())
}

/// The weights a committed-weights proof is checked against, from the
/// front ends' options: a pinned `X,Y` (as `commit` prints it), any
/// version, or by default the build's own.
pub fn weights_pin(
    weights_commitment: Option<&str>,
    any_weights: bool,
) -> Result<proof::WeightsPin> {
    Ok(match (weights_commitment, any_weights) {
        (Some(_), true) => bail!("give a weights commitment or accept any weights, not both"),
        (Some(xy), false) => proof::WeightsPin::Point(proof::committed::from_hex_pair(xy)?),
        (None, true) => proof::WeightsPin::Any,
        (None, false) => proof::WeightsPin::Build,
    })
}

/// [`verify`], saying why not, with committed weights compared as `pin`
/// says (an aggregation has none: `pin` must be the default).
pub fn verify_pinned(
    dir: &Path,
    proof: &ProofDoc,
    pin: proof::WeightsPin,
) -> Result<proof::Verdict> {
    if proof::bind::is_bind_dir(dir) {
        if !matches!(pin, proof::WeightsPin::Build) {
            bail!(
                "{} is a bind directory: its proof says which commitment it binds (params_commitment); --weights-commitment and --any-weights apply to model builds",
                dir.display()
            );
        }
        let p = proof.binding_proof()?;
        return Ok(if proof::bind::verify(dir, &p)? {
            proof::Verdict::Valid {
                weights: Some(p.params_commitment),
            }
        } else {
            proof::Verdict::Invalid("the binding verifier rejects it".into())
        });
    }
    if !Aggregated::is_aggregate_dir(dir) {
        return proof::verify_pinned(&Compiled::load(dir)?, &proof.model_proof()?, pin);
    }
    if !matches!(pin, proof::WeightsPin::Build) {
        bail!(
            "{} is an aggregation: a weights commitment applies to committed-weights model builds only",
            dir.display()
        );
    }
    Ok(
        if Aggregated::load(dir)?.verify(&proof.aggregate_proof()?)? {
            proof::Verdict::Valid { weights: None }
        } else {
            proof::Verdict::Invalid("the aggregation verifier rejects it".into())
        },
    )
}

/// The commitments a proof of the compiled model `c` exposes, by name:
/// committed weights' column commitment as `[x, y]` (it needs the SRS of
/// `setup`) and the hash `bind` ties it to, then the Poseidon hashes as
/// hex, hashed weights' always and a hashed input's and output's for input
/// `x`.
pub fn commitments(
    c: &Compiled,
    x: Option<&[f64]>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut out = serde_json::Map::new();
    if c.settings.visibility.params_committed() {
        let p = proof::committed::commitment(&c.dir, &c.layout)?;
        out.insert(
            "params_commitment".into(),
            serde_json::json!(proof::committed::to_hex_pair(&p)),
        );
        // What `bind` proves the commitment holds: the hashed-weights hash.
        let shape = proof::bind::shape_for(&c.layout)?;
        out.insert(
            "params_hash".into(),
            serde_json::Value::String(proof::fr_to_hex(&proof::bind::params_hash(&shape))),
        );
    }
    for (name, value) in c.commitments(x)? {
        // Committed weights have the column commitment, not a hash.
        out.entry(name)
            .or_insert_with(|| serde_json::Value::String(proof::fr_to_hex(&value)));
    }
    Ok(out)
}

/// ABI-encoded `verify(proof, publicInputs)` calldata of either kind of proof.
pub fn calldata(proof: &ProofDoc) -> Result<Vec<u8>> {
    let data = if proof.is_binding() {
        let p = proof.binding_proof()?;
        evm::verifier::encode_proof(&p.proof_bytes()?, &p.public_inputs)
    } else if proof.is_aggregate() {
        let p = proof.aggregate_proof()?;
        if p.transcript != proof::TranscriptKind::Evm {
            bail!(
                "{}: this aggregated proof was made for another aggregation (Poseidon transcript); EVM verifiers take one made without --for-aggregation",
                proof.name.display()
            );
        }
        evm::verifier::encode_proof(&p.proof_bytes()?, &p.public_inputs)
    } else {
        evm::verifier::calldata(&proof.model_proof()?)
    };
    data.with_context(|| proof.name.display().to_string())
}

/// Generate and compile the Solidity verifier of a model or aggregation
/// directory into `out` (with `PublicInputs.sol` for a model).
pub fn gen_verifier(dir: &Path, out: &Path) -> Result<VerifierArtifact> {
    if proof::bind::is_bind_dir(dir) {
        let (settings, keys) = proof::bind::load(dir)?;
        return binder_verifier(&keys, settings.build_circuit_digest()?, out);
    }
    if Aggregated::is_aggregate_dir(dir) {
        let agg = Aggregated::load(dir)?;
        let n = agg.settings.inner.len();
        let title = format!(
            "zkml-evm verifier for an aggregate of {n} model proof{}",
            if n == 1 { "" } else { "s" }
        );
        let public = evm::codegen::PublicInputs::aggregate(agg.settings.num_public);
        return evm::verifier::gen_verifier_for(
            &agg.keys(),
            public,
            &title,
            &format!("aggregate:{}", agg.settings.shape_id),
            out,
        );
    }
    let c = Compiled::load(dir)?;
    let keys = proof::load_keys(&c)?;
    let a = evm::verifier::gen_verifier(
        &keys,
        &c.settings.model_hash,
        c.settings.layout.public_inputs,
        out,
    )?;
    let q = &c.settings.quant;
    let lib = evm::public_layout::library_source(
        &c.layout.public_names(),
        &c.settings.model_hash,
        q.public_offset(),
        q.scale_bits,
        c.settings.batch,
    );
    crate::artifact::write_atomic(&out.join(evm::public_layout::LAYOUT_FILE), lib.as_bytes())?;
    Ok(a)
}

/// The weights-binding verifier of committed build `dir`, made from the
/// build alone (`gen-verifier BUILD --binder`): the binding circuit's
/// verifying key is a function of the build's layout and SRS, so a
/// consumer need not trust the owner's bind directory.
pub fn gen_binder(dir: &Path, out: &Path, srs: Option<&Path>) -> Result<VerifierArtifact> {
    let c = Compiled::load(dir)?;
    let (keys, bound) = proof::bind::binder_keys(&c, srs)?;
    binder_verifier(&keys, bound, out)
}

fn binder_verifier(
    keys: &proof::Keys,
    bound_circuit: [u8; 32],
    out: &Path,
) -> Result<VerifierArtifact> {
    let public = evm::codegen::PublicInputs {
        bound_circuit: Some(bound_circuit),
        ..evm::codegen::PublicInputs::model(1)
    };
    evm::verifier::gen_verifier_for(
        keys,
        public,
        "zkml-evm weights binding verifier: the weights committed as the proof's first point hash to publicInputs[0]",
        &format!("bind:{}", crate::artifact::to_hex(&bound_circuit)),
        out,
    )
}

/// What `aggregate` folds, from a list of model (or aggregation)
/// directories each followed by its proofs (`build1 p1.json p2.json
/// build2 p3.json`).
pub fn aggregate_items(items: &[PathBuf]) -> Result<Vec<Inner>> {
    let mut model: Option<&Path> = None;
    let mut inners = Vec::new();
    for item in items {
        if item.is_dir() {
            model = Some(item);
        } else if item.is_file() {
            let dir = model.with_context(|| {
                format!(
                    "{} comes before any model or aggregation directory: name the directory first",
                    item.display()
                )
            })?;
            inners.push(Inner::load_any(dir, item)?);
        } else {
            bail!("{} does not exist", item.display());
        }
    }
    if inners.is_empty() {
        bail!("no proof files given: name a model directory, then its proofs");
    }
    Ok(inners)
}

/// An RPC endpoint and, for sending, the key that signs.
pub struct Chain {
    pub rpc: String,
    /// Refuse to send unless the RPC serves this chain id.
    pub chain_id: Option<u64>,
    pub signer: Option<crate::eth::SignerSource>,
}

impl Chain {
    fn signer(&self) -> Result<&crate::eth::SignerSource> {
        Ok(self.signer.as_ref().ok_or(crate::eth::EthError::NoSigner)?)
    }
}

/// Deploy a verifier directory or a forge/solc artefact, with ABI-encoded
/// constructor arguments `args` (hex) appended. A verifier made from the
/// development SRS is refused off development chains unless
/// `allow_dev_srs` (a warning says so either way).
pub fn deploy(
    path: &Path,
    chain: &Chain,
    args: Option<&str>,
    allow_dev_srs: bool,
) -> Result<crate::eth::DeployReport> {
    let (mut code, runtime_size, name) = crate::eth::load_creation_code(path)?;
    if let Some(a) = args {
        code.extend(crate::artifact::from_hex(a).context("--args")?);
    }
    let signer = chain.signer()?;
    let dev_srs = evm::verifier::says_development_srs(&code);
    if dev_srs {
        eprintln!("warning: {name} was generated from the development SRS: anyone can forge proofs it accepts");
    }
    eprintln!("deploying {name} to {} ...", chain.rpc);
    Ok(runtime()?.block_on(crate::eth::deploy(
        &chain.rpc,
        signer,
        chain.chain_id,
        code,
        runtime_size,
        dev_srs && !allow_dev_srs,
    ))?)
}

/// Call `verify` of the verifier at `address` with `proof`: an `eth_call`,
/// or a transaction when the chain has a signer and `send` is set.
pub fn verify_onchain(
    proof: &ProofDoc,
    address: &str,
    chain: &Chain,
    send: bool,
) -> Result<crate::eth::OnchainVerdict> {
    let data = calldata(proof)?;
    let to: alloy::primitives::Address = address
        .parse()
        .with_context(|| format!("--address {address:?} is not an address"))?;
    let signer = if send { Some(chain.signer()?) } else { None };
    Ok(runtime()?.block_on(crate::eth::verify_onchain(&chain.rpc, to, data, signer))?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
