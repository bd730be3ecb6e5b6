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
/// range-check chain (ReLU takes its sign bit); there are no lookup tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// No non-linearity; the value is only range-checked.
    Identity,
    Relu,
}

impl Activation {
    pub fn apply_f64(self, v: f64) -> f64 {
        match self {
            Activation::Identity => v,
            Activation::Relu => v.max(0.0),
        }
    }

    pub fn apply_i64(self, v: i64) -> i64 {
        match self {
            Activation::Identity => v,
            Activation::Relu => v.max(0),
        }
    }
}

/// `act(Σ weight·value + bias)`, with weights of type `W` (f64 in the float
/// program, fixed-point integers once quantized).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Neuron<W> {
    pub terms: Vec<(ValueId, W)>,
    pub bias: W,
    pub act: Activation,
    /// Index into [`Program::nodes`]: the ONNX node this neuron came from,
    /// so errors can name it.
    pub node: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value<W> {
    /// Element `index` of the flattened model input.
    Input(usize),
    Neuron(Neuron<W>),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Program<W> {
    pub values: Vec<Value<W>>,
    /// Flattened model input length.
    pub num_inputs: usize,
    /// Flattened model output, as value ids (a value may appear twice).
    pub outputs: Vec<ValueId>,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    /// ONNX node names, referenced by [`Neuron::node`].
    pub nodes: Vec<String>,
}

impl<W> Program<W> {
    pub fn neurons(&self) -> impl Iterator<Item = (ValueId, &Neuron<W>)> {
        self.values.iter().enumerate().filter_map(|(id, v)| match v {
            Value::Neuron(n) => Some((id, n)),
            Value::Input(_) => None,
        })
    }

    pub fn num_neurons(&self) -> usize {
        self.neurons().count()
    }

    /// Number of non-zero multiply-accumulate terms over all neurons.
    pub fn num_terms(&self) -> usize {
        self.neurons().map(|(_, n)| n.terms.len()).sum()
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

    /// Evaluate every value with `neuron` given the values computed so far.
    /// Values only refer to earlier ones, so one forward pass suffices.
    pub fn eval_with<T: Clone, E>(
        &self,
        input: &[T],
        mut neuron: impl FnMut(&Neuron<W>, &[T]) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        let mut vals: Vec<T> = Vec::with_capacity(self.values.len());
        for v in &self.values {
            let x = match v {
                Value::Input(i) => input[*i].clone(),
                Value::Neuron(n) => neuron(n, &vals)?,
            };
            vals.push(x);
        }
        Ok(vals)
    }
}

impl<W: Clone> Program<W> {
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
                Value::Neuron(n) if live[id] => n.terms.iter().for_each(|(t, _)| live[*t] = true),
                Value::Neuron(_) => {}
            }
        }
        let mut new_id = vec![usize::MAX; self.values.len()];
        let mut values = Vec::with_capacity(self.values.len());
        for (id, v) in self.values.iter().enumerate().filter(|(id, _)| live[*id]) {
            new_id[id] = values.len();
            values.push(match v {
                Value::Input(i) => Value::Input(*i),
                Value::Neuron(n) => Value::Neuron(Neuron {
                    terms: n.terms.iter().map(|(t, w)| (new_id[*t], w.clone())).collect(),
                    ..n.clone()
                }),
            });
        }
        Program {
            values,
            num_inputs: self.num_inputs,
            outputs: self.outputs.iter().map(|&o| new_id[o]).collect(),
            input_shape: self.input_shape.clone(),
            output_shape: self.output_shape.clone(),
            nodes: self.nodes.clone(),
        }
    }
}

impl Program<f64> {
    /// Float evaluation of the lowered program: every value, in order.
    pub fn eval_f64(&self, input: &[f64]) -> Vec<f64> {
        self.eval_with(input, |n, vals| {
            let acc = n.terms.iter().map(|(id, w)| w * vals[*id]).sum::<f64>() + n.bias;
            Ok::<_, std::convert::Infallible>(n.act.apply_f64(acc))
        })
        .unwrap_or_else(|e| match e {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_drops_dead_neurons_and_renumbers() {
        let nr = |terms: Vec<(ValueId, f64)>, bias: f64| Value::Neuron(Neuron { terms, bias, act: Activation::Identity, node: 0 });
        let p = Program {
            values: vec![
                Value::Input(0),
                nr(vec![], 3.0),                     // 1: dead constant
                nr(vec![(0, 2.0)], 0.0),             // 2: live
                nr(vec![(0, 1.0), (1, 1.0)], 0.0),   // 3: dead, reads 1
                nr(vec![(2, -1.0)], 1.0),            // 4: output
            ],
            num_inputs: 1,
            outputs: vec![4, 2],
            input_shape: vec![1],
            output_shape: vec![2],
            nodes: vec!["n".into()],
        };
        let q = p.prune();
        assert_eq!(q.values.len(), 3);
        assert_eq!(q.outputs, vec![2, 1]);
        assert_eq!(p.eval_f64(&[0.5])[4], q.eval_f64(&[0.5])[2]);
        let Value::Neuron(out) = &q.values[2] else { panic!() };
        assert_eq!(out.terms, vec![(1, -1.0)]);
    }
}
