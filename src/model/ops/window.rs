//! Geometry shared by several lowerings: the sliding window of convolutions
//! and pools (kernel, strides, dilations, explicit or automatic padding),
//! and the element groups of reductions.

use super::*;

/// A window sliding over the spatial dims of an `[N, C, spatial...]` tensor.
pub(super) struct Window {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pad_begin: Vec<usize>,
    pad_end: Vec<usize>,
    input: Vec<usize>,
    pub output: Vec<usize>,
}

impl Window {
    /// A pooling window from the node's `kernel_shape` (required) and its
    /// strides, pads and dilations.
    pub fn from_kernel_attr(n: &NodeCtx, input: &[usize]) -> Result<Window, ModelError> {
        let kernel: Vec<usize> = n
            .attr_ints("kernel_shape")
            .ok_or_else(|| n.err("missing kernel_shape"))?
            .iter()
            .map(|&k| k.max(0) as usize)
            .collect();
        Window::new(n, input, kernel)
    }

    /// The window of node `n` over spatial dims `input` with kernel
    /// `kernel`, from the attributes `strides`, `dilations`, `pads` and
    /// `auto_pad` (NOTSET, VALID, SAME_UPPER, SAME_LOWER).
    pub fn new(n: &NodeCtx, input: &[usize], kernel: Vec<usize>) -> Result<Window, ModelError> {
        let r = input.len();
        let list = |name: &str, default: i64, min: i64| -> Result<Vec<usize>, ModelError> {
            let v = n.attr_ints(name).unwrap_or_else(|| vec![default; r]);
            if v.len() != r || v.iter().any(|&x| x < min) {
                return Err(n.err(format!("{name} {v:?} does not fit {r} spatial dims")));
            }
            Ok(v.iter().map(|&x| x as usize).collect())
        };
        let strides = list("strides", 1, 1)?;
        let dilations = list("dilations", 1, 1)?;
        if kernel.len() != r || kernel.contains(&0) {
            return Err(n.err(format!("kernel {kernel:?} does not fit {r} spatial dims")));
        }
        let ceil = n.attr_int("ceil_mode", 0) != 0;
        let eff: Vec<usize> = (0..r).map(|i| (kernel[i] - 1) * dilations[i] + 1).collect();
        let auto_pad = n
            .attr("auto_pad")
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .unwrap_or_default();
        let (pad_begin, pad_end): (Vec<usize>, Vec<usize>) = match auto_pad.as_str() {
            "" | "NOTSET" => {
                let pads = n.attr_ints("pads").unwrap_or_else(|| vec![0; 2 * r]);
                if pads.len() != 2 * r || pads.iter().any(|&p| p < 0) {
                    return Err(n.err(format!("pads {pads:?} do not fit {r} spatial dims")));
                }
                (
                    pads[..r].iter().map(|&p| p as usize).collect(),
                    pads[r..].iter().map(|&p| p as usize).collect(),
                )
            }
            "VALID" => (vec![0; r], vec![0; r]),
            "SAME_UPPER" | "SAME_LOWER" => (0..r)
                .map(|i| {
                    let out = input[i].div_ceil(strides[i]);
                    let total = ((out - 1) * strides[i] + eff[i]).saturating_sub(input[i]);
                    let small = total / 2;
                    if auto_pad == "SAME_UPPER" {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    }
                })
                .unzip(),
            other => return Err(n.err(format!("unknown auto_pad '{other}'"))),
        };
        let mut output = Vec::with_capacity(r);
        for i in 0..r {
            let padded = input[i] + pad_begin[i] + pad_end[i];
            if padded < eff[i] {
                return Err(n.err(format!(
                    "kernel {kernel:?} is larger than the padded input {input:?}"
                )));
            }
            let span = padded - eff[i];
            let mut out = if ceil {
                span.div_ceil(strides[i])
            } else {
                span / strides[i]
            } + 1;
            // With ceil_mode, the last window must start inside the input
            // or its leading padding (ONNX and PyTorch drop it otherwise).
            if ceil && (out - 1) * strides[i] >= input[i] + pad_begin[i] {
                out -= 1;
            }
            output.push(out);
        }
        Ok(Window {
            kernel,
            strides,
            dilations,
            pad_begin,
            pad_end,
            input: input.to_vec(),
            output,
        })
    }

    /// For output position `o`, the kernel taps inside the input or the
    /// explicit padding (not beyond it, where a ceil-mode window may hang):
    /// the divisor of an average that counts padding.
    pub fn taps_in_padding(&self, o: usize) -> usize {
        let r = self.input.len();
        let (os, ks) = (strides(&self.output), strides(&self.kernel));
        (0..self.kernel_numel())
            .filter(|&kk| {
                (0..r).all(|d| {
                    let oc = (o / os[d]) % self.output[d];
                    let kc = (kk / ks[d]) % self.kernel[d];
                    let pos = (oc * self.strides[d] + kc * self.dilations[d]) as i64
                        - self.pad_begin[d] as i64;
                    pos < (self.input[d] + self.pad_end[d]) as i64
                })
            })
            .count()
    }

    pub fn in_numel(&self) -> usize {
        numel(&self.input)
    }

    pub fn out_numel(&self) -> usize {
        numel(&self.output)
    }

    pub fn kernel_numel(&self) -> usize {
        numel(&self.kernel)
    }

    /// For output position `o` (flat over the spatial output dims), each
    /// kernel offset (flat) with the flat input position it reads, or `None`
    /// where it falls in the padding.
    pub fn taps(&self, o: usize) -> Vec<(usize, Option<usize>)> {
        let r = self.input.len();
        let (os, ks, is) = (
            strides(&self.output),
            strides(&self.kernel),
            strides(&self.input),
        );
        (0..self.kernel_numel())
            .map(|kk| {
                let mut flat = 0;
                for d in 0..r {
                    let oc = (o / os[d]) % self.output[d];
                    let kc = (kk / ks[d]) % self.kernel[d];
                    let pos = (oc * self.strides[d] + kc * self.dilations[d]) as i64
                        - self.pad_begin[d] as i64;
                    if pos < 0 || pos >= self.input[d] as i64 {
                        return (kk, None);
                    }
                    flat += pos as usize * is[d];
                }
                (kk, Some(flat))
            })
            .collect()
    }
}

/// The axes a Reduce* node reduces over (attribute `axes`, or input #1 from
/// opset 13/18 on), normalized and sorted; `None` when it is a no-op
/// (`noop_with_empty_axes` with no axes).
pub(super) fn reduce_axes(n: &NodeCtx, rank: usize) -> Result<Option<Vec<usize>>, ModelError> {
    let raw: Vec<i64> = match (n.attr_ints("axes"), n.opt_input(1)) {
        (Some(a), _) => a,
        (None, Some(Sym::Const(c))) => const_ints(c),
        (None, Some(Sym::Dyn(_))) => return Err(n.err("axes must be a constant")),
        (None, None) => vec![],
    };
    if raw.is_empty() {
        return Ok(if n.attr_int("noop_with_empty_axes", 0) != 0 {
            None
        } else {
            Some((0..rank).collect())
        });
    }
    let mut axes = Vec::new();
    for a in raw {
        let ax = n.axis_index(a, rank)?;
        if !axes.contains(&ax) {
            axes.push(ax);
        }
    }
    axes.sort_unstable();
    Ok(Some(axes))
}

/// A reduction of a tensor of `shape` over `axes`: the output shape (the
/// reduced dims kept as 1 or dropped) and, per output element, the flat
/// input indices it reduces, in order.
pub(super) fn reduce_groups(
    shape: &[usize],
    axes: &[usize],
    keepdims: bool,
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let kept: Vec<usize> = shape
        .iter()
        .enumerate()
        .map(|(d, &s)| if axes.contains(&d) { 1 } else { s })
        .collect();
    let (in_strides, out_strides) = (strides(shape), strides(&kept));
    let mut groups = vec![Vec::new(); numel(&kept)];
    for i in 0..numel(shape) {
        let o: usize = (0..shape.len())
            .filter(|d| !axes.contains(d))
            .map(|d| ((i / in_strides[d]) % shape[d]) * out_strides[d])
            .sum();
        groups[o].push(i);
    }
    let out_shape = if keepdims {
        kept
    } else {
        shape
            .iter()
            .enumerate()
            .filter(|(d, _)| !axes.contains(d))
            .map(|(_, &s)| s)
            .collect()
    };
    (out_shape, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_groups_of_2x3() {
        let (shape, groups) = reduce_groups(&[2, 3], &[1], false);
        assert_eq!(shape, vec![2]);
        assert_eq!(groups, vec![vec![0, 1, 2], vec![3, 4, 5]]);
        let (shape, groups) = reduce_groups(&[2, 3], &[0], true);
        assert_eq!(shape, vec![1, 3]);
        assert_eq!(groups, vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
        let (shape, groups) = reduce_groups(&[2, 3], &[0, 1], false);
        assert_eq!(shape, Vec::<usize>::new());
        assert_eq!(groups, vec![vec![0, 1, 2, 3, 4, 5]]);
    }
}
