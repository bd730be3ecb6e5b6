//! LSTM, GRU and RNN, unrolled over the (fixed) sequence length.
//!
//! One driver walks directions, batch entries and time steps and keeps the
//! state; each op only writes its cell ([`Cell::step`]): gate
//! pre-activations are neurons over the step's input and the previous
//! hidden state with the constant weights `W`, `R` and biases, gate
//! activations are tables (sigmoid, tanh) or ReLU, and the element-wise
//! gate products are product neurons.

use super::pwl::clamp;
use super::smooth::product;
use super::*;
use crate::model::LutFn;

/// What every recurrent op shares: its constant weights and the shape of
/// the unrolled computation.
struct Rec<'a> {
    n: &'a NodeCtx<'a>,
    x: Sym,
    /// `[dirs, gates·H, I]` and `[dirs, gates·H, H]`.
    w: ConstTensor,
    r: ConstTensor,
    /// `[dirs, 2·gates·H]`: `Wb` then `Rb` (zeros when absent).
    b: Vec<f64>,
    hidden: usize,
    seq: usize,
    batch: usize,
    input: usize,
    dirs: usize,
    reverse: bool,
    /// Batch-first tensors (`layout = 1`).
    batch_first: bool,
    /// Activation functions, as named in the `activations` attribute.
    acts: Vec<Act>,
}

/// A gate activation and its parameters.
#[derive(Clone, Copy, Debug)]
enum Act {
    Sigmoid,
    Tanh,
    Relu,
    HardSigmoid(f64, f64),
    Affine(f64, f64),
    LeakyRelu(f64),
}

impl Act {
    fn apply(self, l: &mut Lowering, node: usize, form: Affine) -> Elem {
        match self {
            Act::Sigmoid => l.activated(node, form, Activation::Lut(LutFn::Sigmoid)),
            Act::Tanh => l.activated(node, form, Activation::Lut(LutFn::Tanh)),
            Act::Relu => l.activated(node, form, Activation::Relu),
            Act::HardSigmoid(a, b) => {
                let mut f = form.times(a);
                f.bias += b;
                let v = l.element(node, f);
                clamp(l, node, v, Some(0.0), Some(1.0), false)
            }
            Act::Affine(a, b) => {
                let mut f = form.times(a);
                f.bias += b;
                l.element(node, f)
            }
            Act::LeakyRelu(a) => {
                // max(x, a·x) for a < 1: x − (1 − a)·relu(−x).
                let v = l.element(node, form.clone());
                let r = l.activated(node, Affine::of(v).times(-1.0), Activation::Relu);
                let mut out = Affine::of(v);
                out.add_scaled(&Affine::of(r), -(1.0 - a));
                l.element(node, out)
            }
        }
    }
}

/// One recurrent cell: its gate count, the activations it takes by
/// default, and one time step.
trait Cell {
    const GATES: usize;
    /// The default activations of one direction.
    fn default_acts() -> Vec<&'static str>;
    /// `(h, c)` after one step from `(h, c)` on input `x_t`; `c` is empty
    /// for cells without one. [`Rec::gate`] gives a gate's pre-activation.
    fn step(
        &self,
        rec: &Rec,
        l: &mut Lowering,
        dir: usize,
        x_t: &[Elem],
        h: &[Elem],
        c: &[Elem],
    ) -> (Vec<Elem>, Vec<Elem>);
}

impl<'a> Rec<'a> {
    fn parse(
        n: &'a NodeCtx<'a>,
        gates: usize,
        default_acts: &[&str],
    ) -> Result<Rec<'a>, ModelError> {
        let x = n.input(0)?.clone();
        let w = n.constant(1, "W")?.clone();
        let r = n.constant(2, "R")?.clone();
        let batch_first = n.attr_int("layout", 0) != 0;
        let [a, b, input] = x.shape()[..] else {
            return Err(n.err(format!("X must be 3-D, got {:?}", x.shape())));
        };
        let (seq, batch) = if batch_first { (b, a) } else { (a, b) };
        let direction = n
            .attr("direction")
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .unwrap_or_else(|| "forward".into());
        let (dirs, reverse) = match direction.as_str() {
            "forward" => (1, false),
            "reverse" => (1, true),
            "bidirectional" => (2, false),
            other => return Err(n.err(format!("direction '{other}'"))),
        };
        let hidden = match n.attr_int("hidden_size", 0) {
            h if h > 0 => h as usize,
            _ => r.shape.last().copied().unwrap_or(0),
        };
        if w.shape != [dirs, gates * hidden, input] || r.shape != [dirs, gates * hidden, hidden] {
            return Err(n.err(format!("W {:?} / R {:?} do not fit {dirs} direction(s), {gates} gates of {hidden} units, {input} inputs", w.shape, r.shape)));
        }
        let b = match n.opt_input(3) {
            Some(_) => n.constant(3, "B")?.data.clone(),
            None => vec![0.0; dirs * 2 * gates * hidden],
        };
        if b.len() != dirs * 2 * gates * hidden {
            return Err(n.err(format!(
                "B has {} values, expected {}",
                b.len(),
                dirs * 2 * gates * hidden
            )));
        }
        if let Some(Sym::Const(lens)) = n.opt_input(4) {
            if lens.data.iter().any(|&v| v as usize != seq) {
                return Err(n.err("sequence_lens other than the full sequence are not supported"));
            }
        } else if let Some(Sym::Dyn(_)) = n.opt_input(4) {
            return Err(n.err("sequence_lens must be a constant"));
        }
        if n.attr("clip").is_some() {
            return Err(n.err("the clip attribute is not supported"));
        }
        let acts = parse_acts(n, default_acts, dirs)?;
        Ok(Rec {
            n,
            x,
            w,
            r,
            b,
            hidden,
            seq,
            batch,
            input,
            dirs,
            reverse,
            batch_first,
            acts,
        })
    }

    /// Element `(t, b, k)` of X.
    fn x_at(&self, t: usize, b: usize, k: usize) -> Elem {
        let i = if self.batch_first {
            (b * self.seq + t) * self.input + k
        } else {
            (t * self.batch + b) * self.input + k
        };
        elem(&self.x, i)
    }

    /// An initial state input (`[dirs, batch, H]`), zeros when absent.
    fn initial(&self, i: usize, dir: usize, b: usize) -> Result<Vec<Elem>, ModelError> {
        let Some(s) = self.n.opt_input(i) else {
            return Ok(vec![Elem::Const(0.0); self.hidden]);
        };
        let (shape, h) = (s.shape(), self.hidden);
        let expected = if self.batch_first {
            [self.batch, self.dirs, h]
        } else {
            [self.dirs, self.batch, h]
        };
        if shape != expected {
            return Err(self.n.err(format!(
                "initial state #{i} has shape {shape:?}, expected {expected:?}"
            )));
        }
        let at = |j: usize| {
            if self.batch_first {
                (b * self.dirs + dir) * h + j
            } else {
                (dir * self.batch + b) * h + j
            }
        };
        Ok((0..h).map(|j| elem(s, at(j))).collect())
    }

    /// `X_t·W_g + H·R_g + Wb_g + Rb_g` for gate `g`, unit `j`;
    /// `h = None` leaves the recurrent term out.
    fn gate(&self, dir: usize, g: usize, j: usize, x_t: &[Elem], h: Option<&[Elem]>) -> Affine {
        let (gh, hsz) = (Self::row(self, g, j), self.hidden);
        let mut form = Affine::constant(self.b[dir * 2 * self.gates() * hsz + gh]);
        for (k, &x) in x_t.iter().enumerate() {
            form.add_scaled(
                &Affine::of(x),
                self.w.data[(dir * self.gates() * hsz + gh) * self.input + k],
            );
        }
        if let Some(h) = h {
            form.bias += self.rb(dir, g, j);
            form.add_scaled(&self.recurrent(dir, g, j, h), 1.0);
        }
        form
    }

    /// `H·R_g` for gate `g`, unit `j`.
    fn recurrent(&self, dir: usize, g: usize, j: usize, h: &[Elem]) -> Affine {
        let (gh, hsz) = (self.row(g, j), self.hidden);
        let mut form = Affine::default();
        for (k, &hk) in h.iter().enumerate() {
            form.add_scaled(
                &Affine::of(hk),
                self.r.data[(dir * self.gates() * hsz + gh) * hsz + k],
            );
        }
        form
    }

    /// `Rb_g` of unit `j`.
    fn rb(&self, dir: usize, g: usize, j: usize) -> f64 {
        self.b[dir * 2 * self.gates() * self.hidden + self.gates() * self.hidden + self.row(g, j)]
    }

    fn row(&self, g: usize, j: usize) -> usize {
        g * self.hidden + j
    }

    fn gates(&self) -> usize {
        self.w.shape[1] / self.hidden
    }

    /// Activation `k` (0-based within a direction) of direction `dir`.
    fn act(&self, dir: usize, k: usize) -> Act {
        let per_dir = self.acts.len() / self.dirs;
        self.acts[dir * per_dir + k]
    }

    /// Run `cell` over every direction, batch entry and step: `Y`, `Y_h`
    /// and (for cells with one) `Y_c`.
    fn unroll(
        &self,
        l: &mut Lowering,
        cell: &impl Cell,
        with_c: bool,
    ) -> Result<Vec<Sym>, ModelError> {
        let (h, node) = (self.hidden, self.n.index);
        let mut y = vec![Elem::Const(0.0); self.seq * self.dirs * self.batch * h];
        let mut y_h = vec![Elem::Const(0.0); self.dirs * self.batch * h];
        let mut y_c = y_h.clone();
        for dir in 0..self.dirs {
            for b in 0..self.batch {
                let mut state = self.initial(5, dir, b)?;
                let mut c = if with_c {
                    self.initial(6, dir, b)?
                } else {
                    vec![]
                };
                let backwards = self.reverse || dir == 1;
                for step in 0..self.seq {
                    let t = if backwards { self.seq - 1 - step } else { step };
                    let x_t: Vec<Elem> = (0..self.input).map(|k| self.x_at(t, b, k)).collect();
                    (state, c) = cell.step(self, l, dir, &x_t, &state, &c);
                    for j in 0..h {
                        let at = if self.batch_first {
                            ((b * self.seq + t) * self.dirs + dir) * h + j
                        } else {
                            ((t * self.dirs + dir) * self.batch + b) * h + j
                        };
                        y[at] = state[j];
                    }
                }
                for j in 0..h {
                    let at = if self.batch_first {
                        (b * self.dirs + dir) * h + j
                    } else {
                        (dir * self.batch + b) * h + j
                    };
                    y_h[at] = state[j];
                    if with_c {
                        y_c[at] = c[j];
                    }
                }
            }
        }
        let y_shape = if self.batch_first {
            vec![self.batch, self.seq, self.dirs, h]
        } else {
            vec![self.seq, self.dirs, self.batch, h]
        };
        let s_shape = if self.batch_first {
            vec![self.batch, self.dirs, h]
        } else {
            vec![self.dirs, self.batch, h]
        };
        let mut outs = vec![
            l.tensor(node, y_shape, y),
            l.tensor(node, s_shape.clone(), y_h),
        ];
        if with_c {
            outs.push(l.tensor(node, s_shape, y_c));
        }
        Ok(outs)
    }
}

/// The `activations` attribute (with `activation_alpha`/`_beta`), or the
/// defaults, for every direction.
fn parse_acts(n: &NodeCtx, defaults: &[&str], dirs: usize) -> Result<Vec<Act>, ModelError> {
    let names: Vec<String> = match n.attr("activations") {
        Some(a) if !a.strings.is_empty() => a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        _ => (0..dirs)
            .flat_map(|_| defaults.iter().map(|s| s.to_string()))
            .collect(),
    };
    if names.len() != defaults.len() * dirs {
        return Err(n.err(format!(
            "{} activations for {dirs} direction(s) of {} each",
            names.len(),
            defaults.len()
        )));
    }
    let alphas = n
        .attr("activation_alpha")
        .map(|a| a.floats.clone())
        .unwrap_or_default();
    let betas = n
        .attr("activation_beta")
        .map(|a| a.floats.clone())
        .unwrap_or_default();
    let (mut ai, mut bi) = (0, 0);
    names
        .iter()
        .map(|name| {
            let mut alpha = |d: f32| {
                ai += 1;
                alphas.get(ai - 1).copied().unwrap_or(d) as f64
            };
            Ok(match name.to_ascii_lowercase().as_str() {
                "sigmoid" => Act::Sigmoid,
                "tanh" => Act::Tanh,
                "relu" => Act::Relu,
                "hardsigmoid" => {
                    let a = alpha(0.2);
                    bi += 1;
                    Act::HardSigmoid(a, betas.get(bi - 1).copied().unwrap_or(0.5) as f64)
                }
                "affine" => {
                    let a = alpha(1.0);
                    bi += 1;
                    Act::Affine(a, betas.get(bi - 1).copied().unwrap_or(0.0) as f64)
                }
                "leakyrelu" => Act::LeakyRelu(alpha(0.01)),
                other => return Err(n.err(format!("activation '{other}' is not supported (Sigmoid, Tanh, Relu, HardSigmoid, Affine, LeakyRelu are)"))),
            })
        })
        .collect()
}

/// LSTM, gates `i, o, f, c` (peepholes `P = [i, o, f]`):
/// `i, f = σ(…+ P⊙C)`, `ĉ = g(…)`, `C' = f⊙C + i⊙ĉ`, `o = σ(…+ P⊙C')`,
/// `H' = o⊙h(C')`.
struct Lstm {
    peep: Option<Vec<f64>>,
}

impl Cell for Lstm {
    const GATES: usize = 4;

    fn default_acts() -> Vec<&'static str> {
        vec!["Sigmoid", "Tanh", "Tanh"]
    }

    fn step(
        &self,
        rec: &Rec,
        l: &mut Lowering,
        dir: usize,
        x_t: &[Elem],
        h: &[Elem],
        c: &[Elem],
    ) -> (Vec<Elem>, Vec<Elem>) {
        let node = rec.n.index;
        let (f_act, g_act, h_act) = (rec.act(dir, 0), rec.act(dir, 1), rec.act(dir, 2));
        let peep = |gate: usize, j: usize, c: Elem| -> Affine {
            match &self.peep {
                Some(p) => Affine::of(c).times(p[(dir * 3 + gate) * rec.hidden + j]),
                None => Affine::default(),
            }
        };
        let mut h_next = Vec::with_capacity(rec.hidden);
        let mut c_next = Vec::with_capacity(rec.hidden);
        for j in 0..rec.hidden {
            let mut fi = rec.gate(dir, 0, j, x_t, Some(h));
            fi.add_scaled(&peep(0, j, c[j]), 1.0);
            let mut ff = rec.gate(dir, 2, j, x_t, Some(h));
            ff.add_scaled(&peep(2, j, c[j]), 1.0);
            let i = f_act.apply(l, node, fi);
            let f = f_act.apply(l, node, ff);
            let cand = g_act.apply(l, node, rec.gate(dir, 3, j, x_t, Some(h)));
            let (fc, ic) = (product(l, node, f, c[j]), product(l, node, i, cand));
            let mut sum = Affine::of(fc);
            sum.add_scaled(&Affine::of(ic), 1.0);
            let c_new = l.element(node, sum);
            let mut fo = rec.gate(dir, 1, j, x_t, Some(h));
            fo.add_scaled(&peep(1, j, c_new), 1.0);
            let o = f_act.apply(l, node, fo);
            let hc = h_act.apply(l, node, Affine::of(c_new));
            h_next.push(product(l, node, o, hc));
            c_next.push(c_new);
        }
        (h_next, c_next)
    }
}

/// GRU, gates `z, r, h`: `z, r = σ(…)`, `ĥ = g(X·Wh + (r⊙H)·Rh + …)` (or
/// `g(X·Wh + r⊙(H·Rh + Rbh) + Wbh)` with `linear_before_reset`),
/// `H' = (1 − z)⊙ĥ + z⊙H`.
struct Gru {
    linear_before_reset: bool,
}

impl Cell for Gru {
    const GATES: usize = 3;

    fn default_acts() -> Vec<&'static str> {
        vec!["Sigmoid", "Tanh"]
    }

    fn step(
        &self,
        rec: &Rec,
        l: &mut Lowering,
        dir: usize,
        x_t: &[Elem],
        h: &[Elem],
        _: &[Elem],
    ) -> (Vec<Elem>, Vec<Elem>) {
        let node = rec.n.index;
        let (f_act, g_act) = (rec.act(dir, 0), rec.act(dir, 1));
        let z: Vec<Elem> = (0..rec.hidden)
            .map(|j| f_act.apply(l, node, rec.gate(dir, 0, j, x_t, Some(h))))
            .collect();
        let r: Vec<Elem> = (0..rec.hidden)
            .map(|j| f_act.apply(l, node, rec.gate(dir, 1, j, x_t, Some(h))))
            .collect();
        let rh: Vec<Elem> = if self.linear_before_reset {
            vec![]
        } else {
            r.iter()
                .zip(h)
                .map(|(&r, &h)| product(l, node, r, h))
                .collect()
        };
        let mut h_next = Vec::with_capacity(rec.hidden);
        for j in 0..rec.hidden {
            let mut form = rec.gate(dir, 2, j, x_t, None);
            if self.linear_before_reset {
                let mut lin = rec.recurrent(dir, 2, j, h);
                lin.bias += rec.rb(dir, 2, j);
                let lin = l.element(node, lin);
                form.add_scaled(&Affine::of(product(l, node, r[j], lin)), 1.0);
            } else {
                form.bias += rec.rb(dir, 2, j);
                form.add_scaled(&rec.recurrent(dir, 2, j, &rh), 1.0);
            }
            let cand = g_act.apply(l, node, form);
            // (1 − z)·ĥ + z·H = ĥ + z·(H − ĥ)
            let diff = l.element(node, Affine::diff(h[j], cand));
            let mut out = Affine::of(cand);
            out.add_scaled(&Affine::of(product(l, node, z[j], diff)), 1.0);
            h_next.push(l.element(node, out));
        }
        (h_next, vec![])
    }
}

/// RNN: `H' = f(X·W + H·R + Wb + Rb)`.
struct Rnn;

impl Cell for Rnn {
    const GATES: usize = 1;

    fn default_acts() -> Vec<&'static str> {
        vec!["Tanh"]
    }

    fn step(
        &self,
        rec: &Rec,
        l: &mut Lowering,
        dir: usize,
        x_t: &[Elem],
        h: &[Elem],
        _: &[Elem],
    ) -> (Vec<Elem>, Vec<Elem>) {
        let f = rec.act(dir, 0);
        (
            (0..rec.hidden)
                .map(|j| f.apply(l, rec.n.index, rec.gate(dir, 0, j, x_t, Some(h))))
                .collect(),
            vec![],
        )
    }
}

pub(super) fn lstm(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    if n.attr_int("input_forget", 0) != 0 {
        return Err(n.err("input_forget is not supported"));
    }
    let rec = Rec::parse(n, Lstm::GATES, &Lstm::default_acts())?;
    let peep = match n.opt_input(7) {
        Some(_) => Some(n.constant(7, "P")?.data.clone()),
        None => None,
    };
    rec.unroll(l, &Lstm { peep }, true)
}

pub(super) fn gru(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let rec = Rec::parse(n, Gru::GATES, &Gru::default_acts())?;
    rec.unroll(
        l,
        &Gru {
            linear_before_reset: n.attr_int("linear_before_reset", 0) != 0,
        },
        false,
    )
}

pub(super) fn rnn(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let rec = Rec::parse(n, Rnn::GATES, &Rnn::default_acts())?;
    rec.unroll(l, &Rnn, false)
}
