//! MockProver tests: an honest witness passes, and corrupting any one kind
//! of cell (or the public input) makes the circuit reject.

use super::layout::{self, Layout, NeuronRows};
use super::*;
use crate::model::{Neuron, Program, Value};
use crate::quant::{forward, quantize};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::ff::Field;

/// 3 inputs -> 2 ReLU neurons -> 1 identity output neuron.
fn tiny_program() -> Program<f64> {
    let relu = |terms: Vec<(usize, f64)>, bias: f64| Value::Neuron(Neuron { terms, bias, act: Activation::Relu, node: 0 });
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

fn circuit_with(xq: &[i64], vals: Vec<i64>) -> (ModelCircuit, u32) {
    let qp = quantize(&tiny_program(), &Q).unwrap();
    let lay = Layout::new(&qp, &Q, 0);
    let k = layout::min_k(lay.rows_used).unwrap();
    let lay = Layout::new(&qp, &Q, k);
    let _ = xq;
    (ModelCircuit { program: Arc::new(qp), quant: Q, layout: Arc::new(lay), witness: Some(Arc::new(vals)), corrupt: vec![] }, k)
}

fn circuit(input: &[f64]) -> (ModelCircuit, u32) {
    let qp = quantize(&tiny_program(), &Q).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| Q.quantize_input(v)).collect();
    let vals = forward(&qp, &Q, &xq).unwrap();
    circuit_with(&xq, vals)
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

fn rows_of(c: &ModelCircuit, id: usize) -> NeuronRows {
    *c.layout.neurons.iter().find(|n| n.value == id).unwrap()
}

fn terms_of(c: &ModelCircuit, id: usize) -> usize {
    match &c.program.values[id] {
        PValue::Neuron(n) => n.terms.len(),
        _ => unreachable!(),
    }
}

#[test]
fn honest_witness_passes() {
    let (c, k) = circuit(&INPUT);
    verify(&c, k).unwrap();
    // and an input where a ReLU clamps and the output is negative
    let (c, k) = circuit(&[-0.9, 0.2, -0.7]);
    verify(&c, k).unwrap();
}

#[test]
fn corrupted_bias_row_fails() {
    let (c, k) = circuit(&INPUT);
    let s = rows_of(&c, 3).start;
    assert!(verify(&with(c, Col::Acc, s, Fr::ONE), k).is_err());
}

#[test]
fn corrupted_accumulator_fails() {
    let (c, k) = circuit(&INPUT);
    let s = rows_of(&c, 3).start;
    assert!(verify(&with(c, Col::Acc, s + 2, Fr::ONE), k).is_err());
}

#[test]
fn corrupted_multiplicand_breaks_copy() {
    // Changing x in a multiply row and fixing every accumulator and chain
    // cell downstream keeps all gates happy: only the copy constraint to the
    // input catches it.
    let (c, k) = circuit(&INPUT);
    let nr = rows_of(&c, 3);
    let t = terms_of(&c, 3);
    let PValue::Neuron(n) = &c.program.values[3] else { panic!() };
    let w = n.terms[0].1;
    let mut bad = with(c.clone(), Col::X, nr.start + 1, Fr::ONE);
    for row in nr.start + 1..=nr.start + t {
        bad.corrupt.push((Col::Acc, row, fe(w as i128)));
    }
    // the chain's last cell must follow the accumulator
    bad.corrupt.push((Col::Z, nr.start + t, fe(w as i128)));
    assert!(verify(&bad, k).is_err());
}

#[test]
fn non_boolean_chain_step_fails() {
    // Add 2 at one prefix and compensate later: every prefix relation but
    // one still holds, and that step is 2 or -1, not a bit.
    let (c, k) = circuit(&INPUT);
    let nr = rows_of(&c, 5);
    let bad = with(c, Col::Z, nr.chain_start + 3, Fr::from(1u64));
    assert!(verify(&bad, k).is_err());
}

#[test]
fn nonzero_chain_start_fails() {
    // Starting the chain at 1 instead of 0 lets a value 2^n too large
    // through every bit step: the start gate must reject it.
    let (c, k) = circuit(&INPUT);
    let nr = rows_of(&c, 5);
    let bits = c.layout.chain_bits;
    let mut bad = c.clone();
    let mut shift = Fr::ONE;
    for i in 0..=bits {
        bad.corrupt.push((Col::Z, nr.chain_start + i, shift));
        shift = shift.double();
    }
    assert!(verify(&bad, k).is_err());
}

#[test]
fn wrong_relu_output_fails() {
    let (c, k) = circuit(&INPUT);
    let e = c.layout.value_row[3];
    assert!(verify(&with(c, Col::X, e, Fr::ONE), k).is_err());
}

#[test]
fn wrong_identity_output_fails() {
    let (c, k) = circuit(&INPUT);
    let e = c.layout.value_row[5];
    assert!(verify(&with(c, Col::X, e, -Fr::ONE), k).is_err());
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
fn out_of_range_value_has_no_witness() {
    // An input so large that the output neuron leaves its range: the chain
    // cannot represent the accumulator, so the best witness fails.
    let qp = quantize(&tiny_program(), &Q).unwrap();
    let xq = vec![Q.quantize_input(0.8), 0, 1 << (Q.range_bits + 1)];
    let vals = qp.eval_with(&xq, |n, v| Ok::<_, ()>(neuron_step(n, v, &Q).out)).unwrap();
    assert!(forward(&qp, &Q, &xq).is_err(), "forward must refuse it too");
    let (c, k) = circuit_with(&xq, vals);
    assert!(verify(&c, k).is_err());
}
