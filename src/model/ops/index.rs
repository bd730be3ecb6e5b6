//! Ops that move, select or rank elements: with constant indices they are
//! re-indexing (no neurons); a dynamic index (OneHot's, a rank) becomes
//! steps (see [`index_steps`]).

use super::pwl::{extreme, resolve};
use super::select::index_steps;
use super::smooth::product;
use super::*;

/// A constant integer input, as indices into a dim of `len` (negative ones
/// counted from the end).
fn const_indices(
    n: &NodeCtx,
    i: usize,
    what: &str,
    len: usize,
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    let t = n.constant(i, what)?;
    let idx = const_ints(t)
        .iter()
        .map(|&v| {
            let j = if v < 0 { v + len as i64 } else { v };
            if (0..len as i64).contains(&j) {
                Ok(j as usize)
            } else {
                Err(n.err(format!("{what}: index {v} out of range for dim {len}")))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((t.shape.clone(), idx))
}

/// Coordinates of flat index `i` in `shape`.
fn coords(shape: &[usize], mut i: usize) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        c[d] = i % shape[d].max(1);
        i /= shape[d].max(1);
    }
    c
}

fn flat(shape: &[usize], c: &[usize]) -> usize {
    c.iter().zip(shape).fold(0, |acc, (&x, &d)| acc * d + x)
}

/// Trilu: the upper (or lower) triangle of the last two dims from
/// diagonal `k`; the rest 0.
pub(super) fn trilu(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    if s.len() < 2 {
        return Err(n.err("needs at least 2 dims"));
    }
    let k = match n.opt_input(1) {
        Some(_) => *const_ints(n.constant(1, "Trilu's k")?)
            .first()
            .unwrap_or(&0),
        None => 0,
    };
    let upper = n.attr_int("upper", 1) != 0;
    let (rows, cols) = (s[s.len() - 2], s[s.len() - 1]);
    let elems = (0..numel(&s))
        .map(|o| {
            let (i, j) = (((o / cols) % rows) as i64, (o % cols) as i64);
            let keep = if upper { j >= i + k } else { j <= i + k };
            if keep {
                elem(&x, o)
            } else {
                Elem::Const(0.0)
            }
        })
        .collect();
    Ok(l.tensor(n.index, s, elems))
}

/// GatherElements: `out[c] = data[c with c[axis] = indices[c]]`.
pub(super) fn gather_elements(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let s = x.shape().to_vec();
    let axis = n.axis_attr(0, s.len())?;
    let (ishape, idx) = const_indices(n, 1, "GatherElements' indices", s[axis])?;
    if ishape.len() != s.len() {
        return Err(n.err(format!("indices {ishape:?} and data {s:?} differ in rank")));
    }
    Ok(reindex(x, ishape.clone(), |o| {
        let mut c = coords(&ishape, o);
        c[axis] = idx[o];
        flat(&s, &c)
    }))
}

/// GatherND with constant indices (and `batch_dims`).
pub(super) fn gather_nd(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let s = x.shape().to_vec();
    let t = n.constant(1, "GatherND's indices")?;
    let b = n.attr_int("batch_dims", 0).max(0) as usize;
    let last = *t.shape.last().ok_or_else(|| n.err("scalar indices"))?;
    if b + last > s.len() {
        return Err(n.err("indices address more dims than the data has"));
    }
    let raw = const_ints(t);
    let tuples = numel(&t.shape[..t.shape.len() - 1]);
    let slice = numel(&s[b + last..]);
    let mut shape = t.shape[..t.shape.len() - 1].to_vec();
    shape.extend(&s[b + last..]);
    let batch = numel(&s[..b]).max(1);
    let per_batch = tuples / batch;
    let mut src = Vec::with_capacity(numel(&shape));
    for q in 0..tuples {
        let mut c: Vec<usize> = coords(&s[..b], q / per_batch.max(1));
        for (d, &v) in raw[q * last..(q + 1) * last].iter().enumerate() {
            let dim = s[b + d] as i64;
            let j = if v < 0 { v + dim } else { v };
            if !(0..dim).contains(&j) {
                return Err(n.err(format!("index {v} out of range for dim {dim}")));
            }
            c.push(j as usize);
        }
        let base = flat(&s[..b + last], &c) * slice;
        src.extend((0..slice).map(|k| base + k));
    }
    Ok(reindex(x, shape, |o| src[o]))
}

/// How a scatter combines an update with what is there.
fn scatter_reduce(n: &NodeCtx) -> Result<&'static str, ModelError> {
    Ok(match n.attr_str("reduction", "none").as_str() {
        "none" => "none",
        "add" => "add",
        "mul" => "mul",
        "max" => "max",
        "min" => "min",
        other => return Err(n.err(format!("reduction {other}"))),
    })
}

fn combine(l: &mut Lowering, node: usize, how: &str, old: Elem, new: Elem) -> Elem {
    match how {
        "add" => {
            let mut f = Affine::of(old);
            f.add_scaled(&Affine::of(new), 1.0);
            l.element(node, f)
        }
        "mul" => product(l, node, old, new),
        "max" => extreme(l, node, &[old, new], 1.0),
        "min" => extreme(l, node, &[old, new], -1.0),
        _ => new,
    }
}

/// ScatterElements (and the deprecated Scatter): `data` with
/// `updates[c]` written (or combined) at `c with c[axis] = indices[c]`.
pub(super) fn scatter_elements(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    let axis = n.axis_attr(0, s.len())?;
    let (ishape, idx) = const_indices(n, 1, "the scatter's indices", s[axis])?;
    let updates = n.input(2)?.clone();
    if updates.shape() != ishape.as_slice() {
        return Err(n.err(format!(
            "updates {:?} and indices {ishape:?} differ",
            updates.shape()
        )));
    }
    let how = scatter_reduce(n)?;
    let mut elems: Vec<Elem> = (0..numel(&s)).map(|o| elem(&x, o)).collect();
    for (u, &j) in idx.iter().enumerate() {
        let mut c = coords(&ishape, u);
        c[axis] = j;
        let at = flat(&s, &c);
        elems[at] = combine(l, n.index, how, elems[at], elem(&updates, u));
    }
    Ok(l.tensor(n.index, s, elems))
}

/// ScatterND with constant indices.
pub(super) fn scatter_nd(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    let t = n.constant(1, "ScatterND's indices")?.clone();
    let updates = n.input(2)?.clone();
    let last = *t.shape.last().ok_or_else(|| n.err("scalar indices"))?;
    let slice = numel(&s[last.min(s.len())..]);
    let how = scatter_reduce(n)?;
    let raw = const_ints(&t);
    let mut elems: Vec<Elem> = (0..numel(&s)).map(|o| elem(&x, o)).collect();
    for q in 0..numel(&t.shape[..t.shape.len() - 1]) {
        let c: Vec<usize> = raw[q * last..(q + 1) * last]
            .iter()
            .enumerate()
            .map(|(d, &v)| {
                if v < 0 {
                    (v + s[d] as i64) as usize
                } else {
                    v as usize
                }
            })
            .collect();
        if c.iter().zip(&s).any(|(&a, &d)| a >= d) {
            return Err(n.err("ScatterND index out of range"));
        }
        let base = flat(&s[..last], &c) * slice;
        for k in 0..slice {
            elems[base + k] = combine(
                l,
                n.index,
                how,
                elems[base + k],
                elem(&updates, q * slice + k),
            );
        }
    }
    Ok(l.tensor(n.index, s, elems))
}

/// OneHot of dynamic indices: `on` where the index equals the position
/// (negative indices wrap), `off` elsewhere, from index steps.
pub(super) fn one_hot(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let idx = n.input(0)?.clone();
    let depth = *const_ints(n.constant(1, "OneHot's depth")?)
        .first()
        .ok_or_else(|| n.err("empty depth"))?;
    let values = n.constant(2, "OneHot's values")?.data.clone();
    let [off, on] = values[..] else {
        return Err(n.err("values must be [off, on]"));
    };
    if depth <= 0 {
        return Err(n.err("depth must be positive"));
    }
    let d = depth as usize;
    let rank = idx.shape().len() + 1;
    let axis = n.axis_index(n.attr_int("axis", -1), rank)?;
    let mut shape = idx.shape().to_vec();
    shape.insert(axis, d);
    let inner = numel(&idx.shape()[axis..]);
    // [v == k] for k in −d..d: steps at every half-integer between.
    let per_index: Vec<Vec<Elem>> = (0..numel(idx.shape()))
        .map(|i| {
            let v = resolve(l, elem(&idx, i));
            let mut shifted = Affine::of(v);
            shifted.bias += d as f64;
            let sv = l.element(n.index, shifted);
            // ge[j] = [v + d ≥ j], j = 1 .. 2d − 1.
            let ge = index_steps(l, n.index, sv, 2 * d);
            let at = |j: usize| {
                if j == 0 {
                    Elem::Const(1.0)
                } else if j >= 2 * d {
                    Elem::Const(0.0)
                } else {
                    ge[j - 1]
                }
            };
            (0..d)
                .map(|k| {
                    // v == k (j = k + d) or v == k − d (j = k).
                    let mut f = Affine::diff(at(k + d), at(k + d + 1));
                    f.add_scaled(&Affine::diff(at(k), at(k + 1)), 1.0);
                    let hit = l.element(n.index, f);
                    let mut out = Affine::constant(off);
                    out.add_scaled(&Affine::of(hit), on - off);
                    l.element(n.index, out)
                })
                .collect()
        })
        .collect();
    let elems = (0..numel(&shape))
        .map(|o| {
            let (outer, k, rest) = (o / (d * inner), (o / inner) % d, o % inner);
            per_index[outer * inner + rest][k]
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

/// Compress by a constant condition along `axis` (flattened without one).
pub(super) fn compress(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let cond: Vec<bool> = n
        .constant(1, "Compress's condition")?
        .data
        .iter()
        .map(|&v| v != 0.0)
        .collect();
    let (s, axis) = match n.attr("axis") {
        Some(_) => (x.shape().to_vec(), n.axis_attr(0, x.shape().len())?),
        None => (vec![numel(x.shape())], 0),
    };
    let keep: Vec<usize> = (0..s[axis].min(cond.len())).filter(|&i| cond[i]).collect();
    let inner = numel(&s[axis + 1..]);
    let mut shape = s.clone();
    shape[axis] = keep.len();
    Ok(reindex(x, shape, |o| {
        let (outer, k, rest) = (
            o / (keep.len() * inner),
            (o / inner) % keep.len(),
            o % inner,
        );
        (outer * s[axis] + keep[k]) * inner + rest
    }))
}

/// DepthToSpace (DCR or CRD) and SpaceToDepth on `[N, C, H, W]`.
pub(super) fn depth_to_space(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let [b, c, h, w] = x.shape()[..] else {
        return Err(n.err("expects [N, C, H, W]"));
    };
    let bs = n.attr_int("blocksize", 0).max(1) as usize;
    if c % (bs * bs) != 0 {
        return Err(n.err(format!(
            "{c} channels are not a multiple of blocksize² {}",
            bs * bs
        )));
    }
    let crd = n.attr_str("mode", "DCR") == "CRD";
    let oc = c / (bs * bs);
    let shape = vec![b, oc, h * bs, w * bs];
    Ok(reindex(x, shape, |o| {
        let (nb, ch, y, xx) = (
            o / (oc * h * bs * w * bs),
            (o / (h * bs * w * bs)) % oc,
            (o / (w * bs)) % (h * bs),
            o % (w * bs),
        );
        let (by, bx) = (y % bs, xx % bs);
        let src_c = if crd {
            ch * bs * bs + by * bs + bx
        } else {
            (by * bs + bx) * oc + ch
        };
        ((nb * c + src_c) * h + y / bs) * w + xx / bs
    }))
}

pub(super) fn space_to_depth(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    let [b, c, h, w] = x.shape()[..] else {
        return Err(n.err("expects [N, C, H, W]"));
    };
    let bs = n.attr_int("blocksize", 0).max(1) as usize;
    if h % bs != 0 || w % bs != 0 {
        return Err(n.err("H and W must be multiples of blocksize"));
    }
    let (oh, ow, oc) = (h / bs, w / bs, c * bs * bs);
    Ok(reindex(x, vec![b, oc, oh, ow], |o| {
        let (nb, ch, y, xx) = (
            o / (oc * oh * ow),
            (o / (oh * ow)) % oc,
            (o / ow) % oh,
            o % ow,
        );
        let (block, src_c) = (ch / c, ch % c);
        let (by, bx) = (block / bs, block % bs);
        ((nb * c + src_c) * h + y * bs + by) * w + xx * bs + bx
    }))
}

/// Range of constants (folded; a dynamic bound is structure).
pub(super) fn range(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let scalar = |i: usize, what: &str| -> Result<f64, ModelError> {
        n.constant(i, what)?
            .data
            .first()
            .copied()
            .ok_or_else(|| n.err(format!("empty {what}")))
    };
    let (start, limit, delta) = (
        scalar(0, "Range's start")?,
        scalar(1, "Range's limit")?,
        scalar(2, "Range's delta")?,
    );
    if delta == 0.0 {
        return Err(n.err("delta 0"));
    }
    let count = ((limit - start) / delta).ceil().max(0.0) as usize;
    let data: Vec<f64> = (0..count).map(|i| start + i as f64 * delta).collect();
    Ok(Sym::Const(ConstTensor {
        shape: vec![count],
        data,
    }))
}

/// EyeLike: ones on diagonal `k` of a 2-D shape, a constant.
pub(super) fn eye_like(_: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let s = n.input(0)?.shape().to_vec();
    let [r, c] = s[..] else {
        return Err(n.err("expects a 2-D input"));
    };
    let k = n.attr_int("k", 0);
    let data = (0..r * c)
        .map(|o| {
            if (o % c) as i64 - (o / c) as i64 == k {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Ok(Sym::Const(ConstTensor { shape: s, data }))
}

/// Hardmax: 1 at the first maximum along `axis`, 0 elsewhere: the running
/// OR `seen` of the hits `x_i ≥ max` changes from 0 to 1 exactly there.
pub(super) fn hardmax(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let groups = super::smooth::softmax_groups(l, n, &x)?;
    let mut elems = vec![Elem::Const(0.0); numel(x.shape())];
    for g in groups {
        let items: Vec<Elem> = g.iter().map(|&i| resolve(l, elem(&x, i))).collect();
        let seen = super::select::running_hits(l, n.index, &items, 1.0);
        let mut prev = Elem::Const(0.0);
        for (&i, &s) in g.iter().zip(&seen) {
            elems[i] = l.element(n.index, Affine::diff(s, prev));
            prev = s;
        }
    }
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// Above this many elements along the axis, TopK is refused: it compares
/// every pair.
const MAX_TOPK_AXIS: usize = 256;

/// TopK by ranks: `rank_i = Σ_j [x_j beats x_i]` (ties to the lower
/// index), then output `r` is `Σ_i x_i·[rank_i = r]` and its index
/// `Σ_i i·[rank_i = r]`. Quadratic in the axis length.
pub(super) fn top_k(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let k = *const_ints(n.constant(1, "TopK's k")?)
        .first()
        .ok_or_else(|| n.err("empty k"))? as usize;
    let ax = n.axis_attr(-1, x.shape().len())?;
    let s = if n.attr_int("largest", 1) != 0 {
        1.0
    } else {
        -1.0
    };
    let len = x.shape()[ax];
    if k > len || len > MAX_TOPK_AXIS {
        return Err(n.err(format!(
            "k = {k} over an axis of {len} (at most {MAX_TOPK_AXIS})"
        )));
    }
    let (_, groups) = super::window::reduce_groups(x.shape(), &[ax], true);
    let mut shape = x.shape().to_vec();
    shape[ax] = k;
    let inner = numel(&x.shape()[ax + 1..]);
    let (mut values, mut indices) = (
        vec![Elem::Const(0.0); numel(&shape)],
        vec![Elem::Const(0.0); numel(&shape)],
    );
    for (gi, g) in groups.iter().enumerate() {
        let items: Vec<Elem> = g.iter().map(|&i| resolve(l, elem(&x, i))).collect();
        let ranks: Vec<Elem> = (0..len)
            .map(|i| {
                let mut rank = Affine::default();
                for j in (0..len).filter(|&j| j != i) {
                    // j beats i: s·(x_j − x_i) > 0, or = 0 with j < i.
                    let d = Affine::diff(items[j], items[i]).times(s);
                    let beats = if j < i {
                        l.activated(n.index, d, Activation::Step)
                    } else {
                        let not = l.activated(n.index, d.times(-1.0), Activation::Step);
                        l.element(n.index, Affine::diff(Elem::Const(1.0), not))
                    };
                    rank.add_scaled(&Affine::of(beats), 1.0);
                }
                l.element(n.index, rank)
            })
            .collect();
        let steps: Vec<Vec<Elem>> = ranks
            .iter()
            .map(|&r| index_steps(l, n.index, r, len))
            .collect();
        let (outer, rest) = (gi / inner, gi % inner);
        for r in 0..k {
            let (mut value, mut index) = (Affine::default(), Affine::default());
            for i in 0..len {
                // [rank_i = r] = ge_r − ge_{r+1}.
                let ge = |j: usize| {
                    if j == 0 {
                        Elem::Const(1.0)
                    } else if j >= len {
                        Elem::Const(0.0)
                    } else {
                        steps[i][j - 1]
                    }
                };
                let is_r = l.element(n.index, Affine::diff(ge(r), ge(r + 1)));
                let v = product(l, n.index, items[i], is_r);
                value.add_scaled(&Affine::of(v), 1.0);
                index.add_scaled(&Affine::of(is_r), i as f64);
            }
            let at = (outer * k + r) * inner + rest;
            values[at] = l.element(n.index, value);
            indices[at] = l.element(n.index, index);
        }
    }
    Ok(vec![
        l.tensor(n.index, shape.clone(), values),
        l.tensor(n.index, shape, indices),
    ])
}

/// CenterCropPad: each of `axes` cropped (centred) or zero-padded
/// (centred) to the constant `shape`.
pub(super) fn center_crop_pad(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    let target = const_ints(n.constant(1, "CenterCropPad's shape")?);
    let axes: Vec<usize> = match n.attr_ints("axes") {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|&v| n.axis_index(v, s.len()))
            .collect::<Result<_, _>>()?,
        _ => (0..s.len()).collect(),
    };
    if target.len() != axes.len() {
        return Err(n.err(format!("shape {target:?} does not fit axes {axes:?}")));
    }
    let mut out = s.clone();
    // Per axis: output coordinate o reads input o + shift (when in range).
    let mut shift = vec![0i64; s.len()];
    for (&ax, &t) in axes.iter().zip(&target) {
        let (len, t) = (s[ax] as i64, t.max(0));
        out[ax] = t as usize;
        shift[ax] = if t <= len {
            (len - t) / 2
        } else {
            -((t - len) / 2)
        };
    }
    let in_strides = strides(&s);
    let elems = (0..numel(&out))
        .map(|o| {
            let c = coords(&out, o);
            let mut flat = 0usize;
            for d in 0..s.len() {
                let i = c[d] as i64 + shift[d];
                if i < 0 || i >= s[d] as i64 {
                    return Elem::Const(0.0);
                }
                flat += i as usize * in_strides[d];
            }
            elem(&x, flat)
        })
        .collect();
    Ok(l.tensor(n.index, out, elems))
}
