//! The halo2 circuit for a quantized [`Program`].
//!
//! Two advice columns carry everything: `x` holds values (inputs, neuron
//! outputs, and each multiply's operand, copied in by the permutation
//! argument) and `acc` holds running sums. A neuron with `t` terms takes
//! `t + 3` rows:
//!
//! ```text
//! row      x        acc              f      gate        lookup tag
//! s        -        b                b      init        -
//! s+1..t   x_i      acc+w_i·x_i      w_i    mac         -
//! e1       out      y                -      rescale     act   (y -> out)
//! e2       r        r                -      -           remainder
//! ```
//! with `rescale: acc(e1-1) = y·2^wb + r` and the lookups bounding `y` to the
//! activation range and `r` to `[0, 2^wb)`. Public rows at the top hold the
//! inputs then the outputs (`x = instance`), range-checked by the identity
//! table. Weights live in the fixed column `f`, so a model is a circuit.
//!
//! One lookup argument serves every table: inputs `(tag, tag·acc, tag·x)`
//! against fixed `(t_tag, t_in, t_out)` with entries `(τ, τ·v, τ·f(v))`.
//! Rows with tag 0 look up `(0,0,0)`, which every table region leaves
//! present. Multiplying by the tag keeps the input expressions at degree 2.

pub mod layout;

use crate::model::{Activation, Program, Value as PValue};
use crate::quant::{neuron_step, QuantParams};
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Instance, Selector,
};
use halo2_proofs::poly::Rotation;
use layout::{table_entries, Layout, Table};
use std::sync::Arc;

/// Signed integer to field element.
pub fn fe(v: i128) -> Fr {
    let mag = v.unsigned_abs();
    let f = Fr::from_raw([mag as u64, (mag >> 64) as u64, 0, 0]);
    if v >= 0 {
        f
    } else {
        -f
    }
}

/// Configuration-time parameters: the gate constant 2^weight_bits.
#[derive(Clone, Copy, Debug)]
pub struct GateParams {
    pub weight_bits: u32,
}

impl Default for GateParams {
    fn default() -> Self {
        GateParams { weight_bits: 8 }
    }
}

#[derive(Clone, Debug)]
pub struct ModelConfig {
    x: Column<Advice>,
    acc: Column<Advice>,
    f: Column<Fixed>,
    tag: Column<Fixed>,
    t_tag: Column<Fixed>,
    t_in: Column<Fixed>,
    t_out: Column<Fixed>,
    q_init: Selector,
    q_mac: Selector,
    q_rescale: Selector,
    q_public: Selector,
    instance: Column<Instance>,
}

impl ModelConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, params: GateParams) -> Self {
        let x = meta.advice_column();
        let acc = meta.advice_column();
        let f = meta.fixed_column();
        let tag = meta.fixed_column();
        let t_tag = meta.fixed_column();
        let t_in = meta.fixed_column();
        let t_out = meta.fixed_column();
        let instance = meta.instance_column();
        let (q_init, q_mac, q_rescale, q_public) = (meta.selector(), meta.selector(), meta.selector(), meta.selector());
        meta.enable_equality(x);

        meta.create_gate("init: acc = bias", |m| {
            let q = m.query_selector(q_init);
            vec![q * (m.query_advice(acc, Rotation::cur()) - m.query_fixed(f, Rotation::cur()))]
        });
        meta.create_gate("mac: acc = acc[-1] + w·x", |m| {
            let q = m.query_selector(q_mac);
            let acc_cur = m.query_advice(acc, Rotation::cur());
            let acc_prev = m.query_advice(acc, Rotation::prev());
            let w = m.query_fixed(f, Rotation::cur());
            let xv = m.query_advice(x, Rotation::cur());
            vec![q * (acc_cur - acc_prev - w * xv)]
        });
        let two_wb = Expression::Constant(Fr::from(1u64 << params.weight_bits));
        meta.create_gate("rescale: acc[-1] = y·2^wb + r", |m| {
            let q = m.query_selector(q_rescale);
            let total = m.query_advice(acc, Rotation::prev());
            let y = m.query_advice(acc, Rotation::cur());
            let r = m.query_advice(acc, Rotation::next());
            vec![q * (total - y * two_wb - r)]
        });
        meta.create_gate("public: x = instance", |m| {
            let q = m.query_selector(q_public);
            vec![q * (m.query_advice(x, Rotation::cur()) - m.query_instance(instance, Rotation::cur()))]
        });
        meta.lookup_any("tables", |m| {
            let tag_e = m.query_fixed(tag, Rotation::cur());
            vec![
                (tag_e.clone(), m.query_fixed(t_tag, Rotation::cur())),
                (tag_e.clone() * m.query_advice(acc, Rotation::cur()), m.query_fixed(t_in, Rotation::cur())),
                (tag_e * m.query_advice(x, Rotation::cur()), m.query_fixed(t_out, Rotation::cur())),
            ]
        });
        ModelConfig { x, acc, f, tag, t_tag, t_in, t_out, q_init, q_mac, q_rescale, q_public, instance }
    }
}

/// The circuit of one compiled model; with `witness` for proving, without
/// for keygen.
#[derive(Clone)]
pub struct ModelCircuit {
    pub program: Arc<Program<i64>>,
    pub quant: QuantParams,
    pub layout: Arc<Layout>,
    /// Output value of every program value (from [`crate::quant::forward`]).
    pub witness: Option<Arc<Vec<i64>>>,
    /// Test hook: `(column, row, delta)` added to advice cells as they are
    /// assigned, to check that a corrupted witness is rejected.
    pub corrupt: Vec<(Col, usize, Fr)>,
}

/// The advice columns, for naming a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    X,
    Acc,
}

impl ModelCircuit {
    pub fn gate_params(&self) -> GateParams {
        GateParams { weight_bits: self.quant.weight_bits }
    }

    /// Public inputs in verifier order: quantized inputs, then outputs.
    pub fn instance(&self) -> Vec<Fr> {
        let w = self.witness.as_ref().expect("instance needs a witness");
        public_values(&self.program, w).into_iter().map(|v| fe(v as i128)).collect()
    }
}

/// Quantized inputs then outputs, as integers.
pub fn public_values(program: &Program<i64>, values: &[i64]) -> Vec<i64> {
    (0..program.num_inputs).map(|i| values[i]).chain(program.outputs.iter().map(|&o| values[o])).collect()
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = GateParams;

    fn without_witnesses(&self) -> Self {
        ModelCircuit { witness: None, ..self.clone() }
    }

    fn params(&self) -> GateParams {
        self.gate_params()
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: GateParams) -> ModelConfig {
        ModelConfig::configure(meta, params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        ModelConfig::configure(meta, GateParams::default())
    }

    fn synthesize(&self, c: ModelConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let lay = &self.layout;
        let prog = &self.program;
        let vals = self.witness.as_deref();
        let known = |v: i128| match vals {
            Some(_) => Value::known(fe(v)),
            None => Value::unknown(),
        };
        layouter.assign_region(
            || "model",
            |mut region| {
                // Every advice cell goes through `put`, so tests can corrupt
                // any one of them (see `ModelCircuit::corrupt`).
                let put = |region: &mut halo2_proofs::circuit::Region<'_, Fr>, col: Col, row: usize, v: i128| {
                    let delta: Fr = self.corrupt.iter().filter(|(cc, r, _)| *cc == col && *r == row).map(|(_, _, d)| *d).sum();
                    let column = match col {
                        Col::X => c.x,
                        Col::Acc => c.acc,
                    };
                    region.assign_advice(column, row, known(v).map(|f| f + delta));
                };
                let x_cell = |row: usize| Cell { row_offset: row, column: c.x.into() };
                let id_tag = lay.tag(Table::Act(Activation::Identity));

                // Public rows: inputs then outputs, range-checked.
                let public: Vec<i64> = match vals {
                    Some(v) => crate::circuit::public_values(prog, v),
                    None => vec![0; lay.num_inputs + lay.num_outputs],
                };
                for (row, &v) in public.iter().enumerate() {
                    put(&mut region, Col::X, row, v as i128);
                    put(&mut region, Col::Acc, row, v as i128);
                    region.assign_fixed(c.tag, row, Fr::from(id_tag));
                    c.q_public.enable(&mut region, row)?;
                }
                for (j, &o) in prog.outputs.iter().enumerate() {
                    region.constrain_equal(x_cell(lay.num_inputs + j), x_cell(lay.value_row[o]));
                }

                // Neuron blocks.
                for &(id, start) in &lay.neuron_start {
                    let PValue::Neuron(n) = &prog.values[id] else { unreachable!("neuron_start lists neurons") };
                    region.assign_fixed(c.f, start, fe(n.bias as i128));
                    put(&mut region, Col::Acc, start, n.bias as i128);
                    c.q_init.enable(&mut region, start)?;
                    let mut acc = n.bias as i128;
                    for (i, &(src, w)) in n.terms.iter().enumerate() {
                        let row = start + 1 + i;
                        let xv = vals.map(|v| v[src]).unwrap_or(0);
                        acc += w as i128 * xv as i128;
                        region.assign_fixed(c.f, row, fe(w as i128));
                        put(&mut region, Col::X, row, xv as i128);
                        put(&mut region, Col::Acc, row, acc);
                        c.q_mac.enable(&mut region, row)?;
                        region.constrain_equal(x_cell(row), x_cell(lay.value_row[src]));
                    }
                    let w = vals.map(|v| neuron_step(n, v, self.quant.weight_bits));
                    let (y, out, rem) = w.map(|w| (w.y, w.out, w.rem)).unwrap_or_default();
                    let e1 = start + 1 + n.terms.len();
                    put(&mut region, Col::Acc, e1, y as i128);
                    put(&mut region, Col::X, e1, out as i128);
                    region.assign_fixed(c.tag, e1, Fr::from(lay.tag(Table::Act(n.act))));
                    c.q_rescale.enable(&mut region, e1)?;
                    put(&mut region, Col::Acc, e1 + 1, rem as i128);
                    put(&mut region, Col::X, e1 + 1, rem as i128);
                    region.assign_fixed(c.tag, e1 + 1, Fr::from(lay.tag(Table::Remainder)));
                }

                // Table columns: entries first, zeros (tag 0) after.
                for (row, (tag, v, out)) in table_entries(&lay.tables, &self.quant).into_iter().enumerate() {
                    let t = Fr::from(tag);
                    region.assign_fixed(c.t_tag, row, t);
                    region.assign_fixed(c.t_in, row, t * fe(v as i128));
                    region.assign_fixed(c.t_out, row, t * fe(out as i128));
                }
                Ok(())
            },
        )?;
        let _ = c.instance;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
