//! The verifier generator on a circuit shaped unlike any model: one column
//! read at thirteen rotations. The SHPLONK products over the rotations
//! used to nest into one Yul expression per product, past solc's stack
//! ("stack too deep"), so such a circuit got no verifier at all.
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    keygen_pk, keygen_vk_custom, Advice, Circuit, Column, ConstraintSystem, Error, Instance,
    Selector,
};
use halo2_proofs::poly::Rotation;
use zkml_evm::evm::codegen::PublicInputs;
use zkml_evm::evm::verifier::{encode_proof, gen_verifier_for, run_in_revm};
use zkml_evm::proof::{fr_to_hex, prove_circuit_with, srs, Keys, TranscriptKind};

/// Rows the window sums (its gate reads `a` at rotations 0 ..= WINDOW).
const WINDOW: usize = 12;

/// `a[0] = a[1] + … + a[WINDOW]`, with `a[0]` the public input.
#[derive(Clone, Default)]
struct Window;

#[derive(Clone)]
struct WindowConfig {
    a: Column<Advice>,
    q: Selector,
    public: Column<Instance>,
}

impl Circuit<Fr> for Window {
    type Config = WindowConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Window
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> WindowConfig {
        let a = meta.advice_column();
        meta.enable_equality(a);
        let public = meta.instance_column();
        meta.enable_equality(public);
        let q = meta.selector();
        meta.create_gate("window sum", |v| {
            let q = v.query_selector(q);
            let sum = (1..=WINDOW as i32)
                .map(|r| v.query_advice(a, Rotation(r)))
                .reduce(|s, e| s + e)
                .unwrap();
            vec![q * (v.query_advice(a, Rotation::cur()) - sum)]
        });
        WindowConfig { a, q, public }
    }

    fn synthesize(&self, c: WindowConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let total = layouter.assign_region(
            || "window",
            |mut region| {
                c.q.enable(&mut region, 0)?;
                for r in 1..=WINDOW {
                    region.assign_advice(c.a, r, Value::known(Fr::from(r as u64)));
                }
                let sum = (WINDOW * (WINDOW + 1) / 2) as u64;
                Ok(region.assign_advice(c.a, 0, Value::known(Fr::from(sum))))
            },
        )?;
        layouter.constrain_instance(total.cell(), c.public, 0);
        Ok(())
    }
}

#[test]
fn a_column_read_at_many_rotations_gets_a_verifier_that_accepts_its_proof() {
    let params = srs::dev_params(6).unwrap();
    let vk = keygen_vk_custom(&params, &Window, true).unwrap();
    let pk = keygen_pk(&params, vk.clone(), &Window).unwrap();
    let honest = [Fr::from((WINDOW * (WINDOW + 1) / 2) as u64)];
    let proof = prove_circuit_with(TranscriptKind::Evm, &params, &pk, Window, &honest).unwrap();

    let keys = Keys {
        params,
        vk,
        num_public: 1,
    };
    let dir = tempfile::tempdir().unwrap();
    let art = gen_verifier_for(
        &keys,
        PublicInputs::model(1),
        "window",
        "window",
        dir.path(),
    )
    .expect("the verifier compiles");
    let verify = |public: Fr| {
        let calldata = encode_proof(&proof, &[fr_to_hex(&public)]).unwrap();
        run_in_revm(&art, &calldata).unwrap().accepted
    };
    assert!(verify(honest[0]), "the honest proof is rejected");
    assert!(
        !verify(honest[0] + Fr::one()),
        "a wrong public input is accepted"
    );
}
