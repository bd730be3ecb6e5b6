//! `aggregate` end to end, as a user runs it: two tic-tac-toe inferences
//! proved for aggregation, folded into one proof, verified natively and by
//! the generated EVM verifier; then everything that must be refused is.
//!
//! The aggregation (keygen and proving) is the costliest step of the test
//! suite, so one is shared by every test here.

mod common;

use common::mutation::{fuzz_cases, fuzz_verifier};
use common::vectors;
use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zkml_evm::aggregate::{self, AggregateProof, Aggregated, Inner, ACCUMULATOR_LIMBS};
use zkml_evm::evm::verifier::{calldata_for_file, encode_call, run_in_revm, VerifierArtifact};
use zkml_evm::proof::{fr_to_hex, ProofFile, TranscriptKind};

use common::{arg as s, zkml, zkml_ok as ok};

struct Fixture {
    root: PathBuf,
    /// Compiled tic-tac-toe model with keys.
    model: PathBuf,
    /// Two inner proofs (Poseidon transcript).
    inner: [PathBuf; 2],
    /// Aggregation directory and its proof.
    agg: PathBuf,
    /// Generated verifier of the aggregation.
    verifier: PathBuf,
}

/// The aggregation's k here: the fastest that still gives an EVM verifier
/// under EIP-170 for two tic-tac-toe proofs (measured with `bench
/// --aggregate 2 --k …`: k = 19 keygen 76 s + prove 124 s, 12 advice
/// columns, 19.3 KB runtime; k = 20 86 s + 163 s; k = 18 makes a 30 KB
/// verifier). The default k = 21 is for gas, not for CI time.
const AGG_K: &str = "19";

fn fixture() -> &'static Fixture {
    static F: OnceLock<Result<Fixture, String>> = OnceLock::new();
    common::shared_fixture(&F, || {
        let root = common::shared_tempdir();
        let v = vectors().join("tictactoe");
        let model = root.join("ttt");
        let inputs = [v.join("input.json"), v.join("input2.json")];
        ok(&[
            "compile",
            s(&v.join("network.onnx")),
            "--input",
            s(&inputs[0]),
            s(&inputs[1]),
            "-o",
            s(&model),
        ]);
        ok(&["setup", s(&model)]);
        let inner = [root.join("a.json"), root.join("b.json")];
        for (i, p) in inputs.iter().zip(&inner) {
            ok(&[
                "prove",
                s(&model),
                "--input",
                s(i),
                "-o",
                s(p),
                "--for-aggregation",
            ]);
        }
        let agg = root.join("agg");
        ok(&[
            "aggregate",
            s(&model),
            s(&inner[0]),
            s(&inner[1]),
            "-o",
            s(&agg),
            "--k",
            AGG_K,
        ]);
        let verifier = root.join("verifier");
        ok(&["gen-verifier", s(&agg), "-o", s(&verifier)]);
        Fixture {
            root,
            model,
            inner,
            agg,
            verifier,
        }
    })
}

/// The model proof an [`Inner`] holds, to tamper with.
fn model_proof(i: &mut Inner) -> &mut ProofFile {
    i.model_proof_mut().expect("a model proof")
}

fn agg_proof(f: &Fixture) -> AggregateProof {
    AggregateProof::read(&f.agg.join(aggregate::PROOF_FILE)).unwrap()
}

fn with_instances(p: &AggregateProof, inst: &[Fr]) -> AggregateProof {
    AggregateProof {
        public_inputs: inst.iter().map(fr_to_hex).collect(),
        ..p.clone()
    }
}

/// (native, EVM) verdicts on `p`.
fn verdicts(f: &Fixture, p: &AggregateProof) -> (bool, bool) {
    let path = f.root.join(format!("probe-{}.json", rand::random::<u64>()));
    zkml_evm::artifact::write_json(&path, p).unwrap();
    // A file whose listed outputs disagree with its public inputs is
    // refused outright: that counts as not valid here.
    let native = matches!(Aggregated::load(&f.agg).unwrap().verify(p), Ok(true));
    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    let evm = run_in_revm(&artifact, &calldata_for_file(&path).unwrap())
        .unwrap()
        .accepted;
    (native, evm)
}

#[test]
fn aggregated_proof_verifies_natively_and_on_evm() {
    let f = fixture();
    let proof_path = f.agg.join(aggregate::PROOF_FILE);
    assert!(ok(&["verify", s(&f.agg), s(&proof_path)]).contains("is valid"));
    let out = ok(&["test-evm", s(&f.verifier), s(&proof_path)]);
    assert!(out.contains("verify returned true"), "{out}");

    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    assert!(
        artifact.runtime_size <= 24_576,
        "runtime {} bytes",
        artifact.runtime_size
    );

    // Public inputs: the accumulator, then each inner proof's, in order.
    let p = agg_proof(f);
    let mut expected_tail = Vec::new();
    for (inner, summary) in f.inner.iter().zip(&p.inner) {
        let q = ProofFile::read(inner).unwrap();
        assert_eq!(
            summary.public_start,
            ACCUMULATOR_LIMBS + expected_tail.len()
        );
        assert_eq!(summary.outputs, q.outputs);
        expected_tail.extend(q.public_inputs);
    }
    assert_eq!(p.public_inputs[ACCUMULATOR_LIMBS..], expected_tail[..]);

    // Same models and k: the keys are reused, and the verifier still fits.
    let again = f.root.join("again");
    std::fs::create_dir_all(&again).unwrap();
    // Linked, not copied: the proving key is gigabytes, and `aggregate`
    // only reads keys it reuses (it writes new ones through a rename).
    for file in ["aggregate.json", "kzg.srs", "vk.bin", "pk.bin"] {
        let (from, to) = (f.agg.join(file), again.join(file));
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let out = ok(&[
        "aggregate",
        s(&f.model),
        s(&f.inner[1]),
        s(&f.inner[0]),
        "-o",
        s(&again),
        "--k",
        AGG_K,
    ]);
    assert!(out.contains("keys reused"), "{out}");
    let reordered = AggregateProof::read(&again.join(aggregate::PROOF_FILE)).unwrap();
    assert_eq!(
        reordered.public_inputs
            [ACCUMULATOR_LIMBS..ACCUMULATOR_LIMBS + reordered.inner[0].num_public],
        ProofFile::read(&f.inner[1]).unwrap().public_inputs[..]
    );
    let out = ok(&[
        "test-evm",
        s(&f.verifier),
        s(&again.join(aggregate::PROOF_FILE)),
    ]);
    assert!(out.contains("verify returned true"), "{out}");
}

#[test]
fn changed_inputs_and_proof_bytes_are_rejected() {
    let f = fixture();
    let p = agg_proof(f);
    let inst = p.instances().unwrap();
    let n = inst.len();
    let bump = |i: usize| {
        let mut v = inst.clone();
        v[i] += Fr::one();
        with_instances(&p, &v)
    };
    // First and last inner public input, an accumulator limb.
    for i in [ACCUMULATOR_LIMBS, n - 1, 0, 7] {
        assert_eq!(
            verdicts(f, &bump(i)),
            (false, false),
            "public input {i} changed"
        );
    }
    // The two inferences' public inputs swapped: each proof's inputs belong
    // to it.
    let half = (n - ACCUMULATOR_LIMBS) / 2;
    let mut swapped = inst[..ACCUMULATOR_LIMBS].to_vec();
    swapped.extend_from_slice(&inst[ACCUMULATOR_LIMBS + half..]);
    swapped.extend_from_slice(&inst[ACCUMULATOR_LIMBS..ACCUMULATOR_LIMBS + half]);
    assert_ne!(swapped, inst);
    assert_eq!(verdicts(f, &with_instances(&p, &swapped)), (false, false));
    // A zero inner public input (unbound in the inner circuit) is refused.
    let mut zero = inst.clone();
    zero[ACCUMULATOR_LIMBS + 1] = Fr::zero();
    assert_eq!(verdicts(f, &with_instances(&p, &zero)), (false, false));
    // The identity accumulator (all limbs zero) would pass its pairing, so
    // both verifiers refuse it by itself: natively before any proof check,
    // on the EVM in the input checks, long before the MSM.
    let agg = Aggregated::load(&f.agg).unwrap();
    let mut identity = inst.clone();
    identity[..ACCUMULATOR_LIMBS].fill(Fr::zero());
    assert!(!aggregate::accumulator_holds(
        &agg.params,
        &identity[..ACCUMULATOR_LIMBS]
    ));
    assert_eq!(verdicts(f, &with_instances(&p, &identity)), (false, false));
    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    let calls = |inst: &[Fr]| {
        encode_call(
            &p.proof_bytes().unwrap(),
            &inst
                .iter()
                .map(|v| {
                    alloy_primitives::U256::from_be_slice(&zkml_evm::proof::transcript::be_bytes(v))
                })
                .collect::<Vec<_>>(),
        )
    };
    let honest = run_in_revm(&artifact, &calls(&inst)).unwrap();
    let refused = run_in_revm(&artifact, &calls(&identity)).unwrap();
    assert!(honest.accepted && !refused.accepted);
    assert!(
        refused.gas_used < honest.gas_used / 4,
        "identity accumulator refused only after {} gas",
        refused.gas_used
    );
    // Half of it (lhs a real point, rhs the identity) is refused too.
    let mut half = inst.clone();
    half[ACCUMULATOR_LIMBS / 2..ACCUMULATOR_LIMBS].fill(Fr::zero());
    let refused = run_in_revm(&artifact, &calls(&half)).unwrap();
    assert!(!refused.accepted && refused.gas_used < honest.gas_used / 4);
    // The library verifier takes exactly the aggregation's number of
    // public inputs: one fewer or one more is refused.
    let bytes = p.proof_bytes().unwrap();
    assert!(aggregate::verify_bytes(
        TranscriptKind::Evm,
        &agg.params,
        &agg.vk,
        &agg.settings,
        &bytes,
        &inst
    ));
    assert!(!aggregate::verify_bytes(
        TranscriptKind::Evm,
        &agg.params,
        &agg.vk,
        &agg.settings,
        &bytes,
        &inst[..n - 1]
    ));
    let mut longer = inst.clone();
    longer.push(Fr::one());
    assert!(!aggregate::verify_bytes(
        TranscriptKind::Evm,
        &agg.params,
        &agg.vk,
        &agg.settings,
        &bytes,
        &longer
    ));
    // Flipped proof bytes.
    let bytes = p.proof_bytes().unwrap();
    for i in [0, 100, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[i] ^= 1;
        let q = AggregateProof {
            proof: zkml_evm::artifact::to_hex(&b),
            ..p.clone()
        };
        assert_eq!(verdicts(f, &q), (false, false), "byte {i} flipped");
    }
    // A model proof is not an aggregated proof.
    let model_proof = ProofFile::read(&f.inner[0]).unwrap();
    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    let foreign = encode_call(&model_proof.proof_bytes().unwrap(), &[]);
    assert!(!run_in_revm(&artifact, &foreign).unwrap().accepted);
}

#[test]
fn mutated_aggregated_proofs_are_rejected_cheaply() {
    let f = fixture();
    let p = agg_proof(f);
    let agg = Aggregated::load(&f.agg).unwrap();
    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    let points_end = zkml_evm::evm::codegen::points_len(&agg.vk);
    let native = |proof: &[u8], inst: &[Fr]| {
        aggregate::verify_bytes(
            TranscriptKind::Evm,
            &agg.params,
            &agg.vk,
            &agg.settings,
            proof,
            inst,
        )
    };
    let cases = fuzz_cases(140);
    let r = fuzz_verifier(
        &artifact,
        &p.proof_bytes().unwrap(),
        &p.instances().unwrap(),
        points_end,
        cases,
        &native,
    );
    assert!(r.mutants > 0);
}

#[test]
fn proofs_that_cannot_be_aggregated_are_refused_by_name() {
    let f = fixture();
    let out = f.root.join("refused");
    let load = |p: &Path| Inner::load(&f.model, p).unwrap();
    let opts = aggregate::Options {
        k: aggregate::DEFAULT_K,
        srs: None,
        transcript: TranscriptKind::Evm,
    };
    let refuse = |inners: Vec<Inner>, needle: &str| {
        let err = format!(
            "{:#}",
            aggregate::aggregate(&inners, &out, &opts)
                .err()
                .expect("aggregation must be refused")
        );
        assert!(
            err.contains(needle),
            "error {err:?} does not mention {needle:?}"
        );
    };

    // A tampered inner proof.
    let mut tampered = load(&f.inner[1]);
    let mut bytes = model_proof(&mut tampered).proof_bytes().unwrap();
    bytes[40] ^= 1;
    model_proof(&mut tampered).proof = zkml_evm::artifact::to_hex(&bytes);
    tampered.label = "tampered.json".into();
    refuse(
        vec![load(&f.inner[0]), tampered],
        "tampered.json does not verify",
    );

    // An inner public input changed.
    let mut changed = load(&f.inner[0]);
    let p = model_proof(&mut changed);
    let last = p.public_inputs.len() - 1;
    p.public_inputs[last] = fr_to_hex(&(p.instances().unwrap()[last] + Fr::one()));
    changed.label = "changed.json".into();
    refuse(vec![changed], "changed.json does not verify");

    // A proof made for the EVM verifier, not for aggregation.
    let mut evm_proof = load(&f.inner[0]);
    model_proof(&mut evm_proof).transcript = TranscriptKind::Evm;
    evm_proof.label = "evm.json".into();
    refuse(vec![evm_proof], "--for-aggregation");

    // Nothing was written for the refused runs.
    assert!(!out.join(aggregate::PROOF_FILE).exists());

    // Each kind of proof names the directory kind it needs.
    let o = zkml(&["verify", s(&f.agg), s(&f.inner[0])]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a model proof"));
    let o = zkml(&["verify", s(&f.model), s(&f.agg.join(aggregate::PROOF_FILE))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is an aggregated proof"));

    // On the command line: a proof before any model directory.
    let o = zkml(&["aggregate", s(&f.inner[0]), s(&f.model), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("before any model or aggregation directory")
    );

    // An aggregation proved for the EVM cannot be a parent's child. (Trees
    // themselves, and what they refuse, are proven once in CI, where one
    // already exists: scripts/test-ray.sh folds a split model in two levels.)
    let o = zkml(&[
        "aggregate",
        s(&f.agg),
        s(&f.agg.join(aggregate::PROOF_FILE)),
        "-o",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--for-aggregation"));
    assert!(!out.join(aggregate::PROOF_FILE).exists());
}
