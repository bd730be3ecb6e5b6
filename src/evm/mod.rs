//! EVM verifier: code generation, compilation, execution.
