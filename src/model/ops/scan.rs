//! `Scan`: a loop over slices of its scan inputs, unrolled. The body graph
//! is lowered once per step with the same op table, its state carried from
//! step to step and its scan outputs stacked. scikit-learn's k-nearest
//! neighbours export (skl2onnx) computes its distances to the training set
//! this way. The step count is a constant dim, so the circuit is fixed.

use super::*;

/// Steps past which an unrolled scan is refused (each step is a copy of
/// the body in the circuit).
const MAX_STEPS: usize = 4096;

pub(super) fn scan(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let body = n
        .attr("body")
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| n.err("Scan needs a body graph"))?;
    let scans = n.attr_int("num_scan_inputs", 0).max(0) as usize;
    // Opset 8 leads with an optional sequence_lens and gives every tensor a
    // batch dim, each batch entry scanned on its own.
    let batched = l.opset < 9;
    let skip = usize::from(batched);
    let inputs: Vec<Sym> = n.inputs[skip.min(n.inputs.len())..]
        .iter()
        .map(|s| s.clone().ok_or_else(|| n.err("a Scan input is missing")))
        .collect::<Result<_, _>>()?;
    if scans == 0 || scans > inputs.len() || body.input.len() != inputs.len() {
        return Err(n.err(format!(
            "{} inputs, {scans} of them scanned, for a body of {} inputs",
            inputs.len(),
            body.input.len()
        )));
    }
    let states = inputs.len() - scans;
    let outputs = body.output.len() - states;
    let dirs = |name: &str, len: usize| match n.attr_ints(name) {
        Some(v) if v.len() == len => v,
        _ => vec![0; len],
    };
    let plan = Plan {
        body,
        states,
        axes: if batched {
            vec![0; scans]
        } else {
            dirs("scan_input_axes", scans)
        },
        reverse: dirs(
            if batched {
                "directions"
            } else {
                "scan_input_directions"
            },
            scans,
        ),
        out_reverse: if batched {
            vec![0; outputs]
        } else {
            dirs("scan_output_directions", outputs)
        },
    };
    if !batched {
        if dirs("scan_output_axes", outputs).iter().any(|&a| a != 0) {
            return Err(n.err("scan outputs stacked along an axis other than 0"));
        }
        return run(l, n, &plan, inputs);
    }
    if let Some(Sym::Dyn(_)) = n.opt_input(0) {
        return Err(n.err("sequence_lens must be a constant"));
    }
    let batch = inputs[0].shape().first().copied().unwrap_or(0);
    if let Some(Sym::Const(lens)) = n.opt_input(0) {
        let full = inputs[states].shape().get(1).copied().unwrap_or(0);
        if lens.data.iter().any(|&v| v as usize != full) {
            return Err(n.err("sequence_lens shorter than the scan is not supported"));
        }
    }
    let mut per_batch: Vec<Vec<Sym>> = Vec::new();
    for b in 0..batch {
        let slice: Vec<Sym> = inputs.iter().map(|x| slice_at(x, 0, b)).collect();
        per_batch.push(run(l, n, &plan, slice)?);
    }
    Ok((0..states + outputs)
        .map(|o| {
            let parts: Vec<Sym> = per_batch.iter().map(|r| r[o].clone()).collect();
            stack(l, n, &parts)
        })
        .collect())
}

/// What one unrolled scan does: its body, how many inputs are state, and
/// per scan tensor its axis and direction.
struct Plan<'a> {
    body: &'a GraphProto,
    states: usize,
    axes: Vec<i64>,
    reverse: Vec<i64>,
    out_reverse: Vec<i64>,
}

/// The final states, then each scan output stacked along a new first dim.
fn run(
    l: &mut Lowering,
    n: &NodeCtx,
    plan: &Plan,
    inputs: Vec<Sym>,
) -> Result<Vec<Sym>, ModelError> {
    let (body, states) = (plan.body, plan.states);
    let axis_of = |sym: &Sym, a: i64| {
        let r = sym.shape().len() as i64;
        let a = if a < 0 { a + r } else { a };
        (0..r).contains(&a).then_some(a as usize)
    };
    let mut steps = None;
    for (m, x) in inputs[states..].iter().enumerate() {
        let a = axis_of(x, plan.axes[m]).ok_or_else(|| n.err("a scan axis is out of range"))?;
        let len = x.shape()[a];
        if *steps.get_or_insert(len) != len {
            return Err(n.err("scan inputs of different lengths"));
        }
    }
    let steps = steps.unwrap_or(0);
    if steps == 0 || steps > MAX_STEPS {
        return Err(n.err(format!(
            "a scan of {steps} steps (1 to {MAX_STEPS} are unrolled)"
        )));
    }
    let mut state: Vec<Sym> = inputs[..states].to_vec();
    let mut stacked: Vec<Vec<Sym>> = vec![Vec::new(); body.output.len() - states];
    for t in 0..steps {
        let mut env: HashMap<String, Sym> = HashMap::new();
        for init in &body.initializer {
            let c = super::super::onnx::const_from_proto(init).map_err(ModelError::Graph)?;
            env.insert(init.name.clone(), Sym::Const(c));
        }
        for (j, s) in state.iter().enumerate() {
            env.insert(body.input[j].name.clone(), s.clone());
        }
        for (m, x) in inputs[states..].iter().enumerate() {
            let a = axis_of(x, plan.axes[m]).expect("checked above");
            let at = if plan.reverse[m] != 0 {
                steps - 1 - t
            } else {
                t
            };
            env.insert(body.input[states + m].name.clone(), slice_at(x, a, at));
        }
        lower_body(l, n, body, &mut env)?;
        let out = |name: &str| {
            env.get(name)
                .cloned()
                .ok_or_else(|| n.err(format!("the body never produces '{name}'")))
        };
        state = body.output[..states]
            .iter()
            .map(|o| out(&o.name))
            .collect::<Result<_, _>>()?;
        for (m, o) in body.output[states..].iter().enumerate() {
            stacked[m].push(out(&o.name)?);
        }
        // A step's outputs live on (as the next state, in the stacked
        // outputs): no later step may rewrite their neurons in place.
        for sym in state.iter().chain(stacked.iter().flatten()) {
            pin(l, sym);
        }
    }
    let mut outs = state;
    for (m, mut parts) in stacked.into_iter().enumerate() {
        if plan.out_reverse[m] != 0 {
            parts.reverse();
        }
        outs.push(stack(l, n, &parts));
    }
    Ok(outs)
}

/// One pending read more on every value of `sym` that nothing releases.
fn pin(l: &mut Lowering, sym: &Sym) {
    if let Sym::Dyn(d) = sym {
        for &id in &d.ids {
            l.uses[id] += 1;
        }
    }
}

/// Index `at` of `axis`: the tensor without that dim.
fn slice_at(x: &Sym, axis: usize, at: usize) -> Sym {
    let s = x.shape().to_vec();
    let inner: usize = s[axis + 1..].iter().product();
    let mut shape = s[..axis].to_vec();
    shape.extend(&s[axis + 1..]);
    reindex(x, shape, |o| {
        let (outer, k) = (o / inner.max(1), o % inner.max(1));
        (outer * s[axis] + at) * inner + k
    })
}

/// Equal-shaped tensors stacked along a new first dim.
fn stack(l: &mut Lowering, n: &NodeCtx, parts: &[Sym]) -> Sym {
    let mut shape = vec![parts.len()];
    shape.extend(parts[0].shape());
    if parts.iter().all(|p| matches!(p, Sym::Const(_))) {
        let data = parts
            .iter()
            .flat_map(|p| match p {
                Sym::Const(c) => c.data.clone(),
                Sym::Dyn(_) => unreachable!("all constant"),
            })
            .collect();
        return Sym::Const(ConstTensor { shape, data });
    }
    let elems: Vec<Elem> = parts
        .iter()
        .flat_map(|p| (0..numel(p.shape())).map(move |i| elem(p, i)))
        .collect();
    l.tensor(n.index, shape, elems)
}

/// Lower the body's nodes in order into `env` (body tensors), reading
/// names it lacks from the enclosing graph. Every body node counts as
/// part of the Scan node (its neurons carry the Scan's node index).
fn lower_body(
    l: &mut Lowering,
    n: &NodeCtx,
    body: &GraphProto,
    env: &mut HashMap<String, Sym>,
) -> Result<(), ModelError> {
    // Pending reads of body tensors, so that in-place folding (which needs
    // a value's only reader) sees the body's readers too.
    for name in body
        .node
        .iter()
        .flat_map(|b| &b.input)
        .filter(|i| !i.is_empty())
    {
        *l.readers.entry(name.clone()).or_default() += 1;
    }
    // The body's own element types; a name it reads from the enclosing
    // graph keeps that graph's type, a name it defines never does.
    let mut body_types = crate::model::types::elem_types(body);
    let defined: std::collections::HashSet<&String> = body
        .input
        .iter()
        .map(|i| &i.name)
        .chain(body.node.iter().flat_map(|b| &b.output))
        .collect();
    for (name, &t) in &l.types {
        if !defined.contains(name) {
            body_types.entry(name.clone()).or_insert(t);
        }
    }
    let outer_types = std::mem::replace(&mut l.types, body_types);
    let lowered = lower_body_nodes(l, n, body, env);
    l.types = outer_types;
    lowered
}

/// Lower `body`'s nodes in order into `env` (see [`lower_body`]).
fn lower_body_nodes(
    l: &mut Lowering,
    n: &NodeCtx,
    body: &GraphProto,
    env: &mut HashMap<String, Sym>,
) -> Result<(), ModelError> {
    for node in &body.node {
        let lower = lookup(&node.op_type).ok_or_else(|| ModelError::UnsupportedOp {
            op: node.op_type.clone(),
            node: format!("{} (in the body of Scan '{}')", node.name, n.name()),
            supported: supported_ops().join(", "),
            hint: "export the model with these ops, or open an issue for this op".into(),
        })?;
        let inputs = node
            .input
            .iter()
            .map(|i| {
                if i.is_empty() {
                    return Ok(None);
                }
                env.get(i)
                    .or_else(|| n.scope.get(i))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| n.err(format!("the body reads '{i}', which nothing produces")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut named = node.clone();
        named.name = format!("{}/{}", n.name(), node.name);
        let ctx = NodeCtx {
            proto: &named,
            index: n.index,
            inputs,
            scope: n.scope,
        };
        let outs = lower.run(l, &ctx)?;
        l.consume(&ctx.inputs);
        for (name, out) in node.output.iter().zip(outs).filter(|(o, _)| !o.is_empty()) {
            l.produce(name, &out);
            env.insert(name.clone(), out);
        }
    }
    Ok(())
}
