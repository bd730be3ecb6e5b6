//! zkml-evm: verifiable ML inference on Ethereum.
//!
//! Pipeline: [`model`] (ONNX -> program) -> [`quant`] (fixed point) ->
//! [`circuit`] (halo2 layout) -> [`proof`] (KZG keys, proofs) -> [`evm`]
//! (Solidity verifier, revm). [`compile`] ties the first three together and
//! [`cli`] is the command-line edge.

pub mod aggregate;
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
pub mod proof;
pub mod quant;
pub mod suite;
