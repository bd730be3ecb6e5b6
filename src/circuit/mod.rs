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
//! past the public ones, where the instance column is zero. Inputs that are
//! not public follow as zero-weight multiply rows (their `acc` stays 0, as
//! the first neuron block needs).
//!
//! Weights live in the fixed column `f`, so a model is a circuit — unless
//! they are private or hashed: then a `w` advice column holds them and `f`
//! is a 0/1 mask (`acc = acc[-1] + f·w·x`, chain link `z = acc[-1] + f·w`),
//! so padding and product rows cannot pick up a free weight. Hashed tensors
//! run through the sponge of [`poseidon`], whose words are copies of the
//! `x` or `w` cells they hash.

pub mod layout;
pub mod poseidon;
pub mod public;

use crate::model::{Activation, LutFn, Program};
use crate::quant::{neuron_step, QuantParams};
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Selector, TableColumn};
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
    pub fn of(q: &QuantParams, program: &Program<i64>, visibility: Visibility, packing: Option<layout::Packing>, shape: layout::Shape) -> GateParams {
        let fns = program.lut_fns();
        GateParams {
            weight_bits: q.weight_bits,
            range_bits: q.range_bits,
            products: program.has_products(),
            step: program.neurons().any(|(_, n)| n.act == Activation::Step).then_some(q.scale_bits),
            lut: (!fns.is_empty()).then(|| LutParams { shift: q.lut_shift(), fns }),
            visibility,
            packing,
            shape,
        }
    }

    /// Table tag of `f` (0 is the empty row).
    fn tag(&self, f: LutFn) -> u64 {
        let fns = &self.lut.as_ref().expect("a table function needs tables").fns;
        fns.iter().position(|g| *g == f).expect("every function of the program has a table") as u64 + 1
    }
}

impl Default for GateParams {
    fn default() -> Self {
        GateParams { weight_bits: 8, range_bits: 12, products: false, step: None, lut: None, visibility: Visibility::default(), packing: None, shape: layout::Shape::NARROW }
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
    q_zero: Selector,
    q_ident: Selector,
    q_relu: Selector,
    q_nonneg: Option<Selector>,
    q_step: Option<Selector>,
    lut: Option<LutConfig>,
    /// Weights and biases, when they are private or hashed; `f` then holds
    /// 1 where a weight applies and 0 elsewhere.
    w: Option<Column<Advice>>,
    poseidon: Option<PoseidonConfig>,
}

#[derive(Clone, Debug)]
struct LutConfig {
    q_lut: Selector,
    /// Function tag of each table result row (0 elsewhere).
    tag: Column<Fixed>,
    table: [TableColumn; 3],
}

impl ModelConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, params: GateParams) -> Self {
        let x = meta.advice_column();
        let acc = meta.advice_column();
        let z = meta.advice_column();
        let f = meta.fixed_column();
        let instance = meta.instance_column();
        // A simple selector may not appear in a sum, as the product term
        // needs; then q_mac becomes a complex one.
        let q_mac = if params.products { meta.complex_selector() } else { meta.selector() };
        let q_bit = meta.selector();
        let q_zero = meta.selector();
        let q_ident = meta.selector();
        let q_relu = meta.selector();
        // Only quotient checks assert a sign, and quotients come with
        // products: other circuits keep one selector (and commitment) fewer.
        let q_nonneg = params.products.then(|| meta.selector());
        let p = params.products.then(|| meta.fixed_column());
        meta.enable_equality(x);
        let x2 = params.shape.wide_mac.then(|| (meta.advice_column(), meta.fixed_column()));
        if let Some((x2, _)) = x2 {
            meta.enable_equality(x2);
        }
        let z2 = params.shape.wide_chain.then(|| meta.advice_column());
        let w = params.visibility.params_in_advice().then(|| meta.advice_column());
        if let (Some(w), true) = (w, params.visibility.params == public::Vis::Hashed) {
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
            let col = if col == Col::Z { z } else { z2.expect("a wide chain configures z2") };
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
                step = step - m.query_fixed(f2, Rotation::cur()) * m.query_advice(x2, Rotation::cur());
            }
            let mac = q * step;
            match p {
                // p is zero off product rows, which are multiply rows.
                Some(p) => vec![mac - m.query_fixed(p, Rotation::cur()) * xv * m.query_advice(x, Rotation::next())],
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
            let (cur, next) = (m.query_advice(z, Rotation::cur()), m.query_advice(z, Rotation::next()));
            match z2 {
                None => vec![bit(next, cur)],
                Some(z2) => {
                    let mid = m.query_advice(z2, Rotation::cur());
                    vec![bit(mid.clone(), cur), bit(next, mid)]
                }
            }
        });
        meta.create_gate("chain start: p_0 = 0", |m| {
            let q = m.query_selector(q_zero);
            let mut zero = vec![q.clone() * m.query_advice(z, Rotation::cur())];
            // An odd wide chain holds a virtual zero in z; p_0 follows in z2.
            if let (Some(z2), 1) = (z2, n % 2) {
                zero.push(q * m.query_advice(z2, Rotation::cur()));
            }
            zero
        });
        // The result row reads its chain: the full value at its own row,
        // y + H (the top range bits) wb rows up, the sign bit at the top.
        // It also zeroes `acc`, which the next block's first multiply reads.
        let result_row = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
            let link = chain(m, n) - m.query_advice(acc, Rotation::prev()) - weight(m);
            let y = chain(m, n - wb) - half.clone();
            (link, m.query_advice(acc, Rotation::cur()), y, m.query_advice(x, Rotation::cur()))
        };
        meta.create_gate("ident: out = y, chain = accumulator + bias", |m| {
            let q = m.query_selector(q_ident);
            let (link, acc_zero, y, out) = result_row(m);
            vec![q.clone() * link, q.clone() * acc_zero, q * (out - y)]
        });
        meta.create_gate("relu: out = y·sign, chain = accumulator + bias", |m| {
            let q = m.query_selector(q_relu);
            let (link, acc_zero, y, out) = result_row(m);
            let sign = chain(m, 1);
            vec![q.clone() * link, q.clone() * acc_zero, q * (out - y * sign)]
        });
        if let Some(q_nonneg) = q_nonneg {
            meta.create_gate("nonneg: out = y ≥ 0, chain = accumulator + bias", |m| {
                let q = m.query_selector(q_nonneg);
                let (link, acc_zero, y, out) = result_row(m);
                let sign = chain(m, 1);
                vec![q.clone() * link, q.clone() * acc_zero, q.clone() * (out - y), q * (sign - Expression::Constant(Fr::one()))]
            });
        }
        let q_step = params.step.map(|scale_bits| {
            let q_step = meta.selector();
            let one = Expression::Constant(Fr::from(1u64 << scale_bits));
            meta.create_gate("step: out = sign·2^scale, chain = accumulator + bias", |m| {
                let q = m.query_selector(q_step);
                let (link, acc_zero, _, out) = result_row(m);
                let sign = chain(m, 1);
                vec![q.clone() * link, q.clone() * acc_zero, q * (out - sign * one)]
            });
            q_step
        });
        let lut = params.lut.as_ref().map(|lp| {
            let q_lut = meta.complex_selector();
            let tag = meta.fixed_column();
            let table = [meta.lookup_table_column(), meta.lookup_table_column(), meta.lookup_table_column()];
            meta.create_gate("table: chain = accumulator + bias", |m| {
                let q = m.query_selector(q_lut);
                let (link, acc_zero, _, _) = result_row(m);
                vec![q.clone() * link, q * acc_zero]
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
        meta.create_gate("public: x = instance - offset, acc = 0 where instance != 0", |m| {
            let inst = m.query_instance(instance, Rotation::cur());
            vec![
                inst.clone() * (m.query_advice(x, Rotation::cur()) + offset - inst.clone()),
                inst * m.query_advice(acc, Rotation::cur()),
            ]
        });
        let poseidon = params.visibility.hashes().then(|| PoseidonConfig::configure(meta, off, params.packing));
        ModelConfig { params, x, acc, z, f, x2, z2, p, q_mac, q_bit, q_zero, q_ident, q_relu, q_nonneg, q_step, lut, w, poseidon }
    }

    /// Fill the tables: the all-zero row, then each function's entries.
    fn assign_tables(&self, layouter: &mut impl Layouter<Fr>, q: &QuantParams) -> Result<(), Error> {
        let (Some(lut), Some(lp)) = (&self.lut, &self.params.lut) else { return Ok(()) };
        layouter.assign_table(
            || "function tables",
            |mut table| {
                let mut row = 0;
                let mut put = |table: &mut halo2_proofs::circuit::Table<'_, Fr>, tag: u64, index: i128, out: i128| {
                    for (col, v) in lut.table.iter().zip([tag as i128, index, out]) {
                        table.assign_cell(|| "table", *col, row, || Value::known(fe(v)))?;
                    }
                    row += 1;
                    Ok::<_, Error>(())
                };
                put(&mut table, 0, 0, 0)?;
                for &f in &lp.fns {
                    for index in 0..q.lut_len() {
                        put(&mut table, self.params.tag(f), index as i128, q.lut_entry(f, index) as i128)?;
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
    (cs.num_advice_columns(), cs.num_fixed_columns(), cs.num_selectors())
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
}

impl ModelCircuit {
    pub fn gate_params(&self) -> GateParams {
        GateParams::of(&self.quant, &self.program, self.layout.visibility, self.layout.packing, self.layout.shape)
    }

    /// Public inputs in verifier order (see [`public::public_items`]):
    /// values offset-encoded (see the module docs), commitments as hashes.
    pub fn instance(&self) -> Vec<Fr> {
        let w = self.witness.as_ref().expect("instance needs a witness");
        public_instance(&self.program, &self.layout, &self.quant, w)
    }
}

/// The message words of a hashed tensor: its quantized values as field
/// elements (negative ones as `r − |v|`).
pub fn tensor_words(tensor: Tensor, program: &Program<i64>, layout: &Layout, values: Option<&[i64]>) -> Option<Vec<Fr>> {
    match tensor {
        Tensor::Input | Tensor::Output => values.map(|v| value_ids(tensor, program).iter().map(|&i| fe(v[i] as i128)).collect()),
        Tensor::Params => Some(
            layout
                .param_words()
                .iter()
                .map(|w| match (w, layout.packing) {
                    (ParamWord::Packed(cells), Some(p)) => p.word(&cells.iter().map(|c| c.1).collect::<Vec<_>>()),
                    (ParamWord::Raw((_, v)), _) => fe(*v as i128),
                    (ParamWord::Packed(_), None) => unreachable!("packed words come with a packing"),
                })
                .collect(),
        ),
    }
}

/// The program values an input or output tensor holds, in order.
fn value_ids(tensor: Tensor, program: &Program<i64>) -> Vec<usize> {
    match tensor {
        Tensor::Input => (0..program.num_inputs).collect(),
        Tensor::Output => program.outputs.clone(),
        Tensor::Params => unreachable!("params are no program values"),
    }
}

/// The commitment `commit` prints and the circuit exposes.
pub fn commitment(tensor: Tensor, program: &Program<i64>, layout: &Layout, values: Option<&[i64]>) -> Option<Fr> {
    tensor_words(tensor, program, layout, values).map(|w| crate::poseidon::hash(&w))
}

/// The public inputs for the program values `values`.
pub fn public_instance(program: &Program<i64>, layout: &Layout, q: &QuantParams, values: &[i64]) -> Vec<Fr> {
    let off = q.public_offset() as i128;
    layout
        .public
        .iter()
        .map(|item| match *item {
            PublicItem::Input(i) => fe(values[i] as i128 + off),
            PublicItem::Output(j) => fe(values[program.outputs[j]] as i128 + off),
            PublicItem::Commitment(t) => commitment(t, program, layout, Some(values)).expect("values given"),
        })
        .collect()
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
        c.assign_tables(&mut layouter, &self.quant)?;
        if let Some(hash) = &c.poseidon {
            hash.assign_range_table(&mut layouter)?;
        }
        let lay = &self.layout;
        let prog = &self.program;
        let q = &self.quant;
        let vals: Option<&[i64]> = self.witness.as_deref().map(|v| v.as_slice());
        let off = fe(q.public_offset() as i128);
        let column = |col: Col| -> Column<Advice> {
            let hash = || c.poseidon.as_ref().expect("a hashed tensor configures Poseidon");
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
            }
        };
        layouter.assign_region(
            || "model",
            |mut region| {
                // Every advice cell goes through `put_fr`, so tests can
                // corrupt any one of them (see `ModelCircuit::corrupt`).
                let put_fr = |region: &mut halo2_proofs::circuit::Region<'_, Fr>, col: Column<Advice>, row: usize, v: Option<Fr>| {
                    let delta: Fr = self.corrupt.iter().filter(|(cc, r, _)| column(*cc) == col && *r == row).map(|(_, _, d)| *d).sum();
                    let v = match (vals, v) {
                        (Some(_), Some(v)) => Value::known(v + delta),
                        _ => Value::unknown(),
                    };
                    region.assign_advice(col, row, v);
                };
                let put = |region: &mut halo2_proofs::circuit::Region<'_, Fr>, col: Col, row: usize, v: i128| {
                    put_fr(region, column(col), row, Some(fe(v)));
                };
                let cell = |col: Col, row: usize| Cell { row_offset: row, column: column(col).into() };
                let val = |id: usize| vals.map(|v| v[id]).unwrap_or(0) as i128;
                // A multiply row that adds nothing to `acc` (0 above, 0
                // here): weight 0, or mask 0 with the weight cell 0.
                let zero_weight_row = |region: &mut halo2_proofs::circuit::Region<'_, Fr>, row: usize, x: i128| {
                    region.assign_fixed(c.f, row, Fr::zero());
                    put(region, Col::X, row, x);
                    put(region, Col::Acc, row, 0);
                    if c.w.is_some() {
                        put(region, Col::W, row, 0);
                    }
                    c.q_mac.enable(region, row)
                };

                // Public rows, then the inputs that are not public.
                for (row, item) in lay.public.iter().enumerate() {
                    match *item {
                        PublicItem::Input(i) => put(&mut region, Col::X, row, val(i)),
                        PublicItem::Output(j) => {
                            put(&mut region, Col::X, row, val(prog.outputs[j]));
                            region.constrain_equal(cell(Col::X, row), cell(Col::X, lay.value_row[prog.outputs[j]]));
                        }
                        // Assigned with its sponge, below.
                        PublicItem::Commitment(_) => {}
                    }
                    put(&mut region, Col::Acc, row, 0);
                }
                // Hidden input rows are zero-weight multiply rows: their
                // `acc` stays 0 from the public row above, as the first
                // neuron block needs.
                for row in lay.public.len()..lay.public.len() + lay.hidden_inputs {
                    zero_weight_row(&mut region, row, val(row - lay.public.len()))?;
                }

                let bits = lay.chain_bits;
                let in_advice = c.w.is_some();
                for nr in &lay.neurons {
                    let n = &nr.neuron;
                    for row in nr.start..nr.start + nr.padding {
                        zero_weight_row(&mut region, row, 0)?;
                    }
                    // Multiply rows: (source, weight, second lane's
                    // (source, weight), product weight, what the row adds
                    // to acc); a product is (a, 0, -, w, w·a·b) then
                    // (b, 0, -, 0, 0).
                    let first = nr.start + nr.padding;
                    let term_rows = n.terms.chunks(lay.shape.lanes()).map(|lanes| {
                        let (src, w) = lanes[0];
                        let second = lanes.get(1).copied();
                        let adds = w as i128 * val(src) + second.map_or(0, |(s2, w2)| w2 as i128 * val(s2));
                        (src, Some(w), second, 0, adds)
                    });
                    let rows = term_rows.chain(
                        n.products.iter().flat_map(|&(a, b, w)| [(a, None, None, w, w as i128 * val(a) * val(b)), (b, None, None, 0, 0)]),
                    );
                    let mut acc = 0i128;
                    for (i, (src, w, second, pw, adds)) in rows.enumerate() {
                        let row = first + i;
                        acc += adds;
                        if let Some((src2, w2)) = second {
                            let (_, f2) = c.x2.expect("two terms a row need the wide multiply shape");
                            region.assign_fixed(f2, row, fe(w2 as i128));
                            put(&mut region, Col::X2, row, val(src2));
                            region.constrain_equal(cell(Col::X2, row), cell(Col::X, lay.value_row[src2]));
                        }
                        let w = w.unwrap_or(0) as i128;
                        if in_advice {
                            // A term row applies its weight; a product row none.
                            region.assign_fixed(c.f, row, fe((i < n.terms.len()) as i128));
                            put(&mut region, Col::W, row, w);
                        } else {
                            region.assign_fixed(c.f, row, fe(w));
                        }
                        if let Some(p) = c.p {
                            region.assign_fixed(p, row, fe(pw as i128));
                        }
                        put(&mut region, Col::X, row, val(src));
                        put(&mut region, Col::Acc, row, acc);
                        c.q_mac.enable(&mut region, row)?;
                        region.constrain_equal(cell(Col::X, row), cell(Col::X, lay.value_row[src]));
                    }
                    // The chain: MSB-first prefixes of V = dot product + bias.
                    let wit = vals.map(|v| neuron_step(n, v, q));
                    let total = wit.map(|w| w.acc).unwrap_or(0);
                    let e = nr.result_row;
                    c.q_zero.enable(&mut region, nr.chain_start)?;
                    if lay.shape.has_virtual_zero(bits) {
                        // Below p_0, which then sits in z2.
                        put(&mut region, Col::Z, nr.chain_start, 0);
                    }
                    for row in nr.chain_start..e {
                        c.q_bit.enable(&mut region, row)?;
                    }
                    for i in 0..=bits {
                        // Floor shifts: for an out-of-range V this is the
                        // witness that fails only the chain-start gate.
                        let prefix = total >> (bits - i);
                        let (col, rot) = lay.shape.chain_cell(bits, i);
                        put(&mut region, col, e.checked_add_signed(rot as isize).expect("a chain lies above its result row"), prefix);
                    }
                    if in_advice {
                        region.assign_fixed(c.f, e, Fr::one());
                        put(&mut region, Col::W, e, n.bias as i128);
                    } else {
                        region.assign_fixed(c.f, e, fe(n.bias as i128));
                    }
                    put(&mut region, Col::Acc, e, 0);
                    put(&mut region, Col::X, e, wit.map(|w| w.out).unwrap_or(0) as i128);
                    match n.act {
                        Activation::Identity => c.q_ident.enable(&mut region, e)?,
                        Activation::Relu => c.q_relu.enable(&mut region, e)?,
                        Activation::NonNeg => c.q_nonneg.expect("quotient checks configure the sign gate").enable(&mut region, e)?,
                        Activation::Step => c.q_step.expect("a step neuron configures the step gate").enable(&mut region, e)?,
                        Activation::Lut(f) => {
                            let lut = c.lut.as_ref().expect("tables are configured for programs with table functions");
                            lut.q_lut.enable(&mut region, e)?;
                            region.assign_fixed(lut.tag, e, Fr::from(c.params.tag(f)));
                        }
                    }
                }

                // Sponges, in their own columns beside the rows above; each
                // word is a copy of the cell that holds it.
                for sp in &lay.sponges {
                    let hash = c.poseidon.as_ref().expect("a hashed tensor configures Poseidon");
                    let known = |v: i128| vals.map(|_| fe(v));
                    let (words, sources): (Vec<poseidon::Word>, Vec<Cell>) = match sp.tensor {
                        Tensor::Input | Tensor::Output => {
                            let ids = value_ids(sp.tensor, prog);
                            (ids.iter().map(|&i| poseidon::Word::Plain(known(val(i)))).collect(), ids.iter().map(|&i| cell(Col::X, lay.value_row[i])).collect())
                        }
                        Tensor::Params => {
                            let words = lay.param_words();
                            let sources = words
                                .iter()
                                .flat_map(|w| match w {
                                    ParamWord::Packed(cells) => cells.clone(),
                                    ParamWord::Raw(c) => vec![*c],
                                })
                                .map(|(row, _)| cell(Col::W, row))
                                .collect();
                            let words = words
                                .into_iter()
                                .map(|w| match w {
                                    ParamWord::Packed(cells) => poseidon::Word::Packed(cells.iter().map(|c| known(c.1 as i128)).collect()),
                                    ParamWord::Raw((_, v)) => poseidon::Word::Raw(known(v as i128)),
                                })
                                .collect();
                            (words, sources)
                        }
                    };
                    let cells = hash.assign(&mut region, sp.start, &words, off, &put_fr)?;
                    for (word, source) in cells.words.into_iter().zip(sources) {
                        region.constrain_equal(word, source);
                    }
                    let public_row = lay.public.iter().position(|p| *p == PublicItem::Commitment(sp.tensor)).expect("a hashed tensor has a public commitment");
                    put_fr(&mut region, c.x, public_row, cells.value.map(|h| h - off));
                    region.constrain_equal(cells.hash, cell(Col::X, public_row));
                }
                Ok(())
            },
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
