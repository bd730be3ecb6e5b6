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

/// The circuit of the quantized `qp` with witness `vals`, at its smallest k.
fn circuit_with(qp: Program<i64>, vals: Vec<i64>) -> (ModelCircuit, u32) {
    let k = layout::min_k(Layout::new(&qp, &Q, 0).rows_used).unwrap();
    let lay = Layout::new(&qp, &Q, k);
    (ModelCircuit { program: Arc::new(qp), quant: Q, layout: Arc::new(lay), witness: Some(Arc::new(vals)), corrupt: vec![] }, k)
}

fn circuit(input: &[f64]) -> (ModelCircuit, u32) {
    let qp = quantize(&tiny_program(), &Q).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| Q.quantize_input(v)).collect();
    let vals = forward(&qp, &Q, &xq).unwrap();
    circuit_with(qp, vals)
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
fn nonzero_accumulator_above_a_block_fails() {
    // The result row must zero acc: a stray value there would be added to
    // the next neuron's dot product.
    let (c, k) = circuit(&INPUT);
    let e = rows_of(&c, 3).result_row;
    assert!(verify(&with(c, Col::Acc, e, Fr::ONE), k).is_err());
}

#[test]
fn blinding_rows_match_the_circuit() {
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<Fr>::default();
    ModelConfig::configure(&mut cs, GateParams { weight_bits: 4, range_bits: 9 });
    assert_eq!(cs.blinding_factors() + 1, layout::RESERVED_ROWS);
    assert_eq!(cs.degree(), 3);
}

#[test]
fn corrupted_accumulator_fails() {
    let (c, k) = circuit(&INPUT);
    let nr = rows_of(&c, 3);
    assert!(verify(&with(c, Col::Acc, nr.start + nr.padding + 1, Fr::ONE), k).is_err());
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
    let first = nr.start + nr.padding;
    let mut bad = with(c.clone(), Col::X, first, Fr::ONE);
    for row in first..first + t {
        bad.corrupt.push((Col::Acc, row, fe(w as i128)));
    }
    // the chain's last cell must follow the accumulator
    bad.corrupt.push((Col::Z, nr.result_row, fe(w as i128)));
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
fn out_of_range_value_fails_only_at_the_chain_start() {
    // y = 3·x for one input x, so large that y leaves its range. The witness
    // uses floor prefixes, so every bit step, the link and the output gate
    // hold; the chain then starts at a non-zero value, which only the start
    // gate rejects.
    let prog = Program {
        values: vec![
            Value::Input(0),
            Value::Neuron(Neuron { terms: vec![(0, 3.0)], bias: 0.0, act: Activation::Identity, node: 0 }),
        ],
        num_inputs: 1,
        outputs: vec![1],
        input_shape: vec![1],
        output_shape: vec![1],
        nodes: vec!["triple".into()],
    };
    let qp = quantize(&prog, &Q).unwrap();
    let xq = vec![1i64 << (Q.range_bits + 1)];
    assert!(forward(&qp, &Q, &xq).is_err(), "forward must refuse it too");
    let vals = qp.eval_with(&xq, |n, v| Ok::<_, ()>(neuron_step(n, v, &Q).out)).unwrap();
    let (c, k) = circuit_with(qp, vals);
    let prover = MockProver::run(k, &c, vec![c.instance()]).unwrap();
    let failures = prover.verify().unwrap_err();
    assert!(!failures.is_empty());
    for f in &failures {
        assert!(f.to_string().contains("chain start"), "unexpected failure: {f}");
    }
}
