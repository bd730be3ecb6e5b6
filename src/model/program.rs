//! The one description of a model that every later stage derives from.
//!
//! A [`Program`] is a flat list of scalar values. Each value is either a model
//! input or a *neuron*: `act(Σ wᵢ·xᵢ + b)`. Matrix products, bias adds,
//! element-wise add/sub/scale and ReLU all lower to neurons; reshapes and
//! transposes only re-index values and produce none. The float reference
//! ([`Program::eval_f64`]), the fixed-point witness (`quant`) and the circuit
//! layout (`circuit`) are three readings of this same list, so they cannot
//! drift apart.

use serde::{Deserialize, Serialize};

/// Index of a value in [`Program::values`].
pub type ValueId = usize;

/// Element-wise function applied after the affine part of a neuron.
///
/// Each activation is one result gate in the circuit, reading the neuron's
/// range-check chain: ReLU takes its sign bit, a table function looks up a
/// prefix of it (see [`LutFn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// No non-linearity; the value is only range-checked.
    Identity,
    Relu,
    /// A smooth function read from a lookup table over the value's range.
    Lut(LutFn),
    /// The identity that also asserts the value is non-negative. Never in a
    /// lowered model: the checks of a [`Value::Quotient`] use it.
    NonNeg,
    /// 1 where the value is ≥ 0, else 0: the chain's sign bit, scaled.
    /// Comparisons, Where and ArgMax are built from it.
    Step,
}

/// Functions evaluated through a lookup table. The table is indexed by the
/// top bits of the neuron's range-check chain, so its input precision is
/// `2^(range_bits - lut_bits)` quantization steps (see `quant`), and its
/// outputs saturate at the ends of the activation range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LutFn {
    Sigmoid,
    Tanh,
    Exp,
    /// Natural log; −∞ (saturated) at and below zero.
    Log,
    Erf,
    /// GELU, erf form: `x·Φ(x)`.
    Gelu,
    /// GELU, tanh approximation.
    GeluTanh,
    Sqrt,
    Softplus,
    /// `1/√x`, for LayerNormalization.
    Rsqrt,
    /// `x^e` for a constant exponent, held as the bits of the f64 (so the
    /// enum stays `Eq` and `Ord`); NaN where undefined (a negative base).
    Pow(u64),
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    /// `x·tanh(softplus(x))`.
    Mish,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `round(x)`, halves to even (ONNX Round).
    Round,
    Floor,
    Ceil,
    /// Natural log of a value the lowering bounds below `2^b` whatever the
    /// input (a softmax's `Σ exp(x_i − max)`, at most the group size): a
    /// plain log, which [`crate::model::narrow`] may read at a gain.
    LogOfSum(u8),
    /// `exp(x / 2^g)`: an exp whose input the neuron computes `2^g` times
    /// over, so the table steps `2^g` times finer (see `model::narrow`).
    ExpGained(u8),
    /// `ln(x / 2^g)`, as [`LutFn::ExpGained`].
    LogGained(u8),
}

impl LutFn {
    pub fn apply(self, x: f64) -> f64 {
        match self {
            LutFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            LutFn::Tanh => x.tanh(),
            LutFn::Exp => x.exp(),
            LutFn::Log => x.ln(),
            LutFn::Erf => libm::erf(x),
            LutFn::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            LutFn::GeluTanh => {
                0.5 * x
                    * (1.0
                        + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
            }
            LutFn::Sqrt => x.sqrt(),
            LutFn::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            LutFn::Rsqrt => 1.0 / x.sqrt(),
            LutFn::Pow(e) => x.powf(f64::from_bits(e)),
            LutFn::Sin => x.sin(),
            LutFn::Cos => x.cos(),
            LutFn::Tan => x.tan(),
            LutFn::Asin => x.asin(),
            LutFn::Acos => x.acos(),
            LutFn::Atan => x.atan(),
            LutFn::Sinh => x.sinh(),
            LutFn::Cosh => x.cosh(),
            LutFn::Asinh => x.asinh(),
            LutFn::Acosh => x.acosh(),
            LutFn::Atanh => x.atanh(),
            LutFn::Mish => x * LutFn::Softplus.apply(x).tanh(),
            LutFn::Softsign => x / (1.0 + x.abs()),
            LutFn::Round => x.round_ties_even(),
            LutFn::Floor => x.floor(),
            LutFn::Ceil => x.ceil(),
            LutFn::LogOfSum(_) => x.ln(),
            LutFn::ExpGained(g) => (x / f64::from(g).exp2()).exp(),
            LutFn::LogGained(g) => (x / f64::from(g).exp2()).ln(),
        }
    }

    /// `x^e` as a table function.
    pub fn pow(e: f64) -> LutFn {
        LutFn::Pow(e.to_bits())
    }

    /// The log of a sum of `terms` exps of non-positive inputs: each is at
    /// most 1 (a table's rounding adds a little), so the sum stays below
    /// `2^b` with a bit to spare.
    pub fn log_of_exp_sum(terms: usize) -> LutFn {
        let b = (terms.max(1) as f64).log2().ceil() as u8 + 1;
        LutFn::LogOfSum(b)
    }
}

impl Activation {
    pub fn apply_f64(self, v: f64) -> f64 {
        match self {
            Activation::Identity | Activation::NonNeg => v,
            Activation::Relu => v.max(0.0),
            Activation::Lut(f) => f.apply(v),
            Activation::Step => (v >= 0.0) as u8 as f64,
        }
    }
}

/// `act(Σ weight·value + bias)`, with weights of type `W` (f64 in the float
/// program, fixed-point integers once quantized).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Neuron<W> {
    pub terms: Vec<(ValueId, W)>,
    /// `weight·a·b` terms: element-wise products of two values. Their
    /// weights are quantized at `2^(weight_bits - scale_bits)`, so the
    /// lowering keeps them at ±1 (see `quant::quantize`).
    #[serde(default = "Vec::new")]
    pub products: Vec<(ValueId, ValueId, W)>,
    pub bias: W,
    pub act: Activation,
    /// Index into [`Program::nodes`]: the ONNX node this neuron came from,
    /// so errors can name it.
    pub node: usize,
}

impl<W> Neuron<W> {
    /// A neuron without products.
    pub fn affine(terms: Vec<(ValueId, W)>, bias: W, act: Activation, node: usize) -> Neuron<W> {
        Neuron {
            terms,
            products: Vec::new(),
            bias,
            act,
            node,
        }
    }

    /// Every value the neuron reads, products included.
    pub fn reads(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.terms
            .iter()
            .map(|t| t.0)
            .chain(self.products.iter().flat_map(|p| [p.0, p.1]))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value<W> {
    /// Element `index` of the flattened model input.
    Input(usize),
    Neuron(Neuron<W>),
    /// `num / den` for a positive `den`, rounded as `kind` says. The
    /// circuit proves it with three checked neurons rather than a table:
    /// see `quant::quotient_checks`.
    Quotient {
        num: ValueId,
        den: ValueId,
        node: usize,
        #[serde(default)]
        kind: QuotientKind,
    },
    /// `√(Σ squares² + linear)` at the activation scale, rounded down:
    /// a Euclidean norm (`linear` absent), a square root (`squares`
    /// empty) or both. Exact, where a table steps coarsely over a wide
    /// range, and the squares are never rounded to the activation scale
    /// (tiny ones would vanish) nor held as one value (large ones would
    /// widen the range). Three checked neurons prove it: see
    /// `quant::root_checks`.
    Root {
        squares: Vec<ValueId>,
        linear: Option<ValueId>,
        node: usize,
    },
}

/// How a [`Value::Quotient`] rounds, and at which scale it holds the result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuotientKind {
    /// `num / den` at the activation scale, rounded half up: a real
    /// division.
    #[default]
    Scaled,
    /// `⌊num / den⌋` as a plain integer, *not* at the activation scale, so
    /// that it is exact whatever the scale: integer division. Quantization
    /// multiplies the weight of every term that reads it by `2^scale_bits`
    /// (see `quant::quantize`); nothing else may read it.
    Floor,
    /// `num / den` as a plain integer (like `Floor`), where `den` must
    /// divide `num`: an integer-typed input read through a quotient by 1
    /// is proven a whole number.
    Exact,
}

impl QuotientKind {
    pub fn apply_f64(self, num: f64, den: f64) -> f64 {
        match self {
            QuotientKind::Scaled | QuotientKind::Exact => num / den,
            QuotientKind::Floor => (num / den).floor(),
        }
    }

    /// Whether the quotient is a plain integer, off the activation scale.
    pub fn is_unscaled(self) -> bool {
        matches!(self, QuotientKind::Floor | QuotientKind::Exact)
    }
}

impl Value<f64> {
    /// A [`Value::Root`]'s float value.
    pub fn root_f64(squares: &[ValueId], linear: Option<ValueId>, vals: &[f64]) -> f64 {
        let sum: f64 = squares.iter().map(|&v| vals[v] * vals[v]).sum();
        (sum + linear.map_or(0.0, |v| vals[v])).sqrt()
    }
}

impl<W: Clone> Value<W> {
    /// The value with every id it reads renamed by `rename`: what copying
    /// values into another program (a batch, a pruned or a sliced one)
    /// needs. An input keeps its index.
    pub fn map_ids(&self, rename: impl Fn(ValueId) -> ValueId) -> Value<W> {
        match self {
            Value::Neuron(n) => Value::Neuron(Neuron {
                terms: n
                    .terms
                    .iter()
                    .map(|(t, w)| (rename(*t), w.clone()))
                    .collect(),
                products: n
                    .products
                    .iter()
                    .map(|(a, b, w)| (rename(*a), rename(*b), w.clone()))
                    .collect(),
                ..n.clone()
            }),
            weightless => weightless.weightless_renamed(rename),
        }
    }
}

impl<W> Value<W> {
    /// An input, quotient or root (a value without weights) as a value of
    /// any weight type. Panics on a neuron.
    pub fn without_weights<V>(&self) -> Value<V> {
        self.weightless_renamed(|id| id)
    }

    /// [`Value::without_weights`] with every id it reads renamed by
    /// `rename` (an input keeps its index).
    fn weightless_renamed<V>(&self, rename: impl Fn(ValueId) -> ValueId) -> Value<V> {
        match self {
            Value::Input(i) => Value::Input(*i),
            Value::Quotient {
                num,
                den,
                node,
                kind,
            } => Value::Quotient {
                num: rename(*num),
                den: rename(*den),
                node: *node,
                kind: *kind,
            },
            Value::Root {
                squares,
                linear,
                node,
            } => Value::Root {
                squares: squares.iter().map(|&v| rename(v)).collect(),
                linear: linear.map(&rename),
                node: *node,
            },
            Value::Neuron(_) => panic!("a neuron has weights"),
        }
    }

    /// The ONNX node a non-input value came from.
    pub fn node(&self) -> Option<usize> {
        match self {
            Value::Input(_) => None,
            Value::Neuron(n) => Some(n.node),
            Value::Quotient { node, .. } | Value::Root { node, .. } => Some(*node),
        }
    }

    /// The values this one reads.
    pub fn reads(&self) -> Vec<ValueId> {
        match self {
            Value::Input(_) => vec![],
            Value::Neuron(n) => n.reads().collect(),
            Value::Quotient { num, den, .. } => vec![*num, *den],
            Value::Root {
                squares, linear, ..
            } => squares.iter().chain(linear).copied().collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Program<W> {
    pub values: Vec<Value<W>>,
    /// Flattened model input length: every graph input, in graph order.
    pub num_inputs: usize,
    /// Flattened model output, as value ids (a value may appear twice):
    /// every graph output, in graph order.
    pub outputs: Vec<ValueId>,
    /// Shape of each graph input.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shape of each graph output.
    pub output_shapes: Vec<Vec<usize>>,
    /// ONNX node names, referenced by [`Neuron::node`].
    pub nodes: Vec<String>,
    /// Inferences laid out one after another ([`Program::batched`]): the
    /// values after the inputs are `copies` equal runs, one per copy, with
    /// the same weights. 1 for a model's own program.
    #[serde(default = "one_copy")]
    pub copies: usize,
}

fn one_copy() -> usize {
    1
}

impl<W> Program<W> {
    pub fn neurons(&self) -> impl Iterator<Item = (ValueId, &Neuron<W>)> {
        self.values
            .iter()
            .enumerate()
            .filter_map(|(id, v)| match v {
                Value::Neuron(n) => Some((id, n)),
                Value::Input(_) | Value::Quotient { .. } | Value::Root { .. } => None,
            })
    }

    pub fn num_neurons(&self) -> usize {
        self.neurons().count()
    }

    /// Number of non-zero multiply-accumulate terms over all neurons.
    pub fn num_terms(&self) -> usize {
        self.neurons()
            .map(|(_, n)| n.terms.len() + n.products.len())
            .sum()
    }

    pub fn activations_used(&self) -> Vec<Activation> {
        let mut acts: Vec<Activation> = Vec::new();
        for (_, n) in self.neurons() {
            if !acts.contains(&n.act) {
                acts.push(n.act);
            }
        }
        acts
    }

    /// Evaluate every value with `eval` (called on neurons and quotients)
    /// given the values computed so far. Values only refer to earlier ones,
    /// so one forward pass suffices.
    pub fn eval_with<T: Clone, E>(
        &self,
        input: &[T],
        mut eval: impl FnMut(&Value<W>, &[T]) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        let mut vals: Vec<T> = Vec::with_capacity(self.values.len());
        for v in &self.values {
            let x = match v {
                Value::Input(i) => input[*i].clone(),
                _ => eval(v, &vals)?,
            };
            vals.push(x);
        }
        Ok(vals)
    }

    /// ONNX node index a non-input value came from.
    pub fn node_of(&self, id: ValueId) -> Option<usize> {
        self.values[id].node()
    }

    pub fn has_products(&self) -> bool {
        self.values.iter().any(|v| {
            matches!(v, Value::Neuron(n) if !n.products.is_empty())
                || matches!(v, Value::Quotient { .. } | Value::Root { .. })
        })
    }

    /// The table functions the program uses, sorted.
    pub fn lut_fns(&self) -> Vec<LutFn> {
        let mut fns: Vec<LutFn> = self
            .neurons()
            .filter_map(|(_, n)| {
                if let Activation::Lut(f) = n.act {
                    Some(f)
                } else {
                    None
                }
            })
            .collect();
        fns.sort();
        fns.dedup();
        fns
    }
}

impl<W: Clone> Program<W> {
    /// This program's inputs, shapes and node names over `values`, a
    /// rewrite of its own where `new_id[old]` stands for value `old` (the
    /// outputs follow it).
    pub fn with_values(&self, values: Vec<Value<W>>, new_id: &[ValueId]) -> Program<W> {
        Program {
            values,
            outputs: self.outputs.iter().map(|&o| new_id[o]).collect(),
            num_inputs: self.num_inputs,
            input_shapes: self.input_shapes.clone(),
            output_shapes: self.output_shapes.clone(),
            nodes: self.nodes.clone(),
            copies: self.copies,
        }
    }

    /// `n` copies of the program in one: copy `c` reads inputs
    /// `c·I .. (c+1)·I` and its outputs follow copy `c − 1`'s. The inputs
    /// come first (ids `0 .. n·I`, as every program keeps its inputs
    /// first), then each copy's other values. Weights are the same in
    /// every copy.
    pub fn batched(&self, n: usize) -> Program<W> {
        let (inputs, total) = (self.num_inputs, self.values.len());
        debug_assert!(self.values[..inputs]
            .iter()
            .enumerate()
            .all(|(id, v)| matches!(v, Value::Input(i) if *i == id)));
        let id = |c: usize, v: ValueId| {
            if v < inputs {
                c * inputs + v
            } else {
                n * inputs + c * (total - inputs) + (v - inputs)
            }
        };
        let mut values: Vec<Value<W>> = (0..n * inputs).map(Value::Input).collect();
        for c in 0..n {
            for v in &self.values[inputs..] {
                values.push(v.map_ids(|t| id(c, t)));
            }
        }
        Program {
            values,
            num_inputs: n * inputs,
            outputs: (0..n)
                .flat_map(|c| self.outputs.iter().map(move |&o| id(c, o)))
                .collect(),
            input_shapes: (0..n).flat_map(|_| self.input_shapes.clone()).collect(),
            output_shapes: (0..n).flat_map(|_| self.output_shapes.clone()).collect(),
            nodes: self.nodes.clone(),
            copies: n * self.copies,
        }
    }

    /// The program without the neurons no output depends on (a constant a
    /// later neuron folded into its bias, say). Inputs keep their ids; the
    /// other values are renumbered in order.
    pub fn prune(&self) -> Program<W> {
        let mut live = vec![false; self.values.len()];
        for &o in &self.outputs {
            live[o] = true;
        }
        for id in (0..self.values.len()).rev() {
            match &self.values[id] {
                Value::Input(_) => live[id] = true,
                v if live[id] => v.reads().into_iter().for_each(|t| live[t] = true),
                _ => {}
            }
        }
        let mut new_id = vec![usize::MAX; self.values.len()];
        let mut values = Vec::with_capacity(self.values.len());
        for (id, v) in self.values.iter().enumerate().filter(|(id, _)| live[*id]) {
            new_id[id] = values.len();
            values.push(v.map_ids(|t| new_id[t]));
        }
        Program {
            values,
            num_inputs: self.num_inputs,
            outputs: self.outputs.iter().map(|&o| new_id[o]).collect(),
            input_shapes: self.input_shapes.clone(),
            output_shapes: self.output_shapes.clone(),
            nodes: self.nodes.clone(),
            copies: self.copies,
        }
    }
}

impl Program<f64> {
    /// Float evaluation of the lowered program: every value, in order.
    pub fn eval_f64(&self, input: &[f64]) -> Vec<f64> {
        self.eval_with(input, |v, vals| {
            Ok::<_, std::convert::Infallible>(match v {
                Value::Neuron(n) => n.act.apply_f64(n.pre_activation_f64(vals)),
                Value::Quotient { num, den, kind, .. } => kind.apply_f64(vals[*num], vals[*den]),
                Value::Root {
                    squares, linear, ..
                } => Value::root_f64(squares, *linear, vals),
                Value::Input(_) => unreachable!("eval_with passes only computed values"),
            })
        })
        .unwrap_or_else(|e| match e {})
    }
}

impl Neuron<f64> {
    /// `Σ w·x + Σ w·a·b + bias` over the values so far.
    pub fn pre_activation_f64(&self, vals: &[f64]) -> f64 {
        self.terms.iter().map(|(id, w)| w * vals[*id]).sum::<f64>()
            + self
                .products
                .iter()
                .map(|(a, b, w)| w * vals[*a] * vals[*b])
                .sum::<f64>()
            + self.bias
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_drops_dead_neurons_and_renumbers() {
        let nr = |terms: Vec<(ValueId, f64)>, bias: f64| {
            Value::Neuron(Neuron::affine(terms, bias, Activation::Identity, 0))
        };
        let p = Program {
            values: vec![
                Value::Input(0),
                nr(vec![], 3.0),                   // 1: dead constant
                nr(vec![(0, 2.0)], 0.0),           // 2: live
                nr(vec![(0, 1.0), (1, 1.0)], 0.0), // 3: dead, reads 1
                nr(vec![(2, -1.0)], 1.0),          // 4: output
            ],
            num_inputs: 1,
            outputs: vec![4, 2],
            input_shapes: vec![vec![1]],
            output_shapes: vec![vec![2]],
            nodes: vec!["n".into()],
            copies: 1,
        };
        let q = p.prune();
        // Two copies: each reads its own input, same weights.
        let b = q.batched(2);
        assert_eq!((b.num_inputs, b.values.len(), b.outputs.len()), (2, 6, 4));
        let (one, two) = (q.eval_f64(&[0.5]), b.eval_f64(&[0.5, -0.25]));
        let first: Vec<f64> = q.outputs.iter().map(|&o| one[o]).collect();
        let both: Vec<f64> = b.outputs.iter().map(|&o| two[o]).collect();
        assert_eq!(&both[..2], &first[..]);
        assert_eq!(
            both[2..],
            q.outputs
                .iter()
                .map(|&o| q.eval_f64(&[-0.25])[o])
                .collect::<Vec<_>>()[..]
        );
        assert_eq!(q.values.len(), 3);
        assert_eq!(q.outputs, vec![2, 1]);
        assert_eq!(p.eval_f64(&[0.5])[4], q.eval_f64(&[0.5])[2]);
        let Value::Neuron(out) = &q.values[2] else {
            panic!()
        };
        assert_eq!(out.terms, vec![(1, -1.0)]);
    }
}
