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
