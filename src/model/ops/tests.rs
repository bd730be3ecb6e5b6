//! Every lowering against tract: small ONNX graphs written here (for the
//! attribute combinations the bundled models lack), lowered, evaluated with
//! [`Program::eval_f64`] and compared with tract's float run.

use crate::model::{Activation, Model, Program};
use prost::Message;
use std::path::PathBuf;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::*;

/// A one-input, one-output ONNX graph under construction. The input is `x`
/// (float), the output `y`.
pub struct Onnx {
    opset: i64,
    input: Vec<i64>,
    /// The input's ONNX element type (1: float).
    input_type: i32,
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
}

pub fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f,
        ..Default::default()
    }
}

pub fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn tensor_type(elem_type: i32, dims: &[i64]) -> TypeProto {
    TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type,
            shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&d| tensor_shape_proto::Dimension {
                        value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    }
}

impl Onnx {
    pub fn new(input: &[i64]) -> Onnx {
        Onnx {
            opset: 13,
            input: input.to_vec(),
            input_type: 1,
            nodes: vec![],
            inits: vec![],
        }
    }

    /// Make the input `x` of ONNX element type `t`.
    pub fn input_type(mut self, t: i32) -> Onnx {
        self.input_type = t;
        self
    }

    pub fn opset(mut self, v: i64) -> Onnx {
        self.opset = v;
        self
    }

    pub fn node(
        mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<AttributeProto>,
    ) -> Onnx {
        let name = format!("{op}_{}", self.nodes.len());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name,
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        });
        self
    }

    /// A node with several outputs.
    pub fn node_n(
        mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> Onnx {
        self = self.node(op, inputs, outputs[0], attrs);
        self.nodes.last_mut().unwrap().output = outputs.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn init(mut self, name: &str, dims: &[i64], data: &[f32]) -> Onnx {
        assert_eq!(
            dims.iter().product::<i64>() as usize,
            data.len(),
            "initializer {name}"
        );
        self.inits.push(TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: 1,
            float_data: data.to_vec(),
            ..Default::default()
        });
        self
    }

    pub fn init_i64(mut self, name: &str, dims: &[i64], data: &[i64]) -> Onnx {
        self.inits.push(TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: 7,
            int64_data: data.to_vec(),
            ..Default::default()
        });
        self
    }

    pub fn write(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("model.onnx");
        std::fs::write(&path, self.proto().encode_to_vec()).unwrap();
        path
    }

    pub fn proto(&self) -> ModelProto {
        let inputs = vec![ValueInfoProto {
            name: "x".into(),
            r#type: Some(tensor_type(self.input_type, &self.input)),
            ..Default::default()
        }];
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: self.opset,
            }],
            graph: Some(GraphProto {
                name: "g".into(),
                node: self.nodes.clone(),
                initializer: self.inits.clone(),
                input: inputs,
                output: vec![ValueInfoProto {
                    name: "y".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// Deterministic values in [-1, 1).
pub fn sample(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Lower `model`, run it and tract on a sample input, and require the same
/// outputs (within 1e-4 relative to the output's scale). Returns the
/// program, for neuron-count checks.
pub fn check(model: &Onnx) -> Program<f64> {
    check_on(model, None)
}

pub fn check_on(model: &Onnx, input: Option<Vec<f64>>) -> Program<f64> {
    let dir = tempfile::tempdir().unwrap();
    let path = model.write(dir.path());
    let m = Model::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let p = &m.program;
    let x = input.unwrap_or_else(|| sample(p.num_inputs, 7));
    let vals = p.eval_f64(&x);
    let ours: Vec<f64> = p.outputs.iter().map(|&o| vals[o]).collect();
    let tract = m.float_model().unwrap().run(&x).unwrap();
    assert_eq!(
        ours.len(),
        tract.len(),
        "output length: ours {:?}, tract {}",
        p.output_shapes,
        tract.len()
    );
    let scale = tract.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in ours.iter().zip(&tract).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "output #{i}: ours {a}, tract {b}\nours  {ours:?}\ntract {tract:?}"
        );
    }
    // The fixed-point forward pass (what the circuit proves) within the
    // README's tolerance: 2% of the largest output.
    let (q, _, _, _) = crate::compile::calibrate(p, &[x.clone()], &Default::default()).unwrap();
    let qp = crate::quant::quantize(p, &q).unwrap();
    let xq: Vec<i64> = x.iter().map(|&v| q.quantize_input(v)).collect();
    let vals = crate::quant::forward(&qp, &q, &xq).unwrap();
    for (i, (&o, t)) in qp.outputs.iter().zip(&tract).enumerate() {
        let v = q.dequantize(vals[o]);
        assert!(
            (v - t).abs() <= 0.02 * scale,
            "quantized output #{i}: {v}, tract {t}"
        );
    }
    m.program
}

pub fn relus(p: &Program<f64>) -> usize {
    p.neurons()
        .filter(|(_, n)| n.act == Activation::Relu)
        .count()
}

pub fn weights(dims: &[i64], seed: u64) -> Vec<f32> {
    sample(dims.iter().product::<i64>() as usize, seed)
        .iter()
        .map(|&v| v as f32)
        .collect()
}

#[test]
fn relu_does_not_rewrite_neurons_another_node_still_reads() {
    // x -> Gemm -> g; Reshape(g) -> r; Relu(r) -> z; Add(z, g): the ReLU
    // must not fuse into g's neurons, which the Add reads unactivated.
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 1))
        .init_i64("s", &[2], &[1, 4])
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Reshape", &["g", "s"], "r", vec![])
        .node("Relu", &["r"], "z", vec![])
        .node("Add", &["z", "g"], "y", vec![]);
    check(&m);
    // A ReLU that is the only reader still fuses: one neuron per output.
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 1))
        .init_i64("s", &[2], &[1, 4])
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Reshape", &["g", "s"], "r", vec![])
        .node("Relu", &["r"], "y", vec![]);
    let p = check(&m);
    assert_eq!(p.num_neurons(), 4);
}

/// Neuron count of a program (constants included).
fn neurons(p: &Program<f64>) -> usize {
    p.num_neurons()
}

#[test]
fn op_table_is_sorted() {
    let names = super::supported_ops();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[test]
fn conv_2d_strides_pads_dilations_groups() {
    let m = Onnx::new(&[1, 4, 7, 6])
        .init("w", &[6, 2, 3, 2], &weights(&[6, 2, 3, 2], 2))
        .init("b", &[6], &weights(&[6], 3))
        .node(
            "Conv",
            &["x", "w", "b"],
            "y",
            vec![
                ints("strides", &[2, 1]),
                ints("pads", &[1, 0, 0, 1]),
                ints("dilations", &[2, 1]),
                int("group", 2),
            ],
        );
    let p = check(&m);
    // One neuron per output element: [1, 6, 2, 6].
    assert_eq!(neurons(&p), 6 * 2 * 6);
}

#[test]
fn conv_auto_pad_and_1d() {
    for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
        let m = Onnx::new(&[1, 2, 5, 6])
            .init("w", &[3, 2, 2, 3], &weights(&[3, 2, 2, 3], 4))
            .node(
                "Conv",
                &["x", "w"],
                "y",
                vec![string("auto_pad", mode), ints("strides", &[2, 2])],
            );
        check(&m);
    }
    let m = Onnx::new(&[1, 2, 9])
        .init("w", &[3, 2, 3], &weights(&[3, 2, 3], 5))
        .init("b", &[3], &weights(&[3], 6))
        .node(
            "Conv",
            &["x", "w", "b"],
            "y",
            vec![ints("pads", &[2, 1]), ints("strides", &[2])],
        );
    check(&m);
}

#[test]
fn conv_transpose_2d() {
    let m = Onnx::new(&[1, 2, 3, 4])
        .init("w", &[2, 3, 3, 2], &weights(&[2, 3, 3, 2], 7))
        .init("b", &[3], &weights(&[3], 8))
        .node(
            "ConvTranspose",
            &["x", "w", "b"],
            "y",
            vec![
                ints("strides", &[2, 3]),
                ints("pads", &[1, 0, 0, 1]),
                ints("output_padding", &[1, 0]),
            ],
        );
    check(&m);
    let m = Onnx::new(&[1, 4, 3, 3])
        .init("w", &[4, 1, 2, 2], &weights(&[4, 1, 2, 2], 9))
        .node(
            "ConvTranspose",
            &["x", "w"],
            "y",
            vec![int("group", 2), ints("dilations", &[2, 1])],
        );
    check(&m);
}

#[test]
fn average_pools() {
    for include in [0, 1] {
        let m = Onnx::new(&[1, 2, 5, 5]).node(
            "AveragePool",
            &["x"],
            "y",
            vec![
                ints("kernel_shape", &[3, 2]),
                ints("strides", &[2, 1]),
                ints("pads", &[1, 1, 1, 0]),
                int("count_include_pad", include),
            ],
        );
        let p = check(&m);
        assert_eq!(neurons(&p), 2 * 3 * 5, "one neuron per output");
    }
    let m = Onnx::new(&[1, 3, 4, 2]).node("GlobalAveragePool", &["x"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 3);
}

#[test]
fn max_pools() {
    // 2x2 windows of four distinct inputs: 3 ReLUs and 1 identity each.
    let m = Onnx::new(&[1, 1, 4, 4]).node(
        "MaxPool",
        &["x"],
        "y",
        vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
    );
    let p = check(&m);
    assert_eq!((neurons(&p), relus(&p)), (16, 12));
    let m = Onnx::new(&[1, 2, 5, 6]).node(
        "MaxPool",
        &["x"],
        "y",
        vec![
            ints("kernel_shape", &[3, 3]),
            ints("strides", &[2, 2]),
            ints("pads", &[1, 1, 1, 1]),
        ],
    );
    check(&m);
    let m = Onnx::new(&[1, 2, 5, 6]).node(
        "MaxPool",
        &["x"],
        "y",
        vec![
            ints("kernel_shape", &[2, 3]),
            string("auto_pad", "SAME_UPPER"),
        ],
    );
    check(&m);
    let m = Onnx::new(&[1, 2, 7, 6]).node(
        "MaxPool",
        &["x"],
        "y",
        vec![
            ints("kernel_shape", &[2, 2]),
            ints("dilations", &[2, 1]),
            ints("pads", &[1, 0, 0, 1]),
        ],
    );
    check(&m);
    let m = Onnx::new(&[1, 3, 4, 5]).node("GlobalMaxPool", &["x"], "y", vec![]);
    check(&m);
    // A long window: the running max is written out every few terms.
    let m = Onnx::new(&[1, 1, 8, 8]).node("GlobalMaxPool", &["x"], "y", vec![]);
    let p = check(&m);
    assert!(p.neurons().all(|(_, n)| n.terms.len() <= 21));
}

#[test]
fn max_min_elementwise() {
    // Two dynamic operands (x and 2x) and a broadcast constant.
    let m = Onnx::new(&[2, 3])
        .init("two", &[], &[2.0])
        .init("c", &[3], &[0.1, -0.5, 0.3])
        .node("Mul", &["x", "two"], "x2", vec![])
        .node("Max", &["x", "x2", "c"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3])
        .init("two", &[], &[-2.0])
        .init("c", &[2, 1], &[0.1, -0.5])
        .node("Mul", &["x", "two"], "x2", vec![])
        .node("Min", &["x", "c", "x2"], "y", vec![]);
    check(&m);
    // max(x, x) is x: no neuron.
    let m = Onnx::new(&[2, 3]).node("Max", &["x", "x"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 0);
    // Against a constant after a Gemm: the ReLU folds into the Gemm.
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 10))
        .init("c", &[4], &[0.0, 0.2, -0.1, 0.0])
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Min", &["g", "c"], "y", vec![]);
    let p = check(&m);
    // 4 fused ReLUs; identity neurons only where c != 0... min(g, c) = c − relu(c − g).
    assert_eq!(relus(&p), 4);
    assert_eq!(neurons(&p), 8);
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 10))
        .init("z", &[], &[0.0])
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Max", &["g", "z"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 4, "max(g, 0) is a fused ReLU");
}

#[test]
fn clips() {
    let bounds = [
        (Some(-0.3f32), Some(0.4f32)),
        (Some(-0.3), None),
        (None, Some(0.4)),
        (None, None),
    ];
    for (lo, hi) in bounds {
        let mut m = Onnx::new(&[2, 5]);
        let mut ins = vec!["x"];
        if let Some(lo) = lo {
            m = m.init("lo", &[], &[lo]);
            ins.push("lo");
        } else {
            ins.push("");
        }
        if let Some(hi) = hi {
            m = m.init("hi", &[], &[hi]);
            ins.push("hi");
        }
        check(&m.node("Clip", &ins, "y", vec![]));
    }
    // min > max: every element is max, a constant; an output that does not
    // depend on the input is proved as constant values.
    let m = Onnx::new(&[2, 5])
        .init("lo", &[], &[0.5])
        .init("hi", &[], &[0.2])
        .node("Clip", &["x", "lo", "hi"], "y", vec![]);
    let dir = tempfile::tempdir().unwrap();
    let p = Model::load(&m.write(dir.path())).unwrap().program;
    let vals = p.eval_f64(&[0.9; 10]);
    assert!(p.outputs.iter().all(|&o| (vals[o] - 0.2).abs() < 1e-6));
    // Opset 6: bounds as attributes.
    let m = Onnx::new(&[2, 5]).opset(6).node(
        "Clip",
        &["x"],
        "y",
        vec![float("min", -0.2), float("max", 0.1)],
    );
    check(&m);
    // After a Gemm (ReLU6-like): two neurons per element plus the fused ReLU.
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 11))
        .init("lo", &[], &[-0.1])
        .init("hi", &[], &[0.3])
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Clip", &["g", "lo", "hi"], "y", vec![]);
    let p = check(&m);
    assert_eq!((neurons(&p), relus(&p)), (12, 8));
    // Unfused (the input itself): three neurons per element.
    let m = Onnx::new(&[1, 4])
        .init("lo", &[], &[-0.1])
        .init("hi", &[], &[0.3])
        .node("Clip", &["x", "lo", "hi"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 12);
}

#[test]
fn leaky_prelu_abs_neg() {
    let m = Onnx::new(&[2, 5]).node("LeakyRelu", &["x"], "y", vec![float("alpha", 0.1)]);
    assert_eq!(neurons(&check(&m)), 20);
    let m = Onnx::new(&[1, 3, 2, 2])
        .init("s", &[3, 1, 1], &[0.1, -0.2, 0.5])
        .node("PRelu", &["x", "s"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 5]).node("Abs", &["x"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 20);
    let m = Onnx::new(&[2, 5]).node("Neg", &["x"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 10);
    // Neg of a fresh Gemm folds into it.
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 12))
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Neg", &["g"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 4);
}

#[test]
fn batch_norm_alone_and_folded_into_conv() {
    let bn = |m: Onnx, input: &str| {
        m.init("scale", &[3], &[0.5, -1.5, 2.0])
            .init("bias", &[3], &[0.1, 0.2, -0.3])
            .init("mean", &[3], &[0.05, -0.1, 0.2])
            .init("var", &[3], &[0.5, 1.5, 0.25])
            .node(
                "BatchNormalization",
                &[input, "scale", "bias", "mean", "var"],
                "y",
                vec![float("epsilon", 1e-3)],
            )
    };
    let p = check(&bn(Onnx::new(&[1, 3, 2, 2]), "x"));
    assert_eq!(neurons(&p), 12);
    let m = Onnx::new(&[1, 2, 4, 4])
        .init("w", &[3, 2, 3, 3], &weights(&[3, 2, 3, 3], 13))
        .node("Conv", &["x", "w"], "c", vec![]);
    let p = check(&bn(m, "c"));
    assert_eq!(neurons(&p), 3 * 2 * 2, "the batch norm folds into the Conv");
}

#[test]
fn reductions() {
    for (op, opset) in [
        ("ReduceMean", 13),
        ("ReduceSum", 11),
        ("ReduceMax", 13),
        ("ReduceMin", 13),
    ] {
        for keep in [0, 1] {
            let m = Onnx::new(&[2, 3, 4]).opset(opset).node(
                op,
                &["x"],
                "y",
                vec![ints("axes", &[-1, 0]), int("keepdims", keep)],
            );
            check(&m);
        }
        // No axes: everything.
        check(
            &Onnx::new(&[2, 3, 4])
                .opset(opset)
                .node(op, &["x"], "y", vec![int("keepdims", 0)]),
        );
    }
    // ReduceSum 13 takes axes as an input.
    let m = Onnx::new(&[2, 3, 4]).init_i64("axes", &[1], &[1]).node(
        "ReduceSum",
        &["x", "axes"],
        "y",
        vec![],
    );
    check(&m);
    // 1/300 rounds badly at 2^-10: a sum at 2^-8, then a scale by 256/300.
    let p = check(&Onnx::new(&[1, 1, 300]).opset(11).node(
        "ReduceMean",
        &["x"],
        "y",
        vec![int("keepdims", 0)],
    ));
    assert_eq!(neurons(&p), 2);
    let p = check(&Onnx::new(&[1, 1, 256]).opset(11).node(
        "ReduceMean",
        &["x"],
        "y",
        vec![int("keepdims", 0)],
    ));
    assert_eq!(neurons(&p), 1);
}

#[test]
fn sum_and_mean() {
    let m = Onnx::new(&[2, 3])
        .init("c", &[3], &[0.1, 0.2, 0.3])
        .init("two", &[], &[2.0])
        .node("Mul", &["x", "two"], "x2", vec![])
        .node("Sum", &["x", "c", "x2"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3]).init("c", &[2, 1], &[0.1, 0.2]).node(
        "Mean",
        &["x", "c", "x"],
        "y",
        vec![],
    );
    assert_eq!(neurons(&check(&m)), 6);
    // Sum of one input is a copy: no neuron.
    assert_eq!(
        neurons(&check(&Onnx::new(&[2, 3]).node("Sum", &["x"], "y", vec![]))),
        0
    );
}

#[test]
fn pads() {
    // Opset 13: pads and value as inputs.
    let m = Onnx::new(&[1, 2, 3, 3])
        .init_i64("p", &[8], &[0, 0, 1, 2, 0, 0, 2, 0])
        .init("v", &[], &[0.5])
        .node("Pad", &["x", "p", "v"], "y", vec![]);
    let p = check(&m);
    assert_eq!(neurons(&p), 1, "all padding cells share one constant");
    for mode in ["reflect", "edge"] {
        let m = Onnx::new(&[1, 2, 3, 4])
            .init_i64("p", &[8], &[0, 0, 2, 1, 0, 0, 1, 3])
            .node("Pad", &["x", "p"], "y", vec![string("mode", mode)]);
        assert_eq!(neurons(&check(&m)), 0);
    }
    // Negative pads crop (tract does not support them: checked by hand).
    let m = Onnx::new(&[2, 4])
        .init_i64("p", &[4], &[0, -1, 0, -2])
        .node("Pad", &["x", "p"], "y", vec![]);
    let dir = tempfile::tempdir().unwrap();
    let p = Model::load(&m.write(dir.path())).unwrap().program;
    assert_eq!(
        (p.output_shapes.clone(), p.outputs.clone()),
        (vec![vec![2, 1]], vec![1, 5])
    );
    // Opset 10: attributes; then an average pool folds the padding in.
    let m = Onnx::new(&[1, 2, 2, 2])
        .opset(10)
        .node(
            "Pad",
            &["x"],
            "p",
            vec![
                string("mode", "constant"),
                ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]),
                float("value", 0.25),
            ],
        )
        .node(
            "AveragePool",
            &["p"],
            "y",
            vec![ints("kernel_shape", &[2, 2])],
        );
    let p = check(&m);
    assert_eq!(
        neurons(&p),
        2 * 3 * 3,
        "the padding constant folds into the pool"
    );
}

#[test]
fn gather_and_shape() {
    let m = Onnx::new(&[2, 4, 3])
        .init_i64("i", &[2, 2], &[3, -4, 1, 1])
        .node("Gather", &["x", "i"], "y", vec![int("axis", 1)]);
    check(&m);
    let m = Onnx::new(&[2, 4, 3])
        .init_i64("i", &[], &[1])
        .node("Gather", &["x", "i"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3, 2])
        .init_i64("flat", &[1], &[-1])
        .node("Shape", &["x"], "s", vec![])
        .node("Reshape", &["x", "flat"], "f", vec![])
        .node("Relu", &["f"], "r", vec![])
        .node("Reshape", &["r", "s"], "y", vec![]);
    check(&m);
}

#[test]
fn table_functions() {
    for op in ["Sigmoid", "Tanh", "Exp", "Erf", "Softplus"] {
        let m = Onnx::new(&[2, 4]).node(op, &["x"], "y", vec![]);
        check(&m);
    }
    // Fused into the Gemm that feeds it: no extra neuron.
    let m = Onnx::new(&[1, 3])
        .init("w", &[3, 4], &weights(&[3, 4], 3))
        .node("Gemm", &["x", "w"], "g", vec![])
        .node("Sigmoid", &["g"], "y", vec![]);
    assert_eq!(neurons(&check(&m)), 4);
    // Log and Sqrt on positive values: x² + 0.5.
    for op in ["Log", "Sqrt"] {
        let m = Onnx::new(&[2, 4])
            .init("h", &[], &[0.5])
            .node("Mul", &["x", "x"], "sq", vec![])
            .node("Add", &["sq", "h"], "p", vec![])
            .node(op, &["p"], "y", vec![]);
        check(&m);
    }
    let m = Onnx::new(&[2, 4]).node(
        "HardSigmoid",
        &["x"],
        "y",
        vec![float("alpha", 0.9), float("beta", 0.4)],
    );
    check(&m);
    for op in ["Elu", "Selu"] {
        check(&Onnx::new(&[2, 4]).node(op, &["x"], "y", vec![float("alpha", 0.7)]));
    }
}

#[test]
fn softmax_and_log_softmax_on_each_axis() {
    for op in ["Softmax", "LogSoftmax"] {
        for axis in [-1, 0, 1] {
            let m = Onnx::new(&[3, 4])
                .init("k", &[], &[3.0])
                .node("Mul", &["x", "k"], "s", vec![])
                .node(op, &["s"], "y", vec![int("axis", axis)]);
            check(&m);
        }
    }
}

#[test]
fn products_quotients_and_powers() {
    // x·x, x·x·x (Pow 3), broadcast product, and a Gemm of two activations.
    let m = Onnx::new(&[2, 3]).node("Mul", &["x", "x"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3])
        .init("e", &[], &[3.0])
        .node("Pow", &["x", "e"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3])
        .init("w", &[3, 3], &weights(&[3, 3], 4))
        .node("MatMul", &["x", "w"], "h", vec![])
        .node("Mul", &["x", "h"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3])
        .init("w", &[3, 2], &weights(&[3, 2], 5))
        .node("MatMul", &["x", "w"], "h", vec![])
        .node("MatMul", &["h", "x"], "y", vec![]);
    check(&m);
    // Quotients by a positive divisor: x / (x² + 1), 1 / (x² + 1).
    let m = Onnx::new(&[2, 3])
        .init("one", &[], &[1.0])
        .node("Mul", &["x", "x"], "sq", vec![])
        .node("Add", &["sq", "one"], "d", vec![])
        .node("Div", &["x", "d"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 3])
        .init("one", &[], &[1.0])
        .node("Mul", &["x", "x"], "sq", vec![])
        .node("Add", &["sq", "one"], "d", vec![])
        .node("Reciprocal", &["d"], "y", vec![]);
    check(&m);
}

#[test]
fn divisors_of_either_sign() {
    // sign(b)·(a / |b|): negative divisors divide like positive ones.
    let x = vec![0.5, -0.25, 0.75, -0.8];
    let m = Onnx::new(&[1, 4]).node("Reciprocal", &["x"], "y", vec![]);
    check_on(&m, Some(x.clone()));
    let m = Onnx::new(&[1, 4])
        .init("c", &[4], &[0.3, -0.2, 0.1, 0.6])
        .node("Div", &["c", "x"], "y", vec![]);
    check_on(&m, Some(x));
}

#[test]
fn integer_division_truncates_toward_zero() {
    // int64 x / (|x| + 1), x / −(|x| + 1) and x / 3: every sign pairing,
    // dynamic and constant divisors, against tract's integer Div.
    let x = vec![7.0, -7.0, 5.0, -3.0, 0.0, 12.0];
    for divisor in ["d", "nd", "three"] {
        let m = Onnx::new(&[1, 6])
            .input_type(7)
            .init_i64("one", &[], &[1])
            .init_i64("three", &[], &[3])
            .node("Abs", &["x"], "ax", vec![])
            .node("Add", &["ax", "one"], "d", vec![])
            .node("Neg", &["d"], "nd", vec![])
            .node("Div", &["x", divisor], "y", vec![]);
        let p = check_on(&m, Some(x.clone()));
        assert!(
            p.values.iter().any(|v| matches!(
                v,
                crate::model::Value::Quotient {
                    kind: crate::model::QuotientKind::Floor,
                    ..
                }
            )),
            "x / {divisor} is an integer quotient"
        );
    }
}

#[test]
fn a_zero_divisor_is_refused_naming_the_node() {
    let m = Onnx::new(&[1, 4]).node("Div", &["x", "x"], "y", vec![]);
    let dir = tempfile::tempdir().unwrap();
    let model = Model::load(&m.write(dir.path())).unwrap();
    let x = vec![0.5, 0.0, 0.75, -0.1];
    let (q, _, _, _) =
        crate::compile::calibrate(&model.program, &[x.clone()], &Default::default()).unwrap();
    let qp = crate::quant::quantize(&model.program, &q).unwrap();
    let xq: Vec<i64> = x.iter().map(|&v| q.quantize_input(v)).collect();
    let err = crate::quant::forward(&qp, &q, &xq).unwrap_err().to_string();
    assert!(err.contains("divisor") && err.contains("Div_0"), "{err}");
}

#[test]
fn comparisons_where_and_arg_max() {
    // relu-free selection: where(x > 0.2, x, −x), and each comparison
    // feeding a Where so the output is float.
    for op in ["Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal"] {
        let m = Onnx::new(&[2, 4])
            .init("t", &[4], &[0.2, -0.3, 0.0, 0.5])
            .init("k", &[], &[-1.0])
            .node(op, &["x", "t"], "c", vec![])
            .node("Mul", &["x", "k"], "nx", vec![])
            .node("Where", &["c", "x", "nx"], "y", vec![]);
        check(&m);
    }
    // Equal on exact ties: x against a copy of itself through Max(x, x).
    let m = Onnx::new(&[1, 4])
        .node("Max", &["x", "x"], "m", vec![])
        .node("Equal", &["x", "m"], "c", vec![])
        .node("Where", &["c", "x", "m"], "y", vec![]);
    check(&m);
    for (axis, keep) in [(1, 1), (0, 0), (-1, 0)] {
        let m = Onnx::new(&[3, 4])
            .node(
                "ArgMax",
                &["x"],
                "i",
                vec![int("axis", axis), int("keepdims", keep)],
            )
            .node("Cast", &["i"], "y", vec![int("to", 1)]);
        check(&m);
    }
    // First of tied maxima: [0.5, 0.5, 0.1] -> 0.
    let m = Onnx::new(&[1, 3])
        .node("ArgMax", &["x"], "i", vec![int("axis", 1)])
        .node("Cast", &["i"], "y", vec![int("to", 1)]);
    check_on(&m, Some(vec![0.5, 0.5, 0.1]));
}

#[test]
fn layer_normalization() {
    let m = Onnx::new(&[2, 6])
        .opset(17)
        .init("g", &[6], &weights(&[6], 8))
        .init("b", &[6], &weights(&[6], 9))
        .node(
            "LayerNormalization",
            &["x", "g", "b"],
            "y",
            vec![int("axis", -1)],
        );
    check(&m);
}

#[test]
fn split_by_sizes_attribute_and_equal_parts() {
    // Opset 13: sizes as an input; the parts meet again in a product.
    let m = Onnx::new(&[2, 6])
        .init_i64("sizes", &[2], &[2, 4])
        .node_n("Split", &["x", "sizes"], &["a", "b"], vec![int("axis", 1)])
        .node(
            "ReduceSum",
            &["b"],
            "s",
            vec![int("axes", 1), int("keepdims", 1)],
        );
    let m = m.node("Mul", &["a", "s"], "y", vec![]);
    check(&m);
    // Opset 11: sizes as an attribute; opset 18: three equal parts by num_outputs.
    let m = Onnx::new(&[3, 4])
        .opset(11)
        .node_n(
            "Split",
            &["x"],
            &["a", "b"],
            vec![ints("split", &[1, 2]), int("axis", 0)],
        )
        .node("Sub", &["b", "a"], "y", vec![]);
    check(&m);
    let m = Onnx::new(&[2, 6]).opset(18).node_n(
        "Split",
        &["x"],
        &["a", "b", "c"],
        vec![int("axis", 1), int("num_outputs", 3)],
    );
    let m = m.node("Add", &["a", "c"], "y", vec![]);
    check(&m);
}

#[test]
fn attention_masks_of_minus_infinity_or_huge_constants() {
    // Where(mask, -inf, x) and x + (-1e9) before a softmax: masked entries
    // get probability exactly 0 and cost no exp.
    let mask: Vec<f32> = (0..16)
        .map(|i| if i % 4 <= i / 4 { 1.0 } else { 0.0 })
        .collect();
    let m = Onnx::new(&[4, 4])
        .init("mask", &[4, 4], &mask)
        .init("zero", &[], &[0.0])
        .init("neg", &[], &[f32::NEG_INFINITY])
        .node("Equal", &["mask", "zero"], "hide", vec![])
        .node("Where", &["hide", "neg", "x"], "masked", vec![])
        .node("Softmax", &["masked"], "y", vec![int("axis", -1)]);
    let p = check(&m);
    let exps = p
        .neurons()
        .filter(|(_, n)| n.act == Activation::Lut(crate::model::LutFn::Exp))
        .count();
    // The 10 unmasked entries of the lower triangle, less the first row's
    // single entry, whose exp(x − max) is exp(0) = 1.
    assert_eq!(exps, 9);
    let bias: Vec<f32> = mask
        .iter()
        .map(|&v| if v == 1.0 { 0.0 } else { -1e9 })
        .collect();
    let m = Onnx::new(&[4, 4])
        .init("bias", &[4, 4], &bias)
        .node("Add", &["x", "bias"], "s", vec![])
        .node("Softmax", &["s"], "y", vec![int("axis", -1)]);
    check(&m);
    let m = Onnx::new(&[4, 4])
        .init("bias", &[4, 4], &bias)
        .node("Add", &["x", "bias"], "s", vec![])
        .node("LogSoftmax", &["s"], "l", vec![int("axis", -1)]);
    let m = m.node("Exp", &["l"], "y", vec![]);
    check(&m);
}

#[test]
fn instance_and_group_normalization() {
    let m = Onnx::new(&[1, 3, 2, 4])
        .init("s", &[3], &[1.0, 0.5, -2.0])
        .init("b", &[3], &[0.1, 0.0, -0.3])
        .node(
            "InstanceNormalization",
            &["x", "s", "b"],
            "y",
            vec![float("epsilon", 1e-3)],
        );
    check(&m);
    // Opset 21: per-channel scale and bias, 2 groups of 2 channels.
    let m = Onnx::new(&[2, 4, 3])
        .opset(21)
        .init("s", &[4], &[1.0, 0.5, -2.0, 1.5])
        .init("b", &[4], &[0.1, 0.0, -0.3, 0.2])
        .node(
            "GroupNormalization",
            &["x", "s", "b"],
            "y",
            vec![int("num_groups", 2), float("epsilon", 1e-3)],
        );
    check(&m);
}

#[test]
fn resize_nearest_and_linear() {
    // (tract, the reference here, has no cubic mode: the ONNX conformance
    // run checks it.)
    let attrs = |mode: &str, transform: &str| {
        vec![
            string("mode", mode),
            string("coordinate_transformation_mode", transform),
        ]
    };
    for (mode, transform) in [
        ("nearest", "asymmetric"),
        ("nearest", "half_pixel"),
        ("linear", "half_pixel"),
        ("linear", "align_corners"),
        ("linear", "pytorch_half_pixel"),
    ] {
        // Scales 2x and 1.5x on the spatial axes.
        let m = Onnx::new(&[1, 2, 3, 4])
            .init("scales", &[4], &[1.0, 1.0, 2.0, 1.5])
            .node("Resize", &["x", "", "scales"], "y", attrs(mode, transform));
        check(&m);
        // Sizes: a downscale, 3x4 to 2x3.
        let m = Onnx::new(&[1, 2, 3, 4])
            .init_i64("sizes", &[4], &[1, 2, 2, 3])
            .node(
                "Resize",
                &["x", "", "", "sizes"],
                "y",
                attrs(mode, transform),
            );
        check(&m);
    }
    // Upsample (opset 9; tract has no typed form of it): nearest by a
    // scales input, as Resize's asymmetric nearest.
    let dir = tempfile::tempdir().unwrap();
    let up = Onnx::new(&[1, 1, 2, 3])
        .opset(9)
        .init("scales", &[4], &[1.0, 1.0, 2.0, 2.0])
        .node(
            "Upsample",
            &["x", "scales"],
            "y",
            vec![string("mode", "nearest")],
        );
    let up = Model::load(&up.write(dir.path())).unwrap().program;
    let reference = check(
        &Onnx::new(&[1, 1, 2, 3])
            .init("scales", &[4], &[1.0, 1.0, 2.0, 2.0])
            .node(
                "Resize",
                &["x", "", "scales"],
                "y",
                attrs("nearest", "asymmetric"),
            ),
    );
    let x = sample(6, 3);
    let (a, b) = (up.eval_f64(&x), reference.eval_f64(&x));
    assert_eq!(
        up.outputs.iter().map(|&o| a[o]).collect::<Vec<_>>(),
        reference.outputs.iter().map(|&o| b[o]).collect::<Vec<_>>()
    );
}

fn strings(name: &str, v: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Strings as i32,
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

/// A recurrent op over x [seq 3, batch 2, input 3], hidden 4, weights
/// scaled to keep gates off saturation; `y` is output `out` (0: Y,
/// 1: Y_h, 2: Y_c).
fn recurrent(
    op: &str,
    gates: i64,
    direction: &str,
    out: usize,
    extra: Vec<AttributeProto>,
    with_init: bool,
) -> Onnx {
    let dirs = if direction == "bidirectional" { 2 } else { 1 };
    let scaled = |dims: &[i64], seed| {
        weights(dims, seed)
            .iter()
            .map(|v| v * 0.6)
            .collect::<Vec<f32>>()
    };
    let mut m = Onnx::new(&[3, 2, 3])
        .init(
            "W",
            &[dirs, gates * 4, 3],
            &scaled(&[dirs, gates * 4, 3], 21),
        )
        .init(
            "R",
            &[dirs, gates * 4, 4],
            &scaled(&[dirs, gates * 4, 4], 22),
        )
        .init(
            "B",
            &[dirs, 2 * gates * 4],
            &scaled(&[dirs, 2 * gates * 4], 23),
        );
    let mut ins = vec!["x", "W", "R", "B"];
    if with_init {
        m = m
            .init("h0", &[dirs, 2, 4], &scaled(&[dirs, 2, 4], 24))
            .init("c0", &[dirs, 2, 4], &scaled(&[dirs, 2, 4], 25));
        ins.extend(["", "h0"]);
        if op == "LSTM" {
            ins.push("c0");
        }
    }
    let outs = ["Y", "Y_h", "Y_c"];
    let count = if op == "LSTM" { 3 } else { 2 };
    let mut attrs = vec![int("hidden_size", 4), string("direction", direction)];
    attrs.extend(extra);
    m = m.node_n(op, &ins, &outs[..count], attrs);
    m.node("Identity", &[outs[out]], "y", vec![])
}

#[test]
fn lstm_gru_and_rnn_unrolled_like_tract() {
    // (tract runs direction = "reverse" forwards; the test below checks
    // it against the forward op on the time-reversed input.)
    for direction in ["forward", "bidirectional"] {
        for out in 0..3 {
            check(&recurrent("LSTM", 4, direction, out, vec![], out == 2));
        }
        for out in 0..2 {
            check(&recurrent("GRU", 3, direction, out, vec![], out == 1));
            check(&recurrent("RNN", 1, direction, out, vec![], out == 1));
        }
    }
    check(&recurrent(
        "GRU",
        3,
        "forward",
        0,
        vec![int("linear_before_reset", 1)],
        true,
    ));
    // Other activations: tract reads none but the defaults, so ours are
    // checked against the float program (and by the conformance run).
    let dir = tempfile::tempdir().unwrap();
    let relu = Model::load(
        &recurrent(
            "RNN",
            1,
            "forward",
            1,
            vec![strings("activations", &["Relu"])],
            false,
        )
        .write(dir.path()),
    )
    .unwrap()
    .program;
    assert!(relu.neurons().any(|(_, n)| n.act == Activation::Relu));
}

#[test]
fn reverse_recurrence_is_forward_on_the_reversed_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let load = |m: Onnx, name: &str| {
        Model::load(&m.write(&dir.path().join(name).tap_dir()))
            .unwrap()
            .program
    };
    for (op, gates) in [("LSTM", 4), ("GRU", 3), ("RNN", 1)] {
        let fwd = load(recurrent(op, gates, "forward", 0, vec![], false), "f");
        let rev = load(recurrent(op, gates, "reverse", 0, vec![], false), "r");
        let x = sample(18, 5);
        // x is [3 steps, 2, 3]: reverse the steps.
        let x_rev: Vec<f64> = (0..3)
            .rev()
            .flat_map(|t| x[t * 6..t * 6 + 6].to_vec())
            .collect();
        let (a, b) = (rev.eval_f64(&x), fwd.eval_f64(&x_rev));
        let ya: Vec<f64> = rev.outputs.iter().map(|&o| a[o]).collect();
        let yb: Vec<f64> = fwd.outputs.iter().map(|&o| b[o]).collect();
        // Y is [3 steps, 1, 2, 4]: the forward run's steps, reversed.
        let yb_rev: Vec<f64> = (0..3)
            .rev()
            .flat_map(|t| yb[t * 8..t * 8 + 8].to_vec())
            .collect();
        for (p, q) in ya.iter().zip(&yb_rev) {
            assert!((p - q).abs() < 1e-12, "{op}: {p} vs {q}");
        }
    }
}

trait TapDir {
    fn tap_dir(&self) -> std::path::PathBuf;
}

impl TapDir for std::path::PathBuf {
    /// The folder, created.
    fn tap_dir(&self) -> std::path::PathBuf {
        std::fs::create_dir_all(self).unwrap();
        self.clone()
    }
}

/// Positive class weights in [0.1, 1).
fn class_weights(n: usize) -> Vec<f32> {
    weights(&[n as i64], 11)
        .iter()
        .map(|w| 0.55 + 0.45 * w)
        .collect()
}

#[test]
fn a_weighted_mean_of_many_losses_keeps_its_precision() {
    // The mean of 1,800 weighted losses: one sum would set the activation
    // range by the whole total and fold 1/Σw into every weight; the tree
    // of partial sums keeps every value near one term's size and every
    // weight as given.
    // (tract has no NegativeLogLikelihoodLoss: the reference is computed
    // here.)
    let targets: Vec<i64> = (0..1800).map(|i| (i * 7 % 5) as i64).collect();
    let w = class_weights(5);
    let m = Onnx::new(&[2, 5, 30, 30])
        .init_i64("t", &[2, 30, 30], &targets)
        .init("w", &[5], &w)
        .node("NegativeLogLikelihoodLoss", &["x", "t", "w"], "y", vec![]);
    let dir = tempfile::tempdir().unwrap();
    let p = Model::load(&m.write(dir.path())).unwrap().program;
    // Log-probabilities: all negative, so the losses add up.
    let x: Vec<f64> = sample(p.num_inputs, 5).iter().map(|v| v - 2.0).collect();
    let (mut loss, mut total) = (0.0, 0.0);
    for (j, &t) in targets.iter().enumerate() {
        let (b, d) = (j / 900, j % 900);
        let wt = w[t as usize] as f64;
        loss -= wt * x[(b * 5 + t as usize) * 900 + d];
        total += wt;
    }
    let expected = loss / total;
    let ours = p.eval_f64(&x)[p.outputs[0]];
    assert!((ours - expected).abs() < 1e-9, "{ours} vs {expected}");
    let crate::compile::Quantized {
        quant: q,
        program: qp,
        ..
    } = crate::compile::calibrate_quant(&p, &[x.clone()], &Default::default()).unwrap();
    let xq: Vec<i64> = x.iter().map(|&v| q.quantize_input(v)).collect();
    let vals = crate::quant::forward(&qp, &q, &xq).unwrap();
    let proved = q.dequantize(vals[qp.outputs[0]]);
    // One sum scaled by 1/Σw would need 13 weight bits and still miss by
    // 0.002; the tree holds 0.001 at the default 10.
    assert!(
        (proved - expected).abs() < 0.001,
        "{proved} vs {expected} at {q:?}"
    );
    assert_eq!(q.weight_bits, crate::quant::DEFAULT_WEIGHT_BITS);
}

#[test]
fn a_large_weighted_sum_divided_by_a_constant_gets_more_weight_bits() {
    // Σ w·x over 600 terms, then / Σ w (a constant): the division folds
    // 1/Σw ≈ 1/330 into every weight, which 2^-10 rounds by tens of
    // percent; calibration adds weight bits until the output is accurate
    // (check() holds it to 2% of the output).
    let w = class_weights(600);
    let total: f32 = w.iter().sum();
    let m = Onnx::new(&[1, 600])
        .init("w", &[600], &w)
        .init("total", &[], &[total])
        .node("Mul", &["x", "w"], "wx", vec![])
        .node("ReduceSum", &["wx"], "s", vec![int("keepdims", 0)])
        .node("Div", &["s", "total"], "y", vec![]);
    let p = check_on(&m, Some(sample(600, 3).iter().map(|v| v + 0.5).collect()));
    let q = crate::compile::calibrate_quant(
        &p,
        &[sample(600, 3).iter().map(|v| v + 0.5).collect()],
        &Default::default(),
    )
    .unwrap()
    .quant;
    assert!(q.weight_bits > crate::quant::DEFAULT_WEIGHT_BITS, "{q:?}");
}

#[test]
fn lp_pool_of_p4_takes_exact_roots() {
    // x⁴ by products and the fourth root as two exact square roots: no
    // table, so the wide range of x⁴ costs no precision. (tract has no
    // LpPool: the reference is computed here.)
    let m = Onnx::new(&[1, 2, 4, 4]).node(
        "LpPool",
        &["x"],
        "y",
        vec![ints("kernel_shape", &[2, 2]), int("p", 4)],
    );
    let dir = tempfile::tempdir().unwrap();
    let p = Model::load(&m.write(dir.path())).unwrap().program;
    assert!(p.lut_fns().is_empty(), "{:?}", p.lut_fns());
    let x: Vec<f64> = sample(32, 9).iter().map(|v| 3.0 * v).collect();
    let mut expected = Vec::new();
    for c in 0..2 {
        for (i, j) in (0..3).flat_map(|i| (0..3).map(move |j| (i, j))) {
            let s: f64 = [(0, 0), (0, 1), (1, 0), (1, 1)]
                .iter()
                .map(|(di, dj)| x[c * 16 + (i + di) * 4 + j + dj].powi(4))
                .sum();
            expected.push(s.powf(0.25));
        }
    }
    let crate::compile::Quantized {
        quant: q,
        program: qp,
        ..
    } = crate::compile::calibrate_quant(&p, &[x.clone()], &Default::default()).unwrap();
    let xq: Vec<i64> = x.iter().map(|&v| q.quantize_input(v)).collect();
    let vals = crate::quant::forward(&qp, &q, &xq).unwrap();
    for (&o, e) in qp.outputs.iter().zip(&expected) {
        let proved = q.dequantize(vals[o]);
        // Two roots, each rounded down by under one step.
        assert!((proved - e).abs() < 0.01, "{proved} vs {e} at {q:?}");
    }
}

#[test]
fn casts_to_integers_truncate_and_to_bool_test_nonzero() {
    // Against tract: float → int32 truncates toward zero, float → bool is
    // x ≠ 0.
    let x = vec![2.7, -2.7, 0.5, -0.5, 3.0, 0.0];
    let m = Onnx::new(&[1, 6])
        .init("k", &[], &[1.0])
        .node("Mul", &["x", "k"], "s", vec![])
        .node("Cast", &["s"], "y", vec![int("to", 6)]);
    check_on(&m, Some(x.clone()));
    let m = Onnx::new(&[1, 6]).node("Cast", &["x"], "y", vec![int("to", 9)]);
    check_on(&m, Some(x));
}

#[test]
fn integer_inputs_must_be_whole() {
    let m = Onnx::new(&[1, 3])
        .input_type(7)
        .init_i64("two", &[], &[2])
        .node("Div", &["x", "two"], "y", vec![]);
    let p = check_on(&m, Some(vec![5.0, -5.0, 4.0]));
    let crate::compile::Quantized {
        quant: q,
        program: qp,
        ..
    } = crate::compile::calibrate_quant(&p, &[vec![5.0, -5.0, 4.0]], &Default::default()).unwrap();
    let half = q.quantize_input(0.5);
    let err = crate::quant::forward(&qp, &q, &[q.quantize_input(5.0) + half, 0, 0])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("whole number") && err.contains("input 'x'"),
        "{err}"
    );
}

#[test]
fn boolean_inputs_are_read_as_nonzero() {
    // Not(x) for a bool input: 0 and 1 as tract gives them; a value a
    // prover might put in the input cell (0.5, −2) reads as true, as a
    // cast to bool would, never as a fraction.
    let m = Onnx::new(&[1, 4])
        .input_type(9)
        .node("Not", &["x"], "y", vec![]);
    let p = check_on(&m, Some(vec![0.0, 1.0, 1.0, 0.0]));
    let vals = p.eval_f64(&[0.5, -2.0, 0.0, 1.0]);
    let outs: Vec<f64> = p.outputs.iter().map(|&o| vals[o]).collect();
    assert_eq!(outs, vec![0.0, 0.0, 1.0, 0.0]);
}
