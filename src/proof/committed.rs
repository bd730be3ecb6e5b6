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
//! weights. `compile` prints the bound, and `prove` refuses to pass it
//! ([`count_proof`]); a fresh salt (and a new pinned commitment) resets it.

use super::link;
use crate::circuit::layout::Layout;
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
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

/// Proofs made under the build's salt, beside it, so that `prove` stops at
/// the bound of [`hidden_proofs`] instead of only printing it. It counts
/// this build directory's proofs: proofs made from a copy elsewhere are
/// not in it. One count per salt tail, that is per weight version, `k` and
/// salt, keyed by `keccak` of the tail's seed (not the seed itself: that
/// draws the tail, which must stay secret).
pub const COUNT_FILE: &str = "params.proofs";

/// Count one more proof of `layout`'s weights under `salt` in `dir`, or
/// refuse when it would pass [`hidden_proofs`]. The proof is counted before it is made
/// (a failed proof uses up its place), under a lock on the salt file, so
/// two provers in one directory cannot both take the last place.
pub fn count_proof(dir: &Path, layout: &Layout, salt: [u8; 32]) -> Result<()> {
    use sha3::{Digest, Keccak256};
    let salt_path = dir.join(SALT_FILE);
    let lock = std::fs::File::open(&salt_path)
        .with_context(|| format!("cannot open {}", salt_path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", salt_path.display()))?;
    let path = dir.join(COUNT_FILE);
    let mut counts: std::collections::BTreeMap<String, usize> =
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is malformed (it counts the proofs each weight version has had under the salt; deleting it forgets them)",
                    path.display()
                )
            })?,
        };
    let tail = hex::encode(Keccak256::digest(tail_seed(layout, salt)));
    let made = counts.get(&tail).copied().unwrap_or(0);
    if made >= hidden_proofs(layout) {
        bail!(
            "committed weights: {made} proofs of these weights were made under this salt, as many as its {} salt rows keep hidden at k = {} (one more could let an observer solve for the weights); recompile with a fresh salt (delete {}) or with --hide-proofs N, and pin the new commitment either gives",
            salt_rows(layout),
            layout.k,
            salt_path.display()
        );
    }
    counts.insert(tail, made + 1);
    let text = serde_json::to_string_pretty(&counts)? + "\n";
    crate::artifact::write_atomic(&path, text.as_bytes())
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
    commit_column(params, layout.k, weights_column(layout, tail))
}

/// The unblinded commitment to `column` (every row of a `2^k`-row
/// column): the point a proof whose first advice column holds it starts
/// with, once its blinding rows are scripted to the same values.
pub fn commit_column(params: &ParamsKZG<Bn256>, k: u32, column: Vec<Fr>) -> G1Affine {
    let domain = EvaluationDomain::<Fr>::new(1, k);
    params
        .commit_lagrange(&domain.lagrange_from_vec(column), Blind::default())
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

/// A pinned commitment as `commit` prints it: `X,Y` or `["X", "Y"]`, each
/// a uint256 in hex (with or without `0x`).
pub fn from_hex_pair(text: &str) -> Result<G1Affine> {
    let words: Vec<&str> = text
        .trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace())
        .split(',')
        .map(|w| w.trim().trim_matches('"'))
        .collect();
    let [x, y] = words.as_slice() else {
        bail!("weights commitment {text:?}: expected two uint256 words in hex, X,Y (as `zkml-evm commit` prints them)");
    };
    let mut bytes = [0u8; 64];
    for (half, word) in [x, y].into_iter().enumerate() {
        let digits = word.strip_prefix("0x").unwrap_or(word);
        if digits.is_empty() {
            bail!("weights commitment {text:?}: a word is empty");
        }
        // Python's hex() and most shells drop a leading zero digit.
        let even = if digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        let b = crate::artifact::from_hex(&even)
            .with_context(|| format!("weights commitment {text:?}"))?;
        if b.len() > 32 {
            bail!("weights commitment {text:?}: {word} is longer than 32 bytes");
        }
        bytes[32 * half + 32 - b.len()..32 * (half + 1)].copy_from_slice(&b);
    }
    let point = super::transcript::point_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("weights commitment {text:?}: {e}"))?;
    // The identity commits to an all-zero column: no model's weights with a
    // salt tail, but what an unset `$X,$Y` would read as.
    if bool::from(point.is_identity()) {
        bail!("weights commitment {text:?} is the point at infinity, which commits to no weights");
    }
    Ok(point)
}

/// Why the proof's weights commitment is not the one `pin` asks for
/// (`None` when it is, or when any is accepted). `params` is the build's
/// SRS, already loaded to verify the proof.
pub fn pin_mismatch(
    c: &crate::compile::Compiled,
    params: &ParamsKZG<Bn256>,
    actual: &G1Affine,
    pin: super::WeightsPin,
) -> Result<Option<String>> {
    let (expected, whose) = match pin {
        super::WeightsPin::Any => return Ok(None),
        super::WeightsPin::Point(p) => (p, "the pinned"),
        super::WeightsPin::Build => {
            if !c.dir.join(SALT_FILE).exists() {
                bail!(
                    "{} has no {SALT_FILE}, so the build's own weights commitment is unknown: pass --weights-commitment X,Y (the pinned point) or --any-weights",
                    c.dir.display()
                );
            }
            let tail = salt_tail(&c.layout, read_salt(&c.dir)?);
            (commitment_with(params, &c.layout, &tail), "this build's")
        }
    };
    if *actual == expected {
        return Ok(None);
    }
    let [ax, ay] = to_hex_pair(actual);
    let [ex, ey] = to_hex_pair(&expected);
    // A build compiled from the same ONNX has a salt of its own, hence a
    // different commitment: only the owner's salt reproduces the point.
    Ok(Some(format!(
        "it was made with another weight version or salt: committed as ({ax}, {ay}), not {whose} ({ex}, {ey})"
    )))
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
