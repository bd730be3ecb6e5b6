//! Convolutions, pools, normalization, the piecewise-linear ops, table
//! functions, products and quotients on the ezkl peer models: the lowered
//! program against tract, compile → setup → prove → verify on the real
//! circuit, and MockProver rejecting a corrupted neuron output of each kind
//! of lowering.

mod common;

use common::*;
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use zkml_evm::circuit::ModelCircuit;
use zkml_evm::compile::{compile, CompileOptions, Compiled};
use zkml_evm::model::{Activation, InputFile, Model, Value};
use zkml_evm::proof::verify;

/// Peer models the lowering handles, with their ops.
const LOWERED: &[&str] = &[
    "1l_conv",         // Conv 1x1, pads 1
    "1l_average",      // Pad, AveragePool, Gather
    "1l_max_pool",     // MaxPool 2x2, pads 1
    "1l_batch_norm",   // BatchNormalization
    "1l_mean",         // ReduceMean over 300 values
    "1l_pad",          // Pad (opset 10 attributes)
    "1l_leakyrelu",    // LeakyRelu
    "clip",            // Clip with Constant bounds
    "max",             // ReduceMax
    "min",             // ReduceMin
    "3l_relu_conv_fc", // Conv stride 2, Relu, Conv, Relu, Gemm
    "1l_flatten",
    "1l_reshape",
    "1l_identity",
    "1l_concat",
    "1l_slice",
    "1l_sigmoid",            // Sigmoid (compiled table-free: few neurons)
    "1l_tanh",               // Tanh (compiled table-free)
    "1l_erf",                // Erf (table)
    "exp",                   // Exp (table)
    "log",                   // Log (table, steep near 0)
    "1l_softmax",            // Softmax: max, exp, sum, quotients
    "1l_gelu_tanh_appx",     // x·x·x products, Tanh
    "1l_eltwise_div",        // Div of two tensors (quotient)
    "1l_div",                // Div by a constant
    "2l_relu_sigmoid_small", // Gemm, Relu, Sigmoid
    "2l_sigmoid_small",
    "2l_relu_small",
    "lenet_5", // Conv, x·x + x, AveragePool, Gemm
];

fn load(name: &str) -> (Model, InputFile, Vec<f64>) {
    let v = common::vector(name);
    (v.model, v.input, v.x)
}

#[test]
fn peer_models_lower_like_tract() {
    for name in LOWERED {
        let (m, input, x) = load(name);
        let vals = m.program.eval_f64(&x);
        let ours: Vec<f64> = m.program.outputs.iter().map(|&o| vals[o]).collect();
        let tract = m.float_model().unwrap().run(&x).unwrap();
        assert_eq!(ours.len(), tract.len(), "{name}: output length");
        let scale = tract.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (a, b) in ours.iter().zip(&tract) {
            assert!((a - b).abs() <= 1e-4 * scale, "{name}: ours {a}, tract {b}");
        }
        if let Some(expected) = input.expected_outputs() {
            let tol = tolerance(&expected);
            for (a, e) in ours.iter().zip(&expected) {
                assert!((a - e).abs() <= tol, "{name}: ours {a}, output_data {e}");
            }
        }
    }
}

#[test]
fn lenet_5_square_plus_identity_is_one_neuron() {
    // conv → Mul(c, c) → Add(·, c): the Add folds into the product neuron.
    let (m, _, _) = load("lenet_5");
    let squares = m
        .program
        .neurons()
        .filter(|(_, n)| n.products.len() == 1 && n.terms.len() == 1)
        .count();
    assert_eq!(squares, 6 * 28 * 28 + 16 * 10 * 10);
}

/// compile → setup → prove → verify natively, outputs within tolerance.
fn prove_and_verify(name: &str) {
    let b = build(name);
    check_accuracy(&b);
    assert!(
        verify(&b.compiled, &b.proof).unwrap(),
        "{name}: honest proof rejected"
    );
    eprintln!(
        "{name}: k {} neurons {} rows {} max abs err {:.5}",
        b.compiled.settings.k,
        b.compiled.settings.layout.neurons,
        b.compiled.settings.layout.rows_used,
        b.proof.max_abs_error
    );
}

#[test]
fn conv_proves() {
    prove_and_verify("1l_conv");
}

#[test]
fn max_pool_proves() {
    prove_and_verify("1l_max_pool");
}

#[test]
fn batch_norm_proves() {
    prove_and_verify("1l_batch_norm");
}

#[test]
fn clip_proves() {
    prove_and_verify("clip");
}

#[test]
fn relu_conv_fc_proves() {
    prove_and_verify("3l_relu_conv_fc");
}

#[test]
fn average_pad_gather_proves() {
    prove_and_verify("1l_average");
}

#[test]
fn reductions_and_leaky_relu_prove() {
    for name in ["max", "min", "1l_mean", "1l_leakyrelu", "1l_pad"] {
        prove_and_verify(name);
    }
}

#[test]
fn table_functions_prove() {
    for name in [
        "1l_sigmoid",
        "1l_tanh",
        "1l_erf",
        "exp",
        "log",
        "2l_relu_sigmoid_small",
    ] {
        prove_and_verify(name);
    }
}

#[test]
fn products_and_quotients_prove() {
    for name in ["1l_softmax", "1l_gelu_tanh_appx", "1l_eltwise_div"] {
        prove_and_verify(name);
    }
}

#[test]
fn reindexing_models_prove() {
    // No neuron at all: the outputs are copies of the inputs.
    for name in [
        "1l_flatten",
        "1l_reshape",
        "1l_identity",
        "1l_concat",
        "1l_slice",
    ] {
        prove_and_verify(name);
    }
}

fn compiled(name: &str) -> (tempfile::TempDir, Compiled, Vec<f64>) {
    let (_, _, x) = load(name);
    let dir = tempfile::tempdir().unwrap();
    let c = compile(
        &vectors().join(name).join("network.onnx"),
        &[x.clone()],
        &CompileOptions::default(),
        dir.path(),
    )
    .unwrap();
    (dir, c, x)
}

fn mock(c: &ModelCircuit, k: u32) -> Result<(), String> {
    let prover = MockProver::run(k, c, vec![c.instance()]).map_err(|e| e.to_string())?;
    prover.verify().map_err(|e| format!("{} failures", e.len()))
}

/// The honest circuit passes; claiming one more for the value of the first
/// neuron that `pick` accepts (in its cell and every copy of it) makes it
/// fail.
fn corrupted_output_fails(name: &str, pick: impl Fn(&Compiled, usize) -> bool) {
    let (_dir, c, x) = compiled(name);
    let k = c.settings.k;
    let (circuit, _) = c.circuit_for(&x).unwrap();
    mock(&circuit, k).unwrap_or_else(|e| panic!("{name}: honest witness fails: {e}"));
    let id = (0..c.program.values.len())
        .find(|&id| pick(&c, id))
        .unwrap_or_else(|| panic!("{name}: no such neuron"));
    let mut values = circuit.witness.as_deref().unwrap().clone();
    values[id] += Fr::ONE;
    let bad = ModelCircuit {
        witness: Some(std::sync::Arc::new(values)),
        ..circuit.clone()
    };
    assert!(
        mock(&bad, k).is_err(),
        "{name}: corrupted output of value {id} accepted"
    );
}

fn act_of(c: &Compiled, id: usize) -> Option<(Activation, usize)> {
    match &c.program.values[id] {
        Value::Neuron(n) => Some((n.act, n.terms.len())),
        Value::Input(_) | Value::Quotient { .. } | Value::Root { .. } => None,
    }
}

#[test]
fn corrupted_table_product_and_quotient_outputs_fail() {
    corrupted_output_fails("1l_erf", |c, id| {
        matches!(act_of(c, id), Some((Activation::Lut(_), _)))
    });
    corrupted_output_fails("log", |c, id| {
        matches!(act_of(c, id), Some((Activation::Lut(_), _)))
    });
    corrupted_output_fails(
        "1l_gelu_tanh_appx",
        |c, id| matches!(&c.program.values[id], Value::Neuron(n) if !n.products.is_empty()),
    );
    corrupted_output_fails("1l_softmax", |c, id| {
        matches!(&c.program.values[id], Value::Quotient { .. })
    });
    corrupted_output_fails("1l_eltwise_div", |c, id| {
        matches!(&c.program.values[id], Value::Quotient { .. })
    });
}

#[test]
fn corrupted_max_pool_relu_and_max_output_fail() {
    // The ReLU of a max step, and the identity neuron adding it to the base.
    corrupted_output_fails("1l_max_pool", |c, id| {
        matches!(act_of(c, id), Some((Activation::Relu, _)))
    });
    corrupted_output_fails(
        "1l_max_pool",
        |c, id| matches!(act_of(c, id), Some((Activation::Identity, t)) if t > 1),
    );
    corrupted_output_fails("clip", |c, id| {
        matches!(act_of(c, id), Some((Activation::Relu, _)))
    });
}

#[test]
fn corrupted_conv_and_pool_output_fails() {
    corrupted_output_fails(
        "1l_conv",
        |c, id| matches!(act_of(c, id), Some((Activation::Identity, t)) if t == 3),
    );
    corrupted_output_fails(
        "1l_average",
        |c, id| matches!(act_of(c, id), Some((Activation::Identity, t)) if t > 1),
    );
}

/// Models exported the way users export them (scripts/export_families.py):
/// torch attention, recurrent and convolutional nets, scikit-learn trees and
/// linear models through skl2onnx and hummingbird, XGBoost through
/// onnxmltools.
const FAMILIES: &[&str] = &[
    "two_inputs",
    "lstm",
    "gru",
    "sk_tree",
    "sk_forest",
    "sk_linear_svm",
    "hb_tree",
    "hb_forest",
    "hb_linear_svm",
    "xgb_classifier",
    "resnet_upsample",
    "mha",
    "gpt_block",
    // The second exporter sweep (scripts/export_sweep.py): ops its first
    // run found missing or mis-referenced.
    "sweep/sk_mlp_classifier",
    "sweep/sk_gbm_regressor",
    "sweep/sk_logistic_pipeline",
    "sweep/svr_rbf",
    "sweep/one_class_svm",
    "sweep/svc_poly3",
    "sweep/svc_binary_rbf",
];

#[test]
fn exporter_families_prove_and_verify_within_tolerance() {
    for name in FAMILIES {
        let b = build(name);
        check_accuracy(&b);
        assert!(
            verify(&b.compiled, &b.proof).unwrap(),
            "{name}: honest proof rejected"
        );
        // The exporter's own runtime (onnxruntime) on every output, labels
        // included: integer labels come out exactly.
        let expected = b
            .input
            .expected_outputs()
            .expect("exports carry output_data");
        assert_eq!(expected.len(), b.proof.outputs.len(), "{name}");
    }
}

/// Every output of each small family, claimed one higher with the rest of
/// the witness unchanged, fails MockProver (the circuit-level negative
/// test of the op families: trees, linear classifiers, recurrences).
#[test]
fn exporter_family_outputs_cannot_be_changed() {
    for name in [
        "two_inputs",
        "lstm",
        "gru",
        "sk_tree",
        "sk_linear_svm",
        "hb_linear_svm",
        "xgb_classifier",
        "sweep/svr_rbf",
        "sweep/svc_poly3",
        "sweep/sk_mlp_classifier",
    ] {
        corrupted_output_fails(name, |c, id| c.program.outputs.first() == Some(&id));
        corrupted_output_fails(name, |c, id| c.program.outputs.last() == Some(&id));
    }
}
