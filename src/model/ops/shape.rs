//! Ops that only re-index values: reshapes, transposes, slices, tiles,
//! concatenation. They create no neurons (except constants that must sit
//! beside dynamic values, see [`super::materialize`]).

use super::*;

/// Re-index the elements of a tensor: constants and dynamic tensors alike.
pub(super) fn reindex(sym: &Sym, shape: Vec<usize>, src: impl Fn(usize) -> usize) -> Sym {
    let len = numel(&shape);
    match sym {
        Sym::Const(c) => Sym::Const(ConstTensor {
            data: (0..len).map(|i| c.data[src(i)]).collect(),
            shape,
        }),
        Sym::Dyn(d) => Sym::Dyn(DynTensor {
            ids: (0..len).map(|i| d.ids[src(i)]).collect(),
            shape,
        }),
    }
}

pub(super) fn with_shape(sym: &Sym, shape: Vec<usize>) -> Sym {
    reindex(sym, shape, |i| i)
}

pub(super) fn reshape(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let target = n.constant(1, "Reshape's shape")?;
    let in_shape = x.shape();
    let mut shape: Vec<i64> = target.data.iter().map(|&v| v as i64).collect();
    for (i, d) in shape.iter_mut().enumerate() {
        if *d == 0 {
            *d = *in_shape
                .get(i)
                .ok_or_else(|| n.err("shape entry 0 refers past the input rank"))?
                as i64;
        }
    }
    let known: i64 = shape.iter().filter(|&&d| d != -1).product();
    let total = numel(in_shape) as i64;
    if shape.iter().filter(|&&d| d == -1).count() > 1 {
        return Err(n.err("more than one -1 in shape"));
    }
    let shape: Vec<usize> = shape
        .iter()
        .map(|&d| {
            if d == -1 {
                (total / known.max(1)) as usize
            } else {
                d as usize
            }
        })
        .collect();
    if numel(&shape) != numel(in_shape) {
        return Err(n.err(format!("cannot reshape {in_shape:?} to {shape:?}")));
    }
    Ok(with_shape(x, shape))
}

pub(super) fn flatten(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let rank = x.shape().len() as i64;
    let mut axis = n.attr_int("axis", 1);
    if axis < 0 {
        axis += rank;
    }
    let axis = axis.clamp(0, rank) as usize;
    let outer: usize = x.shape()[..axis].iter().product();
    let inner: usize = x.shape()[axis..].iter().product();
    Ok(with_shape(x, vec![outer, inner]))
}

pub(super) fn axes_of(n: &NodeCtx, rank: usize) -> Result<Vec<usize>, ModelError> {
    // Opset < 13 passes axes as an attribute, later ones as input #1.
    let raw: Vec<i64> = match (n.attr_ints("axes"), n.opt_input(1)) {
        (Some(a), _) => a,
        (None, Some(Sym::Const(c))) => c.data.iter().map(|&v| v as i64).collect(),
        (None, Some(Sym::Dyn(_))) => return Err(n.err("axes must be a constant")),
        (None, None) => vec![],
    };
    Ok(raw
        .iter()
        .map(|&a| {
            if a < 0 {
                (a + rank as i64) as usize
            } else {
                a as usize
            }
        })
        .collect())
}

pub(super) fn squeeze(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let axes = axes_of(n, x.shape().len())?;
    let shape: Vec<usize> = x
        .shape()
        .iter()
        .enumerate()
        .filter(|(i, &d)| {
            !(if axes.is_empty() {
                d == 1
            } else {
                axes.contains(i)
            })
        })
        .map(|(_, &d)| d)
        .collect();
    Ok(with_shape(x, shape))
}

pub(super) fn unsqueeze(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let rank = x.shape().len() + axes_of(n, 0)?.len();
    let axes = axes_of(n, rank)?;
    let mut dims = x.shape().iter();
    let shape: Vec<usize> = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                *dims.next().unwrap_or(&1)
            }
        })
        .collect();
    Ok(with_shape(x, shape))
}

pub(super) fn transpose(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let rank = x.shape().len();
    let perm: Vec<usize> = match n.attr_ints("perm") {
        Some(p) => p.iter().map(|&v| v as usize).collect(),
        None => (0..rank).rev().collect(),
    };
    if perm.len() != rank || (0..rank).any(|i| !perm.contains(&i)) {
        return Err(n.err(format!("perm {perm:?} is not a permutation of rank {rank}")));
    }
    let src = transpose_indices(x.shape(), &perm);
    let shape = perm.iter().map(|&p| x.shape()[p]).collect();
    Ok(reindex(x, shape, |i| src[i]))
}

/// Numpy-style broadcast of the input to `shape` (ONNX Expand).
pub(super) fn expand(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let target: Vec<usize> = const_ints(n.constant(1, "Expand's shape")?)
        .iter()
        .map(|&d| d.max(0) as usize)
        .collect();
    let shape = broadcast_shape(x.shape(), &target)
        .ok_or_else(|| n.err(format!("cannot expand {:?} to {target:?}", x.shape())))?;
    let src = broadcast_indices(x.shape(), &shape);
    Ok(reindex(x, shape, |i| src[i]))
}

pub(super) fn tile(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let reps = const_ints(n.constant(1, "Tile's repeats")?);
    let in_shape = x.shape().to_vec();
    if reps.len() != in_shape.len() || reps.iter().any(|&r| r < 0) {
        return Err(n.err(format!(
            "repeats {reps:?} do not fit input rank {}",
            in_shape.len()
        )));
    }
    let shape: Vec<usize> = in_shape
        .iter()
        .zip(&reps)
        .map(|(&d, &r)| d * r as usize)
        .collect();
    let (out_strides, in_strides) = (strides(&shape), strides(&in_shape));
    Ok(reindex(x, shape.clone(), |i| {
        (0..shape.len())
            .map(|d| ((i / out_strides[d]) % shape[d] % in_shape[d]) * in_strides[d])
            .sum()
    }))
}

pub(super) fn concat(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let inputs: Vec<Sym> = (0..n.inputs.len())
        .map(|i| n.input(i).cloned())
        .collect::<Result<_, _>>()?;
    let rank = inputs[0].shape().len() as i64;
    let mut axis = n.attr_int("axis", 0);
    if axis < 0 {
        axis += rank;
    }
    let axis = axis as usize;
    for s in &inputs {
        let (a, b) = (s.shape(), inputs[0].shape());
        if a.len() != b.len() || (0..a.len()).any(|d| d != axis && a[d] != b[d]) {
            return Err(n.err(format!(
                "shapes {:?} and {:?} cannot be concatenated on axis {axis}",
                b, a
            )));
        }
    }
    let all_const = inputs.iter().all(|s| matches!(s, Sym::Const(_)));
    let mut shape = inputs[0].shape().to_vec();
    shape[axis] = inputs.iter().map(|s| s.shape()[axis]).sum();
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    // Walk the output in order: for each outer index, each input's block.
    let mut out_f = Vec::new();
    let mut out_ids = Vec::new();
    let dyns: Vec<Option<DynTensor>> = inputs
        .iter()
        .map(|s| {
            if all_const {
                None
            } else {
                Some(materialize(l, n, s))
            }
        })
        .collect();
    for o in 0..outer {
        for (s, d) in inputs.iter().zip(&dyns) {
            let block = s.shape()[axis] * inner;
            let range = o * block..(o + 1) * block;
            match (s, d) {
                (Sym::Const(c), None) => out_f.extend_from_slice(&c.data[range]),
                (_, Some(d)) => out_ids.extend_from_slice(&d.ids[range]),
                (Sym::Dyn(_), None) => unreachable!("dynamic inputs are materialized"),
            }
        }
    }
    Ok(if all_const {
        Sym::Const(ConstTensor { shape, data: out_f })
    } else {
        Sym::Dyn(DynTensor {
            shape,
            ids: out_ids,
        })
    })
}

pub(super) fn slice(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let in_shape = x.shape().to_vec();
    let rank = in_shape.len();
    let (starts, ends) = (
        const_ints(n.constant(1, "Slice's starts")?),
        const_ints(n.constant(2, "Slice's ends")?),
    );
    let axes: Vec<usize> = match n.opt_input(3) {
        Some(Sym::Const(c)) => const_ints(c)
            .iter()
            .map(|&a| {
                if a < 0 {
                    (a + rank as i64) as usize
                } else {
                    a as usize
                }
            })
            .collect(),
        Some(Sym::Dyn(_)) => return Err(n.err("axes must be a constant")),
        None => (0..starts.len()).collect(),
    };
    let steps: Vec<i64> = match n.opt_input(4) {
        Some(Sym::Const(c)) => const_ints(c),
        Some(Sym::Dyn(_)) => return Err(n.err("steps must be a constant")),
        None => vec![1; starts.len()],
    };
    // Per axis: the source coordinates kept, in output order.
    let mut keep: Vec<Vec<usize>> = in_shape.iter().map(|&d| (0..d).collect()).collect();
    for (i, &ax) in axes.iter().enumerate() {
        let d = in_shape
            .get(ax)
            .copied()
            .ok_or_else(|| n.err(format!("axis {ax} out of range")))? as i64;
        let step = steps[i];
        if step == 0 {
            return Err(n.err("step 0"));
        }
        let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
        let norm = |v: i64| if v < 0 { v + d } else { v };
        let (mut cur, end) = if step > 0 {
            (clamp(norm(starts[i]), 0, d), clamp(norm(ends[i]), 0, d))
        } else {
            (
                clamp(norm(starts[i]), -1, d - 1),
                clamp(norm(ends[i]), -1, d - 1),
            )
        };
        let mut v = Vec::new();
        while (step > 0 && cur < end) || (step < 0 && cur > end) {
            v.push(cur as usize);
            cur += step;
        }
        keep[ax] = v;
    }
    let shape: Vec<usize> = keep.iter().map(|k| k.len()).collect();
    let (out_strides, in_strides) = (strides(&shape), strides(&in_shape));
    Ok(reindex(x, shape.clone(), |i| {
        (0..rank)
            .map(|d| keep[d][(i / out_strides[d]) % shape[d]] * in_strides[d])
            .sum()
    }))
}

/// Pad (modes constant, edge, reflect, wrap; negative pads crop). Padding
/// cells of a dynamic tensor all read one constant neuron, which a linear
/// consumer folds into its bias.
pub(super) fn pad(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let in_shape = x.shape().to_vec();
    let rank = in_shape.len();
    let mode = n
        .attr("mode")
        .map(|a| String::from_utf8_lossy(&a.s).into_owned())
        .unwrap_or_else(|| "constant".into());
    // Opset < 11: attributes `pads` and `value`; later: inputs 1, 2 (and 3: axes).
    let pads: Vec<i64> = match n.opt_input(1) {
        Some(Sym::Const(c)) => const_ints(c),
        Some(Sym::Dyn(_)) => return Err(n.err("pads must be a constant")),
        None => n
            .attr_ints("pads")
            .or_else(|| n.attr_ints("paddings"))
            .ok_or_else(|| n.err("missing pads"))?,
    };
    let value = match n.opt_input(2) {
        Some(Sym::Const(c)) => c.data.first().copied().unwrap_or(0.0),
        Some(Sym::Dyn(_)) => return Err(n.err("constant_value must be a constant")),
        None => n.attr_float("value", 0.0) as f64,
    };
    let axes: Vec<usize> = match n.opt_input(3) {
        Some(Sym::Const(c)) => const_ints(c)
            .iter()
            .map(|&a| {
                if a < 0 {
                    (a + rank as i64) as usize
                } else {
                    a as usize
                }
            })
            .collect(),
        Some(Sym::Dyn(_)) => return Err(n.err("axes must be a constant")),
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() || axes.iter().any(|&a| a >= rank) {
        return Err(n.err(format!("pads {pads:?} do not fit input {in_shape:?}")));
    }
    let (mut begin, mut end) = (vec![0i64; rank], vec![0i64; rank]);
    for (i, &a) in axes.iter().enumerate() {
        begin[a] = pads[i];
        end[a] = pads[axes.len() + i];
    }
    let shape: Vec<usize> = (0..rank)
        .map(|d| {
            let s = in_shape[d] as i64 + begin[d] + end[d];
            if s < 0 {
                Err(n.err(format!("pads {pads:?} crop more than input {in_shape:?}")))
            } else {
                Ok(s as usize)
            }
        })
        .collect::<Result<_, _>>()?;
    if !["constant", "edge", "reflect", "wrap"].contains(&mode.as_str()) {
        return Err(n.err(format!("unknown mode '{mode}'")));
    }
    if mode != "constant" && in_shape.iter().zip(&shape).any(|(&i, &o)| i == 0 && o > 0) {
        return Err(n.err(format!("mode '{mode}' cannot pad an empty axis")));
    }
    // Source coordinate along one axis, or None for a constant cell.
    let source = |c: i64, d: usize| -> Option<usize> {
        let len = in_shape[d] as i64;
        let c = c - begin[d];
        if (0..len).contains(&c) {
            return Some(c as usize);
        }
        match mode.as_str() {
            "edge" => Some(c.clamp(0, len - 1) as usize),
            "wrap" => Some(c.rem_euclid(len) as usize),
            "reflect" if len == 1 => Some(0),
            "reflect" => {
                let p = c.rem_euclid(2 * (len - 1));
                Some(if p < len { p } else { 2 * (len - 1) - p } as usize)
            }
            _ => None,
        }
    };
    let (out_strides, in_strides) = (strides(&shape), strides(&in_shape));
    let elems = (0..numel(&shape))
        .map(|o| {
            let mut flat = 0;
            for d in 0..rank {
                match source(((o / out_strides[d]) % shape[d]) as i64, d) {
                    Some(i) => flat += i * in_strides[d],
                    None => return Elem::Const(value),
                }
            }
            elem(&x, flat)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

/// Gather with constant indices: a re-indexing along `axis`.
pub(super) fn gather(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let s = x.shape().to_vec();
    let axis = n.axis_attr(0, s.len())?;
    if let (Sym::Const(data), Sym::Dyn(idx)) = (x, n.input(1)?) {
        return super::select::gather_by_dynamic_index(l, n, data, idx, axis);
    }
    let idx = n.constant(1, "Gather's indices (of a dynamic tensor)")?;
    let d = s[axis] as i64;
    let ind: Vec<usize> = const_ints(idx)
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + d } else { i };
            if (0..d).contains(&j) {
                Ok(j as usize)
            } else {
                Err(n.err(format!("index {i} out of range for dim {d}")))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut shape = s[..axis].to_vec();
    shape.extend(&idx.shape);
    shape.extend(&s[axis + 1..]);
    let (inner, ni) = (numel(&s[axis + 1..]), ind.len());
    Ok(reindex(x, shape, |o| {
        let (a, j, k) = (o / (ni * inner), (o / inner) % ni, o % inner);
        (a * s[axis] + ind[j]) * inner + k
    }))
}

/// Shape: a constant, since every shape is static here.
pub(super) fn shape(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let s = n.input(0)?.shape();
    let rank = s.len() as i64;
    let clampi = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let (start, end) = (
        clampi(n.attr_int("start", 0)),
        clampi(n.attr_int("end", rank)),
    );
    let data: Vec<f64> = s[start..end.max(start)].iter().map(|&d| d as f64).collect();
    Ok(Sym::Const(ConstTensor {
        shape: vec![data.len()],
        data,
    }))
}

/// `len` entries of `x` along `axis` from `start`.
pub(super) fn slice_axis(x: &Sym, axis: usize, start: usize, len: usize) -> Sym {
    let mut shape = x.shape().to_vec();
    let inner = shape[axis + 1..].iter().product::<usize>();
    let dim = shape[axis];
    shape[axis] = len;
    reindex(x, shape, |i| {
        let (o, rest) = (i / (len * inner), i % (len * inner));
        (o * dim + start + rest / inner) * inner + rest % inner
    })
}

/// `Split`: consecutive slices along `axis`, of the sizes its `split`
/// input (attribute before opset 13) gives, else equal ones (the last
/// smaller when `num_outputs` does not divide the dim, as in opset 18).
pub(super) fn split(_: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?;
    let axis = n.axis_attr(0, x.shape().len())?;
    let dim = x.shape()[axis];
    let count = n.proto.output.len();
    let sizes: Vec<usize> = match (n.opt_input(1), n.attr_ints("split")) {
        (Some(Sym::Const(c)), _) => const_ints(c).iter().map(|&v| v.max(0) as usize).collect(),
        (Some(Sym::Dyn(_)), _) => return Err(n.err("split sizes must be a constant")),
        (None, Some(v)) if !v.is_empty() => v.iter().map(|&v| v.max(0) as usize).collect(),
        _ => {
            let each = dim.div_ceil(count.max(1));
            (0..count)
                .map(|i| each.min(dim.saturating_sub(i * each)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != dim || sizes.len() != count {
        return Err(n.err(format!(
            "split sizes {sizes:?} do not cover dim {dim} in {count} outputs"
        )));
    }
    let mut start = 0;
    Ok(sizes
        .iter()
        .map(|&len| {
            let part = slice_axis(x, axis, start, len);
            start += len;
            part
        })
        .collect())
}
