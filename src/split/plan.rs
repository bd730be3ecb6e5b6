//! Where to cut: few chunks, each within 2^max_k rows, cut where little crosses.

use super::slice::{chunk_program, chunk_slice, Boundaries};
use crate::circuit::layout;
use crate::circuit::public::Visibility;
use crate::model::{Program, Value};
use crate::quant::QuantParams;
use anyhow::{bail, Result};

/// Greedy cuts over the value list: from each start, the longest run whose
/// chunk (with its link columns, in the shape [`layout::choose_shape`]
/// gives it) is laid out in at most 2^max_k rows,
/// found by binary search on its end (rows grow with the run), then the end
/// in its upper half with the narrowest boundary ([`narrowest_cut`]).
/// A cut may fall inside a layer: its neurons are values
/// like any other, and the chunk after the cut takes the layer's input as
/// part of its boundary.
///
/// `visibility(first, last)` is what a chunk exposes: the model's own
/// input for the first, its output for the last, commitments between.
pub fn cuts(
    p: &Program<i64>,
    q: &QuantParams,
    max_k: u32,
    visibility: impl Fn(bool, bool) -> Visibility,
) -> Result<Vec<(usize, usize)>> {
    let b = Boundaries::new(p);
    let widths = b.widths();
    let n = p.values.len();
    let fits = |start: usize, end: usize| {
        let s = chunk_slice(p, &b, 0, 2, (start, end));
        let prog = chunk_program(p, &s);
        let vis = visibility(start <= p.num_inputs, end >= n);
        // The shape the chunk will get: a wider one (two chain bits a row)
        // holds more of a run whose rows are mostly chains.
        layout::choose_shape(&prog, q, vis).is_some_and(|(_, k)| k <= max_k)
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let first_value = start.max(p.num_inputs);
        if !fits(start, first_value + 1) {
            bail!(
                "a chunk starting at {} does not fit in 2^{max_k} rows even with one value (its input boundary carries {} values, one link row each): raise --max-k",
                describe(p, first_value),
                widths[first_value]
            );
        }
        // Largest end in (first_value, n] that fits.
        let (mut lo, mut hi) = (first_value + 1, n);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(start, mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let end = narrowest_cut(&widths, first_value + 1, lo, n);
        out.push((start, end));
        start = end;
    }
    Ok(out)
}

/// Where to end a chunk that may end anywhere in `lo..=hi`: the whole rest
/// when it fits, else the cut with the fewest crossing values in the upper
/// half of the range (the latest among equals). Every crossing value is a
/// link row on both sides (a link column holds at most 2^k rows less its
/// tail) and a value a later chunk reads passes through every chunk
/// between, so cuts between layers keep boundaries short; the upper half
/// keeps chunks at least half full.
fn narrowest_cut(widths: &[usize], lo: usize, hi: usize, n: usize) -> usize {
    if hi >= n {
        return n;
    }
    let from = lo.max(hi - (hi - lo) / 2);
    (from..=hi)
        .min_by_key(|&e| (widths[e], std::cmp::Reverse(e)))
        .unwrap_or(hi)
}

/// "node 'fc1' (value 12)", for errors.
fn describe(p: &Program<i64>, id: usize) -> String {
    match &p.values[id] {
        Value::Neuron(n) => format!(
            "node '{}' (a neuron of {} terms)",
            p.nodes.get(n.node).map_or("?", |s| s.as_str()),
            n.terms.len()
        ),
        Value::Quotient { node, .. } => format!(
            "node '{}' (a quotient)",
            p.nodes.get(*node).map_or("?", |s| s.as_str())
        ),
        Value::Root { node, .. } => format!(
            "node '{}' (a square root)",
            p.nodes.get(*node).map_or("?", |s| s.as_str())
        ),
        Value::Input(i) => format!("model input {i}"),
    }
}
