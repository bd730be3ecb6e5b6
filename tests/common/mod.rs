//! Shared helpers for the integration tests: compile, set up and prove a
//! bundled test vector in a temporary directory.

#![allow(dead_code)]

pub mod mutation;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, OnceLock};
use zkml_evm::compile::{compile, CompileOptions, Compiled};
use zkml_evm::model::{InputFile, Model};
use zkml_evm::proof::{self, ProofFile};

pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors")
}

/// A temporary directory for a fixture shared through a `static`. Rust
/// never drops statics, so a `TempDir` held in one outlives the test binary
/// and leaves its proving keys (gigabytes for an aggregation) on disk; this
/// one is removed when the binary exits (an `atexit` handler), so a run's
/// fixtures never pile up beside the next binary's.
pub fn shared_tempdir() -> PathBuf {
    static DIRS: Mutex<Vec<tempfile::TempDir>> = Mutex::new(Vec::new());
    static REMOVE_AT_EXIT: Once = Once::new();
    extern "C" fn remove_all() {
        // Dropping each TempDir removes it; a panicked test may have
        // poisoned the lock, which does not make the list wrong.
        DIRS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
    REMOVE_AT_EXIT.call_once(|| {
        // SAFETY: registers a plain function; it runs once, at exit.
        let rc = unsafe { libc::atexit(remove_all) };
        assert_eq!(rc, 0, "atexit refused the cleanup handler");
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    DIRS.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
    path
}

/// The fixture `cell` holds, built by `build` on first use and shared by
/// every test of the binary. A build that panics is remembered: the tests
/// after it fail at once with its message, instead of each building the
/// fixture again (minutes of keygen and gigabytes of keys apiece, which is
/// how one full disk failed a whole test binary slowly).
pub fn shared_fixture<T: Send + Sync>(
    cell: &'static OnceLock<Result<T, String>>,
    build: impl FnOnce() -> T,
) -> &'static T {
    let built = cell.get_or_init(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|m| m.to_string()))
                .unwrap_or_else(|| "a non-string panic".into())
        })
    });
    match built {
        Ok(fixture) => fixture,
        Err(msg) => panic!("the shared fixture failed to build (once, for every test): {msg}"),
    }
}

pub struct Built {
    pub dir: tempfile::TempDir,
    pub compiled: Compiled,
    pub input: InputFile,
    pub proof: ProofFile,
}

/// compile -> setup -> prove on `test-vectors/NAME`.
pub fn build(name: &str) -> Built {
    build_with(name, &CompileOptions::default())
}

/// `test-vectors/NAME`, loaded.
pub struct Vector {
    pub path: PathBuf,
    pub model: Model,
    pub input: InputFile,
    /// The sample input as the model reads it.
    pub x: Vec<f64>,
}

pub fn vector(name: &str) -> Vector {
    let path = vectors().join(name).join("network.onnx");
    let input_path = vectors().join(name).join("input.json");
    let model = Model::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let input = InputFile::read(&input_path).unwrap();
    let x = input.input_for(&model.program, &input_path).unwrap();
    Vector {
        path,
        model,
        input,
        x,
    }
}

pub fn build_with(name: &str, opts: &CompileOptions) -> Built {
    let Vector {
        path: model,
        input,
        x,
        ..
    } = vector(name);
    let dir = tempfile::tempdir().unwrap();
    let compiled = compile(&model, &[x.clone()], opts, dir.path()).unwrap();
    proof::setup(&compiled, None).unwrap();
    let proof = proof::prove(&compiled, &x, proof::TranscriptKind::Evm).unwrap();
    Built {
        dir,
        compiled,
        input,
        proof,
    }
}

/// The EVM verifier of a build that has been set up, written under `dir`.
pub fn verifier_for(c: &Compiled, dir: &Path) -> zkml_evm::evm::verifier::VerifierArtifact {
    let keys = proof::load_keys(c).unwrap();
    zkml_evm::evm::verifier::gen_verifier(
        &keys,
        &c.settings.model_hash,
        c.settings.layout.public_inputs,
        dir,
    )
    .unwrap()
}

/// The tolerance README documents: outputs within 2% of the output range
/// (at least 0.02 absolute) of the reference.
pub fn tolerance(reference: &[f64]) -> f64 {
    0.02 * reference.iter().fold(1.0f64, |m, v| m.max(v.abs()))
}

/// The proof's outputs within [`tolerance`] of tract's float outputs and of
/// the vector's `output_data`, if it has one.
pub fn check_accuracy(b: &Built) {
    let p = &b.proof;
    let tol = tolerance(&p.float_outputs);
    assert!(
        p.max_abs_error <= tol,
        "error {} vs tract above tolerance {tol}",
        p.max_abs_error
    );
    // Per-output errors are reported and agree with the outputs themselves.
    assert_eq!(p.abs_errors.len(), p.outputs.len());
    for ((e, o), f) in p.abs_errors.iter().zip(&p.outputs).zip(&p.float_outputs) {
        assert!((e - (o - f).abs()).abs() < 1e-12);
    }
    if let Some(expected) = b.input.expected_outputs() {
        assert_eq!(expected.len(), p.outputs.len());
        let tol = tolerance(&expected);
        for (o, e) in p.outputs.iter().zip(&expected) {
            assert!(
                (o - e).abs() <= tol,
                "output {o} vs output_data {e} (tolerance {tol})"
            );
        }
    }
}

pub fn flip_byte(proof: &ProofFile, index: usize) -> ProofFile {
    let mut bytes = proof.proof_bytes().unwrap();
    bytes[index] ^= 0x01;
    ProofFile {
        proof: zkml_evm::artifact::to_hex(&bytes),
        ..proof.clone()
    }
}

/// The proof file with public input `index` one higher, and, where that
/// input is an output, its decoded value in `outputs` changed to match: a
/// consistent file that only the cryptography can refuse.
pub fn bump_public_input(proof: &ProofFile, index: usize) -> ProofFile {
    let mut inst = proof.instances().unwrap();
    inst[index] += halo2_proofs::halo2curves::bn256::Fr::from(1u64);
    let public_inputs = inst.iter().map(zkml_evm::proof::fr_to_hex).collect();
    let mut outputs = proof.outputs.clone();
    use zkml_evm::circuit::public::{PublicItem, Tensor};
    // One more in a word is one more in its last (lowest) slot.
    let bumped = match proof
        .public_layout
        .get(index)
        .and_then(|n| PublicItem::parse(n))
    {
        Some(PublicItem::Output(j)) => Some(j),
        Some(PublicItem::Packed {
            tensor: Tensor::Output,
            first,
            len,
        }) => Some(first + len - 1),
        _ => None,
    };
    if let Some(j) = bumped {
        outputs[j] += (-(proof.scale_bits as f64)).exp2();
    }
    ProofFile {
        public_inputs,
        outputs,
        ..proof.clone()
    }
}

/// Write a small ONNX model: `nodes` as (op, name, inputs, output), float
/// graph inputs with shapes, one graph output.
pub fn write_model(
    path: &Path,
    nodes: &[(&str, &str, &[&str], &str)],
    inputs: &[(&str, &[i64])],
    output: &str,
) {
    write_graph(path, nodes, inputs, &[output])
}

/// As [`write_model`], with any number of graph outputs; a dim of −1 is
/// symbolic (`dim_param: "batch"`).
pub fn write_graph(
    path: &Path,
    nodes: &[(&str, &str, &[&str], &str)],
    inputs: &[(&str, &[i64])],
    outputs: &[&str],
) {
    use prost::Message;
    use tract_onnx::pb::*;
    let tensor_type = |dims: &[i64]| TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: 1,
            shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&d| tensor_shape_proto::Dimension {
                        value: Some(match d {
                            -1 => tensor_shape_proto::dimension::Value::DimParam("batch".into()),
                            d => tensor_shape_proto::dimension::Value::DimValue(d),
                        }),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            name: "g".into(),
            node: nodes
                .iter()
                .map(|(op, name, ins, out)| NodeProto {
                    input: ins.iter().map(|s| s.to_string()).collect(),
                    output: vec![out.to_string()],
                    name: name.to_string(),
                    op_type: op.to_string(),
                    ..Default::default()
                })
                .collect(),
            input: inputs
                .iter()
                .map(|(n, d)| ValueInfoProto {
                    name: n.to_string(),
                    r#type: Some(tensor_type(d)),
                    ..Default::default()
                })
                .collect(),
            output: outputs
                .iter()
                .map(|o| ValueInfoProto {
                    name: o.to_string(),
                    r#type: Some(tensor_type(&[1, 3])),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    std::fs::write(path, model.encode_to_vec()).unwrap();
}

/// Run the `zkml-evm` binary built for these tests.
pub fn zkml(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_zkml-evm"))
        .args(args)
        .output()
        .expect("run zkml-evm")
}

/// Run `zkml-evm` and return its stdout; fail the test with both streams
/// when it exits non-zero.
pub fn zkml_ok(args: &[&str]) -> String {
    let o = zkml(args);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        o.status.success(),
        "zkml-evm {args:?} failed:\n{out}\n{err}"
    );
    out.into_owned()
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}
