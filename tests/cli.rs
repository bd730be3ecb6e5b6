//! The binary as a user runs it: bad input gives one line on stderr naming
//! the problem and exit code 2; a rejected proof gives exit code 1.

mod common;

use common::{vectors, write_model};
use std::path::Path;
use std::process::{Command, Output};

fn zkml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkml-evm"))
        .args(args)
        .output()
        .expect("run zkml-evm")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 2 and a single `error:` line containing `needle`.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    assert!(
        lines[0].contains(needle),
        "error line {:?} does not mention {needle:?}",
        lines[0]
    );
    assert!(!err.contains("panicked"), "panic: {err}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `zkml-evm compile` of the bundled 1l_mlp into `out`, with `extra` flags.
fn compile_mlp(out: &Path, extra: &[&str]) -> Output {
    let mlp = vectors().join("1l_mlp");
    let (model, input) = (mlp.join("network.onnx"), mlp.join("input.json"));
    let mut args = vec!["compile", p(&model), "--input", p(&input), "-o", p(out)];
    args.extend_from_slice(extra);
    zkml(&args)
}

fn settings_of(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("settings.json")).unwrap()).unwrap()
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mlp = vectors().join("1l_mlp");
    let model = mlp.join("network.onnx");
    let input = mlp.join("input.json");
    let out = t.join("build");

    // Missing model file.
    assert_bad_input(
        &zkml(&[
            "compile",
            "/nonexistent/model.onnx",
            "--input",
            p(&input),
            "-o",
            p(&out),
        ]),
        "/nonexistent/model.onnx",
    );

    // Corrupt ONNX.
    let corrupt = t.join("corrupt.onnx");
    std::fs::write(&corrupt, b"this is not protobuf at all \x00\x01\x02").unwrap();
    assert_bad_input(
        &zkml(&["compile", p(&corrupt), "--input", p(&input), "-o", p(&out)]),
        "not a valid ONNX model",
    );

    // Unsupported op: names the op and the node.
    let odd = t.join("odd.onnx");
    write_model(
        &odd,
        &[("Frobnicate", "mystery_node", &["x"], "y")],
        &[("x", &[1, 3])],
        "y",
    );
    let o = zkml(&["compile", p(&odd), "--input", p(&input), "-o", p(&out)]);
    assert_bad_input(&o, "Frobnicate");
    assert!(stderr(&o).contains("mystery_node"));

    // Wrong input length.
    let short = t.join("short.json");
    std::fs::write(&short, r#"{"input_data": [[0.1, 0.2]]}"#).unwrap();
    assert_bad_input(
        &zkml(&["compile", p(&model), "--input", p(&short), "-o", p(&out)]),
        "model takes shape",
    );

    // Non-finite input (1e999 parses to infinity or is refused).
    let inf = t.join("inf.json");
    std::fs::write(&inf, r#"{"input_data": [[1e999, 0.2, 0.3]]}"#).unwrap();
    let o = zkml(&["compile", p(&model), "--input", p(&inf), "-o", p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("inf.json"));

    // Malformed input JSON.
    let junk = t.join("junk.json");
    std::fs::write(&junk, "{\"input\": 3}").unwrap();
    assert_bad_input(
        &zkml(&["compile", p(&model), "--input", p(&junk), "-o", p(&out)]),
        "junk.json",
    );

    // A good compile, then an SRS that is too small.
    let o = zkml(&["compile", p(&model), "--input", p(&input), "-o", p(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let small_srs = t.join("small.srs");
    let params = halo2_proofs::poly::kzg::commitment::ParamsKZG::<
        halo2_proofs::halo2curves::bn256::Bn256,
    >::setup(4, rand::rngs::OsRng);
    zkml_evm::proof::srs::write_params(&small_srs, &params).unwrap();
    assert_bad_input(
        &zkml(&["setup", p(&out), "--srs", p(&small_srs)]),
        "SRS too small",
    );

    // Corrupt SRS file.
    let bad_srs = t.join("bad.srs");
    std::fs::write(&bad_srs, b"nope").unwrap();
    assert_bad_input(&zkml(&["setup", p(&out), "--srs", p(&bad_srs)]), "bad.srs");

    // Prove before setup: keys are missing.
    assert_bad_input(
        &zkml(&[
            "prove",
            p(&out),
            "--input",
            p(&input),
            "-o",
            p(&t.join("proof.json")),
        ]),
        "setup",
    );

    // Proof JSON missing fields.
    let empty_proof = t.join("empty_proof.json");
    std::fs::write(&empty_proof, "{}").unwrap();
    assert_bad_input(
        &zkml(&["verify", p(&out), p(&empty_proof)]),
        "empty_proof.json",
    );

    // Not a compiled directory.
    assert_bad_input(&zkml(&["setup", p(t)]), "settings.json");
}

#[test]
fn rejected_proof_exits_1_and_valid_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let v = vectors().join("2l_relu_fc");
    let build = t.join("build");
    let proof = t.join("proof.json");
    for args in [
        vec![
            "compile",
            p(&v.join("network.onnx")),
            "--input",
            p(&v.join("input.json")),
            "-o",
            p(&build),
        ],
        vec!["setup", p(&build)],
        vec![
            "prove",
            p(&build),
            "--input",
            p(&v.join("input.json")),
            "-o",
            p(&proof),
        ],
        vec!["verify", p(&build), p(&proof)],
    ] {
        let o = zkml(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let mut pf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    let hexs = pf["proof"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        &hexs[..10],
        if &hexs[10..11] == "0" { "1" } else { "0" }
    ) + &hexs[11..];
    pf["proof"] = serde_json::Value::String(flipped);
    let bad = t.join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&pf).unwrap()).unwrap();
    let o = zkml(&["verify", p(&build), p(&bad)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // calldata prints hex of the verify call
    let o = zkml(&["calldata", p(&proof)]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("0x"));
}

/// Visibility flags as a user types them: nonsensical combinations are
/// refused naming the flag; `commit` prints what a hashed proof exposes.
#[test]
fn visibility_flags_and_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("build");
    let input = vectors().join("1l_mlp").join("input.json");
    let compile = |extra: &[&str]| compile_mlp(&out, extra);
    assert_bad_input(
        &compile(&["--input-visibility", "fixed"]),
        "--input-visibility fixed",
    );
    assert_bad_input(
        &compile(&["--param-visibility", "public"]),
        "--param-visibility public",
    );
    assert_bad_input(
        &compile(&[
            "--input-visibility",
            "private",
            "--output-visibility",
            "private",
        ]),
        "nothing would be public",
    );

    let o = compile(&[
        "--input-visibility",
        "hashed",
        "--param-visibility",
        "hashed",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("input_commitment, params_commitment"),
        "{text}"
    );
    let settings = settings_of(&out);
    assert_eq!(settings["visibility"]["params"], "hashed");
    assert_eq!(
        settings["public_layout"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "params_commitment"
    );

    let o = zkml(&["commit", p(&out), "--input", p(&input)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for name in ["params_commitment", "input_commitment", "output_commitment"] {
        assert!(
            c[name]
                .as_str()
                .is_some_and(|h| h.starts_with("0x") && h.len() == 66),
            "{name}: {c}"
        );
    }
    // Without an input only the weights' commitment is known.
    let c: serde_json::Value = serde_json::from_slice(&zkml(&["commit", p(&out)]).stdout).unwrap();
    assert_eq!(c.as_object().unwrap().len(), 1);
}

#[test]
fn shape_flag_forces_a_shape_and_refuses_two_terms_with_advice_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("build");
    let compile = |extra: &[&str]| compile_mlp(&out, extra);
    assert_bad_input(
        &compile(&["--shape", "wide", "--param-visibility", "private"]),
        "--param-visibility fixed",
    );
    let shape_of = || settings_of(&out)["shape"].clone();
    let o = compile(&["--shape", "wide"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("2 terms and 2 chain bits a row (5 advice columns)"));
    assert_eq!(
        shape_of(),
        serde_json::json!({"wide_mac": true, "wide_chain": true})
    );
    // auto keeps a small model narrow.
    let o = compile(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("shape: narrow (3 advice columns)"));
    assert_eq!(
        shape_of(),
        serde_json::json!({"wide_mac": false, "wide_chain": false})
    );
}

/// `compile --batch 2`, then `prove` with one input file per inference.
#[test]
fn batch_compiles_proves_and_verifies_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let v = vectors().join("tictactoe");
    let (model, input) = (v.join("network.onnx"), v.join("input.json"));
    let other = t.join("other.json");
    std::fs::write(&other, r#"{"input_data": [[1, 0, 0, 0, -1, 0, 0, 0, 1]]}"#).unwrap();
    let (build, proof) = (t.join("build"), t.join("proof.json"));
    assert_bad_input(
        &zkml(&[
            "compile",
            p(&model),
            "--input",
            p(&input),
            "-o",
            p(&build),
            "--batch",
            "0",
        ]),
        "1..=4096",
    );
    for args in [
        vec![
            "compile",
            p(&model),
            "--input",
            p(&input),
            p(&other),
            "-o",
            p(&build),
            "--batch",
            "2",
        ],
        vec!["setup", p(&build)],
        vec![
            "prove",
            p(&build),
            "--input",
            p(&input),
            p(&other),
            "-o",
            p(&proof),
        ],
        vec!["verify", p(&build), p(&proof)],
    ] {
        let o = zkml(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(settings_of(&build)["batch"], 2);
    let pf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    assert_eq!(pf["outputs"].as_array().unwrap().len(), 18);
    assert_bad_input(
        &zkml(&["prove", p(&build), "--input", p(&input), "-o", p(&proof)]),
        "covers 2 inference(s)",
    );
}

/// Every subcommand's `--help` is plain text: clap prints doc comments
/// verbatim, so a rustdoc link (`[`NAME`]`) would show its brackets. The
/// packing thresholds `compile --help` states are the constants it uses.
#[test]
fn help_is_plain_text_and_states_the_packing_thresholds() {
    let top = String::from_utf8(zkml(&["--help"]).stdout).unwrap();
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() > 10, "{top}");
    for c in commands {
        let o = zkml(&[c, "--help"]);
        let help = String::from_utf8(o.stdout).unwrap();
        assert!(o.status.success(), "{c} --help failed");
        assert!(
            !help.contains("[`"),
            "{c} --help shows a rustdoc link:\n{help}"
        );
    }
    let help = String::from_utf8(zkml(&["compile", "--help"]).stdout).unwrap();
    let auto = format!(
        "from {} public values with fixed weights, from {} with weights in advice",
        zkml_evm::compile::PACK_FROM_VALUES,
        zkml_evm::compile::PACK_FROM_VALUES_ADVICE_WEIGHTS
    );
    assert!(
        help.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&auto),
        "{help}"
    );
}
