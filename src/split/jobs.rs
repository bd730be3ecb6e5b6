//! Chunk proofs as separate local processes (`prove --jobs N`): each runs
//! `zkml-evm prove-chunk CHUNK_DIR`, the same job a Ray worker runs, reads
//! its `boundary.json` and writes its `proof.json`, so the pool needs
//! nothing but the build directory.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `prove-chunk --json` prints.
#[derive(Debug, Deserialize)]
pub struct ChunkJobReport {
    pub prove_seconds: f64,
    pub peak_rss_mb: f64,
}

/// Prove the chunks in `dirs` with at most `jobs` processes at once; the
/// prove seconds of each, in chunk order.
pub fn run(dirs: &[PathBuf], jobs: usize) -> Result<Vec<f64>> {
    let exe = std::env::current_exe().context("cannot find the zkml-evm executable")?;
    let started = Instant::now();
    let mut secs = vec![0.0; dirs.len()];
    let mut next = 0;
    let mut done = 0;
    let mut running: Vec<(usize, Child)> = Vec::new();
    while done < dirs.len() {
        while running.len() < jobs && next < dirs.len() {
            let child = Command::new(&exe)
                .args(["prove-chunk", "--json"])
                .arg(&dirs[next])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot start the job for chunk {next}"))?;
            running.push((next, child));
            next += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut still = Vec::new();
        for (i, mut child) in running.drain(..) {
            if child.try_wait()?.is_none() {
                still.push((i, child));
                continue;
            }
            let out = child.wait_with_output()?;
            if !out.status.success() {
                bail!(
                    "chunk {i} ({}): {}",
                    dirs[i].display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let r: ChunkJobReport = serde_json::from_slice(&out.stdout)
                .with_context(|| format!("chunk {i}: unreadable job report"))?;
            secs[i] = r.prove_seconds;
            report_line(
                done,
                dirs.len(),
                i,
                r.prove_seconds,
                Some(r.peak_rss_mb),
                started,
            );
            done += 1;
        }
        running = still;
    }
    Ok(secs)
}

/// One line per finished chunk proof: done / total, its time and memory,
/// elapsed, and time left at the pace so far.
pub fn report(
    i: usize,
    total: usize,
    p: &crate::proof::ProofFile,
    rss: Option<f64>,
    started: Instant,
) {
    report_line(i, total, i, p.prove_seconds, rss, started);
}

fn report_line(
    done: usize,
    total: usize,
    chunk: usize,
    secs: f64,
    rss: Option<f64>,
    started: Instant,
) {
    let elapsed = started.elapsed().as_secs_f64();
    let left = elapsed / (done + 1) as f64 * (total - done - 1) as f64;
    let rss = rss.map_or(String::new(), |mb| format!(", peak RSS {mb:.0} MB"));
    eprintln!(
        "[{}/{total}] chunk {chunk} proven in {secs:.1}s{rss} (elapsed {elapsed:.0}s, about {left:.0}s left before aggregation)",
        done + 1
    );
}
