//! The halo2 circuit for a quantized [`Program`].
//!
//! Three advice columns: `x` holds values (inputs, neuron outputs, and each
//! multiply's operand, copied in by the permutation argument), `acc` holds
//! running sums, and `z` holds bit-decomposition chains. A neuron with `t`
//! terms takes `t + 1` rows (plus zero-weight padding when `t` is small):
//!
//! ```text
//! row      x        acc              f      gate
//! s+i      x_i      acc[-1]+w_i·x_i  w_i    mac:  acc = acc[-1] + f·x
//! e        out      0                b      ident/relu
//! ```
//! The row above every block has `acc = 0` (a result row or a public row),
//! so `acc(e-1)` is the dot product. The bias `b` carries a rounding offset
//! and a range offset, so `V = acc(e-1) + b` of an in-range neuron is an
//! `n = range_bits + weight_bits` bit non-negative number whose top
//! `range_bits` bits are `y + H` (`H = 2^(range_bits-1)`, `y` the rescaled
//! pre-activation). A chain in `z` ending at row `e` proves that:
//! `z(e-n) = 0`, `z(i+1) = 2·z(i) + bit` (MSB first), `z(e) = V`. Then
//! `z(e-wb)` is `y + H` and `z(e-n+1)` is the sign bit:
//!
//! ```text
//! ident: x(e) = z(e-wb) - H             with z(e) = acc(e-1) + f(e), acc(e) = 0
//! relu:  x(e) = (z(e-wb) - H)·z(e-n+1)  with z(e) = acc(e-1) + f(e), acc(e) = 0
//! ```
//! Large circuits may widen (see [`layout::Shape`]): a second operand
//! column `x2` with weights `f2` adds a second term to every multiply row,
//! and a second chain column `z2` makes every chain row check two bits, so
//! the prefixes above are read at a column and rotation given by
//! [`layout::Shape::chain_cell`].
//!
//! Without table functions there is no lookup argument: the constraint
//! system has degree 3, so the quotient has two pieces and the EVM verifier
//! opens few commitments. Two optional parts, configured only for the
//! programs that need them:
//!
//! - **Products** (`a·b` terms of a neuron, and the checks of a quotient):
//!   a fixed column `p` joins the multiply gate,
//!   `q_mac·(acc − acc[-1] − f·x) − p·x·x[+1] = 0`. A product takes two
//!   multiply rows, `x = a` with `p = w` then `x = b` with `f = p = 0`.
//!   Still degree 3.
//! - **Tables** (sigmoid, tanh, exp, …): a table result row looks up
//!   `(tag, z(e − wb − shift), x)` in the fixed table `(tag, index, f(index))`
//!   of every function the program uses; `z(e − wb − shift)` is the top
//!   `range_bits − shift` bits of `y + H`, so the tables have
//!   `2^lut_bits` rows. A complex selector zeroes the looked-up cells on
//!   other rows, which read the all-zero table row. Degree 5.
//!
//! A quotient's checks also assert a sign: `nonneg` is the identity gate
//! plus `sign bit = 1`.
//!
//! Public rows at the top hold the public values in verifier order (see
//! [`public::public_items`]): public inputs, public outputs, then the
//! Poseidon commitments of hashed tensors. The instance carries values
//! offset-encoded (`v + H + 1`, never zero; verifiers reject a zero public
//! input) and commitments as they are (the sponge writes `hash − H − 1`
//! into `x`), which lets one selector-free gate bind them all:
//! `inst·(x + H + 1 - inst) = 0` and `inst·acc = 0` hold trivially on rows
//! past the public ones, where the instance column is zero. A public
//! input's or output's row is a copy of the cell that holds the value.
//!
//! Every model input, whatever its visibility, is held by a range-check
//! block (`quant::range_check`): an identity neuron that reads its own
//! output, so its chain proves the input an integer in the calibrated
//! range. Without it an input cell could hold any field element `X` with
//! `w·X` small for the weights that read it, and the model would compute on
//! a value no real input has.
//!
//! Weights live in the fixed column `f`, so a model is a circuit — unless
//! they are private or hashed: then a `w` advice column holds them and `f`
//! is a 0/1 mask (`acc = acc[-1] + f·w·x`, chain link `z = acc[-1] + f·w`),
//! so padding and product rows cannot pick up a free weight. Hashed tensors
//! run through the sponge of [`poseidon`], whose words are copies of the
//! `x` or `w` cells they hash.

pub mod binding;
pub mod layout;
pub mod poseidon;
pub mod public;
pub mod witness;

use crate::model::{Activation, LutFn, Program, ValueId};
use crate::quant::QuantParams;
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Selector, TableColumn,
};
use halo2_proofs::poly::Rotation;
use layout::{Layout, ParamWord};
use poseidon::PoseidonConfig;
use public::{PublicItem, Tensor, Visibility};
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

/// Configuration-time parameters: the gate constants, chain rotations and
/// which optional parts the program needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateParams {
    pub weight_bits: u32,
    pub range_bits: u32,
    /// Whether any neuron multiplies two values.
    pub products: bool,
    /// `Some(scale_bits)` when a neuron is a step (its 1 is `2^scale_bits`).
    pub step: Option<u32>,
    /// The table functions, if any.
    pub lut: Option<LutParams>,
    /// What is public, private, hashed: weights in advice cells when not
    /// fixed, a Poseidon gadget when anything is hashed.
    pub visibility: Visibility,
    /// Weight packing of the params sponge.
    pub packing: Option<layout::Packing>,
    /// Extra operand and chain columns (see [`layout::Shape`]).
    pub shape: layout::Shape,
    /// Inferences laid out ([`Program::copies`]): with weights in advice,
    /// more than one links weight cells across copies, so `w` joins the
    /// permutation.
    pub copies: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LutParams {
    /// Low bits of `y + H` the tables ignore.
    pub shift: u32,
    /// Functions in table order; function `i` has tag `i + 1`.
    pub fns: Vec<LutFn>,
}

impl GateParams {
    /// `packing` and `shape` are the layout's (see [`Layout::packing`]).
    pub fn of(
        q: &QuantParams,
        program: &Program<i64>,
        visibility: Visibility,
        packing: Option<layout::Packing>,
        shape: layout::Shape,
    ) -> GateParams {
        let fns = program.lut_fns();
        GateParams {
            weight_bits: q.weight_bits,
            range_bits: q.range_bits,
            products: program.has_products(),
            step: program
                .neurons()
                .any(|(_, n)| n.act == Activation::Step)
                .then_some(q.scale_bits),
            lut: (!fns.is_empty()).then(|| LutParams {
                shift: q.lut_shift(),
                fns,
            }),
            visibility,
            packing,
            shape,
            copies: program.copies,
        }
    }

    /// Table tag of `f` (0 is the empty row).
    fn tag(&self, f: LutFn) -> u64 {
        let fns = &self
            .lut
            .as_ref()
            .expect("a table function needs tables")
            .fns;
        fns.iter()
            .position(|g| *g == f)
            .expect("every function of the program has a table") as u64
            + 1
    }
}

impl Default for GateParams {
    fn default() -> Self {
        GateParams {
            weight_bits: 8,
            range_bits: 12,
            products: false,
            step: None,
            lut: None,
            visibility: Visibility::default(),
            packing: None,
            shape: layout::Shape::NARROW,
            copies: 1,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ModelConfig {
    params: GateParams,
    x: Column<Advice>,
    acc: Column<Advice>,
    z: Column<Advice>,
    f: Column<Fixed>,
    /// Second operand and its weight (wide multiply shape).
    x2: Option<(Column<Advice>, Column<Fixed>)>,
    /// Second chain column (wide chain shape).
    z2: Option<Column<Advice>>,
    /// Product weights, when the program has products.
    p: Option<Column<Fixed>>,
    q_mac: Selector,
    q_bit: Selector,
    q_ident: Selector,
    q_relu: Selector,
    q_nonneg: Option<Selector>,
    q_step: Option<Selector>,
    /// Result row of a packed public word (see [`layout::WordRows`]).
    q_word: Option<Selector>,
    /// A packed word's multiply rows when weights are in advice: their
    /// weights are the fixed packing powers in `f`, not `f·w` (a free `w`).
    q_word_mac: Option<Selector>,
    /// Row 0 of a circuit with no public row (a split model's chunk with
    /// nothing public): `acc = 0` there, which the first block starts from.
    q_top: Option<Selector>,
    lut: Option<LutConfig>,
    /// Weights and biases, when they are private or hashed; `f` then holds
    /// 1 where a weight applies and 0 elsewhere.
    w: Option<Column<Advice>>,
    poseidon: Option<PoseidonConfig>,
    /// The link columns of a split model's cuts, input's then output's
    /// ([`public::Linked`]); allocated before every other column, so they
    /// are advice columns 0 and 1 and halo2 blinds them first.
    link_in: Option<Column<Advice>>,
    link_out: Option<Column<Advice>>,
}

/// The model's columns another gadget could share rows of:
/// `examples/sponge_gas.rs` lays sponge designs into them to measure what
/// each would cost the EVM verifier before one is built.
#[derive(Clone, Copy, Debug)]
pub struct SharedColumns {
    pub x: Column<Advice>,
    pub acc: Column<Advice>,
    pub z: Column<Advice>,
    /// The weights column, when weights are in advice.
    pub w: Option<Column<Advice>>,
    pub f: Column<Fixed>,
}

#[derive(Clone, Debug)]
struct LutConfig {
    q_lut: Selector,
    /// Function tag of each table result row (0 elsewhere).
    tag: Column<Fixed>,
    table: [TableColumn; 3],
}

impl ModelConfig {
    pub fn shared_columns(&self) -> SharedColumns {
        SharedColumns {
            x: self.x,
            acc: self.acc,
            z: self.z,
            w: self.w,
            f: self.f,
        }
    }

    pub fn configure(meta: &mut ConstraintSystem<Fr>, params: GateParams) -> Self {
        // Link columns first: `proof::link` scripts the tails of the first
        // columns halo2 blinds. Read by no gate, only by copy constraints.
        // A committed weights column is the first advice column for the
        // same reason: `proof::link` scripts its salted tail, and its
        // commitment is then the proof's first point.
        let committed_w = params
            .visibility
            .params_committed()
            .then(|| meta.advice_column());
        let linked = params.visibility.linked;
        let mut link_column = |on: bool| {
            on.then(|| {
                let col = meta.advice_column();
                meta.enable_equality(col);
                col
            })
        };
        let (link_in, link_out) = (link_column(linked.input), link_column(linked.output));
        let x = meta.advice_column();
        let acc = meta.advice_column();
        let z = meta.advice_column();
        let f = meta.fixed_column();
        let instance = meta.instance_column();
        // A simple selector may not appear in a sum, as the product term
        // needs; then q_mac becomes a complex one.
        let q_mac = if params.products {
            meta.complex_selector()
        } else {
            meta.selector()
        };
        let q_bit = meta.selector();
        let q_ident = meta.selector();
        let q_relu = meta.selector();
        // Only quotient checks assert a sign, and quotients come with
        // products: other circuits keep one selector (and commitment) fewer.
        let q_nonneg = params.products.then(|| meta.selector());
        let p = params.products.then(|| meta.fixed_column());
        meta.enable_equality(x);
        let x2 = params
            .shape
            .wide_mac
            .then(|| (meta.advice_column(), meta.fixed_column()));
        if let Some((x2, _)) = x2 {
            meta.enable_equality(x2);
        }
        let z2 = params.shape.wide_chain.then(|| meta.advice_column());
        let w = committed_w.or_else(|| {
            params
                .visibility
                .params_in_advice()
                .then(|| meta.advice_column())
        });
        // Copied into the params sponge, or linked across a batch's copies.
        let linked = params.visibility.params == public::Vis::Hashed || params.copies > 1;
        if let (Some(w), true) = (w, linked) {
            meta.enable_equality(w);
        }
        // The weight a row applies: `f`, or `f·w` with `f` as a 0/1 mask
        // (so padding and product rows cannot pick up a free weight).
        let weight = move |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
            let f = m.query_fixed(f, Rotation::cur());
            match w {
                Some(w) => f * m.query_advice(w, Rotation::cur()),
                None => f,
            }
        };
        let wb = params.weight_bits as usize;
        let n = (params.range_bits + params.weight_bits) as usize;
        // Chain prefix `p_m`, seen from the result row (see `Shape::chain_cell`).
        let shape = params.shape;
        let chain = move |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>, prefix: usize| {
            let (col, rot) = shape.chain_cell(n, prefix);
            let col = if col == Col::Z {
                z
            } else {
                z2.expect("a wide chain configures z2")
            };
            m.query_advice(col, Rotation(rot))
        };
        let half = Expression::Constant(Fr::from(1u64 << (params.range_bits - 1)));

        meta.create_gate("mac: acc = acc[-1] + w·x", |m| {
            let q = m.query_selector(q_mac);
            let acc_cur = m.query_advice(acc, Rotation::cur());
            let acc_prev = m.query_advice(acc, Rotation::prev());
            let w = weight(m);
            let xv = m.query_advice(x, Rotation::cur());
            let mut step = acc_cur - acc_prev - w * xv.clone();
            if let Some((x2, f2)) = x2 {
                step =
                    step - m.query_fixed(f2, Rotation::cur()) * m.query_advice(x2, Rotation::cur());
            }
            let mac = q * step;
            match p {
                // p is zero off product rows, which are multiply rows.
                Some(p) => vec![
                    mac - m.query_fixed(p, Rotation::cur())
                        * xv
                        * m.query_advice(x, Rotation::next()),
                ],
                None => vec![mac],
            }
        });
        // A chain row steps z → z[+1] by one bit, or z → z2 → z[+1] by two.
        meta.create_gate("bit: each chain step doubles and adds 0 or 1", |m| {
            let q = m.query_selector(q_bit);
            let bit = |hi: Expression<Fr>, lo: Expression<Fr>| {
                let b = hi - lo * Expression::Constant(Fr::from(2));
                q.clone() * b.clone() * (b - Expression::Constant(Fr::one()))
            };
            let (cur, next) = (
                m.query_advice(z, Rotation::cur()),
                m.query_advice(z, Rotation::next()),
            );
            match z2 {
                None => vec![bit(next, cur)],
                Some(z2) => {
                    let mid = m.query_advice(z2, Rotation::cur());
                    vec![bit(mid.clone(), cur), bit(next, mid)]
                }
            }
        });
        // The result row reads its chain: the full value at its own row,
        // y + H (the top range bits) wb rows up, the sign bit at the top,
        // and the start `p_0 = 0` n rows up (so the start needs no selector
        // of its own: every chain ends at a result row, and a selector is a
        // fixed column the EVM verifier pays an ecMul for). It also zeroes
        // `acc`, which the next block's first multiply reads. Every result
        // gate holds these constraints, then its own output rule.
        let result_row = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
            let link = chain(m, n) - m.query_advice(acc, Rotation::prev()) - weight(m);
            let mut common = vec![
                ("chain = accumulator + bias", link),
                ("acc = 0", m.query_advice(acc, Rotation::cur())),
                ("chain start: p_0 = 0", chain(m, 0)),
            ];
            if shape.has_virtual_zero(n) {
                // An odd wide chain holds a virtual zero in z beside p_0 (z2).
                let (_, rot) = shape.chain_cell(n, 0);
                common.push((
                    "chain start: virtual zero",
                    m.query_advice(z, Rotation(rot)),
                ));
            }
            let y = chain(m, n - wb) - half.clone();
            (common, y, m.query_advice(x, Rotation::cur()))
        };
        type Named = Vec<(&'static str, Expression<Fr>)>;
        let gated = |q: Expression<Fr>, common: Named, own: Named| -> Named {
            common
                .into_iter()
                .chain(own)
                .map(|(name, e)| (name, q.clone() * e))
                .collect()
        };
        meta.create_gate("ident: out = y, chain = accumulator + bias", |m| {
            let q = m.query_selector(q_ident);
            let (common, y, out) = result_row(m);
            gated(q, common, vec![("out = y", out - y)])
        });
        meta.create_gate("relu: out = y·sign, chain = accumulator + bias", |m| {
            let q = m.query_selector(q_relu);
            let (common, y, out) = result_row(m);
            let sign = chain(m, 1);
            gated(q, common, vec![("out = y·sign", out - y * sign)])
        });
        if let Some(q_nonneg) = q_nonneg {
            meta.create_gate("nonneg: out = y ≥ 0, chain = accumulator + bias", |m| {
                let q = m.query_selector(q_nonneg);
                let (common, y, out) = result_row(m);
                let sign = chain(m, 1);
                gated(
                    q,
                    common,
                    vec![
                        ("out = y", out - y),
                        ("sign = 1", sign - Expression::Constant(Fr::one())),
                    ],
                )
            });
        }
        let q_step = params.step.map(|scale_bits| {
            let q_step = meta.selector();
            let one = Expression::Constant(Fr::from(1u64 << scale_bits));
            meta.create_gate(
                "step: out = sign·2^scale, chain = accumulator + bias",
                |m| {
                    let q = m.query_selector(q_step);
                    let (common, _, out) = result_row(m);
                    let sign = chain(m, 1);
                    gated(q, common, vec![("out = sign·2^scale", out - sign * one)])
                },
            );
            q_step
        });
        let lut = params.lut.as_ref().map(|lp| {
            let q_lut = meta.complex_selector();
            let tag = meta.fixed_column();
            let table = [
                meta.lookup_table_column(),
                meta.lookup_table_column(),
                meta.lookup_table_column(),
            ];
            meta.create_gate("table: chain = accumulator + bias", |m| {
                let q = m.query_selector(q_lut);
                let (common, _, _) = result_row(m);
                gated(q, common, vec![])
            });
            let index_prefix = n - wb - lp.shift as usize;
            meta.lookup("table: (tag, index, out)", |m| {
                let q = m.query_selector(q_lut);
                vec![
                    (m.query_fixed(tag, Rotation::cur()), table[0]),
                    (q.clone() * chain(m, index_prefix), table[1]),
                    (q * m.query_advice(x, Rotation::cur()), table[2]),
                ]
            });
            LutConfig { q_lut, tag, table }
        });
        // `H + 1`: public values are offset-encoded by it, and the sponge's
        // squeeze row holds `hash − H − 1`.
        let off = Fr::from((1u64 << (params.range_bits - 1)) + 1);
        let offset = Expression::Constant(off);
        meta.create_gate(
            "public: x = instance - offset, acc = 0 where instance != 0",
            |m| {
                let inst = m.query_instance(instance, Rotation::cur());
                vec![
                    inst.clone() * (m.query_advice(x, Rotation::cur()) + offset - inst.clone()),
                    inst * m.query_advice(acc, Rotation::cur()),
                ]
            },
        );
        let poseidon = params
            .visibility
            .hashes()
            .then(|| PoseidonConfig::configure(meta, off, params.packing));
        // A packed word's result row: the weighted sum of its multiply rows
        // plus the constant in `f`, with no range chain (the word is ~250
        // bits; its slots are values already range-checked).
        let q_word = params.visibility.packed.then(|| {
            let q_word = meta.selector();
            meta.create_gate("word: x = acc[-1] + f, acc = 0", |m| {
                let q = m.query_selector(q_word);
                let sum = m.query_advice(acc, Rotation::prev()) + m.query_fixed(f, Rotation::cur());
                vec![
                    q.clone() * (m.query_advice(x, Rotation::cur()) - sum),
                    q * m.query_advice(acc, Rotation::cur()),
                ]
            });
            q_word
        });
        // With weights in advice, `q_mac` reads `f·w` and `w` is free on a
        // word's rows: its multiply rows take their weight from `f` alone.
        let q_word_mac = (params.visibility.packed && w.is_some()).then(|| {
            let q_word_mac = meta.selector();
            meta.create_gate("word multiply: acc = acc[-1] + f·x", |m| {
                let q = m.query_selector(q_word_mac);
                let step = m.query_advice(acc, Rotation::cur())
                    - m.query_advice(acc, Rotation::prev())
                    - m.query_fixed(f, Rotation::cur()) * m.query_advice(x, Rotation::cur());
                vec![q * step]
            });
            q_word_mac
        });
        // The first block reads `acc` one row up. On a public row the
        // public gate zeroes it (every public input is nonzero); with no
        // public row, nothing else would, and a free `acc` there is a free
        // bias on the first neuron.
        let q_top = (!params.visibility.has_public_rows()).then(|| {
            let q_top = meta.selector();
            meta.create_gate("top: acc = 0", |m| {
                vec![m.query_selector(q_top) * m.query_advice(acc, Rotation::cur())]
            });
            q_top
        });
        ModelConfig {
            params,
            x,
            acc,
            z,
            f,
            x2,
            z2,
            p,
            q_mac,
            q_bit,
            q_ident,
            q_relu,
            q_nonneg,
            q_step,
            q_word,
            q_word_mac,
            q_top,
            lut,
            w,
            poseidon,
            link_in,
            link_out,
        }
    }

    /// Fill the tables: the all-zero row, then each function's entries.
    fn assign_tables(
        &self,
        layouter: &mut impl Layouter<Fr>,
        q: &QuantParams,
    ) -> Result<(), Error> {
        let (Some(lut), Some(lp)) = (&self.lut, &self.params.lut) else {
            return Ok(());
        };
        layouter.assign_table(
            || "function tables",
            |mut table| {
                let mut row = 0;
                let mut put = |table: &mut halo2_proofs::circuit::Table<'_, Fr>,
                               tag: u64,
                               index: i128,
                               out: i128| {
                    for (col, v) in lut.table.iter().zip([tag as i128, index, out]) {
                        table.assign_cell(|| "table", *col, row, || Value::known(fe(v)))?;
                    }
                    row += 1;
                    Ok::<_, Error>(())
                };
                put(&mut table, 0, 0, 0)?;
                for &f in &lp.fns {
                    for index in 0..q.lut_len() {
                        put(
                            &mut table,
                            self.params.tag(f),
                            index as i128,
                            q.lut_entry(f, index) as i128,
                        )?;
                    }
                }
                Ok(())
            },
        )
    }
}

/// (advice, fixed, selector) column counts of the circuit for `params`,
/// read off its constraint system (before halo2 compresses selectors).
pub fn column_counts(params: &GateParams) -> (usize, usize, usize) {
    let params = params.clone();
    let mut cs = ConstraintSystem::<Fr>::default();
    ModelConfig::configure(&mut cs, params);
    (
        cs.num_advice_columns(),
        cs.num_fixed_columns(),
        cs.num_selectors(),
    )
}

/// The circuit of one compiled model; with `witness` for proving, without
/// for keygen.
#[derive(Clone)]
pub struct ModelCircuit {
    pub program: Arc<Program<i64>>,
    pub quant: QuantParams,
    pub layout: Arc<Layout>,
    /// Every program value as a field element (an honest prover's come
    /// from [`crate::quant::forward`]; see [`witness`] for why the field).
    pub witness: Option<Arc<Vec<Fr>>>,
    /// With a witness, each link column's tail `T` (in column order; see
    /// `proof::link`): its rows above halo2's blinding rows are assigned
    /// here, the rest is scripted into halo2's blinding. Empty otherwise.
    pub link_tails: Vec<Vec<Fr>>,
    /// With a witness and committed weights, the salt tail of `w`
    /// (`proof::committed`), assigned and scripted as a link tail is.
    pub params_tail: Vec<Fr>,
    /// Test hook: `(column, row, delta)` added to advice cells as they are
    /// assigned, to check that a corrupted witness is rejected.
    #[cfg(test)]
    pub corrupt: Vec<(Col, usize, Fr)>,
}

/// The advice columns, for naming a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    X,
    Acc,
    Z,
    /// Second operand (wide multiply shape).
    X2,
    /// Second chain column (wide chain shape).
    Z2,
    /// Weights in advice (private or hashed params).
    W,
    /// Poseidon state word `i`.
    S(usize),
    /// Square of Poseidon S-box input `i`.
    U(usize),
    /// Poseidon message words and squeezed hash.
    M,
    /// Packed params words, Horner partial sums.
    Pk,
    /// The link column of a cut tensor (input or output).
    Link(Tensor),
}

impl ModelCircuit {
    /// The circuit of `program`; `witness` holds the integer forward pass's
    /// values when proving, nothing for keygen.
    pub fn new(
        program: Arc<Program<i64>>,
        quant: QuantParams,
        layout: Arc<Layout>,
        witness: Option<&[i64]>,
    ) -> ModelCircuit {
        let witness = witness.map(|v| Arc::new(v.iter().map(|&x| fe(x as i128)).collect()));
        ModelCircuit {
            program,
            quant,
            layout,
            witness,
            link_tails: Vec::new(),
            params_tail: Vec::new(),
            #[cfg(test)]
            corrupt: Vec::new(),
        }
    }

    pub fn gate_params(&self) -> GateParams {
        GateParams::of(
            &self.quant,
            &self.program,
            self.layout.visibility,
            self.layout.packing,
            self.layout.shape,
        )
    }

    /// Public inputs in verifier order (see [`public::public_items`]):
    /// values offset-encoded (see the module docs), commitments as hashes.
    pub fn instance(&self) -> Vec<Fr> {
        let w = self.witness.as_ref().expect("instance needs a witness");
        public_instance(&self.program, &self.layout, &self.quant, w)
    }

    /// What the test hook adds to the advice cell at `(column, row)`.
    #[cfg(test)]
    fn delta(&self, column: impl Fn(Col) -> Column<Advice>, col: Column<Advice>, row: usize) -> Fr {
        self.corrupt
            .iter()
            .filter(|(c, r, _)| column(*c) == col && *r == row)
            .map(|(_, _, d)| *d)
            .sum()
    }

    #[cfg(not(test))]
    fn delta(&self, _: impl Fn(Col) -> Column<Advice>, _: Column<Advice>, _: usize) -> Fr {
        Fr::zero()
    }
}

/// The message words of a hashed tensor: its quantized values as field
/// elements (negative ones as `r − |v|`).
pub fn tensor_words(
    tensor: Tensor,
    program: &Program<i64>,
    layout: &Layout,
    values: Option<&[Fr]>,
) -> Option<Vec<Fr>> {
    match tensor {
        Tensor::Input | Tensor::Output => {
            values.map(|v| value_ids(tensor, program).iter().map(|&i| v[i]).collect())
        }
        Tensor::Params => Some(
            layout
                .param_words()
                .iter()
                .map(|w| w.value(layout.packing))
                .collect(),
        ),
    }
}

/// The program values an input or output tensor holds, in order.
pub(crate) fn value_ids(tensor: Tensor, program: &Program<i64>) -> Vec<usize> {
    match tensor {
        Tensor::Input => (0..program.num_inputs).collect(),
        Tensor::Output => program.outputs.clone(),
        Tensor::Params => unreachable!("params are no program values"),
    }
}

/// The commitment `commit` prints and the circuit exposes.
pub fn commitment(
    tensor: Tensor,
    program: &Program<i64>,
    layout: &Layout,
    values: Option<&[Fr]>,
) -> Option<Fr> {
    tensor_words(tensor, program, layout, values).map(|w| crate::poseidon::hash(&w))
}

/// The public inputs for the program values `values`.
pub fn public_instance(
    program: &Program<i64>,
    layout: &Layout,
    q: &QuantParams,
    values: &[Fr],
) -> Vec<Fr> {
    let off = fe(q.public_offset() as i128);
    let mut words = layout.words.iter();
    layout
        .public
        .iter()
        .map(|item| match *item {
            PublicItem::Input(i) => values[i] + off,
            PublicItem::Output(j) => values[program.outputs[j]] + off,
            PublicItem::Commitment(t) => {
                commitment(t, program, layout, Some(values)).expect("values given")
            }
            PublicItem::Packed { .. } => {
                let word = words.next().expect("a packed item has its word rows");
                let p = layout
                    .value_packing
                    .expect("packed items come with a packing");
                word.word_less_offset(values, off, p.bits) + off
            }
        })
        .collect()
}

impl layout::WordRows {
    /// The word of its values (program values `values`) less the offset:
    /// what its result row holds and, plus the offset, its public input.
    pub fn word_less_offset(&self, values: &[Fr], off: Fr, bits: u32) -> Fr {
        let slots: Vec<Fr> = self.values.iter().map(|&id| values[id]).collect();
        packed_word(&slots, off, bits) - off
    }
}

/// `Σ (v_i + off)·2^(bits·(len−1−i))`: the first value in the top slot.
pub fn packed_word(values: &[Fr], off: Fr, bits: u32) -> Fr {
    let shift = Fr::from(2).pow_vartime([bits as u64]);
    values
        .iter()
        .fold(Fr::zero(), |acc, &v| acc * shift + v + off)
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = GateParams;

    fn without_witnesses(&self) -> Self {
        ModelCircuit {
            witness: None,
            link_tails: Vec::new(),
            params_tail: Vec::new(),
            ..self.clone()
        }
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
        c.assign_tables(&mut layouter, &self.quant)?;
        if let Some(hash) = &c.poseidon {
            hash.assign_range_table(&mut layouter)?;
        }
        layouter.assign_region(
            || "model",
            |mut region| {
                let a = Assigner {
                    circuit: self,
                    c: &c,
                    vals: self.witness.as_deref().map(|v| v.as_slice()),
                };
                a.public_rows(&mut region)?;
                a.link_rows(&mut region)?;
                a.salt_rows(&mut region)?;
                for nr in &self.layout.neurons {
                    a.neuron_block(&mut region, nr)?;
                }
                for word in &self.layout.words {
                    a.word_block(&mut region, word)?;
                }
                for sp in &self.layout.sponges {
                    a.sponge(&mut region, sp)?;
                }
                // One weight set for every inference of a batch.
                for (row, row0) in self.layout.weight_links() {
                    region.constrain_equal(a.cell(Col::W, row), a.cell(Col::W, row0));
                }
                Ok(())
            },
        )?;
        Ok(())
    }
}

/// Assigns the model region: public rows, neuron blocks, sponges. Every
/// advice cell goes through [`Assigner::put_fr`], so tests can corrupt any
/// one of them (see [`ModelCircuit::corrupt`]).
struct Assigner<'a> {
    circuit: &'a ModelCircuit,
    c: &'a ModelConfig,
    /// The program values; `None` at keygen.
    vals: Option<&'a [Fr]>,
}

type Region<'r> = halo2_proofs::circuit::Region<'r, Fr>;

impl Assigner<'_> {
    fn column(&self, col: Col) -> Column<Advice> {
        let c = self.c;
        let hash = || {
            c.poseidon
                .as_ref()
                .expect("a hashed tensor configures Poseidon")
        };
        match col {
            Col::X => c.x,
            Col::Acc => c.acc,
            Col::Z => c.z,
            Col::X2 => c.x2.expect("a wide multiply row configures x2").0,
            Col::Z2 => c.z2.expect("a wide chain configures z2"),
            Col::W => c.w.expect("weights in advice configure w"),
            Col::S(i) => hash().s[i],
            Col::U(i) => hash().u[i],
            Col::M => hash().m,
            Col::Pk => hash().pk().expect("packed params configure pk"),
            Col::Link(t) => match t {
                Tensor::Input => c.link_in,
                Tensor::Output => c.link_out,
                Tensor::Params => None,
            }
            .expect("a linked tensor configures its link column"),
        }
    }

    /// The cell that holds value `id` (see [`Layout::value_cell`]).
    fn value_cell(&self, id: ValueId) -> Cell {
        let (col, row) = self.circuit.layout.value_cell(id);
        self.cell(col, row)
    }

    fn cell(&self, col: Col, row: usize) -> Cell {
        Cell {
            row_offset: row,
            column: self.column(col).into(),
        }
    }

    /// Assign `v` (unknown at keygen) to an advice cell; returns what was
    /// assigned.
    fn put_fr(
        &self,
        region: &mut Region<'_>,
        col: Column<Advice>,
        row: usize,
        v: Option<Fr>,
    ) -> Option<Fr> {
        let v = match (self.vals, v) {
            (Some(_), Some(v)) => Some(v + self.circuit.delta(|c| self.column(c), col, row)),
            _ => None,
        };
        region.assign_advice(col, row, v.map_or(Value::unknown(), Value::known));
        v
    }

    /// Assign a cell whose value exists only with a witness.
    fn put(&self, region: &mut Region<'_>, col: Col, row: usize, v: impl FnOnce(&[Fr]) -> Fr) {
        self.put_fr(region, self.column(col), row, self.vals.map(v));
    }

    fn put_const(&self, region: &mut Region<'_>, col: Col, row: usize, v: Fr) {
        self.put_fr(region, self.column(col), row, Some(v));
    }

    /// Public rows: `x` holds the value (the public gate ties it to the
    /// instance) and is a copy of the value's own cell; `acc` is 0, as the
    /// first neuron block needs. A commitment's row is assigned with its
    /// sponge.
    fn public_rows(&self, region: &mut Region<'_>) -> Result<(), Error> {
        let (lay, prog) = (&self.circuit.layout, &self.circuit.program);
        // `f` is 0 on public rows anyway. Assigning it makes the region
        // start at row 0 for MockProver, whose failures then name absolute
        // rows (it measures a region by its fixed cells and selectors).
        region.assign_fixed(self.c.f, 0, Fr::zero());
        if let Some(q_top) = self.c.q_top {
            q_top.enable(region, 0)?;
            self.put_const(region, Col::Acc, 0, Fr::zero());
        }
        for (row, item) in lay.public.iter().enumerate() {
            let id = match *item {
                PublicItem::Input(i) => i,
                PublicItem::Output(j) => prog.outputs[j],
                // Assigned with the sponge or the word that fills them.
                PublicItem::Commitment(_) | PublicItem::Packed { .. } => {
                    self.put_const(region, Col::Acc, row, Fr::zero());
                    continue;
                }
            };
            self.put(region, Col::X, row, |v| v[id]);
            region.constrain_equal(self.cell(Col::X, row), self.value_cell(id));
            self.put_const(region, Col::Acc, row, Fr::zero());
        }
        Ok(())
    }

    /// Link columns: row `i` holds the cut tensor's `i`-th value, so the
    /// column's commitment commits to the tensor. An input link row is the
    /// value's own cell; an output link row is a copy of the value's cell.
    /// With a witness, the rows of its tail that halo2 does not blind
    /// (`proof::link::pad_rows`). Every other row is zero.
    fn link_rows(&self, region: &mut Region<'_>) -> Result<(), Error> {
        let (lay, prog) = (&self.circuit.layout, &self.circuit.program);
        let linked = lay.visibility.linked;
        for (t, tensor) in linked.tensors().enumerate() {
            let link = Col::Link(tensor);
            for (i, id) in value_ids(tensor, prog).into_iter().enumerate() {
                self.put(region, link, i, |v| v[id]);
                if tensor == Tensor::Output {
                    region.constrain_equal(self.cell(link, i), self.value_cell(id));
                }
            }
            if self.vals.is_none() {
                continue;
            }
            if let Some(tail) = self.circuit.link_tails.get(t) {
                self.tail_rows(region, link, tail);
            }
        }
        Ok(())
    }

    /// The rows of a scripted tail (a link's, or committed weights' salt)
    /// that halo2 does not blind: assigned here, just above its blinding
    /// rows (`proof::link::pad_rows`).
    fn tail_rows(&self, region: &mut Region<'_>, col: Col, tail: &[Fr]) {
        let lay = &self.circuit.layout;
        let blinding_factors = lay.reserved_rows - 1;
        for (row, v) in crate::proof::link::pad_rows(1 << lay.k, tail, blinding_factors) {
            self.put_const(region, col, row, v);
        }
    }

    /// Committed weights: the rows of the salt tail above halo2's
    /// blinding rows (`proof::committed`). The layout ends below them.
    fn salt_rows(&self, region: &mut Region<'_>) -> Result<(), Error> {
        let lay = &self.circuit.layout;
        if self.vals.is_none() || !lay.visibility.params_committed() {
            return Ok(());
        }
        // Without a tail (MockProver tests), halo2 blinds `w` at random:
        // sound, but the commitment then matches no pinned one.
        let tail = &self.circuit.params_tail;
        if tail.is_empty() {
            return Ok(());
        }
        assert!(
            tail.len() == (1 << lay.k) - lay.rows_used,
            "a committed weights column is salted from its last used row"
        );
        self.tail_rows(region, Col::W, tail);
        Ok(())
    }

    /// A packed public word: multiply rows with fixed weights
    /// `2^(bits·(len−1−i))` over copies of the values, then the word's
    /// result row `x = acc[−1] + f` with `f = off·Σ 2^(bits·k) − off`, so
    /// `x` is the word minus the public offset, as its public row (a copy)
    /// expects.
    fn word_block(&self, region: &mut Region<'_>, word: &layout::WordRows) -> Result<(), Error> {
        let (c, lay, q) = (self.c, &*self.circuit.layout, &self.circuit.quant);
        let p = lay.value_packing.expect("words come with a packing");
        let off = fe(q.public_offset() as i128);
        let len = word.values.len();
        let weight = |i: usize| Fr::from(2).pow_vartime([(p.bits as usize * (len - 1 - i)) as u64]);
        let mut acc = self.vals.map(|_| Fr::zero());
        for (i, &id) in word.values.iter().enumerate() {
            let row = word.start + i;
            region.assign_fixed(c.f, row, weight(i));
            if let Some((_, f2)) = c.x2 {
                region.assign_fixed(f2, row, Fr::zero());
            }
            if let Some(pc) = c.p {
                region.assign_fixed(pc, row, Fr::zero());
            }
            acc = acc.zip(self.vals).map(|(a, v)| a + weight(i) * v[id]);
            self.put(region, Col::X, row, |v| v[id]);
            self.put_fr(region, c.acc, row, acc);
            // No gate reads `w` here; 0 is what a committed column holds.
            if c.w.is_some() {
                self.put_const(region, Col::W, row, Fr::zero());
            }
            match c.q_word_mac {
                Some(q) => q.enable(region, row)?,
                None => c.q_mac.enable(region, row)?,
            }
            region.constrain_equal(self.cell(Col::X, row), self.value_cell(id));
        }
        let e = word.result_row;
        let bias = (0..len).fold(Fr::zero(), |s, i| s + weight(i)) * off - off;
        region.assign_fixed(c.f, e, bias);
        self.put_const(region, Col::Acc, e, Fr::zero());
        let word_less_offset = |v: &[Fr]| word.word_less_offset(v, off, p.bits);
        self.put(region, Col::X, e, word_less_offset);
        c.q_word
            .expect("packed values configure the word gate")
            .enable(region, e)?;
        self.put(region, Col::X, word.public_row, word_less_offset);
        region.constrain_equal(self.cell(Col::X, e), self.cell(Col::X, word.public_row));
        Ok(())
    }

    /// A multiply row that adds nothing to `acc` (0 above, 0 here): weight
    /// 0, or mask 0 with the weight cell 0.
    fn zero_weight_row(&self, region: &mut Region<'_>, row: usize) -> Result<(), Error> {
        let c = self.c;
        region.assign_fixed(c.f, row, Fr::zero());
        self.put_const(region, Col::X, row, Fr::zero());
        self.put_const(region, Col::Acc, row, Fr::zero());
        if c.w.is_some() {
            self.put_const(region, Col::W, row, Fr::zero());
        }
        c.q_mac.enable(region, row)
    }

    /// One neuron block: padding, multiply rows (each operand a copy of
    /// its value's cell), the chain, the result row.
    fn neuron_block(&self, region: &mut Region<'_>, nr: &layout::NeuronRows) -> Result<(), Error> {
        let (c, lay, q) = (self.c, &*self.circuit.layout, &self.circuit.quant);
        let n = &nr.neuron;
        for row in nr.start..nr.start + nr.padding {
            self.zero_weight_row(region, row)?;
        }
        let wit = self
            .vals
            .map(|v| witness::block(n, lay.shape.lanes(), v, q));
        let first = nr.start + nr.padding;
        // Rows: the terms, `lanes` a row; then (a, b) for each product.
        let term_rows = n
            .terms
            .chunks(lay.shape.lanes())
            .map(|l| (l[0], l.get(1).copied(), 0));
        let product_rows = n
            .products
            .iter()
            .flat_map(|&(a, b, w)| [((a, 0), None, w), ((b, 0), None, 0)]);
        for (i, ((src, w), second, pw)) in term_rows.chain(product_rows).enumerate() {
            let row = first + i;
            let mul =
                |_: &[Fr]| wit.as_ref().expect("values come with a block witness").rows[i].clone();
            if let Some((src2, w2)) = second {
                let (_, f2) = c.x2.expect("two terms a row need the wide multiply shape");
                region.assign_fixed(f2, row, fe(w2 as i128));
                self.put(region, Col::X2, row, |v| mul(v).x2.expect("a second lane"));
                region.constrain_equal(self.cell(Col::X2, row), self.value_cell(src2));
            }
            if c.w.is_some() {
                // A term row applies its weight; a product row none.
                region.assign_fixed(
                    c.f,
                    row,
                    fe((i < n.terms.len().div_ceil(lay.shape.lanes())) as i128),
                );
                self.put_const(region, Col::W, row, fe(w as i128));
            } else {
                region.assign_fixed(c.f, row, fe(w as i128));
            }
            if let Some(p) = c.p {
                region.assign_fixed(p, row, fe(pw as i128));
            }
            self.put(region, Col::X, row, |v| mul(v).x);
            self.put(region, Col::Acc, row, |v| mul(v).acc);
            c.q_mac.enable(region, row)?;
            region.constrain_equal(self.cell(Col::X, row), self.value_cell(src));
        }
        self.chain(region, nr, wit.as_ref().map(|w| w.prefixes.as_slice()))?;
        let e = nr.result_row;
        if c.w.is_some() {
            region.assign_fixed(c.f, e, Fr::one());
            self.put_const(region, Col::W, e, fe(n.bias as i128));
        } else {
            region.assign_fixed(c.f, e, fe(n.bias as i128));
        }
        self.put_const(region, Col::Acc, e, Fr::zero());
        // The block that holds a value writes the value itself; the gate
        // must then agree with it. A quotient's sign checks hold no value:
        // they write what their gate computes.
        let holds_value = lay.value_row[nr.value] == e;
        self.put(region, Col::X, e, |v| {
            if holds_value {
                v[nr.value]
            } else {
                wit.as_ref().expect("a witness").out
            }
        });
        self.result_gate(region, n.act, e)
    }

    /// The chain prefixes `p_0 ..= p_bits` of a block, from its start row
    /// to its result row.
    fn chain(
        &self,
        region: &mut Region<'_>,
        nr: &layout::NeuronRows,
        prefixes: Option<&[Fr]>,
    ) -> Result<(), Error> {
        let (c, lay) = (self.c, &*self.circuit.layout);
        let bits = lay.chain_bits;
        if lay.shape.has_virtual_zero(bits) {
            // Below p_0, which then sits in z2.
            self.put_const(region, Col::Z, nr.chain_start, Fr::zero());
        }
        for row in nr.chain_start..nr.result_row {
            c.q_bit.enable(region, row)?;
        }
        for m in 0..=bits {
            let (col, rot) = lay.shape.chain_cell(bits, m);
            let row = nr
                .result_row
                .checked_add_signed(rot as isize)
                .expect("a chain lies above its result row");
            self.put_fr(region, self.column(col), row, prefixes.map(|p| p[m]));
        }
        Ok(())
    }

    fn result_gate(&self, region: &mut Region<'_>, act: Activation, e: usize) -> Result<(), Error> {
        let c = self.c;
        match act {
            Activation::Identity => c.q_ident.enable(region, e),
            Activation::Relu => c.q_relu.enable(region, e),
            Activation::NonNeg => c
                .q_nonneg
                .expect("quotient checks configure the sign gate")
                .enable(region, e),
            Activation::Step => c
                .q_step
                .expect("a step neuron configures the step gate")
                .enable(region, e),
            Activation::Lut(f) => {
                let lut = c
                    .lut
                    .as_ref()
                    .expect("tables are configured for programs with table functions");
                lut.q_lut.enable(region, e)?;
                region.assign_fixed(lut.tag, e, Fr::from(c.params.tag(f)));
                Ok(())
            }
        }
    }

    /// A sponge, in its own columns beside the neuron rows: each word is a
    /// copy of the cell that holds it, and the squeezed hash is a copy of
    /// its public row.
    fn sponge(&self, region: &mut Region<'_>, sp: &layout::Sponge) -> Result<(), Error> {
        let (lay, prog, q) = (
            &*self.circuit.layout,
            &*self.circuit.program,
            &self.circuit.quant,
        );
        let hash = self
            .c
            .poseidon
            .as_ref()
            .expect("a hashed tensor configures Poseidon");
        let known = |v: i64| self.vals.map(|_| fe(v as i128));
        let (words, sources): (Vec<poseidon::Word>, Vec<Cell>) = match sp.tensor {
            Tensor::Input | Tensor::Output => {
                let ids = value_ids(sp.tensor, prog);
                let words = ids
                    .iter()
                    .map(|&i| poseidon::Word::Plain(self.vals.map(|v| v[i])))
                    .collect();
                (words, ids.iter().map(|&i| self.value_cell(i)).collect())
            }
            Tensor::Params => {
                let words = lay.param_words();
                let sources = words
                    .iter()
                    .flat_map(ParamWord::cells)
                    .map(|&(row, _)| self.cell(Col::W, row))
                    .collect();
                let words = words
                    .iter()
                    .map(|w| poseidon::Word::of_params(w, lay.packing, |c| known(c.1)))
                    .collect();
                (words, sources)
            }
        };
        let off = fe(q.public_offset() as i128);
        let put_fr = |region: &mut Region<'_>, col: Column<Advice>, row: usize, v: Option<Fr>| {
            self.put_fr(region, col, row, v)
        };
        let cells = hash.assign(region, sp.start, &words, off, &put_fr)?;
        for (word, source) in cells.words.into_iter().zip(sources) {
            region.constrain_equal(word, source);
        }
        let public_row = lay
            .public
            .iter()
            .position(|p| *p == PublicItem::Commitment(sp.tensor))
            .expect("a hashed tensor has a public commitment");
        self.put_fr(region, self.c.x, public_row, cells.value.map(|h| h - off));
        region.constrain_equal(cells.hash, self.cell(Col::X, public_row));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
