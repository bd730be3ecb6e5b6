//! Hashed and private visibility end to end: a contract pinned to a params
//! commitment rejects a proof from changed weights (on revm), and a hashed
//! input never appears in proof.json or calldata.

mod common;

use common::{bump_public_input, flip_byte, vectors};
use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use zkml_evm::compile::{compile, CompileOptions, Compiled, Vis, Visibility};
use zkml_evm::evm::verifier::{calldata, gen_verifier, run_in_revm, VerifierArtifact};
use zkml_evm::evm::{compile_contract, Evm};
use zkml_evm::proof::{self, fr_to_hex, ProofFile};

const MODEL: &str = "2l_relu_fc";

fn model_path() -> PathBuf {
    vectors().join(MODEL).join("network.onnx")
}

/// The model and its sample input.
fn sample() -> (PathBuf, Vec<f64>) {
    let v = common::vector(MODEL);
    (v.path, v.x)
}

/// A copy of the model with one weight changed by `delta`.
fn tweaked_model(dir: &Path, delta: f32) -> PathBuf {
    use prost::Message;
    let bytes = std::fs::read(model_path()).unwrap();
    let mut model = tract_onnx::pb::ModelProto::decode(bytes.as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let w = graph
        .initializer
        .iter_mut()
        .max_by_key(|t| t.dims.iter().product::<i64>())
        .unwrap();
    if let Some(v) = w.float_data.first_mut() {
        *v += delta;
    } else {
        let v = f32::from_le_bytes(w.raw_data[..4].try_into().unwrap()) + delta;
        w.raw_data[..4].copy_from_slice(&v.to_le_bytes());
    }
    let path = dir.join("tweaked.onnx");
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    path
}

fn build(model: &Path, x: &[f64], opts: &CompileOptions, dir: &Path) -> (Compiled, ProofFile) {
    let c = compile(model, &[x.to_vec()], opts, dir).unwrap();
    proof::setup(&c, None).unwrap();
    let p = proof::prove(&c, x, proof::TranscriptKind::Evm).unwrap();
    (c, p)
}

fn commitment(c: &Compiled, name: &str, x: Option<&[f64]>) -> Fr {
    c.commitments(x)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
}

fn index_of(p: &ProofFile, name: &str) -> usize {
    p.public_layout
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", p.public_layout))
}

/// Deploys `PinnedModel(verifier, index, commitment)`; returns its address.
fn deploy_pinned(
    evm: &mut Evm,
    verifier: zkml_evm::evm::Address,
    index: usize,
    commitment: Fr,
) -> zkml_evm::evm::Address {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/src");
    let src = |f: &str| {
        (
            f.to_string(),
            std::fs::read_to_string(root.join(f)).unwrap(),
        )
    };
    let c = compile_contract(
        &[src("PinnedModel.sol"), src("IZkmlVerifier.sol")],
        "PinnedModel",
        Some(200),
        false,
    )
    .unwrap();
    let mut code = c.bytecode.clone();
    let word = |v: &[u8]| {
        let mut w = [0u8; 32];
        w[32 - v.len()..].copy_from_slice(v);
        w
    };
    code.extend(word(verifier.as_slice()));
    code.extend(word(&(index as u64).to_be_bytes()));
    code.extend(word(
        &zkml_evm::artifact::from_hex(&fr_to_hex(&commitment)).unwrap(),
    ));
    evm.deploy(&code).unwrap().address
}

fn pinned_accepts(evm: &mut Evm, pinned: zkml_evm::evm::Address, p: &ProofFile) -> bool {
    use alloy_sol_types::{sol, SolCall};
    sol! { function accepts(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool); }
    let inputs = p
        .instances()
        .unwrap()
        .iter()
        .map(|f| {
            alloy_primitives::U256::from_be_slice(
                &zkml_evm::artifact::from_hex(&fr_to_hex(f)).unwrap(),
            )
        })
        .collect();
    let data = acceptsCall {
        proof: p.proof_bytes().unwrap().into(),
        publicInputs: inputs,
    }
    .abi_encode();
    let out = evm.call(pinned, &data, 30_000_000);
    assert!(
        out.success,
        "PinnedModel must answer, not revert: {:?}",
        out.revert_reason
    );
    zkml_evm::evm::verifier::is_abi_true(&out.output)
}

#[test]
fn hashed_params_pin_one_model_version_on_evm() {
    let t = tempfile::tempdir().unwrap();
    let (model, x) = sample();
    let hashed = Visibility {
        params: Vis::Hashed,
        ..Visibility::default()
    };
    let (a, proof_a) = build(
        &model,
        &x,
        &CompileOptions {
            visibility: hashed,
            ..Default::default()
        },
        &t.path().join("a"),
    );
    // The same architecture and scales with one weight changed.
    let opts_b = CompileOptions {
        visibility: hashed,
        scale_bits: Some(a.settings.quant.scale_bits),
        ..Default::default()
    };
    let (b, proof_b) = build(
        &tweaked_model(t.path(), 0.5),
        &x,
        &opts_b,
        &t.path().join("b"),
    );

    let at = index_of(&proof_a, "params_commitment");
    assert_eq!(at, proof_a.public_inputs.len() - 1);
    let (ca, cb) = (
        commitment(&a, "params_commitment", None),
        commitment(&b, "params_commitment", None),
    );
    assert_ne!(ca, cb, "one changed weight must change the commitment");
    assert_eq!(
        proof_a.instances().unwrap()[at],
        ca,
        "the proof carries what `commit` prints"
    );
    assert_eq!(proof_b.instances().unwrap()[at], cb);

    let keys = proof::load_keys(&a).unwrap();
    let vdir = t.path().join("verifier");
    let art = gen_verifier(
        &keys,
        &a.settings.model_hash,
        a.settings.layout.public_inputs,
        &vdir,
    )
    .unwrap();
    assert!(
        run_in_revm(&art, &calldata(&proof_a).unwrap())
            .unwrap()
            .accepted
    );
    // Weights are private: one verifier serves every version of the
    // architecture, so B's proof is valid for A's verifier...
    assert!(
        run_in_revm(&art, &calldata(&proof_b).unwrap())
            .unwrap()
            .accepted
    );
    // ...and only the pinned commitment tells them apart.
    let mut evm = Evm::new();
    let verifier = evm
        .deploy(
            &VerifierArtifact::read(&vdir)
                .unwrap()
                .creation_code()
                .unwrap(),
        )
        .unwrap()
        .address;
    let pinned = deploy_pinned(&mut evm, verifier, at, ca);
    assert!(pinned_accepts(&mut evm, pinned, &proof_a));
    assert!(
        !pinned_accepts(&mut evm, pinned, &proof_b),
        "changed weights must be rejected"
    );

    // The usual tampering is rejected too: a flipped proof byte, a changed
    // commitment, a changed output.
    for bad in [
        flip_byte(&proof_a, 100),
        bump_public_input(&proof_a, at),
        bump_public_input(&proof_a, 0),
    ] {
        assert!(
            !run_in_revm(&art, &calldata(&bad).unwrap())
                .unwrap()
                .accepted
        );
        assert!(!proof::verify(&a, &bad).unwrap());
    }
    // A's proof claiming B's commitment is not a valid proof.
    let mut swapped = proof_a.clone();
    swapped.public_inputs[at] = fr_to_hex(&cb);
    assert!(
        !run_in_revm(&art, &calldata(&swapped).unwrap())
            .unwrap()
            .accepted
    );
}

#[test]
fn hashed_input_stays_out_of_proof_and_calldata() {
    let t = tempfile::tempdir().unwrap();
    let (model, x) = sample();
    let vis = Visibility {
        input: Vis::Hashed,
        ..Visibility::default()
    };
    let (c, p) = build(
        &model,
        &x,
        &CompileOptions {
            visibility: vis,
            ..Default::default()
        },
        t.path(),
    );
    let outputs = c.program.outputs.len();
    assert_eq!(p.public_inputs.len(), outputs + 1);
    assert_eq!(p.public_layout.last().unwrap(), "input_commitment");
    assert_eq!(
        p.instances().unwrap()[outputs],
        commitment(&c, "input_commitment", Some(&x))
    );
    assert!(proof::verify(&c, &p).unwrap());

    // No input value, as the float the user gave, as its quantized integer,
    // or as its public encoding, is in proof.json or the calldata.
    let json = serde_json::to_string(&p).unwrap();
    let data = zkml_evm::artifact::to_hex(&calldata(&p).unwrap());
    let q = &c.settings.quant;
    let words: Vec<String> = x
        .iter()
        .map(|&v| q.quantize_input(v))
        .flat_map(|v| [v, v + q.public_offset()])
        .map(|v| fr_to_hex(&zkml_evm::circuit::fe(v as i128))[2..].to_string())
        .collect();
    for w in &words {
        assert!(
            !data.contains(w.as_str()),
            "calldata holds an input word {w}"
        );
        assert!(
            !json.contains(w.as_str()),
            "proof.json holds an input word {w}"
        );
    }
    for v in &x {
        assert!(
            !json.contains(&v.to_string()) || v.to_string().len() < 4,
            "proof.json holds input {v}"
        );
    }

    let keys = proof::load_keys(&c).unwrap();
    let art = gen_verifier(
        &keys,
        &c.settings.model_hash,
        c.settings.layout.public_inputs,
        &t.path().join("v"),
    )
    .unwrap();
    assert!(run_in_revm(&art, &calldata(&p).unwrap()).unwrap().accepted);
    // Another input's commitment, or a changed one, is rejected.
    let other_x: Vec<f64> = x.iter().map(|v| v + 0.25).collect();
    let other_commit = commitment(&c, "input_commitment", Some(&other_x));
    let mut swapped = p.clone();
    swapped.public_inputs[outputs] = fr_to_hex(&other_commit);
    assert!(
        !run_in_revm(&art, &calldata(&swapped).unwrap())
            .unwrap()
            .accepted
    );
    assert!(
        !run_in_revm(&art, &calldata(&bump_public_input(&p, outputs)).unwrap())
            .unwrap()
            .accepted
    );
}
