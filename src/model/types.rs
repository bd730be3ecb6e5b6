//! Element types of a graph's tensors, as far as lowering needs them.
//!
//! The program computes on fixed-point values whatever the ONNX type, but
//! a few ops mean something else on integers: `Div` truncates. So each
//! tensor's element type is read from the graph's declarations (inputs,
//! outputs, `value_info`, initializers) and, where a node output is not
//! declared, inferred by the ONNX typing rules of the ops that change a
//! type. Any other op's output has its first input's type (for the ops we
//! lower, the data operand). A tensor with no known type is treated as
//! float: integer semantics are applied only where the type is certain.

use std::collections::HashMap;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, NodeProto, TypeProto, ValueInfoProto};

/// The ONNX element type of booleans.
pub const BOOL: i32 = DataType::Bool as i32;

/// Ops whose outputs are boolean.
const BOOL_OPS: &[&str] = &[
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Not",
    "IsNaN",
    "IsInf",
];
/// Ops whose first output is an int64 index or shape.
const INDEX_OPS: &[&str] = &["ArgMax", "ArgMin", "Shape", "Size", "NonZero"];

/// The element type (an ONNX `DataType` number) of every tensor of `graph`
/// whose type is declared or follows from its producer.
pub fn elem_types(graph: &GraphProto) -> HashMap<String, i32> {
    let mut types: HashMap<String, i32> = HashMap::new();
    for init in &graph.initializer {
        types.insert(init.name.clone(), init.data_type);
    }
    let declared = graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info);
    for vi in declared {
        if let Some(t) = declared_type(vi) {
            types.insert(vi.name.clone(), t);
        }
    }
    for node in &graph.node {
        for (i, out) in node.output.iter().enumerate() {
            if out.is_empty() || types.contains_key(out) {
                continue;
            }
            if let Some(t) = output_type(node, i, &types) {
                types.insert(out.clone(), t);
            }
        }
    }
    types
}

/// Whether `t` is an integer type (bool excluded).
pub fn is_integer(t: i32) -> bool {
    use DataType::*;
    matches!(
        DataType::try_from(t),
        Ok(Int8 | Uint8 | Int16 | Uint16 | Int32 | Uint32 | Int64 | Uint64)
    )
}

/// Whether `t` is an unsigned integer type.
pub fn is_unsigned(t: i32) -> bool {
    use DataType::*;
    matches!(DataType::try_from(t), Ok(Uint8 | Uint16 | Uint32 | Uint64))
}

fn declared_type(vi: &ValueInfoProto) -> Option<i32> {
    match vi.r#type.as_ref()? {
        TypeProto {
            value: Some(tract_onnx::pb::type_proto::Value::TensorType(t)),
            ..
        } if t.elem_type != 0 => Some(t.elem_type),
        _ => None,
    }
}

/// The type of output `i` of `node`, from the op's typing rule.
fn output_type(node: &NodeProto, i: usize, types: &HashMap<String, i32>) -> Option<i32> {
    let op = node.op_type.as_str();
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let input_type = |k: usize| node.input.get(k).and_then(|n| types.get(n)).copied();
    match op {
        "Cast" => attr("to").map(|a| a.i as i32),
        "CastLike" => input_type(1),
        _ if BOOL_OPS.contains(&op) => Some(DataType::Bool as i32),
        _ if INDEX_OPS.contains(&op) => Some(DataType::Int64 as i32),
        "TopK" if i == 1 => Some(DataType::Int64 as i32),
        "MaxPool" if i == 1 => Some(DataType::Int64 as i32),
        "OneHot" => input_type(2),
        "EyeLike" => attr("dtype").map(|a| a.i as i32).or_else(|| input_type(0)),
        "DequantizeLinear" => input_type(1),
        "QuantizeLinear" => input_type(2).or(Some(DataType::Uint8 as i32)),
        "MatMulInteger" | "ConvInteger" => Some(DataType::Int32 as i32),
        // Subgraph ops: their outputs' types are the body's, not guessed.
        "Scan" | "Loop" | "If" => None,
        "Constant" => attr("value")
            .and_then(|a| a.t.as_ref())
            .map(|t| t.data_type)
            .or_else(|| {
                attr("value_int")
                    .or_else(|| attr("value_ints"))
                    .map(|_| DataType::Int64 as i32)
            })
            .or(Some(DataType::Float as i32)),
        "ConstantOfShape" => Some(
            attr("value")
                .and_then(|a| a.t.as_ref())
                .map_or(DataType::Float as i32, |t| t.data_type),
        ),
        // The selected values' type, not the condition's.
        "Where" => input_type(1),
        // ai.onnx.ml ops and others with their own output types are not
        // guessed: unknown reads as float.
        _ if !node.domain.is_empty() && node.domain != "ai.onnx" => None,
        _ => input_type(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::tests::{int, Onnx};

    #[test]
    fn casts_comparisons_and_pass_through_ops_are_typed() {
        let m = Onnx::new(&[1, 4])
            .node(
                "Cast",
                &["x"],
                "xi",
                vec![int("to", DataType::Int32 as i64)],
            )
            .node("Relu", &["xi"], "r", vec![])
            .node("Less", &["x", "x"], "b", vec![])
            .node("Add", &["x", "x"], "y", vec![]);
        let proto = m.proto();
        let types = elem_types(proto.graph.as_ref().unwrap());
        assert_eq!(types["xi"], DataType::Int32 as i32);
        assert_eq!(types["r"], DataType::Int32 as i32);
        assert_eq!(types["b"], DataType::Bool as i32);
        assert_eq!(types["y"], DataType::Float as i32);
        assert!(is_integer(types["r"]) && !is_unsigned(types["r"]));
        assert!(!is_integer(types["b"]));
    }

    #[test]
    fn an_untyped_data_operand_stays_unknown() {
        // An untyped input reshaped by an int64 shape: the output has the
        // data's (unknown) type, never the shape's int64.
        let m = Onnx::new(&[1, 4])
            .input_type(0)
            .init_i64("shape", &[2], &[2, 2])
            .node("Reshape", &["x", "shape"], "y", vec![]);
        let types = elem_types(m.proto().graph.as_ref().unwrap());
        assert!(!types.contains_key("y"), "{types:?}");
    }
}
