//! Cutting a quantized [`Program`] into chunks at value boundaries.
//!
//! A cut at value `c` splits the flat list into `[..c)` and `[c..)`. What
//! crosses it, the *boundary*, is every value before `c` that a value at or
//! after `c` reads, or that is a model output: exactly what the later part
//! needs. A chunk `[a, b)` takes `boundary(a)` as its input and gives
//! `boundary(b)` as its output, so one chunk's output tensor is, element for
//! element, the next chunk's input tensor, and the two proofs can be linked
//! by equal commitments. A value that skips a chunk (a residual connection)
//! passes through it: it is in both boundaries.
//!
//! Every value is a fixed-point integer at the program's one activation
//! scale, so a boundary value means the same thing on both sides.

use crate::model::program::{Value, ValueId};
use crate::model::Program;
use serde::{Deserialize, Serialize};

/// Which values cross which cut, from one pass over the program.
pub struct Boundaries {
    /// For each value, the last value that reads it (`usize::MAX` for a
    /// model output: it must reach the end).
    last_reader: Vec<usize>,
    num_inputs: usize,
}

impl Boundaries {
    pub fn new(p: &Program<i64>) -> Boundaries {
        let mut last_reader = vec![0usize; p.values.len()];
        for (id, v) in p.values.iter().enumerate() {
            for r in v.reads() {
                last_reader[r] = last_reader[r].max(id);
            }
        }
        for &o in &p.outputs {
            last_reader[o] = usize::MAX;
        }
        Boundaries {
            last_reader,
            num_inputs: p.num_inputs,
        }
    }

    /// How many values cross each cut `0..=n`, in one sweep: a value
    /// enters the boundary after it is computed and leaves after its last
    /// reader.
    pub fn widths(&self) -> Vec<usize> {
        let n = self.last_reader.len();
        let mut leaving = vec![0usize; n + 1];
        for (v, &last) in self.last_reader.iter().enumerate() {
            if last != usize::MAX && last > v {
                leaving[last + 1] += 1;
            }
        }
        let mut widths = Vec::with_capacity(n + 1);
        let mut live = 0usize;
        for (cut, &leave) in leaving.iter().enumerate() {
            if cut > 0 {
                let v = cut - 1;
                if self.last_reader[v] > v {
                    live += 1;
                }
                live -= leave;
            }
            widths.push(if cut <= self.num_inputs {
                self.num_inputs
            } else {
                live
            });
        }
        widths
    }

    /// The values before `cut` still needed at or after it, in id order.
    pub fn at(&self, cut: usize) -> Vec<ValueId> {
        if cut <= self.num_inputs {
            return (0..self.num_inputs).collect();
        }
        (0..cut).filter(|&v| self.last_reader[v] >= cut).collect()
    }
}

/// Where one chunk sits in the model's quantized program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSlice {
    /// This chunk's index and how many chunks the model has.
    pub index: usize,
    pub count: usize,
    /// The program values it computes, `start..end`.
    pub start: usize,
    pub end: usize,
    /// Its input tensor: program values computed by earlier chunks (the
    /// model input for the first).
    pub inputs: Vec<ValueId>,
    /// Its output tensor: program values later chunks read (the model
    /// output for the last).
    pub outputs: Vec<ValueId>,
    /// The length of every link column's tail `T` in this build
    /// (`proof::link`): one length for all chunks, so linked columns are
    /// padded alike, and longer than any chunk's blinding rows.
    #[serde(default)]
    pub link_tail_len: usize,
}

impl ChunkSlice {
    pub fn is_first(&self) -> bool {
        self.index == 0
    }

    pub fn is_last(&self) -> bool {
        self.index + 1 == self.count
    }
}

/// The chunk `[start, end)` of `p`; the first chunk starts at 0 and keeps
/// the model input, the last ends at `p.values.len()` and gives the model
/// output.
pub fn chunk_slice(
    p: &Program<i64>,
    b: &Boundaries,
    index: usize,
    count: usize,
    (start, end): (usize, usize),
) -> ChunkSlice {
    let start = start.max(p.num_inputs);
    let inputs = b.at(start);
    let outputs = if end >= p.values.len() {
        p.outputs.clone()
    } else {
        b.at(end)
    };
    ChunkSlice {
        index,
        count,
        start,
        end: end.min(p.values.len()),
        inputs,
        outputs,
        link_tail_len: 0,
    }
}

/// The program of one chunk: its inputs become `Input` values `0..n`, then
/// the values `start..end` follow, renumbered.
pub fn chunk_program(p: &Program<i64>, s: &ChunkSlice) -> Program<i64> {
    let n_in = s.inputs.len();
    let new_id = |v: ValueId| -> ValueId {
        if v >= s.start {
            n_in + (v - s.start)
        } else {
            s.inputs
                .binary_search(&v)
                .expect("a chunk reads only its inputs and its own values")
        }
    };
    let mut values: Vec<Value<i64>> = (0..n_in).map(Value::Input).collect();
    for v in &p.values[s.start..s.end] {
        assert!(
            !matches!(v, Value::Input(_)),
            "model inputs come before every cut"
        );
        values.push(v.map_ids(new_id));
    }
    let (input_shapes, output_shapes) = if s.count == 1 {
        (p.input_shapes.clone(), p.output_shapes.clone())
    } else {
        (
            if s.is_first() {
                p.input_shapes.clone()
            } else {
                vec![vec![n_in]]
            },
            if s.is_last() {
                p.output_shapes.clone()
            } else {
                vec![vec![s.outputs.len()]]
            },
        )
    };
    Program {
        values,
        num_inputs: n_in,
        outputs: s.outputs.iter().map(|&v| new_id(v)).collect(),
        input_shapes,
        output_shapes,
        nodes: p.nodes.clone(),
        copies: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::program::{Activation, Neuron};

    /// x0, x1 -> a = x0 + x1 -> b = relu(a) -> c = a - b (a skips b's
    /// chunk) ; outputs [c, b].
    fn program() -> Program<i64> {
        crate::quant::quantize(&float_program(), &quant()).unwrap()
    }

    fn quant() -> crate::quant::QuantParams {
        crate::quant::QuantParams {
            scale_bits: 4,
            weight_bits: 4,
            range_bits: 12,
            lut_bits: 8,
        }
    }

    fn float_program() -> Program<f64> {
        let n = |terms: Vec<(usize, f64)>, act| Value::Neuron(Neuron::affine(terms, 0.0, act, 0));
        Program {
            values: vec![
                Value::Input(0),
                Value::Input(1),
                n(vec![(0, 1.0), (1, 1.0)], Activation::Identity),
                n(vec![(2, 1.0)], Activation::Relu),
                n(vec![(2, 1.0), (3, -1.0)], Activation::Identity),
            ],
            num_inputs: 2,
            outputs: vec![4, 3],
            input_shapes: vec![vec![2]],
            output_shapes: vec![vec![2]],
            nodes: vec!["n".into()],
            copies: 1,
        }
    }

    #[test]
    fn boundaries_hold_what_later_values_read() {
        let p = program();
        let b = Boundaries::new(&p);
        assert_eq!(b.at(0), vec![0, 1]);
        assert_eq!(b.at(3), vec![2], "x0, x1 are read by a only");
        assert_eq!(b.at(4), vec![2, 3], "a skips over b to c");
        assert_eq!(b.at(5), vec![3, 4], "outputs stay live to the end");
        let widths = b.widths();
        for cut in 0..=p.values.len() {
            assert_eq!(widths[cut], b.at(cut).len(), "cut {cut}");
        }
    }

    #[test]
    fn chained_chunks_compute_what_the_whole_program_does() {
        let p = program();
        let b = Boundaries::new(&p);
        let q = quant();
        for x in [[5i64, -9], [40, 3]] {
            chain(&p, &b, &q, &x);
        }
    }

    /// Each chunk on the previous one's output gives the whole program's
    /// values at its boundary, and the last gives the model's outputs.
    fn chain(p: &Program<i64>, b: &Boundaries, q: &crate::quant::QuantParams, x: &[i64]) {
        let whole = crate::quant::forward(p, q, x).unwrap();
        let want: Vec<i64> = p.outputs.iter().map(|&o| whole[o]).collect();
        let cuts = [(0, 3), (3, 4), (4, 5)];
        let mut carried = x.to_vec();
        for (i, &cut) in cuts.iter().enumerate() {
            let s = chunk_slice(p, b, i, cuts.len(), cut);
            let c = chunk_program(p, &s);
            assert_eq!(c.num_inputs, carried.len());
            let vals = crate::quant::forward(&c, q, &carried).unwrap();
            let next: Vec<i64> = c.outputs.iter().map(|&o| vals[o]).collect();
            // The chunk's outputs are the whole program's values at the
            // boundary ids.
            let expect: Vec<i64> = s.outputs.iter().map(|&v| whole[v]).collect();
            assert_eq!(next, expect, "chunk {i}");
            carried = next;
        }
        assert_eq!(carried, want);
    }
}
