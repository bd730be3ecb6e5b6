//! A model split into chunks, end to end as a user runs it: `compile
//! --max-k` cuts the deep narrow tower (k = 13 as one circuit) into two
//! chunks of k <= 12, `setup` makes their keys and the aggregation keys,
//! `prove --jobs 2` proves both chunks (one process each) and folds them,
//! and `verify`, `gen-verifier` and `test-evm` take the build as they take
//! one circuit. Then what must
//! be refused is: flipped bytes, changed public inputs, a tampered chunk
//! proof, and chunk proofs whose link columns differ (another boundary
//! tensor, or another tail), by the driver's check and by the aggregation
//! circuit itself.
//!
//! One split build (its aggregation keygen and proof take minutes) is
//! shared by every test here.

mod common;

use common::vectors;
use halo2_proofs::halo2curves::bn256::Fr;
use std::path::PathBuf;
use std::sync::OnceLock;
use zkml_evm::aggregate::{self, AggregateProof, Aggregated, Inner, ACCUMULATOR_LIMBS};
use zkml_evm::evm::verifier::{calldata_for_file, run_in_revm, VerifierArtifact};
use zkml_evm::proof::{self, fr_to_hex, ProofFile, TranscriptKind};
use zkml_evm::split::{BoundaryFile, SplitBuild};

use common::{arg as s, zkml_ok as ok};

struct Fixture {
    root: PathBuf,
    build: PathBuf,
    proof: PathBuf,
    verifier: PathBuf,
    compile_output: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Result<Fixture, String>> = OnceLock::new();
    common::shared_fixture(&F, || {
        let root = common::shared_tempdir();
        let v = vectors().join("tower");
        let build = root.join("build");
        let compile_output = ok(&[
            "compile",
            s(&v.join("network.onnx")),
            "--input",
            s(&v.join("input.json")),
            "-o",
            s(&build),
            "--max-k",
            "12",
            // The fastest k whose verifier fits EIP-170 (see aggregate.rs).
            "--aggregate-k",
            "19",
        ]);
        ok(&["setup", s(&build)]);
        let proof = root.join("proof.json");
        ok(&[
            "prove",
            s(&build),
            "--input",
            s(&v.join("input.json")),
            "-o",
            s(&proof),
            "--jobs",
            "2",
        ]);
        let verifier = root.join("verifier");
        ok(&["gen-verifier", s(&build), "-o", s(&verifier)]);
        Fixture {
            root,
            build,
            proof,
            verifier,
            compile_output,
        }
    })
}

/// A fixture that panics while building is built once: every later test
/// that asks for it fails at once with the first failure's message (the
/// last CI run rebuilt this file's fixture for each of its tests on a full
/// disk).
#[test]
fn a_fixture_that_failed_is_not_built_again() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    static BROKEN: OnceLock<Result<u32, String>> = OnceLock::new();
    static BUILDS: AtomicUsize = AtomicUsize::new(0);
    for _ in 0..3 {
        let failed = std::panic::catch_unwind(|| {
            common::shared_fixture(&BROKEN, || {
                BUILDS.fetch_add(1, SeqCst);
                panic!("No space left on device")
            });
        })
        .expect_err("a broken fixture fails its test");
        let msg = failed.downcast::<String>().expect("a formatted message");
        assert!(msg.contains("No space left on device"), "{msg}");
    }
    assert_eq!(BUILDS.load(SeqCst), 1);
}

/// (native, EVM) verdicts on `p`.
fn verdicts(f: &Fixture, p: &AggregateProof) -> (bool, bool) {
    let path = f.root.join(format!("probe-{}.json", rand::random::<u64>()));
    zkml_evm::artifact::write_json(&path, p).unwrap();
    let native = matches!(Aggregated::load(&f.build).unwrap().verify(p), Ok(true));
    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    let evm = run_in_revm(&artifact, &calldata_for_file(&path).unwrap())
        .unwrap()
        .accepted;
    (native, evm)
}

/// The chunk proofs `prove` left in the build, as aggregation inputs.
fn chunk_inners(b: &SplitBuild) -> Vec<Inner> {
    b.chunks
        .iter()
        .map(|c| Inner::load(&c.dir, &c.dir.join(aggregate::PROOF_FILE)).unwrap())
        .collect()
}

/// Chunk `i`'s commitment to its advice column 0 in proof `p`: its input
/// link, or the first chunk's output link.
fn link_commitment(b: &SplitBuild, i: usize, p: &ProofFile) -> Vec<u8> {
    let keys = proof::load_keys(&b.chunks[i]).unwrap();
    aggregate::advice_commitment(&p.proof_bytes().unwrap(), &keys.vk, 0)
        .unwrap()
        .to_vec()
}

/// Chunk `i`'s link tails, from the `boundary.json` that `prove` wrote.
fn honest_tails(b: &SplitBuild, i: usize) -> Vec<Vec<Fr>> {
    let dir = &b.chunks[i].dir;
    let file: BoundaryFile =
        zkml_evm::artifact::read_json(&dir.join(zkml_evm::split::BOUNDARY_FILE)).unwrap();
    file.link_tails(&b.chunks[i]).unwrap()
}

/// The tower's sample input, as the fixed-point integers chunk 0 reads.
fn quantized_sample(b: &SplitBuild) -> Vec<i64> {
    let q = &b.settings.quant;
    let sample = zkml_evm::model::InputFile::read(&vectors().join("tower/input.json")).unwrap();
    let x = sample.input_data.concat();
    x.iter().map(|&v| q.quantize_input(v)).collect()
}

#[test]
fn a_split_model_proves_and_verifies_like_one_circuit() {
    let f = fixture();
    assert!(
        f.compile_output.contains("split into 2 chunks"),
        "{}",
        f.compile_output
    );
    assert!(ok(&["verify", s(&f.build), s(&f.proof)]).contains("is valid"));
    let out = ok(&["test-evm", s(&f.verifier), s(&f.proof)]);
    assert!(out.contains("verify returned true"), "{out}");
    let artifact = VerifierArtifact::read(&f.verifier).unwrap();
    assert!(
        artifact.runtime_size <= 24_576,
        "{} bytes",
        artifact.runtime_size
    );

    // Public inputs: the accumulator, the first chunk's (the model input),
    // the last chunk's (the model output); the cut is no public input of
    // either chunk, only a link column each.
    let b = SplitBuild::load(&f.build).unwrap();
    let p = AggregateProof::read(&f.proof).unwrap();
    let first = ProofFile::read(&b.chunks[0].dir.join(aggregate::PROOF_FILE)).unwrap();
    let last = ProofFile::read(&b.chunks[1].dir.join(aggregate::PROOF_FILE)).unwrap();
    let expected: Vec<String> = first
        .public_inputs
        .iter()
        .chain(&last.public_inputs)
        .cloned()
        .collect();
    assert_eq!(p.public_inputs[ACCUMULATOR_LIMBS..], expected[..]);
    // 16 inputs in 2 packed words (14 slots of 17 bits a word), 4 outputs in 1.
    assert_eq!(p.public_inputs.len(), ACCUMULATOR_LIMBS + 2 + 1);
    // Both chunks at one k, and their proofs commit to one link column:
    // chunk 0's output link (its column 0) is chunk 1's input link.
    assert_eq!(b.chunks[0].settings.k, b.chunks[1].settings.k);
    assert_eq!(
        link_commitment(&b, 0, &first),
        link_commitment(&b, 1, &last)
    );

    // The outputs are exactly what the same model compiled as one circuit
    // computes (the same calibration, so the same fixed-point program),
    // and onnxruntime's within the documented tolerance.
    let v = vectors().join("tower");
    let sample = zkml_evm::model::InputFile::read(&v.join("input.json")).unwrap();
    let x = sample.input_data.concat();
    let tmp = tempfile::tempdir().unwrap();
    let single = zkml_evm::compile::compile(
        &v.join("network.onnx"),
        std::slice::from_ref(&x),
        &Default::default(),
        tmp.path(),
    )
    .unwrap();
    let q = &single.settings.quant;
    assert_eq!(*q, b.settings.quant);
    let xq: Vec<i64> = x.iter().map(|&v| q.quantize_input(v)).collect();
    let values = zkml_evm::quant::forward(&single.program, q, &xq).unwrap();
    let whole: Vec<f64> = single
        .program
        .outputs
        .iter()
        .map(|&o| q.dequantize(values[o]))
        .collect();
    assert_eq!(p.inner[1].outputs, whole);
    let want = sample.output_data.unwrap().concat();
    for (got, want) in p.inner[1].outputs.iter().zip(&want) {
        assert!((got - want).abs() < 0.02, "{got} vs {want}");
    }
}

#[test]
fn flipped_bytes_and_changed_public_inputs_are_rejected() {
    let f = fixture();
    let p = AggregateProof::read(&f.proof).unwrap();
    assert_eq!(verdicts(f, &p), (true, true), "the honest proof");
    let mut bytes = p.proof_bytes().unwrap();
    bytes[200] ^= 1;
    let flipped = AggregateProof {
        proof: zkml_evm::artifact::to_hex(&bytes),
        ..p.clone()
    };
    assert_eq!(
        verdicts(f, &flipped),
        (false, false),
        "a flipped proof byte"
    );
    let inst = p.instances().unwrap();
    // The first model input and the last model output, each moved by one.
    for i in [ACCUMULATOR_LIMBS, inst.len() - 1] {
        let mut v = inst.clone();
        v[i] += Fr::one();
        let changed = AggregateProof {
            public_inputs: v.iter().map(fr_to_hex).collect(),
            ..p.clone()
        };
        assert_eq!(
            verdicts(f, &changed),
            (false, false),
            "public input {i} changed"
        );
    }
}

#[test]
fn a_tampered_chunk_proof_is_refused_naming_the_chunk() {
    let f = fixture();
    let b = SplitBuild::load(&f.build).unwrap();
    let mut inners = chunk_inners(&b);
    let mut bytes = inners[1].model_proof().unwrap().proof_bytes().unwrap();
    bytes[64] ^= 1;
    inners[1].model_proof_mut().unwrap().proof = zkml_evm::artifact::to_hex(&bytes);
    let out = f.root.join("tampered.json");
    let opts = b.fold_options();
    let e = aggregate::aggregate_wired(&inners, &b.wiring(), &f.build, &out, &opts)
        .err()
        .expect("a tampered chunk proof must be refused");
    let msg = format!("{e:#}");
    assert!(
        msg.contains("chunk-1") && msg.contains("does not verify"),
        "{msg}"
    );
}

/// An attacker keeps chunk 0's honest proof and proves chunk 1 on another
/// boundary tensor (one value moved, everything downstream recomputed),
/// with the honest link tail: both chunk proofs are valid on their own, so
/// only the link between them can catch it. The driver refuses it by name;
/// with that check skipped, the aggregation circuit's copy constraints on
/// the two commitments make the proof invalid.
#[test]
fn chunk_proofs_of_different_boundaries_do_not_aggregate() {
    let f = fixture();
    let b = SplitBuild::load(&f.build).unwrap();
    let honest = chunk_inners(&b);
    let chunk1 = &b.chunks[1];
    // Chunk 1's honest input: chunk 0's output, from chunk 0's witness.
    let x = quantized_sample(&b);
    let values = zkml_evm::quant::forward(&b.chunks[0].program, &b.settings.quant, &x).unwrap();
    let mut boundary: Vec<i64> = b.chunks[0]
        .program
        .outputs
        .iter()
        .map(|&o| values[o])
        .collect();
    boundary[3] += 1;
    let (forged, _) = proof::prove_linked(chunk1, &boundary, &honest_tails(&b, 1)).unwrap();
    assert!(
        proof::verify_model_proof(
            TranscriptKind::Poseidon,
            &proof::load_keys(chunk1).unwrap(),
            &forged.proof_bytes().unwrap(),
            &forged.instances().unwrap()
        ),
        "the forged chunk proof is valid on its own"
    );
    let chunk0_proof = honest[0].model_proof().unwrap();
    assert_eq!(
        link_commitment(&b, 1, honest[1].model_proof().unwrap()),
        link_commitment(&b, 0, chunk0_proof),
        "the honest chunks link"
    );
    assert_ne!(
        link_commitment(&b, 1, &forged),
        link_commitment(&b, 0, chunk0_proof),
        "the forged chunk commits to another tensor"
    );
    refused_both_ways(&b, forged, "forged");
}

/// Chunk 1 proven on the honest boundary with another link tail (a seed
/// of its own): it computes the right thing, but its link column is
/// another polynomial, so it does not link. What links two proofs is the
/// commitment, tail included; nothing weaker passes. The driver refuses
/// it; that the circuit's equality of the two commitments rejects unequal
/// ones is shown once, on the forged boundary above (each unchecked
/// aggregation costs minutes of CI).
#[test]
fn a_link_column_with_another_tail_does_not_aggregate() {
    let f = fixture();
    let b = SplitBuild::load(&f.build).unwrap();
    let x = quantized_sample(&b);
    let values = zkml_evm::quant::forward(&b.chunks[0].program, &b.settings.quant, &x).unwrap();
    let boundary: Vec<i64> = b.chunks[0]
        .program
        .outputs
        .iter()
        .map(|&o| values[o])
        .collect();
    let len = honest_tails(&b, 1)[0].len();
    let other = vec![zkml_evm::proof::link::tail_values([7; 32], 0, len)];
    let (p1, _) = proof::prove_linked(&b.chunks[1], &boundary, &other).unwrap();
    let other_link = link_commitment(&b, 1, &p1);
    let inners = with_chunk1(&b, p1);
    assert_ne!(
        other_link,
        link_commitment(&b, 0, inners[0].model_proof().unwrap()),
        "another tail is another commitment"
    );
    refused_by_driver(&b, &inners, "other-tail");
}

/// The chunk proofs `prove` left in the build, chunk 1's replaced by `p1`.
fn with_chunk1(b: &SplitBuild, p1: ProofFile) -> Vec<Inner> {
    let mut inners = chunk_inners(b);
    *inners[1].model_proof_mut().unwrap() = p1;
    inners
}

/// Chunk proofs whose chunk 1 does not link (see [`with_chunk1`]): the
/// driver refuses them, naming chunk 1 and the boundary.
fn refused_by_driver(b: &SplitBuild, inners: &[Inner], name: &str) {
    let f = fixture();
    let out = f.root.join(format!("{name}.json"));
    let e = aggregate::aggregate_wired(inners, &b.wiring(), &f.build, &out, &b.fold_options())
        .err()
        .expect("unlinked chunk proofs must be refused");
    let msg = format!("{e:#}");
    assert!(
        msg.contains("chunk-1") && msg.contains("commitment to the boundary"),
        "{msg}"
    );
}

/// [`refused_by_driver`], and the aggregation circuit, run without the
/// driver's checks, makes no valid proof of it.
fn refused_both_ways(b: &SplitBuild, p1: ProofFile, name: &str) {
    let inners = with_chunk1(b, p1);
    refused_by_driver(b, &inners, name);
    let f = fixture();
    let out = f.root.join(format!("{name}.json"));
    let opts = b.fold_options();
    let e = aggregate::aggregate_wired_unchecked(&inners, &b.wiring(), &f.build, &out, &opts)
        .err()
        .expect("the aggregation circuit must not prove unlinked chunks");
    assert!(format!("{e:#}").contains("does not verify"), "{e:#}");
}

/// The aggregation tree as `fold-chunks` shows it: two chunks make one
/// root over both (no tree at the default fan-in), and a node the tree
/// lacks is refused by name before anything runs.
#[test]
fn fold_chunks_plans_the_tree_and_refuses_unknown_nodes() {
    let f = fixture();
    let plan: serde_json::Value =
        serde_json::from_str(&ok(&["fold-chunks", s(&f.build), "--plan"])).unwrap();
    let levels = plan["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 1, "{plan}");
    assert_eq!(
        levels[0][0]["children"],
        serde_json::json!([{"chunk": 0}, {"chunk": 1}])
    );
    let o = common::zkml(&["fold-chunks", s(&f.build), "--node", "3-0", "-o", "x.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no node '3-0'"));
    let o = common::zkml(&["fold-chunks", s(&f.build), "--node", "root"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out is needed"));
}
