//! Tensors as the lowering sees them: constants known at compile time, and
//! dynamic tensors whose elements are program values.

use super::program::ValueId;

#[derive(Clone, Debug)]
pub struct ConstTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct DynTensor {
    pub shape: Vec<usize>,
    pub ids: Vec<ValueId>,
}

#[derive(Clone, Debug)]
pub enum Sym {
    Const(ConstTensor),
    Dyn(DynTensor),
}

impl Sym {
    pub fn shape(&self) -> &[usize] {
        match self {
            Sym::Const(c) => &c.shape,
            Sym::Dyn(d) => &d.shape,
        }
    }
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Numpy broadcast of two shapes, or `None` when they are incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For each flat index of `out_shape`, the flat index of the element of a
/// tensor of `in_shape` that broadcasting maps onto it.
pub fn broadcast_indices(in_shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let rank = out_shape.len();
    let pad = rank - in_shape.len();
    let in_strides = strides(in_shape);
    let out_strides = strides(out_shape);
    (0..numel(out_shape))
        .map(|flat| {
            let mut idx = 0;
            for d in 0..rank {
                let coord = (flat / out_strides[d]) % out_shape[d];
                if d >= pad && in_shape[d - pad] != 1 {
                    idx += coord * in_strides[d - pad];
                }
            }
            idx
        })
        .collect()
}

/// Flat source index for each element of a transposed tensor.
pub fn transpose_indices(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let out_strides = strides(&out_shape);
    (0..numel(shape))
        .map(|flat| {
            (0..perm.len())
                .map(|d| ((flat / out_strides[d]) % out_shape[d]) * in_strides[perm[d]])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shape(&[2, 3], &[3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shape(&[2, 1], &[1, 4]), Some(vec![2, 4]));
        assert_eq!(broadcast_shape(&[2, 3], &[4]), None);
        assert_eq!(broadcast_indices(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_indices(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn transpose_of_2x3() {
        // [[0,1,2],[3,4,5]]^T = [[0,3],[1,4],[2,5]]
        assert_eq!(transpose_indices(&[2, 3], &[1, 0]), vec![0, 3, 1, 4, 2, 5]);
    }
}
