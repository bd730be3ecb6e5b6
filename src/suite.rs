//! `zkml-evm suite DIR`: run every model folder under DIR through
//! compile -> setup -> prove -> verify, each in its own process, and print
//! one row per model: ops, k, prove time, error, status.

use crate::compile::{compile_vector, CompileOptions};
use crate::proof;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteRow {
    pub model: String,
    pub ops: Vec<String>,
    pub k: Option<u32>,
    pub prove_s: Option<f64>,
    /// Largest |circuit output - tract output|.
    pub max_abs_error: Option<f64>,
    /// Largest |circuit output - output_data| when the vector has one.
    pub max_abs_error_vs_data: Option<f64>,
    /// "ok", "skipped: ...", or the one-line error.
    pub status: String,
}

/// Model folders under `dir`: those holding network.onnx and input.json.
pub fn model_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("network.onnx").is_file() && p.join("input.json").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn op_types(onnx: &Path) -> Vec<String> {
    let mut ops: Vec<String> = crate::model::onnx::read_proto(onnx)
        .ok()
        .and_then(|m| m.graph)
        .map(|g| g.node.iter().map(|n| n.op_type.clone()).collect())
        .unwrap_or_default();
    ops.sort();
    ops.dedup();
    ops
}

/// One model, in this process.
pub fn one(model_dir: &Path, max_k: u32) -> SuiteRow {
    let onnx = model_dir.join("network.onnx");
    let mut row = SuiteRow {
        model: model_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ops: op_types(&onnx),
        k: None,
        prove_s: None,
        max_abs_error: None,
        max_abs_error_vs_data: None,
        status: String::new(),
    };
    row.status = match run_one(model_dir, max_k, &mut row) {
        Ok(status) => status,
        Err(e) => e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": "),
    };
    row
}

fn run_one(model_dir: &Path, max_k: u32, row: &mut SuiteRow) -> Result<String> {
    let v = compile_vector(model_dir, &CompileOptions::default())?;
    let (c, x, input) = (&v.compiled, &v.x, &v.input);
    row.k = Some(c.settings.k);
    if c.settings.k > max_k {
        return Ok(format!("skipped: k={} > --max-k {max_k}", c.settings.k));
    }
    proof::setup(c, None)?;
    let p = proof::prove(c, x, proof::TranscriptKind::Evm)?;
    row.prove_s = Some(p.prove_seconds);
    row.max_abs_error = Some(p.max_abs_error);
    if let Some(expected) = input
        .expected_outputs()
        .filter(|e| e.len() == p.outputs.len())
    {
        row.max_abs_error_vs_data = Some(
            p.outputs
                .iter()
                .zip(expected)
                .map(|(o, e)| (o - e).abs())
                .fold(0.0, f64::max),
        );
    }
    if !proof::verify(c, &p)? {
        anyhow::bail!("the native verifier rejected the proof");
    }
    Ok("ok".into())
}

pub fn run(dir: &Path, max_k: u32, json: Option<&Path>) -> Result<()> {
    let dirs = model_dirs(dir)?;
    if dirs.is_empty() {
        anyhow::bail!(
            "no model folders (network.onnx + input.json) under {}",
            dir.display()
        );
    }
    let exe = std::env::current_exe()?;
    println!(
        "{:<24} {:>3} {:>8} {:>9} {:>9}  {:<40} status",
        "model", "k", "prove s", "err", "err/data", "ops"
    );
    let mut rows = Vec::new();
    for d in &dirs {
        eprintln!("suite: {} ...", d.display());
        let out = std::process::Command::new(&exe)
            .arg("suite-one")
            .arg(d)
            .arg("--max-k")
            .arg(max_k.to_string())
            .output()?;
        let row: SuiteRow = match serde_json::from_slice(&out.stdout) {
            Ok(r) => r,
            Err(_) => SuiteRow {
                model: d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                ops: op_types(&d.join("network.onnx")),
                k: None,
                prove_s: None,
                max_abs_error: None,
                max_abs_error_vs_data: None,
                status: format!(
                    "crashed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ),
            },
        };
        let f =
            |v: Option<f64>, p: usize| v.map(|x| format!("{x:.p$}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<24} {:>3} {:>8} {:>9} {:>9}  {:<40} {}",
            row.model,
            row.k.map(|k| k.to_string()).unwrap_or_else(|| "-".into()),
            f(row.prove_s, 2),
            f(row.max_abs_error, 4),
            f(row.max_abs_error_vs_data, 4),
            row.ops.join(","),
            row.status
        );
        rows.push(row);
    }
    let ok = rows.iter().filter(|r| r.status == "ok").count();
    println!("{ok} of {} models prove and verify", rows.len());
    if let Some(path) = json {
        crate::artifact::write_json(path, &rows)?;
    }
    Ok(())
}
