//! The weights binding circuit of `zkml-evm bind`: a proof that the weights
//! column a committed-weights build commits to hashes, under the params
//! sponge of hashed weights, to a public Poseidon hash `H`.
//!
//! Its first advice column `w` holds the build's weights column, so the
//! proof's first point is that column's commitment `C`, the point every
//! inference proof of the build starts with. Registering `(C, H)` once, on
//! the strength of this proof, lets every later inference be checked by the
//! committed-weights verifier (no sponge in it) and still be known to run
//! the weights whose hash is `H`: KZG is binding, so a proof that starts
//! with `C` read the very column this proof hashed.
//!
//! ```text
//! row     w                 s, u, m, pk (the sponge of circuit::poseidon)
//! 0       build row 0       m = H, a copy of the squeezed hash; instance = H
//! 2^d·r   build row r       the sponge from row 1: every word's slots are
//! ...     (in between: the     copies of the w cells of their weights
//!         same polynomial)
//! ```
//!
//! The build's column is a polynomial of degree `< 2^k`. When the sponge
//! needs more rows than the build has, this circuit runs at `k + d` and its
//! `w` holds that same polynomial evaluated on the larger domain: build row
//! `r` is row `2^d·r` (the build's domain is the larger one's `2^d`-th
//! powers), the rows between are its values at the other points, which the
//! prover computes ([`crate::proof::bind::extend_column`]). The same
//! polynomial has the same commitment whatever the domain, for one SRS.
//! Those in-between rows are bound by nothing in this circuit and need not
//! be: any other values make another polynomial, whose commitment is not
//! `C`.
//!
//! `H` is public through one gate, `instance·(m − instance) = 0`, live only
//! on row 0 (the only row whose instance is not zero).

use super::layout::{Packing, ParamWord};
use super::poseidon::{self, PoseidonConfig, Word};
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use halo2_proofs::poly::Rotation;
use std::sync::Arc;

/// What the circuit is built from: the build's param words (their rows in
/// the build's layout), how they pack, and the two domain sizes.
#[derive(Clone, Debug)]
pub struct BindingShape {
    pub build_k: u32,
    pub k: u32,
    pub packing: Option<Packing>,
    pub words: Vec<ParamWord>,
}

impl BindingShape {
    /// Rows of `w` between two build rows: `2^(k − build_k)`.
    pub fn stride(&self) -> usize {
        1 << (self.k - self.build_k)
    }

    /// Rows the sponge takes (from row 1), below halo2's reserved rows.
    pub fn sponge_rows(&self) -> usize {
        1 + poseidon::sponge_rows(self.words.len())
    }
}

#[derive(Clone, Debug)]
pub struct BindingCircuit {
    pub shape: Arc<BindingShape>,
    /// Every row of `w` on this circuit's domain, from row 0 up to its
    /// reserved rows (halo2 draws those: see `proof::bind`); `None` at keygen.
    pub column: Option<Arc<Vec<Fr>>>,
    /// The value of each param cell the sponge hashes, in
    /// [`super::layout::Layout::param_cells`] order: the `w` cells' values,
    /// unless a test makes the sponge hash something else.
    pub message: Option<Vec<i64>>,
}

#[derive(Clone, Debug)]
pub struct BindingConfig {
    w: Column<Advice>,
    sponge: PoseidonConfig,
}

impl Circuit<Fr> for BindingCircuit {
    type Config = BindingConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = Option<Packing>;

    fn without_witnesses(&self) -> Self {
        BindingCircuit::keygen(&self.shape)
    }

    fn params(&self) -> Option<Packing> {
        self.shape.packing
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        packing: Option<Packing>,
    ) -> Self::Config {
        configure(meta, packing)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        configure(meta, None)
    }

    fn synthesize(&self, c: BindingConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        c.sponge.assign_range_table(&mut layouter)?;
        layouter.assign_region(|| "binding", |mut region| self.assign(&c, &mut region))
    }
}

/// `w` first (its commitment is the proof's first point), then the sponge
/// (the squeeze writes the hash itself: offset 0), and the public gate.
pub fn configure(meta: &mut ConstraintSystem<Fr>, packing: Option<Packing>) -> BindingConfig {
    let w = meta.advice_column();
    meta.enable_equality(w);
    let instance: Column<Instance> = meta.instance_column();
    let sponge = PoseidonConfig::configure(meta, Fr::zero(), packing);
    let m = sponge.m;
    meta.create_gate("binding: m = H where the instance is H", |v| {
        let inst = v.query_instance(instance, Rotation::cur());
        vec![inst.clone() * (v.query_advice(m, Rotation::cur()) - inst)]
    });
    BindingConfig { w, sponge }
}

impl BindingCircuit {
    /// The circuit without a witness, for keygen.
    pub fn keygen(shape: &Arc<BindingShape>) -> BindingCircuit {
        BindingCircuit {
            shape: shape.clone(),
            column: None,
            message: None,
        }
    }

    /// The sponge's words, valued from `message` (in `param_cells` order).
    fn message_words(&self) -> Vec<Word> {
        let mut values = (0..).map(|i: usize| {
            self.message
                .as_ref()
                .map(|v| crate::circuit::fe(v[i] as i128))
        });
        self.shape
            .words
            .iter()
            .map(|w| {
                Word::of_params(w, self.shape.packing, |_| {
                    values.next().expect("an endless index")
                })
            })
            .collect()
    }

    fn assign(
        &self,
        c: &BindingConfig,
        region: &mut halo2_proofs::circuit::Region<'_, Fr>,
    ) -> Result<(), Error> {
        let shape = &*self.shape;
        if let Some(column) = &self.column {
            for (row, v) in column.iter().enumerate() {
                region.assign_advice(c.w, row, Value::known(*v));
            }
        }
        let words = self.message_words();
        let put = |region: &mut halo2_proofs::circuit::Region<'_, Fr>,
                   col: Column<Advice>,
                   row: usize,
                   v: Option<Fr>| {
            region.assign_advice(col, row, v.map_or(Value::unknown(), Value::known));
            v
        };
        let cells = c.sponge.assign(region, 1, &words, Fr::zero(), &put)?;
        let sources = shape.words.iter().flat_map(ParamWord::cells);
        let stride = shape.stride();
        for (word, &(row, _)) in cells.words.into_iter().zip(sources) {
            let source = Cell {
                row_offset: row * stride,
                column: c.w.into(),
            };
            region.constrain_equal(word, source);
        }
        put(region, c.sponge.m, 0, cells.value);
        region.constrain_equal(
            cells.hash,
            Cell {
                row_offset: 0,
                column: c.sponge.m.into(),
            },
        );
        Ok(())
    }
}

/// halo2's reserved rows (blinding factors + 1) of the binding circuit.
pub fn reserved_rows(packing: Option<Packing>) -> usize {
    let mut cs = ConstraintSystem::<Fr>::default();
    configure(&mut cs, packing);
    cs.blinding_factors() + 1
}

#[cfg(test)]
mod tests;
