//! What a params sponge laid into the model's own columns would cost the
//! EVM verifier, measured before one is built (issue #16: hashed weights in
//! ≤ 320k gas for RockyBot).
//!
//! Each design adds its columns, gates, lookups and selectors to RockyBot's
//! private-weights circuit (packed public values) and enables them on the
//! rows of two permutations, as a real sponge would, but assigns no real
//! witness there: the proof is invalid, and the verifier does all of its
//! work (every precompile, the final pairing) before it says so. A verify
//! call's gas follows the verifying key's shape, not the witness, so the
//! invalid proof measures what a valid one would cost. The `none` row
//! checks that: the unchanged circuit, its honest proof and the same proof
//! with a public input bumped.
//!
//! `cargo run --release --example sponge_gas [DESIGN ...]`
//!
//! Designs (all put the state in `x, acc, z` and the first S-box square in
//! `w`; `f` holds the first round constant):
//! - `lookup`: message slots and the third square in a new column `m`,
//!   Horner sums and the second square in `pk`; two more round-constant
//!   columns; slots range-checked by a lookup.
//! - `limbs`: the same without the lookup: each 12-bit slot is six 2-bit
//!   limbs over two rows of `x, acc, z, w`, each checked by a degree-5
//!   gate, in a packing phase before the permutation.
//! - `bits`: slots in `w` itself (already in the
//!   permutation), so `m` only holds the third square and joins no
//!   permutation; each slot is twelve bits over four rows of `x, acc, z`,
//!   each checked by a degree-3 gate, so the circuit stays at degree 4.
//! - `lean`: `limbs3` with the slots in `w` and no `m` at all: one new
//!   advice column (`pk`), one new permutation column (`w`).
//! - `lookup3`, `limbs3`: a full round takes three rows, its squares in `w`
//!   and its constants in `f` at three rotations, so no round-constant
//!   column is added (partial rounds defer their other constants).
use anyhow::{Context, Result};
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_proofs::plonk::{
    keygen_pk, keygen_vk_custom, Advice, Circuit, Column, ConstraintSystem, Error, Expression,
    Fixed, Selector, TableColumn,
};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::Rotation;
use zkml_evm::circuit::{GateParams, ModelCircuit, ModelConfig, SharedColumns};
use zkml_evm::compile::{compile, CompileOptions, Vis, Visibility};
use zkml_evm::evm::codegen::PublicInputs;
use zkml_evm::evm::verifier::{encode_proof, gen_verifier_for, run_in_revm};
use zkml_evm::proof::{fr_to_hex, prove_circuit_with, srs, Keys, TranscriptKind};

/// Slots of a packed word, and their width.
const K: usize = 21;
const BITS: u32 = 12;
const ROUNDS: usize = 65;
const FULL_HALF: usize = 4;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Design {
    #[default]
    None,
    Lookup,
    Limbs,
    Bits,
    Lean,
    Lookup3,
    Limbs3,
}

impl Design {
    fn parse(s: &str) -> Result<Design> {
        Ok(match s {
            "none" => Design::None,
            "lookup" => Design::Lookup,
            "limbs" => Design::Limbs,
            "bits" => Design::Bits,
            "lean" => Design::Lean,
            "lookup3" => Design::Lookup3,
            "limbs3" => Design::Limbs3,
            _ => anyhow::bail!(
                "unknown design {s}: none, lookup, limbs, bits, lean, lookup3, limbs3"
            ),
        })
    }
    fn lookup(self) -> bool {
        matches!(self, Design::Lookup | Design::Lookup3)
    }
    /// Rows per message slot: one beside the rounds (lookup), or a packing
    /// phase of limb rows.
    fn slot_rows(self) -> usize {
        match self {
            Design::Bits => 4,
            Design::Limbs | Design::Limbs3 | Design::Lean => 2,
            _ => 1,
        }
    }
    /// Full rounds over three rows, constants in `f` only.
    fn tall_full_rounds(self) -> bool {
        matches!(self, Design::Lookup3 | Design::Limbs3 | Design::Lean)
    }
}

#[derive(Clone, Debug)]
struct Sponge {
    cols: SharedColumns,
    w: Column<Advice>,
    m: Option<Column<Advice>>,
    /// Where the message slots (copies of weight cells) sit: `m` or `w`.
    slot: Column<Advice>,
    pk: Column<Advice>,
    rc: Option<[Column<Fixed>; 2]>,
    range: Option<(TableColumn, Selector)>,
    q_init: Selector,
    q_absorb: Selector,
    q_full: Selector,
    q_partial: Selector,
    q_first: Selector,
    q_next: Selector,
    q_limbs: Option<Selector>,
    q_squeeze: Selector,
    design: Design,
}

fn constant(v: u64) -> Expression<Fr> {
    Expression::Constant(Fr::from(v))
}

/// `2^(B−1)`: a slot holds `weight + 2^(B−1)`.
fn half() -> Expression<Fr> {
    constant(1 << (BITS - 1))
}

fn configure_sponge(
    meta: &mut ConstraintSystem<Fr>,
    cols: SharedColumns,
    design: Design,
) -> Sponge {
    let w = cols.w.expect("weights in advice");
    meta.enable_equality(w);
    let slots_in_w = matches!(design, Design::Bits | Design::Lean);
    // `m` holds the slots (copies, so in the permutation), or squares of
    // one-row full rounds; a design with neither has none.
    let m = (!(slots_in_w && design.tall_full_rounds())).then(|| meta.advice_column());
    if !slots_in_w {
        meta.enable_equality(m.unwrap());
    }
    let s = Sponge {
        cols,
        w,
        m,
        slot: if slots_in_w { w } else { m.unwrap() },
        pk: meta.advice_column(),
        rc: (!design.tall_full_rounds()).then(|| [meta.fixed_column(), meta.fixed_column()]),
        range: design
            .lookup()
            .then(|| (meta.lookup_table_column(), meta.complex_selector())),
        q_init: meta.selector(),
        q_absorb: meta.selector(),
        q_full: meta.selector(),
        q_partial: meta.selector(),
        q_first: meta.selector(),
        q_next: meta.selector(),
        q_limbs: (!design.lookup()).then(|| meta.selector()),
        q_squeeze: meta.selector(),
        design,
    };
    s.state_gates(meta);
    s.round_gates(meta);
    s.pack_gates(meta);
    s
}

impl Sponge {
    fn state(&self) -> [Column<Advice>; 3] {
        [self.cols.x, self.cols.acc, self.cols.z]
    }

    /// Rotation from the absorb row to the last slot of word `j` (0 or 1).
    fn word_end(&self, j: i32) -> i32 {
        let k = K as i32;
        if self.design.lookup() {
            // Slots from 6 rows below it, beside the partial rounds.
            5 + (j + 1) * k
        } else {
            // A packing phase of 2K slots' rows just above it.
            let rows = self.design.slot_rows() as i32;
            rows * ((j + 1) * k - 1) - rows * 2 * k
        }
    }

    /// Init, absorb and squeeze.
    fn state_gates(&self, meta: &mut ConstraintSystem<Fr>) {
        let (cols, state, pk) = (self.cols, self.state(), self.pk);
        meta.create_gate("init", |v| {
            let q = v.query_selector(self.q_init);
            vec![
                q.clone()
                    * (v.query_advice(cols.x, Rotation::cur())
                        - v.query_fixed(cols.f, Rotation::cur())),
                q.clone() * v.query_advice(cols.acc, Rotation::cur()),
                q * v.query_advice(cols.z, Rotation::cur()),
            ]
        });
        meta.create_gate("absorb", |v| {
            let q = v.query_selector(self.q_absorb);
            (0..3)
                .map(|j| {
                    let mut e = v.query_advice(state[j], Rotation::next())
                        - v.query_advice(state[j], Rotation::cur());
                    if j > 0 {
                        e = e - v.query_advice(pk, Rotation(self.word_end(j as i32 - 1)));
                    }
                    q.clone() * e
                })
                .collect::<Vec<_>>()
        });
        // The hash less the public offset, where a public row would copy
        // it from: `m`, or `x` one row down.
        let (out_col, out_rot) = match self.m.filter(|_| self.slot != self.w) {
            Some(m) => (m, 0),
            None => (cols.x, 1),
        };
        meta.create_gate("squeeze", |v| {
            let q = v.query_selector(self.q_squeeze);
            vec![
                q * (v.query_advice(out_col, Rotation(out_rot)) + constant(2049)
                    - v.query_advice(cols.x, Rotation::cur())),
            ]
        });
    }

    /// `state' = MDS·(sbox(a₀), a₁, a₂)` (partial) or `MDS·sbox(a)` (full),
    /// `a = state + constants`, each S-box `a·u²` with `u = a²` in a cell.
    fn round_gates(&self, meta: &mut ConstraintSystem<Fr>) {
        let (cols, state, w) = (self.cols, self.state(), self.w);
        let tall = self.design.tall_full_rounds();
        let mix = |t: &[Expression<Fr>], i: usize| {
            let mds = zkml_evm::poseidon::constants().mds;
            (0..3).fold(constant(0), |e, j| {
                e + Expression::Constant(mds[i][j]) * t[j].clone()
            })
        };
        meta.create_gate("full round", |v| {
            let q = v.query_selector(self.q_full);
            let mut out = Vec::new();
            let mut t = Vec::new();
            for j in 0..3 {
                // Square and constant of word j: in `w` and `f` at
                // rotation j (three-row rounds), or side by side.
                let (sq, k) = match (tall, j) {
                    (true, _) => (
                        v.query_advice(w, Rotation(j as i32)),
                        v.query_fixed(cols.f, Rotation(j as i32)),
                    ),
                    (false, 0) => (
                        v.query_advice(w, Rotation::cur()),
                        v.query_fixed(cols.f, Rotation::cur()),
                    ),
                    (false, _) => (
                        v.query_advice(
                            if j == 1 { self.pk } else { self.m.unwrap() },
                            Rotation::cur(),
                        ),
                        v.query_fixed(self.rc.unwrap()[j - 1], Rotation::cur()),
                    ),
                };
                let a = v.query_advice(state[j], Rotation::cur()) + k;
                out.push(q.clone() * (sq.clone() - a.clone() * a.clone()));
                t.push(a * sq.clone() * sq);
            }
            let next = if tall { 3 } else { 1 };
            for i in 0..3 {
                out.push(q.clone() * (v.query_advice(state[i], Rotation(next)) - mix(&t, i)));
            }
            out
        });
        meta.create_gate("partial round", |v| {
            let q = v.query_selector(self.q_partial);
            let sq = v.query_advice(w, Rotation::cur());
            let a =
                v.query_advice(cols.x, Rotation::cur()) + v.query_fixed(cols.f, Rotation::cur());
            let mut out = vec![q.clone() * (sq.clone() - a.clone() * a.clone())];
            let mut t = vec![a * sq.clone() * sq];
            // Without constant columns, the other words' constants are
            // deferred into the next full round's.
            for j in 1..3 {
                let mut e = v.query_advice(state[j], Rotation::cur());
                if let Some(rc) = self.rc {
                    e = e + v.query_fixed(rc[j - 1], Rotation::cur());
                }
                t.push(e);
            }
            for i in 0..3 {
                out.push(q.clone() * (v.query_advice(state[i], Rotation::next()) - mix(&t, i)));
            }
            out
        });
    }

    /// Horner sums of the slots, and each slot's range check: a lookup,
    /// or limbs.
    fn pack_gates(&self, meta: &mut ConstraintSystem<Fr>) {
        let (slot, pk) = (self.slot, self.pk);
        let prev_slot = Rotation(-(self.design.slot_rows() as i32));
        meta.create_gate("pack first", |v| {
            let q = v.query_selector(self.q_first);
            vec![
                q * (v.query_advice(pk, Rotation::cur())
                    - v.query_advice(slot, Rotation::cur())
                    - half()),
            ]
        });
        meta.create_gate("pack next", |v| {
            let q = v.query_selector(self.q_next);
            vec![
                q * (v.query_advice(pk, Rotation::cur())
                    - v.query_advice(pk, prev_slot) * constant(1 << BITS)
                    - v.query_advice(slot, Rotation::cur())
                    - half()),
            ]
        });
        if let Some((table, q_slot)) = self.range {
            meta.lookup("slot range", |v| {
                let q = v.query_selector(q_slot);
                vec![(q * (v.query_advice(slot, Rotation::cur()) + half()), table)]
            });
        }
        if let Some(q_limbs) = self.q_limbs {
            let (name, cells, base) = self.limb_cells();
            meta.create_gate(name, |v| {
                let q = v.query_selector(q_limbs);
                let limbs: Vec<Expression<Fr>> = cells
                    .iter()
                    .map(|&(col, rot)| v.query_advice(col, Rotation(rot)))
                    .collect();
                // Each limb in [0, base), and the slot their base-`base`
                // number, most significant first.
                let mut out: Vec<Expression<Fr>> = limbs
                    .iter()
                    .map(|l| (0..base).fold(q.clone(), |e, j| e * (l.clone() - constant(j))))
                    .collect();
                let sum = limbs
                    .iter()
                    .fold(constant(0), |e, l| e * constant(base) + l.clone());
                out.push(q * (v.query_advice(slot, Rotation::cur()) + half() - sum));
                out
            });
        }
    }

    /// A slot's limbs: twelve bits over four rows of `x, acc, z` (degree
    /// 3), or six 2-bit limbs over two rows (degree 5), with the slot's own
    /// cell left out when it is in `w`.
    fn limb_cells(&self) -> (&'static str, Vec<(Column<Advice>, i32)>, u64) {
        let c = self.cols;
        if self.design == Design::Bits {
            let cells = (0..4)
                .flat_map(|r| [(c.x, r), (c.acc, r), (c.z, r)])
                .collect();
            return ("twelve bits make the slot", cells, 2);
        }
        let fourth = if self.slot == self.w {
            (c.z, 1)
        } else {
            (self.w, 0)
        };
        let cells = vec![(c.x, 0), (c.acc, 0), (c.z, 0), fourth, (c.x, 1), (c.acc, 1)];
        ("six 2-bit limbs make the slot", cells, 4)
    }

    /// Two permutations' selectors and cells from `row` on; returns the
    /// rows used. Every advice cell the gates read is assigned (zero).
    fn assign(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_region(
            || "sponge",
            |mut region| {
                let mut advice = vec![self.cols.x, self.cols.acc, self.cols.z, self.w, self.pk];
                advice.extend(self.m);
                let limbs = self.q_limbs.is_some();
                let full_rows = if self.design.tall_full_rounds() { 3 } else { 1 };
                let pack_rows = if limbs {
                    2 * K * self.design.slot_rows()
                } else {
                    0
                };
                let perm_rows =
                    pack_rows + 1 + 2 * FULL_HALF * full_rows + (ROUNDS - 2 * FULL_HALF) + 1;
                let total = 2 * perm_rows + 1;
                for row in 0..total + 4 {
                    for &col in &advice {
                        region.assign_advice(col, row, Value::known(Fr::zero()));
                    }
                    region.assign_fixed(self.cols.f, row, Fr::from(row as u64 + 1));
                    if let Some(rc) = self.rc {
                        for c in rc {
                            region.assign_fixed(c, row, Fr::from(row as u64 + 7));
                        }
                    }
                }
                self.q_init.enable(&mut region, 0)?;
                for p in 0..2 {
                    let start = p * perm_rows;
                    // Slots: a packing phase (limbs) or beside the partial rounds.
                    let (first_slot, step) = if limbs {
                        (start, self.design.slot_rows())
                    } else {
                        (start + 6, 1)
                    };
                    for word in 0..2 {
                        for i in 0..K {
                            let row = first_slot + (word * K + i) * step;
                            if i == 0 {
                                self.q_first.enable(&mut region, row)?
                            } else {
                                self.q_next.enable(&mut region, row)?
                            }
                            if let Some((_, q_slot)) = self.range {
                                q_slot.enable(&mut region, row)?;
                            }
                            if let Some(q) = self.q_limbs {
                                q.enable(&mut region, row)?;
                            }
                        }
                    }
                    let b = start + pack_rows;
                    self.q_absorb.enable(&mut region, b)?;
                    let mut row = b + 1;
                    for r in 0..ROUNDS {
                        if r < FULL_HALF || r >= ROUNDS - FULL_HALF {
                            self.q_full.enable(&mut region, row)?;
                            row += full_rows;
                        } else {
                            self.q_partial.enable(&mut region, row)?;
                            row += 1;
                        }
                    }
                }
                self.q_squeeze.enable(&mut region, total - 1)?;
                Ok(())
            },
        )?;
        if let Some((table, _)) = self.range {
            layouter.assign_table(
                || "range",
                |mut t| {
                    for v in 0..1usize << BITS {
                        t.assign_cell(|| "range", table, v, || Value::known(Fr::from(v as u64)))?;
                    }
                    Ok(())
                },
            )?;
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Probe {
    model: ModelCircuit,
    design: Design,
}

impl Circuit<Fr> for Probe {
    type Config = (ModelConfig, Option<Sponge>);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = (GateParams, Design);

    fn without_witnesses(&self) -> Self {
        Probe {
            model: self.model.without_witnesses(),
            design: self.design,
        }
    }
    fn params(&self) -> Self::Params {
        (self.model.gate_params(), self.design)
    }
    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        (gp, design): Self::Params,
    ) -> Self::Config {
        let model = ModelConfig::configure(meta, gp);
        let sponge = (design != Design::None)
            .then(|| configure_sponge(meta, model.shared_columns(), design));
        (model, sponge)
    }
    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("configured with params")
    }
    fn synthesize(
        &self,
        (model, sponge): Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        self.model
            .synthesize(model, layouter.namespace(|| "model"))?;
        if let Some(s) = sponge {
            s.assign(&mut layouter)?;
        }
        Ok(())
    }
}

/// Keygen, an (invalid) proof and the generated verifier for `probe`;
/// prints its row of the table.
fn gas(params: &ParamsKZG<Bn256>, probe: &Probe, instance: &[Fr]) -> Result<()> {
    let vk = keygen_vk_custom(params, &probe.without_witnesses(), true)?;
    let pk = keygen_pk(params, vk.clone(), &probe.without_witnesses())?;
    let proof = prove_circuit_with(TranscriptKind::Evm, params, &pk, probe.clone(), instance)?;
    let cs = vk.cs();
    let shape = format!(
        "| {:?} | {} | {} | {} | {} | {} | {} | {} |",
        probe.design,
        cs.num_advice_columns(),
        cs.num_fixed_columns(),
        cs.lookups().len(),
        cs.permutation().get_columns().len(),
        cs.advice_queries().len() + cs.fixed_queries().len(),
        cs.degree(),
        proof.len(),
    );
    let keys = Keys {
        params: params.clone(),
        vk,
        num_public: instance.len(),
    };
    let dir = tempfile::tempdir()?;
    let art = gen_verifier_for(
        &keys,
        PublicInputs::model(instance.len()),
        "probe",
        "probe",
        dir.path(),
    )?;
    let call = |inst: &[Fr]| {
        let hex: Vec<String> = inst.iter().map(fr_to_hex).collect();
        run_in_revm(&art, &encode_proof(&proof, &hex)?)
    };
    let honest = call(instance)?;
    let mut bumped = instance.to_vec();
    bumped[0] += Fr::one();
    let other = call(&bumped)?;
    let verdict = if honest.accepted { "valid" } else { "invalid" };
    println!(
        "{shape} {} | {verdict} | {} |",
        honest.gas_used, other.gas_used
    );
    Ok(())
}

fn main() -> Result<()> {
    let designs: Vec<Design> = {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.is_empty() {
            vec![
                Design::None,
                Design::Lookup,
                Design::Limbs,
                Design::Bits,
                Design::Lean,
                Design::Lookup3,
                Design::Limbs3,
            ]
        } else {
            args.iter()
                .map(|a| Design::parse(a))
                .collect::<Result<_>>()?
        }
    };
    let dir = tempfile::tempdir()?;
    let model = std::path::Path::new("test-vectors/rockybot");
    let input = zkml_evm::model::InputFile::read(&model.join("input.json"))?;
    let x = input.input_data[0].clone();
    let opts = CompileOptions {
        visibility: Visibility {
            params: Vis::Private,
            ..Default::default()
        },
        ..Default::default()
    };
    let c = compile(&model.join("network.onnx"), &[x.clone()], &opts, dir.path())?;
    let k = c.settings.k;
    let params = srs::dev_params(k).context("development SRS")?;
    let (circuit, _) = c.circuit_for(&x)?;
    let instance = circuit.instance();
    println!("RockyBot, private weights, packed public values, k = {k}; gas of the verify call with the proof as made, then with public input 0 bumped");
    println!("| design | advice | fixed | lookups | permutation columns | queries | degree | proof B | gas | verdict | gas, bumped input |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for design in designs {
        let probe = Probe {
            model: circuit.clone(),
            design,
        };
        gas(&params, &probe, &instance).with_context(|| format!("design {design:?}"))?;
    }
    Ok(())
}
