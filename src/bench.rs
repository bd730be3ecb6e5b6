//! `zkml-evm bench`: the whole pipeline per model, each in a fresh process
//! so peak memory is per model, printed as one table.

use crate::compile::{compile_vector, CompileOptions, PackPublic, Vis, Visibility};
use crate::evm::verifier::{calldata, gen_verifier, run_in_revm};
use crate::proof;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    pub model: String,
    /// Weight visibility the model was compiled with.
    pub params: Vis,
    /// Weights and biases (what a params commitment hashes).
    pub weights: usize,
    pub rows: usize,
    pub k: u32,
    /// Advice columns: 3 narrow, more in a wide shape (see `layout::Shape`).
    #[serde(default)]
    pub advice_columns: usize,
    /// Public values packed into words, and the public inputs that makes.
    #[serde(default)]
    pub packed: bool,
    #[serde(default)]
    pub public_inputs: usize,
    /// Inferences the proof covers (`compile --batch`).
    #[serde(default = "one_inference")]
    pub batch: usize,
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

fn one_inference() -> usize {
    1
}

/// The options one benchmark row compiles a model with.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub params: Vis,
    pub pack_public: PackPublic,
    pub batch: usize,
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
/// A batch proves the bundled input `batch` times (proving time does not
/// depend on the values).
pub fn one(model_dir: &Path, case: Case) -> Result<BenchRow> {
    let Case {
        params,
        pack_public,
        batch,
    } = case;
    let visibility = Visibility {
        params,
        ..Visibility::default()
    };
    let v = compile_vector(
        model_dir,
        &CompileOptions {
            visibility,
            pack_public,
            batch,
            ..Default::default()
        },
    )?;
    let (c, tmp) = (&v.compiled, &v.dir);
    let x = v.x.repeat(batch.max(1));
    let setup = proof::setup(c, None)?;
    let p = proof::prove(c, &x, proof::TranscriptKind::Evm)?;
    let t = Instant::now();
    if !proof::verify(c, &p)? {
        bail!("native verifier rejected the benchmark proof");
    }
    let verify_s = t.elapsed().as_secs_f64();
    let keys = proof::load_keys(c)?;
    let art = gen_verifier(
        &keys,
        &c.settings.model_hash,
        c.settings.layout.public_inputs,
        &tmp.path().join("verifier"),
    )?;
    let v = run_in_revm(&art, &calldata(&p)?)?;
    if !v.accepted {
        bail!("EVM verifier rejected the benchmark proof: {:?}", v.reason);
    }
    Ok(BenchRow {
        model: model_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        params,
        weights: c.layout.param_cells().len(),
        rows: c.settings.layout.rows_used,
        k: c.settings.k,
        advice_columns: c.settings.layout.advice_columns,
        packed: c.settings.visibility.packed,
        public_inputs: c.settings.layout.public_inputs,
        batch: c.settings.batch.max(1),
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

/// The table, one fresh process per model and weight visibility; with
/// several visibilities, also what hashing costs per 1,000 weights
/// against fixed weights in the same run.
pub fn run(
    models: &[PathBuf],
    params: &[Vis],
    packs: &[PackPublic],
    batches: &[usize],
    json: Option<&Path>,
) -> Result<()> {
    let models: Vec<PathBuf> = if models.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors");
        DEFAULT_MODELS.iter().map(|m| root.join(m)).collect()
    } else {
        models.to_vec()
    };
    let exe = std::env::current_exe()?;
    let params = if params.is_empty() {
        &[Vis::Fixed][..]
    } else {
        params
    };
    let packs = if packs.is_empty() {
        &[PackPublic::Auto][..]
    } else {
        packs
    };
    let batches = if batches.is_empty() {
        &[1][..]
    } else {
        batches
    };
    let cases: Vec<Case> = params
        .iter()
        .flat_map(|&params| {
            packs.iter().flat_map(move |&pack_public| {
                batches.iter().map(move |&batch| Case {
                    params,
                    pack_public,
                    batch,
                })
            })
        })
        .collect();
    let mut rows = Vec::new();
    println!(
        "{:<20} {:>9} {:>6} {:>5} {:>5} {:>8} {:>7} {:>3} {:>6} {:>9} {:>8} {:>9} {:>9} {:>7} {:>10} {:>8} {:>9} {:>9}",
        "model", "params", "packed", "batch", "pub", "weights", "rows", "k", "advice", "keygen s", "prove s", "verify s", "RSS MB", "proof B", "verify gas", "gas/inf", "runtime B", "max err"
    );
    for m in &models {
        for &Case {
            params: vis,
            pack_public: pack,
            batch,
        } in &cases
        {
            eprintln!(
                "bench: {} (weights {vis}, packing {pack:?}, batch {batch}) ...",
                m.display()
            );
            let pack_arg = format!("{pack:?}").to_lowercase();
            let out = std::process::Command::new(&exe)
                .arg("bench-one")
                .arg(m)
                .args([
                    "--param-visibility",
                    &vis.to_string(),
                    "--pack-public",
                    &pack_arg,
                    "--batch",
                    &batch.to_string(),
                ])
                .output()
                .with_context(|| format!("cannot run {}", exe.display()))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                println!(
                    "{:<20} failed: {}",
                    m.display(),
                    err.lines().last().unwrap_or("").trim()
                );
                continue;
            }
            let row: BenchRow =
                serde_json::from_slice(&out.stdout).context("bench-one printed no row")?;
            println!(
                "{:<20} {:>9} {:>6} {:>5} {:>5} {:>8} {:>7} {:>3} {:>6} {:>9.2} {:>8.2} {:>9.3} {:>9.0} {:>7} {:>10} {:>8} {:>9} {:>9.4}",
                row.model,
                row.params.to_string(),
                if row.packed { "yes" } else { "no" },
                row.batch,
                row.public_inputs,
                row.weights,
                row.rows,
                row.k,
                row.advice_columns,
                row.keygen_s,
                row.prove_s,
                row.verify_s,
                row.peak_rss_mb,
                row.proof_bytes,
                row.verify_gas,
                row.verify_gas / row.batch.max(1) as u64,
                row.runtime_bytes,
                row.max_abs_error
            );
            rows.push(row);
        }
    }
    for hashed in rows.iter().filter(|r| r.params == Vis::Hashed) {
        if let Some(fixed) = rows
            .iter()
            .find(|r| r.model == hashed.model && r.params == Vis::Fixed)
        {
            let per = 1000.0 / hashed.weights as f64;
            println!(
                "{}: hashing the weights costs {:.0} rows and {:.2} prove s per 1,000 weights ({} weights; verify gas {:+})",
                hashed.model,
                (hashed.rows as f64 - fixed.rows as f64) * per,
                (hashed.prove_s - fixed.prove_s) * per,
                hashed.weights,
                hashed.verify_gas as i64 - fixed.verify_gas as i64
            );
        }
    }
    if let Some(path) = json {
        crate::artifact::write_json(path, &rows)?;
    }
    let runs = models.len() * cases.len();
    if rows.len() < runs {
        bail!("{} of {runs} runs failed", runs - rows.len());
    }
    Ok(())
}

/// One row of the aggregation benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AggregateRow {
    pub model: String,
    pub proofs: usize,
    pub k: u32,
    pub advice_columns: usize,
    /// Proving one inner proof (Poseidon transcript).
    pub inner_prove_s: f64,
    pub keygen_s: f64,
    pub prove_s: f64,
    pub peak_rss_mb: f64,
    pub proof_bytes: usize,
    pub num_public: usize,
    pub verify_gas: u64,
    pub runtime_bytes: usize,
}

/// Aggregate `n` proofs of `model_dir`'s sample inference at `k`, in this
/// process, and verify the result in revm.
pub fn aggregate_one(model_dir: &Path, n: usize, k: u32) -> Result<AggregateRow> {
    use crate::aggregate::{self, Inner};
    let v = compile_vector(model_dir, &CompileOptions::default())?;
    let (c, x, tmp) = (&v.compiled, &v.x, &v.dir);
    proof::setup(c, None)?;
    let mut inners = Vec::new();
    let mut inner_prove_s = 0.0;
    for i in 0..n {
        let p = proof::prove(c, x, proof::TranscriptKind::Poseidon)?;
        inner_prove_s = p.prove_seconds;
        let path = tmp.path().join(format!("inner{i}.json"));
        crate::artifact::write_json(&path, &p)?;
        inners.push(Inner::load(&c.dir, &path)?);
    }
    let out = tmp.path().join("aggregate");
    let r = aggregate::aggregate(
        &inners,
        &out,
        &aggregate::Options {
            k,
            srs: None,
            transcript: crate::proof::TranscriptKind::Evm,
        },
    )?;
    let agg = aggregate::Aggregated::load(&out)?;
    let art = crate::evm::verifier::gen_verifier_for(
        &agg.keys(),
        crate::evm::codegen::PublicInputs::aggregate(agg.settings.num_public),
        "bench",
        "bench",
        &tmp.path().join("verifier"),
    )?;
    let verdict = run_in_revm(
        &art,
        &crate::evm::verifier::calldata_for_file(&out.join(aggregate::PROOF_FILE))?,
    )?;
    if !verdict.accepted {
        bail!(
            "EVM verifier rejected the aggregated proof: {:?}",
            verdict.reason
        );
    }
    Ok(AggregateRow {
        model: model_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        proofs: n,
        k: r.k,
        advice_columns: r.num_advice + r.num_lookup_advice,
        inner_prove_s,
        keygen_s: r.keygen_seconds.unwrap_or(f64::NAN),
        prove_s: r.prove_seconds,
        peak_rss_mb: peak_rss_mb(),
        proof_bytes: r.proof_bytes,
        num_public: r.num_public,
        verify_gas: verdict.gas_used,
        runtime_bytes: verdict.runtime_size,
    })
}

/// The aggregation table: one fresh process per N.
pub fn run_aggregate(model: &Path, counts: &[usize], k: u32, json: Option<&Path>) -> Result<()> {
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    println!(
        "{:<12} {:>3} {:>3} {:>6} {:>9} {:>9} {:>8} {:>8} {:>7} {:>6} {:>10} {:>9}",
        "model",
        "N",
        "k",
        "advice",
        "inner s",
        "keygen s",
        "prove s",
        "RSS MB",
        "proof B",
        "public",
        "verify gas",
        "runtime B"
    );
    for &n in counts {
        eprintln!(
            "bench: aggregating {n} proofs of {} at k={k} ...",
            model.display()
        );
        let out = std::process::Command::new(&exe)
            .args([
                "bench-aggregate-one",
                &model.to_string_lossy(),
                &n.to_string(),
                &k.to_string(),
            ])
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        if !out.status.success() {
            println!(
                "{:<12} {:>3} failed (exit {:?})",
                model.display(),
                n,
                out.status.code()
            );
            continue;
        }
        let row: AggregateRow =
            serde_json::from_slice(&out.stdout).context("bench-aggregate-one printed no row")?;
        println!(
            "{:<12} {:>3} {:>3} {:>6} {:>9.2} {:>9.1} {:>8.1} {:>8.0} {:>7} {:>6} {:>10} {:>9}",
            row.model,
            row.proofs,
            row.k,
            row.advice_columns,
            row.inner_prove_s,
            row.keygen_s,
            row.prove_s,
            row.peak_rss_mb,
            row.proof_bytes,
            row.num_public,
            row.verify_gas,
            row.runtime_bytes
        );
        rows.push(row);
    }
    if let Some(path) = json {
        crate::artifact::write_json(path, &rows)?;
    }
    if rows.len() < counts.len() {
        bail!(
            "{} of {} aggregation runs failed",
            counts.len() - rows.len(),
            counts.len()
        );
    }
    Ok(())
}
