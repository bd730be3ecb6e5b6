//! Hashed weights two ways, measured in one run (issue #16: hashed weights
//! in ≤ 320k gas): the Poseidon sponge in every proof
//! (`--param-visibility hashed`), against committed weights bound to the
//! same hash once (`zkml-evm bind`) and checked per proof through
//! `contracts/src/BoundWeights.sol`.
//!
//! `cargo run --example bound_weights [MODEL_DIR ...]` (default
//! `test-vectors/rockybot`); prints one markdown row per model and route.
use anyhow::{ensure, Context, Result};
use std::path::Path;
use std::time::Instant;
use zkml_evm::compile::{compile, CompileOptions, Compiled, Vis, Visibility};
use zkml_evm::evm::verifier::{calldata, is_abi_true};
use zkml_evm::evm::{compile_contract, Address, Evm};
use zkml_evm::proof::{self, bind, ProofFile};

fn build(model: &Path, x: &[f64], params: Vis, dir: &Path) -> Result<(Compiled, ProofFile)> {
    let opts = CompileOptions {
        visibility: Visibility {
            params,
            ..Visibility::default()
        },
        ..Default::default()
    };
    let c = compile(&model.join("network.onnx"), &[x.to_vec()], &opts, dir)?;
    proof::setup(&c, None)?;
    let p = proof::prove(&c, x, proof::TranscriptKind::Evm)?;
    Ok((c, p))
}

/// Deploy the verifier of `dir` (a model or bind directory) into `evm`.
fn deploy_verifier(evm: &mut Evm, dir: &Path, out: &Path) -> Result<(Address, usize)> {
    let art = zkml_evm::api::gen_verifier(dir, out)?;
    let address = evm.deploy(&art.creation_code()?)?.address;
    Ok((address, art.runtime_size))
}

fn word(v: &[u8]) -> Vec<u8> {
    let mut w = vec![0u8; 32 - v.len()];
    w.extend_from_slice(v);
    w
}

fn deploy_registry(
    evm: &mut Evm,
    verifier: Address,
    binder: Address,
    hash: &[u8],
) -> Result<Address> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/src");
    let src = |f: &str| -> Result<(String, String)> {
        Ok((f.to_string(), std::fs::read_to_string(root.join(f))?))
    };
    let c = compile_contract(
        &[src("BoundWeights.sol")?, src("IZkmlVerifier.sol")?],
        "BoundWeights",
        Some(200),
        false,
    )?;
    let mut code = c.bytecode.clone();
    for a in [
        word(verifier.as_slice()),
        word(binder.as_slice()),
        word(hash),
    ] {
        code.extend(a);
    }
    Ok(evm.deploy(&code)?.address)
}

fn call_gas(evm: &mut Evm, to: Address, data: &[u8]) -> Result<u64> {
    let out = evm.call(to, data, 30_000_000);
    ensure!(
        out.success && (out.output.is_empty() || is_abi_true(&out.output)),
        "call rejected: {:?}",
        out.revert_reason
    );
    Ok(out.gas_used)
}

fn measure(model: &Path) -> Result<()> {
    let name = model.file_name().unwrap().to_string_lossy();
    let input = zkml_evm::model::InputFile::read(&model.join("input.json"))?;
    let x = input.input_data[0].clone();
    let t = tempfile::tempdir()?;
    let mut evm = Evm::new();

    let (hashed, proof_h) = build(model, &x, Vis::Hashed, &t.path().join("hashed"))?;
    let (v_h, size_h) = deploy_verifier(&mut evm, &hashed.dir, &t.path().join("v-hashed"))?;
    let gas_h = call_gas(&mut evm, v_h, &calldata(&proof_h)?)?;
    println!(
        "| {name} | hashed (sponge in every proof) | {} | {:.2} | — | — | {gas_h} | {size_h} |",
        hashed.settings.k, proof_h.prove_seconds
    );

    let (committed, proof_c) = build(model, &x, Vis::Committed, &t.path().join("committed"))?;
    let bind_dir = t.path().join("bind");
    let started = Instant::now();
    let b = bind::bind(&committed, &bind_dir, None)?;
    let bind_wall = started.elapsed().as_secs_f64();
    let (v_c, size_c) = deploy_verifier(&mut evm, &committed.dir, &t.path().join("v-committed"))?;
    let (binder, size_b) = deploy_verifier(&mut evm, &bind_dir, &t.path().join("v-bind"))?;
    let hash = zkml_evm::artifact::from_hex(&b.params_hash)?;
    ensure!(
        b.params_hash
            == proof_h.public_inputs[proof_h
                .public_layout
                .iter()
                .position(|n| n == "params_commitment")
                .context("hashed params")?],
        "the binding's hash is the hashed build's"
    );
    let registry = deploy_registry(&mut evm, v_c, binder, &hash)?;
    let bind_gas = {
        use alloy_sol_types::{sol, SolCall};
        sol! { function bind(bytes calldata bindingProof) external; }
        let data = bindCall {
            bindingProof: b.proof_bytes()?.into(),
        }
        .abi_encode();
        call_gas(&mut evm, registry, &data)?
    };
    let direct = call_gas(&mut evm, v_c, &calldata(&proof_c)?)?;
    let accepts = {
        use alloy_sol_types::{sol, SolCall};
        sol! { function accepts(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool); }
        let inputs = proof_c
            .instances()?
            .iter()
            .map(|f| {
                alloy_primitives::U256::from_be_slice(
                    &zkml_evm::artifact::from_hex(&proof::fr_to_hex(f)).unwrap(),
                )
            })
            .collect();
        let data = acceptsCall {
            proof: proof_c.proof_bytes()?.into(),
            publicInputs: inputs,
        }
        .abi_encode();
        call_gas(&mut evm, registry, &data)?
    };
    println!(
        "| {name} | committed + bind, per proof through BoundWeights ({direct} direct) | {} | {:.2} | {} | {bind_gas} | {accepts} | {size_c} (binder {size_b}) |",
        committed.settings.k,
        proof_c.prove_seconds,
        format_args!("k = {}, {:.2} s prove, {bind_wall:.1} s with keygen", b.k, b.prove_seconds),
    );
    Ok(())
}

fn main() -> Result<()> {
    let models: Vec<String> = std::env::args().skip(1).collect();
    let models = if models.is_empty() {
        vec!["test-vectors/rockybot".to_string()]
    } else {
        models
    };
    println!("| model | weights | k | prove s | bind (once) | bind gas (once) | verify gas per proof | runtime B |");
    println!("|---|---|---|---|---|---|---|---|");
    for m in models {
        measure(Path::new(&m)).with_context(|| m.clone())?;
    }
    Ok(())
}
