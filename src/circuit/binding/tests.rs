//! MockProver tests of the binding circuit, each attack with everything
//! downstream of the change recomputed (the sponge's state and hash, the
//! public input), so that only the constraint under test can refuse it.

use super::*;
use crate::circuit::layout::Layout;
use crate::proof::{bind, committed};
use halo2_proofs::dev::{MockProver, VerifyFailure};

/// A committed-weights layout of a small program, its binding shape, and
/// its weights column extended to the binding domain.
struct Fixture {
    layout: Layout,
    shape: BindingShape,
    tail: Vec<Fr>,
}

fn fixture() -> Fixture {
    let (c, _) = crate::circuit::tests::tiny_committed_circuit();
    let layout = (*c.layout).clone();
    let shape = bind::shape_for(&layout).unwrap();
    let tail = committed::salt_tail(&layout, [7; 32]);
    Fixture {
        layout,
        shape,
        tail,
    }
}

impl Fixture {
    /// The build's column with `edit` applied to its weight cells
    /// (`param_cells` order), extended to the binding domain.
    fn column(&self, edit: &dyn Fn(&mut Vec<i64>)) -> (Vec<Fr>, Vec<i64>) {
        let cells = self.layout.param_cells();
        let mut values: Vec<i64> = cells.iter().map(|c| c.1).collect();
        edit(&mut values);
        let mut column = committed::weights_column(&self.layout, &self.tail);
        for ((row, _), v) in cells.iter().zip(&values) {
            column[*row] = crate::circuit::fe(*v as i128);
        }
        let ext = bind::extend_column(&column, self.layout.k, self.shape.k);
        (ext, values)
    }

    /// The shape whose words hold `values` (what `params_hash` reads).
    fn hash_of(&self, values: &[i64]) -> Fr {
        let mut shape = self.shape.clone();
        let mut next = values.iter();
        for w in &mut shape.words {
            let cells = match w {
                ParamWord::Packed(cells) => cells.iter_mut().collect::<Vec<_>>(),
                ParamWord::Raw(cell) => vec![cell],
            };
            for cell in cells {
                cell.1 = *next.next().unwrap();
            }
        }
        bind::params_hash(&shape)
    }

    fn circuit(&self, column: &[Fr], message: Vec<i64>) -> BindingCircuit {
        let usable = column.len() - reserved_rows(self.shape.packing);
        BindingCircuit {
            shape: Arc::new(self.shape.clone()),
            column: Some(Arc::new(column[..usable].to_vec())),
            message: Some(message),
        }
    }

    fn run(&self, column: &[Fr], message: Vec<i64>, hash: Fr) -> Result<(), Vec<VerifyFailure>> {
        let c = self.circuit(column, message);
        MockProver::run(self.shape.k, &c, vec![vec![hash]])
            .unwrap()
            .verify()
    }

    /// A packed word with at least two slots: the param cell indices of
    /// its first two slots.
    fn two_slots(&self) -> (usize, usize) {
        let mut index = 0;
        for w in &self.shape.words {
            match w {
                ParamWord::Packed(cells) if cells.len() >= 2 => return (index, index + 1),
                ParamWord::Packed(cells) => index += cells.len(),
                ParamWord::Raw(_) => index += 1,
            }
        }
        panic!("no packed word with two slots")
    }
}

#[test]
fn the_honest_column_binds_to_the_hashed_weights_hash() {
    let f = fixture();
    assert!(
        f.shape.k > f.layout.k,
        "the slot table needs a larger domain here: the test covers the extension"
    );
    let (column, values) = f.column(&|_| ());
    let hash = f.hash_of(&values);
    assert_eq!(hash, bind::params_hash(&f.shape));
    f.run(&column, values, hash).unwrap();
}

/// The same polynomial on the larger domain: its commitment there is the
/// build's (the point every inference proof starts with), and a change to
/// a row between two build rows, which no constraint reads, is another
/// polynomial with another commitment.
#[test]
fn the_extended_column_commits_to_the_builds_point() {
    let f = fixture();
    let params = crate::proof::srs::dev_params(f.shape.k).unwrap();
    let small = crate::proof::srs::dev_params(f.layout.k).unwrap();
    let build = committed::commitment_with(&small, &f.layout, &f.tail);
    let (column, _) = f.column(&|_| ());
    assert_eq!(
        committed::commit_column(&params, f.shape.k, column.clone()),
        build
    );
    let mut between = column;
    between[1] += Fr::one();
    assert_ne!(committed::commit_column(&params, f.shape.k, between), build);
}

/// A prover who keeps the build's column (its commitment) but hashes other
/// weights, sponge and public hash recomputed for them: only the copy from
/// `w` into the sponge's message refuses it.
#[test]
fn hashing_other_weights_than_the_column_fails_at_the_copy() {
    let f = fixture();
    let (column, honest) = f.column(&|_| ());
    let (i, _) = f.two_slots();
    let mut message = honest.clone();
    message[i] += 1;
    let hash = f.hash_of(&message);
    assert_ne!(hash, f.hash_of(&honest));
    let failures = f.run(&column, message, hash).unwrap_err();
    assert!(
        failures
            .iter()
            .all(|e| matches!(e, VerifyFailure::Permutation { .. })),
        "{failures:?}"
    );
}

/// Weights that overflow a slot into the next one pack into the same
/// words, so they would bind a commitment of other weights to the audited
/// hash: `w_i + 2^B` with `w_(i−1) − 1` (the slot above it). Column and
/// message agree (the copies hold), the hash is the honest one; only the
/// slot's range lookup refuses it.
#[test]
fn an_overflowing_slot_fails_though_the_hash_is_the_audited_one() {
    let f = fixture();
    let bits = f.shape.packing.expect("small weights pack").bits;
    let (hi, lo) = f.two_slots();
    let edit = |v: &mut Vec<i64>| {
        v[lo] += 1 << bits;
        v[hi] -= 1;
    };
    let (column, values) = f.column(&edit);
    let honest = bind::params_hash(&f.shape);
    assert_eq!(f.hash_of(&values), honest, "the packed words are unchanged");
    let failures = f.run(&column, values, honest).unwrap_err();
    assert!(
        failures
            .iter()
            .all(|e| matches!(e, VerifyFailure::Lookup { .. })),
        "{failures:?}"
    );
}

/// Other weights in both the column and the message, hash recomputed: a
/// valid binding, of another commitment (the extension test's point is the
/// build's; a changed weight row changes it), so it binds nothing the
/// build's proofs start with.
#[test]
fn a_consistent_change_binds_another_commitment() {
    let f = fixture();
    let (i, _) = f.two_slots();
    let (column, values) = f.column(&|v| v[i] += 1);
    f.run(&column, values.clone(), f.hash_of(&values)).unwrap();
    let (honest, _) = f.column(&|_| ());
    assert_ne!(column, honest);
}

#[test]
fn a_wrong_public_hash_fails_at_the_public_gate() {
    let f = fixture();
    let (column, values) = f.column(&|_| ());
    let hash = f.hash_of(&values) + Fr::one();
    let failures = f.run(&column, values, hash).unwrap_err();
    assert!(
        failures
            .iter()
            .all(|e| format!("{e:?}").contains("binding: m = H where the instance is H")),
        "{failures:?}"
    );
}

#[test]
fn the_weights_column_is_the_first_advice_column() {
    let mut cs = ConstraintSystem::<Fr>::default();
    let c = configure(&mut cs, None);
    assert_eq!(c.w.index(), 0);
}
