//! `Resize` and `Upsample`: every output element is a fixed combination of
//! input elements, so the whole op is re-indexing (nearest) or one linear
//! neuron per output element with constant weights (linear, cubic).

use super::*;

/// How an output coordinate maps back to the input, and how the input is
/// sampled there.
struct Axis {
    /// Input and output length.
    len: usize,
    out: usize,
    /// Output / input, as the op states it (for the coordinate transform).
    scale: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

pub(super) fn resize(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let upsample = n.proto.op_type == "Upsample";
    let (scales_at, sizes_at) = if upsample || l.opset() < 11 { (1, usize::MAX) } else { (2, 3) };
    let axes = axes_for(n, x.shape().len())?;
    let axis_set = resize_axes(n, &x, &axes, scales_at, sizes_at)?;
    let mode = match String::from_utf8_lossy(&n.attr("mode").map(|a| a.s.clone()).unwrap_or_else(|| b"nearest".to_vec())).as_ref() {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" | "trilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        other => return Err(n.err(format!("mode '{other}' is not supported (nearest, linear and cubic are)"))),
    };
    let transform = n.attr("coordinate_transformation_mode").map(|a| String::from_utf8_lossy(&a.s).into_owned());
    // Upsample (and Resize before opset 11) sample at x / scale.
    let transform = transform.unwrap_or_else(|| if upsample || l.opset() < 11 { "asymmetric".into() } else { "half_pixel".into() });
    if transform == "tf_crop_and_resize" {
        return Err(n.err("coordinate_transformation_mode tf_crop_and_resize is not supported"));
    }
    let nearest = n.attr("nearest_mode").map(|a| String::from_utf8_lossy(&a.s).into_owned()).unwrap_or_else(|| "round_prefer_floor".into());
    let cubic_a = n.attr_float("cubic_coeff_a", -0.75) as f64;
    let exclude_outside = n.attr_int("exclude_outside", 0) != 0;

    // Per axis and output coordinate: the input taps (index, weight).
    let taps: Vec<Vec<Vec<(usize, f64)>>> = axis_set
        .iter()
        .map(|a| {
            (0..a.out)
                .map(|o| {
                    let src = source_coordinate(&transform, o, a);
                    match mode {
                        Mode::Nearest => vec![(nearest_index(&nearest, src, a.len), 1.0)],
                        Mode::Linear => linear_taps(src, a.len),
                        Mode::Cubic => cubic_taps(src, a.len, cubic_a, exclude_outside),
                    }
                })
                .collect()
        })
        .collect();
    let in_shape = x.shape().to_vec();
    let out_shape: Vec<usize> = axis_set.iter().map(|a| a.out).collect();
    let (in_strides, out_strides) = (strides(&in_shape), strides(&out_shape));
    let element_taps = |o: usize| -> Vec<(usize, f64)> {
        let mut acc = vec![(0usize, 1.0f64)];
        for d in 0..in_shape.len() {
            let c = (o / out_strides[d]) % out_shape[d];
            let stride = in_strides[d];
            acc = acc.iter().flat_map(|&(i, w)| taps[d][c].iter().map(move |&(t, tw)| (i + t * stride, w * tw))).collect();
        }
        acc.retain(|t| t.1 != 0.0);
        acc
    };
    if mode == Mode::Nearest {
        return Ok(reindex(&x, out_shape.clone(), |o| element_taps(o)[0].0));
    }
    Ok(linear_map(l, n, &x, out_shape.clone(), element_taps, |_| 0.0))
}

/// Opset 18's `axes`: the axes `scales`/`sizes` cover (all by default).
fn axes_for(n: &NodeCtx, rank: usize) -> Result<Vec<usize>, ModelError> {
    match n.attr_ints("axes") {
        Some(a) if !a.is_empty() => a.iter().map(|&ax| n.axis_index(ax, rank)).collect(),
        _ => Ok((0..rank).collect()),
    }
}

/// Input and output length of every axis, from `scales` (input
/// `scales_at`, or the attribute of Upsample 7) or `sizes` (input
/// `sizes_at`).
fn resize_axes(n: &NodeCtx, x: &Sym, axes: &[usize], scales_at: usize, sizes_at: usize) -> Result<Vec<Axis>, ModelError> {
    let shape = x.shape();
    let constant = |i: usize, what: &str| -> Result<Option<Vec<f64>>, ModelError> {
        match n.opt_input(i) {
            Some(Sym::Const(c)) if !c.data.is_empty() => Ok(Some(c.data.clone())),
            Some(Sym::Const(_)) | None => Ok(None),
            Some(Sym::Dyn(_)) => Err(n.err(format!("{what} must be a constant"))),
        }
    };
    let attr_scales = n.attr("scales").map(|a| a.floats.iter().map(|&v| v as f64).collect::<Vec<_>>()).filter(|v| !v.is_empty());
    let scales = match constant(scales_at, "scales")? {
        Some(s) => Some(s),
        None => attr_scales,
    };
    let sizes = if sizes_at == usize::MAX { None } else { constant(sizes_at, "sizes")? };
    let mut set: Vec<Axis> = shape.iter().map(|&d| Axis { len: d, out: d, scale: 1.0 }).collect();
    match (scales, sizes) {
        (_, Some(sizes)) if sizes.len() == axes.len() => {
            for (&ax, &s) in axes.iter().zip(&sizes) {
                set[ax] = Axis { len: shape[ax], out: s as usize, scale: s / shape[ax] as f64 };
            }
        }
        (Some(scales), _) if scales.len() == axes.len() => {
            for (&ax, &s) in axes.iter().zip(&scales) {
                set[ax] = Axis { len: shape[ax], out: (shape[ax] as f64 * s).floor() as usize, scale: s };
            }
        }
        _ => return Err(n.err(format!("needs scales or sizes for its {} axes", axes.len()))),
    }
    if set.iter().any(|a| a.out == 0) {
        return Err(n.err("an output dimension would be 0"));
    }
    Ok(set)
}

/// The input coordinate output coordinate `o` samples.
fn source_coordinate(transform: &str, o: usize, a: &Axis) -> f64 {
    let (o, len, out) = (o as f64, a.len as f64, a.out as f64);
    match transform {
        "asymmetric" => o / a.scale,
        "align_corners" => if a.out > 1 { o * (len - 1.0) / (out - 1.0) } else { 0.0 },
        "pytorch_half_pixel" => if a.out > 1 { (o + 0.5) / a.scale - 0.5 } else { 0.0 },
        "tf_half_pixel_for_nn" => (o + 0.5) / a.scale,
        "half_pixel_symmetric" => {
            let adjustment = out / (len * a.scale);
            let center = len / 2.0;
            center * (1.0 - adjustment) + (o + 0.5) / a.scale - 0.5
        }
        _ => (o + 0.5) / a.scale - 0.5, // half_pixel
    }
}

fn nearest_index(mode: &str, x: f64, len: usize) -> usize {
    let i = match mode {
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        "round_prefer_ceil" => if x.fract() == 0.5 { x.ceil() } else { x.round() },
        _ => if (x - x.floor()) == 0.5 { x.floor() } else { x.round() },
    };
    i.clamp(0.0, len as f64 - 1.0) as usize
}

/// The two neighbours of `x` and their weights; indices outside the axis
/// read its edge.
fn linear_taps(x: f64, len: usize) -> Vec<(usize, f64)> {
    let x = x.clamp(0.0, len as f64 - 1.0);
    let lo = x.floor();
    let r = x - lo;
    let clamp = |i: f64| i.clamp(0.0, len as f64 - 1.0) as usize;
    vec![(clamp(lo), 1.0 - r), (clamp(lo + 1.0), r)]
}

/// Keys' cubic convolution over the four neighbours of `x`.
fn cubic_taps(x: f64, len: usize, a: f64, exclude_outside: bool) -> Vec<(usize, f64)> {
    let lo = x.floor();
    let r = x - lo;
    let kernel = |d: f64| {
        let d = d.abs();
        if d <= 1.0 {
            (a + 2.0) * d.powi(3) - (a + 3.0) * d * d + 1.0
        } else if d < 2.0 {
            a * d.powi(3) - 5.0 * a * d * d + 8.0 * a * d - 4.0 * a
        } else {
            0.0
        }
    };
    let mut taps: Vec<(i64, f64)> = (-1..=2).map(|k| (lo as i64 + k, kernel(r - k as f64))).collect();
    if exclude_outside {
        taps.retain(|(i, _)| (0..len as i64).contains(i));
        let total: f64 = taps.iter().map(|t| t.1).sum();
        taps.iter_mut().for_each(|t| t.1 /= total);
    }
    taps.into_iter().map(|(i, w)| (i.clamp(0, len as i64 - 1) as usize, w)).collect()
}
