//! `zkml-evm bench`: the whole pipeline per model, each in a fresh process
//! so peak memory is per model, printed as one table.

use crate::compile::{compile_vector, CompileOptions};
use crate::evm::verifier::{calldata, gen_verifier, run_in_revm};
use crate::proof;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    pub model: String,
    pub k: u32,
    pub keygen_s: f64,
    pub prove_s: f64,
    pub verify_s: f64,
    /// Peak resident memory of the process that ran the pipeline.
    pub peak_rss_mb: f64,
    pub proof_bytes: usize,
    /// Gas of the `verify` transaction (incl. 21000 intrinsic and calldata).
    pub verify_gas: u64,
    pub runtime_bytes: usize,
    pub max_abs_error: f64,
}

const DEFAULT_MODELS: &[&str] = &["rockybot", "1l_mlp", "2l_relu_fc", "sklearn_mlp"];

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// One model, in this process: compile -> setup -> prove -> verify -> EVM.
pub fn one(model_dir: &Path) -> Result<BenchRow> {
    let v = compile_vector(model_dir, &CompileOptions::default())?;
    let (c, x, tmp) = (&v.compiled, &v.x, &v.dir);
    let setup = proof::setup(c, None)?;
    let p = proof::prove(c, x, proof::TranscriptKind::Evm)?;
    let t = Instant::now();
    if !proof::verify(c, &p)? {
        bail!("native verifier rejected the benchmark proof");
    }
    let verify_s = t.elapsed().as_secs_f64();
    let keys = proof::load_keys(c)?;
    let art = gen_verifier(&keys, &c.settings.model_hash, c.settings.layout.public_inputs, &tmp.path().join("verifier"))?;
    let v = run_in_revm(&art, &calldata(&p)?)?;
    if !v.accepted {
        bail!("EVM verifier rejected the benchmark proof: {:?}", v.reason);
    }
    Ok(BenchRow {
        model: model_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        k: c.settings.k,
        keygen_s: setup.keygen_seconds,
        prove_s: p.prove_seconds,
        verify_s,
        peak_rss_mb: peak_rss_mb(),
        proof_bytes: p.proof_bytes()?.len(),
        verify_gas: v.gas_used,
        runtime_bytes: v.runtime_size,
        max_abs_error: p.max_abs_error,
    })
}

pub fn run(models: &[PathBuf], json: Option<&Path>) -> Result<()> {
    let models: Vec<PathBuf> = if models.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors");
        DEFAULT_MODELS.iter().map(|m| root.join(m)).collect()
    } else {
        models.to_vec()
    };
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    println!(
        "{:<20} {:>3} {:>9} {:>8} {:>9} {:>9} {:>7} {:>10} {:>9} {:>9}",
        "model", "k", "keygen s", "prove s", "verify s", "RSS MB", "proof B", "verify gas", "runtime B", "max err"
    );
    for m in &models {
        eprintln!("bench: {} ...", m.display());
        let out = std::process::Command::new(&exe)
            .arg("bench-one")
            .arg(m)
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            println!("{:<20} failed: {}", m.display(), err.lines().last().unwrap_or("").trim());
            continue;
        }
        let row: BenchRow = serde_json::from_slice(&out.stdout).context("bench-one printed no row")?;
        println!(
            "{:<20} {:>3} {:>9.2} {:>8.2} {:>9.3} {:>9.0} {:>7} {:>10} {:>9} {:>9.4}",
            row.model, row.k, row.keygen_s, row.prove_s, row.verify_s, row.peak_rss_mb, row.proof_bytes, row.verify_gas, row.runtime_bytes, row.max_abs_error
        );
        rows.push(row);
    }
    if let Some(path) = json {
        crate::artifact::write_json(path, &rows)?;
    }
    if rows.len() < models.len() {
        bail!("{} of {} models failed", models.len() - rows.len(), models.len());
    }
    Ok(())
}
