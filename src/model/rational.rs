//! Table-free tanh and sigmoid for models that use only a handful.
//!
//! A lookup table costs the verifier the same whatever uses it: three fixed
//! table columns and three lookup commitments, 54k gas on `chess_policy`
//! (380,300 with its one tanh, 326,398 with the tanh taken out, one run).
//! A model whose only table functions are tanh and sigmoid, in at most
//! [`MAX_RATIONAL_NEURONS`] neurons, gets each as a rational function
//! instead, built from the exact parts every circuit has (ReLUs, products,
//! one quotient): about ten neurons each, no table.
//!
//! `tanh(x) ≈ c·(945 + 105c² + c⁴) / (945 + 420c² + 15c⁴)` (the [5/4] Padé
//! approximant) with `c = clamp(x, −32/9, 32/9)`: within 0.0012 of tanh on
//! every real (the worst where the clamp starts; a wider clamp overshoots
//! 1). Sigmoid is `(1 + tanh(x/2))/2`. The polynomials are
//! taken in `v = 9c/32 ∈ [−1, 1]` and scaled into [0.1, 1.05], and the
//! clamp's ReLUs read `(x ∓ 32/9)/8`: no new value is tiny (it would lose
//! its digits at the activation scale) or much above 1 (it would widen the
//! activation range, and coarsen every value of the model).

use super::program::{Activation, LutFn, Neuron, Program, QuotientKind, Value, ValueId};

/// Most tanh and sigmoid neurons a model may have to lose its table: ten
/// neurons each replace one lookup, so beyond this the table is cheaper.
pub const MAX_RATIONAL_NEURONS: usize = 16;

/// Largest error of the rational tanh against tanh, over every real (the
/// sigmoid's is half of it), in real arithmetic; fixed point adds about 6
/// quanta (see [`MIN_SCALE_BITS`]).
pub const MAX_ERROR: f64 = 0.0012;

/// Clamp bound of the argument of tanh: near where the approximant's error
/// is smallest (0.00106 at 3.5, 0.00117 here, 0.0023 at 4, where it
/// exceeds 1), and 32/9 so that `1/BOUND` and `8/BOUND` are exact at
/// any weight precision: the clamp stays flat in fixed point.
const BOUND: f64 = 32.0 / 9.0;

/// Finest scale at which the rational form is used: its quotient divides
/// by as little as 0.11, so its rounding error is about 6 quanta (0.0015
/// at 2^12, 0.028 at 2^8 against a 0.02 tolerance); coarser models keep
/// the table, whose `table_bits` search can buy precision with rows.
pub const MIN_SCALE_BITS: u32 = 12;

/// How a model is compiled, as far as the choice of a table goes.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub scale_bits: u32,
    /// Weights in fixed columns: with private or hashed weights the rational
    /// form's coefficients would be advice (any rational shape), where a
    /// table's fixed columns pin the function.
    pub fixed_weights: bool,
    /// Copies laid out (each has its own rational forms; one table serves
    /// them all).
    pub batch: usize,
}

/// Whether `p`, compiled as `c` says, goes table-free: see [`worth_it`]
/// and [`MIN_SCALE_BITS`].
pub fn applies(p: &Program<f64>, c: Context) -> bool {
    c.scale_bits >= MIN_SCALE_BITS && c.fixed_weights && worth_it(p, c.batch.max(1))
}

/// `p` as it is compiled under `c`: table-free where [`applies`].
pub fn in_context(p: &Program<f64>, c: Context) -> std::borrow::Cow<'_, Program<f64>> {
    match applies(p, c) {
        true => std::borrow::Cow::Owned(without_tables(p)),
        false => std::borrow::Cow::Borrowed(p),
    }
}

/// Whether `p` may go table-free: every table neuron it has is a tanh or
/// a sigmoid, and `copies` copies of it have at most
/// [`MAX_RATIONAL_NEURONS`] of them.
pub fn worth_it(p: &Program<f64>, copies: usize) -> bool {
    let tables: Vec<LutFn> = p
        .neurons()
        .filter_map(|(_, n)| match n.act {
            Activation::Lut(f) => Some(f),
            _ => None,
        })
        .collect();
    !tables.is_empty()
        && tables.len() * copies <= MAX_RATIONAL_NEURONS
        && tables
            .iter()
            .all(|f| matches!(f, LutFn::Tanh | LutFn::Sigmoid))
}

/// `p` with every tanh and sigmoid neuron replaced by its rational form.
pub fn without_tables(p: &Program<f64>) -> Program<f64> {
    let mut out = Rewrite {
        values: Vec::with_capacity(p.values.len()),
    };
    let mut new_id: Vec<ValueId> = Vec::with_capacity(p.values.len());
    for v in &p.values {
        let mapped = v.map_ids(|t| new_id[t]);
        let id = match mapped {
            Value::Neuron(n) if matches!(n.act, Activation::Lut(LutFn::Tanh)) => {
                out.tanh(n, 1.0, 0.0)
            }
            // σ(x) = 0.5 + 0.5·tanh(x/2)
            Value::Neuron(n) if matches!(n.act, Activation::Lut(LutFn::Sigmoid)) => {
                out.tanh(n, 0.5, 0.5)
            }
            other => out.push(other),
        };
        new_id.push(id);
    }
    p.with_values(out.values, &new_id)
}

struct Rewrite {
    values: Vec<Value<f64>>,
}

impl Rewrite {
    fn push(&mut self, v: Value<f64>) -> ValueId {
        self.values.push(v);
        self.values.len() - 1
    }

    fn neuron(
        &mut self,
        terms: Vec<(ValueId, f64)>,
        products: Vec<(ValueId, ValueId, f64)>,
        bias: f64,
        act: Activation,
        node: usize,
    ) -> ValueId {
        self.push(Value::Neuron(Neuron {
            terms,
            products,
            bias,
            act,
            node,
        }))
    }

    /// `offset + (1 − offset)·tanh(gain·x)` for `n`'s pre-activation `x`:
    /// tanh for `(1, 0)`, sigmoid for `(0.5, 0.5)`.
    fn tanh(&mut self, n: Neuron<f64>, gain: f64, offset: f64) -> ValueId {
        let node = n.node;
        let identity = Activation::Identity;
        let x = self.push(Value::Neuron(Neuron { act: identity, ..n }));
        // c = clamp(g·x, −L, L) = g·(x − 8·relu((x − L/g)/8) + 8·relu((−x − L/g)/8)):
        // the ReLUs read (x ∓ L/g)/8, so they do not widen the range.
        let edge = BOUND / gain;
        let relu = |r: &mut Rewrite, w: f64| {
            r.neuron(
                vec![(x, w / 8.0)],
                vec![],
                -edge / 8.0,
                Activation::Relu,
                node,
            )
        };
        let (above, below) = (relu(self, 1.0), relu(self, -1.0));
        // v = c / L in [−1, 1].
        let k = gain / BOUND;
        let v = self.neuron(
            vec![(x, k), (above, -8.0 * k), (below, 8.0 * k)],
            vec![],
            0.0,
            identity,
            node,
        );
        let v2 = self.neuron(vec![], vec![(v, v, 1.0)], 0.0, identity, node);
        let v4 = self.neuron(vec![], vec![(v2, v2, 1.0)], 0.0, identity, node);
        // In v: N = 945 + 105L²v² + L⁴v⁴, D = 945 + 420L²v² + 15L⁴v⁴, and
        // tanh(c) = v·(L·N)/D. Divided by D(1): L·N/D(1) ∈ [0.39, 1.05] and
        // D/D(1) ∈ [0.11, 1], so nothing the quotient reads is tiny (it
        // would lose its digits) or large (it would widen the range).
        let (l2, l4) = (BOUND * BOUND, BOUND.powi(4));
        let d1 = 945.0 + 420.0 * l2 + 15.0 * l4;
        let poly = |r: &mut Rewrite, c: [f64; 3], k: f64| {
            r.neuron(
                vec![(v2, k * c[1] * l2 / d1), (v4, k * c[2] * l4 / d1)],
                vec![],
                k * c[0] / d1,
                identity,
                node,
            )
        };
        let num = poly(self, [945.0, 105.0, 1.0], BOUND);
        let den = poly(self, [945.0, 420.0, 15.0], 1.0);
        let vn = self.neuron(vec![], vec![(v, num, 1.0)], 0.0, identity, node);
        let t = self.push(Value::Quotient {
            num: vn,
            den,
            node,
            kind: QuotientKind::Scaled,
        });
        if offset == 0.0 {
            return t;
        }
        self.neuron(vec![(t, 1.0 - offset)], vec![], offset, identity, node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(act: Activation) -> Program<f64> {
        Program {
            values: vec![
                Value::Input(0),
                Value::Neuron(Neuron::affine(vec![(0, 2.0)], 0.1, act, 0)),
            ],
            num_inputs: 1,
            outputs: vec![1],
            input_shapes: vec![vec![1]],
            output_shapes: vec![vec![1]],
            nodes: vec!["f".into()],
            copies: 1,
        }
    }

    #[test]
    fn rational_tanh_and_sigmoid_are_within_two_thousandths_everywhere() {
        for (f, exact) in [
            (LutFn::Tanh, f64::tanh as fn(f64) -> f64),
            (LutFn::Sigmoid, |x: f64| 1.0 / (1.0 + (-x).exp())),
        ] {
            let p = one(Activation::Lut(f));
            assert!(worth_it(&p, 1));
            let r = without_tables(&p);
            assert!(r.lut_fns().is_empty());
            for i in -400..=400 {
                let x = i as f64 / 20.0;
                let ours = r.eval_f64(&[x])[r.outputs[0]];
                let want = exact(2.0 * x + 0.1);
                assert!((ours - want).abs() < 0.0015, "{f:?}({x}): {ours} vs {want}");
            }
        }
    }

    #[test]
    fn other_tables_or_many_neurons_keep_the_table() {
        assert!(!worth_it(&one(Activation::Lut(LutFn::Exp)), 1));
        assert!(!worth_it(&one(Activation::Relu), 1));
        assert!(!worth_it(
            &one(Activation::Lut(LutFn::Tanh)),
            MAX_RATIONAL_NEURONS + 1
        ));
        let mut p = one(Activation::Lut(LutFn::Tanh));
        for _ in 0..MAX_RATIONAL_NEURONS {
            p.values.push(Value::Neuron(Neuron::affine(
                vec![(0, 1.0)],
                0.0,
                Activation::Lut(LutFn::Tanh),
                0,
            )));
        }
        assert!(!worth_it(&p, 1));
    }
}
