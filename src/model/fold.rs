//! Constant folding by tract: every tensor of the graph that depends on no
//! input *value* (only on initializers, `Constant` nodes and input shapes) is
//! computed by tract before lowering, so shape arithmetic, masks built from
//! `Range`/`NonZero`/`Where`, casts and constant `Split`s never reach the op
//! table. Exporters emit many such chains (a causal mask, a reshape target
//! computed from `Shape`); tract knows every ONNX op they use.
//!
//! The folded nodes are the ones whose outputs are constant: `Shape` and
//! `Size` of anything, and any deterministic node whose inputs are all
//! constant. Tract runs the ancestors of the constant tensors that a
//! lowered node (or a graph output) reads, on zero-valued inputs of the
//! concrete shapes: a `Shape` needs its operand's shape, never its values.

use super::onnx::tensor_to_const;
use super::tensor::ConstTensor;
use super::GraphInput;
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, ValueInfoProto};
use tract_onnx::prelude::*;

/// What folding found: the constant tensors lowered nodes read, and the
/// nodes that need no lowering.
#[derive(Default)]
pub struct Folded {
    pub tensors: HashMap<String, ConstTensor>,
    pub nodes: HashSet<usize>,
}

/// Ops whose output depends on the operand's shape only.
const SHAPE_OPS: &[&str] = &["Shape", "Size"];
/// Ops never folded: random, or with subgraphs tract would have to run.
const NEVER: &[&str] = &[
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "Multinomial",
    "If",
    "Loop",
    "Scan",
];

/// Fold `proto`'s constant tensors. An error means tract could not compute
/// them; the caller then lowers every node itself.
pub fn fold(proto: &ModelProto, inputs: &[GraphInput]) -> TractResult<Folded> {
    let graph = proto.graph.as_ref().context("no graph")?;
    let constant = constant_nodes(graph);
    let mut is_const: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    for (i, node) in graph.node.iter().enumerate() {
        if constant.contains(&i) {
            is_const.extend(node.output.iter().map(String::as_str));
        }
    }
    // The folded tensors someone outside the folded part reads.
    let inits: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut targets: Vec<String> = Vec::new();
    let mut want = |name: &str| {
        if is_const.contains(name) && !inits.contains(name) && !targets.iter().any(|t| t == name) {
            targets.push(name.to_string());
        }
    };
    for (_, node) in graph
        .node
        .iter()
        .enumerate()
        .filter(|(i, _)| !constant.contains(i))
    {
        node.input.iter().for_each(|n| want(n));
    }
    graph.output.iter().for_each(|o| want(&o.name));
    if targets.is_empty() {
        return Ok(Folded {
            tensors: HashMap::new(),
            nodes: constant,
        });
    }
    let tensors = evaluate(proto, graph, inputs, &targets)?;
    Ok(Folded {
        tensors,
        nodes: constant,
    })
}

/// Indices of the nodes whose outputs are constant.
fn constant_nodes(graph: &GraphProto) -> HashSet<usize> {
    let mut known: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut nodes = HashSet::new();
    for (i, node) in graph.node.iter().enumerate() {
        let op = node.op_type.as_str();
        let inputs_const = node
            .input
            .iter()
            .filter(|n| !n.is_empty())
            .all(|n| known.contains(n.as_str()));
        let folds = !NEVER.contains(&op)
            && !has_subgraph(node)
            && (SHAPE_OPS.contains(&op) || inputs_const);
        if folds {
            nodes.insert(i);
            known.extend(node.output.iter().map(String::as_str));
        }
    }
    nodes
}

fn has_subgraph(node: &NodeProto) -> bool {
    node.attribute
        .iter()
        .any(|a| a.g.is_some() || !a.graphs.is_empty())
}

/// Run the ancestors of `targets` with tract on zero inputs.
fn evaluate(
    proto: &ModelProto,
    graph: &GraphProto,
    inputs: &[GraphInput],
    targets: &[String],
) -> TractResult<HashMap<String, ConstTensor>> {
    // Keep the nodes the targets need, in graph order.
    let mut needed: HashSet<&str> = targets.iter().map(String::as_str).collect();
    let mut keep = vec![false; graph.node.len()];
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o.as_str())) {
            keep[i] = true;
            needed.extend(
                node.input
                    .iter()
                    .filter(|n| !n.is_empty())
                    .map(String::as_str),
            );
        }
    }
    let used_inputs: Vec<&GraphInput> = inputs
        .iter()
        .filter(|i| needed.contains(i.name.as_str()))
        .collect();
    let mut sub = proto.clone();
    let g = sub.graph.as_mut().context("no graph")?;
    g.node = graph
        .node
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(n, _)| n.clone())
        .collect();
    g.input
        .retain(|vi| used_inputs.iter().any(|u| u.name == vi.name));
    g.output = targets
        .iter()
        .map(|t| ValueInfoProto {
            name: t.clone(),
            ..Default::default()
        })
        .collect();
    g.value_info.clear();

    let onnx = tract_onnx::onnx()
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true);
    let mut model = onnx.model_for_proto_model(&sub)?;
    let mut feed = TVec::new();
    for (i, input) in used_inputs.iter().enumerate() {
        let dt = super::onnx::datum_type(input.elem_type).map_err(|e| anyhow::anyhow!(e))?;
        model = model.with_input_fact(i, InferenceFact::dt_shape(dt, &input.shape))?;
        feed.push(Tensor::zero_dt(dt, &input.shape)?.into_tvalue());
    }
    let plan = model.into_typed()?.into_runnable()?;
    let outputs = plan.run(feed)?;
    targets
        .iter()
        .zip(outputs.iter())
        .map(|(name, t)| {
            Ok((
                name.clone(),
                tensor_to_const(t).with_context(|| format!("folded tensor '{name}'"))?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::model::ops::tests::{check, int, Onnx};

    /// A causal-mask-like chain the op table has no entry for (`Range`,
    /// `NonZero`, `Mod` over `Shape`) folds away; only the dynamic `Add`
    /// is lowered, and the result matches tract.
    #[test]
    fn shape_range_and_nonzero_chains_fold_away() {
        let m = Onnx::new(&[2, 5])
            .init_i64("one", &[1], &[1])
            .init_i64("zero", &[], &[0])
            .init_i64("step", &[], &[1])
            .init_i64("three", &[], &[3])
            .node("Shape", &["x"], "shape", vec![])
            .node("Gather", &["shape", "one"], "n1", vec![int("axis", 0)])
            .node("Squeeze", &["n1"], "n", vec![])
            .node("Range", &["zero", "n", "step"], "r", vec![])
            .node("Mod", &["r", "three"], "m", vec![])
            .node("NonZero", &["m"], "nz", vec![])
            .node("ReduceSum", &["nz"], "count", vec![int("keepdims", 0)])
            .node("Add", &["m", "count"], "mc", vec![])
            .node("Cast", &["mc"], "mf", vec![int("to", 1)])
            .node("Add", &["x", "mf"], "y", vec![]);
        let p = check(&m);
        // 2×5 outputs, each one neuron over its input: nothing else lowered.
        assert_eq!(p.num_neurons(), 10);
    }
}
