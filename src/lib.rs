//! zkml-evm: verifiable ML inference on Ethereum.
//!
//! Pipeline: [`model`] (ONNX -> program) -> [`quant`] (fixed point) ->
//! [`circuit`] (halo2 layout) -> [`proof`] (KZG keys, proofs) -> [`evm`]
//! (Solidity verifier, revm). [`compile`] ties the first three together and
//! [`api`] holds the steps every front end shares; [`cli`] is the
//! command-line edge.

pub mod aggregate;
pub mod api;
pub mod artifact;
pub mod bench;
pub mod circuit;
pub mod cli;
pub mod compile;
pub mod conformance;
pub mod eth;
pub mod evm;
pub mod model;
pub mod poseidon;
pub mod progress;
pub mod proof;
pub mod quant;
pub mod split;
pub mod suite;

/// Refuse a CPU the build's field arithmetic cannot run on: on x86-64 it is
/// halo2curves' assembly, which needs BMI2 and ADX (see Cargo.toml).
pub fn cpu_check() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    if !(std::is_x86_feature_detected!("bmi2") && std::is_x86_feature_detected!("adx")) {
        return Err("this CPU lacks the BMI2 and ADX instructions that zkml-evm's x86-64 field arithmetic uses (CPUs from about 2015 on have them); run it on a newer machine".into());
    }
    Ok(())
}
