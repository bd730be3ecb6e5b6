//! `zkml_evm._native`: the Rust library's pipeline steps as Python
//! functions. Deliberately thin: arguments are paths, JSON documents and
//! plain lists; `python/zkml_evm/__init__.py` turns numpy arrays, proof
//! objects and keyword options into these. Every error is a `ZkmlError`
//! carrying the one-line message the command line prints.

use pyo3::create_exception;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::{Path, PathBuf};
use zkml_evm::api::{self, Chain, ProofDoc};
use zkml_evm::compile::{CompileOptions, Compiled, Visibility, SETTINGS_FILE};
use zkml_evm::eth::SignerSource;
use zkml_evm::model::InputFile;
use zkml_evm::proof;

create_exception!(
    _native,
    ZkmlError,
    pyo3::exceptions::PyException,
    "A pipeline step failed; the message is the command line's one-line error."
);
create_exception!(
    _native,
    ProofRejected,
    ZkmlError,
    "A verifier (EVM or on chain) rejected the proof."
);

fn py_err(e: anyhow::Error) -> PyErr {
    ZkmlError::new_err(zkml_evm::cli::error_line(&e))
}

trait OrPyErr<T> {
    fn py(self) -> PyResult<T>;
}

impl<T, E: Into<anyhow::Error>> OrPyErr<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| py_err(e.into()))
    }
}

/// One inference's input: a path to an `{"input_data": ...}` file, or its
/// tensors (one flattened list per graph input).
#[derive(FromPyObject)]
enum Sample {
    Path(PathBuf),
    Tensors(Vec<Vec<f64>>),
}

/// Input documents with the names their errors use.
fn input_files(samples: Vec<Sample>) -> anyhow::Result<Vec<(PathBuf, InputFile)>> {
    samples
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            Sample::Path(p) => Ok((p.clone(), InputFile::read(&p)?)),
            Sample::Tensors(t) => Ok((
                PathBuf::from(format!("<input {i}>")),
                InputFile {
                    input_data: t,
                    output_data: None,
                },
            )),
        })
        .collect()
}

fn value_enum<T: clap::ValueEnum>(what: &str, s: &str) -> PyResult<T> {
    T::from_str(s, true).map_err(|_| {
        let options: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        ZkmlError::new_err(format!("{what} {s:?} is not one of {}", options.join(", ")))
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).py()
}

#[pyfunction]
#[pyo3(signature = (model, samples, out, scale_bits=None, weight_bits=None, input_visibility="public", output_visibility="public", param_visibility="fixed", shape="auto", pack_public="auto", batch=1, hide_proofs=None))]
#[allow(clippy::too_many_arguments)]
fn compile(
    py: Python<'_>,
    model: PathBuf,
    samples: Vec<Sample>,
    out: PathBuf,
    scale_bits: Option<u32>,
    weight_bits: Option<u32>,
    input_visibility: &str,
    output_visibility: &str,
    param_visibility: &str,
    shape: &str,
    pack_public: &str,
    batch: usize,
    hide_proofs: Option<usize>,
) -> PyResult<String> {
    let opts = CompileOptions {
        scale_bits,
        weight_bits,
        visibility: Visibility {
            input: value_enum("input_visibility", input_visibility)?,
            output: value_enum("output_visibility", output_visibility)?,
            params: value_enum("param_visibility", param_visibility)?,
            // `packed` follows pack_public at compile; nothing hashes packed.
            ..Visibility::default()
        },
        shape: value_enum::<zkml_evm::cli::ShapeArg>("shape", shape)?.shape(),
        pack_public: value_enum("pack_public", pack_public)?,
        batch: batch.max(1),
        hide_proofs,
    };
    py.allow_threads(|| {
        let files = input_files(samples)?;
        let c = zkml_evm::compile::compile_inputs(&model, &files, &opts, &out)?;
        anyhow::Ok(c.settings)
    })
    .py()
    .and_then(|s| to_json(&s))
}

#[pyfunction]
#[pyo3(signature = (build, srs=None))]
fn setup(py: Python<'_>, build: PathBuf, srs: Option<PathBuf>) -> PyResult<String> {
    let r = py
        .allow_threads(|| proof::setup(&Compiled::load(&build)?, srs.as_deref()))
        .py()?;
    to_json(&r)
}

#[pyfunction]
#[pyo3(signature = (build, samples, for_aggregation=false))]
fn prove(
    py: Python<'_>,
    build: PathBuf,
    samples: Vec<Sample>,
    for_aggregation: bool,
) -> PyResult<String> {
    let transcript = if for_aggregation {
        proof::TranscriptKind::Poseidon
    } else {
        proof::TranscriptKind::Evm
    };
    let p = py
        .allow_threads(|| {
            let c = Compiled::load(&build)?;
            let x = c.inputs_from(input_files(samples)?)?;
            proof::prove(&c, &x, transcript)
        })
        .py()?;
    to_json(&p)
}

/// The proof document of `path` (read here, so a missing file fails as on
/// the command line), or of `text` (a proof object's JSON).
fn doc(path: Option<PathBuf>, text: Option<String>) -> PyResult<ProofDoc> {
    match (path, text) {
        (Some(p), None) => ProofDoc::read(&p).py(),
        (None, Some(t)) => ProofDoc::parse(&t, "<proof>").py(),
        _ => Err(ZkmlError::new_err(
            "give a proof path or a proof's JSON, not both",
        )),
    }
}

/// The name a proof goes by in messages.
fn doc_name(d: &ProofDoc) -> String {
    d.name.display().to_string()
}

#[pyfunction]
#[pyo3(signature = (build, proof_path=None, proof_json=None, weights_commitment=None, any_weights=false))]
fn verify(
    py: Python<'_>,
    build: PathBuf,
    proof_path: Option<PathBuf>,
    proof_json: Option<String>,
    weights_commitment: Option<String>,
    any_weights: bool,
) -> PyResult<bool> {
    let d = doc(proof_path, proof_json)?;
    let pin = api::weights_pin(weights_commitment.as_deref(), any_weights).py()?;
    py.allow_threads(|| api::verify_pinned(&build, &d, pin))
        .map(|v| v.is_valid())
        .py()
}

#[pyfunction]
#[pyo3(signature = (proof_path=None, proof_json=None))]
fn calldata(
    py: Python<'_>,
    proof_path: Option<PathBuf>,
    proof_json: Option<String>,
) -> PyResult<Bound<'_, PyBytes>> {
    let data = api::calldata(&doc(proof_path, proof_json)?).py()?;
    Ok(PyBytes::new(py, &data))
}

#[pyfunction]
#[pyo3(signature = (build, out, binder=false, srs=None))]
fn gen_verifier(
    py: Python<'_>,
    build: PathBuf,
    out: PathBuf,
    binder: bool,
    srs: Option<PathBuf>,
) -> PyResult<String> {
    let a = py
        .allow_threads(|| {
            if binder {
                api::gen_binder(&build, &out, srs.as_deref())
            } else {
                api::gen_verifier(&build, &out)
            }
        })
        .py()?;
    to_json(&a)
}

/// `zkml-evm bind`: the binding proof as JSON (also written to
/// `out/proof.json`).
#[pyfunction]
#[pyo3(signature = (build, out, srs=None))]
fn bind(py: Python<'_>, build: PathBuf, out: PathBuf, srs: Option<PathBuf>) -> PyResult<String> {
    let p = py
        .allow_threads(|| proof::bind::bind(&Compiled::load(&build)?, &out, srs.as_deref()))
        .py()?;
    to_json(&p)
}

/// Deploy and call the verifier in revm: the gas of the whole transaction.
/// Raises `ProofRejected` when `verify` returns false or reverts.
#[pyfunction]
#[pyo3(signature = (verifier_dir, proof_path=None, proof_json=None))]
fn test_evm(
    py: Python<'_>,
    verifier_dir: PathBuf,
    proof_path: Option<PathBuf>,
    proof_json: Option<String>,
) -> PyResult<u64> {
    let d = doc(proof_path, proof_json)?;
    let v = py
        .allow_threads(|| {
            let a = zkml_evm::evm::verifier::VerifierArtifact::read(&verifier_dir)?;
            zkml_evm::evm::verifier::run_in_revm(&a, &api::calldata(&d)?)
        })
        .py()?;
    if v.accepted {
        Ok(v.gas_used)
    } else {
        Err(ProofRejected::new_err(format!(
            "EVM verifier rejected {}: {} (gas used {})",
            doc_name(&d),
            v.reason.unwrap_or_default(),
            v.gas_used
        )))
    }
}

fn chain(
    rpc: String,
    chain_id: Option<u64>,
    private_key: Option<String>,
    keystore: Option<PathBuf>,
    password: Option<String>,
) -> Chain {
    let signer = match (private_key, keystore) {
        (_, Some(path)) => Some(SignerSource::Keystore {
            path,
            password: password.unwrap_or_default(),
        }),
        (Some(k), None) => Some(SignerSource::Key(k)),
        (None, None) => None,
    };
    Chain {
        rpc,
        chain_id,
        signer,
    }
}

#[pyfunction]
#[pyo3(signature = (path, rpc, private_key=None, keystore=None, password=None, chain_id=None, args=None, allow_dev_srs=false))]
#[allow(clippy::too_many_arguments)]
fn deploy(
    py: Python<'_>,
    path: PathBuf,
    rpc: String,
    private_key: Option<String>,
    keystore: Option<PathBuf>,
    password: Option<String>,
    chain_id: Option<u64>,
    args: Option<String>,
    allow_dev_srs: bool,
) -> PyResult<String> {
    let c = chain(rpc, chain_id, private_key, keystore, password);
    let r = py
        .allow_threads(|| api::deploy(&path, &c, args.as_deref(), allow_dev_srs))
        .py()?;
    to_json(&r)
}

#[pyfunction]
#[pyo3(signature = (address, rpc, proof_path=None, proof_json=None, send=false, private_key=None, keystore=None, password=None, chain_id=None))]
#[allow(clippy::too_many_arguments)]
fn verify_onchain(
    py: Python<'_>,
    address: &str,
    rpc: String,
    proof_path: Option<PathBuf>,
    proof_json: Option<String>,
    send: bool,
    private_key: Option<String>,
    keystore: Option<PathBuf>,
    password: Option<String>,
    chain_id: Option<u64>,
) -> PyResult<String> {
    let d = doc(proof_path, proof_json)?;
    let c = chain(rpc, chain_id, private_key, keystore, password);
    let v = py
        .allow_threads(|| api::verify_onchain(&d, address, &c, send))
        .py()?;
    to_json(&v)
}

#[pyfunction]
#[pyo3(signature = (items, out, k=21, srs=None))]
fn aggregate(
    py: Python<'_>,
    items: Vec<PathBuf>,
    out: PathBuf,
    k: u32,
    srs: Option<PathBuf>,
) -> PyResult<String> {
    let r = py
        .allow_threads(|| {
            let inners = api::aggregate_items(&items)?;
            zkml_evm::aggregate::aggregate(
                &inners,
                &out,
                &zkml_evm::aggregate::Options {
                    k,
                    srs,
                    transcript: zkml_evm::proof::TranscriptKind::Evm,
                },
            )
        })
        .py()?;
    to_json(&r)
}

/// The commitments a proof exposes, by name, as JSON (see
/// `zkml_evm::api::commitments`): committed weights' `[x, y]`, hashes as
/// hex (hashed weights' always, a hashed input's and output's for
/// `samples`).
#[pyfunction]
#[pyo3(signature = (build, samples=None))]
fn commit(py: Python<'_>, build: PathBuf, samples: Option<Vec<Sample>>) -> PyResult<String> {
    py.allow_threads(|| {
        let c = Compiled::load(&build)?;
        let x = match samples {
            Some(s) => Some(c.inputs_from(input_files(s)?)?),
            None => None,
        };
        anyhow::Ok(zkml_evm::api::commitments(&c, x.as_deref())?)
    })
    .py()
    .and_then(|m| to_json(&m))
}

/// Whether `path` names a directory `compile` or `aggregate` wrote.
#[pyfunction]
fn is_build_dir(path: PathBuf) -> bool {
    Path::new(&path).join(SETTINGS_FILE).is_file()
        || zkml_evm::aggregate::Aggregated::is_aggregate_dir(&path)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    zkml_evm::cpu_check().map_err(pyo3::exceptions::PyImportError::new_err)?;
    m.add("ZkmlError", m.py().get_type::<ZkmlError>())?;
    m.add("ProofRejected", m.py().get_type::<ProofRejected>())?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(setup, m)?)?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(calldata, m)?)?;
    m.add_function(wrap_pyfunction!(gen_verifier, m)?)?;
    m.add_function(wrap_pyfunction!(test_evm, m)?)?;
    m.add_function(wrap_pyfunction!(deploy, m)?)?;
    m.add_function(wrap_pyfunction!(verify_onchain, m)?)?;
    m.add_function(wrap_pyfunction!(aggregate, m)?)?;
    m.add_function(wrap_pyfunction!(commit, m)?)?;
    m.add_function(wrap_pyfunction!(bind, m)?)?;
    m.add_function(wrap_pyfunction!(is_build_dir, m)?)?;
    Ok(())
}
