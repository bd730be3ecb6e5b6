//! Talking to a real chain with alloy: deploy a contract, call `verify`.
//!
//! Every failure a user can hit maps to one error naming what went wrong:
//! RPC unreachable, wrong chain, insufficient funds, code over the size
//! limit, revert with reason. The private key is never printed, logged or
//! put into an error message.

use crate::evm::compile::EIP170_LIMIT;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EthError {
    #[error("invalid RPC URL {0:?}")]
    BadUrl(String),
    #[error("cannot reach RPC {url}: {reason}")]
    RpcUnreachable { url: String, reason: String },
    #[error("wrong chain: {url} serves chain id {got}, expected {expected}")]
    WrongChain {
        url: String,
        got: u64,
        expected: u64,
    },
    #[error("no signer: pass --private-key, set PRIVATE_KEY, or use --keystore")]
    NoSigner,
    #[error("the private key is malformed (expected 32 bytes of hex)")]
    BadKey,
    #[error("cannot decrypt keystore {path}: {reason}")]
    Keystore { path: PathBuf, reason: String },
    #[error("insufficient funds: {address} holds {balance} wei, the transaction needs about {needed} wei")]
    InsufficientFunds {
        address: Address,
        balance: U256,
        needed: U256,
    },
    #[error("runtime code is {size} bytes, over the {limit}-byte EIP-170 limit")]
    CodeTooLarge { size: usize, limit: usize },
    #[error(
        "refusing to deploy a verifier made from the development SRS (anyone can forge its proofs) to chain {chain_id}: \
         run `zkml-evm setup --srs <ceremony file>` and regenerate the verifier, or pass --allow-dev-srs"
    )]
    DevSrs { chain_id: u64 },
    #[error("transaction reverted: {0}")]
    Reverted(String),
    #[error("{0}")]
    Rpc(String),
}

/// How to sign: a raw key (flag or PRIVATE_KEY) or an encrypted keystore.
pub enum SignerSource {
    Key(String),
    Keystore { path: PathBuf, password: String },
}

impl SignerSource {
    pub fn signer(&self) -> Result<PrivateKeySigner, EthError> {
        match self {
            SignerSource::Key(k) => k
                .trim()
                .parse::<PrivateKeySigner>()
                .map_err(|_| EthError::BadKey),
            SignerSource::Keystore { path, password } => {
                PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| EthError::Keystore {
                    path: path.clone(),
                    reason: e.to_string(),
                })
            }
        }
    }
}

fn parse_url(url: &str) -> Result<alloy::transports::http::reqwest::Url, EthError> {
    url.parse().map_err(|_| EthError::BadUrl(url.to_string()))
}

/// RPC errors carry the node's message; a refused or timed-out connection
/// is reported as unreachable.
fn rpc_err(url: &str, e: impl std::fmt::Display) -> EthError {
    let msg = e.to_string();
    let lower = msg.to_lowercase();
    if lower.contains("connect")
        || lower.contains("timed out")
        || lower.contains("dns")
        || lower.contains("error sending request")
    {
        EthError::RpcUnreachable {
            url: url.to_string(),
            reason: msg,
        }
    } else if lower.contains("insufficient funds") {
        EthError::Rpc(format!("insufficient funds: {msg}"))
    } else if lower.contains("revert") {
        EthError::Reverted(msg)
    } else {
        EthError::Rpc(format!("RPC {url}: {msg}"))
    }
}

const RPC_TIMEOUT: Duration = Duration::from_secs(20);

async fn with_timeout<T>(
    url: &str,
    f: impl std::future::IntoFuture<Output = Result<T, EthError>>,
) -> Result<T, EthError> {
    tokio::time::timeout(RPC_TIMEOUT, f.into_future())
        .await
        .map_err(|_| EthError::RpcUnreachable {
            url: url.to_string(),
            reason: format!("no answer in {}s", RPC_TIMEOUT.as_secs()),
        })?
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub address: Address,
    pub tx_hash: String,
    pub gas_used: u64,
    pub chain_id: u64,
    pub deployer: Address,
}

/// Chains a development-SRS verifier may be deployed to without
/// `--allow-dev-srs`: anvil and hardhat (31337), geth --dev and ganache (1337).
pub const DEV_CHAIN_IDS: [u64; 2] = [31337, 1337];

/// Deploy `creation_code` (constructor arguments already appended).
/// `dev_srs_guard`: the code is a development-SRS verifier the user did not
/// allow, so only a development chain takes it.
pub async fn deploy(
    url: &str,
    signer: &SignerSource,
    expected_chain: Option<u64>,
    creation_code: Vec<u8>,
    runtime_size: Option<usize>,
    dev_srs_guard: bool,
) -> Result<DeployReport, EthError> {
    if let Some(size) = runtime_size.filter(|&s| s > EIP170_LIMIT) {
        return Err(EthError::CodeTooLarge {
            size,
            limit: EIP170_LIMIT,
        });
    }
    let signer = signer.signer()?;
    let deployer = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(parse_url(url)?);
    let chain_id = with_timeout(url, async {
        provider.get_chain_id().await.map_err(|e| rpc_err(url, e))
    })
    .await?;
    if let Some(expected) = expected_chain.filter(|&e| e != chain_id) {
        return Err(EthError::WrongChain {
            url: url.to_string(),
            got: chain_id,
            expected,
        });
    }
    if dev_srs_guard && !DEV_CHAIN_IDS.contains(&chain_id) {
        return Err(EthError::DevSrs { chain_id });
    }
    let tx = TransactionRequest::default()
        .with_from(deployer)
        .with_deploy_code(Bytes::from(creation_code));
    check_funds(url, &provider, deployer, &tx).await?;
    let receipt = with_timeout(url, async {
        let pending = provider
            .send_transaction(tx)
            .await
            .map_err(|e| rpc_err(url, e))?;
        pending.get_receipt().await.map_err(|e| rpc_err(url, e))
    })
    .await?;
    if !receipt.status() {
        return Err(EthError::Reverted(format!(
            "deployment {} failed",
            receipt.transaction_hash
        )));
    }
    let address = receipt
        .contract_address
        .ok_or_else(|| EthError::Rpc("receipt has no contract address".into()))?;
    Ok(DeployReport {
        address,
        tx_hash: receipt.transaction_hash.to_string(),
        gas_used: receipt.gas_used,
        chain_id,
        deployer,
    })
}

/// Estimate the cost and compare with the balance, so "insufficient funds"
/// is said before anything is sent. A revert during estimation is reported
/// with its reason.
async fn check_funds(
    url: &str,
    provider: &impl Provider,
    from: Address,
    tx: &TransactionRequest,
) -> Result<(), EthError> {
    let gas = with_timeout(url, async {
        provider
            .estimate_gas(tx.clone())
            .await
            .map_err(|e| rpc_err(url, e))
    })
    .await?;
    let price = with_timeout(url, async {
        provider.get_gas_price().await.map_err(|e| rpc_err(url, e))
    })
    .await?;
    let balance = with_timeout(url, async {
        provider
            .get_balance(from)
            .await
            .map_err(|e| rpc_err(url, e))
    })
    .await?;
    let needed = U256::from(gas) * U256::from(price);
    if balance < needed {
        return Err(EthError::InsufficientFunds {
            address: from,
            balance,
            needed,
        });
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct OnchainVerdict {
    pub accepted: bool,
    /// Gas of the transaction when sent; None for a plain eth_call.
    pub gas_used: Option<u64>,
    pub tx_hash: Option<String>,
}

/// Call `verify` at `address` with ABI calldata: `eth_call`, or a real
/// transaction when `send` holds a signer.
pub async fn verify_onchain(
    url: &str,
    address: Address,
    calldata: Vec<u8>,
    send: Option<&SignerSource>,
) -> Result<OnchainVerdict, EthError> {
    let tx = TransactionRequest::default()
        .with_to(address)
        .with_input(Bytes::from(calldata));
    let decode = crate::evm::verifier::is_abi_true;
    match send {
        None => {
            let provider = ProviderBuilder::new().connect_http(parse_url(url)?);
            let code = with_timeout(url, async {
                provider
                    .get_code_at(address)
                    .await
                    .map_err(|e| rpc_err(url, e))
            })
            .await?;
            if code.is_empty() {
                return Err(EthError::Rpc(format!("no contract at {address} on {url}")));
            }
            let out = with_timeout(url, async {
                provider.call(tx).await.map_err(|e| rpc_err(url, e))
            })
            .await?;
            Ok(OnchainVerdict {
                accepted: decode(&out),
                gas_used: None,
                tx_hash: None,
            })
        }
        Some(src) => {
            let signer = src.signer()?;
            let from = signer.address();
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(signer))
                .connect_http(parse_url(url)?);
            let tx = tx.with_from(from);
            // eth_call first: the transaction's receipt does not carry return data.
            let out = with_timeout(url, async {
                provider.call(tx.clone()).await.map_err(|e| rpc_err(url, e))
            })
            .await?;
            check_funds(url, &provider, from, &tx).await?;
            let receipt = with_timeout(url, async {
                let pending = provider
                    .send_transaction(tx)
                    .await
                    .map_err(|e| rpc_err(url, e))?;
                pending.get_receipt().await.map_err(|e| rpc_err(url, e))
            })
            .await?;
            Ok(OnchainVerdict {
                accepted: decode(&out) && receipt.status(),
                gas_used: Some(receipt.gas_used),
                tx_hash: Some(receipt.transaction_hash.to_string()),
            })
        }
    }
}

/// Creation code and runtime size of what `deploy PATH` names: a verifier
/// directory, or a forge/solc artefact JSON (`bytecode.object`).
pub fn load_creation_code(path: &Path) -> anyhow::Result<(Vec<u8>, Option<usize>, String)> {
    use anyhow::Context;
    if path.is_dir() {
        let a = crate::evm::verifier::VerifierArtifact::read(path)?;
        return Ok((a.creation_code()?, Some(a.runtime_size), a.contract));
    }
    let v: serde_json::Value = crate::artifact::read_json(path)?;
    let field = |k: &str| -> Option<String> {
        match &v[k] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => {
                o.get("object").and_then(|x| x.as_str()).map(str::to_string)
            }
            _ => None,
        }
    };
    let code = field("bytecode").with_context(|| {
        format!(
            "{}: no `bytecode` (or `bytecode.object`) field",
            path.display()
        )
    })?;
    let creation = crate::artifact::from_hex(&code)
        .with_context(|| format!("{}: field `bytecode`", path.display()))?;
    let runtime = field("deployedBytecode")
        .and_then(|c| crate::artifact::from_hex(&c).ok())
        .map(|b| b.len());
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((creation, runtime, name))
}
