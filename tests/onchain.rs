//! Deploy and verify on a real local chain (anvil on 127.0.0.1, random
//! port): `zkml-evm deploy` and `verify-onchain` as a user runs them, plus
//! their failure modes. The private key must never appear in any output.

mod common;

use common::vectors;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// anvil's first well-known development account.
const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

struct Anvil {
    child: Child,
    url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn anvil_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/anvil")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_anvil() -> Option<Anvil> {
    start_anvil_on(31337)
}

fn start_anvil_on(chain_id: u64) -> Option<Anvil> {
    if !anvil_bin().exists() {
        eprintln!(
            "skipping: {} missing (run scripts/install-evm-tools.sh)",
            anvil_bin().display()
        );
        return None;
    }
    let port = free_port();
    let mut child = Command::new(anvil_bin())
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--hardfork",
            "cancun",
            "--chain-id",
            &chain_id.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start anvil");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for line in lines.by_ref() {
        if line.map(|l| l.contains("Listening on")).unwrap_or(false) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "anvil did not start");
    }
    // Keep draining anvil's output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Some(Anvil {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

fn zkml(args: &[&str], key: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkml-evm"));
    c.args(args).env_remove("PRIVATE_KEY");
    if let Some(k) = key {
        c.env("PRIVATE_KEY", k);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// compile -> setup -> prove (first sample) -> gen-verifier for
/// `test-vectors/NAME`, calibrated on every `input*.json` of the vector,
/// with unpacked public inputs.
fn build_verifier(name: &str, t: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let input = vectors().join(name).join("input.json");
    build_verifier_with(name, t, &["--pack-public", "off"], &[input])
}

/// [`build_verifier`] with extra `compile` flags, proving `inputs` (one per
/// inference of a batch).
fn build_verifier_with(
    name: &str,
    t: &Path,
    flags: &[&str],
    inputs: &[PathBuf],
) -> (PathBuf, PathBuf, PathBuf) {
    let v = vectors().join(name);
    let (build, proof, vdir) = (t.join("build"), t.join("proof.json"), t.join("verifier"));
    let mut compile = vec![
        "compile".to_string(),
        v.join("network.onnx").display().to_string(),
    ];
    compile.extend(flags.iter().map(|f| f.to_string()));
    for sample in ["input.json", "input2.json"]
        .iter()
        .map(|f| v.join(f))
        .filter(|f| f.exists())
    {
        compile.extend(["--input".to_string(), sample.display().to_string()]);
    }
    compile.extend(["-o".to_string(), build.display().to_string()]);
    let mut prove = vec!["prove".to_string(), p(&build).into(), "--input".into()];
    prove.extend(inputs.iter().map(|i| i.display().to_string()));
    prove.extend(["-o".to_string(), p(&proof).into()]);
    for args in [
        compile,
        vec!["setup".into(), p(&build).into()],
        prove,
        vec![
            "gen-verifier".into(),
            p(&build).into(),
            "-o".into(),
            p(&vdir).into(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = zkml(&args, None);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    (build, proof, vdir)
}

/// Slot width of a proof's packed public values (`SLOT_BITS` of its
/// `PublicInputs.sol`), 0 when they are unpacked.
fn slot_bits(pf: &zkml_evm::proof::ProofFile) -> u32 {
    let packed = pf.public_layout.iter().any(|n| n.contains(".."));
    if packed {
        zkml_evm::circuit::public::ValuePacking::for_offset(pf.public_offset).bits
    } else {
        0
    }
}

/// The encoded values (`v·2^scale_bits + offset`) of a proof's inputs
/// (`tensor` "input") or outputs, unpacked from its words as
/// `contracts/src/PublicValues.sol` reads them.
fn encoded_values(pf: &zkml_evm::proof::ProofFile, tensor: &str) -> Vec<alloy::primitives::U256> {
    use alloy::primitives::U256;
    let bits = slot_bits(pf) as usize;
    let mut out = Vec::new();
    for (name, word) in pf.public_layout.iter().zip(&pf.public_inputs) {
        let Some((base, index)) = name.split_once('[') else {
            continue;
        };
        if base != tensor {
            continue;
        }
        let word: U256 = word.parse().unwrap();
        match index.trim_end_matches(']').split_once("..") {
            None => out.push(word),
            Some((a, b)) => {
                let n = b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap();
                let mask = (U256::from(1) << bits) - U256::from(1);
                out.extend((0..n).map(|i| (word >> (bits * (n - 1 - i))) & mask));
            }
        }
    }
    out
}

/// A verifier made from the development SRS says so, and `deploy` refuses
/// it on a chain that is not a local development one unless told
/// `--allow-dev-srs`.
#[test]
fn development_srs_verifier_is_refused_off_development_chains() {
    let Some(anvil) = start_anvil_on(11_155_111) else {
        return;
    };
    let url = anvil.url.as_str();
    let tmp = tempfile::tempdir().unwrap();
    let (_build, proof, vdir) = build_verifier("2l_relu_fc", tmp.path());
    let artifact = zkml_evm::evm::verifier::VerifierArtifact::read(&vdir).unwrap();
    assert!(artifact.dev_srs);
    assert!(zkml_evm::evm::verifier::says_development_srs(
        &artifact.creation_code().unwrap()
    ));
    assert!(std::fs::read_to_string(vdir.join("Halo2Verifier.sol"))
        .unwrap()
        .contains("DEVELOPMENT_SRS = true"));

    let o = zkml(&["deploy", p(&vdir), "--rpc", url], Some(ANVIL_KEY));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("development SRS")
            && out.contains("chain 11155111")
            && out.contains("--allow-dev-srs"),
        "{out}"
    );
    assert!(!out.contains(&ANVIL_KEY[2..]));

    let o = zkml(
        &[
            "deploy",
            p(&vdir),
            "--rpc",
            url,
            "--allow-dev-srs",
            "--json",
        ],
        Some(ANVIL_KEY),
    );
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let address = report["address"].as_str().unwrap().to_string();
    let o = zkml(
        &[
            "verify-onchain",
            p(&proof),
            "--address",
            &address,
            "--rpc",
            url,
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// `forge build` of contracts/ (offline, the project's solc).
fn forge_build() {
    let forge = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/forge");
    let o = Command::new(&forge)
        .args(["build", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "forge build: {}", text(&o));
}

#[test]
fn deploy_and_verify_on_anvil() {
    let Some(anvil) = start_anvil() else { return };
    let url = anvil.url.as_str();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (_build, proof, vdir) = build_verifier("2l_relu_fc", t);
    let mut outputs: Vec<String> = Vec::new();

    // Deploy with the key from PRIVATE_KEY; --json for scripts.
    let o = zkml(
        &[
            "deploy",
            p(&vdir),
            "--rpc",
            url,
            "--chain-id",
            "31337",
            "--json",
        ],
        Some(ANVIL_KEY),
    );
    outputs.push(text(&o));
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let address = report["address"].as_str().unwrap().to_string();
    assert!(report["gas_used"].as_u64().unwrap() > 0);

    // eth_call accepts the honest proof; a transaction reports its gas.
    let o = zkml(
        &[
            "verify-onchain",
            p(&proof),
            "--address",
            &address,
            "--rpc",
            url,
        ],
        None,
    );
    outputs.push(text(&o));
    assert!(o.status.success(), "{}", text(&o));
    let o = zkml(
        &[
            "verify-onchain",
            p(&proof),
            "--address",
            &address,
            "--rpc",
            url,
            "--send",
            "--json",
        ],
        Some(ANVIL_KEY),
    );
    outputs.push(text(&o));
    assert!(o.status.success(), "{}", text(&o));
    let verdict: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gas = verdict["gas_used"].as_u64().unwrap();
    eprintln!("on-chain verify gas (anvil): {gas}");
    assert!(
        gas > 200_000 && gas < 400_000,
        "on-chain verify used {gas} gas"
    );

    // A tampered proof is rejected on chain: exit code 1.
    let mut pf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    let h = pf["proof"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}{}",
        &h[..50],
        if &h[50..51] == "0" { "1" } else { "0" },
        &h[51..]
    );
    pf["proof"] = flipped.into();
    let bad = t.join("bad.json");
    std::fs::write(&bad, pf.to_string()).unwrap();
    let o = zkml(
        &[
            "verify-onchain",
            p(&bad),
            "--address",
            &address,
            "--rpc",
            url,
        ],
        None,
    );
    outputs.push(text(&o));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // Failure modes, each one line and exit 2.
    let down = format!("http://127.0.0.1:{}", free_port());
    let big = t.join("big.json");
    std::fs::write(
        &big,
        format!(
            "{{\"bytecode\": \"0x00\", \"deployedBytecode\": \"0x{}\"}}",
            "00".repeat(25_000)
        ),
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec!["deploy", p(&vdir), "--rpc", &down],
            Some(ANVIL_KEY),
            "cannot reach RPC",
        ),
        (
            vec!["deploy", p(&vdir), "--rpc", url, "--chain-id", "1"],
            Some(ANVIL_KEY),
            "wrong chain",
        ),
        (
            vec!["deploy", p(&vdir), "--rpc", url],
            Some("0xnot-a-key"),
            "private key is malformed",
        ),
        (vec!["deploy", p(&vdir), "--rpc", url], None, "no signer"),
        (
            vec!["deploy", p(&vdir), "--rpc", url],
            Some("0x1111111111111111111111111111111111111111111111111111111111111111"),
            "insufficient funds",
        ),
        (
            vec!["deploy", "not-a-file.json", "--rpc", url],
            Some(ANVIL_KEY),
            "not-a-file.json",
        ),
        (
            vec!["deploy", p(&big), "--rpc", url],
            Some(ANVIL_KEY),
            "over the 24576-byte EIP-170 limit",
        ),
        (
            vec![
                "deploy",
                p(&vdir),
                "--rpc",
                url,
                "--keystore",
                p(&big),
                "--password",
                "pw",
            ],
            None,
            "cannot decrypt keystore",
        ),
        (
            vec![
                "verify-onchain",
                p(&proof),
                "--address",
                "0x1234",
                "--rpc",
                url,
            ],
            None,
            "is not an address",
        ),
        (
            vec![
                "verify-onchain",
                p(&proof),
                "--address",
                "0x000000000000000000000000000000000000dEaD",
                "--rpc",
                url,
            ],
            None,
            "no contract at",
        ),
    ];
    for (args, key, needle) in cases {
        let o = zkml(&args, key);
        let out = text(&o);
        outputs.push(out.clone());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}");
        assert!(out.contains(needle), "{args:?}: {out:?} lacks {needle:?}");
        assert!(!out.contains("panicked"), "{out}");
    }

    // The key never shows up anywhere.
    for out in &outputs {
        assert!(!out.contains(&ANVIL_KEY[2..]), "private key leaked: {out}");
        assert!(
            !out.contains("1111111111111111111111111111111111111111111111111111111111111111"),
            "private key leaked: {out}"
        );
    }
}

mod vault {
    //! The RockyBot vault on anvil: deployed with `zkml-evm deploy`, trading
    //! only on a real proof whose inputs are its own price window.
    use super::*;
    use alloy::network::EthereumWallet;
    use alloy::primitives::{Address, Bytes, U256};
    use alloy::providers::ProviderBuilder;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::sol;
    use alloy::sol_types::SolValue;

    sol! {
        #[sol(rpc)]
        interface ITestToken {
            function mint(address to, uint256 amount) external;
            function approve(address spender, uint256 amount) external returns (bool);
            function balanceOf(address who) external view returns (uint256);
        }
        #[sol(rpc)]
        interface IPool {
            function addLiquidity(uint256 amount0, uint256 amount1) external;
        }
        #[sol(rpc)]
        interface IRockyVault {
            function pushEncoded(uint256 encoded) external;
            function trade(bytes calldata proof, uint256[] calldata publicInputs) external;
        }
    }

    const REF_PRICE: u128 = 3000_000_000; // 3000e6
    const GAIN: u64 = 10;
    const POOL_WETH: u128 = 1000_000_000_000_000_000_000;

    fn forge_artifact(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("out/forge/{name}.sol/{name}.json"))
    }

    pub(super) fn deploy(url: &str, artifact: &Path, args: Vec<u8>) -> Address {
        let hex_args = zkml_evm::artifact::to_hex(&args);
        let mut a = vec!["deploy", p(artifact), "--rpc", url, "--json"];
        if !args.is_empty() {
            a.extend(["--args", hex_args.as_str()]);
        }
        let o = zkml(&a, Some(ANVIL_KEY));
        assert!(
            o.status.success(),
            "deploy {}: {}",
            artifact.display(),
            text(&o)
        );
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        r["address"].as_str().unwrap().parse().unwrap()
    }

    #[test]
    fn vault_trades_only_on_a_valid_proof_of_its_own_window() {
        let Some(anvil) = start_anvil() else { return };
        let url = anvil.url.clone();
        forge_build();
        let tmp = tempfile::tempdir().unwrap();
        // RockyBot's default build: its 48 public values packed into words.
        let input = vectors().join("rockybot").join("input.json");
        let (_build, proof, vdir) =
            build_verifier_with("rockybot", tmp.path(), &["--pack-public", "on"], &[input]);
        let pf = zkml_evm::proof::ProofFile::read(&proof).unwrap();
        let inputs: Vec<U256> = pf
            .public_inputs
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let window = encoded_values(&pf, "input");
        assert_eq!(
            (window.len(), inputs.len()),
            (36, 4),
            "packed RockyBot layout"
        );
        let slot_bits = U256::from(super::slot_bits(&pf));
        let proof_bytes = Bytes::from(pf.proof_bytes().unwrap());
        let (scale_bits, offset) = (pf.scale_bits as u64, U256::from(pf.public_offset as u64));

        let verifier = deploy(&url, &vdir, vec![]);
        let weth = deploy(
            &url,
            &forge_artifact("TestToken"),
            (
                "Wrapped Ether (test)".to_string(),
                "WETH".to_string(),
                U256::from(18),
            )
                .abi_encode_params(),
        );
        let usdc = deploy(
            &url,
            &forge_artifact("TestToken"),
            (
                "USD Coin (test)".to_string(),
                "USDC".to_string(),
                U256::from(6),
            )
                .abi_encode_params(),
        );
        let pool = deploy(
            &url,
            &forge_artifact("ConstantProductPool"),
            (weth, usdc, U256::from(30)).abi_encode_params(),
        );
        let me: Address = ANVIL_KEY.parse::<PrivateKeySigner>().unwrap().address();
        let mul = U256::from(GAIN) << scale_bits;
        let margin = (U256::from(1) << scale_bits) / U256::from(100);
        let vault = deploy(
            &url,
            &forge_artifact("RockyVault"),
            (
                verifier,
                pool,
                me,
                U256::from(REF_PRICE),
                U256::from(GAIN),
                U256::from(scale_bits),
                offset,
                margin,
                U256::from(1000),
                U256::from(100),
                slot_bits,
            )
                .abi_encode_params(),
        );

        // A constructor that reverts is reported with its reason.
        let args = (
            Address::ZERO,
            pool,
            me,
            U256::from(REF_PRICE),
            U256::from(GAIN),
            U256::from(scale_bits),
            offset,
            margin,
            U256::from(1000),
            U256::from(100),
            slot_bits,
        )
            .abi_encode_params();
        let hex_args = zkml_evm::artifact::to_hex(&args);
        let o = zkml(
            &[
                "deploy",
                p(&forge_artifact("RockyVault")),
                "--rpc",
                &url,
                "--args",
                &hex_args,
            ],
            Some(ANVIL_KEY),
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("revert") && text(&o).contains("verifier"),
            "{}",
            text(&o)
        );

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let signer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(signer))
                .connect_http(url.parse().unwrap());
            let (w, u) = (
                ITestToken::new(weth, &provider),
                ITestToken::new(usdc, &provider),
            );
            // Pool priced at the window's newest price (so the trade's slippage bound holds).
            let newest = window[35];
            let price = U256::from(REF_PRICE) * (mul + newest - offset) / mul;
            let pool_usdc = price * U256::from(POOL_WETH) / U256::from(10u64).pow(U256::from(18));
            for (tok, amount) in [(&w, U256::from(POOL_WETH)), (&u, pool_usdc)] {
                tok.mint(me, amount)
                    .send()
                    .await
                    .unwrap()
                    .get_receipt()
                    .await
                    .unwrap();
                tok.approve(pool, U256::MAX)
                    .send()
                    .await
                    .unwrap()
                    .get_receipt()
                    .await
                    .unwrap();
            }
            IPool::new(pool, &provider)
                .addLiquidity(U256::from(POOL_WETH), pool_usdc)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            w.mint(
                vault,
                U256::from(10u64) * U256::from(10u64).pow(U256::from(18)),
            )
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
            u.mint(vault, U256::from(30_000_000_000u64))
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            let vlt = IRockyVault::new(vault, &provider);
            for q in &window {
                vlt.pushEncoded(*q)
                    .send()
                    .await
                    .unwrap()
                    .get_receipt()
                    .await
                    .unwrap();
            }
            let balances = || async {
                (
                    w.balanceOf(vault).call().await.unwrap(),
                    u.balanceOf(vault).call().await.unwrap(),
                )
            };
            let before = balances().await;

            // A tampered proof reverts and moves nothing.
            let mut bad = proof_bytes.to_vec();
            bad[200] ^= 1;
            assert!(
                vlt.trade(Bytes::from(bad), inputs.clone())
                    .call()
                    .await
                    .is_err(),
                "tampered proof accepted"
            );
            assert_eq!(balances().await, before);

            // The real proof trades.
            let receipt = vlt
                .trade(proof_bytes.clone(), inputs.clone())
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(receipt.status(), "trade with a valid proof failed");
            let after = balances().await;
            assert_ne!(after, before, "no funds moved");
            eprintln!("anvil: trade gas {}", receipt.gas_used);

            // Replays and stale windows revert and move nothing.
            assert!(
                vlt.trade(proof_bytes.clone(), inputs.clone())
                    .call()
                    .await
                    .is_err(),
                "replay accepted"
            );
            vlt.pushEncoded(window[35])
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(
                vlt.trade(proof_bytes.clone(), inputs.clone())
                    .call()
                    .await
                    .is_err(),
                "stale window accepted"
            );
            assert_eq!(balances().await, after);
        });
    }
}

use vault::deploy as vault_deploy;

mod game {
    //! TicTacToe on anvil: the AI's move lands only with a proof over the
    //! on-chain board whose output picks that move.
    use super::*;
    use alloy::network::EthereumWallet;
    use alloy::primitives::{Bytes, U256};
    use alloy::providers::ProviderBuilder;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::sol;
    use alloy::sol_types::SolValue;

    sol! {
        #[sol(rpc)]
        interface ITicTacToe {
            function newGame() external;
            function play(uint8 cell) external;
            function aiMove(uint8 cell, bytes calldata proof, uint256[] calldata publicInputs) external;
            function board(uint256 cell) external view returns (int8);
        }
    }

    #[test]
    fn ai_move_needs_a_proof_over_the_board() {
        let Some(anvil) = start_anvil() else { return };
        let url = anvil.url.clone();
        forge_build();
        let tmp = tempfile::tempdir().unwrap();
        let (_build, proof, vdir) = build_verifier("tictactoe", tmp.path());
        let pf = zkml_evm::proof::ProofFile::read(&proof).unwrap();
        let inputs: Vec<U256> = pf
            .public_inputs
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let proof_bytes = Bytes::from(pf.proof_bytes().unwrap());
        // The AI's move: the best-scoring empty cell of the proven outputs.
        let board =
            &zkml_evm::model::InputFile::read(&vectors().join("tictactoe").join("input.json"))
                .unwrap()
                .input_data[0];
        let best = (0..9)
            .filter(|&c| board[c] == 0.0)
            .max_by(|&a, &b| pf.outputs[a].total_cmp(&pf.outputs[b]))
            .unwrap() as u8;

        let verifier = super::vault_deploy(&url, &vdir, vec![]);
        let game_addr = super::vault_deploy(
            &url,
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("out/forge/TicTacToe.sol/TicTacToe.json"),
            (
                verifier,
                U256::from(pf.scale_bits),
                U256::from(pf.public_offset as u64),
            )
                .abi_encode_params(),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let signer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(signer))
                .connect_http(url.parse().unwrap());
            let g = ITicTacToe::new(game_addr, &provider);
            g.newGame()
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            for c in (0..9u8).filter(|&c| board[c as usize] == -1.0) {
                g.play(c).send().await.unwrap().get_receipt().await.unwrap();
            }
            let wrong_cell = (0..9u8)
                .find(|&c| board[c as usize] == 0.0 && c != best)
                .unwrap();
            assert!(
                g.aiMove(wrong_cell, proof_bytes.clone(), inputs.clone())
                    .call()
                    .await
                    .is_err(),
                "a move the model did not pick was accepted"
            );
            let mut bad = proof_bytes.to_vec();
            bad[300] ^= 1;
            assert!(
                g.aiMove(best, Bytes::from(bad), inputs.clone())
                    .call()
                    .await
                    .is_err(),
                "tampered proof accepted"
            );
            let receipt = g
                .aiMove(best, proof_bytes.clone(), inputs.clone())
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(receipt.status());
            assert_eq!(g.board(U256::from(best)).call().await.unwrap(), 1);
            eprintln!("anvil: aiMove gas {}", receipt.gas_used);
            // The board has moved on: the same proof no longer fits it.
            let human = (0..9u8)
                .find(|&c| board[c as usize] == 0.0 && c != best)
                .unwrap();
            g.play(human)
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(
                g.aiMove(wrong_cell, proof_bytes.clone(), inputs.clone())
                    .call()
                    .await
                    .is_err(),
                "proof for an old board accepted"
            );
        });
    }
}

mod arena {
    //! TicTacToeArena on anvil: one batch proof (`compile --batch 2`, packed
    //! public inputs) settles the AI's moves on two players' tables; a
    //! tampered proof or tables in the wrong order move nothing.
    use super::*;
    use alloy::network::EthereumWallet;
    use alloy::primitives::{Address, Bytes, U256};
    use alloy::providers::ProviderBuilder;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::sol;
    use alloy::sol_types::SolValue;

    /// anvil's second default account.
    const BOB_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    sol! {
        #[sol(rpc)]
        interface ITicTacToeArena {
            function newGame() external;
            function play(uint8 cell) external;
            function settleAiMoves(address[] calldata players, uint8[] calldata cells, bytes calldata proof, uint256[] calldata publicInputs) external;
            function boardOf(address player) external view returns (int8[9] memory);
        }
    }

    #[test]
    fn one_batch_proof_settles_two_tables() {
        let Some(anvil) = start_anvil() else { return };
        let url = anvil.url.clone();
        forge_build();
        let tmp = tempfile::tempdir().unwrap();
        let boards: [[i8; 9]; 2] = [[0, 0, 0, 0, -1, 0, 0, 0, 0], [-1, 0, 0, 0, 0, 0, 0, 0, 0]];
        let files: Vec<PathBuf> = boards
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let f = tmp.path().join(format!("board{i}.json"));
                std::fs::write(&f, serde_json::json!({ "input_data": [b] }).to_string()).unwrap();
                f
            })
            .collect();
        let (_build, proof, vdir) = build_verifier_with(
            "tictactoe",
            tmp.path(),
            &["--batch", "2", "--pack-public", "on"],
            &files,
        );
        let pf = zkml_evm::proof::ProofFile::read(&proof).unwrap();
        let inputs: Vec<U256> = pf
            .public_inputs
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let proof_bytes = Bytes::from(pf.proof_bytes().unwrap());
        let scores = encoded_values(&pf, "output");
        assert_eq!(scores.len(), 18);
        // Each table's AI move: its inference's best-scoring empty cell.
        let moves: Vec<u8> = (0..2)
            .map(|t| {
                (0..9)
                    .filter(|&c| boards[t][c] == 0)
                    .max_by(|&a, &b| scores[9 * t + a].cmp(&scores[9 * t + b]).then(b.cmp(&a)))
                    .unwrap() as u8
            })
            .collect();

        let verifier = super::vault_deploy(&url, &vdir, vec![]);
        let arena = super::vault_deploy(
            &url,
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("out/forge/TicTacToeArena.sol/TicTacToeArena.json"),
            (
                verifier,
                U256::from(2),
                U256::from(pf.scale_bits),
                U256::from(pf.public_offset as u64),
                U256::from(super::slot_bits(&pf)),
            )
                .abi_encode_params(),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut players: Vec<Address> = Vec::new();
            for (key, board) in [ANVIL_KEY, BOB_KEY].into_iter().zip(&boards) {
                let signer: PrivateKeySigner = key.parse().unwrap();
                players.push(signer.address());
                let provider = ProviderBuilder::new()
                    .wallet(EthereumWallet::from(signer))
                    .connect_http(url.parse().unwrap());
                let a = ITicTacToeArena::new(arena, &provider);
                a.newGame()
                    .send()
                    .await
                    .unwrap()
                    .get_receipt()
                    .await
                    .unwrap();
                for c in (0..9u8).filter(|&c| board[c as usize] == -1) {
                    a.play(c).send().await.unwrap().get_receipt().await.unwrap();
                }
            }
            let signer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(signer))
                .connect_http(url.parse().unwrap());
            let a = ITicTacToeArena::new(arena, &provider);
            let mut bad = proof_bytes.to_vec();
            bad[300] ^= 1;
            assert!(
                a.settleAiMoves(
                    players.clone(),
                    moves.clone(),
                    Bytes::from(bad),
                    inputs.clone()
                )
                .call()
                .await
                .is_err(),
                "tampered proof accepted"
            );
            let swapped = vec![players[1], players[0]];
            assert!(
                a.settleAiMoves(
                    swapped,
                    vec![moves[1], moves[0]],
                    proof_bytes.clone(),
                    inputs.clone()
                )
                .call()
                .await
                .is_err(),
                "tables in the other order accepted"
            );
            for (p, b) in players.iter().zip(&boards) {
                let now = a.boardOf(*p).call().await.unwrap();
                assert_eq!(now.to_vec(), b.to_vec(), "nothing moved");
            }
            let receipt = a
                .settleAiMoves(
                    players.clone(),
                    moves.clone(),
                    proof_bytes.clone(),
                    inputs.clone(),
                )
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap();
            assert!(receipt.status(), "settling with a valid batch proof failed");
            eprintln!(
                "anvil: settleAiMoves (2 tables, 1 batch proof) gas {}",
                receipt.gas_used
            );
            for (t, p) in players.iter().enumerate() {
                let now = a.boardOf(*p).call().await.unwrap();
                assert_eq!(now[moves[t] as usize], 1, "table {t}: AI stone placed");
            }
        });
    }
}
