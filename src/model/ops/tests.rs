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
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
}

pub fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() }
}

pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

pub fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Float as i32, f, ..Default::default() }
}

pub fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::String as i32, s: s.as_bytes().to_vec(), ..Default::default() }
}

fn tensor_type(dims: &[i64]) -> TypeProto {
    TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: 1,
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
        Onnx { opset: 13, input: input.to_vec(), nodes: vec![], inits: vec![] }
    }

    pub fn opset(mut self, v: i64) -> Onnx {
        self.opset = v;
        self
    }

    pub fn node(mut self, op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> Onnx {
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

    pub fn init(mut self, name: &str, dims: &[i64], data: &[f32]) -> Onnx {
        assert_eq!(dims.iter().product::<i64>() as usize, data.len(), "initializer {name}");
        self.inits.push(TensorProto { name: name.into(), dims: dims.to_vec(), data_type: 1, float_data: data.to_vec(), ..Default::default() });
        self
    }

    pub fn init_i64(mut self, name: &str, dims: &[i64], data: &[i64]) -> Onnx {
        self.inits.push(TensorProto { name: name.into(), dims: dims.to_vec(), data_type: 7, int64_data: data.to_vec(), ..Default::default() });
        self
    }

    pub fn write(&self, dir: &std::path::Path) -> PathBuf {
        let inputs = vec![ValueInfoProto { name: "x".into(), r#type: Some(tensor_type(&self.input)), ..Default::default() }];
        let model = ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: self.opset }],
            graph: Some(GraphProto {
                name: "g".into(),
                node: self.nodes.clone(),
                initializer: self.inits.clone(),
                input: inputs,
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let path = dir.join("model.onnx");
        std::fs::write(&path, model.encode_to_vec()).unwrap();
        path
    }
}

/// Deterministic values in [-1, 1).
pub fn sample(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
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
    assert_eq!(ours.len(), tract.len(), "output length: ours {:?}, tract {}", p.output_shape, tract.len());
    let scale = tract.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in ours.iter().zip(&tract).enumerate() {
        assert!((a - b).abs() <= 1e-4 * scale, "output #{i}: ours {a}, tract {b}\nours  {ours:?}\ntract {tract:?}");
    }
    m.program
}

pub fn relus(p: &Program<f64>) -> usize {
    p.neurons().filter(|(_, n)| n.act == Activation::Relu).count()
}

pub fn weights(dims: &[i64], seed: u64) -> Vec<f32> {
    sample(dims.iter().product::<i64>() as usize, seed).iter().map(|&v| v as f32).collect()
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
