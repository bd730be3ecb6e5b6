//! In-process EVM execution with `revm`.
//!
//! Used to deploy the generated Solidity verifier and to call it with proofs, so that
//! "does the on-chain verifier accept this proof, and for how much gas" can be answered
//! without a node. The chain is a fresh in-memory state ([`InMemoryDB`]) with one
//! funded externally-owned account ([`CALLER`]) that sends every transaction.
//!
//! Choices and why:
//! * Hardfork [`SPEC`] = Cancun, the same fork the Solidity compiler targets
//!   ([`super::compile::EVM_VERSION`]). revm 43 defaults to Osaka, which would also
//!   cap a transaction's gas at 2^24 (EIP-7825) and reprice modexp (EIP-7883); pinning
//!   Cancun keeps bytecode and gas schedule consistent with what solc assumed.
//! * Gas price and block base fee are 0, so the sender never pays and balance checks
//!   cannot fail; `gas_used` is then the plain receipt gas of the transaction (21 000
//!   intrinsic + calldata + execution − refund). Cancun has no EIP-7623 calldata floor.
//! * Every transaction (also reverted/halted calls) is committed, exactly as on a chain,
//!   and the sender nonce is read back from the state before each transaction, so any
//!   number of deployments and calls can follow each other.
//! * The BN254 precompiles (0x06 ecAdd, 0x07 ecMul, 0x08 ecPairing) and modexp (0x05)
//!   that a KZG verifier needs are always compiled into `revm-precompile` (arkworks
//!   backend); no extra cargo feature is needed for them.

use revm::{
    context::{
        result::{ExecutionResult, HaltReason, Output},
        BlockEnv, Context, TxEnv,
    },
    database::{CacheDB, EmptyDB, InMemoryDB},
    database_interface::DatabaseRef,
    handler::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainnetContext, MainnetEvm},
    primitives::{address, hardfork::SpecId, Bytes, TxKind, U256},
    state::AccountInfo,
};

pub use revm::primitives::Address;

use super::compile::{EvmError, EIP170_LIMIT};

/// Hardfork used for execution; keep in sync with [`super::compile::EVM_VERSION`].
pub const SPEC: SpecId = SpecId::CANCUN;

/// The in-process chain's id: anvil's (31337), a development chain, so the example
/// contracts take development-SRS verifiers here as they do on anvil
/// (`ZkmlVerification.requireUsable`). [`Evm::set_chain_id`] changes it.
pub const DEV_CHAIN_ID: u64 = crate::eth::DEV_CHAIN_IDS[0];

/// Sender of all transactions (anvil's first default account, for familiarity).
pub const CALLER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// Gas limit for deployments and a sensible default for calls (a mainnet-sized block).
pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;

/// Balance given to [`CALLER`] (1e9 ether); only matters for value transfers since gas is free.
const CALLER_BALANCE_WEI: u128 = 1_000_000_000 * 1_000_000_000_000_000_000;

/// The concrete revm type: mainnet handler over an in-memory database.
type Inner = MainnetEvm<MainnetContext<InMemoryDB>>;

/// Result of a successful deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Address of the new contract.
    pub address: Address,
    /// Receipt gas of the creation transaction (intrinsic + initcode + execution + code deposit).
    pub gas_used: u64,
    /// Size in bytes of the deployed runtime code (checked against EIP-170 by revm).
    pub runtime_size: usize,
}

/// Result of a call transaction. Never an error: failures are described by the fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallOutcome {
    /// `true` iff the call neither reverted nor halted (and the transaction was valid).
    pub success: bool,
    /// Return data on success, revert data on revert, empty on halt.
    pub output: Vec<u8>,
    /// Receipt gas of the whole transaction, including the 21 000 intrinsic gas and
    /// calldata cost. 0 if the transaction was rejected before execution.
    pub gas_used: u64,
    /// Why execution halted, as revm's `HaltReason` in `Debug` form (e.g.
    /// `"OutOfGas(Basic)"`, so `starts_with("OutOfGas")` detects any out-of-gas), or
    /// `"InvalidTransaction: ..."` when revm rejected the transaction itself.
    pub halt_reason: Option<String>,
    /// Decoded revert reason when the call reverted: the message of `Error(string)`,
    /// `"panic 0x..: ..."` for `Panic(uint256)`, otherwise the raw data as `0x..` hex
    /// (`"0x"` for an empty revert).
    pub revert_reason: Option<String>,
}

/// An in-memory Ethereum chain with one funded sender. See the module docs.
pub struct Evm {
    inner: Inner,
}

impl Default for Evm {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Evm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evm")
            .field("spec", &SPEC)
            .field("caller", &CALLER)
            .finish()
    }
}

impl Evm {
    /// A fresh chain at [`SPEC`] whose only account is the funded [`CALLER`].
    pub fn new() -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            CALLER,
            AccountInfo::default().with_balance(U256::from(CALLER_BALANCE_WEI)),
        );
        let mut ctx: MainnetContext<InMemoryDB> = Context::new(db, SPEC);
        ctx.modify_cfg(|cfg| cfg.chain_id = DEV_CHAIN_ID);
        ctx.modify_block(|block: &mut BlockEnv| {
            block.number = U256::from(1);
            block.basefee = 0;
            // Default is u64::MAX already; stated here because calls rely on it.
            block.gas_limit = u64::MAX;
        });
        Self {
            inner: ctx.build_mainnet(),
        }
    }

    /// Deploys `creation_code` (constructor + runtime, as `solc`'s `evm.bytecode`) from
    /// [`CALLER`] with [`DEFAULT_GAS_LIMIT`] gas.
    ///
    /// Fails with [`EvmError::CodeSizeLimit`] if the runtime code exceeds EIP-170 (the
    /// size is measured by a non-committed dry run without the limit), and with
    /// [`EvmError::Deploy`] if the constructor reverts/halts or the transaction is invalid
    /// (e.g. initcode over the EIP-3860 limit of 49 152 bytes).
    pub fn deploy(&mut self, creation_code: &[u8]) -> Result<Deployment, EvmError> {
        let tx = self.tx(TxKind::Create, creation_code, DEFAULT_GAS_LIMIT);
        let result = self
            .inner
            .transact_commit(tx)
            .map_err(|e| EvmError::Deploy {
                reason: format!("creation transaction rejected: {e}"),
            })?;
        let gas_used = result.tx_gas_used();
        match result {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => {
                let runtime_size = self.code(address).len();
                Ok(Deployment {
                    address,
                    gas_used,
                    runtime_size,
                })
            }
            ExecutionResult::Success { .. } => Err(EvmError::Deploy {
                reason: "creation succeeded but produced no contract address".into(),
            }),
            ExecutionResult::Revert { output, .. } => Err(EvmError::Deploy {
                reason: format!("constructor reverted: {}", decode_revert(&output)),
            }),
            ExecutionResult::Halt {
                reason: HaltReason::CreateContractSizeLimit,
                ..
            } => Err(EvmError::CodeSizeLimit {
                runtime_size: self.measure_runtime_size(creation_code),
                limit: EIP170_LIMIT,
            }),
            ExecutionResult::Halt { reason, .. } => Err(EvmError::Deploy {
                reason: format!("creation halted: {reason:?} after {gas_used} gas"),
            }),
        }
    }

    /// Calls `to` with `calldata` as a committed transaction from [`CALLER`].
    ///
    /// A transaction revm rejects outright (e.g. `gas_limit` below the intrinsic gas) is
    /// reported as `success = false`, `gas_used = 0` and `halt_reason =
    /// "InvalidTransaction: ..."`; use [`Evm::try_call`] to get it as an error instead.
    pub fn call(&mut self, to: Address, calldata: &[u8], gas_limit: u64) -> CallOutcome {
        self.try_call(to, calldata, gas_limit)
            .unwrap_or_else(|e| CallOutcome {
                success: false,
                halt_reason: Some(format!("InvalidTransaction: {e}")),
                ..CallOutcome::default()
            })
    }

    /// Like [`Evm::call`], but a transaction rejected before execution is an
    /// [`EvmError::Call`].
    pub fn try_call(
        &mut self,
        to: Address,
        calldata: &[u8],
        gas_limit: u64,
    ) -> Result<CallOutcome, EvmError> {
        let tx = self.tx(TxKind::Call(to), calldata, gas_limit);
        let result = self.inner.transact_commit(tx).map_err(|e| EvmError::Call {
            reason: e.to_string(),
        })?;
        let gas_used = result.tx_gas_used();
        Ok(match result {
            ExecutionResult::Success { output, .. } => CallOutcome {
                success: true,
                output: output.into_data().to_vec(),
                gas_used,
                ..CallOutcome::default()
            },
            ExecutionResult::Revert { output, .. } => CallOutcome {
                success: false,
                revert_reason: Some(decode_revert(&output)),
                output: output.to_vec(),
                gas_used,
                halt_reason: None,
            },
            ExecutionResult::Halt { reason, .. } => CallOutcome {
                success: false,
                halt_reason: Some(format!("{reason:?}")),
                gas_used,
                ..CallOutcome::default()
            },
        })
    }

    /// Runtime code currently stored at `address` (empty for accounts without code).
    pub fn code(&self, address: Address) -> Vec<u8> {
        self.db()
            .basic_ref(address)
            .ok()
            .flatten()
            .and_then(|info| info.code)
            .map(|code| code.original_byte_slice().to_vec())
            .unwrap_or_default()
    }

    fn db(&self) -> &InMemoryDB {
        &self.inner.ctx.journaled_state.database
    }

    /// Run later transactions on chain `id` (what `block.chainid` returns).
    pub fn set_chain_id(&mut self, id: u64) {
        self.inner.ctx.cfg.chain_id = id;
    }

    /// Current nonce of [`CALLER`]: every committed transaction (even a reverted one)
    /// bumps it, so it is re-read rather than tracked.
    fn caller_nonce(&self) -> u64 {
        self.db()
            .basic_ref(CALLER)
            .ok()
            .flatten()
            .map_or(0, |info| info.nonce)
    }

    fn tx(&self, kind: TxKind, data: &[u8], gas_limit: u64) -> TxEnv {
        TxEnv::builder()
            .caller(CALLER)
            .kind(kind)
            .data(Bytes::copy_from_slice(data))
            .gas_limit(gas_limit)
            .gas_price(0)
            .nonce(self.caller_nonce())
            .chain_id(Some(self.inner.ctx.cfg.chain_id))
            .build_fill()
    }

    /// Size of the runtime code `creation_code` would deploy if EIP-170 did not apply,
    /// found by executing it (without committing) under a raised code-size limit. Only
    /// used to make the EIP-170 error actionable.
    fn measure_runtime_size(&mut self, creation_code: &[u8]) -> Option<usize> {
        let tx = self.tx(TxKind::Create, creation_code, DEFAULT_GAS_LIMIT);
        let cfg = &mut self.inner.ctx.cfg;
        let saved = (
            cfg.limit_contract_code_size,
            cfg.limit_contract_initcode_size,
        );
        // Only the runtime limit is lifted; the initcode limit stays what it was (an
        // explicit override, or EIP-3860's 49 152 bytes).
        cfg.limit_contract_code_size = Some(usize::MAX / 4);
        cfg.limit_contract_initcode_size = Some(
            saved
                .1
                .unwrap_or(revm::primitives::eip3860::MAX_INITCODE_SIZE),
        );
        let result = self.inner.transact(tx);
        let cfg = &mut self.inner.ctx.cfg;
        (
            cfg.limit_contract_code_size,
            cfg.limit_contract_initcode_size,
        ) = saved;
        match result.ok()?.result {
            ExecutionResult::Success {
                output: Output::Create(code, _),
                ..
            } => Some(code.len()),
            _ => None,
        }
    }
}

/// Human-readable form of revert data (see [`CallOutcome::revert_reason`]).
pub fn decode_revert(data: &[u8]) -> String {
    const ERROR_STRING: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0]; // Error(string)
    const PANIC_UINT: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71]; // Panic(uint256)
    if data.len() >= 4 + 64 && data[..4] == ERROR_STRING {
        let body = &data[4..];
        let word = |i: usize| U256::from_be_slice(&body[i..i + 32]);
        let offset = word(0);
        if let Ok(offset) = usize::try_from(offset) {
            if let Some(len) = body
                .get(offset..offset + 32)
                .and_then(|w| usize::try_from(U256::from_be_slice(w)).ok())
            {
                if let Some(bytes) = (offset + 32)
                    .checked_add(len)
                    .and_then(|end| body.get(offset + 32..end))
                {
                    return String::from_utf8_lossy(bytes).into_owned();
                }
            }
        }
    }
    if data.len() == 4 + 32 && data[..4] == PANIC_UINT {
        let code = U256::from_be_slice(&data[4..]);
        let what = match u64::try_from(code).unwrap_or(u64::MAX) {
            0x01 => "assertion failed",
            0x11 => "arithmetic overflow or underflow",
            0x12 => "division or modulo by zero",
            0x21 => "invalid enum value",
            0x22 => "invalid storage byte array",
            0x31 => "pop on empty array",
            0x32 => "array index out of bounds",
            0x41 => "out of memory",
            0x51 => "call to uninitialized function",
            _ => "unknown panic code",
        };
        return format!("panic {code:#x}: {what}");
    }
    format!("0x{}", hex::encode(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Initcode that copies `runtime` (appended after a 12-byte prologue) to memory and
    /// returns it, i.e. deploys `runtime` verbatim.
    fn deployer(runtime: &[u8]) -> Vec<u8> {
        let n = u8::try_from(runtime.len()).expect("test runtimes are < 256 bytes");
        let mut code = vec![
            0x60, n, // PUSH1 len
            0x60, 0x0c, // PUSH1 12 (offset of runtime in this code)
            0x60, 0x00, // PUSH1 0
            0x39, // CODECOPY(0, 12, len)
            0x60, n, // PUSH1 len
            0x60, 0x00, // PUSH1 0
            0xf3, // RETURN(0, len)
        ];
        code.extend_from_slice(runtime);
        code
    }

    /// Runtime that calls ecAdd (0x06) on G + G with G = (1, 2) and returns the 64-byte
    /// result; reverts if the precompile call fails.
    fn ec_add_runtime() -> Vec<u8> {
        vec![
            0x60, 0x01, 0x60, 0x00, 0x52, // mstore(0x00, 1)
            0x60, 0x02, 0x60, 0x20, 0x52, // mstore(0x20, 2)
            0x60, 0x01, 0x60, 0x40, 0x52, // mstore(0x40, 1)
            0x60, 0x02, 0x60, 0x60, 0x52, // mstore(0x60, 2)
            // staticcall(gas, 6, 0, 0x80, 0, 0x40)
            0x60, 0x40, 0x60, 0x00, 0x60, 0x80, 0x60, 0x00, 0x60, 0x06, 0x5a, 0xfa, 0x60, 0x26,
            0x57, // jumpi(38, success)
            0x5f, 0x5f, 0xfd, // revert(0, 0)
            0x5b, // 38: jumpdest
            0x60, 0x40, 0x60, 0x00, 0xf3, // return(0, 0x40)
        ]
    }

    #[test]
    fn ec_add_precompile_doubles_generator() {
        let mut evm = Evm::new();
        let dep = evm.deploy(&deployer(&ec_add_runtime())).expect("deploy");
        assert_eq!(dep.runtime_size, ec_add_runtime().len());
        assert!(
            dep.gas_used > 53_000,
            "creation tx gas includes 32k create + 21k base"
        );
        assert_eq!(evm.code(dep.address), ec_add_runtime());

        let expected = hex::decode(concat!(
            "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3",
            "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
        ))
        .unwrap();
        // Several calls in a row: nonces must keep up, results must not change.
        for _ in 0..3 {
            let out = evm.call(dep.address, &[], DEFAULT_GAS_LIMIT);
            assert!(out.success, "{out:?}");
            assert_eq!(out.output, expected);
            assert_eq!(out.halt_reason, None);
            assert_eq!(out.revert_reason, None);
            // 21000 intrinsic + 150 for ecAdd (Istanbul pricing) + a few dozen for opcodes.
            assert!(
                out.gas_used > 21_150 && out.gas_used < 22_000,
                "{}",
                out.gas_used
            );
        }
        // A second deployment from the same sender gets a fresh address.
        let dep2 = evm.deploy(&deployer(&ec_add_runtime())).expect("deploy 2");
        assert_ne!(dep.address, dep2.address);
    }

    #[test]
    fn out_of_gas_is_reported_as_halt() {
        let mut evm = Evm::new();
        // jumpdest; push1 0; jump  -- an infinite loop
        let dep = evm.deploy(&deployer(&[0x5b, 0x60, 0x00, 0x56])).unwrap();
        let out = evm.call(dep.address, &[], 100_000);
        assert!(!out.success);
        assert!(
            out.halt_reason.as_deref().unwrap().starts_with("OutOfGas"),
            "{out:?}"
        );
        assert_eq!(out.revert_reason, None);
        assert_eq!(out.gas_used, 100_000, "a halt consumes all gas");

        // The sender can keep transacting afterwards.
        let dep2 = evm.deploy(&deployer(&ec_add_runtime())).unwrap();
        assert!(evm.call(dep2.address, &[], DEFAULT_GAS_LIMIT).success);
    }

    #[test]
    fn revert_is_reported_with_reason() {
        // revert(Error("nope")): copy the ABI-encoded payload from code and revert with it.
        let mut payload = vec![0x08, 0xc3, 0x79, 0xa0];
        payload.extend_from_slice(&U256::from(0x20).to_be_bytes::<32>());
        payload.extend_from_slice(&U256::from(4).to_be_bytes::<32>());
        let mut s = [0u8; 32];
        s[..4].copy_from_slice(b"nope");
        payload.extend_from_slice(&s);
        let n = payload.len() as u8;
        let mut runtime = vec![
            0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xfd,
        ];
        runtime.extend_from_slice(&payload);

        let mut evm = Evm::new();
        let dep = evm.deploy(&deployer(&runtime)).unwrap();
        let out = evm.call(dep.address, &[1, 2, 3], DEFAULT_GAS_LIMIT);
        assert!(!out.success);
        assert_eq!(out.revert_reason.as_deref(), Some("nope"));
        assert_eq!(out.halt_reason, None);
        assert_eq!(out.output, payload);
        assert!(
            out.gas_used > 21_000 && out.gas_used < 22_000,
            "{}",
            out.gas_used
        );

        // Panic(0x11)
        let mut panic = vec![0x4e, 0x48, 0x7b, 0x71];
        panic.extend_from_slice(&U256::from(0x11).to_be_bytes::<32>());
        assert_eq!(
            decode_revert(&panic),
            "panic 0x11: arithmetic overflow or underflow"
        );
        assert_eq!(decode_revert(&[]), "0x");
    }

    #[test]
    fn constructor_revert_and_eip170_are_deploy_errors() {
        let mut evm = Evm::new();
        // revert(0, 0) in the constructor
        let err = evm.deploy(&[0x5f, 0x5f, 0xfd]).unwrap_err();
        assert!(matches!(err, EvmError::Deploy { .. }), "{err}");

        // return(0, 24577): one byte of zeroed runtime over the EIP-170 limit
        let too_big = [0x61, 0x60, 0x01, 0x5f, 0xf3];
        match evm.deploy(&too_big).unwrap_err() {
            EvmError::CodeSizeLimit {
                runtime_size,
                limit,
            } => {
                assert_eq!(limit, EIP170_LIMIT);
                assert_eq!(runtime_size, Some(EIP170_LIMIT + 1));
            }
            other => panic!("expected CodeSizeLimit, got {other}"),
        }
        // Exactly at the limit is fine.
        let at_limit = [0x61, 0x60, 0x00, 0x5f, 0xf3];
        assert_eq!(evm.deploy(&at_limit).unwrap().runtime_size, EIP170_LIMIT);
    }

    #[test]
    fn call_below_intrinsic_gas_is_rejected_not_panicking() {
        let mut evm = Evm::new();
        let dep = evm.deploy(&deployer(&ec_add_runtime())).unwrap();
        let out = evm.call(dep.address, &[], 20_000);
        assert!(!out.success);
        assert_eq!(out.gas_used, 0);
        assert!(out.halt_reason.unwrap().starts_with("InvalidTransaction"));
        assert!(matches!(
            evm.try_call(dep.address, &[], 20_000),
            Err(EvmError::Call { .. })
        ));
        // ...and did not disturb the nonce bookkeeping.
        assert!(evm.call(dep.address, &[], DEFAULT_GAS_LIMIT).success);
    }
}
