//! Solidity -> EVM bytecode through `foundry-compilers` and a local `solc`.
//!
//! `foundry-compilers` is used without its `svm-solc` feature: nothing is ever
//! downloaded. The compiler is whatever [`find_solc`] resolves, normally the wasm solc
//! wrapper that `scripts/install-evm-tools.sh` puts in `.tools/bin/solc` (it speaks
//! `--version` and `--standard-json` like a native solc, so `foundry_compilers::solc::Solc`
//! drives it unchanged).
//!
//! Compilation always targets [`EVM_VERSION`] (Cancun), the hardfork the in-process
//! executor ([`super::exec::SPEC`]) runs, instead of solc's moving default (Prague for
//! 0.8.30).

use std::{
    collections::BTreeMap,
    env,
    path::{Path, PathBuf},
};

use foundry_compilers::{
    artifacts::{
        output_selection::OutputSelection, BytecodeObject, EvmVersion, Settings, SolcInput,
        SolcLanguage, Source, Sources,
    },
    solc::Solc,
};

/// EIP-170: maximum size of deployed (runtime) contract code, in bytes.
pub const EIP170_LIMIT: usize = 24_576;

/// EVM version passed to solc; must match [`super::exec::SPEC`].
pub const EVM_VERSION: &str = "cancun";

/// Errors of compiling, deploying and calling contracts.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// No usable solc executable.
    #[error(
        "solc not found ({searched}); run scripts/install-evm-tools.sh or set SOLC=/path/to/solc"
    )]
    SolcNotFound {
        /// What was looked at, for the message.
        searched: String,
    },
    /// solc could not be run, exited abnormally or produced unreadable output.
    #[error("solc failed: {reason}")]
    SolcFailed {
        /// The underlying failure.
        reason: String,
    },
    /// solc ran and reported errors (warnings are ignored). Each message is solc's own
    /// formatted (multi-line, with source excerpt) text.
    #[error("Solidity compilation failed with {} error(s):\n{}", messages.len(), messages.join("\n"))]
    CompileErrors {
        /// solc's formatted messages of severity `error`.
        messages: Vec<String>,
    },
    /// Compilation succeeded but the requested contract is not among the outputs.
    #[error("contract `{name}` not found in compiler output (available: {})", available.join(", "))]
    ContractMissing {
        /// The requested name.
        name: String,
        /// `file:Contract` names that were produced.
        available: Vec<String>,
    },
    /// The contract's bytecode cannot be deployed as is (abstract, unlinked libraries).
    #[error("contract `{name}` has no deployable bytecode: {reason}")]
    NoBytecode {
        /// The contract.
        name: String,
        /// Why.
        reason: String,
    },
    /// The creation transaction reverted, halted or was rejected.
    #[error("deployment failed: {reason}")]
    Deploy {
        /// What went wrong.
        reason: String,
    },
    /// The deployed runtime code would exceed EIP-170's 24 576 bytes, so revm (like
    /// mainnet) refuses the deployment.
    #[error(
        "deployment failed: runtime code {} exceeds the EIP-170 limit of {limit} bytes",
        match runtime_size { Some(n) => format!("of {n} bytes"), None => "size".to_string() }
    )]
    CodeSizeLimit {
        /// Size the runtime would have had, when it could be measured.
        runtime_size: Option<usize>,
        /// The limit ([`EIP170_LIMIT`]).
        limit: usize,
    },
    /// A call transaction was rejected before execution (see `Evm::try_call`).
    #[error("call rejected: {reason}")]
    Call {
        /// What revm said.
        reason: String,
    },
}

/// Locates a solc executable.
///
/// Order: the `SOLC` environment variable (path to an executable; if it is set but
/// unusable that is an error rather than silently picking another compiler); `solc` on
/// `PATH`; `.tools/bin/solc` of the repository, looked for in `project_root_hint` and its
/// ancestors, then in this crate's source directory (`CARGO_MANIFEST_DIR` at build time),
/// then in the current directory and its ancestors.
pub fn find_solc(project_root_hint: Option<&Path>) -> Result<PathBuf, EvmError> {
    if let Some(solc) = env::var_os("SOLC").filter(|s| !s.is_empty()) {
        let path = PathBuf::from(&solc);
        // A bare name (e.g. SOLC=solc-0.8.30) is looked up on PATH like a shell would.
        let resolved = if path.components().count() == 1 {
            search_path(&path)
        } else {
            None
        };
        return match resolved.or_else(|| is_executable(&path).then_some(path.clone())) {
            Some(p) => Ok(p),
            None => Err(EvmError::SolcNotFound {
                searched: format!("SOLC={} is not an executable file", path.display()),
            }),
        };
    }
    if let Some(p) = search_path(Path::new("solc")) {
        return Ok(p);
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(hint) = project_root_hint {
        roots.extend(hint.ancestors().map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(cwd) = env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    for root in &roots {
        let candidate = root.join(".tools").join("bin").join("solc");
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(EvmError::SolcNotFound {
        searched: "SOLC unset, no solc on PATH, no .tools/bin/solc in the project".into(),
    })
}

/// First `dir/name` on `PATH` that is an executable file.
fn search_path(name: &Path) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// A compiled contract.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Creation (init) code: what a deployment transaction carries.
    pub bytecode: Vec<u8>,
    /// Runtime code as solc predicts it (immutables still zeroed); its length is what
    /// EIP-170 limits.
    pub deployed_bytecode: Vec<u8>,
    /// The contract ABI as JSON.
    pub abi: serde_json::Value,
    /// Full solc version, e.g. `0.8.30+commit.73712a01.Linux.gcc`.
    pub solc_version: String,
}

/// Compiles `sources` (`(file name, content)` pairs, e.g. `("Verifier.sol", src)`) with
/// the solc from [`find_solc`]`(None)` and returns `contract`.
///
/// `contract` is a contract name, or `file:Name` to pick one when several files define
/// the same name (otherwise the first file in name order wins). `optimize_runs`:
/// `Some(runs)` enables the optimizer with that many runs, `None` disables it. `via_ir`
/// selects the Yul pipeline. The EVM version is always [`EVM_VERSION`].
///
/// Imports are resolved by solc relative to the current directory (standard JSON with a
/// file-reading callback); pass every file in `sources` to be independent of it.
pub fn compile_contract(
    sources: &[(String, String)],
    contract: &str,
    optimize_runs: Option<u32>,
    via_ir: bool,
) -> Result<Compiled, EvmError> {
    let solc_path = find_solc(None)?;
    let solc = Solc::new(&solc_path).map_err(|e| EvmError::SolcFailed {
        reason: format!("`{} --version`: {e}", solc_path.display()),
    })?;

    let sources = Sources(
        sources
            .iter()
            .map(|(name, content)| (PathBuf::from(name), Source::new(content.as_str())))
            .collect::<BTreeMap<_, _>>(),
    );
    let mut settings = Settings {
        // Only what we return: keeps solc's JSON (and our parsing) small even for a
        // large verifier. No AST.
        output_selection: OutputSelection::common_output_selection(
            ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"].map(String::from),
        ),
        evm_version: Some(
            EVM_VERSION
                .parse::<EvmVersion>()
                .expect("known EVM version"),
        ),
        via_ir: via_ir.then_some(true),
        ..Settings::default()
    };
    match optimize_runs {
        Some(runs) => {
            settings.optimizer.enable();
            settings.optimizer.runs(runs as usize);
        }
        None => settings.optimizer.enabled = Some(false),
    }
    let input = SolcInput::new(SolcLanguage::Solidity, sources, settings).sanitized(&solc.version);

    // Standard JSON through stdin/stdout; `Solc::compile` reads stdout to the end
    // concurrently with waiting, so outputs of any size are fine.
    let output = solc.compile(&input).map_err(|e| EvmError::SolcFailed {
        reason: e.to_string(),
    })?;

    let errors: Vec<String> = output
        .errors
        .iter()
        .filter(|e| e.is_error())
        .map(|e| {
            e.formatted_message
                .clone()
                .unwrap_or_else(|| format!("{}: {}", e.r#type, e.message))
                .trim_end()
                .to_string()
        })
        .collect();
    if !errors.is_empty() {
        return Err(EvmError::CompileErrors { messages: errors });
    }

    let (want_file, want_name) = match contract.rsplit_once(':') {
        Some((file, name)) => (Some(file), name),
        None => (None, contract),
    };
    let found = output.contracts.iter().find_map(|(file, contracts)| {
        if want_file.is_some_and(|f| Path::new(f) != file.as_path()) {
            return None;
        }
        contracts.get(want_name)
    });
    let Some(found) = found else {
        let available = output
            .contracts
            .iter()
            .flat_map(|(file, cs)| cs.keys().map(move |c| format!("{}:{c}", file.display())))
            .collect();
        return Err(EvmError::ContractMissing {
            name: contract.to_string(),
            available,
        });
    };

    let no_bytecode = |reason: &str| EvmError::NoBytecode {
        name: contract.to_string(),
        reason: reason.to_string(),
    };
    let evm = found
        .evm
        .as_ref()
        .ok_or_else(|| no_bytecode("no `evm` output"))?;
    let bytes_of = |obj: Option<&BytecodeObject>| -> Result<Vec<u8>, EvmError> {
        match obj {
            Some(BytecodeObject::Bytecode(b)) => Ok(b.to_vec()),
            Some(BytecodeObject::Unlinked(_)) => Err(no_bytecode("unlinked library references")),
            None => Err(no_bytecode("no bytecode output")),
        }
    };
    let bytecode = bytes_of(evm.bytecode.as_ref().map(|b| &b.object))?;
    let deployed_bytecode = bytes_of(
        evm.deployed_bytecode
            .as_ref()
            .and_then(|d| d.bytecode.as_ref())
            .map(|b| &b.object),
    )?;
    if bytecode.is_empty() {
        return Err(no_bytecode(
            "empty creation code (abstract contract or interface?)",
        ));
    }
    let abi = match &found.abi {
        Some(abi) => serde_json::to_value(abi).map_err(|e| EvmError::SolcFailed {
            reason: format!("ABI re-encoding: {e}"),
        })?,
        None => serde_json::Value::Array(Vec::new()),
    };

    Ok(Compiled {
        bytecode,
        deployed_bytecode,
        abi,
        solc_version: solc.version.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::exec::{Evm, DEFAULT_GAS_LIMIT};
    use revm::primitives::{keccak256, U256};

    const SRC: &str = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n\
        contract A { function f(uint x) external pure returns (uint) { return x + 1; } }\n";

    fn solc_available() -> bool {
        match find_solc(None) {
            Ok(_) => true,
            Err(e) => {
                eprintln!("NOTICE: skipping solc test: {e}");
                false
            }
        }
    }

    #[test]
    fn compile_deploy_and_call() {
        if !solc_available() {
            return;
        }
        let c = compile_contract(&[("A.sol".into(), SRC.into())], "A", Some(200), false)
            .expect("compiles");
        assert!(c.solc_version.starts_with("0.8."), "{}", c.solc_version);
        assert!(!c.deployed_bytecode.is_empty() && c.deployed_bytecode.len() < c.bytecode.len());
        assert_eq!(c.abi[0]["name"], "f", "{}", c.abi);

        let mut evm = Evm::new();
        let dep = evm.deploy(&c.bytecode).expect("deploys");
        assert_eq!(dep.runtime_size, c.deployed_bytecode.len());

        let selector = &keccak256(b"f(uint256)")[..4];
        assert_eq!(selector, [0xb3, 0xde, 0x64, 0x8b]);
        for x in [0u64, 41, 1 << 40] {
            let mut calldata = selector.to_vec();
            calldata.extend_from_slice(&U256::from(x).to_be_bytes::<32>());
            let out = evm.call(dep.address, &calldata, DEFAULT_GAS_LIMIT);
            assert!(out.success, "{out:?}");
            assert_eq!(out.output, U256::from(x + 1).to_be_bytes::<32>());
        }

        // uint256 max + 1 overflows: checked arithmetic panics with code 0x11.
        let mut calldata = selector.to_vec();
        calldata.extend_from_slice(&U256::MAX.to_be_bytes::<32>());
        let out = evm.call(dep.address, &calldata, DEFAULT_GAS_LIMIT);
        assert!(!out.success);
        assert_eq!(
            out.revert_reason.as_deref(),
            Some("panic 0x11: arithmetic overflow or underflow")
        );
    }

    #[test]
    fn via_ir_and_unoptimized_also_compile() {
        if !solc_available() {
            return;
        }
        let src = [("A.sol".to_string(), SRC.to_string())];
        let ir = compile_contract(&src, "A.sol:A", Some(1), true).expect("via-ir");
        let plain = compile_contract(&src, "A", None, false).expect("no optimizer");
        assert_ne!(ir.bytecode, plain.bytecode);
    }

    #[test]
    fn errors_are_reported() {
        if !solc_available() {
            return;
        }
        let bad = [(
            "B.sol".to_string(),
            "contract B { function g() { } ".to_string(),
        )];
        match compile_contract(&bad, "B", Some(200), false) {
            Err(EvmError::CompileErrors { messages }) => {
                assert!(!messages.is_empty());
                assert!(messages[0].contains("B.sol"), "{messages:?}");
            }
            other => panic!("expected CompileErrors, got {other:?}"),
        }
        let good = [("A.sol".to_string(), SRC.to_string())];
        match compile_contract(&good, "Nope", Some(200), false) {
            Err(EvmError::ContractMissing { available, .. }) => {
                assert_eq!(available, ["A.sol:A"]);
            }
            other => panic!("expected ContractMissing, got {other:?}"),
        }
    }

    #[test]
    fn evm_version_matches_executor_spec() {
        use revm::primitives::hardfork::SpecId;
        let v: EvmVersion = EVM_VERSION.parse().unwrap();
        assert_eq!(v, EvmVersion::Cancun);
        assert_eq!(crate::evm::exec::SPEC, SpecId::CANCUN);
        assert_eq!(EIP170_LIMIT, revm::primitives::eip170::MAX_CODE_SIZE);
    }
}
