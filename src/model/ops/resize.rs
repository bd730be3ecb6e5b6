//! `Resize` and `Upsample`: every output element is a fixed combination of
//! input elements, so the whole op is re-indexing (nearest) or one linear
//! neuron per output element with constant weights (linear, cubic, and
//! their antialiased forms). The sampling follows the ONNX reference
//! implementation: each axis maps an output coordinate to an input one,
//! takes its `n` nearest input positions (ties to the left, the edge
//! repeated beyond the ends) and weights them by the mode's coefficients.

use super::*;

/// One axis: input length, output length, and the scale as the op states
/// it (output / input).
struct Axis {
    len: usize,
    out: usize,
    scale: f64,
    /// `tf_crop_and_resize`'s region, as fractions of the axis.
    roi: (f64, f64),
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

/// A tap: an input position (or the extrapolation value) and its weight.
type Tap = (Option<usize>, f64);

struct Sampling {
    mode: Mode,
    transform: String,
    nearest: String,
    cubic_a: f64,
    exclude_outside: bool,
    antialias: bool,
}

pub(super) fn resize(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let legacy = n.proto.op_type == "Upsample" || l.opset() < 11;
    let (scales_at, sizes_at) = if legacy { (1, usize::MAX) } else { (2, 3) };
    let axes = axes_for(n, x.shape().len())?;
    let axis_set = resize_axes(n, &x, &axes, scales_at, sizes_at)?;
    let mode = match n.attr_str("mode", "nearest").as_str() {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" | "trilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        other => {
            return Err(n.err(format!(
                "mode '{other}' is not supported (nearest, linear and cubic are)"
            )))
        }
    };
    // Upsample (and Resize before opset 11) sample at x / scale, floored.
    let default_transform = if legacy { "asymmetric" } else { "half_pixel" };
    let s = Sampling {
        mode,
        transform: n.attr_str("coordinate_transformation_mode", default_transform),
        nearest: n.attr_str(
            "nearest_mode",
            if legacy {
                "floor"
            } else {
                "round_prefer_floor"
            },
        ),
        cubic_a: n.attr_float("cubic_coeff_a", -0.75) as f64,
        exclude_outside: n.attr_int("exclude_outside", 0) != 0,
        antialias: n.attr_int("antialias", 0) != 0 && mode != Mode::Nearest,
    };
    let extrapolation = n.attr_float("extrapolation_value", 0.0) as f64;

    let taps: Vec<Vec<Vec<Tap>>> = axis_set
        .iter()
        .map(|a| (0..a.out).map(|o| axis_taps(&s, o, a)).collect())
        .collect();
    let in_shape = x.shape().to_vec();
    let out_shape: Vec<usize> = axis_set.iter().map(|a| a.out).collect();
    let (in_strides, out_strides) = (strides(&in_shape), strides(&out_shape));
    // Taps of an output element: the product over axes; any extrapolating
    // axis makes the tap the extrapolation value.
    let element_taps = |o: usize| -> Vec<Tap> {
        let mut acc: Vec<Tap> = vec![(Some(0), 1.0)];
        for d in 0..in_shape.len() {
            let c = (o / out_strides[d]) % out_shape[d];
            let stride = in_strides[d];
            acc = acc
                .iter()
                .flat_map(|&(i, w)| {
                    taps[d][c]
                        .iter()
                        .map(move |&(t, tw)| (i.zip(t).map(|(i, t)| i + t * stride), w * tw))
                })
                .collect();
        }
        acc.retain(|t| t.1 != 0.0);
        acc
    };
    let elems: Vec<Elem> = (0..numel(&out_shape))
        .map(|o| {
            let mut form = Affine::default();
            for (i, w) in element_taps(o) {
                match i {
                    Some(i) => form.add_scaled(&Affine::of(elem(&x, i)), w),
                    None => form.bias += w * extrapolation,
                }
            }
            l.element(n.index, form)
        })
        .collect();
    Ok(l.tensor(n.index, out_shape, elems))
}

/// Opset 18's `axes`: the axes `scales`/`sizes`/`roi` cover (all by default).
fn axes_for(n: &NodeCtx, rank: usize) -> Result<Vec<usize>, ModelError> {
    match n.attr_ints("axes") {
        Some(a) if !a.is_empty() => a.iter().map(|&ax| n.axis_index(ax, rank)).collect(),
        _ => Ok((0..rank).collect()),
    }
}

/// Input and output length of every axis, from `scales` (input
/// `scales_at`, or the attribute of Upsample 7) or `sizes` (input
/// `sizes_at`, with `keep_aspect_ratio_policy`), and the region `roi`.
fn resize_axes(
    n: &NodeCtx,
    x: &Sym,
    axes: &[usize],
    scales_at: usize,
    sizes_at: usize,
) -> Result<Vec<Axis>, ModelError> {
    let shape = x.shape();
    let constant = |i: usize, what: &str| -> Result<Option<Vec<f64>>, ModelError> {
        match n.opt_input(i) {
            Some(Sym::Const(c)) if !c.data.is_empty() => Ok(Some(c.data.clone())),
            Some(Sym::Const(_)) | None => Ok(None),
            Some(Sym::Dyn(_)) => Err(n.err(format!("{what} must be a constant"))),
        }
    };
    let attr_scales = Some(n.attr_floats("scales")).filter(|v| !v.is_empty());
    let scales = constant(scales_at, "scales")?.or(attr_scales);
    let sizes = if sizes_at == usize::MAX {
        None
    } else {
        constant(sizes_at, "sizes")?
    };
    let roi = if scales_at == 2 {
        constant(1, "roi")?
    } else {
        None
    };
    let mut set: Vec<Axis> = shape
        .iter()
        .map(|&d| Axis {
            len: d,
            out: d,
            scale: 1.0,
            roi: (0.0, 1.0),
        })
        .collect();
    match (scales, sizes) {
        (_, Some(sizes)) if sizes.len() == axes.len() => {
            let ratio: Vec<f64> = axes
                .iter()
                .zip(&sizes)
                .map(|(&ax, &s)| s / shape[ax] as f64)
                .collect();
            let policy = n.attr_str("keep_aspect_ratio_policy", "stretch");
            let common = match policy.as_str() {
                "stretch" => None,
                "not_larger" => Some(ratio.iter().copied().fold(f64::INFINITY, f64::min)),
                "not_smaller" => Some(ratio.iter().copied().fold(0.0, f64::max)),
                other => return Err(n.err(format!("keep_aspect_ratio_policy {other}"))),
            };
            for (k, &ax) in axes.iter().enumerate() {
                let len = shape[ax];
                set[ax] = match common {
                    None => Axis {
                        len,
                        out: sizes[k] as usize,
                        scale: ratio[k],
                        roi: (0.0, 1.0),
                    },
                    Some(s) => Axis {
                        len,
                        out: (s * len as f64 + 0.5) as usize,
                        scale: s,
                        roi: (0.0, 1.0),
                    },
                };
            }
        }
        (Some(scales), _) if scales.len() == axes.len() => {
            for (&ax, &s) in axes.iter().zip(&scales) {
                set[ax] = Axis {
                    len: shape[ax],
                    out: (shape[ax] as f64 * s).floor() as usize,
                    scale: s,
                    roi: (0.0, 1.0),
                };
            }
        }
        _ => return Err(n.err(format!("needs scales or sizes for its {} axes", axes.len()))),
    }
    if let Some(roi) = roi.filter(|r| r.len() == 2 * axes.len()) {
        for (k, &ax) in axes.iter().enumerate() {
            set[ax].roi = (roi[k], roi[axes.len() + k]);
        }
    }
    if set.iter().any(|a| a.out == 0) {
        return Err(n.err("an output dimension would be 0"));
    }
    Ok(set)
}

/// The input coordinate output coordinate `o` samples, or `None` outside a
/// crop's region (the extrapolation value).
fn source_coordinate(transform: &str, o: usize, a: &Axis) -> Option<f64> {
    let (o, len, out_int) = (o as f64, a.len as f64, a.out as f64);
    // The reference uses the unrounded output length here.
    let out = a.scale * len;
    Some(match transform {
        "asymmetric" => o / a.scale,
        "align_corners" => {
            if out == 1.0 {
                0.0
            } else {
                o * (len - 1.0) / (out - 1.0)
            }
        }
        "pytorch_half_pixel" => {
            if out == 1.0 {
                -0.5
            } else {
                (o + 0.5) / a.scale - 0.5
            }
        }
        "tf_half_pixel_for_nn" => (o + 0.5) / a.scale,
        "half_pixel_symmetric" => {
            let adjustment = out_int / out;
            let center = len / 2.0;
            center * (1.0 - adjustment) + (o + 0.5) / a.scale - 0.5
        }
        "tf_crop_and_resize" => {
            let (start, end) = a.roi;
            let x = if out == 1.0 {
                (end - start) * (len - 1.0) / 2.0
            } else {
                o * (end - start) * (len - 1.0) / (out - 1.0)
            } + start * (len - 1.0);
            if x < 0.0 || x > len - 1.0 {
                return None;
            }
            x
        }
        _ => (o + 0.5) / a.scale - 0.5, // half_pixel
    })
}

/// The taps of output coordinate `o` along axis `a`.
fn axis_taps(s: &Sampling, o: usize, a: &Axis) -> Vec<Tap> {
    let Some(x) = source_coordinate(&s.transform, o, a) else {
        return vec![(None, 1.0)];
    };
    // Prefer the pixel on the left: the ratio is in (0, 1].
    let ratio = if x.fract() == 0.0 { 1.0 } else { x - x.floor() };
    let mut coeffs = coefficients(s, ratio, a.scale);
    let idx = neighbours(x, coeffs.len(), a.len);
    if s.exclude_outside {
        for (c, &i) in coeffs.iter_mut().zip(&idx) {
            if i < 0 || i >= a.len as i64 {
                *c = 0.0;
            }
        }
        let total: f64 = coeffs.iter().sum();
        coeffs.iter_mut().for_each(|c| *c /= total);
    }
    // Beyond the ends the edge repeats.
    idx.iter()
        .zip(coeffs)
        .map(|(&i, c)| (Some(i.clamp(0, a.len as i64 - 1) as usize), c))
        .collect()
}

/// The `n` integers nearest to `x` (ties to the smaller), ascending, among
/// the edge-padded positions `[−⌈n/2⌉, len + ⌈n/2⌉)`.
fn neighbours(x: f64, n: usize, len: usize) -> Vec<i64> {
    let pad = n.div_ceil(2) as i64;
    let centre = x.floor() as i64;
    let mut cand: Vec<i64> = (centre - n as i64 - 1..=centre + n as i64 + 1)
        .filter(|&i| i >= -pad && i < len as i64 + pad)
        .collect();
    cand.sort_by(|&a, &b| {
        ((x - a as f64).abs(), a)
            .partial_cmp(&((x - b as f64).abs(), b))
            .expect("finite")
    });
    cand.truncate(n);
    cand.sort();
    cand
}

/// The mode's weights for the neighbours of a point at `ratio` past the
/// left one.
fn coefficients(s: &Sampling, ratio: f64, scale: f64) -> Vec<f64> {
    let a = s.cubic_a;
    let cubic = |x: f64| {
        let x = x.abs();
        if x <= 1.0 {
            (a + 2.0) * x.powi(3) - (a + 3.0) * x * x + 1.0
        } else if x < 2.0 {
            a * x.powi(3) - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a
        } else {
            0.0
        }
    };
    let normalized = |c: Vec<f64>| {
        let total: f64 = c.iter().sum();
        c.into_iter().map(|v| v / total).collect::<Vec<f64>>()
    };
    match (s.mode, s.antialias) {
        (Mode::Nearest, _) => {
            let right = match s.nearest.as_str() {
                _ if ratio == 1.0 => true,
                "round_prefer_ceil" => ratio >= 0.5,
                "floor" => false,
                "ceil" => true,
                _ => ratio > 0.5,
            };
            if right {
                vec![0.0, 1.0]
            } else {
                vec![1.0, 0.0]
            }
        }
        (Mode::Linear, false) => vec![1.0 - ratio, ratio],
        (Mode::Cubic, false) => vec![
            cubic(ratio + 1.0),
            cubic(ratio),
            cubic(1.0 - ratio),
            cubic(2.0 - ratio),
        ],
        (Mode::Linear, true) => {
            let scale = scale.min(1.0);
            let start = (-1.0 / scale).floor() as i64 + 1;
            let footprint = 2 - 2 * start;
            normalized(
                (start..start + footprint)
                    .map(|i| (1.0 - ((i as f64 - ratio) * scale).abs()).clamp(0.0, 1.0))
                    .collect(),
            )
        }
        (Mode::Cubic, true) => {
            let scale = scale.min(1.0);
            let start = (-2.0 / scale).floor() as i64 + 1;
            normalized(
                (start..2 - start)
                    .map(|i| cubic(scale * (i as f64 - ratio)))
                    .collect(),
            )
        }
    }
}
