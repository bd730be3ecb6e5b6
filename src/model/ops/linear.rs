//! Affine ops with constant weights beyond the matrix product: convolutions,
//! average pools, batch normalization, sums, means and negation. Each output
//! element is one identity neuron over its inputs (see [`linear_map`]), or
//! none when it folds into the neurons that produce its input.

use super::window::{reduce_axes, reduce_groups, Window};
use super::*;

/// An `[N, C, spatial...]` operand: its batch, channels and spatial dims.
fn nchw<'a>(n: &NodeCtx, x: &'a Sym) -> Result<(usize, usize, &'a [usize]), ModelError> {
    let s = x.shape();
    if s.len() < 3 {
        return Err(n.err(format!("expects an input [N, C, spatial...], got {s:?}")));
    }
    Ok((s[0], s[1], &s[2..]))
}

/// Optional per-channel constant bias (input #2 of Conv and ConvTranspose).
fn channel_bias(n: &NodeCtx, channels: usize) -> Result<Vec<f64>, ModelError> {
    match n.opt_input(2) {
        None => Ok(vec![0.0; channels]),
        Some(Sym::Const(c)) if c.data.len() == channels => Ok(c.data.clone()),
        Some(Sym::Const(c)) => Err(n.err(format!(
            "bias has shape {:?}, expected [{channels}]",
            c.shape
        ))),
        Some(Sym::Dyn(_)) => Err(n.err("bias must be a constant")),
    }
}

/// Kernel dims from the weights, checked against `kernel_shape` if given.
fn kernel_of(n: &NodeCtx, w: &ConstTensor) -> Result<Vec<usize>, ModelError> {
    let kernel = w.shape[2..].to_vec();
    if let Some(ks) = n.attr_ints("kernel_shape") {
        if ks.iter().map(|&k| k as usize).collect::<Vec<_>>() != kernel {
            return Err(n.err(format!(
                "kernel_shape {ks:?} differs from the weights' {kernel:?}"
            )));
        }
    }
    Ok(kernel)
}

/// Convolution (1-, 2- or 3-D) with constant weights `[M, C/group, k...]`.
pub(super) fn conv(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let w = n.constant(1, "Conv's weights")?.clone();
    let (batch, c_in, spatial) = nchw(n, &x)?;
    if w.shape.len() != x.shape().len() {
        return Err(n.err(format!(
            "weights {:?} do not fit input {:?}",
            w.shape,
            x.shape()
        )));
    }
    let group = n.attr_int("group", 1).max(1) as usize;
    let (m, cg) = (w.shape[0], w.shape[1]);
    if cg * group != c_in || m % group != 0 {
        return Err(n.err(format!(
            "input has {c_in} channels, weights {:?}, group {group}",
            w.shape
        )));
    }
    let win = Window::new(n, spatial, kernel_of(n, &w)?)?;
    let bias = channel_bias(n, m)?;
    let (isp, osp, ksp, mg) = (
        win.in_numel(),
        win.out_numel(),
        win.kernel_numel(),
        m / group,
    );
    let taps: Vec<Vec<(usize, Option<usize>)>> = (0..osp).map(|p| win.taps(p)).collect();
    let mut shape = vec![batch, m];
    shape.extend(&win.output);
    Ok(linear_map(
        l,
        n,
        &x,
        shape,
        |o| {
            let (b, mo, p) = (o / (m * osp), (o / osp) % m, o % osp);
            let g = mo / mg;
            let mut t = Vec::new();
            for c in 0..cg {
                let ch = g * cg + c;
                for &(kk, pos) in &taps[p] {
                    if let Some(pos) = pos {
                        t.push((
                            (b * c_in + ch) * isp + pos,
                            w.data[(mo * cg + c) * ksp + kk],
                        ));
                    }
                }
            }
            t
        },
        |o| bias[(o / osp) % m],
    ))
}

/// Transposed convolution with constant weights `[C, M/group, k...]`:
/// input position `i` and kernel offset `k` add into output `i·s + k·d − pad`.
pub(super) fn conv_transpose(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let w = n.constant(1, "ConvTranspose's weights")?.clone();
    let (batch, c_in, spatial) = nchw(n, &x)?;
    let r = spatial.len();
    if w.shape.len() != x.shape().len() {
        return Err(n.err(format!(
            "weights {:?} do not fit input {:?}",
            w.shape,
            x.shape()
        )));
    }
    let group = n.attr_int("group", 1).max(1) as usize;
    let (mg, cg) = (w.shape[1], c_in / group);
    if w.shape[0] != c_in || c_in % group != 0 {
        return Err(n.err(format!(
            "input has {c_in} channels, weights {:?}, group {group}",
            w.shape
        )));
    }
    let m = mg * group;
    let kernel = kernel_of(n, &w)?;
    let list = |name: &str, default: i64, len: usize| -> Result<Vec<i64>, ModelError> {
        let v = n.attr_ints(name).unwrap_or_else(|| vec![default; len]);
        if v.len() != len || v.iter().any(|&x| x < 0) {
            return Err(n.err(format!("{name} {v:?} does not fit {r} spatial dims")));
        }
        Ok(v)
    };
    let (stride, dilation) = (list("strides", 1, r)?, list("dilations", 1, r)?);
    let out_pad = list("output_padding", 0, r)?;
    if stride.contains(&0) || dilation.contains(&0) {
        return Err(n.err("strides and dilations must be positive"));
    }
    let pads = transposed_pads(n, spatial, &kernel, &stride, &dilation, &out_pad)?;
    let mut output = Vec::with_capacity(r);
    for d in 0..r {
        let full = stride[d] * (spatial[d] as i64 - 1)
            + out_pad[d]
            + (kernel[d] as i64 - 1) * dilation[d]
            + 1;
        let o = full - pads[d] - pads[r + d];
        if o <= 0 {
            return Err(n.err(format!("pads {pads:?} leave no output")));
        }
        output.push(o as usize);
    }
    let (isp, osp, ksp) = (numel(spatial), numel(&output), numel(&kernel));
    let (os, ks, is) = (strides(&output), strides(&kernel), strides(spatial));
    // Per output position: (kernel offset, input position) pairs.
    let taps: Vec<Vec<(usize, usize)>> = (0..osp)
        .map(|p| {
            (0..ksp)
                .filter_map(|kk| {
                    let mut flat = 0;
                    for d in 0..r {
                        let oc = ((p / os[d]) % output[d]) as i64;
                        let kc = ((kk / ks[d]) % kernel[d]) as i64;
                        let num = oc + pads[d] - kc * dilation[d];
                        if num < 0 || num % stride[d] != 0 || num / stride[d] >= spatial[d] as i64 {
                            return None;
                        }
                        flat += (num / stride[d]) as usize * is[d];
                    }
                    Some((kk, flat))
                })
                .collect()
        })
        .collect();
    let bias = channel_bias(n, m)?;
    let mut shape = vec![batch, m];
    shape.extend(&output);
    Ok(linear_map(
        l,
        n,
        &x,
        shape,
        |o| {
            let (b, mo, p) = (o / (m * osp), (o / osp) % m, o % osp);
            let (g, mi) = (mo / mg, mo % mg);
            let mut t = Vec::new();
            for c in 0..cg {
                let ch = g * cg + c;
                for &(kk, pos) in &taps[p] {
                    t.push((
                        (b * c_in + ch) * isp + pos,
                        w.data[(ch * mg + mi) * ksp + kk],
                    ));
                }
            }
            t
        },
        |o| bias[(o / osp) % m],
    ))
}

/// ConvTranspose's pads (begin then end per spatial dim): the `pads`
/// attribute, or those that make the output `output_shape` (given, or
/// `input·stride` for `SAME_*` auto-padding), the odd one at the end for
/// SAME_UPPER and at the start otherwise.
fn transposed_pads(
    n: &NodeCtx,
    spatial: &[usize],
    kernel: &[usize],
    stride: &[i64],
    dilation: &[i64],
    out_pad: &[i64],
) -> Result<Vec<i64>, ModelError> {
    let r = spatial.len();
    let auto_pad = n.attr_str("auto_pad", "NOTSET");
    let target: Option<Vec<i64>> = match n.attr_ints("output_shape") {
        Some(s) if !s.is_empty() => Some(s[s.len().saturating_sub(r)..].to_vec()),
        _ if auto_pad.starts_with("SAME") => {
            Some((0..r).map(|d| spatial[d] as i64 * stride[d]).collect())
        }
        _ => None,
    };
    let Some(target) = target else {
        let pads = n.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * r]);
        if pads.len() != 2 * r || pads.iter().any(|&p| p < 0) {
            return Err(n.err(format!("pads {pads:?} do not fit {r} spatial dims")));
        }
        return Ok(pads);
    };
    if target.len() != r {
        return Err(n.err(format!(
            "output_shape {target:?} does not fit {r} spatial dims"
        )));
    }
    let mut pads = vec![0; 2 * r];
    for d in 0..r {
        let total = stride[d] * (spatial[d] as i64 - 1)
            + out_pad[d]
            + (kernel[d] as i64 - 1) * dilation[d]
            + 1
            - target[d];
        // Floor division, as the ONNX reference: a negative total pads at the end.
        let half = total.div_euclid(2);
        let (begin, end) = if auto_pad == "SAME_UPPER" {
            (half, total - half)
        } else {
            (total - half, half)
        };
        pads[d] = begin;
        pads[r + d] = end;
    }
    Ok(pads)
}

/// `Σ x[i] / count` over `idx`. Fixed-point weights are multiples of
/// 2^-weight_bits, and 1/count may round badly (1/300 at 2^-10 is 12% off).
/// Then the sum is taken at 2^-p (exact; 2^p ≤ count, p ≤ 8) and scaled by
/// 2^p/count in a second neuron, which rounds to within 0.1%.
fn average(l: &mut Lowering, node: usize, x: &Sym, idx: &[usize], count: usize) -> Elem {
    let mut sum = Affine::default();
    for &i in idx {
        sum.add_scaled(&Affine::of(elem(x, i)), 1.0);
    }
    scale_accurately(l, node, sum, 1.0 / count as f64)
}

/// `k·form` as an element, where `k` (a mean's 1/n, say) may round badly
/// at the weight precision: when it would, the form is taken at 2^-p
/// (exact for integer weights, p ≤ 8, 2^p ≤ 1/k) and scaled by 2^p·k in a
/// second neuron, which rounds to within 0.1%. A long form with fractional
/// weights (a weighted mean) goes through [`scaled_by_tree`] instead:
/// 2^-p would round its weights.
pub(super) fn scale_accurately(l: &mut Lowering, node: usize, form: Affine, k: f64) -> Elem {
    let scaled = (crate::quant::DEFAULT_WEIGHT_BITS as f64).exp2() * k.abs();
    if k == 0.0 || (scaled.round() / scaled - 1.0).abs() <= 0.003 {
        return l.element(node, form.times(k));
    }
    let integer_weights = form.terms.iter().all(|(_, w)| w.fract() == 0.0);
    if !integer_weights && form.terms.len() > TREE_FAN_IN {
        return scaled_by_tree(l, node, form, k);
    }
    let p = ((1.0 / k.abs()).log2().floor().max(0.0) as u32).min(8);
    let sum = l.element(node, form.times((-(p as f64)).exp2()));
    l.element(node, Affine::of(sum).times((1u64 << p) as f64 * k))
}

/// Terms a node of [`scaled_by_tree`] adds.
const TREE_FAN_IN: usize = 8;

/// `k·form` for a long form with fractional weights: partial sums of
/// `TREE_FAN_IN` terms at their own weights, then a tree of averages
/// (weights 1/8, exact in fixed point), then one scale by `k·8^levels`.
/// No value exceeds eight times the largest weighted term, where one sum
/// would set the activation range (and so the fractional bits of every
/// value) by the whole total.
fn scaled_by_tree(l: &mut Lowering, node: usize, form: Affine, k: f64) -> Elem {
    let mut level: Vec<Elem> = form
        .terms
        .chunks(TREE_FAN_IN)
        .map(|chunk| {
            l.element(
                node,
                Affine {
                    terms: chunk.to_vec(),
                    bias: 0.0,
                },
            )
        })
        .collect();
    // Each level of averages multiplies the total by `factor`.
    let factor = 1.0 / TREE_FAN_IN as f64;
    let mut total_factor = 1.0;
    while level.len() > 1 {
        level = level
            .chunks(TREE_FAN_IN)
            .map(|chunk| {
                let mut avg = Affine::default();
                chunk
                    .iter()
                    .for_each(|&e| avg.add_scaled(&Affine::of(e), factor));
                l.element(node, avg)
            })
            .collect();
        total_factor *= factor;
    }
    // k·(Σ + b) = (k / f)·(f·Σ + f·b), and the tree's root is f·Σ.
    let root = Affine::of(level[0]).plus(form.bias * total_factor);
    scale_accurately(l, node, root, k / total_factor)
}

/// Average over each window; the divisor counts padding cells only with
/// `count_include_pad=1` (ONNX semantics).
pub(super) fn average_pool(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (batch, c, spatial) = nchw(n, &x)?;
    let win = Window::from_kernel_attr(n, spatial)?;
    let include_pad = n.attr_int("count_include_pad", 0) != 0;
    let (isp, osp) = (win.in_numel(), win.out_numel());
    let taps: Vec<Vec<usize>> = (0..osp)
        .map(|p| win.taps(p).into_iter().filter_map(|(_, pos)| pos).collect())
        .collect();
    let mut shape = vec![batch, c];
    shape.extend(&win.output);
    let elems = (0..numel(&shape))
        .map(|o| {
            let (nc, p) = (o / osp, o % osp);
            let count = if include_pad {
                win.taps_in_padding(p)
            } else {
                taps[p].len()
            }
            .max(1);
            let idx: Vec<usize> = taps[p].iter().map(|&pos| nc * isp + pos).collect();
            average(l, n.index, &x, &idx, count)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

pub(super) fn global_average_pool(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (batch, c, spatial) = nchw(n, &x)?;
    let isp = numel(spatial);
    let mut shape = vec![batch, c];
    shape.extend(spatial.iter().map(|_| 1));
    let elems = (0..batch * c)
        .map(|o| {
            average(
                l,
                n.index,
                &x,
                &(o * isp..(o + 1) * isp).collect::<Vec<_>>(),
                isp,
            )
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

/// Inference-mode batch normalization: per channel (axis 1)
/// `scale·(x − mean)/√(var + ε) + B`, one affine map per element that folds
/// into the producing neurons (a Conv, say) when only it reads them.
pub(super) fn batch_normalization(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    if n.attr_int("training_mode", 0) != 0 {
        return Err(n.err("training_mode=1 is not supported (export the model in eval mode)"));
    }
    let s = x.shape().to_vec();
    if s.len() < 2 {
        return Err(n.err(format!("expects an input [N, C, ...], got {s:?}")));
    }
    let c = s[1];
    let param = |i: usize, what: &str| -> Result<Vec<f64>, ModelError> {
        let t = n.constant(i, what)?;
        if t.data.len() != c {
            return Err(n.err(format!("{what} has shape {:?}, expected [{c}]", t.shape)));
        }
        Ok(t.data.clone())
    };
    let (scale, b, mean, var) = (
        param(1, "scale")?,
        param(2, "B")?,
        param(3, "mean")?,
        param(4, "var")?,
    );
    let eps = n.attr_float("epsilon", 1e-5) as f64;
    let w: Vec<f64> = (0..c).map(|i| scale[i] / (var[i] + eps).sqrt()).collect();
    let inner = numel(&s[2..]);
    Ok(scale_shift(
        l,
        n,
        &x,
        |o| w[(o / inner) % c],
        |o| {
            let i = (o / inner) % c;
            b[i] - mean[i] * w[i]
        },
    ))
}

fn reduce_linear(l: &mut Lowering, n: &NodeCtx, mean: bool) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let Some(axes) = reduce_axes(n, x.shape().len())? else {
        return Ok(x);
    };
    let (shape, groups) = reduce_groups(x.shape(), &axes, n.attr_int("keepdims", 1) != 0);
    if mean {
        let elems = groups
            .iter()
            .map(|g| average(l, n.index, &x, g, g.len()))
            .collect();
        return Ok(l.tensor(n.index, shape, elems));
    }
    Ok(linear_map(
        l,
        n,
        &x,
        shape,
        |o| groups[o].iter().map(|&i| (i, 1.0)).collect(),
        |_| 0.0,
    ))
}

pub(super) fn reduce_mean(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_linear(l, n, true)
}

pub(super) fn reduce_sum(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    reduce_linear(l, n, false)
}

/// The node's inputs, broadcast together: the output shape and, per input,
/// the source index of each output element.
pub(super) fn broadcast_all(
    n: &NodeCtx,
) -> Result<(Vec<Sym>, Vec<usize>, Vec<Vec<usize>>), ModelError> {
    let ins: Vec<Sym> = n.inputs.iter().flatten().cloned().collect();
    if ins.is_empty() {
        return Err(n.err("needs at least one input"));
    }
    let mut shape = ins[0].shape().to_vec();
    for s in &ins[1..] {
        shape = broadcast_shape(&shape, s.shape()).ok_or_else(|| {
            n.err(format!(
                "shapes do not broadcast: {shape:?} and {:?}",
                s.shape()
            ))
        })?;
    }
    let idx = ins
        .iter()
        .map(|s| broadcast_indices(s.shape(), &shape))
        .collect();
    Ok((ins, shape, idx))
}

fn sum_mean(l: &mut Lowering, n: &NodeCtx, mean: bool) -> Result<Sym, ModelError> {
    let (ins, shape, idx) = broadcast_all(n)?;
    let k = if mean { 1.0 / ins.len() as f64 } else { 1.0 };
    let elems = (0..numel(&shape))
        .map(|o| {
            let mut form = Affine::default();
            for (s, ix) in ins.iter().zip(&idx) {
                form.add_scaled(&Affine::of(elem(s, ix[o])), k);
            }
            l.element(n.index, form)
        })
        .collect();
    Ok(l.tensor(n.index, shape, elems))
}

pub(super) fn sum(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    sum_mean(l, n, false)
}

pub(super) fn mean(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    sum_mean(l, n, true)
}

pub(super) fn neg(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    Ok(scale_shift(l, n, &x, |_| -1.0, |_| 0.0))
}
