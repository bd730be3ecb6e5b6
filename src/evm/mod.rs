//! EVM verifier: code generation, compilation, execution.
pub mod codegen;
pub mod compile;
pub mod exec;
pub mod public_layout;
pub mod verifier;

pub use compile::{compile_contract, find_solc, Compiled, EvmError, EIP170_LIMIT};
pub use exec::{Address, CallOutcome, Deployment, Evm};
