//! Point links: an aggregation that holds two inner proofs' commitments to
//! their link columns equal, on the two toy circuits of `proof::link`'s
//! tests (a producer writes `y = a + 7` into its link column, a consumer
//! reads `y` from its own and exposes `3·y`).

use super::*;
use crate::proof::link::tests::{keys, prove_with, Toy, K, OFFSET};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::group::GroupEncoding;
use halo2_proofs::plonk::ProvingKey;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::system::halo2::{compile as compile_protocol, Config};
use snark_verifier_sdk::snark_verifier::verifier::SnarkVerifier;
use snark_verifier_sdk::{NativeLoader, PlonkSuccinctVerifier};

/// Small enough for a test: two toy proofs need far fewer rows than
/// [`DEFAULT_K`] gives.
const AGG_K: u32 = 18;

fn snark(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    proof: Vec<u8>,
    instance: &[Fr],
) -> Snark {
    let protocol = compile_protocol(
        params,
        pk.get_vk(),
        Config::kzg().with_num_instance(vec![instance.len()]),
    );
    Snark::new(protocol, vec![instance.to_vec()], proof)
}

/// Whether the aggregation circuit over `snarks` is satisfied (halo2's
/// mock prover checks every gate, lookup and copy constraint; the real
/// prover's keys and proofs of this circuit are the other aggregation
/// tests' business).
fn aggregation_satisfied(
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    wiring: &Wiring,
    exposed: &[Vec<usize>],
) -> bool {
    let mut c = circuit(
        CircuitBuilderStage::Mock,
        initial_config(AGG_K),
        params,
        snarks,
        wiring,
        exposed,
    )
    .expect("point links of a valid shape");
    c.calculate_params(Some(MINIMUM_ROWS));
    let instances = c.instances();
    MockProver::run(AGG_K, &c, instances)
        .expect("the circuit synthesizes")
        .verify()
        .is_ok()
}

/// snark-verifier's reading of `snark`: the commitments in the order the
/// aggregation circuit loads them (the same `PlonkProof::read`, with the
/// native loader).
fn loaded_witnesses(params: &ParamsKZG<Bn256>, snark: &Snark) -> Vec<G1Affine> {
    let svk: Svk = ParamsProver::get_g(params)[0].into();
    let mut transcript =
        PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(&snark.proof, POSEIDON_SPEC.clone());
    PlonkSuccinctVerifier::<SHPLONK>::read_proof(
        &svk,
        &snark.protocol,
        &snark.instances,
        &mut transcript,
    )
    .expect("a well-formed proof")
    .witnesses
}

#[test]
fn point_links_join_only_proofs_that_commit_to_one_boundary() {
    let (inner_params, params) = (
        srs::dev_params(K).expect("srs"),
        srs::dev_params(AGG_K).expect("srs"),
    );
    let (producer, consumer) = (keys(&inner_params, false, 3), keys(&inner_params, true, 3));
    let a: Vec<Fr> = [3u64, 10, 250].map(Fr::from).to_vec();
    let y: Vec<Fr> = a.iter().map(|v| v + Fr::from(OFFSET)).collect();
    let times3 = |y: &[Fr]| -> Vec<Fr> { y.iter().map(|v| v * Fr::from(3)).collect() };
    let seed = [9u8; 32];
    let prove = |pk, consumer, values: &[Fr], instance: &[Fr]| {
        let toy = Toy {
            consumer,
            values: values.to_vec(),
            ..Toy::default()
        };
        prove_with(
            TranscriptKind::Poseidon,
            &inner_params,
            pk,
            toy,
            instance,
            seed,
        )
    };
    let p = prove(&producer, false, &a, &[]);
    let c = prove(&consumer, true, &y, &times3(&y));
    // The consumer on another boundary, its outputs recomputed from it, so
    // that its proof verifies on its own: it computes on values the
    // producer never output.
    let mut y2 = y.clone();
    y2[2] += Fr::ONE;
    let forged = prove(&consumer, true, &y2, &times3(&y2));

    // Natively: the commitments `check_links` compares.
    let link = |proof: &[u8], pk: &ProvingKey<G1Affine>| {
        advice_commitment(proof, pk.get_vk(), 0)
            .expect("column 0")
            .to_vec()
    };
    assert_eq!(link(&p, &producer), link(&c, &consumer));
    assert_ne!(link(&p, &producer), link(&forged, &consumer));
    assert!(advice_commitment(&p, producer.get_vk(), 2).is_none());
    // The forged proof is valid on its own.
    assert!(proof::verify_shplonk(
        TranscriptKind::Poseidon,
        &inner_params,
        consumer.get_vk(),
        3,
        &forged,
        &times3(&y2),
    ));

    // In the circuit, which a prover skipping that check still faces.
    let wiring = Wiring {
        exposed: Some(vec![vec![], vec![0, 1, 2]]),
        point_links: vec![[(0, 0), (1, 0)]],
        ..Wiring::default()
    };
    let exposed = wiring.exposed.clone().expect("set");
    let honest = vec![
        snark(&inner_params, &producer, p.clone(), &[]),
        snark(&inner_params, &consumer, c, &times3(&y)),
    ];
    // Column i's bytes are the i-th point snark-verifier loads, for every
    // advice column (the toys have two: the link, then `x`).
    for (snark, pk) in honest.iter().zip([&producer, &consumer]) {
        let loaded = loaded_witnesses(&inner_params, snark);
        let columns = pk.get_vk().cs().num_advice_columns();
        for (i, point) in loaded.iter().enumerate().take(columns) {
            let bytes = advice_commitment(&snark.proof, pk.get_vk(), i).expect("column");
            assert_eq!(point.to_bytes().as_ref(), bytes, "column {i}");
        }
    }
    // A link to a column a proof does not have, or to an aggregation's
    // proof, is refused before any cell is laid out.
    let past = Wiring {
        point_links: vec![[(0, 0), (1, 2)]],
        ..wiring.clone()
    };
    assert!(check_point_link_shapes(&honest, &past).is_err());
    assert!(aggregation_satisfied(&params, honest, &wiring, &exposed));
    let dishonest = vec![
        snark(&inner_params, &producer, p, &[]),
        snark(&inner_params, &consumer, forged, &times3(&y2)),
    ];
    // The forged proof verifies on its own: without the point link the
    // same aggregation holds, so the link is what refuses it.
    let unlinked = Wiring {
        point_links: Vec::new(),
        ..wiring.clone()
    };
    assert!(aggregation_satisfied(
        &params,
        dishonest.clone(),
        &unlinked,
        &exposed
    ));
    assert!(!aggregation_satisfied(
        &params, dishonest, &wiring, &exposed
    ));
}
