//! Hashed and private visibility end to end: a contract pinned to a params
//! commitment rejects a proof from changed weights (on revm), and a hashed
//! input never appears in proof.json or calldata.

mod common;

use common::{bump_public_input, flip_byte, vectors, verifier_for};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use std::path::{Path, PathBuf};
use zkml_evm::compile::{compile, CompileOptions, Compiled, Vis, Visibility};
use zkml_evm::evm::verifier::{calldata, run_in_revm, VerifierArtifact};
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

/// Two weight versions of one architecture, each compiled with `vis` and
/// proven on the sample `x`: A is the model, B the same with one weight
/// changed (at A's scales, in `dir/b`, which `before_b` may prepare).
struct Versions {
    a: Compiled,
    proof_a: ProofFile,
    b: Compiled,
    proof_b: ProofFile,
    x: Vec<f64>,
}

fn two_versions(dir: &Path, vis: Visibility, before_b: impl FnOnce(&Compiled)) -> Versions {
    let (model, x) = sample();
    let opts = CompileOptions {
        visibility: vis,
        ..Default::default()
    };
    let (a, proof_a) = build(&model, &x, &opts, &dir.join("a"));
    before_b(&a);
    let opts_b = CompileOptions {
        scale_bits: Some(a.settings.quant.scale_bits),
        ..opts
    };
    let (b, proof_b) = build(&tweaked_model(dir, 0.5), &x, &opts_b, &dir.join("b"));
    Versions {
        a,
        proof_a,
        b,
        proof_b,
        x,
    }
}

/// Give the build directory `dir` (before its compile) the salt of `c`.
fn share_salt(c: &Compiled, dir: &Path) {
    use zkml_evm::proof::committed::SALT_FILE;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(c.dir.join(SALT_FILE), dir.join(SALT_FILE)).unwrap();
}

/// A's verifier, generated into `vdir` and deployed in a fresh EVM.
fn shared_verifier(a: &Compiled, vdir: &Path) -> (VerifierArtifact, Evm, zkml_evm::evm::Address) {
    let art = verifier_for(a, vdir);
    let mut evm = Evm::new();
    let verifier = evm.deploy(&art.creation_code().unwrap()).unwrap().address;
    (art, evm, verifier)
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

/// Deploys contract `name` of `contracts/src` (which imports
/// `IZkmlVerifier.sol`) with constructor arguments `args`, one word each.
fn deploy_with_args(evm: &mut Evm, name: &str, args: &[[u8; 32]]) -> zkml_evm::evm::Address {
    try_deploy_with_args(evm, name, args).unwrap()
}

/// [`deploy_with_args`], with the deployment's error (a constructor's revert
/// reason) as a string.
fn try_deploy_with_args(
    evm: &mut Evm,
    name: &str,
    args: &[[u8; 32]],
) -> Result<zkml_evm::evm::Address, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/src");
    let src = |f: &str| {
        (
            f.to_string(),
            std::fs::read_to_string(root.join(f)).unwrap(),
        )
    };
    let c = compile_contract(
        &[src(&format!("{name}.sol")), src("IZkmlVerifier.sol")],
        name,
        Some(200),
        false,
    )
    .unwrap();
    let mut code = c.bytecode.clone();
    for a in args {
        code.extend(a);
    }
    evm.deploy(&code)
        .map(|d| d.address)
        .map_err(|e| e.to_string())
}

/// A constructor argument word from big-endian bytes.
fn word(v: &[u8]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[32 - v.len()..].copy_from_slice(v);
    w
}

/// Deploys `PinnedModel(verifier, index, commitment)`; returns its address.
fn deploy_pinned(
    evm: &mut Evm,
    verifier: zkml_evm::evm::Address,
    index: usize,
    commitment: Fr,
) -> zkml_evm::evm::Address {
    let commitment = zkml_evm::artifact::from_hex(&fr_to_hex(&commitment)).unwrap();
    deploy_with_args(
        evm,
        "PinnedModel",
        &[
            word(verifier.as_slice()),
            word(&(index as u64).to_be_bytes()),
            word(&commitment),
        ],
    )
}

fn pinned_accepts(evm: &mut Evm, pinned: zkml_evm::evm::Address, p: &ProofFile) -> bool {
    pinned_call(evm, pinned, p).0
}

/// `accepts(proof, publicInputs)` on a pinning contract: its answer and the
/// call's gas (transaction total).
fn pinned_call(evm: &mut Evm, pinned: zkml_evm::evm::Address, p: &ProofFile) -> (bool, u64) {
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
        "the pinning contract must answer, not revert: {:?}",
        out.revert_reason
    );
    (
        zkml_evm::evm::verifier::is_abi_true(&out.output),
        out.gas_used,
    )
}

#[test]
fn hashed_params_pin_one_model_version_on_evm() {
    let t = tempfile::tempdir().unwrap();
    let hashed = Visibility {
        params: Vis::Hashed,
        ..Visibility::default()
    };
    let Versions {
        a,
        proof_a,
        b,
        proof_b,
        ..
    } = two_versions(t.path(), hashed, |_| {});

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

    let (art, mut evm, verifier) = shared_verifier(&a, &t.path().join("verifier"));
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

    let art = verifier_for(&c, &t.path().join("v"));
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

/// Committed weights: the proof's first point is the weights column's
/// commitment, the same in every proof of one weight version (the salt
/// fixes the column's blinding rows). One verifier serves every version,
/// and `PinnedWeights` tells them apart. B's weights differ from A's in one
/// element, with A's salt and everything downstream recomputed: exactly
/// what a prover swapping a weight can make, and only the commitment
/// refuses it.
#[test]
fn committed_params_pin_one_model_version_on_evm() {
    use zkml_evm::proof::committed;
    let t = tempfile::tempdir().unwrap();
    let vis = Visibility {
        params: Vis::Committed,
        ..Visibility::default()
    };
    // B under A's salt: only the weight differs.
    let Versions {
        a,
        proof_a,
        b,
        proof_b,
        x,
    } = two_versions(t.path(), vis, |a: &Compiled| {
        share_salt(a, &t.path().join("b"))
    });
    let x2: Vec<f64> = x.iter().map(|v| v * 0.5 + 0.125).collect();
    let proof_a2 = proof::prove(&a, &x2, proof::TranscriptKind::Evm).unwrap();
    assert!(proof_a
        .public_layout
        .iter()
        .all(|n| n != "params_commitment"));

    // One salt, two weight versions: unrelated tails, so the tail does not
    // cancel in the difference of the two commitments.
    let salt = committed::read_salt(&a.dir).unwrap();
    assert_eq!(salt, committed::read_salt(&b.dir).unwrap());
    assert_ne!(
        committed::salt_tail(&a.layout, salt),
        committed::salt_tail(&b.layout, salt)
    );
    let ca = committed::commitment(&a.dir, &a.layout).unwrap();
    let cb = committed::commitment(&b.dir, &b.layout).unwrap();
    assert_ne!(ca, cb, "one changed weight must change the commitment");
    let first = |p: &ProofFile| committed::proof_commitment(&p.proof_bytes().unwrap()).unwrap();
    assert_eq!(
        first(&proof_a),
        ca,
        "the proof starts with what `commit` prints"
    );
    assert_eq!(
        first(&proof_a2),
        ca,
        "every proof of one version commits alike"
    );
    assert_eq!(first(&proof_b), cb);
    assert_eq!(proof_a.params_commitment, Some(committed::to_hex_pair(&ca)));
    for p in [&proof_a, &proof_a2] {
        assert!(proof::verify(&a, p).unwrap());
    }
    // Natively, a proof is valid for a build only with that build's
    // weights: B's proof is not valid for A, unless A's verification is
    // given B's point or told to accept any version.
    use proof::{verify_pinned, Verdict, WeightsPin};
    let verdict = verify_pinned(&a, &proof_b, WeightsPin::Build).unwrap();
    assert!(
        matches!(&verdict, Verdict::Invalid(why) if why.contains("another weight version")),
        "{verdict:?}"
    );
    assert!(!proof::verify(&a, &proof_b).unwrap());
    assert!(proof::verify(&b, &proof_b).unwrap());
    let [hx, hy] = committed::to_hex_pair(&cb);
    let pinned_b = committed::from_hex_pair(&format!("{hx},{hy}")).unwrap();
    assert_eq!(pinned_b, cb, "the pair `commit` prints reads back");
    for bad in [",", "0x,0x", "0x00,0x00", &hx[..]] {
        assert!(committed::from_hex_pair(bad).is_err(), "{bad:?}");
    }
    // A verifier holding another weight version of the architecture (the
    // same verifying key) checks the owner's proof against the owner's point.
    assert!(verify_pinned(&b, &proof_a, WeightsPin::Point(ca))
        .unwrap()
        .is_valid());
    for (pin, valid) in [
        (WeightsPin::Point(pinned_b), true),
        (WeightsPin::Point(ca), false),
        (WeightsPin::Any, true),
    ] {
        assert_eq!(
            verify_pinned(&a, &proof_b, pin).unwrap().is_valid(),
            valid,
            "{pin:?}"
        );
    }

    let (art, mut evm, verifier) = shared_verifier(&a, &t.path().join("verifier"));
    let direct = run_in_revm(&art, &calldata(&proof_a).unwrap()).unwrap();
    assert!(direct.accepted);
    // One verifier for every weight version of the architecture...
    assert!(
        run_in_revm(&art, &calldata(&proof_b).unwrap())
            .unwrap()
            .accepted
    );
    // ...and the pinned commitment tells them apart.
    let xy = zkml_evm::proof::transcript::point_bytes(&ca);
    let pinned_args = [word(verifier.as_slice()), word(&xy[..32]), word(&xy[32..])];
    let pinned = deploy_with_args(&mut evm, "PinnedWeights", &pinned_args);
    let (ok, gas) = pinned_call(&mut evm, pinned, &proof_a);
    assert!(ok);
    eprintln!(
        "committed weights: verify {} gas direct, {gas} through PinnedWeights",
        direct.gas_used
    );
    assert!(pinned_accepts(&mut evm, pinned, &proof_a2));
    assert!(
        !pinned_accepts(&mut evm, pinned, &proof_b),
        "changed weights must be rejected"
    );

    // Tampering: a flipped byte in the commitment itself, and further in;
    // a changed input and a changed output.
    let outputs_at = proof_a.public_inputs.len() - 1;
    for bad in [
        flip_byte(&proof_a, 40),
        flip_byte(&proof_a, 100),
        bump_public_input(&proof_a, 0),
        bump_public_input(&proof_a, outputs_at),
    ] {
        assert!(
            !run_in_revm(&art, &calldata(&bad).unwrap())
                .unwrap()
                .accepted
        );
        assert!(!pinned_accepts(&mut evm, pinned, &bad));
        assert!(!matches!(proof::verify(&a, &bad), Ok(true)));
    }
    // The attack itself: a proof made with B's weights (everything
    // downstream of the changed weight recomputed) behind A's pinned point,
    // so `PinnedWeights` passes it on to the verifier; and A's proof behind
    // B's point. The first point is what the verifier opens as the weights
    // column, and the transcript absorbs it, so neither verifies anywhere.
    let spliced = |p: &ProofFile, c: &G1Affine| {
        let mut bytes = p.proof_bytes().unwrap();
        bytes[..64].copy_from_slice(&zkml_evm::proof::transcript::point_bytes(c));
        ProofFile {
            proof: zkml_evm::artifact::to_hex(&bytes),
            params_commitment: Some(committed::to_hex_pair(c)),
            ..p.clone()
        }
    };
    for bad in [spliced(&proof_b, &ca), spliced(&proof_a, &cb)] {
        assert!(
            !run_in_revm(&art, &calldata(&bad).unwrap())
                .unwrap()
                .accepted
        );
        assert!(!matches!(proof::verify(&a, &bad), Ok(true)));
    }
    assert!(
        !pinned_accepts(&mut evm, pinned, &spliced(&proof_b, &ca)),
        "B's weights behind A's pinned point"
    );

    // A development-SRS verifier (anyone can open a commitment to any
    // weights with its public secret) is refused off development chains.
    evm.set_chain_id(1);
    let err = try_deploy_with_args(&mut evm, "PinnedWeights", &pinned_args)
        .expect_err("a development-SRS verifier on chain 1");
    assert!(err.contains("development SRS"), "{err}");

    // proof.json claiming B's commitment for A's proof is refused.
    let mut claimed = proof_a.clone();
    claimed.params_commitment = Some(committed::to_hex_pair(&cb));
    let err = proof::verify(&a, &claimed).unwrap_err().to_string();
    assert!(err.contains("params_commitment"), "{err}");
}

#[test]
fn committed_weights_refuse_inputs_and_splits() {
    for (vis, flag) in [
        (
            Visibility {
                input: Vis::Committed,
                ..Visibility::default()
            },
            "only weights can be committed",
        ),
        (
            Visibility {
                params: Vis::Committed,
                input: Vis::Private,
                linked: zkml_evm::circuit::public::Linked {
                    input: true,
                    output: false,
                },
                ..Visibility::default()
            },
            "does not split",
        ),
    ] {
        let err = vis.check().unwrap_err();
        assert!(err.contains(flag), "{err}");
    }
}

/// `prove` stops at the salt's hiding bound instead of only printing it,
/// and without the owner's salt a verifier must say which weights it
/// accepts.
#[test]
fn committed_weights_count_proofs_and_need_a_pin_without_the_salt() {
    use zkml_evm::proof::committed::{self, COUNT_FILE, SALT_FILE};
    use zkml_evm::proof::{verify_pinned, WeightsPin};
    let t = tempfile::tempdir().unwrap();
    let (model, x) = sample();
    let opts = CompileOptions {
        visibility: Visibility {
            params: Vis::Committed,
            ..Visibility::default()
        },
        ..Default::default()
    };
    let (c, p) = build(&model, &x, &opts, t.path());
    let count_path = c.dir.join(COUNT_FILE);
    let read_counts = || -> std::collections::BTreeMap<String, usize> {
        serde_json::from_str(&std::fs::read_to_string(&count_path).unwrap()).unwrap()
    };
    let counts = read_counts();
    assert_eq!(counts.len(), 1);
    let (ours, &made) = counts.iter().next().unwrap();
    assert_eq!(made, 1, "one count per proof");
    let bound = committed::hidden_proofs(&c.layout);
    assert!(bound > 2);

    // One place left: the proof is made and takes it. Another tail's count
    // (another weight version, k or salt) is kept and holds nothing back.
    let other = "00".repeat(32);
    let set = |counts: &[(&str, usize)]| {
        let map: std::collections::BTreeMap<&str, usize> = counts.iter().copied().collect();
        std::fs::write(&count_path, serde_json::to_string(&map).unwrap()).unwrap();
    };
    set(&[(ours, bound - 1), (&other, bound)]);
    proof::prove(&c, &x, proof::TranscriptKind::Evm).unwrap();
    let at_bound = read_counts();
    assert_eq!((at_bound[ours], at_bound[&other]), (bound, bound));
    // At the bound the next proof is refused, and nothing is counted.
    let err = proof::prove(&c, &x, proof::TranscriptKind::Evm)
        .unwrap_err()
        .to_string();
    assert!(err.contains("salt rows keep hidden"), "{err}");
    assert!(err.contains(SALT_FILE), "{err}");
    assert_eq!(read_counts(), at_bound);

    // A verifier with the build but not the salt cannot tell the build's
    // commitment: it must be given one, or told to accept any.
    std::fs::remove_file(c.dir.join(SALT_FILE)).unwrap();
    let err = proof::verify(&c, &p).unwrap_err().to_string();
    assert!(err.contains("--weights-commitment"), "{err}");
    let own = committed::proof_commitment(&p.proof_bytes().unwrap()).unwrap();
    for pin in [WeightsPin::Point(own), WeightsPin::Any] {
        assert!(verify_pinned(&c, &p, pin).unwrap().is_valid(), "{pin:?}");
    }
}

/// Committed weights with a table function (sigmoid) and a batch of two:
/// the batch commits to its copies of the weights (a column unlike one
/// inference's, under the same salt), and its proofs verify natively and
/// on the EVM.
#[test]
fn committed_weights_batch_a_table_model() {
    use zkml_evm::proof::committed;
    let t = tempfile::tempdir().unwrap();
    let v = common::vector("2l_relu_sigmoid_small");
    let vis = Visibility {
        params: Vis::Committed,
        ..Visibility::default()
    };
    let one = CompileOptions {
        visibility: vis,
        ..Default::default()
    };
    let (single, _) = build(&v.path, &v.x, &one, &t.path().join("one"));
    let batch_dir = t.path().join("batch");
    share_salt(&single, &batch_dir);
    let two = CompileOptions {
        batch: 2,
        scale_bits: Some(single.settings.quant.scale_bits),
        ..one
    };
    let c = compile(&v.path, &[v.x.clone()], &two, &batch_dir).unwrap();
    assert!(
        !c.program.lut_fns().is_empty(),
        "the model looks up a table"
    );
    proof::setup(&c, None).unwrap();
    let halved: Vec<f64> = v.x.iter().map(|x| x * 0.5).collect();
    let inputs: Vec<f64> = v.x.iter().chain(&halved).copied().collect();
    let p = proof::prove(&c, &inputs, proof::TranscriptKind::Evm).unwrap();
    assert_eq!(p.batch, 2);
    assert!(proof::verify(&c, &p).unwrap());
    let commitment = committed::commitment(&c.dir, &c.layout).unwrap();
    assert_eq!(
        committed::proof_commitment(&p.proof_bytes().unwrap()).unwrap(),
        commitment
    );
    assert_ne!(
        commitment,
        committed::commitment(&single.dir, &single.layout).unwrap(),
        "a batch's column holds its copies of the weights"
    );
    let (art, _, _) = shared_verifier(&c, &t.path().join("verifier"));
    assert!(run_in_revm(&art, &calldata(&p).unwrap()).unwrap().accepted);
    assert!(
        !run_in_revm(&art, &calldata(&flip_byte(&p, 100)).unwrap())
            .unwrap()
            .accepted
    );
}

/// `bind` then `BoundWeights`: the committed verifier's price per
/// inference, hashed weights' guarantee. A one-time binding proof shows
/// that the commitment a build's proofs start with holds the weights whose
/// Poseidon hash is `H` (the very hash `--param-visibility hashed`
/// exposes); the registry records it, then accepts an inference proof only
/// when its commitment is recorded. B's weights differ from A's in one
/// element, everything downstream recomputed, so B's proofs and B's
/// binding proof are valid: only the registry's record refuses them.
#[test]
fn committed_weights_bound_to_their_hash_on_evm() {
    use zkml_evm::proof::{bind, committed};
    let t = tempfile::tempdir().unwrap();
    let vis = Visibility {
        params: Vis::Committed,
        ..Visibility::default()
    };
    let Versions {
        a,
        proof_a,
        b,
        proof_b,
        x,
    } = two_versions(t.path(), vis, |_| ());
    let (model, _) = sample();
    let hashed_opts = CompileOptions {
        visibility: Visibility {
            params: Vis::Hashed,
            ..Visibility::default()
        },
        ..Default::default()
    };
    let hashed = compile(
        &model,
        std::slice::from_ref(&x),
        &hashed_opts,
        &t.path().join("hashed"),
    )
    .unwrap();
    let (dir_a, dir_b) = (t.path().join("bind-a"), t.path().join("bind-b"));
    let bind_a = bind::bind(&a, &dir_a, None).unwrap();
    let bind_b = bind::bind(&b, &dir_b, None).unwrap();
    assert_eq!(
        bind_a.params_hash,
        fr_to_hex(&commitment(&hashed, "params_commitment", None)),
        "the hash hashed weights expose"
    );
    assert_ne!(bind_a.params_hash, bind_b.params_hash);
    assert_eq!(
        Some(bind_a.params_commitment.clone()),
        proof_a.params_commitment
    );
    assert_eq!(
        Some(bind_b.params_commitment.clone()),
        proof_b.params_commitment
    );
    let printed = zkml_evm::api::commitments(&a, None).unwrap();
    assert_eq!(printed["params_hash"], bind_a.params_hash.as_str());

    // One binding verifier for every weight version of the architecture.
    let settings = |d: &Path| bind::BindSettings::read(d).unwrap();
    assert_eq!(settings(&dir_a), settings(&dir_b));
    for p in [&bind_a, &bind_b] {
        assert!(bind::verify(&dir_a, p).unwrap());
    }
    let bump = |p: &bind::BindProof, byte: usize| {
        let mut bytes = p.proof_bytes().unwrap();
        bytes[byte] ^= 1;
        bind::BindProof {
            proof: zkml_evm::artifact::to_hex(&bytes),
            ..p.clone()
        }
    };
    // B's proof spliced behind A's commitment: the claim "A's column hashes to H_b".
    let spliced = {
        let mut bytes = bind_b.proof_bytes().unwrap();
        bytes[..64].copy_from_slice(&bind_a.proof_bytes().unwrap()[..64]);
        bind::BindProof {
            proof: zkml_evm::artifact::to_hex(&bytes),
            params_commitment: bind_a.params_commitment.clone(),
            ..bind_b.clone()
        }
    };
    let wrong_hash = bind::BindProof {
        public_inputs: bind_b.public_inputs.clone(),
        params_hash: bind_b.params_hash.clone(),
        ..bind_a.clone()
    };
    for bad in [bump(&bind_a, 100), spliced.clone(), wrong_hash] {
        assert!(!matches!(bind::verify(&dir_a, &bad), Ok(true)));
    }

    let (_, mut evm, verifier) = shared_verifier(&a, &t.path().join("verifier"));
    // The consumer's binder, from the build alone, is the owner's.
    let binder_art = zkml_evm::api::gen_binder(&a.dir, &t.path().join("binder"), None).unwrap();
    let owners = zkml_evm::api::gen_verifier(&dir_a, &t.path().join("binder-owner")).unwrap();
    assert_eq!(
        binder_art.creation_code().unwrap(),
        owners.creation_code().unwrap()
    );
    let binder = evm
        .deploy(&binder_art.creation_code().unwrap())
        .unwrap()
        .address;
    let hash = zkml_evm::artifact::from_hex(&bind_a.params_hash).unwrap();
    let registry = deploy_with_args(
        &mut evm,
        "BoundWeights",
        &[
            word(verifier.as_slice()),
            word(binder.as_slice()),
            word(&hash),
        ],
    );
    // The same model at a larger k (`--hide-proofs`): its weights sit at the
    // same rows of another domain, so A's binder would read other points of
    // its column. `BoundWeights` refuses the pair.
    let wide_opts = CompileOptions {
        visibility: vis,
        hide_proofs: Some(10 * committed::hidden_proofs(&a.layout)),
        ..Default::default()
    };
    let (wide, _) = build(&model, &x, &wide_opts, &t.path().join("wide"));
    assert!(wide.layout.k > a.layout.k);
    let wide_code = verifier_for(&wide, &t.path().join("wide-verifier"))
        .creation_code()
        .unwrap();
    let wide_verifier = evm.deploy(&wide_code).unwrap().address;
    let err = try_deploy_with_args(
        &mut evm,
        "BoundWeights",
        &[
            word(wide_verifier.as_slice()),
            word(binder.as_slice()),
            word(&hash),
        ],
    )
    .expect_err("a binder paired with another build's verifier");
    assert!(err.contains("binder is for another circuit"), "{err}");
    let bind_call = |evm: &mut Evm, p: &bind::BindProof| {
        use alloy_sol_types::{sol, SolCall};
        sol! { function bind(bytes calldata bindingProof) external; }
        let data = bindCall {
            bindingProof: p.proof_bytes().unwrap().into(),
        }
        .abi_encode();
        evm.call(registry, &data, 30_000_000)
    };
    assert!(
        !pinned_accepts(&mut evm, registry, &proof_a),
        "a commitment nobody bound"
    );
    // B's valid binding (to H_b), a tampered one, B's proof behind A's point.
    for bad in [bind_b.clone(), bump(&bind_a, 100), spliced] {
        let out = bind_call(&mut evm, &bad);
        assert!(!out.success);
        assert_eq!(out.revert_reason.as_deref(), Some("binding proof rejected"));
    }
    assert!(!pinned_accepts(&mut evm, registry, &proof_a));
    let bound = bind_call(&mut evm, &bind_a);
    assert!(bound.success, "{:?}", bound.revert_reason);
    let (ok, gas) = pinned_call(&mut evm, registry, &proof_a);
    assert!(ok);
    let direct = run_in_revm(
        &verifier_for(&a, &t.path().join("v2")),
        &calldata(&proof_a).unwrap(),
    )
    .unwrap();
    eprintln!(
        "bound weights: bind {} gas once, then verify {gas} gas per proof ({} direct)",
        bound.gas_used, direct.gas_used
    );
    assert!(
        !pinned_accepts(&mut evm, registry, &proof_b),
        "B's weights were never bound to A's hash"
    );
    let outputs_at = proof_a.public_inputs.len() - 1;
    for bad in [
        flip_byte(&proof_a, 40),
        flip_byte(&proof_a, 100),
        bump_public_input(&proof_a, 0),
        bump_public_input(&proof_a, outputs_at),
    ] {
        assert!(!pinned_accepts(&mut evm, registry, &bad));
    }

    // A fresh salt: another commitment of A's weights, bound to the same
    // hash by one more binding proof, with no new contract.
    let opts = CompileOptions {
        visibility: vis,
        ..Default::default()
    };
    let (a2, proof_a2) = build(&model, &x, &opts, &t.path().join("a2"));
    assert_ne!(proof_a2.params_commitment, proof_a.params_commitment);
    assert!(!pinned_accepts(&mut evm, registry, &proof_a2));
    let bind_a2 = bind::bind(&a2, &t.path().join("bind-a2"), None).unwrap();
    assert_eq!(bind_a2.params_hash, bind_a.params_hash);
    assert!(bind_call(&mut evm, &bind_a2).success);
    assert!(pinned_accepts(&mut evm, registry, &proof_a2));
    assert!(pinned_accepts(&mut evm, registry, &proof_a));
    // A build without committed weights has nothing to bind.
    let err = bind::bind(&hashed, &t.path().join("bind-h"), None).unwrap_err();
    assert!(err.to_string().contains("committed"), "{err}");
}
