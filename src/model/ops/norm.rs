//! Normalizations: LayerNormalization, InstanceNormalization,
//! GroupNormalization, RMSNormalization, MeanVarianceNormalization,
//! LpNormalization and LRN. Means are affine; squares are products; one
//! `1/√(var + ε)` (or `x^−β`) table neuron per group scales its elements
//! by one product each.

use super::pwl::{abs_elem, resolve};
use super::smooth::{product, quotient};
use super::*;
use crate::model::LutFn;

/// `γ·(x − mean)/√(var + ε) + β` over the axes from `axis` on; its
/// optional outputs are each group's mean and `1/√(var + ε)`.
pub(super) fn layer_normalization(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let rank = x.shape().len();
    let ax = n.axis_attr(-1, rank)?;
    let eps = n.attr_float("epsilon", 1e-5) as f64;
    let norm_shape = &x.shape()[ax..];
    let param = |i: usize, what: &str| -> Result<Option<Vec<f64>>, ModelError> {
        let Some(_) = n.opt_input(i) else {
            return Ok(None);
        };
        let t = n.constant(i, what)?;
        let idx = broadcast_shape(&t.shape, norm_shape)
            .filter(|s| s == norm_shape)
            .map(|_| broadcast_indices(&t.shape, norm_shape))
            .ok_or_else(|| {
                n.err(format!(
                    "{what} {:?} does not broadcast to {norm_shape:?}",
                    t.shape
                ))
            })?;
        Ok(Some(idx.iter().map(|&k| t.data[k]).collect()))
    };
    let gamma = param(1, "LayerNormalization's scale")?.ok_or_else(|| n.err("missing scale"))?;
    let beta = param(2, "LayerNormalization's bias")?;
    let axes: Vec<usize> = (ax..rank).collect();
    let groups = super::window::reduce_groups(x.shape(), &axes, true).1;
    let affine = |j: usize, _: usize| (gamma[j], beta.as_ref().map_or(0.0, |b| b[j]));
    let (y, stats) = normalize_with_stats(l, n.index, &x, &groups, eps, affine);
    let mut stat_shape = x.shape().to_vec();
    stat_shape[ax..].iter_mut().for_each(|d| *d = 1);
    let (means, rstds): (Vec<Elem>, Vec<Elem>) = stats.into_iter().unzip();
    Ok(vec![
        y,
        l.tensor(n.index, stat_shape.clone(), means),
        l.tensor(n.index, stat_shape, rstds),
    ])
}

/// `γ·(x − mean)/√(var + ε) + β` over each group of elements of `x`, with
/// `(γ, β) = affine(position in group, element)`: the squares are
/// products, `1/√(var + ε)` one table neuron per group, γ folds into the
/// centred value and the scaling is one product with it.
fn normalize(
    l: &mut Lowering,
    node: usize,
    x: &Sym,
    groups: &[Vec<usize>],
    eps: f64,
    affine: impl Fn(usize, usize) -> (f64, f64),
) -> Sym {
    normalize_with_stats(l, node, x, groups, eps, affine).0
}

/// As [`normalize`], with each group's `(mean, 1/√(var + ε))`.
fn normalize_with_stats(
    l: &mut Lowering,
    node: usize,
    x: &Sym,
    groups: &[Vec<usize>],
    eps: f64,
    affine: impl Fn(usize, usize) -> (f64, f64),
) -> (Sym, Vec<(Elem, Elem)>) {
    let mut elems = vec![Elem::Const(0.0); numel(x.shape())];
    let mut stats = Vec::with_capacity(groups.len());
    for group in groups {
        let k = group.len() as f64;
        let mut mean = Affine::default();
        for &i in group {
            mean.add_scaled(&Affine::of(elem(x, i)), 1.0 / k);
        }
        let mean = l.element(node, mean);
        let centred: Vec<Elem> = group
            .iter()
            .map(|&i| l.element(node, Affine::diff(elem(x, i), mean)))
            .collect();
        let mut var = Affine::constant(eps);
        for &d in &centred {
            let sq = product(l, node, d, d);
            var.add_scaled(&Affine::of(sq), 1.0 / k);
        }
        let rstd = l.activated(node, var, Activation::Lut(LutFn::Rsqrt));
        for (j, (&i, &d)) in group.iter().zip(&centred).enumerate() {
            let (g, b) = affine(j, i);
            let scaled = if g == 1.0 {
                d
            } else {
                l.element(node, Affine::of(d).times(g))
            };
            let mut out = Affine::of(product(l, node, scaled, rstd));
            out.bias += b;
            elems[i] = l.element(node, out);
        }
        stats.push((mean, rstd));
    }
    (l.tensor(node, x.shape().to_vec(), elems), stats)
}

/// The channel of element `i` of an `[N, C, ...]` tensor.
fn channel_of(shape: &[usize], i: usize) -> usize {
    (i / shape[2..].iter().product::<usize>()) % shape[1]
}

/// A per-channel parameter of `[N, C, ...]` (input `i`), `C` values.
fn channel_param(
    n: &NodeCtx,
    i: usize,
    channels: usize,
    what: &str,
) -> Result<Vec<f64>, ModelError> {
    let t = n.constant(i, what)?;
    if t.data.len() != channels {
        return Err(n.err(format!(
            "{what} has {} values for {channels} channels",
            t.data.len()
        )));
    }
    Ok(t.data.clone())
}

/// InstanceNormalization: each (sample, channel) normalized over its
/// spatial elements, then scaled and shifted per channel.
pub(super) fn instance_normalization(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let shape = x.shape().to_vec();
    if shape.len() < 3 {
        return Err(n.err(format!("expects [N, C, D1, ...], got {shape:?}")));
    }
    let eps = n.attr_float("epsilon", 1e-5) as f64;
    let (scale, bias) = (
        channel_param(n, 1, shape[1], "scale")?,
        channel_param(n, 2, shape[1], "B")?,
    );
    let groups =
        super::window::reduce_groups(&shape, &(2..shape.len()).collect::<Vec<_>>(), true).1;
    Ok(normalize(l, n.index, &x, &groups, eps, |_, i| {
        (scale[channel_of(&shape, i)], bias[channel_of(&shape, i)])
    }))
}

/// GroupNormalization: the channels in `num_groups` groups, each (sample,
/// group) normalized over its channels' elements; scale and bias per
/// channel (opset 21) or per group (opset 18).
pub(super) fn group_normalization(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let shape = x.shape().to_vec();
    if shape.len() < 3 {
        return Err(n.err(format!("expects [N, C, D1, ...], got {shape:?}")));
    }
    let (batch, channels) = (shape[0], shape[1]);
    let groups_n = n.attr_int("num_groups", 1).max(1) as usize;
    if channels % groups_n != 0 {
        return Err(n.err(format!(
            "{channels} channels do not split into {groups_n} groups"
        )));
    }
    let eps = n.attr_float("epsilon", 1e-5) as f64;
    let per_channel = |i: usize, what: &str| -> Result<Vec<f64>, ModelError> {
        let t = n.constant(i, what)?;
        match t.data.len() {
            len if len == channels => Ok(t.data.clone()),
            len if len == groups_n => Ok((0..channels)
                .map(|c| t.data[c / (channels / groups_n)])
                .collect()),
            len => Err(n.err(format!(
                "{what} has {len} values for {channels} channels in {groups_n} groups"
            ))),
        }
    };
    let (scale, bias) = (per_channel(1, "scale")?, per_channel(2, "bias")?);
    let block = (channels / groups_n) * shape[2..].iter().product::<usize>();
    let groups: Vec<Vec<usize>> = (0..batch * groups_n)
        .map(|g| (g * block..(g + 1) * block).collect())
        .collect();
    Ok(normalize(l, n.index, &x, &groups, eps, |_, i| {
        (scale[channel_of(&shape, i)], bias[channel_of(&shape, i)])
    }))
}

/// RMSNormalization: `x / √(mean(x²) + ε) · scale` over the axes from
/// `axis` on.
pub(super) fn rms_normalization(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let rank = x.shape().len();
    let ax = n.axis_attr(-1, rank)?;
    let eps = n.attr_float("epsilon", 1e-5) as f64;
    let norm_shape = x.shape()[ax..].to_vec();
    let scale = n.constant(1, "RMSNormalization's scale")?;
    let si = broadcast_shape(&scale.shape, &norm_shape)
        .filter(|s| *s == norm_shape)
        .map(|_| broadcast_indices(&scale.shape, &norm_shape))
        .ok_or_else(|| {
            n.err(format!(
                "scale {:?} does not broadcast to {norm_shape:?}",
                scale.shape
            ))
        })?;
    let groups = super::window::reduce_groups(x.shape(), &(ax..rank).collect::<Vec<_>>(), true).1;
    let mut elems = vec![Elem::Const(0.0); numel(x.shape())];
    for group in groups {
        let k = group.len() as f64;
        let mut ms = Affine::constant(eps);
        for &i in &group {
            let v = elem(&x, i);
            let sq = product(l, n.index, v, v);
            ms.add_scaled(&Affine::of(sq), 1.0 / k);
        }
        let rstd = l.activated(n.index, ms, Activation::Lut(LutFn::Rsqrt));
        for (j, &i) in group.iter().enumerate() {
            let g = scale.data[si[j]];
            let v = elem(&x, i);
            let scaled = if g == 1.0 {
                v
            } else {
                l.element(n.index, Affine::of(v).times(g))
            };
            elems[i] = product(l, n.index, scaled, rstd);
        }
    }
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// MeanVarianceNormalization: `(x − mean)/√var` over `axes` (default
/// [0, 2, 3]), with the ε = 1e-9 of its ONNX function body.
pub(super) fn mean_variance_normalization(
    l: &mut Lowering,
    n: &NodeCtx,
) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let rank = x.shape().len();
    let axes: Vec<usize> = match n.attr_ints("axes") {
        Some(a) => a
            .iter()
            .map(|&v| n.axis_index(v, rank))
            .collect::<Result<_, _>>()?,
        None => vec![0, 2, 3].into_iter().filter(|&a| a < rank).collect(),
    };
    let groups = super::window::reduce_groups(x.shape(), &axes, true).1;
    Ok(normalize(l, n.index, &x, &groups, 1e-9, |_, _| (1.0, 0.0)))
}

/// LpNormalization: `x / ‖x‖_p` along `axis`, p = 1 or 2.
pub(super) fn lp_normalization(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let ax = n.axis_attr(-1, x.shape().len())?;
    let p = n.attr_int("p", 2);
    let groups = super::window::reduce_groups(x.shape(), &[ax], true).1;
    let mut elems = vec![Elem::Const(0.0); numel(x.shape())];
    for group in groups {
        let items: Vec<Elem> = group.iter().map(|&i| resolve(l, elem(&x, i))).collect();
        let norm = lp_norm(l, n, &items, p)?;
        for (&i, &v) in group.iter().zip(&items) {
            elems[i] = quotient(l, n.index, v, norm);
        }
    }
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// `‖items‖_p = (Σ|x|^p)^(1/p)`: exact for p = 1, a product and a square
/// root table for p = 2, `√‖x²‖₂` by an exact norm of products and an
/// exact root for p = 4 (tables of `x⁴` and of its fourth root step
/// coarsely over the range `x⁴` takes, and small `x⁴` vanish at the
/// activation scale), tables of `|x|^p` and of the p-th root otherwise.
pub(super) fn lp_norm(
    l: &mut Lowering,
    n: &NodeCtx,
    items: &[Elem],
    p: i64,
) -> Result<Elem, ModelError> {
    if p < 1 {
        return Err(n.err(format!("p = {p} (p ≥ 1 is a norm)")));
    }
    if p == 4 {
        let squares: Vec<Elem> = items.iter().map(|&v| product(l, n.index, v, v)).collect();
        let norm = super::smooth::exact_norm(l, n.index, &squares);
        return Ok(super::smooth::exact_sqrt(l, n.index, norm));
    }
    let mut s = Affine::default();
    for &v in items {
        let t = match p {
            1 => abs_elem(l, n.index, v),
            2 => product(l, n.index, v, v),
            // A table of |x|^p: exact powers would grow the activation
            // range (and coarsen every value) by p times the bits of x.
            p => {
                let a = abs_elem(l, n.index, v);
                l.activated(
                    n.index,
                    Affine::of(a),
                    Activation::Lut(LutFn::pow(p as f64)),
                )
            }
        };
        s.add_scaled(&Affine::of(t), 1.0);
    }
    Ok(match p {
        1 => l.element(n.index, s),
        2 => l.activated(n.index, s, Activation::Lut(LutFn::Sqrt)),
        p => l.activated(n.index, s, Activation::Lut(LutFn::pow(1.0 / p as f64))),
    })
}

/// LRN: `x / (bias + α/size · Σ x²)^β` over `size` neighbouring channels.
pub(super) fn lrn(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    if s.len() < 3 {
        return Err(n.err("expects [N, C, ...]"));
    }
    let size = n.attr_int("size", 1).max(1) as usize;
    let (alpha, beta, bias) = (
        n.attr_float("alpha", 1e-4) as f64,
        n.attr_float("beta", 0.75) as f64,
        n.attr_float("bias", 1.0) as f64,
    );
    let (c, inner) = (s[1], numel(&s[2..]));
    let squares: Vec<Elem> = (0..numel(&s))
        .map(|i| {
            let v = elem(&x, i);
            product(l, n.index, v, v)
        })
        .collect();
    let elems = (0..numel(&s))
        .map(|i| {
            let ch = (i / inner) % c;
            let (lo, hi) = (
                ch.saturating_sub((size - 1) / 2),
                (ch + size.div_ceil(2)).min(c),
            );
            let mut f = Affine::constant(bias);
            for cc in lo..hi {
                f.add_scaled(
                    &Affine::of(squares[i - ch * inner + cc * inner]),
                    alpha / size as f64,
                );
            }
            let scale = l.activated(n.index, f, Activation::Lut(LutFn::pow(-beta)));
            product(l, n.index, elem(&x, i), scale)
        })
        .collect();
    Ok(l.tensor(n.index, s, elems))
}

/// LpPool: `‖window‖_p` over each pooling window (p = 1 or 2; padding
/// counts as zeros, which add nothing to a norm).
pub(super) fn lp_pool(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    if s.len() < 3 {
        return Err(n.err("expects [N, C, spatial...]"));
    }
    let win = super::window::Window::from_kernel_attr(n, &s[2..])?;
    let (isp, osp) = (win.in_numel(), win.out_numel());
    let p = n.attr_int("p", 2);
    let mut shape = s[..2].to_vec();
    shape.extend(&win.output);
    let elems = (0..numel(&shape))
        .map(|o| {
            let (nc, q) = (o / osp, o % osp);
            let items: Vec<Elem> = win
                .taps(q)
                .into_iter()
                .filter_map(|(_, pos)| pos)
                .map(|pos| resolve(l, elem(&x, nc * isp + pos)))
                .collect();
            lp_norm(l, n, &items, p)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(l.tensor(n.index, shape, elems))
}

/// GlobalLpPool: `‖x‖_p` over each channel's spatial elements.
pub(super) fn global_lp_pool(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let s = x.shape().to_vec();
    if s.len() < 3 {
        return Err(n.err("expects [N, C, spatial...]"));
    }
    let p = n.attr_int("p", 2);
    let (shape, groups) = super::window::reduce_groups(&s, &(2..s.len()).collect::<Vec<_>>(), true);
    let elems = groups
        .iter()
        .map(|g| {
            let items: Vec<Elem> = g.iter().map(|&i| resolve(l, elem(&x, i))).collect();
            lp_norm(l, n, &items, p)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(l.tensor(n.index, shape, elems))
}
