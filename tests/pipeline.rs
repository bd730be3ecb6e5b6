//! End to end on bundled MLPs: compile -> setup -> prove -> verify natively
//! and on revm, with tampered proofs, inputs and foreign proofs rejected.

mod common;

use common::*;
use zkml_evm::evm::verifier::{calldata, gen_verifier, run_in_revm};
use zkml_evm::proof::{self, verify};

#[test]
fn mlps_prove_and_verify_natively_and_on_evm() {
    for name in [
        "1l_mlp",
        "2l_relu_fc",
        "linear_regression",
        "1l_relu",
        "sklearn_mlp",
        "1l_linear",
    ] {
        let b = build(name);
        check_accuracy(&b);
        let c = &b.compiled;
        assert!(
            verify(c, &b.proof).unwrap(),
            "{name}: honest proof rejected"
        );
        let vdir = b.dir.path().join("verifier");
        let art = verifier_for(c, &vdir);
        let ok = run_in_revm(&art, &calldata(&b.proof).unwrap()).unwrap();
        assert!(
            ok.accepted,
            "{name}: EVM rejected an honest proof: {:?}",
            ok.reason
        );
        let flipped = run_in_revm(&art, &calldata(&flip_byte(&b.proof, 100)).unwrap()).unwrap();
        assert!(!flipped.accepted, "{name}: EVM accepted a flipped byte");
    }
}

#[test]
fn rockybot_end_to_end_native_and_evm() {
    let b = build("rockybot");
    check_accuracy(&b);
    let c = &b.compiled;
    assert!(verify(c, &b.proof).unwrap());

    // Native rejections: flipped bytes across the proof, a changed input and
    // output, and a truncated proof.
    let len = b.proof.proof_bytes().unwrap().len();
    for i in [0, 33, 64 * 3 + 5, len / 2, len - 1] {
        assert!(
            !verify(c, &flip_byte(&b.proof, i)).unwrap(),
            "flipped byte {i} accepted"
        );
    }
    assert!(
        !verify(c, &bump_public_input(&b.proof, 0)).unwrap(),
        "changed input accepted"
    );
    let last = b.proof.public_inputs.len() - 1;
    assert!(
        !verify(c, &bump_public_input(&b.proof, last)).unwrap(),
        "changed output accepted"
    );
    // An output edited in the file alone, or in the public inputs alone:
    // the file is refused before any proof check.
    let mut edited = b.proof.clone();
    edited.outputs[0] += 0.5;
    let err = verify(c, &edited).unwrap_err().to_string();
    assert!(
        err.contains("outputs[0]") && err.contains("edited"),
        "{err}"
    );
    let mut edited = b.proof.clone();
    edited.public_inputs[last] = bump_public_input(&b.proof, last).public_inputs[last].clone();
    assert!(verify(c, &edited)
        .unwrap_err()
        .to_string()
        .contains("edited"));
    let mut edited = b.proof.clone();
    edited.outputs.pop();
    assert!(verify(c, &edited).is_err());

    // The library verifiers take exactly the model's public inputs: a
    // short instance (whose missing cells halo2 would read as zero, which
    // bind nothing) and a long one are refused, on either transcript path.
    let keys = proof::load_keys(c).unwrap();
    let bytes = b.proof.proof_bytes().unwrap();
    let inst = b.proof.instances().unwrap();
    assert!(proof::verify_bytes(&keys, &bytes, &inst));
    assert!(!proof::verify_bytes(&keys, &bytes, &inst[..inst.len() - 1]));
    let mut longer = inst.clone();
    longer.push(inst[0]);
    assert!(!proof::verify_bytes(&keys, &bytes, &longer));
    assert!(!proof::verify_model_proof(
        proof::TranscriptKind::Evm,
        &keys,
        &bytes,
        &inst[..inst.len() - 1]
    ));
    assert!(!proof::verify_shplonk(
        proof::TranscriptKind::Evm,
        &keys.params,
        &keys.vk,
        keys.num_public,
        &bytes,
        &inst[1..]
    ));

    // EVM: generated verifier accepts the honest proof under the size limit.
    let vdir = b.dir.path().join("verifier");
    let art = gen_verifier(
        &keys,
        &c.settings.model_hash,
        c.settings.layout.public_inputs,
        &vdir,
    )
    .unwrap();
    assert!(art.runtime_size <= 24_576);
    let ok = run_in_revm(&art, &calldata(&b.proof).unwrap()).unwrap();
    assert!(ok.accepted, "EVM rejected an honest proof: {:?}", ok.reason);
    eprintln!(
        "rockybot: verify gas {} runtime {} bytes",
        ok.gas_used, ok.runtime_size
    );

    for i in [0, 33, 64 * 3 + 5, len / 2, len - 1] {
        let v = run_in_revm(&art, &calldata(&flip_byte(&b.proof, i)).unwrap()).unwrap();
        assert!(!v.accepted, "EVM accepted flipped byte {i}");
        assert!(
            v.gas_used <= ok.gas_used + 50_000,
            "rejection of byte {i} cost {} gas",
            v.gas_used
        );
    }
    for idx in [0, last] {
        let v = run_in_revm(&art, &calldata(&bump_public_input(&b.proof, idx)).unwrap()).unwrap();
        assert!(!v.accepted, "EVM accepted changed public input {idx}");
    }
    // Too little gas for the precompiles makes verify revert, never return
    // false: an under-funded call must not pass for an invalid proof.
    {
        let mut evm = zkml_evm::evm::exec::Evm::new();
        let dep = evm.deploy(&art.creation_code().unwrap()).unwrap();
        let out = evm.call(
            dep.address,
            &calldata(&b.proof).unwrap(),
            ok.gas_used - 30_000,
        );
        assert!(!out.success);
        assert!(
            out.revert_reason
                .as_deref()
                .unwrap_or("")
                .contains("low gas"),
            "{out:?}"
        );
    }
    // Zero is no valid (offset-encoded) public input: both verifiers refuse it.
    let mut zeroed = b.proof.clone();
    zeroed.public_inputs[0] = "0x00".into();
    assert!(!verify(c, &zeroed).unwrap());
    assert!(
        !run_in_revm(&art, &calldata(&zeroed).unwrap())
            .unwrap()
            .accepted
    );
    // Unpacked public inputs are small positive numbers: quantized value +
    // offset (RockyBot's 48 values are packed by default: see
    // packed_public_values_prove_and_verify).
    let unpacked = build_with(
        "rockybot",
        &zkml_evm::compile::CompileOptions {
            pack_public: zkml_evm::compile::PackPublic::Off,
            ..Default::default()
        },
    );
    assert_eq!(unpacked.proof.public_inputs.len(), 48);
    for (i, s) in unpacked.proof.public_inputs.iter().enumerate() {
        let v = u64::from_str_radix(s.trim_start_matches("0x").trim_start_matches('0'), 16)
            .unwrap_or(0);
        assert!(
            v >= 1 && v <= 2 * unpacked.proof.public_offset as u64,
            "public input {i} = {s}"
        );
    }
}

#[test]
fn proof_for_another_model_is_rejected() {
    let a = build("1l_mlp");
    let b = build("2l_relu_fc");
    // Bypass the model-hash check: the cryptography itself must say no.
    let keys_b = proof::load_keys(&b.compiled).unwrap();
    let foreign = a.proof.proof_bytes().unwrap();
    let inst = a.proof.instances().unwrap();
    assert!(!proof::verify_bytes(&keys_b, &foreign, &inst));
    assert!(!verify(&b.compiled, &a.proof).unwrap());

    let vdir = b.dir.path().join("verifier");
    let art = gen_verifier(
        &keys_b,
        &b.compiled.settings.model_hash,
        b.compiled.settings.layout.public_inputs,
        &vdir,
    )
    .unwrap();
    assert!(
        run_in_revm(&art, &calldata(&b.proof).unwrap())
            .unwrap()
            .accepted
    );
    assert!(
        !run_in_revm(&art, &calldata(&a.proof).unwrap())
            .unwrap()
            .accepted
    );

    // Same shapes, different weights (other fixed-point weights): the public
    // input layout matches, so only the circuit itself can tell them apart.
    let twin = build_with(
        "2l_relu_fc",
        &zkml_evm::compile::CompileOptions {
            weight_bits: Some(6),
            ..Default::default()
        },
    );
    assert_eq!(twin.proof.public_inputs.len(), b.proof.public_inputs.len());
    let twin_bytes = twin.proof.proof_bytes().unwrap();
    assert!(!proof::verify_bytes(
        &keys_b,
        &twin_bytes,
        &twin.proof.instances().unwrap()
    ));
    assert!(
        !run_in_revm(&art, &calldata(&twin.proof).unwrap())
            .unwrap()
            .accepted
    );
}

#[test]
fn wide_shapes_prove_and_verify_natively_and_on_evm() {
    // Large models compile wide (extra operand and chain columns); force it
    // on small ones so that every EVM check runs in seconds.
    use zkml_evm::circuit::layout::Shape;
    let narrow = build("2l_relu_fc");
    for (name, shape) in [
        (
            "rockybot",
            Shape {
                wide_mac: true,
                wide_chain: true,
            },
        ),
        (
            "2l_relu_fc",
            Shape {
                wide_mac: false,
                wide_chain: true,
            },
        ),
    ] {
        let b = build_with(
            name,
            &zkml_evm::compile::CompileOptions {
                shape: Some(shape),
                ..Default::default()
            },
        );
        assert_eq!(b.compiled.settings.shape, shape);
        check_accuracy(&b);
        let c = &b.compiled;
        assert!(
            verify(c, &b.proof).unwrap(),
            "{name}: honest proof rejected"
        );
        let art = verifier_for(c, &b.dir.path().join("verifier"));
        assert!(
            art.runtime_size <= 24_576,
            "{name}: runtime {} bytes",
            art.runtime_size
        );
        let ok = run_in_revm(&art, &calldata(&b.proof).unwrap()).unwrap();
        assert!(
            ok.accepted,
            "{name}: EVM rejected an honest proof: {:?}",
            ok.reason
        );
        eprintln!(
            "{name} {shape}: k {} verify gas {} runtime {} bytes",
            c.settings.k, ok.gas_used, ok.runtime_size
        );
        let len = b.proof.proof_bytes().unwrap().len();
        for i in [0, 64 * 4 + 7, len / 2, len - 1] {
            assert!(
                !verify(c, &flip_byte(&b.proof, i)).unwrap(),
                "{name}: flipped byte {i} accepted"
            );
            assert!(
                !run_in_revm(&art, &calldata(&flip_byte(&b.proof, i)).unwrap())
                    .unwrap()
                    .accepted,
                "{name}: EVM accepted flipped byte {i}"
            );
        }
        let last = b.proof.public_inputs.len() - 1;
        for idx in [0, last] {
            assert!(!verify(c, &bump_public_input(&b.proof, idx)).unwrap());
            assert!(
                !run_in_revm(&art, &calldata(&bump_public_input(&b.proof, idx)).unwrap())
                    .unwrap()
                    .accepted,
                "{name}: EVM accepted changed public input {idx}"
            );
        }
        // The same model compiled narrow is another circuit.
        if name == "2l_relu_fc" {
            assert!(
                !run_in_revm(&art, &calldata(&narrow.proof).unwrap())
                    .unwrap()
                    .accepted
            );
            assert!(!proof::verify_bytes(
                &proof::load_keys(c).unwrap(),
                &narrow.proof.proof_bytes().unwrap(),
                &narrow.proof.instances().unwrap()
            ));
        }
    }
}

/// A graph with two inputs (one with a symbolic batch) and two outputs, as
/// exporters write them: `input_data` holds one tensor per input, the
/// batch is sized from the sample, and every output is public and proved.
#[test]
fn two_inputs_two_outputs_and_a_symbolic_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let model = t.join("two.onnx");
    write_graph(
        &model,
        &[
            ("Add", "sum", &["a", "b"], "s"),
            ("Relu", "relu", &["s"], "y"),
            ("Mul", "product", &["a", "b"], "p"),
        ],
        &[("a", &[-1, 3]), ("b", &[-1, 3])],
        &["y", "p"],
    );
    let a: [f64; 6] = [0.5, -0.25, 0.75, -0.5, 0.1, 0.3];
    let b: [f64; 6] = [0.25, 0.5, -1.0, 0.2, -0.3, 0.6];
    let input = t.join("in.json");
    std::fs::write(
        &input,
        serde_json::json!({ "input_data": [a, b] }).to_string(),
    )
    .unwrap();
    let out = t.join("build");
    let c = zkml_evm::compile::compile_files(&model, &[input.clone()], &Default::default(), &out)
        .unwrap();
    assert_eq!(
        c.settings.input_shapes,
        vec![vec![2, 3], vec![2, 3]],
        "the batch is the sample's"
    );
    assert_eq!(c.settings.output_shapes, vec![vec![2, 3], vec![2, 3]]);
    proof::setup(&c, None).unwrap();
    let x = zkml_evm::model::InputFile::read(&input)
        .unwrap()
        .input_for(&c.model.program, &input)
        .unwrap();
    let p = proof::prove(&c, &x, proof::TranscriptKind::Evm).unwrap();
    let expected: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x + y).max(0.0))
        .chain(a.iter().zip(&b).map(|(x, y)| x * y))
        .collect();
    assert_eq!(p.outputs.len(), 12);
    for (o, e) in p.outputs.iter().zip(&expected) {
        assert!((o - e).abs() < 0.01, "{o} vs {e}");
    }
    assert!(verify(&c, &p).unwrap());
    let art = verifier_for(&c, &t.join("v"));
    assert!(run_in_revm(&art, &calldata(&p).unwrap()).unwrap().accepted);
    // 12 inputs then 12 outputs, a packed word each; one more in the second
    // input's last element or in the second output's is refused.
    assert_eq!(c.settings.public_layout, ["input[0..12]", "output[0..12]"]);
    for i in [0, 1] {
        assert!(
            !run_in_revm(&art, &calldata(&bump_public_input(&p, i)).unwrap())
                .unwrap()
                .accepted
        );
    }
    // Reloading the build keeps the sample's batch.
    let again = zkml_evm::compile::Compiled::load(&out).unwrap();
    assert_eq!(again.program.num_inputs, 12);
}

/// Packed public values end to end: fewer public inputs, verified natively
/// and on the EVM; a changed word, a flipped byte and a slot overflow are
/// refused.
#[test]
fn packed_public_values_prove_and_verify() {
    let opts = zkml_evm::compile::CompileOptions {
        pack_public: zkml_evm::compile::PackPublic::On,
        ..Default::default()
    };
    let b = build_with("rockybot", &opts);
    let c = &b.compiled;
    let (circuit, _) = c.circuit_for(&b.input.input_data[0]).unwrap();
    let mock = halo2_proofs::dev::MockProver::run(c.settings.k, &circuit, vec![circuit.instance()])
        .unwrap();
    assert_eq!(mock.verify(), Ok(()));
    assert!(c.settings.visibility.packed);
    assert!(
        verify(c, &b.proof).unwrap(),
        "honest packed proof rejected natively"
    );
    // 36 inputs and 12 outputs of 18-bit slots, 14 a word: 3 + 1 words.
    assert_eq!(
        b.proof.public_layout,
        vec![
            "input[0..14]",
            "input[14..28]",
            "input[28..36]",
            "output[0..12]"
        ]
    );

    let vdir = b.dir.path().join("verifier");
    let art = verifier_for(c, &vdir);
    let ok = run_in_revm(&art, &calldata(&b.proof).unwrap()).unwrap();
    assert!(
        ok.accepted,
        "EVM rejected an honest packed proof: {:?}",
        ok.reason
    );
    eprintln!(
        "rockybot packed: verify gas {} runtime {} bytes",
        ok.gas_used, ok.runtime_size
    );
    let len = b.proof.proof_bytes().unwrap().len();
    for i in [0, len / 2, len - 1] {
        assert!(!verify(c, &flip_byte(&b.proof, i)).unwrap());
        assert!(
            !run_in_revm(&art, &calldata(&flip_byte(&b.proof, i)).unwrap())
                .unwrap()
                .accepted
        );
    }
    // A changed word (its last slot one higher), and a slot overflow: the
    // last slot 2^18 higher, which carries into the slot above.
    let overflow = {
        let mut p = b.proof.clone();
        let mut inst = p.instances().unwrap();
        inst[3] += halo2_proofs::halo2curves::bn256::Fr::from(1u64 << 18);
        p.public_inputs = inst.iter().map(proof::fr_to_hex).collect();
        p
    };
    for bad in [
        bump_public_input(&b.proof, 0),
        bump_public_input(&b.proof, 3),
        overflow,
    ] {
        assert!(!matches!(verify(c, &bad), Ok(true)));
        assert!(
            !run_in_revm(&art, &calldata(&bad).unwrap())
                .unwrap()
                .accepted
        );
    }

    // PublicInputs.sol decodes the words: its `output(pi, j)` is the
    // quantized output j the proof carries.
    let q = &c.settings.quant;
    let lib = zkml_evm::evm::public_layout::library_source(
        &c.layout.public_names(),
        &c.settings.model_hash,
        q.public_offset(),
        q.scale_bits,
        c.settings.batch,
    );
    let harness = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.19;\nimport {ZkmlPublicInputs} from \"./PublicInputs.sol\";\n\
        contract Harness { function output(uint256[] calldata pi, uint256 j) external pure returns (int256) { return ZkmlPublicInputs.output(pi, j); }\n\
        function input(uint256[] calldata pi, uint256 i) external pure returns (int256) { return ZkmlPublicInputs.input(pi, i); } }\n";
    let compiled = zkml_evm::evm::compile::compile_contract(
        &[
            ("PublicInputs.sol".into(), lib),
            ("Harness.sol".into(), harness.into()),
        ],
        "Harness",
        Some(200),
        false,
    )
    .unwrap();
    let mut evm = zkml_evm::evm::exec::Evm::new();
    let h = evm.deploy(&compiled.bytecode).unwrap().address;
    alloy_sol_types::sol! { function output(uint256[] pi, uint256 j) external returns (int256); function input(uint256[] pi, uint256 i) external returns (int256); }
    use alloy_sol_types::SolCall;
    let pi: Vec<alloy_primitives::U256> = b
        .proof
        .public_inputs
        .iter()
        .map(|s| alloy_primitives::U256::from_str_radix(s.trim_start_matches("0x"), 16).unwrap())
        .collect();
    let scale = (q.scale_bits as f64).exp2();
    for (j, &o) in b.proof.outputs.iter().enumerate() {
        let out = evm.call(
            h,
            &outputCall {
                pi: pi.clone(),
                j: alloy_primitives::U256::from(j),
            }
            .abi_encode(),
            1_000_000,
        );
        let got = alloy_primitives::I256::try_from_be_slice(&out.output).unwrap();
        assert_eq!(got.as_i64() as f64, (o * scale).round(), "output {j}");
    }
    let x0 = evm.call(
        h,
        &inputCall {
            pi: pi.clone(),
            i: alloy_primitives::U256::from(35),
        }
        .abi_encode(),
        1_000_000,
    );
    let x0 = alloy_primitives::I256::try_from_be_slice(&x0.output).unwrap();
    assert_eq!(x0.as_i64(), q.quantize_input(b.input.input_data[0][35]));
}

/// Packed public values with weights in advice (private, committed,
/// hashed): RockyBot's 48 values pack by default there too. Each build
/// proves and verifies natively and on the EVM, and a changed word, a slot
/// overflow and a flipped byte are refused by both.
#[test]
fn packed_public_values_with_weights_in_advice() {
    use zkml_evm::compile::{CompileOptions, Vis, Visibility};
    for params in [Vis::Private, Vis::Committed, Vis::Hashed] {
        let opts = CompileOptions {
            visibility: Visibility {
                params,
                ..Default::default()
            },
            ..Default::default()
        };
        let b = build_with("rockybot", &opts);
        let c = &b.compiled;
        assert!(c.settings.visibility.packed, "{params}: 48 values pack");
        let mut layout = vec![
            "input[0..14]",
            "input[14..28]",
            "input[28..36]",
            "output[0..12]",
        ];
        if params == Vis::Hashed {
            layout.push("params_commitment");
        }
        assert_eq!(b.proof.public_layout, layout, "{params}");
        assert!(
            verify(c, &b.proof).unwrap(),
            "{params}: honest proof rejected"
        );
        let art = verifier_for(c, &b.dir.path().join("verifier"));
        let ok = run_in_revm(&art, &calldata(&b.proof).unwrap()).unwrap();
        assert!(
            ok.accepted,
            "{params}: EVM rejected an honest proof: {:?}",
            ok.reason
        );
        eprintln!("rockybot {params} packed: verify gas {}", ok.gas_used);
        let overflow = {
            let mut p = b.proof.clone();
            let mut inst = p.instances().unwrap();
            inst[3] += halo2_proofs::halo2curves::bn256::Fr::from(1u64 << 18);
            p.public_inputs = inst.iter().map(proof::fr_to_hex).collect();
            p
        };
        let len = b.proof.proof_bytes().unwrap().len();
        for bad in [
            bump_public_input(&b.proof, 0),
            bump_public_input(&b.proof, 3),
            overflow,
            flip_byte(&b.proof, len / 2),
        ] {
            assert!(!matches!(verify(c, &bad), Ok(true)), "{params}");
            assert!(
                !run_in_revm(&art, &calldata(&bad).unwrap())
                    .unwrap()
                    .accepted,
                "{params}"
            );
        }
    }
}
