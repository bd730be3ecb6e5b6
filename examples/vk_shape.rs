//! What a compiled model's verifying key asks of a verifier: columns,
//! lookups, permutation, queries and quotient pieces, the counts a halo2
//! verifier's gas follows (each commitment an `ecMul` in the final MSM,
//! each query an evaluation in calldata).
//!
//! `cargo run --example vk_shape BUILD_DIR...` (after `zkml-evm setup`).
use std::path::Path;
use zkml_evm::compile::Compiled;
use zkml_evm::proof;

fn main() -> anyhow::Result<()> {
    println!("| build | advice | fixed | lookups | permutation columns | advice queries | fixed queries | degree | quotient pieces |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for dir in std::env::args().skip(1) {
        let c = Compiled::load(Path::new(&dir))?;
        let keys = proof::load_keys(&c)?;
        let cs = keys.vk.cs();
        let degree = cs.degree();
        println!(
            "| {dir} | {} | {} | {} | {} | {} | {} | {degree} | {} |",
            cs.num_advice_columns(),
            cs.num_fixed_columns(),
            cs.lookups().len(),
            cs.permutation().get_columns().len(),
            cs.advice_queries().len(),
            cs.fixed_queries().len(),
            degree - 1,
        );
    }
    Ok(())
}
