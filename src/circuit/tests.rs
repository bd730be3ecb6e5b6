//! MockProver tests: an honest witness passes, and corrupting any one kind
//! of cell (or the public input) makes the circuit reject.

use super::layout::{self, Layout, NeuronRows, Shape};
use super::public::{Tensor, Vis, Visibility};
use super::*;
use crate::model::{Neuron, Program, QuotientKind, Value};
use crate::quant::{forward, neuron_step, quantize};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::ff::Field;

/// 3 inputs -> 2 ReLU neurons -> 1 identity output neuron.
fn tiny_program() -> Program<f64> {
    let relu = |terms: Vec<(usize, f64)>, bias: f64| {
        Value::Neuron(Neuron::affine(terms, bias, Activation::Relu, 0))
    };
    one_output(
        vec![
            Value::Input(0),
            Value::Input(1),
            Value::Input(2),
            relu(vec![(0, 0.5), (1, -0.25), (2, 1.0)], 0.1),
            relu(vec![(0, -1.0), (1, 0.75)], -0.2),
            Value::Neuron(Neuron::affine(
                vec![(3, 1.5), (4, -2.0)],
                0.05,
                Activation::Identity,
                1,
            )),
        ],
        &["hidden", "out"],
    )
}

/// A program over `values` whose inputs are its leading `Value::Input`s
/// (one `[1, n]` tensor) and whose one output is its last value.
fn one_output(values: Vec<Value<f64>>, nodes: &[&str]) -> Program<f64> {
    let num_inputs = values
        .iter()
        .take_while(|v| matches!(v, Value::Input(_)))
        .count();
    Program {
        outputs: vec![values.len() - 1],
        values,
        num_inputs,
        input_shapes: vec![vec![1, num_inputs]],
        output_shapes: vec![vec![1, 1]],
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
        copies: 1,
    }
}

const Q: QuantParams = QuantParams {
    scale_bits: 6,
    weight_bits: 4,
    range_bits: 9,
    lut_bits: 8,
};

/// The circuit of the quantized `qp` with witness `vals`, at its smallest k.
fn circuit_with(qp: Program<i64>, vals: Vec<i64>) -> (ModelCircuit, u32) {
    circuit_at(qp, vals, Q)
}

fn circuit_at(qp: Program<i64>, vals: Vec<i64>, q: QuantParams) -> (ModelCircuit, u32) {
    circuit_shaped(qp, vals, q, Shape::NARROW)
}

fn circuit_shaped(
    qp: Program<i64>,
    vals: Vec<i64>,
    q: QuantParams,
    shape: Shape,
) -> (ModelCircuit, u32) {
    circuit_laid_out(qp, vals, q, Visibility::default(), shape)
}

fn circuit_laid_out(
    qp: Program<i64>,
    vals: Vec<i64>,
    q: QuantParams,
    vis: Visibility,
    shape: Shape,
) -> (ModelCircuit, u32) {
    let k = Layout::new(&qp, &q, 0, vis, shape).min_k().unwrap();
    let lay = Layout::new(&qp, &q, k, vis, shape);
    (
        ModelCircuit::new(Arc::new(qp), q, Arc::new(lay), Some(&vals)),
        k,
    )
}

/// The tiny program on `input`, laid out with `vis` and `shape`.
fn tiny_circuit(input: &[f64], vis: Visibility, shape: Shape) -> (ModelCircuit, u32) {
    let qp = quantize(&tiny_program(), &Q).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| Q.quantize_input(v)).collect();
    let vals = forward(&qp, &Q, &xq).unwrap();
    circuit_laid_out(qp, vals, Q, vis, shape)
}

fn circuit(input: &[f64]) -> (ModelCircuit, u32) {
    tiny_circuit(input, Visibility::default(), Shape::NARROW)
}

fn verify(c: &ModelCircuit, k: u32) -> Result<(), String> {
    let inst = c.instance();
    let prover = MockProver::run(k, c, vec![inst]).map_err(|e| e.to_string())?;
    prover.verify().map_err(|e| format!("{} failures", e.len()))
}

impl ModelCircuit {
    fn corrupt_all(mut self, cells: &[(Col, usize, Fr)]) -> ModelCircuit {
        self.corrupt.extend_from_slice(cells);
        self
    }
}

/// The witness as integers (every honest value is one).
fn ints(c: &ModelCircuit) -> Vec<i64> {
    c.witness
        .as_ref()
        .unwrap()
        .iter()
        .map(|&v| witness::small_signed(v).expect("an honest value is a small integer") as i64)
        .collect()
}

fn with(mut c: ModelCircuit, col: Col, row: usize, delta: Fr) -> ModelCircuit {
    c.corrupt.push((col, row, delta));
    c
}

const INPUT: [f64; 3] = [0.8, -0.3, 0.45];

/// The circuit with `claims` (value id, field element) in place of the
/// honest values and every later value recomputed from them in the field,
/// as a cheating prover would: a neuron's value is what its gate makes of
/// its recomputed chain (`witness::block`), a quotient the rounded division
/// while its operands are small integers. Every cell downstream, public
/// inputs and commitments included, is then consistent, so what fails is
/// only what binds a claimed value.
fn forged(c: &ModelCircuit, claims: &[(usize, Fr)]) -> ModelCircuit {
    let mut vals: Vec<Fr> = c.witness.as_ref().unwrap().to_vec();
    let lanes = c.layout.shape.lanes();
    for id in 0..vals.len() {
        if let Some(&(_, v)) = claims.iter().find(|(i, _)| *i == id) {
            vals[id] = v;
            continue;
        }
        match &c.program.values[id] {
            Value::Input(_) => {}
            Value::Neuron(n) => vals[id] = witness::block(n, lanes, &vals, &c.quant).out,
            Value::Quotient { num, den, kind, .. } => {
                if let (Some(a), Some(b)) = (
                    witness::small_signed(vals[*num]),
                    witness::small_signed(vals[*den]),
                ) {
                    if b > 0 {
                        let q = crate::quant::quotient(a as i64, b as i64, *kind, &c.quant);
                        vals[id] = fe(q as i128);
                    }
                }
            }
            Value::Root {
                squares, linear, ..
            } => {
                let small = |v: usize| witness::small_signed(vals[v]).map(|x| x as i64);
                let rs: Option<Vec<i64>> = squares.iter().map(|&r| small(r)).collect();
                let x = linear.map(small);
                if let (Some(rs), None | Some(Some(_))) = (rs, x) {
                    let v = crate::quant::root_radicand(&rs, x.flatten(), &c.quant);
                    if v >= 0 {
                        vals[id] = fe(v.isqrt());
                    }
                }
            }
        }
    }
    ModelCircuit {
        witness: Some(Arc::new(vals)),
        ..c.clone()
    }
}

/// MockProver's failures for `c` with the instance its own values give.
fn forged_failures(c: &ModelCircuit, k: u32) -> Vec<String> {
    match MockProver::run(k, c, vec![c.instance()]).unwrap().verify() {
        Ok(()) => vec![],
        Err(failures) => failures.iter().map(|f| format!("{f:?}")).collect(),
    }
}

/// There are failures, and each lies in the rows of `block`.
fn assert_failures_within(failures: &[String], block: &NeuronRows, what: &str) {
    assert_failures_in_rows(failures, &[block.start..=block.result_row], what);
}

/// There are failures, and each names a row in one of `rows`.
fn assert_failures_in_rows(
    failures: &[String],
    rows: &[std::ops::RangeInclusive<usize>],
    what: &str,
) {
    assert!(
        !failures.is_empty(),
        "the forgery passed: nothing but {what} could have caught it"
    );
    for f in failures {
        let at = failure_rows(f);
        assert!(
            !at.is_empty()
                && at
                    .iter()
                    .all(|r| rows.iter().any(|range| range.contains(r))),
            "a check outside {what} failed: {f}"
        );
    }
}

/// The rows a MockProver failure names, in its Debug or Display form
/// (`offset: 7,`, `row: 7,`, `on row 7`, `at offset 7`). The model region
/// starts at row 0 (see `Assigner::public_rows`), so offsets are rows.
fn failure_rows(text: &str) -> Vec<usize> {
    let mut rows = Vec::new();
    for key in ["offset: ", "row: ", "on row ", "at offset "] {
        for (i, _) in text.match_indices(key) {
            let digits: String = text[i + key.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(r) = digits.parse() {
                rows.push(r);
            }
        }
    }
    rows
}

/// Corrections that move block `nr`'s chain from its honest `V` to `V + dv`
/// (every prefix recomputed, in whatever columns the shape puts them).
fn rechain(c: &ModelCircuit, nr: &NeuronRows, dv: i128) -> Vec<(Col, usize, Fr)> {
    let bits = c.layout.chain_bits;
    let honest = witness::block(
        &nr.neuron,
        c.layout.shape.lanes(),
        c.witness.as_ref().unwrap(),
        &c.quant,
    )
    .prefixes;
    let v = *honest.last().unwrap();
    let moved = witness::chain_prefixes(v + fe(dv), bits);
    (0..=bits)
        .map(|m| {
            let (col, rot) = c.layout.shape.chain_cell(bits, m);
            (
                col,
                nr.result_row.checked_add_signed(rot as isize).unwrap(),
                moved[m] - honest[m],
            )
        })
        .collect()
}

fn rows_of(c: &ModelCircuit, id: usize) -> NeuronRows {
    c.layout
        .neurons
        .iter()
        .find(|n| n.value == id)
        .unwrap()
        .clone()
}

fn terms_of(c: &ModelCircuit, id: usize) -> usize {
    rows_of(c, id).neuron.terms.len()
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

/// The constraint system `params` configure.
fn configured(params: GateParams) -> halo2_proofs::plonk::ConstraintSystem<Fr> {
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<Fr>::default();
    ModelConfig::configure(&mut cs, params);
    cs
}

#[test]
fn blinding_rows_match_the_circuit() {
    let plain = GateParams {
        weight_bits: 4,
        range_bits: 9,
        products: false,
        step: None,
        lut: None,
        visibility: Visibility::default(),
        packing: None,
        shape: Shape::NARROW,
        copies: 1,
    };
    let cs = configured(plain.clone());
    // z is queried at five rotations (its chain start among them).
    assert_eq!(cs.blinding_factors() + 1, 8);
    assert_eq!(cs.degree(), 3);
    // Products keep degree 3; tables need degree 5 and one more z query.
    let cs = configured(GateParams {
        products: true,
        ..plain.clone()
    });
    assert_eq!((cs.degree(), cs.blinding_factors() + 1), (3, 8));
    let lut = Some(super::LutParams {
        shift: 2,
        fns: vec![crate::model::LutFn::Sigmoid],
    });
    let cs = configured(GateParams {
        lut: lut.clone(),
        ..plain.clone()
    });
    assert_eq!((cs.degree(), cs.blinding_factors() + 1), (5, 9));
    assert_eq!(
        layout::reserved_rows(&GateParams {
            lut,
            ..plain.clone()
        }),
        9
    );
    // Weights in advice: the mask times the weight cell, degree 4; so is a
    // Poseidon round (x^5 read as x·u² with u = x² in its own cell).
    let private = Visibility {
        params: Vis::Private,
        ..Visibility::default()
    };
    let cs = configured(GateParams {
        visibility: private,
        ..plain.clone()
    });
    assert_eq!(cs.degree(), 4);
    let hashed = Visibility {
        params: Vis::Hashed,
        ..Visibility::default()
    };
    let cs = configured(GateParams {
        visibility: hashed,
        ..plain.clone()
    });
    assert_eq!(cs.degree(), 4);
    // Committed weights are private weights in the first advice column.
    let committed = Visibility {
        params: Vis::Committed,
        ..Visibility::default()
    };
    let cs = configured(GateParams {
        visibility: committed,
        ..plain
    });
    assert_eq!((cs.degree(), cs.blinding_factors() + 1), (4, 8));
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
    let w = rows_of(&c, 3).neuron.terms[0].1;
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

/// `y = 3·x` for one input `x` so large that `y` leaves its range, with the
/// witness the integer pass would give if it did not refuse.
fn out_of_range_circuit(q: QuantParams, shape: Shape) -> (ModelCircuit, u32) {
    let prog = Program {
        values: vec![
            Value::Input(0),
            Value::Neuron(Neuron::affine(vec![(0, 3.0)], 0.0, Activation::Identity, 0)),
        ],
        num_inputs: 1,
        outputs: vec![1],
        input_shapes: vec![vec![1]],
        output_shapes: vec![vec![1]],
        nodes: vec!["triple".into()],
        copies: 1,
    };
    let qp = quantize(&prog, &q).unwrap();
    let xq = vec![1i64 << (q.range_bits + 1)];
    assert!(forward(&qp, &q, &xq).is_err(), "forward must refuse it too");
    let vals = qp
        .eval_with(&xq, |n, v| match n {
            Value::Neuron(n) => Ok::<_, ()>(neuron_step(n, v, &q).out),
            _ => unreachable!("only neurons here"),
        })
        .unwrap();
    circuit_shaped(qp, vals, q, shape)
}

#[test]
fn out_of_range_value_fails_only_at_the_chain_start() {
    // The witness uses floor prefixes, so every bit step, the link and the
    // output gate hold; the chain then starts at a non-zero value, which
    // only the start gate rejects.
    let (c, k) = out_of_range_circuit(Q, Shape::NARROW);
    let prover = MockProver::run(k, &c, vec![c.instance()]).unwrap();
    let failures = prover.verify().unwrap_err();
    assert!(!failures.is_empty());
    for f in &failures {
        assert!(
            f.to_string().contains("chain start"),
            "unexpected failure: {f}"
        );
    }
}

/// Inputs a, b → P = a·b + a (product), S = sigmoid(P) (table),
/// D = 0.5·b + 2 (positive), Q = P / D (quotient). Outputs S, Q.
fn smooth_program() -> Program<f64> {
    Program {
        values: vec![
            Value::Input(0),
            Value::Input(1),
            Value::Neuron(Neuron {
                terms: vec![(0, 1.0)],
                products: vec![(0, 1, 1.0)],
                bias: 0.0,
                act: Activation::Identity,
                node: 0,
            }),
            Value::Neuron(Neuron::affine(
                vec![(2, 1.0)],
                0.0,
                Activation::Lut(crate::model::LutFn::Sigmoid),
                1,
            )),
            Value::Neuron(Neuron::affine(vec![(1, 0.5)], 2.0, Activation::Identity, 2)),
            Value::Quotient {
                num: 2,
                den: 4,
                node: 3,
                kind: QuotientKind::Scaled,
            },
        ],
        num_inputs: 2,
        outputs: vec![3, 5],
        input_shapes: vec![vec![1, 2]],
        output_shapes: vec![vec![1, 2]],
        nodes: vec![
            "product".into(),
            "sigmoid".into(),
            "divisor".into(),
            "quotient".into(),
        ],
        copies: 1,
    }
}

/// Products need weight bits >= scale bits; tables read 6 of 10 range bits.
const QS: QuantParams = QuantParams {
    scale_bits: 6,
    weight_bits: 6,
    range_bits: 10,
    lut_bits: 6,
};
const SMOOTH_INPUT: [f64; 2] = [0.7, -0.4];

fn smooth_values(input: &[f64]) -> (Program<i64>, Vec<i64>) {
    let qp = quantize(&smooth_program(), &QS).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| QS.quantize_input(v)).collect();
    let vals = forward(&qp, &QS, &xq).unwrap();
    (qp, vals)
}

fn smooth_circuit(input: &[f64]) -> (ModelCircuit, u32) {
    let (qp, vals) = smooth_values(input);
    circuit_at(qp, vals, QS)
}

#[test]
fn products_tables_and_quotients_pass_honestly_and_match_floats() {
    for input in [SMOOTH_INPUT, [-0.9, 0.8], [0.0, 0.0]] {
        let (c, k) = smooth_circuit(&input);
        verify(&c, k).unwrap();
        let w = ints(&c);
        let f = smooth_program().eval_f64(&input);
        for id in [2, 3, 5] {
            assert!(
                (QS.dequantize(w[id]) - f[id]).abs() < 0.05,
                "value {id}: {} vs {}",
                QS.dequantize(w[id]),
                f[id]
            );
        }
    }
}

#[test]
fn corrupted_product_accumulator_fails() {
    let (c, k) = smooth_circuit(&SMOOTH_INPUT);
    let nr = rows_of(&c, 2);
    // Rows: padding, the term a, then the product's (a, b) pair.
    let product_row = nr.start + nr.padding + 1;
    assert!(verify(&with(c.clone(), Col::Acc, product_row, Fr::ONE), k).is_err());
    // The product's second operand, with the accumulators after it fixed
    // up: the gate reads x[+1], so the copy to b catches it.
    let mut bad = with(c, Col::X, product_row + 1, Fr::ONE);
    let Value::Neuron(n) = &smooth_program().values[2] else {
        unreachable!()
    };
    assert_eq!(n.products.len(), 1);
    bad.corrupt.push((
        Col::Acc,
        product_row,
        fe(QS.quantize_input(SMOOTH_INPUT[0]) as i128),
    ));
    bad.corrupt.push((
        Col::Acc,
        product_row + 1,
        fe(QS.quantize_input(SMOOTH_INPUT[0]) as i128),
    ));
    assert!(verify(&bad, k).is_err());
}

#[test]
fn wrong_table_output_fails() {
    let (c, k) = smooth_circuit(&SMOOTH_INPUT);
    let e = c.layout.value_row[3];
    assert!(verify(&with(c.clone(), Col::X, e, Fr::ONE), k).is_err());
    assert!(verify(&with(c, Col::X, e, -Fr::ONE), k).is_err());
}

#[test]
fn wrong_quotient_fails_even_with_a_consistent_witness() {
    // Q ± 1 with every other cell recomputed from it: one of the two
    // sign checks goes negative.
    for delta in [1, -1] {
        let (qp, mut vals) = smooth_values(&SMOOTH_INPUT);
        vals[5] += delta;
        let (c, k) = circuit_at(qp, vals, QS);
        assert!(verify(&c, k).is_err(), "Q{delta:+} accepted");
    }
}

#[test]
fn out_of_range_field_quotient_fails_only_at_its_range_check() {
    // The attack the range neuron exists for: Q' = (2S·A + B − R')/(2B) in
    // the field, for another remainder R' in [0, 2B). With everything
    // downstream recomputed from Q' (both sign checks hold for R', the
    // public output carries Q'), only Q's own range check fails.
    let (c, k) = smooth_circuit(&SMOOTH_INPUT);
    let w = ints(&c);
    let (a, b, q) = (w[2] as i128, w[4] as i128, w[5] as i128);
    let s2 = 2i128 << QS.scale_bits;
    let r = s2 * a + b - 2 * q * b;
    let r2 = if r + 1 < 2 * b { r + 1 } else { r - 1 };
    let q2 = fe(s2 * a + b - r2) * fe(2 * b).invert().unwrap();
    assert!(
        witness::small_signed(q2).is_none(),
        "the forged quotient is no small integer"
    );
    let range = c
        .layout
        .neurons
        .iter()
        .find(|n| n.value == 5 && n.range_check)
        .unwrap()
        .clone();
    let failures = forged_failures(&forged(&c, &[(5, q2)]), k);
    assert_failures_within(&failures, &range, "Q's range check");
}

/// Inputs a, b → T = ⌊a / b⌋ (a floor quotient: a plain integer),
/// U = T at the activation scale, V = 0.5·U + 1. Outputs U, V.
fn floor_program() -> Program<f64> {
    Program {
        values: vec![
            Value::Input(0),
            Value::Input(1),
            Value::Quotient {
                num: 0,
                den: 1,
                node: 0,
                kind: QuotientKind::Floor,
            },
            Value::Neuron(Neuron::affine(vec![(2, 1.0)], 0.0, Activation::Identity, 1)),
            Value::Neuron(Neuron::affine(vec![(3, 0.5)], 1.0, Activation::Identity, 2)),
        ],
        num_inputs: 2,
        outputs: vec![3, 4],
        input_shapes: vec![vec![1, 2]],
        output_shapes: vec![vec![1, 2]],
        nodes: vec!["floor".into(), "scaled".into(), "after".into()],
        copies: 1,
    }
}

/// Integer operands (exact at any scale), positive divisors.
const FLOOR_INPUTS: [[f64; 2]; 4] = [[7.0, 3.0], [-7.0, 2.0], [6.0, 3.0], [7.0, 1.0]];

fn floor_circuit(input: &[f64]) -> (ModelCircuit, u32) {
    let qp = quantize(&floor_program(), &QS).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| QS.quantize_input(v)).collect();
    let vals = forward(&qp, &QS, &xq).unwrap();
    circuit_at(qp, vals, QS)
}

#[test]
fn floor_quotient_is_exact_and_passes_honestly() {
    for input in FLOOR_INPUTS {
        let (c, k) = floor_circuit(&input);
        verify(&c, k).unwrap();
        let w = ints(&c);
        let floor = (input[0] / input[1]).floor();
        assert_eq!(w[2], floor as i64, "T for {input:?}");
        assert_eq!(QS.dequantize(w[3]), floor, "U for {input:?}");
        assert_eq!(floor_program().eval_f64(&input)[3], floor);
    }
}

#[test]
fn floor_quotient_off_by_one_fails_at_its_sign_checks() {
    // T ± 1 with U, V and the public outputs recomputed from it: one of
    // the two sign checks (R = A − T·B in [0, B)) goes negative. (At
    // a = 7, b = 1, T + 1 = 8 would also take U out of range.)
    for input in &FLOOR_INPUTS[..3] {
        let (c, k) = floor_circuit(input);
        let t = ints(&c)[2];
        let checks: Vec<_> = c
            .layout
            .neurons
            .iter()
            .filter(|n| n.value == 2 && !n.range_check)
            .map(|n| n.start..=n.result_row)
            .collect();
        assert_eq!(checks.len(), 2);
        for delta in [1, -1] {
            let failures = forged_failures(&forged(&c, &[(2, fe((t + delta) as i128))]), k);
            assert_failures_in_rows(&failures, &checks, "T's sign checks");
        }
    }
}

#[test]
fn fractional_floor_quotient_fails_only_at_its_range_check() {
    // a = 7, b = 1: T' = (A − 1)/B = 7 − 2^-scale in the field. Both sign
    // checks hold (R' = 1), and U = S·T' = 7S − 1 is a small integer, so
    // U's chain, V and the public outputs all hold: a forged 6.98. Only
    // T's range check, which proves T an integer, is left to refuse it.
    let (c, k) = floor_circuit(&[7.0, 1.0]);
    let w = ints(&c);
    let (a, b) = (w[0] as i128, w[1] as i128);
    let forged_t = fe(a - 1) * fe(b).invert().unwrap();
    assert!(
        witness::small_signed(forged_t).is_none(),
        "T' is no integer"
    );
    let bad = forged(&c, &[(2, forged_t)]);
    let u = witness::small_signed(bad.witness.as_ref().unwrap()[3]).expect("U' is small");
    assert_eq!(u as i64, (7 << QS.scale_bits) - 1);
    let range = c
        .layout
        .neurons
        .iter()
        .find(|n| n.value == 2 && n.range_check)
        .unwrap()
        .clone();
    assert_failures_within(&forged_failures(&bad, k), &range, "T's range check");
}

/// Input x → X = x + 2 (positive), Y = √X (exact root), Z = 0.5·Y + 0.1.
/// Outputs Y, Z.
fn root_program(shift: f64) -> Program<f64> {
    Program {
        values: vec![
            Value::Input(0),
            Value::Neuron(Neuron::affine(
                vec![(0, 1.0)],
                shift,
                Activation::Identity,
                0,
            )),
            Value::Root {
                squares: vec![],
                linear: Some(1),
                node: 1,
            },
            Value::Neuron(Neuron::affine(vec![(2, 0.5)], 0.1, Activation::Identity, 2)),
        ],
        num_inputs: 1,
        outputs: vec![2, 3],
        input_shapes: vec![vec![1]],
        output_shapes: vec![vec![1, 2]],
        nodes: vec!["radicand".into(), "root".into(), "after".into()],
        copies: 1,
    }
}

fn root_circuit(x: f64) -> (ModelCircuit, u32) {
    let qp = quantize(&root_program(2.0), &QS).unwrap();
    let vals = forward(&qp, &QS, &[QS.quantize_input(x)]).unwrap();
    circuit_at(qp, vals, QS)
}

/// The rows of the two sign checks of value `id`.
fn sign_check_rows(c: &ModelCircuit, id: usize) -> Vec<std::ops::RangeInclusive<usize>> {
    let rows: Vec<_> = c
        .layout
        .neurons
        .iter()
        .filter(|n| n.value == id && !n.range_check)
        .map(|n| n.start..=n.result_row)
        .collect();
    assert_eq!(rows.len(), 2);
    rows
}

#[test]
fn exact_root_passes_honestly_and_rounds_down() {
    for x in [0.7, -0.4, -1.0, 0.0] {
        let (c, k) = root_circuit(x);
        verify(&c, k).unwrap();
        let w = ints(&c);
        let sx = (w[1] as i128) << QS.scale_bits;
        let y = w[2] as i128;
        assert!(
            y * y <= sx && sx < (y + 1) * (y + 1),
            "Y = ⌊√(S·X)⌋ at x = {x}"
        );
        assert!((QS.dequantize(w[2]) - (x + 2.0).sqrt()).abs() < 2.0 / QS.scale());
    }
}

#[test]
fn wrong_or_negative_root_fails_at_its_sign_checks() {
    // Y ± 1 and −Y (the other square root), with Z and the public outputs
    // recomputed from it: Y² ≤ S·X < (Y + 1)² fails on one side.
    for x in [0.7, -0.4] {
        let (c, k) = root_circuit(x);
        let y = ints(&c)[2] as i128;
        let checks = sign_check_rows(&c, 2);
        for forged_y in [y + 1, y - 1, -y] {
            let failures = forged_failures(&forged(&c, &[(2, fe(forged_y))]), k);
            assert_failures_in_rows(&failures, &checks, "Y's sign checks");
        }
    }
}

#[test]
fn exact_norm_is_the_floor_of_the_unrounded_root() {
    // Y = ⌊√(A² + B²)⌋ over the raw values: tiny inputs whose squares
    // would round to 0 at the activation scale still count. Y ± 1 and −Y,
    // recomputed downstream, fail at the two sign checks.
    let prog = Program {
        values: vec![
            Value::Input(0),
            Value::Input(1),
            Value::Root {
                squares: vec![0, 1],
                linear: None,
                node: 0,
            },
        ],
        num_inputs: 2,
        outputs: vec![2],
        input_shapes: vec![vec![2]],
        output_shapes: vec![vec![1]],
        nodes: vec!["norm".into()],
        copies: 1,
    };
    let qp = quantize(&prog, &QS).unwrap();
    for input in [[0.05, -0.05], [0.6, 0.8], [-3.0, 4.0]] {
        let xq: Vec<i64> = input.iter().map(|&v| QS.quantize_input(v)).collect();
        let vals = forward(&qp, &QS, &xq).unwrap();
        let (c, k) = circuit_at(qp.clone(), vals, QS);
        verify(&c, k).unwrap();
        let (a, b, y) = (xq[0] as i128, xq[1] as i128, ints(&c)[2] as i128);
        assert_eq!(y, (a * a + b * b).isqrt(), "{input:?}");
        assert!(y > 0, "the squares are not rounded away: {input:?}");
        let checks = sign_check_rows(&c, 2);
        for forged_y in [y + 1, y - 1, -y] {
            let failures = forged_failures(&forged(&c, &[(2, fe(forged_y))]), k);
            assert_failures_in_rows(&failures, &checks, "Y's sign checks");
        }
    }
}

#[test]
fn negative_radicand_is_refused_before_proving() {
    let qp = quantize(&root_program(-2.0), &QS).unwrap();
    let err = forward(&qp, &QS, &[QS.quantize_input(0.5)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("square root") && err.contains("'root'"),
        "{err}"
    );
}

/// An integer-typed input as the lowering reads it: x → T = x / 1 (an
/// exact quotient: x must be whole), U = T at the activation scale,
/// V = 0.5·U. Outputs U, V.
fn whole_input_program() -> Program<f64> {
    Program {
        values: vec![
            Value::Input(0),
            Value::Neuron(Neuron::affine(vec![], 1.0, Activation::Identity, 0)),
            Value::Quotient {
                num: 0,
                den: 1,
                node: 0,
                kind: QuotientKind::Exact,
            },
            Value::Neuron(Neuron::affine(vec![(2, 1.0)], 0.0, Activation::Identity, 0)),
            Value::Neuron(Neuron::affine(vec![(3, 0.5)], 0.0, Activation::Identity, 1)),
        ],
        num_inputs: 1,
        outputs: vec![3, 4],
        input_shapes: vec![vec![1]],
        output_shapes: vec![vec![1, 2]],
        nodes: vec!["input 'x'".into(), "after".into()],
        copies: 1,
    }
}

#[test]
fn a_fractional_integer_input_fails_at_its_exact_quotient() {
    let qp = quantize(&whole_input_program(), &QS).unwrap();
    let vals = forward(&qp, &QS, &[QS.quantize_input(3.0)]).unwrap();
    let (c, k) = circuit_at(qp.clone(), vals, QS);
    verify(&c, k).unwrap();
    // x = 3 + 2^-scale, everything downstream and the public input
    // recomputed: T = ⌊X/S⌋ = 3 keeps U and V as they were, and only the
    // check R = X − T·S ≤ 0 can see the fraction.
    let x = ints(&c)[0] as i128;
    let failures = forged_failures(&forged(&c, &[(0, fe(x + 1))]), k);
    assert_failures_in_rows(&failures, &sign_check_rows(&c, 2), "T's exact check");
    // The integer pass refuses it before proving, naming the input.
    let err = forward(&qp, &QS, &[QS.quantize_input(3.0) + 1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("whole number") && err.contains("input 'x'"),
        "{err}"
    );
}

#[test]
fn rational_tanh_and_sigmoid_pass_honestly_and_match_floats() {
    // The table-free forms (`model::rational`) are ReLUs, products and a
    // quotient, each with its own negative tests; here the composition
    // satisfies every constraint and computes tanh and sigmoid.
    for (f, exact) in [
        (crate::model::LutFn::Tanh, f64::tanh as fn(f64) -> f64),
        (crate::model::LutFn::Sigmoid, |x: f64| {
            1.0 / (1.0 + (-x).exp())
        }),
    ] {
        let p = crate::model::rational::without_tables(&Program {
            values: vec![
                Value::Input(0),
                Value::Neuron(Neuron::affine(vec![(0, 1.0)], 0.0, Activation::Lut(f), 0)),
            ],
            num_inputs: 1,
            outputs: vec![1],
            input_shapes: vec![vec![1]],
            output_shapes: vec![vec![1]],
            nodes: vec!["f".into()],
            copies: 1,
        });
        let q = QuantParams {
            scale_bits: 10,
            weight_bits: 10,
            range_bits: 16,
            lut_bits: 6,
        };
        let qp = quantize(&p, &q).unwrap();
        for x in [-7.5, -1.3, 0.0, 0.4, 3.0, 20.0] {
            let vals = forward(&qp, &q, &[q.quantize_input(x)]).unwrap();
            let out = q.dequantize(vals[qp.outputs[0]]);
            assert!((out - exact(x)).abs() < 0.01, "{f:?}({x}) = {out}");
            let (c, k) = circuit_at(qp.clone(), vals, q);
            verify(&c, k).unwrap();
        }
    }
}

#[test]
fn divisor_not_positive_is_refused_before_proving() {
    // D = 0.5·b + 2 is zero at b = −4, out of the input range; make it
    // negative through the program instead.
    let mut p = smooth_program();
    if let Value::Neuron(n) = &mut p.values[4] {
        n.bias = -2.0;
    }
    let qp = quantize(&p, &QS).unwrap();
    let xq: Vec<i64> = SMOOTH_INPUT.iter().map(|&v| QS.quantize_input(v)).collect();
    let err = forward(&qp, &QS, &xq).unwrap_err().to_string();
    assert!(err.contains("divisor") && err.contains("quotient"), "{err}");
}

#[test]
fn step_output_must_be_the_scaled_sign() {
    // s = step(a − 0.1): 1 (2^scale) for a = 0.7, 0 for a = −0.4.
    let prog = Program {
        values: vec![
            Value::Input(0),
            Value::Neuron(Neuron::affine(vec![(0, 1.0)], -0.1, Activation::Step, 0)),
        ],
        num_inputs: 1,
        outputs: vec![1],
        input_shapes: vec![vec![1]],
        output_shapes: vec![vec![1]],
        nodes: vec!["step".into()],
        copies: 1,
    };
    let qp = quantize(&prog, &Q).unwrap();
    for (a, expected) in [(0.7, 1i64 << Q.scale_bits), (-0.4, 0)] {
        let vals = forward(&qp, &Q, &[Q.quantize_input(a)]).unwrap();
        assert_eq!(vals[1], expected);
        let (c, k) = circuit_with(qp.clone(), vals.clone());
        verify(&c, k).unwrap();
        let e = c.layout.value_row[1];
        assert!(verify(&with(c.clone(), Col::X, e, Fr::ONE), k).is_err());
        // The other answer, consistently in the output and the instance.
        let mut flipped = vals.clone();
        flipped[1] = (1i64 << Q.scale_bits) - expected;
        let (c, k) = circuit_with(qp.clone(), flipped);
        assert!(
            verify(&c, k).is_err(),
            "step({a}) accepted the wrong answer"
        );
    }
}

/// Every computed value claimed one off, in every shape, with everything
/// downstream recomputed from the claim: only the blocks of that value
/// (its neuron; a quotient's range and sign checks) refuse it. This covers
/// each result gate: identity, ReLU, table lookup, products, quotients.
#[test]
fn every_claimed_value_fails_only_at_its_own_blocks() {
    for shape in Shape::ALL {
        let cases = [tiny_shaped(&INPUT, shape), {
            let (qp, vals) = smooth_values(&SMOOTH_INPUT);
            circuit_shaped(qp, vals, QS, shape)
        }];
        for (c, k) in cases {
            every_value_fails_only_at_its_own_blocks(&c, k, &format!("{shape:?}"));
        }
    }
}

/// Every computed value of `c` ± 1, everything downstream recomputed from
/// the claim: only that value's own blocks (its neuron; a quotient's range
/// and sign checks) may fail, and something must.
fn every_value_fails_only_at_its_own_blocks(c: &ModelCircuit, k: u32, case: &str) {
    for id in c.program.num_inputs..c.program.values.len() {
        let blocks: Vec<_> = c
            .layout
            .neurons
            .iter()
            .filter(|n| n.value == id)
            .map(|n| n.start..=n.result_row)
            .collect();
        for delta in [Fr::ONE, -Fr::ONE] {
            let claim = c.witness.as_ref().unwrap()[id] + delta;
            let failures = forged_failures(&forged(c, &[(id, claim)]), k);
            assert_failures_in_rows(&failures, &blocks, &format!("value {id}'s blocks ({case})"));
        }
    }
}

/// The accumulator of a multiply row changed, with every later sum and the
/// chain recomputed (the output stays): only that row's multiply gate fails.
#[test]
fn changed_sum_with_the_rest_recomputed_fails_at_its_multiply_gate() {
    let (c, k) = circuit(&INPUT);
    let nr = rows_of(&c, 3);
    let first = nr.start + nr.padding;
    let mut bad = c.clone();
    for row in first + 1..first + terms_of(&c, 3) {
        bad.corrupt.push((Col::Acc, row, Fr::ONE));
    }
    bad.corrupt.extend(rechain(&c, &nr, 1));
    let failures = forged_failures(&bad, k);
    assert_failures_in_rows(
        &failures,
        &[first + 1..=first + 1],
        "the multiply gate of the changed row",
    );
}

/// A public row's `acc` is what the first block starts from: a nonzero
/// one would be a free bias. With the first block's sums and chain
/// recomputed for it, only the public gate (`inst·acc = 0`) refuses it.
#[test]
fn public_row_accumulator_must_be_zero() {
    let (c, k) = circuit(&INPUT);
    let top = c.layout.public.len() - 1;
    let nr = c.layout.neurons[0].clone();
    assert_eq!(nr.start, top + 1);
    let mut bad = with(c.clone(), Col::Acc, top, Fr::ONE);
    for row in nr.start..nr.result_row {
        bad.corrupt.push((Col::Acc, row, Fr::ONE));
    }
    bad.corrupt.extend(rechain(&c, &nr, 1));
    let failures = forged_failures(&bad, k);
    assert_failures_in_rows(&failures, &[top..=top], "the public gate");
    assert!(
        failures.iter().all(|f| f.contains("public")),
        "{failures:?}"
    );
}

// ---- Inputs: a range check whatever the visibility ----

/// The forgery of the security review: an input cell holding `X = 409/8`
/// in the field. Input 0 is read with weights 8 and −16 (0.5 and −1 at
/// 2^4) and by its range check with 16, so every sum over it is an integer
/// again (409, −818, 818) and every chain downstream is a valid one; the
/// model computes on a value no input has. For each visibility only the
/// input's range-check block refuses it.
#[test]
fn non_small_input_fails_at_its_range_check_for_every_visibility() {
    let x = fe(409) * fe(8).invert().unwrap();
    assert!(witness::small_signed(x).is_none());
    // Private weights too: the range check's own weight and bias are then
    // the prover's, and still bind nothing the gate does not.
    for (input, params) in [
        (Vis::Public, Vis::Fixed),
        (Vis::Private, Vis::Fixed),
        (Vis::Hashed, Vis::Fixed),
        (Vis::Public, Vis::Private),
        (Vis::Hashed, Vis::Hashed),
        (Vis::Public, Vis::Committed),
    ] {
        let vis = Visibility {
            input,
            output: Vis::Public,
            params,
            packed: false,
            linked: super::public::Linked::NONE,
        };
        let (c, k) = circuit_vis(&INPUT, vis);
        assert_eq!(ints(&c)[0], 51, "the honest input is 0.8 at 2^6");
        let range = c
            .layout
            .neurons
            .iter()
            .find(|n| n.value == 0)
            .unwrap()
            .clone();
        assert!(range.range_check && c.layout.value_row[0] == range.result_row);
        let bad = forged(&c, &[(0, x)]);
        // Downstream really is consistent: the ReLU neuron over input 0
        // computes on 409 where the honest sum is 408.
        let honest = witness::block(&rows_of(&c, 3).neuron, 1, c.witness.as_ref().unwrap(), &Q);
        let moved = witness::block(&rows_of(&c, 3).neuron, 1, bad.witness.as_ref().unwrap(), &Q);
        assert_eq!(moved.rows[0].acc - honest.rows[0].acc, Fr::ONE);
        assert_failures_within(&forged_failures(&bad, k), &range, "the input's range check");
    }
}

/// The same attack on every input and in every shape: the range check is
/// a plain neuron block, so it works in whatever columns the chain runs.
/// `X = x + 1/g`, with `g` the gcd of the weights that read the input, so
/// every sum over it is an integer again.
#[test]
fn non_small_inputs_fail_in_every_shape() {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a.abs()
        } else {
            gcd(b, a % b)
        }
    }
    for shape in Shape::ALL {
        let (c, k) = tiny_shaped(&INPUT, shape);
        for id in 0..3 {
            let g = c
                .layout
                .neurons
                .iter()
                .flat_map(|n| &n.neuron.terms)
                .filter(|t| t.0 == id)
                .fold(0, |g, t| gcd(g, t.1));
            assert!(g > 1, "input {id}: gcd {g}");
            let x = fe(ints(&c)[id] as i128) + fe(g as i128).invert().unwrap();
            let range = c
                .layout
                .neurons
                .iter()
                .find(|n| n.value == id)
                .unwrap()
                .clone();
            assert_failures_within(
                &forged_failures(&forged(&c, &[(id, x)]), k),
                &range,
                "the input's range check",
            );
        }
    }
}

/// An input one past the calibrated range (a small integer, but out of
/// range) fails at its range check's chain start, with everything else
/// recomputed for it (blocks downstream may leave their range too).
#[test]
fn out_of_range_integer_input_fails_at_its_range_check() {
    let (c, k) = circuit(&INPUT);
    let h = Q.half_range() as i128;
    for x in [h, -h - 1] {
        let range = c
            .layout
            .neurons
            .iter()
            .find(|n| n.value == 1)
            .unwrap()
            .clone();
        let failures = forged_failures(&forged(&c, &[(1, fe(x))]), k);
        // The start is checked by the block's result gate, at its result row.
        let at_start =
            |f: &String| f.contains("chain start") && failure_rows(f) == [range.result_row];
        assert!(
            failures.iter().any(at_start),
            "input {x} passed its range check: {failures:?}"
        );
    }
    // The ends of the range pass.
    for x in [h - 1, -h] {
        let ok = forged(&c, &[(1, fe(x))]);
        let out = witness::small_signed(ok.witness.as_ref().unwrap()[5]).unwrap();
        if out.abs() < h {
            assert!(forged_failures(&ok, k).is_empty(), "input {x} refused");
        }
    }
}

// ---- Visibility: weights in advice, hashed tensors ----

fn circuit_vis(input: &[f64], vis: Visibility) -> (ModelCircuit, u32) {
    tiny_circuit(input, vis, Shape::NARROW)
}

/// The tiny program with committed weights (the binding circuit's tests
/// bind its column).
pub(crate) fn tiny_committed_circuit() -> (ModelCircuit, u32) {
    let v = Visibility {
        params: Vis::Committed,
        ..Visibility::default()
    };
    circuit_vis(&INPUT, v)
}

const ALL_HASHED: Visibility = Visibility {
    input: Vis::Hashed,
    output: Vis::Hashed,
    params: Vis::Hashed,
    packed: false,
    linked: super::public::Linked::NONE,
};

#[test]
fn every_visibility_passes_with_its_public_layout() {
    let vis = |input, output, params| Visibility {
        input,
        output,
        params,
        packed: false,
        linked: super::public::Linked::NONE,
    };
    for v in [
        vis(Vis::Public, Vis::Public, Vis::Private),
        vis(Vis::Private, Vis::Public, Vis::Fixed),
        vis(Vis::Hashed, Vis::Public, Vis::Fixed),
        vis(Vis::Public, Vis::Hashed, Vis::Hashed),
        vis(Vis::Private, Vis::Private, Vis::Hashed),
        vis(Vis::Public, Vis::Public, Vis::Committed),
        vis(Vis::Hashed, Vis::Private, Vis::Committed),
        ALL_HASHED,
    ] {
        let (c, k) = circuit_vis(&INPUT, v);
        verify(&c, k).unwrap_or_else(|e| panic!("{v:?}: {e}"));
        let names = c.layout.public_names();
        assert_eq!(names.len(), c.instance().len());
        assert_eq!(
            names.iter().filter(|n| n.starts_with("input[")).count(),
            if v.input == Vis::Public { 3 } else { 0 }
        );
        assert_eq!(
            names.contains(&"params_commitment".to_string()),
            v.params == Vis::Hashed,
            "{v:?}"
        );
    }
}

/// The public commitments are the off-circuit Poseidon hashes of the
/// quantized tensors; the circuit agrees (the MockProver run binds them).
#[test]
fn commitments_are_the_native_hashes() {
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    verify(&c, k).unwrap();
    let w = ints(&c);
    let inst = c.instance();
    let input: Vec<Fr> = (0..3).map(|i| fe(w[i] as i128)).collect();
    assert_eq!(inst[0], crate::poseidon::hash(&input));
    // 3 + 2 + 2 weights packed into one (short) word of twelve-bit slots
    // (weight + 2^11, first weight in the top slot), then the 3 biases;
    // the inputs' range checks are no weights.
    let cells = c.layout.param_cells();
    assert_eq!(cells.len(), 10);
    assert_eq!(
        c.layout.packing,
        Some(layout::Packing {
            bits: 12,
            per_word: 21
        })
    );
    let slot = |i: usize| cells[i].1 + 2048;
    let packed: Fr = (0..7)
        .map(|i| fe(slot(i) as i128) * Fr::from(2).pow_vartime([12 * (6 - i) as u64]))
        .sum();
    let biases = cells[7..].iter().map(|&(_, v)| fe(v as i128));
    let words: Vec<Fr> = std::iter::once(packed).chain(biases).collect();
    assert_eq!(inst[1], crate::poseidon::hash(&words));
    assert_eq!(inst[2], crate::poseidon::hash(&[fe(w[5] as i128)]));
}

#[test]
fn wrong_commitment_fails() {
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    for i in 0..3 {
        let mut inst = c.instance();
        inst[i] += Fr::ONE;
        assert!(
            MockProver::run(k, &c, vec![inst])
                .unwrap()
                .verify()
                .is_err(),
            "commitment {i}"
        );
    }
}

/// A changed weight (with every downstream cell recomputed, so all model
/// gates hold) still fails: the weight is a copy of a hashed word.
#[test]
fn changed_hashed_weight_fails() {
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    let (row, _) = c.layout.param_cells()[0];
    assert!(verify(&with(c, Col::W, row, Fr::ONE), k).is_err());
}

/// Weights too wide for a 16-bit slot are hashed one a word, as plain
/// words copied from their `w` cells: the circuit's hash is the native one
/// (the MockProver run binds it), and a changed weight fails.
#[test]
fn weights_too_wide_to_pack_are_hashed_one_a_word() {
    let q = QuantParams {
        weight_bits: 17,
        ..Q
    };
    let qp = quantize(&tiny_program(), &q).unwrap();
    let xq: Vec<i64> = INPUT.iter().map(|&v| q.quantize_input(v)).collect();
    let vals = forward(&qp, &q, &xq).unwrap();
    let vis = Visibility {
        params: Vis::Hashed,
        ..Visibility::default()
    };
    let (c, k) = circuit_laid_out(qp, vals, q, vis, Shape::NARROW);
    assert_eq!(
        c.layout.packing, None,
        "2^17-scaled weights need more than 16 bits"
    );
    verify(&c, k).unwrap();
    let (row, _) = c.layout.param_cells()[0];
    assert!(verify(&with(c, Col::W, row, Fr::ONE), k).is_err());
}

#[test]
fn changed_hidden_input_fails() {
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    let row = c.layout.value_row[0];
    assert!(verify(&with(c, Col::X, row, Fr::ONE), k).is_err());
}

/// Private weights are the prover's choice, but padding and product rows
/// apply none: a weight cell there changes nothing, so the mask holds.
///
/// Committed weights share the gates; what pins their cells (padding rows
/// included) is the column's commitment, below.
#[test]
fn private_weights_apply_only_where_the_mask_is_set() {
    for params in [Vis::Private, Vis::Committed] {
        let v = Visibility {
            params,
            ..Visibility::default()
        };
        let (c, k) = circuit_vis(&INPUT, v);
        let nr = c
            .layout
            .neurons
            .iter()
            .find(|n| n.padding > 0)
            .expect("a padded block")
            .clone();
        verify(&with(c.clone(), Col::W, nr.start, Fr::from(5)), k).unwrap();
        // ...while on a term row the weight is used: changing it alone breaks the accumulator.
        assert!(
            verify(&with(c, Col::W, nr.start + nr.padding, Fr::ONE), k).is_err(),
            "{params}"
        );
    }
}

/// Committed weights: with the owner's salt tail, the circuit's weights
/// column is, row for row, the column `commit` commits to outside the
/// circuit (weights, biases, zeros, the tail up to halo2's blinding rows,
/// which `prove` scripts with the rest of the tail). It is the first advice
/// column, so its commitment is the proof's first point.
#[test]
fn committed_weights_column_is_the_one_commit_computes() {
    use halo2_proofs::dev::AdviceCellValue;
    let v = Visibility {
        params: Vis::Committed,
        ..Visibility::default()
    };
    let (mut c, k) = circuit_vis(&INPUT, v);
    let tail = crate::proof::committed::salt_tail(&c.layout, [7; 32]);
    assert_eq!(tail.len(), (1 << k) - c.layout.rows_used);
    c.params_tail = tail.clone();
    let prover = MockProver::run(k, &c, vec![c.instance()]).unwrap();
    prover.verify().unwrap();
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<Fr>::default();
    let w = ModelConfig::configure(&mut cs, c.gate_params())
        .w
        .expect("committed weights have a column");
    assert_eq!(w.index(), 0, "the first advice column");
    let expected = crate::proof::committed::weights_column(&c.layout, &tail);
    let usable = (1 << k) - (cs.blinding_factors() + 1);
    assert!(
        usable > c.layout.rows_used,
        "salt rows above the blinding rows"
    );
    for (row, cell) in prover.advice_values(w)[..usable].iter().enumerate() {
        let AdviceCellValue::Assigned(value) = cell else {
            panic!("row {row} of the weights column is not assigned");
        };
        assert_eq!(value.evaluate(), expected[row], "row {row}");
    }
}

fn params_sponge(c: &ModelCircuit) -> layout::Sponge {
    c.layout
        .sponges
        .iter()
        .find(|s| s.tensor == super::public::Tensor::Params)
        .expect("hashed params have a sponge")
        .clone()
}

/// Every kind of sponge cell: the initial state, a message word, the
/// absorbed state, a full-round and a partial-round state, the output and
/// the squeezed cell.
#[test]
fn corrupted_sponge_cells_fail() {
    use super::poseidon::PERMUTATION_ROWS;
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    let params = params_sponge(&c);
    let b = params.start;
    let end = b + super::poseidon::sponge_rows(params.len) - 1;
    let input = c
        .layout
        .sponges
        .iter()
        .find(|s| s.tensor == Tensor::Input)
        .unwrap()
        .start;
    let slot = first_slot(&c);
    let cases = [
        (Col::S(0), b),
        (Col::S(1), b),
        (Col::M, input),
        (Col::M, input + 1),
        (Col::M, slot),
        (Col::Pk, slot),
        (Col::S(2), b + 1),
        (Col::S(1), b + 3),
        (Col::S(2), b + 30),
        (Col::U(0), b + 2),
        (Col::U(2), b + 3),
        (Col::U(0), b + 30),
        (Col::S(0), b + PERMUTATION_ROWS + 1),
        (Col::S(0), end),
        (Col::M, end),
    ];
    for (col, row) in cases {
        assert!(
            verify(&with(c.clone(), col, row, Fr::ONE), k).is_err(),
            "{col:?} at row {row}"
        );
    }
}

/// Packing is unique only if every slot is in range: moving 1 from slot
/// i+1 into slot i (`+1` there, `−2^12` below) keeps the packed word, the
/// Horner chain and the hash the same, and only the range lookup sees it.
#[test]
fn packed_slot_out_of_range_fails_the_lookup() {
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    let b = first_slot(&c);
    let bad = c.clone().corrupt_all(&[
        (Col::M, b, Fr::ONE),
        (Col::M, b + 1, -Fr::from(4096)),
        (Col::Pk, b, Fr::ONE),
    ]);
    let failures = MockProver::run(k, &bad, vec![bad.instance()])
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(
        failures
            .iter()
            .any(|f| matches!(f, halo2_proofs::dev::VerifyFailure::Lookup { .. })),
        "{failures:?}"
    );
    // the Horner chain itself: a changed partial word fails its gate
    assert!(verify(&with(c, Col::Pk, b + 3, Fr::ONE), k).is_err());
}

/// The row of the first packed slot of the params sponge: the first word
/// ends at row `K − 1` of the sponge, so a short one starts lower.
fn first_slot(c: &ModelCircuit) -> usize {
    let packing = c.layout.packing.unwrap();
    let first_word = c.layout.num_weights().min(packing.per_word);
    params_sponge(c).start + packing.per_word - first_word
}

/// Each set of weights has one commitment. The last packed word holds
/// fewer weights than a word has slots; it has no padding slots (the rows
/// above its first slot carry no gate), so junk there changes nothing,
/// and a different word for the same weights (here the old padded one)
/// with the whole sponge recomputed fails only the Horner gate.
#[test]
fn a_short_packed_word_has_one_commitment() {
    use super::poseidon::PERMUTATION_ROWS;
    let (c, k) = circuit_vis(&INPUT, ALL_HASHED);
    let packing = c.layout.packing.unwrap();
    let sponge = params_sponge(&c);
    let b = sponge.start;
    let cells = c.layout.param_cells();
    let weights: Vec<i64> = cells[..c.layout.num_weights()]
        .iter()
        .map(|c| c.1)
        .collect();
    assert!(
        weights.len() < packing.per_word,
        "the test needs a short word"
    );
    let first_slot = first_slot(&c);
    let last_slot = b + packing.per_word - 1;
    // Junk in the ungated rows above the first slot: still valid, same hash.
    let junk: Vec<(Col, usize, Fr)> = (b..first_slot)
        .flat_map(|r| [(Col::M, r, fe(77)), (Col::Pk, r, fe(-5))])
        .collect();
    verify(&c.clone().corrupt_all(&junk), k).unwrap();
    // The padded word: same weights, 0 in every spare slot.
    let mut padded = weights.clone();
    padded.resize(packing.per_word, 0);
    let (word, other) = (packing.word(&weights), packing.word(&padded));
    assert_ne!(word, other);
    let bad = with(c.clone(), Col::Pk, last_slot, other - word);
    let mut words = tensor_words(Tensor::Params, &c.program, &c.layout, None).unwrap();
    assert_eq!(words[0], word);
    words[0] = other;
    let mut inst = c.instance();
    let at = c
        .layout
        .public
        .iter()
        .position(|p| *p == PublicItem::Commitment(Tensor::Params))
        .unwrap();
    inst[at] = crate::poseidon::hash(&words);
    let failures = MockProver::run(k, &bad, vec![inst])
        .unwrap()
        .verify()
        .unwrap_err();
    for f in &failures {
        let f = f.to_string();
        assert!(
            f.contains("pack: next slot") && failure_rows(&f) == [last_slot],
            "unexpected failure: {f}"
        );
    }
    assert!(!failures.is_empty());
    assert!(last_slot < b + PERMUTATION_ROWS);
}

// ---- Shapes: two terms a multiply row, two bits a chain row ----

fn tiny_shaped(input: &[f64], shape: Shape) -> (ModelCircuit, u32) {
    tiny_circuit(input, Visibility::default(), shape)
}

#[test]
fn every_shape_passes_honestly_with_odd_and_even_chains() {
    // Q's chains have 13 bits (odd: the wide chain starts on its virtual
    // zero), QS's 16; the smooth program reads every chain tap: sign,
    // rescaled value, table index.
    assert_eq!(
        (
            (Q.range_bits + Q.weight_bits) % 2,
            (QS.range_bits + QS.weight_bits) % 2
        ),
        (1, 0)
    );
    for shape in Shape::ALL {
        for input in [INPUT, [-0.9, 0.2, -0.7]] {
            let (c, k) = tiny_shaped(&input, shape);
            verify(&c, k).unwrap_or_else(|e| panic!("{shape:?} {input:?}: {e}"));
        }
        for input in [SMOOTH_INPUT, [-0.9, 0.8], [0.0, 0.0]] {
            let (qp, vals) = smooth_values(&input);
            let (c, k) = circuit_shaped(qp, vals, QS, shape);
            verify(&c, k).unwrap_or_else(|e| panic!("{shape:?} {input:?}: {e}"));
        }
    }
}

#[test]
fn wide_shapes_take_fewer_rows() {
    let rows = |shape| tiny_shaped(&INPUT, shape).0.layout.rows_used;
    let narrow = rows(Shape::NARROW);
    let wide_chain = rows(Shape {
        wide_mac: false,
        wide_chain: true,
    });
    // Every tiny neuron is padded to its 13-bit chain: 7 chain rows instead of 13.
    assert!(wide_chain < narrow, "{wide_chain} vs {narrow}");
    let c = tiny_shaped(
        &INPUT,
        Shape {
            wide_mac: true,
            wide_chain: true,
        },
    )
    .0;
    let nr = rows_of(&c, 3);
    assert_eq!(nr.result_row - nr.chain_start, 7);
}

#[test]
fn corrupted_second_operand_breaks_copy() {
    // In the second lane: x2 − 1 with every accumulator and the whole
    // chain redone for the new sum passes every gate (the sum moves by the
    // weight, within the rounding bits, so the output stays); only the copy
    // to the source value catches it.
    for shape in [
        Shape {
            wide_mac: true,
            wide_chain: false,
        },
        Shape {
            wide_mac: true,
            wide_chain: true,
        },
    ] {
        let (c, k) = tiny_shaped(&INPUT, shape);
        let nr = rows_of(&c, 3);
        let first = nr.start + nr.padding;
        // x2 − 1 moves the sum by −w2.
        let d = -(nr.neuron.terms[1].1 as i128);
        let v = neuron_step(&nr.neuron, &ints(&c), &Q).acc;
        let bits = c.layout.chain_bits;
        assert_eq!(
            (v + d) >> Q.weight_bits,
            v >> Q.weight_bits,
            "the test needs an unchanged output"
        );
        let mut bad = with(c.clone(), Col::X2, first, -Fr::ONE);
        for row in first..first + nr.neuron.terms.len().div_ceil(2) {
            bad.corrupt.push((Col::Acc, row, fe(d)));
        }
        for m in 0..=bits {
            let (col, rot) = shape.chain_cell(bits, m);
            let delta = ((v + d) >> (bits - m)) - (v >> (bits - m));
            bad.corrupt.push((
                col,
                nr.result_row.checked_add_signed(rot as isize).unwrap(),
                fe(delta),
            ));
        }
        let prover = MockProver::run(k, &bad, vec![bad.instance()]).unwrap();
        let failures = prover.verify().unwrap_err();
        assert!(!failures.is_empty());
        for f in &failures {
            assert!(
                f.to_string()
                    .starts_with("Equality constraint not satisfied"),
                "{shape:?}: {f}"
            );
        }
    }
}

#[test]
fn non_boolean_steps_of_a_wide_chain_fail() {
    let shape = Shape {
        wide_mac: false,
        wide_chain: true,
    };
    let (c, k) = tiny_shaped(&INPUT, shape);
    let nr = rows_of(&c, 5);
    // A prefix in either chain column, one step out of place.
    assert!(verify(&with(c.clone(), Col::Z, nr.chain_start + 2, Fr::ONE), k).is_err());
    assert!(verify(&with(c.clone(), Col::Z2, nr.chain_start + 2, Fr::ONE), k).is_err());
    // The odd chain's first prefix p_0 sits in z2 beside the virtual zero.
    assert!(verify(&with(c.clone(), Col::Z2, nr.chain_start, Fr::ONE), k).is_err());
    assert!(verify(&with(c, Col::Z, nr.chain_start, Fr::ONE), k).is_err());
}

#[test]
fn wrong_outputs_fail_in_the_wide_shape() {
    let shape = Shape {
        wide_mac: true,
        wide_chain: true,
    };
    for (id, delta) in [(3, Fr::ONE), (5, -Fr::ONE)] {
        let (c, k) = tiny_shaped(&INPUT, shape);
        let e = c.layout.value_row[id];
        assert!(verify(&with(c, Col::X, e, delta), k).is_err(), "value {id}");
    }
    let (qp, vals) = smooth_values(&SMOOTH_INPUT);
    let (c, k) = circuit_shaped(qp, vals, QS, shape);
    let e = c.layout.value_row[3];
    assert!(
        verify(&with(c, Col::X, e, Fr::ONE), k).is_err(),
        "table output"
    );
}

#[test]
fn out_of_range_value_fails_at_the_wide_chain_start() {
    // As `out_of_range_value_fails_only_at_the_chain_start`, for odd (Q)
    // and even (QS) wide chains: a V of one bit too many has p_0 = 1, which
    // an odd chain keeps in z2 and an even one in z.
    for q in [Q, QS] {
        let (c, k) = out_of_range_circuit(
            q,
            Shape {
                wide_mac: true,
                wide_chain: true,
            },
        );
        let prover = MockProver::run(k, &c, vec![c.instance()]).unwrap();
        let failures = prover.verify().unwrap_err();
        // Even: only the start gate (p_0 = 0). Odd: also the step from the
        // virtual zero to p_0, which is not a bit either.
        for f in &failures {
            let f = f.to_string();
            assert!(
                f.contains("chain start")
                    || (q.range_bits + q.weight_bits) % 2 == 1 && f.contains("bit:"),
                "unexpected failure: {f}"
            );
        }
        assert!(failures
            .iter()
            .any(|f| f.to_string().contains("chain start")));
    }
}

#[test]
fn narrow_is_chosen_below_the_wide_threshold_and_lanes_only_for_fixed_weights() {
    let qp = quantize(&tiny_program(), &Q).unwrap();
    assert!(matches!(
        layout::choose_shape(&qp, &Q, Visibility::default()),
        Some((Shape::NARROW, _))
    ));
    // A wide neuron: 2^17 terms (over 1,024 inputs, each with its 14-row
    // range check) need k = 18 narrow, 17 with two lanes.
    let (n, terms) = (1024usize, 1usize << 17);
    let prog = Program {
        values: (0..n)
            .map(Value::Input)
            .chain([Value::Neuron(Neuron::affine(
                (0..terms).map(|i| (i % n, 0.5)).collect(),
                0.0,
                Activation::Identity,
                0,
            ))])
            .collect(),
        num_inputs: n,
        outputs: vec![n],
        input_shapes: vec![vec![n]],
        output_shapes: vec![vec![1]],
        nodes: vec!["sum".into()],
        copies: 1,
    };
    let qp = quantize(&prog, &Q).unwrap();
    let narrow = Layout::new(&qp, &Q, 0, Visibility::default(), Shape::NARROW)
        .min_k()
        .unwrap();
    let (shape, k) = layout::choose_shape(&qp, &Q, Visibility::default()).unwrap();
    assert!(
        shape.wide_mac && !shape.wide_chain && k < narrow,
        "{shape:?} k={k}, narrow k={narrow}"
    );
    let private = Visibility {
        params: Vis::Private,
        ..Visibility::default()
    };
    let (shape, _) = layout::choose_shape(&qp, &Q, private).unwrap();
    assert!(!shape.wide_mac);
}

// ---- Packed public values ----

const PACKED: Visibility = Visibility {
    input: Vis::Public,
    output: Vis::Public,
    params: Vis::Fixed,
    packed: true,
    linked: super::public::Linked::NONE,
};

/// [`PACKED`] under every weight visibility, with the shapes each allows
/// (two multiply lanes need fixed weights).
fn packed_builds() -> Vec<(Visibility, Shape)> {
    let mut builds = Vec::new();
    for params in [Vis::Fixed, Vis::Private, Vis::Committed, Vis::Hashed] {
        for shape in Shape::ALL {
            if params == Vis::Fixed || !shape.wide_mac {
                builds.push((Visibility { params, ..PACKED }, shape));
            }
        }
    }
    builds
}

/// The tiny circuit, packed, in the narrow shape under every weight
/// visibility.
fn narrow_packed_circuits() -> Vec<(Visibility, ModelCircuit, u32)> {
    packed_builds()
        .into_iter()
        .filter(|&(_, shape)| shape == Shape::NARROW)
        .map(|(vis, shape)| {
            let (c, k) = tiny_circuit(&INPUT, vis, shape);
            (vis, c, k)
        })
        .collect()
}

#[test]
fn packed_public_values_pass_in_every_shape_and_make_one_word_per_tensor() {
    for (vis, shape) in packed_builds() {
        let (c, k) = tiny_circuit(&INPUT, vis, shape);
        verify(&c, k).unwrap_or_else(|e| panic!("{:?} {shape:?}: {e}", vis.params));
        // 3 inputs in one word, 1 output in another (then the weights'
        // commitment, when hashed).
        let hashed = usize::from(vis.params == Vis::Hashed);
        assert_eq!(c.instance().len(), 2 + hashed);
        assert_eq!(
            c.layout.public_names()[..2],
            ["input[0..3]".to_string(), "output[0..1]".to_string()]
        );
        // The word is the values' offset encodings, first in the top slot.
        let (w, off, bits) = (
            ints(&c),
            Q.public_offset() as i128,
            c.layout.value_packing.unwrap().bits,
        );
        let expected = (0..3).fold(0i128, |acc, i| (acc << bits) + w[i] as i128 + off);
        assert_eq!(c.instance()[0], fe(expected));
    }
}

#[test]
fn changed_packed_word_fails() {
    for (vis, c, k) in narrow_packed_circuits() {
        for (i, delta) in [(0, Fr::ONE), (1, -Fr::ONE), (0, Fr::from(1u64 << 10))] {
            let mut inst = c.instance();
            inst[i] += delta;
            assert!(
                MockProver::run(k, &c, vec![inst])
                    .unwrap()
                    .verify()
                    .is_err(),
                "{:?}: word {i} changed by {delta:?}",
                vis.params
            );
        }
        // The word's result cell, and a slot's operand, corrupted alone.
        let word = c.layout.words[0].clone();
        assert!(verify(&with(c.clone(), Col::X, word.result_row, Fr::ONE), k).is_err());
        assert!(verify(&with(c, Col::X, word.start + 1, Fr::ONE), k).is_err());
    }
}

/// The value a circuit's witness puts in its weights column at `row`.
fn assigned_w(c: &ModelCircuit, k: u32, row: usize) -> Fr {
    use halo2_proofs::dev::AdviceCellValue;
    let prover = MockProver::run(k, c, vec![c.instance()]).unwrap();
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<Fr>::default();
    let w = ModelConfig::configure(&mut cs, c.gate_params()).w.unwrap();
    match &prover.advice_values(w)[row] {
        AdviceCellValue::Assigned(v) => v.evaluate(),
        _ => panic!("w at row {row} is not assigned"),
    }
}

/// A word claimed one higher, with everything from its first multiply row
/// on recomputed (the running sums, the word cell, its public row and the
/// instance) and, with weights in advice, that row's `w` cell (a free
/// witness there) set to `1/(2^(B·(len−1))·v₀)`, which is what a multiply
/// reading `f·w·x` (as `q_mac` does) would need to add the one. The word's
/// multiply rows take their weight from the fixed `f` alone, so the first
/// row fails and nothing else does.
#[test]
fn a_packed_word_moved_through_its_first_multiply_fails_there() {
    for (vis, c, k) in narrow_packed_circuits() {
        let word = c.layout.words[0].clone();
        let first_value = c.witness.as_ref().unwrap()[word.values[0]];
        let bits = c.layout.value_packing.unwrap().bits as u64;
        let top_slot = Fr::from(2).pow_vartime([bits * (word.values.len() as u64 - 1)]);
        let mut cells: Vec<(Col, usize, Fr)> = (word.start..word.result_row)
            .map(|row| (Col::Acc, row, Fr::ONE))
            .collect();
        cells.push((Col::X, word.result_row, Fr::ONE));
        cells.push((Col::X, word.public_row, Fr::ONE));
        if vis.params != Vis::Fixed {
            let balance = (top_slot * first_value).invert().unwrap();
            cells.push((Col::W, word.start, balance));
        }
        let bad = c.clone().corrupt_all(&cells);
        if vis.params != Vis::Fixed {
            let assigned = assigned_w(&bad, k, word.start);
            assert_eq!(assigned, cells.last().unwrap().2, "the w cell is corrupted");
        }
        let mut inst = bad.instance();
        inst[word.public_row] += Fr::ONE;
        let failures = match MockProver::run(k, &bad, vec![inst]).unwrap().verify() {
            Ok(()) => panic!("{:?}: a moved word verified", vis.params),
            Err(e) => e.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>(),
        };
        for f in &failures {
            assert_eq!(failure_rows(f), vec![word.start], "{:?}: {f}", vis.params);
        }
    }
}

/// A slot overflow: input 1 claimed `2^bits` higher and input 0 one lower
/// keeps the packed public word (the carry moves between slots), with
/// everything downstream recomputed. Input 1's range check refuses it
/// (neurons that read it may leave their range too), whatever the weights'
/// visibility.
#[test]
fn slot_overflow_fails_at_the_values_range_check() {
    for (vis, c, k) in narrow_packed_circuits() {
        let bits = c.layout.value_packing.unwrap().bits;
        let w = c.witness.as_ref().unwrap().clone();
        let bad = forged(
            &c,
            &[(0, w[0] - Fr::ONE), (1, w[1] + Fr::from(1u64 << bits))],
        );
        assert_eq!(
            bad.instance()[0],
            c.instance()[0],
            "the carry keeps the word"
        );
        let range = c
            .layout
            .neurons
            .iter()
            .find(|n| n.range_check && n.value == 1)
            .unwrap()
            .clone();
        let failures = forged_failures(&bad, k);
        assert!(
            failures.iter().any(|f| failure_rows(f)
                .iter()
                .any(|r| (range.start..=range.result_row).contains(r))),
            "{:?}: {failures:?}",
            vis.params
        );
    }
}

/// `log(exp(a − 201) + exp(b − 201))` for inputs near 200: a range wide
/// enough for them leaves 4 fractional bits, and a 2^8-row table steps its
/// input by 4.0. Narrowed (`model::narrow`), each exp is an identity, two
/// ReLUs clamping it and a table read at gain 2^5; the log reads at 2^6.
fn narrowed_lse(input: &[f64]) -> (Program<i64>, Vec<i64>, Program<f64>) {
    let plain = lse_program();
    let p = crate::model::narrow::narrowed(&plain, crate::compile::narrow_context(&QN));
    let qp = quantize(&p, &QN).unwrap();
    let xq: Vec<i64> = input.iter().map(|&v| QN.quantize_input(v)).collect();
    let vals = forward(&qp, &QN, &xq).unwrap();
    (qp, vals, plain)
}

/// The log-sum-exp before narrowing; its inputs must not exceed 201 (the
/// log's bound: a sum of two exps of non-positive arguments).
fn lse_program() -> Program<f64> {
    use crate::model::LutFn;
    let exp = |i: usize| {
        Value::Neuron(Neuron::affine(
            vec![(i, 1.0)],
            -201.0,
            Activation::Lut(LutFn::Exp),
            0,
        ))
    };
    one_output(
        vec![
            Value::Input(0),
            Value::Input(1),
            exp(0),
            exp(1),
            Value::Neuron(Neuron::affine(
                vec![(2, 1.0), (3, 1.0)],
                0.0,
                Activation::Lut(LutFn::log_of_exp_sum(2)),
                1,
            )),
        ],
        &["exp", "log"],
    )
}

/// Activations below 2^8 (magnitude bits 14 − 1 − 4 − 1).
const QN: QuantParams = QuantParams {
    scale_bits: 4,
    weight_bits: 10,
    range_bits: 14,
    lut_bits: 8,
};

#[test]
fn narrowed_tables_pass_honestly_and_are_finer_than_plain_ones() {
    for input in [[200.3, 198.9], [150.0, 201.0], [-250.0, 200.0]] {
        let (qp, vals, plain) = narrowed_lse(&input);
        assert!(
            qp.values.len() > plain.values.len(),
            "the exps are narrowed"
        );
        let exact = plain.eval_f64(&input)[4];
        let narrow = QN.dequantize(vals[qp.outputs[0]]);
        let plain_q = quantize(&plain, &QN).unwrap();
        let xq: Vec<i64> = input.iter().map(|&v| QN.quantize_input(v)).collect();
        let coarse = QN.dequantize(forward(&plain_q, &QN, &xq).unwrap()[4]);
        if exact.is_finite() && exact > -3.0 {
            assert!(
                (narrow - exact).abs() < 0.13,
                "{input:?}: {narrow} vs {exact}"
            );
            assert!(
                (coarse - exact).abs() > 0.3,
                "{input:?}: plain {coarse} is fine?"
            );
        }
        let (c, k) = circuit_at(qp, vals, QN);
        verify(&c, k).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    }
    // Past the log's bound the gained input leaves the range: refused
    // before proving, never a wrong answer.
    let p = crate::model::narrow::narrowed(&lse_program(), crate::compile::narrow_context(&QN));
    let qp = quantize(&p, &QN).unwrap();
    let xq = [QN.quantize_input(210.0), QN.quantize_input(210.0)];
    assert!(forward(&qp, &QN, &xq).is_err());
}

/// Each value of the narrowed log-sum-exp (the clamp's ReLUs, the gained
/// table inputs and outputs) ± 1 with everything downstream recomputed:
/// only that value's own block refuses it.
#[test]
fn narrowed_values_fail_only_at_their_own_blocks() {
    let (qp, vals, _) = narrowed_lse(&[200.3, 198.9]);
    let (c, k) = circuit_at(qp, vals, QN);
    every_value_fails_only_at_its_own_blocks(&c, k, "narrowed");
}

/// A split model's middle chunk: input and output private, each carried in
/// a link column whose commitment the aggregation compares with the
/// neighbouring chunk's (`proof::link`).
const LINKED: Visibility = Visibility {
    input: Vis::Private,
    output: Vis::Private,
    params: Vis::Fixed,
    packed: false,
    linked: super::public::Linked {
        input: true,
        output: true,
    },
};

/// The honest linked chunk passes, its link tails' padding rows included.
/// A linked input is its input link row, with no range check of its own
/// (the chunk before bounds it: `Layout::value_cell`). Then the two cheats
/// a link must stop, each with everything downstream recomputed: the chunk
/// computes on another input while its input link still holds the honest
/// value (so it still commits like the chunk before), or its output link
/// holds another value than it computed (to match a forged chunk after).
/// Each fails at a copy of a link row (into the multiply rows that read
/// the input, or from the output's own cell), and nowhere else.
#[test]
fn link_columns_are_copies_of_the_cut_values() {
    let (mut c, k) = tiny_circuit(&INPUT, LINKED, Shape::NARROW);
    assert!(
        c.instance().is_empty(),
        "a middle chunk has no public input"
    );
    let len = c.layout.reserved_rows + 3;
    c.link_tails = (0..2)
        .map(|link| crate::proof::link::tail_values([9; 32], link, len))
        .collect();
    verify(&c, k).unwrap();

    let (input_link, output_link) = (Col::Link(Tensor::Input), Col::Link(Tensor::Output));
    let inputs = c.layout.num_inputs;
    assert!((0..inputs).all(|i| c.layout.value_cell(i) == (input_link, i)));
    assert!(
        c.layout.neurons.iter().all(|n| n.value >= inputs),
        "a linked input has no block of its own"
    );
    let x0 = c.witness.as_ref().unwrap()[0];
    let moved = forged(&c, &[(0, x0 + Fr::ONE)]);
    // The forged witness is consistent everywhere, its link included: only
    // the link's commitment, outside this circuit, tells it apart.
    assert_eq!(forged_failures(&moved, k), Vec::<String>::new());
    let lying = with(moved, input_link, 0, -Fr::ONE);
    assert_only_copies_fail(&forged_failures(&lying, k), "input 0's link row");
    let lying = with(c, output_link, 0, Fr::ONE);
    assert_only_copies_fail(&forged_failures(&lying, k), "the output's link row");
}

/// A chunk with nothing public has no public row above its first block,
/// whose multiply reads `acc` one row up (row 0). A free `acc` there would
/// be a free bias: moved by `W` (one unit of the first neuron's
/// pre-activation), with that block's sums and chain, its value and
/// everything downstream recomputed, the forged chunk is consistent
/// everywhere else and its input link is untouched (so it still links to
/// the chunk before). Only the `top` gate (`acc = 0` on row 0) refuses it.
#[test]
fn a_chunk_without_public_rows_starts_from_a_zero_accumulator() {
    let (c, k) = tiny_circuit(&INPUT, LINKED, Shape::NARROW);
    assert!(c.layout.public.is_empty());
    let nr = c.layout.neurons[0].clone();
    assert_eq!(nr.start, 1, "the first block reads row 0's acc");
    let dv = 1i64 << c.quant.weight_bits;
    let vals = c.witness.as_ref().unwrap();
    let lanes = c.layout.shape.lanes();
    let mut shifted = nr.neuron.clone();
    shifted.bias += dv;
    let out = witness::block(&shifted, lanes, vals, &c.quant).out;
    assert_ne!(out, vals[nr.value], "the forgery changes the first value");
    let mut bad = forged(&c, &[(nr.value, out)]);
    bad.corrupt.push((Col::Acc, 0, fe(dv as i128)));
    for row in nr.start..nr.result_row {
        bad.corrupt.push((Col::Acc, row, fe(dv as i128)));
    }
    bad.corrupt.extend(rechain(&c, &nr, dv as i128));
    let failures = forged_failures(&bad, k);
    assert_failures_in_rows(&failures, &[0..=0], "the top gate");
    assert!(failures.iter().all(|f| f.contains("top")), "{failures:?}");
}

/// There are failures, and all are copy constraints (of the cell `what`
/// names, whose copies then disagree): no gate caught it.
fn assert_only_copies_fail(failures: &[String], what: &str) {
    assert!(!failures.is_empty(), "the forgery passed: {what}");
    for f in failures {
        assert!(f.contains("Equality constraint"), "not a copy: {f}");
    }
}
