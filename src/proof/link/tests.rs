//! Two different circuits linked through one column: a producer computes
//! `y = a + 7` from private `a` and writes `y` into its link column; a
//! consumer reads `y` from its own link column and exposes `3·y`. The
//! consumer queries its `x` column at five rotations, so it has more
//! blinding rows than the producer, as two chunks of one model may.

use super::*;
use crate::proof::srs;
use crate::proof::transcript::EvmTranscript;
use crate::proof::TranscriptKind;
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{
    keygen_pk, keygen_vk_custom, verify_proof, Advice, Circuit, Column, ConstraintSystem, Error,
    Expression, Instance, ProvingKey, Selector,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::poly::Rotation;
use halo2_proofs::transcript::TranscriptReadBuffer;

pub(crate) const K: u32 = 6;
pub(crate) const OFFSET: u64 = 7;
/// More than either circuit's blinding rows.
const TAIL: usize = 12;

#[derive(Clone, Debug)]
pub(crate) struct Cols {
    link: Column<Advice>,
    x: Column<Advice>,
    inst: Column<Instance>,
    q: Selector,
}

/// `consumer: false`: `x(r+1) = x(r) + 7` on rows 2i, `y = x(2i+1)` goes to
/// `link[i]`. `consumer: true`: `link[i]` is copied to `x(2i)` and
/// `x(2i+1) = 3·x(2i)` is the instance's cell `i`.
#[derive(Clone, Default)]
pub(crate) struct Toy {
    pub consumer: bool,
    /// The producer's `a`, or the consumer's `y`.
    pub values: Vec<Fr>,
    /// What the link column holds instead of the linked `x` cells (a lying
    /// prover's witness; `None`: the cells' values).
    pub link_override: Option<Vec<Fr>>,
    /// The link's `T` and the circuit's blinding rows (with a witness).
    pub tail: Option<(Vec<Fr>, usize)>,
}

fn configure(meta: &mut ConstraintSystem<Fr>, consumer: bool) -> Cols {
    // The link column first: its tail takes halo2's first draws.
    let link = meta.advice_column();
    let x = meta.advice_column();
    let inst = meta.instance_column();
    meta.enable_equality(link);
    meta.enable_equality(x);
    meta.enable_equality(inst);
    let q = meta.selector();
    meta.create_gate("step", |v| {
        let q = v.query_selector(q);
        let (cur, next) = (
            v.query_advice(x, Rotation::cur()),
            v.query_advice(x, Rotation::next()),
        );
        if consumer {
            // Rotations +2..+4, multiplied by zero, only raise the
            // consumer's blinding rows (halo2 counts queries).
            let far = (2..5)
                .map(|r| v.query_advice(x, Rotation(r)))
                .fold(Expression::Constant(Fr::ZERO), |a, b| a + b);
            vec![
                q.clone() * (next - Expression::Constant(Fr::from(3)) * cur),
                q * far * Expression::Constant(Fr::ZERO),
            ]
        } else {
            vec![q * (next - cur - Expression::Constant(Fr::from(OFFSET)))]
        }
    });
    Cols { link, x, inst, q }
}

impl Circuit<Fr> for Toy {
    type Config = Cols;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = bool;

    fn without_witnesses(&self) -> Self {
        Toy {
            consumer: self.consumer,
            values: vec![Fr::ZERO; self.values.len()],
            ..Toy::default()
        }
    }

    fn params(&self) -> bool {
        self.consumer
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, consumer: bool) -> Cols {
        configure(meta, consumer)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Cols {
        configure(meta, false)
    }

    fn synthesize(&self, c: Cols, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_region(
            || "toy",
            |mut region| {
                for (i, &v) in self.values.iter().enumerate() {
                    let (top, bottom) = (2 * i, 2 * i + 1);
                    c.q.enable(&mut region, top)?;
                    let (first, second) = if self.consumer {
                        (v, v * Fr::from(3))
                    } else {
                        (v, v + Fr::from(OFFSET))
                    };
                    region.assign_advice(c.x, top, Value::known(first));
                    region.assign_advice(c.x, bottom, Value::known(second));
                    // The link holds the producer's output, the consumer's input.
                    let linked = if self.consumer {
                        (first, top)
                    } else {
                        (second, bottom)
                    };
                    let in_link = self.link_override.as_ref().map_or(linked.0, |l| l[i]);
                    region.assign_advice(c.link, i, Value::known(in_link));
                    region.constrain_equal(
                        Cell {
                            row_offset: i,
                            column: c.link.into(),
                        },
                        Cell {
                            row_offset: linked.1,
                            column: c.x.into(),
                        },
                    );
                }
                if let Some((tail, bf)) = &self.tail {
                    for (row, v) in pad_rows(1 << K, tail, *bf) {
                        region.assign_advice(c.link, row, Value::known(v));
                    }
                }
                Ok(())
            },
        )?;
        if self.consumer {
            // halo2-axiom's cells are at absolute rows.
            for i in 0..self.values.len() {
                let out = Cell {
                    row_offset: 2 * i + 1,
                    column: c.x.into(),
                };
                layouter.constrain_instance(out, c.inst, i);
            }
        }
        Ok(())
    }
}

pub(crate) fn keys(params: &ParamsKZG<Bn256>, consumer: bool, len: usize) -> ProvingKey<G1Affine> {
    let blank = Toy {
        consumer,
        values: vec![Fr::ZERO; len],
        ..Toy::default()
    };
    let vk = keygen_vk_custom(params, &blank, true).expect("vk");
    keygen_pk(params, vk, &blank).expect("pk")
}

/// A proof with the link tail scripted from `seed`; the proof bytes.
fn prove(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: Toy,
    instance: &[Fr],
    seed: [u8; 32],
) -> Vec<u8> {
    prove_with(TranscriptKind::Evm, params, pk, circuit, instance, seed)
}

/// [`prove`] with transcript `kind` (Poseidon for an aggregation).
pub(crate) fn prove_with(
    kind: TranscriptKind,
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: Toy,
    instance: &[Fr],
    seed: [u8; 32],
) -> Vec<u8> {
    let bf = pk.get_vk().cs().blinding_factors();
    let tail = tail_values(seed, 0, TAIL);
    let mut rng = ScriptedTails::new(tail_script(&[&tail], bf), rand::rngs::OsRng);
    let circuit = Toy {
        tail: Some((tail, bf)),
        ..circuit
    };
    let proof = crate::proof::prove_circuit_with_rng(kind, params, pk, circuit, instance, &mut rng)
        .expect("proof");
    assert!(rng.spent(), "halo2 drew fewer tail values than scripted");
    proof
}

fn verifies(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    proof: &[u8],
    instance: &[Fr],
) -> bool {
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params,
        pk.get_vk(),
        SingleStrategy::new(params),
        &[&[instance]],
        &mut EvmTranscript::<&[u8]>::init(proof),
    )
    .is_ok()
}

/// The first advice commitment of an EVM-transcript proof (64 bytes: no
/// instance is written, so the proof opens with the link column's).
fn link_commitment(proof: &[u8]) -> &[u8] {
    &proof[..64]
}

#[test]
fn linked_columns_commit_equally_only_on_equal_boundaries() {
    let params = srs::dev_params(K).expect("srs");
    assert_eq!(params.k(), K);
    let a: Vec<Fr> = [3u64, 10, 250].map(Fr::from).to_vec();
    let y: Vec<Fr> = a.iter().map(|v| v + Fr::from(OFFSET)).collect();
    let out: Vec<Fr> = y.iter().map(|v| v * Fr::from(3)).collect();
    let (producer, consumer) = (keys(&params, false, 3), keys(&params, true, 3));
    let (bf_p, bf_c) = (
        producer.get_vk().cs().blinding_factors(),
        consumer.get_vk().cs().blinding_factors(),
    );
    assert!(
        bf_c > bf_p,
        "the two circuits have different blinding rows ({bf_p}, {bf_c})"
    );
    // The link is read by no gate: one rotation in each proof.
    assert!(TAIL > bf_c && TAIL >= min_tail_len(&[1, 1]));
    let seed = [5u8; 32];

    let p = prove(
        &params,
        &producer,
        Toy {
            consumer: false,
            values: a.clone(),
            ..Toy::default()
        },
        &[],
        seed,
    );
    let c = prove(
        &params,
        &consumer,
        Toy {
            consumer: true,
            values: y.clone(),
            ..Toy::default()
        },
        &out,
        seed,
    );
    assert!(verifies(&params, &producer, &p, &[]));
    assert!(verifies(&params, &consumer, &c, &out));
    assert_eq!(
        link_commitment(&p),
        link_commitment(&c),
        "honest proofs link"
    );

    // A consumer proof on another boundary (and the outputs that follow
    // from it, so it verifies on its own) does not link.
    let mut y2 = y.clone();
    y2[1] += Fr::ONE;
    let out2: Vec<Fr> = y2.iter().map(|v| v * Fr::from(3)).collect();
    let forged = prove(
        &params,
        &consumer,
        Toy {
            consumer: true,
            values: y2.clone(),
            ..Toy::default()
        },
        &out2,
        seed,
    );
    assert!(verifies(&params, &consumer, &forged, &out2));
    assert_ne!(link_commitment(&p), link_commitment(&forged));

    // A consumer that keeps the producer's link column but computes on
    // other values: the commitments agree, and the copy constraints from
    // the link to its `x` cells make the proof fail.
    let lying = Toy {
        consumer: true,
        values: y2,
        link_override: Some(y.clone()),
        ..Toy::default()
    };
    let lie = prove(&params, &consumer, lying, &out2, seed);
    assert_eq!(link_commitment(&p), link_commitment(&lie));
    assert!(!verifies(&params, &consumer, &lie, &out2));

    // Without the shared tail the same boundary does not link either: the
    // equality is of whole polynomials, blinding rows included.
    let unshared = prove(
        &params,
        &consumer,
        Toy {
            consumer: true,
            values: y.clone(),
            ..Toy::default()
        },
        &out,
        [6u8; 32],
    );
    assert!(verifies(&params, &consumer, &unshared, &out));
    assert_ne!(link_commitment(&p), link_commitment(&unshared));
}

#[test]
fn the_script_reproduces_each_tail_value() {
    let tail = tail_values([1u8; 32], 0, 6);
    assert_ne!(
        tail,
        tail_values([1u8; 32], 1, 6),
        "each link has its own tail"
    );
    let bf = 4;
    let mut rng = ScriptedTails::new(tail_script(&[&tail], bf), rand::rngs::OsRng);
    let drawn: Vec<Fr> = (0..=bf).map(|_| Fr::random(&mut rng)).collect();
    // Drawn top down: rows n − 1 − bf ..= n − 1 hold T[bf] ..= T[0].
    let expected: Vec<Fr> = (0..=bf).rev().map(|i| tail[i]).collect();
    assert_eq!(drawn, expected);
    assert!(rng.spent());
    assert_eq!(pad_rows(64, &tail, bf), vec![(58, tail[5])]);
}
