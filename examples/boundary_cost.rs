//! What each chunk of a split build spends on its hashed boundaries, and
//! what it would keep if the cut were linked by commitment equality
//! (`src/proof/link.rs`) instead: measured from the chunk's own layout
//! and constraint systems, nothing proven.
//!
//! Hashed (today): the receiving chunk range-checks every value it reads
//! (a chain block each), both sides pack the boundary into words (a
//! multiply row per value), and a Poseidon sponge runs beside the neuron
//! rows in columns of its own. Linked: none of these; the boundary sits in
//! one advice column per cut, copied from (or to) the neuron cells.
//!
//! `cargo run --example boundary_cost BUILD` (a split build, after `compile --max-k`).
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use std::path::Path;
use zkml_evm::circuit::layout::{self, Layout};
use zkml_evm::circuit::public::{PackHashed, Tensor, Vis};
use zkml_evm::circuit::{GateParams, ModelCircuit};
use zkml_evm::model::Value;
use zkml_evm::split::SplitBuild;

/// Advice, fixed, selector and lookup counts of a configuration (before
/// keygen compresses selectors into fixed columns).
fn columns(params: GateParams) -> String {
    let mut cs = ConstraintSystem::<Fr>::default();
    ModelCircuit::configure_with_params(&mut cs, params);
    format!(
        "{} / {} / {} / {}",
        cs.num_advice_columns(),
        cs.num_fixed_columns(),
        cs.num_selectors(),
        cs.lookups().len()
    )
}

/// Rows of the blocks that only serve a cut: the range checks of an input
/// that comes from the chunk before (`cut_input`), and the packed words of
/// hashed cut tensors. The model's own input keeps its range checks and
/// public words either way.
fn boundary_rows(
    lay: &Layout,
    program: &zkml_evm::model::Program<i64>,
    cut_input: bool,
    cut_output: bool,
) -> (usize, usize) {
    let checks = lay
        .neurons
        .iter()
        .filter(|n| {
            cut_input && n.range_check && matches!(program.values[n.value], Value::Input(_))
        })
        .map(|n| n.result_row + 1 - n.start)
        .sum();
    let words = lay
        .words
        .iter()
        .filter(|w| {
            w.public_row.is_none()
                && match w.tensor {
                    Tensor::Input => cut_input,
                    Tensor::Output => cut_output,
                    _ => false,
                }
        })
        .map(|w| w.result_row + 1 - w.start)
        .sum();
    (checks, words)
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: boundary_cost BUILD"))?;
    let b = SplitBuild::load(Path::new(&dir))?;
    println!("| chunk | k | rows | cut-input checks | cut word rows | sponge rows (beside) | advice / fixed / selectors / lookups | linked: rows | linked k | linked: advice / fixed / selectors / lookups |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let last = b.chunks.len() - 1;
    for (i, c) in b.chunks.iter().enumerate() {
        let lay = &c.layout;
        let params = c.keygen_circuit().gate_params();
        let (checks, words) = boundary_rows(lay, &c.program, i > 0, i < last);
        let sponge_end = lay
            .sponges
            .iter()
            .map(|s| s.start + s.len)
            .max()
            .unwrap_or(0);
        let now = columns(params.clone());
        // A linked chunk's boundaries are private witnesses, unhashed.
        let mut linked = params;
        let unhash = |v: Vis| if v == Vis::Hashed { Vis::Private } else { v };
        linked.visibility.input = if i > 0 {
            unhash(linked.visibility.input)
        } else {
            linked.visibility.input
        };
        linked.visibility.output = if i < last {
            unhash(linked.visibility.output)
        } else {
            linked.visibility.output
        };
        linked.visibility.pack_hashed = PackHashed::NONE;
        linked.packing = None;
        let links = (i > 0) as usize + (i < last) as usize;
        let linked_columns = columns(linked.clone());
        let rows = lay.rows_used - checks - words;
        let k = layout::min_k_for(rows, lay.table_rows, layout::reserved_rows(&linked))
            .expect("a chunk's rows, fewer than before, still fit");
        println!(
            "| {i} | {} | {} | {checks} | {words} | {sponge_end} | {now} | {rows} | {k} | {linked_columns}, + {links} link column(s) |",
            lay.k, lay.rows_used
        );
    }
    Ok(())
}
