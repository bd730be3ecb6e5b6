//! Mutation fuzzing of proofs and public inputs against both verifiers.
//!
//! Every mutant must be rejected; the EVM verifier must reject it without
//! running out of gas and for no more than an honest verification costs;
//! the native verifier must return `false`, never panic.
//!
//! CI runs `ZKML_FUZZ_CASES` cases (default 400). The longer run recorded in
//! README: `ZKML_FUZZ_CASES=10000 cargo test --test fuzz -- --nocapture`.

mod common;

use common::mutation::{fuzz_cases, fuzz_verifier};
use common::*;
use zkml_evm::evm::verifier::gen_verifier;
use zkml_evm::proof;

#[test]
fn mutated_proofs_and_inputs_are_rejected_cheaply_everywhere() {
    fuzz_model("2l_relu_fc", fuzz_cases(400));
}

/// A verifier with a lookup argument (tables), products and quotients:
/// more commitments and evaluations in the proof, the same guarantees.
#[test]
fn mutated_table_circuit_proofs_are_rejected_cheaply_everywhere() {
    fuzz_model("1l_softmax", fuzz_cases(400) / 2);
}

/// Hashed input, output and weights: the Poseidon sponge's columns, the
/// packing lookup and commitments as public inputs, the same guarantees.
#[test]
fn mutated_hashed_visibility_proofs_are_rejected_cheaply_everywhere() {
    use zkml_evm::compile::{CompileOptions, Vis, Visibility};
    let visibility = Visibility {
        input: Vis::Hashed,
        output: Vis::Hashed,
        params: Vis::Hashed,
        packed: false,
        linked: Default::default(),
    };
    fuzz_built(
        common::build_with(
            "2l_relu_fc",
            &CompileOptions {
                visibility,
                ..Default::default()
            },
        ),
        fuzz_cases(400) / 2,
    );
}

/// Packed public values: a changed word or a slot smuggled into its
/// neighbour must fail like any other mutant.
#[test]
fn mutated_packed_proofs_are_rejected_cheaply_everywhere() {
    use zkml_evm::compile::{CompileOptions, PackPublic};
    let opts = CompileOptions {
        pack_public: PackPublic::On,
        ..Default::default()
    };
    fuzz_built(common::build_with("2l_relu_fc", &opts), fuzz_cases(400) / 2);
}

/// A batch proof of three tic-tac-toe inferences (packed, two chain bits a
/// row): the same guarantees for the batch verifier.
#[test]
fn mutated_batch_proofs_are_rejected_cheaply_everywhere() {
    use zkml_evm::compile::{compile, CompileOptions};
    use zkml_evm::model::InputFile;
    let v = vector("tictactoe");
    let second = InputFile::read(&vectors().join("tictactoe").join("input2.json")).unwrap();
    let x2: Vec<f64> = second.input_data.concat();
    let x = [v.x.clone(), x2, v.x.clone()].concat();
    let dir = tempfile::tempdir().unwrap();
    let opts = CompileOptions {
        batch: 3,
        ..Default::default()
    };
    let compiled = compile(&v.path, &[v.x.clone()], &opts, dir.path()).unwrap();
    assert!(compiled.settings.visibility.packed, "54 public values pack");
    proof::setup(&compiled, None).unwrap();
    let proof = proof::prove(&compiled, &x, proof::TranscriptKind::Evm).unwrap();
    let built = common::Built {
        dir,
        compiled,
        input: v.input,
        proof,
    };
    fuzz_built(built, fuzz_cases(400) / 2);
}

fn fuzz_model(name: &str, cases: usize) {
    fuzz_built(build(name), cases);
}

fn fuzz_built(b: common::Built, cases: usize) {
    let c = &b.compiled;
    let keys = proof::load_keys(c).unwrap();
    let art = gen_verifier(
        &keys,
        &c.settings.model_hash,
        c.settings.layout.public_inputs,
        &b.dir.path().join("v"),
    )
    .unwrap();
    // Points come first: their byte length from the proof layout.
    let points_end = zkml_evm::evm::codegen::points_len(&keys.vk);
    let native = |proof: &[u8], inst: &[halo2_proofs::halo2curves::bn256::Fr]| {
        proof::verify_bytes(&keys, proof, inst)
    };
    fuzz_verifier(
        &art,
        &b.proof.proof_bytes().unwrap(),
        &b.proof.instances().unwrap(),
        points_end,
        cases,
        &native,
    );
}

/// The weights-binding verifier (`zkml-evm bind`): one public input (the
/// params hash), the proof's first point the committed weights column; the
/// same guarantees.
#[test]
fn mutated_binding_proofs_are_rejected_cheaply_everywhere() {
    use zkml_evm::compile::{CompileOptions, Vis, Visibility};
    use zkml_evm::proof::bind;
    let opts = CompileOptions {
        visibility: Visibility {
            params: Vis::Committed,
            ..Visibility::default()
        },
        ..Default::default()
    };
    let b = common::build_with("2l_relu_fc", &opts);
    let dir = b.dir.path().join("bind");
    let binding = bind::bind(&b.compiled, &dir, None).unwrap();
    let (_, keys) = bind::load(&dir).unwrap();
    let art =
        zkml_evm::api::gen_binder(&b.compiled.dir, &b.dir.path().join("binder"), None).unwrap();
    let native = |proof: &[u8], inst: &[halo2_proofs::halo2curves::bn256::Fr]| {
        proof::verify_bytes(&keys, proof, inst)
    };
    fuzz_verifier(
        &art,
        &binding.proof_bytes().unwrap(),
        &proof::parse_instances(&binding.public_inputs).unwrap(),
        zkml_evm::evm::codegen::points_len(&keys.vk),
        fuzz_cases(400) / 2,
        &native,
    );
    // Another model's binding proof, natively and on the EVM.
    let other = common::build_with("1l_mlp", &opts);
    let other_binding = bind::bind(&other.compiled, &other.dir.path().join("bind"), None).unwrap();
    let bytes = other_binding.proof_bytes().unwrap();
    let inst = proof::parse_instances(&other_binding.public_inputs).unwrap();
    assert!(!native(&bytes, &inst));
    let data = zkml_evm::evm::verifier::encode_proof(&bytes, &other_binding.public_inputs).unwrap();
    assert!(
        !zkml_evm::evm::verifier::run_in_revm(&art, &data)
            .unwrap()
            .accepted
    );
}
