//! The Poseidon sponge of [`crate::poseidon`] as a gadget: its own three
//! state columns, running in the rows beside the model's neurons.
//!
//! One sponge over `L` message words takes `66·⌈L/2⌉ + 1` rows:
//!
//! ```text
//! row        s0 s1 s2         m          gate
//! b          state            word 2p    init (p = 0: s = rc = [L·2^64, 0, 0]); absorb
//! b+1        state + words    word 2p+1  round 0   (rc = round constants)
//! b+1+i      ...                         round i   (full or partial)
//! b+66       output (next b)
//! end        hash             hash − off squeeze
//! ```
//! `absorb`: `s0' = s0, s1' = s1 + m, s2' = s2 + m[+1]` (`absorb1` adds a
//! single word: an odd message's zero padding is a constant of the
//! circuit, not a witness). A round: `s' = MDS·sbox(s + rc)`, the S-box on
//! every word (full) or on word 0 (partial). halo2-axiom caps the
//! constraint degree at 5, and `q·(a^5)` would be 6, so each S-box input
//! `a = s + rc` has its square in a `u` column (`q·(u − a²)`, degree 3) and
//! the round reads `a^5` as `a·u²` (degree 4 with the selector).
//! Message words reach `m` through copy constraints.
//!
//! The params sponge packs weights (see [`super::layout::Packing`]): word
//! `j ∈ {0, 1}` of a permutation is Horner-built in a `pk` column over
//! the rows ending at `b + jK + K − 1` from its `s ≤ K` weights copied
//! into `m`, each range-checked (`m + 2^(B−1)` is looked up in a
//! `2^B`-row table), and the absorb reads `pk[K−1]` and `pk[2K−1]`. A
//! short last word starts lower, so it has no padding slot. A bias is a raw word:
//! `pk = m` at the row the absorb reads. `squeeze` puts
//! `hash − off` in `m`, where the public gate (module docs of
//! [`crate::circuit`]) expects an offset-encoded public value, so a
//! commitment is a public input like any other.

use super::layout::{Packing, ParamWord};
use crate::poseidon::{self, State, ROUNDS, WIDTH};
use halo2_proofs::circuit::{Cell, Region};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector, TableColumn,
};
use halo2_proofs::poly::Rotation;

/// Rows per permutation: the absorb row and one per round.
pub const PERMUTATION_ROWS: usize = 1 + ROUNDS;

/// Rows one sponge over `len` words occupies.
pub fn sponge_rows(len: usize) -> usize {
    PERMUTATION_ROWS * poseidon::permutations(len) + 1
}

#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    pub s: [Column<Advice>; WIDTH],
    /// `(s + rc)²` of each S-box input.
    pub u: [Column<Advice>; WIDTH],
    rc: [Column<Fixed>; WIDTH],
    /// Message words (copied in) and the squeezed, offset hash.
    pub m: Column<Advice>,
    q_init: Selector,
    q_absorb: Selector,
    q_absorb1: Selector,
    q_full: Selector,
    q_partial: Selector,
    q_squeeze: Selector,
    pack: Option<PackConfig>,
}

#[derive(Clone, Debug)]
struct PackConfig {
    packing: Packing,
    pk: Column<Advice>,
    range: TableColumn,
    /// Every weight slot (a lookup needs a complex selector).
    q_slot: Selector,
    q_first: Selector,
    q_next: Selector,
    q_raw: Selector,
    q_absorb: Selector,
    q_absorb1: Selector,
}

/// One absorbed word and its values (`None` at keygen).
pub enum Word {
    /// In `m` at its absorb row.
    Plain(Option<Fr>),
    /// Weights Horner-packed over `K` rows (params sponge).
    Packed(Vec<Option<Fr>>),
    /// Taken as is at the row the absorb reads (params sponge).
    Raw(Option<Fr>),
}

impl Word {
    /// The params sponge's word for `word`, each slot valued by `value`
    /// (`None` at keygen). Weights wider than the packing's 16 bits have
    /// no packing (and the sponge no packing columns): every word is one
    /// weight, absorbed plain, with the same hash.
    pub fn of_params(
        word: &ParamWord,
        packing: Option<Packing>,
        mut value: impl FnMut(&(usize, i64)) -> Option<Fr>,
    ) -> Word {
        match (word, packing) {
            (ParamWord::Packed(cells), _) => Word::Packed(cells.iter().map(value).collect()),
            (ParamWord::Raw(cell), Some(_)) => Word::Raw(value(cell)),
            (ParamWord::Raw(cell), None) => Word::Plain(value(cell)),
        }
    }
}

/// The cells a sponge exposes to the rest of the circuit.
pub struct SpongeCells {
    /// The `m` cell of each message word, to copy the word into.
    pub words: Vec<Cell>,
    /// The `m` cell holding `hash − off`.
    pub hash: Cell,
    /// The hash (with a witness).
    pub value: Option<Fr>,
}

impl PoseidonConfig {
    /// `offset` is the public-value offset (`2^(range_bits-1) + 1`);
    /// `packing` configures the packed params sponge.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        offset: Fr,
        packing: Option<Packing>,
    ) -> Self {
        let s = [
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
        ];
        let u = [
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
        ];
        let rc = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        let m = meta.advice_column();
        meta.enable_equality(m);
        let c = PoseidonConfig {
            s,
            u,
            rc,
            m,
            q_init: meta.selector(),
            q_absorb: meta.selector(),
            q_absorb1: meta.selector(),
            q_full: meta.selector(),
            q_partial: meta.selector(),
            q_squeeze: meta.selector(),
            pack: packing.map(|packing| PackConfig {
                packing,
                pk: meta.advice_column(),
                range: meta.lookup_table_column(),
                q_slot: meta.complex_selector(),
                q_first: meta.selector(),
                q_next: meta.selector(),
                q_raw: meta.selector(),
                q_absorb: meta.selector(),
                q_absorb1: meta.selector(),
            }),
        };
        let mds = poseidon::constants().mds;
        meta.create_gate("poseidon init: state = [L·2^64, 0, 0]", |v| {
            let q = v.query_selector(c.q_init);
            (0..WIDTH)
                .map(|j| {
                    q.clone()
                        * (v.query_advice(s[j], Rotation::cur())
                            - v.query_fixed(rc[j], Rotation::cur()))
                })
                .collect::<Vec<_>>()
        });
        // Plain words sit in `m` at the absorb row and the next.
        absorb_gates(
            meta,
            s,
            [(c.q_absorb, 2), (c.q_absorb1, 1)],
            "",
            m,
            |word| word as i32,
        );
        for (sel, full, name) in [
            (c.q_full, true, "poseidon full round"),
            (c.q_partial, false, "poseidon partial round"),
        ] {
            meta.create_gate(name, |v| {
                let q = v.query_selector(sel);
                let sboxed = |j: usize| full || j == 0;
                let mut constraints = Vec::new();
                let mut t = Vec::with_capacity(WIDTH);
                for j in 0..WIDTH {
                    let a = v.query_advice(s[j], Rotation::cur())
                        + v.query_fixed(rc[j], Rotation::cur());
                    if sboxed(j) {
                        let sq = v.query_advice(u[j], Rotation::cur());
                        constraints.push(q.clone() * (sq.clone() - a.clone() * a.clone()));
                        t.push(a * sq.clone() * sq);
                    } else {
                        t.push(a);
                    }
                }
                for i in 0..WIDTH {
                    let mixed = (0..WIDTH).fold(Expression::Constant(Fr::ZERO), |acc, j| {
                        acc + Expression::Constant(mds[i][j]) * t[j].clone()
                    });
                    constraints.push(q.clone() * (v.query_advice(s[i], Rotation::next()) - mixed));
                }
                constraints
            });
        }
        if let Some(pc) = &c.pack {
            let half = Expression::Constant(Fr::from(pc.packing.offset() as u64));
            let shift = Expression::Constant(Fr::from(1u64 << pc.packing.bits));
            let (pk, k) = (pc.pk, pc.packing.per_word as i32);
            meta.create_gate("pack: first slot", |v| {
                let q = v.query_selector(pc.q_first);
                vec![
                    q * (v.query_advice(pk, Rotation::cur())
                        - v.query_advice(m, Rotation::cur())
                        - half.clone()),
                ]
            });
            meta.create_gate("pack: next slot", |v| {
                let q = v.query_selector(pc.q_next);
                let prev = v.query_advice(pk, Rotation::prev());
                vec![
                    q * (v.query_advice(pk, Rotation::cur())
                        - prev * shift.clone()
                        - v.query_advice(m, Rotation::cur())
                        - half.clone()),
                ]
            });
            meta.create_gate("pack: raw word", |v| {
                let q = v.query_selector(pc.q_raw);
                vec![q * (v.query_advice(pk, Rotation::cur()) - v.query_advice(m, Rotation::cur()))]
            });
            meta.lookup("pack: slot in range", |v| {
                let q = v.query_selector(pc.q_slot);
                vec![(
                    q * (v.query_advice(m, Rotation::cur()) + half.clone()),
                    pc.range,
                )]
            });
            // Packed and raw words end in `pk` at rows K − 1 and 2K − 1.
            absorb_gates(
                meta,
                s,
                [(pc.q_absorb, 2), (pc.q_absorb1, 1)],
                " packed",
                pk,
                |word| (word as i32 + 1) * k - 1,
            );
        }
        meta.create_gate("poseidon squeeze: m = hash − offset", |v| {
            let q = v.query_selector(c.q_squeeze);
            vec![
                q * (v.query_advice(m, Rotation::cur()) + Expression::Constant(offset)
                    - v.query_advice(s[0], Rotation::cur())),
            ]
        });
        c
    }

    /// The packed-word column, when params are packed.
    pub fn pk(&self) -> Option<Column<Advice>> {
        self.pack.as_ref().map(|p| p.pk)
    }

    /// Fill the range table of the packed params sponge.
    pub fn assign_range_table(
        &self,
        layouter: &mut impl halo2_proofs::circuit::Layouter<Fr>,
    ) -> Result<(), Error> {
        let Some(pc) = &self.pack else { return Ok(()) };
        layouter.assign_table(
            || "weight slot range",
            |mut t| {
                for v in 0..1usize << pc.packing.bits {
                    t.assign_cell(
                        || "range",
                        pc.range,
                        v,
                        || halo2_proofs::circuit::Value::known(Fr::from(v as u64)),
                    )?;
                }
                Ok(())
            },
        )
    }

    /// Lay out one sponge from row `start` over `words` (plain ones, or the
    /// packed/raw words of the params sponge). `put(region, column, row,
    /// value)` assigns an advice cell and returns what it assigned (the
    /// caller's hook for corrupting witnesses in tests: the state absorbs
    /// a word as assigned, so a changed word is hashed consistently). `words` of [`SpongeCells`] lists the `m` cell of
    /// every plain word, packed slot and raw word, in order.
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        start: usize,
        message: &[Word],
        offset: Fr,
        put: &dyn Fn(&mut Region<'_, Fr>, Column<Advice>, usize, Option<Fr>) -> Option<Fr>,
    ) -> Result<SpongeCells, Error> {
        let len = message.len();
        let packed = !matches!(message.first(), Some(Word::Plain(_)));
        let known = message.iter().all(|w| match w {
            Word::Plain(v) | Word::Raw(v) => v.is_some(),
            Word::Packed(s) => s.iter().all(|v| v.is_some()),
        });
        let c = poseidon::constants();
        let fixed = |region: &mut Region<'_, Fr>, row: usize, values: State| {
            for (col, v) in self.rc.iter().zip(values) {
                region.assign_fixed(*col, row, v);
            }
        };
        let put_state = |region: &mut Region<'_, Fr>, row: usize, state: Option<State>| {
            for (j, col) in self.s.iter().enumerate() {
                put(region, *col, row, state.map(|s| s[j]));
            }
        };
        let mut state = known.then(|| poseidon::initial_state(len));
        fixed(region, start, poseidon::initial_state(len));
        self.q_init.enable(region, start)?;
        let mut words = Vec::with_capacity(len);
        for p in 0..poseidon::permutations(len) {
            let b = start + p * PERMUTATION_ROWS;
            put_state(region, b, state);
            let pair = 2.min(len - 2 * p);
            for w in 0..pair {
                let value = self.place_word(region, b, w, &message[2 * p + w], put, &mut words)?;
                if let (Some(s), Some(v)) = (state.as_mut(), value) {
                    s[1 + w] += v;
                }
            }
            match (&self.pack, packed) {
                (Some(pc), true) => {
                    if pair == 2 {
                        pc.q_absorb.enable(region, b)?
                    } else {
                        pc.q_absorb1.enable(region, b)?
                    }
                }
                _ => {
                    if pair == 2 {
                        self.q_absorb.enable(region, b)?
                    } else {
                        self.q_absorb1.enable(region, b)?
                    }
                }
            }
            for r in 0..ROUNDS {
                let row = b + 1 + r;
                put_state(region, row, state);
                fixed(region, row, c.round[r]);
                for j in 0..WIDTH {
                    if poseidon::has_sbox(r, j) {
                        put(
                            region,
                            self.u[j],
                            row,
                            state.map(|s| (s[j] + c.round[r][j]).square()),
                        );
                    }
                }
                if poseidon::is_full_round(r) {
                    self.q_full.enable(region, row)?
                } else {
                    self.q_partial.enable(region, row)?
                };
                state = state.map(|s| poseidon::round(&s, r));
            }
        }
        let end = start + sponge_rows(len) - 1;
        put_state(region, end, state);
        put(region, self.m, end, state.map(|s| s[0] - offset));
        self.q_squeeze.enable(region, end)?;
        Ok(SpongeCells {
            words,
            hash: Cell {
                row_offset: end,
                column: self.m.into(),
            },
            value: state.map(|s| s[0]),
        })
    }

    /// Word `w` (0 or 1) of the permutation at row `b`: a plain word in
    /// `m(b + w)`; a packed or raw one in rows `b + wK ..= b + wK + K − 1`.
    /// Returns the value the word adds to the state.
    fn place_word(
        &self,
        region: &mut Region<'_, Fr>,
        b: usize,
        w: usize,
        word: &Word,
        put: &dyn Fn(&mut Region<'_, Fr>, Column<Advice>, usize, Option<Fr>) -> Option<Fr>,
        cells: &mut Vec<Cell>,
    ) -> Result<Option<Fr>, Error> {
        let m_cell = |row: usize| Cell {
            row_offset: row,
            column: self.m.into(),
        };
        let pack = || self.pack.as_ref().expect("packed words configure packing");
        match word {
            Word::Plain(v) => {
                let v = put(region, self.m, b + w, *v);
                cells.push(m_cell(b + w));
                Ok(v)
            }
            Word::Raw(v) => {
                let pc = pack();
                let row = b + (w + 1) * pc.packing.per_word - 1;
                put(region, self.m, row, *v);
                let v = put(region, pc.pk, row, *v);
                pc.q_raw.enable(region, row)?;
                cells.push(m_cell(row));
                Ok(v)
            }
            Word::Packed(slots) => {
                let pc = pack();
                let p = pc.packing;
                let (shift, half) = (Fr::from(1u64 << p.bits), Fr::from(p.offset() as u64));
                // The slots end at the row the absorb reads; a short (last)
                // word leaves the rows above it without any gate, so it has
                // no padding slot to choose (see `Packing::word`).
                let first = b + (w + 1) * p.per_word - slots.len();
                let mut acc = Some(Fr::ZERO);
                for (i, &v) in slots.iter().enumerate() {
                    let row = first + i;
                    acc = acc.zip(v).map(|(a, v)| a * shift + v + half);
                    put(region, self.m, row, v);
                    acc = put(region, pc.pk, row, acc);
                    pc.q_slot.enable(region, row)?;
                    if i == 0 {
                        pc.q_first.enable(region, row)?
                    } else {
                        pc.q_next.enable(region, row)?
                    };
                    cells.push(m_cell(row));
                }
                Ok(acc)
            }
        }
    }
}

/// `absorb` gates for one word (`absorb1`) and two: `s0' = s0` and
/// `s_j' = s_j + source[rotation(j − 1)]` for the words absorbed.
fn absorb_gates(
    meta: &mut ConstraintSystem<Fr>,
    s: [Column<Advice>; WIDTH],
    selectors: [(Selector, usize); 2],
    kind: &str,
    source: Column<Advice>,
    rotation: impl Fn(usize) -> i32,
) {
    for (sel, words) in selectors {
        meta.create_gate(format!("poseidon absorb {words}{kind} word(s)"), |v| {
            let q = v.query_selector(sel);
            (0..WIDTH)
                .map(|j| {
                    let mut next = v.query_advice(s[j], Rotation::next())
                        - v.query_advice(s[j], Rotation::cur());
                    if j >= 1 && j <= words {
                        next = next - v.query_advice(source, Rotation(rotation(j - 1)));
                    }
                    q.clone() * next
                })
                .collect::<Vec<_>>()
        });
    }
}
