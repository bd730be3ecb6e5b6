//! Batch proofs (`compile --batch N`): one proof settles N inferences of one
//! model. Each inference's outputs must be bound to its own input: a prover
//! who computes every cell honestly for other inputs (or the same inputs in
//! another order) and claims the original ones must fail.

mod common;

use common::{bump_public_input, flip_byte, vector, vectors, verifier_for};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use std::sync::Arc;
use zkml_evm::circuit::layout::Layout;
use zkml_evm::circuit::ModelCircuit;
use zkml_evm::compile::{compile, CompileOptions, PackPublic, Vis, Visibility};
use zkml_evm::evm::verifier::{calldata, run_in_revm};
use zkml_evm::model::Value;
use zkml_evm::proof::{self, verify};
use zkml_evm::quant;

/// `n` different tic-tac-toe boards (cells in {-1, 0, 1}).
fn boards(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|b| {
            (0..9)
                .map(|cell| ((b * 7 + cell * 5 + b * cell) % 3) as f64 - 1.0)
                .collect()
        })
        .collect()
}

fn batch_opts(batch: usize, pack_public: PackPublic) -> CompileOptions {
    CompileOptions {
        batch,
        pack_public,
        ..Default::default()
    }
}

#[test]
fn a_batch_proves_each_inference_as_the_single_model_would() {
    let v = vector("tictactoe");
    let boards = boards(4);
    let tmp = tempfile::tempdir().unwrap();
    let c = compile(
        &v.path,
        &boards,
        &batch_opts(4, PackPublic::Auto),
        tmp.path(),
    )
    .unwrap();
    assert_eq!(c.settings.batch, 4);
    assert!(
        c.settings.visibility.packed,
        "72 public values are packed by default"
    );
    proof::setup(&c, None).unwrap();
    let p = proof::prove(&c, &boards.concat(), proof::TranscriptKind::Evm).unwrap();
    assert!(verify(&c, &p).unwrap(), "honest batch proof rejected");
    assert_eq!(
        (p.batch, p.outputs.len(), p.float_outputs.len()),
        (4, 36, 36)
    );

    // Inference b's outputs are the single model's on board b, bit for bit,
    // and tract's float outputs on board b.
    let q = &c.settings.quant;
    let single = quant::quantize(&c.model.program, q).unwrap();
    let float = c.model.float_model().unwrap();
    for (b, board) in boards.iter().enumerate() {
        let xq: Vec<i64> = board.iter().map(|&x| q.quantize_input(x)).collect();
        let values = quant::forward(&single, q, &xq).unwrap();
        let expected: Vec<f64> = single
            .outputs
            .iter()
            .map(|&o| q.dequantize(values[o]))
            .collect();
        assert_eq!(
            &p.outputs[b * 9..(b + 1) * 9],
            &expected[..],
            "inference {b}"
        );
        assert_eq!(
            &p.float_outputs[b * 9..(b + 1) * 9],
            &float.run(board).unwrap()[..],
            "inference {b}"
        );
    }

    let art = verifier_for(&c, &tmp.path().join("verifier"));
    let ok = run_in_revm(&art, &calldata(&p).unwrap()).unwrap();
    assert!(
        ok.accepted,
        "EVM rejected an honest batch proof: {:?}",
        ok.reason
    );
    eprintln!(
        "tictactoe x4: {} public inputs, verify gas {} ({} an inference)",
        p.public_inputs.len(),
        ok.gas_used,
        ok.gas_used / 4
    );
    let len = p.proof_bytes().unwrap().len();
    for i in [0, len / 2, len - 1] {
        assert!(!verify(&c, &flip_byte(&p, i)).unwrap());
        assert!(
            !run_in_revm(&art, &calldata(&flip_byte(&p, i)).unwrap())
                .unwrap()
                .accepted
        );
    }
    let last = p.public_inputs.len() - 1;
    for bad in [bump_public_input(&p, 0), bump_public_input(&p, last)] {
        assert!(!matches!(verify(&c, &bad), Ok(true)));
        assert!(
            !run_in_revm(&art, &calldata(&bad).unwrap())
                .unwrap()
                .accepted
        );
    }

    // A proof for one inference of the same model is not a batch proof.
    let one = tempfile::tempdir().unwrap();
    let c1 = compile(
        &v.path,
        &boards,
        &batch_opts(1, PackPublic::Auto),
        one.path(),
    )
    .unwrap();
    proof::setup(&c1, None).unwrap();
    let p1 = proof::prove(&c1, &boards[0], proof::TranscriptKind::Evm).unwrap();
    assert!(!matches!(verify(&c, &p1), Ok(true)));
    assert!(!run_in_revm(&art, &calldata(&p1).unwrap()).unwrap().accepted);
}

/// The forgery batching invites: every cell computed honestly, but for the
/// boards in another order (or another board in one slot), while the public
/// inputs claim the original boards with those outputs. Packed and not.
#[test]
fn outputs_of_other_inferences_cannot_be_claimed_for_an_input() {
    let v = vector("tictactoe");
    let five_boards = boards(5);
    let boards = boards(3);
    for pack in [PackPublic::On, PackPublic::Off] {
        let tmp = tempfile::tempdir().unwrap();
        let c = compile(&v.path, &boards, &batch_opts(3, pack), tmp.path()).unwrap();
        let honest = boards.concat();
        let (circuit, _) = c.circuit_for(&honest).unwrap();
        let claimed = circuit.instance();
        assert_eq!(
            MockProver::run(c.settings.k, &circuit, vec![claimed.clone()])
                .unwrap()
                .verify(),
            Ok(())
        );
        let input_items = c
            .layout
            .public_names()
            .iter()
            .take_while(|n| n.starts_with("input"))
            .count();

        let swapped = [boards[1].clone(), boards[0].clone(), boards[2].clone()].concat();
        let mut other = boards.clone();
        other[2] = five_boards[4].clone();
        assert_ne!(other[2], boards[2]);
        for forged in [swapped, other.concat()] {
            // The witness is the honest computation on `forged`; the
            // instance claims the original inputs with `forged`'s outputs.
            let (circuit, _) = c.circuit_for(&forged).unwrap();
            let mut instance = claimed[..input_items].to_vec();
            instance.extend_from_slice(&circuit.instance()[input_items..]);
            assert_ne!(
                instance, claimed,
                "{pack:?}: the forgery claims different outputs"
            );
            assert!(
                MockProver::run(c.settings.k, &circuit, vec![instance])
                    .unwrap()
                    .verify()
                    .is_err(),
                "{pack:?}: forged batch passed"
            );
        }
    }
}

#[test]
fn a_batch_needs_one_input_per_inference() {
    let v = vector("tictactoe");
    let tmp = tempfile::tempdir().unwrap();

    let c = compile(
        &v.path,
        &boards(2),
        &batch_opts(2, PackPublic::Auto),
        tmp.path(),
    )
    .unwrap();
    let input = vectors().join("tictactoe").join("input.json");
    let err = c
        .read_inputs(std::slice::from_ref(&input))
        .err()
        .expect("one file for a batch of two")
        .to_string();
    assert!(err.contains("covers 2 inference(s)"), "{err}");
    let x = c.read_inputs(&[input.clone(), input]).unwrap();
    assert_eq!(x, [v.x.clone(), v.x].concat());
}

/// With weights in advice (hashed or private), one weight set runs every
/// inference: the batch's params commitment is the single model's, and a
/// prover who runs copy 1 with another weight, recomputing copy 1's values,
/// outputs and the instance (copy 0's weights, and so the commitment, stay
/// as they were), fails only at the copy constraints that tie copy 1's
/// weight cells to copy 0's.
#[test]
fn a_batch_with_weights_in_advice_runs_one_weight_set() {
    let v = vector("tictactoe");
    let boards = boards(3);
    for params in [Vis::Hashed, Vis::Private] {
        let tmp = tempfile::tempdir().unwrap();
        let opts = |batch| CompileOptions {
            batch,
            pack_public: PackPublic::Off,
            visibility: Visibility {
                params,
                ..Default::default()
            },
            ..Default::default()
        };
        let c = compile(&v.path, &boards, &opts(3), &tmp.path().join("batch")).unwrap();
        proof::setup(&c, None).unwrap();
        let p = proof::prove(&c, &boards.concat(), proof::TranscriptKind::Evm).unwrap();
        assert!(
            verify(&c, &p).unwrap(),
            "{params}: honest batch proof rejected"
        );
        if params == Vis::Hashed {
            let single = compile(&v.path, &boards, &opts(1), &tmp.path().join("one")).unwrap();
            let commitment = |c: &zkml_evm::compile::Compiled, x: &[f64]| {
                *c.circuit_for(x).unwrap().0.instance().last().unwrap()
            };
            assert_eq!(
                commitment(&c, &boards.concat()),
                commitment(&single, &boards[0]),
                "a batch commits to the single model's weights"
            );
        }

        // Copy 1 runs another weight; everything downstream is recomputed.
        let mut forged = (*c.program).clone();
        let per_copy = (forged.values.len() - forged.num_inputs) / forged.copies;
        let copy1 = forged.num_inputs + per_copy;
        let target = (copy1..copy1 + per_copy)
            .find(|&id| matches!(&forged.values[id], Value::Neuron(n) if !n.terms.is_empty()))
            .expect("copy 1 has a weighted neuron");
        if let Value::Neuron(n) = &mut forged.values[target] {
            n.terms[0].1 += 1;
        }
        let q = &c.settings.quant;
        let xq: Vec<i64> = boards
            .concat()
            .iter()
            .map(|&x| q.quantize_input(x))
            .collect();
        let values = quant::forward(&forged, q, &xq).unwrap();
        let layout = Layout::new(
            &forged,
            q,
            c.settings.k,
            c.layout.visibility,
            c.layout.shape,
        );
        assert_eq!(
            layout.param_cells(),
            c.layout.param_cells(),
            "copy 0 is untouched"
        );
        let circuit = ModelCircuit::new(Arc::new(forged), *q, Arc::new(layout), Some(&values));
        let instance = circuit.instance();
        let failures = MockProver::run(c.settings.k, &circuit, vec![instance])
            .unwrap()
            .verify()
            .expect_err("copy 1 ran other weights and passed");
        assert!(
            failures
                .iter()
                .all(|f| matches!(f, VerifyFailure::Permutation { .. })),
            "{params}: only the weight links should fail: {failures:?}"
        );
    }
}
