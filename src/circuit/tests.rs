//! MockProver tests: an honest witness passes, and corrupting any one kind
//! of cell (or the public input) makes the circuit reject.

use super::layout::{self, Layout, Table};
use super::*;
use crate::model::{Neuron, Program, Value};
use crate::quant::{forward, quantize};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::ff::Field;

/// 3 inputs -> 2 ReLU neurons -> 1 identity output neuron.
fn tiny_program() -> Program<f64> {
    let relu = |terms: Vec<(usize, f64)>, bias: f64| {
        Value::Neuron(Neuron { terms, bias, act: Activation::Relu, node: 0 })
    };
    Program {
        values: vec![
            Value::Input(0),
            Value::Input(1),
            Value::Input(2),
            relu(vec![(0, 0.5), (1, -0.25), (2, 1.0)], 0.1),
            relu(vec![(0, -1.0), (1, 0.75)], -0.2),
            Value::Neuron(Neuron { terms: vec![(3, 1.5), (4, -2.0)], bias: 0.05, act: Activation::Identity, node: 1 }),
        ],
        num_inputs: 3,
        outputs: vec![5],
        input_shape: vec![1, 3],
        output_shape: vec![1, 1],
        nodes: vec!["hidden".into(), "out".into()],
    }
}

const Q: QuantParams = QuantParams { scale_bits: 6, weight_bits: 4, range_bits: 9 };

fn circuit(input: &[f64]) -> (ModelCircuit, u32) {
    let qp = quantize(&tiny_program(), &Q).unwrap();
    let tables = vec![Table::Act(Activation::Identity), Table::Act(Activation::Relu), Table::Remainder];
    let k = layout::min_k(layout::region_rows(&qp), layout::table_rows(&tables, &Q)).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| Q.quantize_input(v)).collect();
    let vals = forward(&qp, &Q, &xq).unwrap();
    let lay = Layout::new(&qp, tables, k);
    (
        ModelCircuit {
            program: Arc::new(qp),
            quant: Q,
            layout: Arc::new(lay),
            witness: Some(Arc::new(vals)),
            corrupt: vec![],
        },
        k,
    )
}

fn verify(c: &ModelCircuit, k: u32) -> Result<(), String> {
    let inst = c.instance();
    let prover = MockProver::run(k, c, vec![inst]).map_err(|e| e.to_string())?;
    prover.verify().map_err(|e| format!("{} failures", e.len()))
}

fn with(mut c: ModelCircuit, col: Col, row: usize, delta: Fr) -> ModelCircuit {
    c.corrupt.push((col, row, delta));
    c
}

const INPUT: [f64; 3] = [0.8, -0.3, 0.45];

#[test]
fn honest_witness_passes() {
    let (c, k) = circuit(&INPUT);
    verify(&c, k).unwrap();
    // and a second input where a ReLU clamps
    let (c, k) = circuit(&[-0.9, 0.2, -0.7]);
    verify(&c, k).unwrap();
}

/// First row of the neuron whose value id is `id`.
fn start_of(c: &ModelCircuit, id: usize) -> usize {
    c.layout.neuron_start.iter().find(|(v, _)| *v == id).unwrap().1
}

#[test]
fn corrupted_bias_row_fails() {
    let (c, k) = circuit(&INPUT);
    let s = start_of(&c, 3);
    assert!(verify(&with(c, Col::Acc, s, Fr::ONE), k).is_err());
}

#[test]
fn corrupted_accumulator_fails() {
    let (c, k) = circuit(&INPUT);
    let s = start_of(&c, 3);
    assert!(verify(&with(c, Col::Acc, s + 2, Fr::ONE), k).is_err());
}

#[test]
fn corrupted_multiplicand_breaks_copy() {
    // Changing x in a MAC row and fixing the accumulators downstream keeps
    // every gate happy; only the copy constraint to the input catches it.
    let (c, k) = circuit(&INPUT);
    let s = start_of(&c, 3);
    let PValue::Neuron(n) = &c.program.values[3] else { panic!() };
    let w = fe(n.terms[0].1 as i128);
    let mut bad = with(c.clone(), Col::X, s + 1, Fr::ONE);
    for row in s + 1..=s + n.terms.len() {
        bad.corrupt.push((Col::Acc, row, w));
    }
    bad.corrupt.push((Col::Acc, s + n.terms.len() + 1, Fr::ZERO));
    assert!(verify(&bad, k).is_err());
}

#[test]
fn shifted_quotient_with_compensating_remainder_fails() {
    // y+1 and r-2^wb keep the rescale gate satisfied: the remainder table
    // must reject r.
    let (c, k) = circuit(&INPUT);
    let e1 = c.layout.value_row[5];
    let two_wb = Fr::from(1u64 << Q.weight_bits);
    let bad = with(with(c, Col::Acc, e1, Fr::ONE), Col::Acc, e1 + 1, -two_wb);
    assert!(verify(&bad, k).is_err());
}

#[test]
fn wrapped_quotient_fails_range_check() {
    // y + 1/2^wb and r - 1 also satisfy the rescale gate, with r in range;
    // y is then a huge field element the activation table must reject.
    let (c, k) = circuit(&INPUT);
    let e1 = c.layout.value_row[5];
    let inv = Fr::from(1u64 << Q.weight_bits).invert().unwrap();
    let PValue::Neuron(_) = &c.program.values[5] else { panic!() };
    let vals = c.witness.clone().unwrap();
    let w = neuron_step(match &c.program.values[5] { PValue::Neuron(n) => n, _ => unreachable!() }, &vals, Q.weight_bits);
    assert!(w.rem >= 1, "test needs a non-zero remainder");
    let bad = with(with(c, Col::Acc, e1, inv), Col::Acc, e1 + 1, -Fr::ONE);
    assert!(verify(&bad, k).is_err());
}

#[test]
fn wrong_relu_output_fails() {
    let (c, k) = circuit(&INPUT);
    let e1 = c.layout.value_row[3];
    assert!(verify(&with(c, Col::X, e1, Fr::ONE), k).is_err());
}

#[test]
fn wrong_public_output_cell_fails() {
    let (c, k) = circuit(&INPUT);
    let out_row = c.layout.num_inputs;
    assert!(verify(&with(c, Col::X, out_row, Fr::ONE), k).is_err());
}

#[test]
fn wrong_instance_fails() {
    let (c, k) = circuit(&INPUT);
    let mut inst = c.instance();
    inst[3] += Fr::ONE; // the output
    let prover = MockProver::run(k, &c, vec![inst]).unwrap();
    assert!(prover.verify().is_err());
}

#[test]
fn input_out_of_range_fails_lookup() {
    // An input beyond the activation range, with an otherwise consistent
    // witness: the identity lookup on the public row must reject it.
    let (mut c, k) = circuit(&INPUT);
    let mut xq: Vec<i64> = INPUT.iter().map(|&v| Q.quantize_input(v)).collect();
    xq[2] = 1 << (Q.range_bits + 1);
    let vals = c
        .program
        .eval_with(&xq, |n, v| Ok::<_, ()>(neuron_step(n, v, Q.weight_bits).out))
        .unwrap();
    c.witness = Some(Arc::new(vals));
    let prover = MockProver::run(k, &c, vec![c.instance()]).unwrap();
    let failures = prover.verify().unwrap_err();
    assert!(failures.iter().any(|f| matches!(f, halo2_proofs::dev::VerifyFailure::Lookup { .. })));
}
