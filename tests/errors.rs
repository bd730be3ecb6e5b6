//! Every malformed input of docs/errors.md, run through the binary: each
//! must end with the documented exit code and one `error:` line containing
//! the documented text, and never panic. The docs table is checked to list
//! every case, so the two cannot drift.

mod common;

use common::{vectors, write_model};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Env {
    _tmp: tempfile::TempDir,
    t: PathBuf,
    /// 2l_relu_fc compiled, set up, proved, with a verifier.
    build: PathBuf,
    proof: PathBuf,
    input: PathBuf,
    verifier: PathBuf,
    /// 1l_mlp compiled and set up: "another model".
    other: PathBuf,
    other_proof: PathBuf,
}

fn zkml(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkml-evm"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn ok(args: &[String]) {
    let o = zkml(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn setup_env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().to_path_buf();
    let v = vectors().join("2l_relu_fc");
    let input = v.join("input.json");
    let build = t.join("build");
    let proof = t.join("proof.json");
    let verifier = t.join("verifier");
    ok(&[
        "compile".into(),
        s(&v.join("network.onnx")),
        "--input".into(),
        s(&input),
        "-o".into(),
        s(&build),
    ]);
    ok(&["setup".into(), s(&build)]);
    ok(&[
        "prove".into(),
        s(&build),
        "--input".into(),
        s(&input),
        "-o".into(),
        s(&proof),
    ]);
    ok(&["gen-verifier".into(), s(&build), "-o".into(), s(&verifier)]);
    let o = vectors().join("1l_mlp");
    let other = t.join("other");
    let other_proof = t.join("other_proof.json");
    ok(&[
        "compile".into(),
        s(&o.join("network.onnx")),
        "--input".into(),
        s(&o.join("input.json")),
        "-o".into(),
        s(&other),
    ]);
    ok(&["setup".into(), s(&other)]);
    ok(&[
        "prove".into(),
        s(&other),
        "--input".into(),
        s(&o.join("input.json")),
        "-o".into(),
        s(&other_proof),
    ]);
    Env {
        _tmp: tmp,
        t,
        build,
        proof,
        input,
        verifier,
        other,
        other_proof,
    }
}

/// Copy a directory (flat) so a case can damage its copy.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn edit_json(path: &Path, out: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(out, serde_json::to_string(&v).unwrap()).unwrap();
}

struct Case {
    kind: &'static str,
    exit: i32,
    needle: &'static str,
    args: fn(&Env) -> Vec<String>,
}

fn compile_args(e: &Env, model: &Path, input: &Path) -> Vec<String> {
    vec![
        "compile".into(),
        s(model),
        "--input".into(),
        s(input),
        "-o".into(),
        s(&e.t.join("out")),
    ]
}

fn model(e: &Env) -> PathBuf {
    let _ = e;
    vectors().join("2l_relu_fc").join("network.onnx")
}

fn write(e: &Env, name: &str, content: &[u8]) -> PathBuf {
    let p = e.t.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

const CASES: &[Case] = &[
    Case {
        kind: "model file missing",
        exit: 2,
        needle: "no_such_model.onnx",
        args: |e| compile_args(e, &e.t.join("no_such_model.onnx"), &e.input),
    },
    Case {
        kind: "corrupt ONNX",
        exit: 2,
        needle: "not a valid ONNX model",
        args: |e| {
            let m = write(e, "corrupt.onnx", b"\x08\x01\x12\xffgarbage");
            compile_args(e, &m, &e.input)
        },
    },
    Case {
        kind: "truncated ONNX",
        exit: 2,
        needle: "not a valid ONNX model",
        args: |e| {
            let bytes = std::fs::read(vectors().join("1l_mlp").join("network.onnx")).unwrap();
            let m = write(e, "truncated.onnx", &bytes[..bytes.len() / 2]);
            compile_args(e, &m, &e.input)
        },
    },
    Case {
        kind: "unknown op",
        exit: 2,
        needle: "unsupported ONNX op 'Frobnicate' at node 'mystery'",
        args: |e| {
            let m = e.t.join("unknown.onnx");
            write_model(
                &m,
                &[("Frobnicate", "mystery", &["x"], "y")],
                &[("x", &[1, 3])],
                "y",
            );
            compile_args(e, &m, &e.input)
        },
    },
    Case {
        kind: "dynamic shape operand",
        exit: 2,
        needle: "Reshape's shape must be a constant",
        args: |e| {
            let m = e.t.join("dynshape.onnx");
            write_model(
                &m,
                &[("Reshape", "reshape_by_input", &["x", "x"], "y")],
                &[("x", &[1, 3])],
                "y",
            );
            compile_args(e, &m, &e.input)
        },
    },
    Case {
        kind: "zero divisor",
        exit: 2,
        needle: "divisor 0 at node 'ratio' is not allowed",
        args: |e| {
            let m = e.t.join("ratio.onnx");
            write_model(
                &m,
                &[("Div", "ratio", &["x", "x"], "y")],
                &[("x", &[1, 3])],
                "y",
            );
            let i = write(e, "negative.json", br#"{"input_data": [[0.5, 0, 0.75]]}"#);
            compile_args(e, &m, &i)
        },
    },
    Case {
        kind: "one input tensor for a two-input model",
        exit: 2,
        needle: "input_data holds 1 tensors but the model takes 2 inputs",
        args: |e| {
            let m = e.t.join("two_inputs.onnx");
            write_model(
                &m,
                &[("Add", "sum", &["a", "b"], "y")],
                &[("a", &[1, 3]), ("b", &[1, 3])],
                "y",
            );
            compile_args(e, &m, &e.input)
        },
    },
    Case {
        kind: "input file missing",
        exit: 2,
        needle: "no_such_input.json",
        args: |e| compile_args(e, &model(e), &e.t.join("no_such_input.json")),
    },
    Case {
        kind: "input not JSON",
        exit: 2,
        needle: "expected {\"input_data\"",
        args: |e| {
            let i = write(e, "notjson.json", b"input: [1, 2, 3]");
            compile_args(e, &model(e), &i)
        },
    },
    Case {
        kind: "input_data missing",
        exit: 2,
        needle: "missing field `input_data`",
        args: |e| {
            let i = write(e, "nofield.json", br#"{"inputs": [[1, 2, 3]]}"#);
            compile_args(e, &model(e), &i)
        },
    },
    Case {
        kind: "input_data empty",
        exit: 2,
        needle: "input_data is empty",
        args: |e| {
            let i = write(e, "empty.json", br#"{"input_data": []}"#);
            compile_args(e, &model(e), &i)
        },
    },
    Case {
        kind: "wrong input length",
        exit: 2,
        needle: "input has 2 values but the model takes shape",
        args: |e| {
            let i = write(e, "short.json", br#"{"input_data": [[0.1, 0.2]]}"#);
            compile_args(e, &model(e), &i)
        },
    },
    Case {
        kind: "non-finite input",
        exit: 2,
        needle: "inf.json",
        args: |e| {
            let i = write(e, "inf.json", br#"{"input_data": [[1e999, 0.2, 0.3]]}"#);
            compile_args(e, &model(e), &i)
        },
    },
    Case {
        kind: "NaN input",
        exit: 2,
        needle: "nan.json",
        args: |e| {
            let i = write(e, "nan.json", br#"{"input_data": [[NaN, 0.2, 0.3]]}"#);
            compile_args(e, &model(e), &i)
        },
    },
    Case {
        kind: "input outside the calibrated range",
        exit: 2,
        needle: "leaves the calibrated range",
        args: |e| {
            let i = write(
                e,
                "huge.json",
                br#"{"input_data": [[5000.0, -4000.0, 3000.0]]}"#,
            );
            vec![
                "prove".into(),
                s(&e.build),
                "--input".into(),
                s(&i),
                "-o".into(),
                s(&e.t.join("p.json")),
            ]
        },
    },
    Case {
        kind: "weight bits out of range",
        exit: 2,
        needle: "--weight-bits must be in 1..=20",
        args: |e| {
            let mut a = compile_args(e, &model(e), &e.input);
            a.extend(["--weight-bits".into(), "40".into()]);
            a
        },
    },
    Case {
        kind: "bind without committed weights",
        exit: 2,
        needle: "does not have committed weights",
        args: |e| {
            vec![
                "bind".into(),
                s(&e.build),
                "-o".into(),
                s(&e.t.join("bind")),
            ]
        },
    },
    Case {
        kind: "binding verifier without committed weights",
        exit: 2,
        needle: "--binder",
        args: |e| {
            vec![
                "gen-verifier".into(),
                s(&e.build),
                "--binder".into(),
                "-o".into(),
                s(&e.t.join("binder")),
            ]
        },
    },
    Case {
        kind: "not a compiled directory",
        exit: 2,
        needle: "settings.json",
        args: |e| vec!["setup".into(), s(&e.t)],
    },
    Case {
        kind: "model changed since compile",
        exit: 2,
        needle: "changed since compile",
        args: |e| {
            let d = e.t.join("swapped");
            copy_dir(&e.build, &d);
            std::fs::copy(
                vectors().join("1l_mlp").join("network.onnx"),
                d.join("network.onnx"),
            )
            .unwrap();
            vec!["setup".into(), s(&d)]
        },
    },
    Case {
        kind: "SRS too small",
        exit: 2,
        needle: "SRS too small",
        args: |e| {
            let p = e.t.join("small.srs");
            let params = halo2_proofs::poly::kzg::commitment::ParamsKZG::<
                halo2_proofs::halo2curves::bn256::Bn256,
            >::setup(3, rand::rngs::OsRng);
            zkml_evm::proof::srs::write_params(&p, &params).unwrap();
            let d = e.t.join("srs_small");
            copy_dir(&e.build, &d);
            vec!["setup".into(), s(&d), "--srs".into(), s(&p)]
        },
    },
    Case {
        kind: "SRS corrupt",
        exit: 2,
        needle: "is not a halo2 KZG SRS file",
        args: |e| {
            let p = write(e, "corrupt.srs", &[7u8; 1000]);
            let d = e.t.join("srs_bad");
            copy_dir(&e.build, &d);
            vec!["setup".into(), s(&d), "--srs".into(), s(&p)]
        },
    },
    Case {
        kind: "keys missing",
        exit: 2,
        needle: "run `zkml-evm setup` first",
        args: |e| {
            let d = e.t.join("nokeys");
            copy_dir(&e.build, &d);
            std::fs::remove_file(d.join("pk.bin")).unwrap();
            vec![
                "prove".into(),
                s(&d),
                "--input".into(),
                s(&e.input),
                "-o".into(),
                s(&e.t.join("p.json")),
            ]
        },
    },
    Case {
        kind: "truncated proving key",
        exit: 2,
        needle: "pk.bin",
        args: |e| {
            let d = e.t.join("trunc_pk");
            copy_dir(&e.build, &d);
            let pk = std::fs::read(d.join("pk.bin")).unwrap();
            std::fs::write(d.join("pk.bin"), &pk[..pk.len() / 3]).unwrap();
            vec![
                "prove".into(),
                s(&d),
                "--input".into(),
                s(&e.input),
                "-o".into(),
                s(&e.t.join("p.json")),
            ]
        },
    },
    Case {
        kind: "keys of another model",
        exit: 2,
        needle: "made for another model",
        args: |e| {
            let d = e.t.join("foreign_keys");
            copy_dir(&e.build, &d);
            std::fs::copy(e.other.join("vk.bin"), d.join("vk.bin")).unwrap();
            vec!["verify".into(), s(&d), s(&e.proof)]
        },
    },
    Case {
        kind: "proof JSON missing fields",
        exit: 2,
        needle: "missing field",
        args: |e| {
            let p = write(e, "fields.json", b"{\"version\": 2}");
            vec!["verify".into(), s(&e.build), s(&p)]
        },
    },
    Case {
        kind: "proof not hex",
        exit: 2,
        needle: "not valid hex",
        args: |e| {
            let p = e.t.join("nothex.json");
            edit_json(&e.proof, &p, |v| v["proof"] = "0xzz11".into());
            vec!["verify".into(), s(&e.build), s(&p)]
        },
    },
    Case {
        kind: "public input not a field element",
        exit: 2,
        needle: "is not a field element",
        args: |e| {
            let p = e.t.join("bigpi.json");
            edit_json(&e.proof, &p, |v| {
                v["public_inputs"][0] = format!("0x{}", "f".repeat(64)).into()
            });
            vec!["verify".into(), s(&e.build), s(&p)]
        },
    },
    Case {
        kind: "proof file outputs edited",
        exit: 2,
        needle: "the file was edited",
        args: |e| {
            let p = e.t.join("edited.json");
            edit_json(&e.proof, &p, |v| {
                v["outputs"][0] = (v["outputs"][0].as_f64().unwrap() + 1.0).into()
            });
            vec!["verify".into(), s(&e.build), s(&p)]
        },
    },
    Case {
        kind: "proof of another model",
        exit: 1,
        needle: "NOT valid",
        args: |e| vec!["verify".into(), s(&e.build), s(&e.other_proof)],
    },
    Case {
        kind: "flipped proof byte",
        exit: 1,
        needle: "NOT valid",
        args: |e| {
            let p = e.t.join("flipped.json");
            edit_json(&e.proof, &p, |v| {
                let h = v["proof"].as_str().unwrap().to_string();
                let c = if &h[40..41] == "0" { "1" } else { "0" };
                v["proof"] = format!("{}{c}{}", &h[..40], &h[41..]).into();
            });
            vec!["verify".into(), s(&e.build), s(&p)]
        },
    },
    Case {
        kind: "weights commitment not a point",
        exit: 2,
        needle: "expected two uint256 words",
        args: |e| {
            vec![
                "verify".into(),
                s(&e.build),
                s(&e.proof),
                "--weights-commitment".into(),
                "0x12".into(),
            ]
        },
    },
    Case {
        kind: "weights pin on fixed weights",
        exit: 2,
        needle: "does not commit its weights",
        args: |e| {
            vec![
                "verify".into(),
                s(&e.build),
                s(&e.proof),
                "--any-weights".into(),
            ]
        },
    },
    Case {
        kind: "verifier directory incomplete",
        exit: 2,
        needle: "is not a verifier directory",
        args: |e| {
            let d = e.t.join("empty_verifier");
            std::fs::create_dir_all(&d).unwrap();
            vec!["test-evm".into(), s(&d), s(&e.proof)]
        },
    },
    Case {
        kind: "verifier bytecode corrupt",
        exit: 2,
        needle: "field `bytecode`",
        args: |e| {
            let d = e.t.join("bad_verifier");
            copy_dir(&e.verifier, &d);
            let j = d.join("verifier.json");
            edit_json(&j.clone(), &j, |v| v["bytecode"] = "0xnot-hex".into());
            vec!["test-evm".into(), s(&d), s(&e.proof)]
        },
    },
    Case {
        kind: "proof rejected on EVM",
        exit: 1,
        needle: "EVM verifier rejected",
        args: |e| vec!["test-evm".into(), s(&e.verifier), s(&e.other_proof)],
    },
];

#[test]
fn every_documented_malformed_input_fails_cleanly() {
    let e = setup_env();
    for case in CASES {
        let args = (case.args)(&e);
        let o = zkml(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{}: panicked: {err}", case.kind);
        assert_eq!(
            o.status.code(),
            Some(case.exit),
            "{}: exit code; stderr: {err}",
            case.kind
        );
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            lines.len(),
            1,
            "{}: expected one error line, got: {err}",
            case.kind
        );
        assert!(
            lines[0].contains(case.needle),
            "{}: {:?} does not contain {:?}",
            case.kind,
            lines[0],
            case.needle
        );
        if std::env::var_os("ZKML_PRINT_ERRORS").is_some() {
            println!(
                "{}\t{}\t{}\t{}",
                case.kind,
                args[0],
                case.exit,
                lines[0].replace(e.t.to_str().unwrap(), "$TMP")
            );
        }
    }
    // A failed command leaves no half-written output behind.
    assert!(!e.t.join("p.json").exists());
    assert!(!e.t.join("out").join("settings.json").exists());
}

#[test]
fn docs_table_lists_every_case() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md"))
        .unwrap();
    assert!(CASES.len() >= 25);
    for case in CASES {
        assert!(
            doc.contains(&format!("| {} |", case.kind)),
            "docs/errors.md lacks a row for {:?}",
            case.kind
        );
    }
}
