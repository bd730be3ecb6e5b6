//! Committed weights (`--param-visibility committed`): the weights column's
//! KZG commitment, not a Poseidon hash, says which weights ran.
//!
//! The weights and biases sit in one advice column `w` of their own, the
//! circuit's first, so its commitment is the first point of every proof.
//! A pinned commitment therefore pins every row of `w`: KZG is binding, and
//! the gates read each weight from `w` (as with private weights). Nothing
//! is hashed in the circuit, so the verifier costs what a private-weights
//! one does.
//!
//! For that point to be the same in every proof of one weight version,
//! every row of `w` must be a function of the weights alone. halo2 would
//! fill the blinding rows at random; here the rows from `rows_used` to the
//! end (unused rows and halo2's blinding rows alike) hold a salt tail `T`
//! drawn from a seed the owner keeps in `params.salt` ([`SALT_FILE`]),
//! scripted into halo2's blinding through [`link::ScriptedTails`] as a link
//! column's tail is.
//!
//! Zero knowledge of the weights: each proof reveals two linear functions
//! of `w` (its evaluation at the challenge and one multiopen evaluation),
//! and the commitment one more. While those stay fewer than the salt rows,
//! the revealed values are uniform whatever the weights ([`hidden_proofs`]);
//! past that many proofs of one salt, an observer could solve for the
//! weights. `compile` prints the bound; a fresh salt (and a new pinned
//! commitment) resets it.

use super::link;
use crate::circuit::layout::Layout;
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::poly::commitment::{Blind, Params};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::EvaluationDomain;
use rand::RngCore;
use std::path::Path;

/// The owner's salt, 32 random bytes in hex, beside `settings.json`.
pub const SALT_FILE: &str = "params.salt";

/// The ChaCha stream of the salt tail (links use streams 0, 1, ...).
const SALT_STREAM: u64 = u64::MAX;

/// Write a fresh salt into `dir`, unless one is there: recompiling the
/// same weights then keeps their commitment.
pub fn ensure_salt(dir: &Path) -> Result<()> {
    let path = dir.join(SALT_FILE);
    if path.exists() {
        read_salt(dir)?;
        return Ok(());
    }
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    std::fs::write(&path, format!("{}\n", hex::encode(salt)))
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn read_salt(dir: &Path) -> Result<[u8; 32]> {
    let path = dir.join(SALT_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is missing: committed weights need the salt `compile` wrote (restore it, or recompile for a new commitment)",
            path.display()
        )
    })?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    match bytes {
        Some(b) => Ok(b),
        None => bail!("{}: expected 64 hex digits", path.display()),
    }
}

/// The salt tail `T` of a layout: one value for each row from `rows_used`
/// to the end (row `n − 1 − i` holds `T[i]`).
///
/// Seeded by `keccak(salt ‖ k ‖ rows_used ‖ w cells)`, not by the salt
/// alone: the same weights then always get the same tail (and
/// commitment), but two weight versions under one salt get unrelated
/// tails. With one tail for both, it would cancel in `C_A − C_B`, which
/// would commit to the weight difference unblinded, and a sparse update
/// (a changed bias, a fine-tuned layer) could be searched for row by row.
pub fn salt_tail(layout: &Layout, salt: [u8; 32]) -> Vec<Fr> {
    link::tail_values(tail_seed(layout, salt), SALT_STREAM, salt_rows(layout))
}

fn tail_seed(layout: &Layout, salt: [u8; 32]) -> [u8; 32] {
    use sha3::{Digest, Keccak256};
    let mut h = Keccak256::new();
    h.update(salt);
    h.update(u64::from(layout.k).to_le_bytes());
    h.update((layout.rows_used as u64).to_le_bytes());
    for (row, w) in layout.w_cells() {
        h.update((row as u64).to_le_bytes());
        h.update(w.to_le_bytes());
    }
    h.finalize().into()
}

/// Rows of `w` the salt fills.
pub fn salt_rows(layout: &Layout) -> usize {
    (1usize << layout.k) - layout.rows_used
}

/// How many proofs of one salt keep the weights perfectly hidden: the
/// salt rows must outnumber the linear functions of `w` revealed (the
/// commitment, then two per proof; see [`link::min_tail_len`]).
pub fn hidden_proofs(layout: &Layout) -> usize {
    salt_rows(layout).saturating_sub(1) / (link::min_tail_len(&[1]) - 1)
}

/// Every row of `w`: each term row's weight, each result row's bias, the
/// salt tail `tail` ([`salt_tail`]) at the top, 0 elsewhere. What the
/// circuit assigns, computed from the layout alone.
pub fn weights_column(layout: &Layout, tail: &[Fr]) -> Vec<Fr> {
    let n = 1usize << layout.k;
    let mut column = vec![Fr::ZERO; n];
    for (row, w) in layout.w_cells() {
        column[row] = crate::circuit::fe(w as i128);
    }
    for (i, &t) in tail.iter().enumerate() {
        column[n - 1 - i] = t;
    }
    column
}

/// The commitment every proof of these weights (with this salt) starts
/// with, computed outside the circuit from the build's SRS.
pub fn commitment(dir: &Path, layout: &Layout) -> Result<G1Affine> {
    let params = super::srs::params_from_file(&dir.join(super::SRS_FILE), layout.k)
        .context("committed weights: run `zkml-evm setup` first (the commitment needs the SRS)")?;
    let tail = salt_tail(layout, read_salt(dir)?);
    Ok(commitment_with(&params, layout, &tail))
}

/// [`commitment`] with the SRS loaded and the salt tail drawn.
pub fn commitment_with(params: &ParamsKZG<Bn256>, layout: &Layout, tail: &[Fr]) -> G1Affine {
    let domain = EvaluationDomain::<Fr>::new(1, layout.k);
    let column = domain.lagrange_from_vec(weights_column(layout, tail));
    params
        .commit_lagrange(&column, Blind::default())
        .to_affine()
}

/// The first point of an EVM-transcript proof: with committed weights,
/// their commitment. (`prove` makes committed-weights proofs for the EVM
/// transcript only: they do not aggregate.)
pub fn proof_commitment(proof: &[u8]) -> Result<G1Affine> {
    proof
        .get(..64)
        .and_then(|b| super::transcript::point_from_bytes(b.try_into().expect("64 bytes")).ok())
        .context("the proof does not start with a curve point (the weights commitment)")
}

/// A commitment as `proof.json` and `commit` print it: `[x, y]`, each a
/// uint256 in hex, as the EVM proof's first 64 bytes hold them.
pub fn to_hex_pair(p: &G1Affine) -> [String; 2] {
    let bytes = super::transcript::point_bytes(p);
    [
        crate::artifact::to_hex(&bytes[..32]),
        crate::artifact::to_hex(&bytes[32..]),
    ]
}

/// Refuse a `proof.json` whose `params_commitment` is not its proof's
/// first point: like decoded outputs, the field is a copy for readers, and
/// a file where it says something else was edited.
pub fn check_file_commitment(file: &super::ProofFile) -> Result<()> {
    let claimed = file
        .params_commitment
        .as_ref()
        .context("proof.json has no params_commitment, which committed weights need")?;
    if file.transcript != super::TranscriptKind::Evm {
        bail!("a committed-weights proof is made for the EVM transcript; this one was made for aggregation, which committed weights do not support");
    }
    let actual = to_hex_pair(&proof_commitment(&file.proof_bytes()?)?);
    if *claimed != actual {
        bail!(
            "proof.json's params_commitment ({}, {}) is not the proof's weights commitment ({}, {})",
            claimed[0],
            claimed[1],
            actual[0],
            actual[1]
        );
    }
    Ok(())
}
