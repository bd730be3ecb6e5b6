//! The verifier directory (`gen-verifier` output) and the calls made on it:
//! ABI calldata for `verify`, and deploy-and-call in revm.

use super::codegen::PublicInputs;
use super::compile::{compile_contract, EIP170_LIMIT};
use super::exec::{CallOutcome, Evm, DEFAULT_GAS_LIMIT};
use crate::artifact;
use crate::proof::{Keys, ProofFile, TranscriptKind};
use alloy_primitives::{Bytes, U256};
use alloy_sol_types::{sol, SolCall};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

sol! {
    /// The interface every generated verifier implements.
    function verify(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool);
    /// True for a verifier made from the development SRS.
    function DEVELOPMENT_SRS() external view returns (bool);
}

pub const SOURCE_FILE: &str = "Halo2Verifier.sol";
pub const ARTIFACT_FILE: &str = "verifier.json";
pub const CONTRACT: &str = "Halo2Verifier";
/// 2: `dev_srs`.
pub const ARTIFACT_VERSION: u32 = 2;
/// Optimizer runs: verification is called far more often than deployed.
const OPTIMIZER_RUNS: u32 = 1_000_000;

/// `VDIR/verifier.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifierArtifact {
    pub version: u32,
    pub contract: String,
    pub model_hash: String,
    pub k: u32,
    pub proof_len: usize,
    pub num_public: usize,
    pub solc_version: String,
    pub runtime_size: usize,
    /// Generated from the development SRS: the contract says so in
    /// `DEVELOPMENT_SRS`, and `deploy` refuses it off development chains.
    pub dev_srs: bool,
    pub abi: serde_json::Value,
    /// Creation code, hex.
    pub bytecode: String,
    /// Runtime code, hex.
    pub deployed_bytecode: String,
}

impl VerifierArtifact {
    pub fn read(dir: &Path) -> Result<VerifierArtifact> {
        let path = dir.join(ARTIFACT_FILE);
        let a: VerifierArtifact = artifact::read_json(&path).with_context(|| {
            format!(
                "{} is not a verifier directory (run `zkml-evm gen-verifier`)",
                dir.display()
            )
        })?;
        if a.version != ARTIFACT_VERSION {
            bail!(
                "{}: artefact version {} is not supported",
                path.display(),
                a.version
            );
        }
        Ok(a)
    }

    pub fn creation_code(&self) -> Result<Vec<u8>> {
        artifact::from_hex(&self.bytecode).context("field `bytecode`")
    }
}

/// Generate, compile and write the verifier for `keys` into `out`.
pub fn gen_verifier(
    keys: &Keys,
    model_hash: &str,
    num_public: usize,
    out: &Path,
) -> Result<VerifierArtifact> {
    let title = format!(
        "zkml-evm verifier for model {}",
        &model_hash[..16.min(model_hash.len())]
    );
    gen_verifier_for(
        keys,
        PublicInputs::model(num_public),
        &title,
        model_hash,
        out,
    )
}

/// Generate, compile and write a verifier for any proof our codegen handles.
pub fn gen_verifier_for(
    keys: &Keys,
    public: PublicInputs,
    title: &str,
    model_hash: &str,
    out: &Path,
) -> Result<VerifierArtifact> {
    let num_public = public.count;
    let generated = super::codegen::generate(&keys.params, &keys.vk, public, title)?;
    // Written before compiling, so a compiler error can be inspected.
    artifact::write_atomic(&out.join(SOURCE_FILE), generated.solidity.as_bytes())?;
    let compiled = compile_contract(
        &[(SOURCE_FILE.to_string(), generated.solidity.clone())],
        CONTRACT,
        Some(OPTIMIZER_RUNS),
        false,
    )?;
    let runtime_size = compiled.deployed_bytecode.len();
    if runtime_size > EIP170_LIMIT {
        bail!(
            "verifier runtime is {runtime_size} bytes, over the {EIP170_LIMIT}-byte EIP-170 limit"
        );
    }
    let a = VerifierArtifact {
        version: ARTIFACT_VERSION,
        contract: CONTRACT.into(),
        model_hash: model_hash.into(),
        k: keys.vk.get_domain().k(),
        proof_len: generated.proof_len,
        num_public,
        solc_version: compiled.solc_version.clone(),
        runtime_size,
        dev_srs: generated.dev_srs,
        abi: compiled.abi.clone(),
        bytecode: artifact::to_hex(&compiled.bytecode),
        deployed_bytecode: artifact::to_hex(&compiled.deployed_bytecode),
    };
    artifact::write_json(&out.join(ARTIFACT_FILE), &a)?;
    Ok(a)
}

/// ABI-encoded `verify(proof, publicInputs)` call.
pub fn calldata(proof: &ProofFile) -> Result<Vec<u8>> {
    if proof.transcript != TranscriptKind::Evm {
        bail!(
            "this proof was made for aggregation (Poseidon transcript); EVM verifiers take proofs from `zkml-evm prove` \
             without --for-aggregation, or the proof.json of `zkml-evm aggregate`"
        );
    }
    encode_proof(&proof.proof_bytes()?, &proof.public_inputs)
}

/// ABI-encoded `verify` call for a proof file of either kind: a model proof
/// (`prove`) or an aggregated one (`aggregate`).
pub fn calldata_for_file(path: &Path) -> Result<Vec<u8>> {
    crate::api::calldata(&crate::api::ProofDoc::read(path)?)
}

/// ABI-encoded `verify(proof, publicInputs)` for proof bytes and public
/// inputs in their `proof.json` hex form.
pub fn encode_proof(proof: &[u8], public_inputs: &[String]) -> Result<Vec<u8>> {
    let inputs = public_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let b = artifact::from_hex(s).with_context(|| format!("public_inputs[{i}]"))?;
            if b.len() > 32 {
                bail!("public_inputs[{i}] is longer than 32 bytes");
            }
            Ok(U256::from_be_slice(&b))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(encode_call(proof, &inputs))
}

pub fn encode_call(proof: &[u8], inputs: &[U256]) -> Vec<u8> {
    verifyCall {
        proof: Bytes::copy_from_slice(proof),
        publicInputs: inputs.to_vec(),
    }
    .abi_encode()
}

/// Outcome of `test-evm`: did `verify` return true, and at what cost.
#[derive(Debug, Clone, Serialize)]
pub struct EvmVerdict {
    pub accepted: bool,
    pub gas_used: u64,
    pub deploy_gas: u64,
    pub runtime_size: usize,
    pub reason: Option<String>,
}

/// Deploy the verifier in a fresh revm and call it with `calldata`.
pub fn run_in_revm(artifact: &VerifierArtifact, calldata: &[u8]) -> Result<EvmVerdict> {
    let mut evm = Evm::new();
    let dep = evm.deploy(&artifact.creation_code()?)?;
    let out = evm.call(dep.address, calldata, DEFAULT_GAS_LIMIT);
    Ok(verdict(&out, dep.gas_used, dep.runtime_size))
}

/// Whether the contract `creation_code` makes says it was generated from
/// the development SRS: deployed in a scratch revm, its
/// `DEVELOPMENT_SRS()` returns true. A contract without that function (or
/// whose constructor needs chain state) answers no.
pub fn says_development_srs(creation_code: &[u8]) -> bool {
    let mut evm = Evm::new();
    let Ok(dep) = evm.deploy(creation_code) else {
        return false;
    };
    let out = evm.call(
        dep.address,
        &DEVELOPMENT_SRSCall {}.abi_encode(),
        DEFAULT_GAS_LIMIT,
    );
    out.success && is_abi_true(&out.output)
}

/// Whether `verify`'s return data is exactly the ABI encoding of `true`.
pub fn is_abi_true(output: &[u8]) -> bool {
    output.len() == 32 && output[31] == 1 && output[..31].iter().all(|&b| b == 0)
}

pub fn verdict(out: &CallOutcome, deploy_gas: u64, runtime_size: usize) -> EvmVerdict {
    let returned_true = out.success && is_abi_true(&out.output);
    let reason = if returned_true {
        None
    } else if let Some(h) = &out.halt_reason {
        Some(format!("halted: {h}"))
    } else if let Some(r) = &out.revert_reason {
        Some(format!("reverted: {r}"))
    } else {
        Some("verify returned false".into())
    };
    EvmVerdict {
        accepted: returned_true,
        gas_used: out.gas_used,
        deploy_gas,
        runtime_size,
        reason,
    }
}
