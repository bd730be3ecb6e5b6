#!/usr/bin/env python3
"""Benchmark split proving: each model unsplit and at `--max-k` K, one table.

    python3 scripts/bench_split.py [--models chess,mlp2m] [--max-k 19,18,17]
                                   [--workers 1,2] [--no-unsplit]
                                   [--out out/bench-split] [--json F]

Models: `chess` is test-vectors/chess_policy (a Leela-style policy net, k = 18
as one circuit); `mlp2m` is the 784->1024->1024->10 MLP of
scripts/export_mlp2m.py (1.86M weights, k = 20), exported here on the first
run with .tools/venv's Python.

Every step runs as its own `zkml-evm` process under `/usr/bin/time`, so each
job's wall time and peak RSS are its own: the chunk proofs (`prove-chunk`)
and the aggregations of the tree, level by level (`fold-chunks --node`),
exactly the jobs `prove --jobs N` and the Ray driver run. A split build is
proven once per worker count W: the chunk proofs W at a time, then each
level's aggregations W at a time; "wall" is that whole prove phase
(split-witness, chunks, tree). A level of one aggregation (the root, at
least) is run only in the first run and counted at that time in the others:
a lone job has the machine to itself whatever W is. Per-job columns come from the W = 1 run,
where each job had the machine to itself. An unsplit build is one prove
job, so W does not change it. Setup (keygen) is timed once per build,
without the one-time generation of a development SRS for a new k.

A K at which the model still fits one circuit (no split.json) is reported as
"one circuit". Output: a markdown table on stdout, the raw numbers as JSON in
OUT/bench-split.json. Run on an idle machine: timings are wall clock.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ZKML = os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/zkml-evm/target")), "debug", "zkml-evm"
)


class JobFailed(Exception):
    pass


def timed(cmd: list[str]) -> dict:
    """Run `cmd`; its wall seconds, peak RSS (MB) and stdout. Raises on failure."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        started = time.time()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", t.name, *cmd], capture_output=True, text=True)
        secs = time.time() - started
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise JobFailed(f"{' '.join(cmd[:3])}: {tail}")
        rss_kb = int(t.read().strip().splitlines()[-1])
    # Each job's numbers as it ends: the table comes only at the end of a
    # build, and a run cut short (hours at small K) must not lose them.
    what = " ".join(os.path.basename(c) if os.path.isabs(c) else c for c in cmd[1:4])
    print(f"    {what}: {secs:.1f} s, {rss_kb / 1024:.0f} MB", file=sys.stderr, flush=True)
    return {"seconds": secs, "rss_mb": rss_kb / 1024, "stdout": proc.stdout, "stderr": proc.stderr}


def model_inputs(name: str, out: str) -> tuple[str, list[str]]:
    """The model's ONNX file and its input files (exporting mlp2m if needed)."""
    if name == "chess":
        d = os.path.join(ROOT, "test-vectors", "chess_policy")
    elif name == "mlp2m":
        d = os.path.join(out, "mlp2m-model")
        if not os.path.exists(os.path.join(d, "network.onnx")):
            py = os.path.join(ROOT, ".tools", "venv", "bin", "python")
            subprocess.run([py, os.path.join(ROOT, "scripts", "export_mlp2m.py"), d], check=True, stdout=sys.stderr)
    else:
        raise SystemExit(f"error: unknown model '{name}' (chess, mlp2m)")
    inputs = [os.path.join(d, f) for f in sorted(os.listdir(d)) if re.fullmatch(r"input\d*\.json", f)]
    return os.path.join(d, "network.onnx"), inputs


def run_pool(jobs: list[list[str]], workers: int) -> list[dict]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(timed, jobs))


def prove_split(zkml: str, build: str, sample: str, proof: str, workers: int, alone=None) -> dict:
    """The prove phase of a split build as separate jobs, `workers` at a time.

    `alone`: the levels of an earlier run; a level of one job is not run
    again but counted at that run's time (one job is alone on the machine
    whatever the worker count), which saves an aggregation per run."""
    started = time.time()
    reused = 0.0
    timed([zkml, "split-witness", build, "--input", sample])
    with open(os.path.join(build, "split.json")) as f:
        chunk_dirs = [os.path.join(build, c["dir"]) for c in json.load(f)["chunks"]]
    chunks = run_pool([[zkml, "prove-chunk", d] for d in chunk_dirs], workers)
    plan = json.loads(timed([zkml, "fold-chunks", build, "--plan"])["stdout"])["levels"]
    levels = []
    for depth, level in enumerate(plan):
        root = depth == len(plan) - 1
        names = ["root"] if root else [f"{n['level']}-{n['index']}" for n in level]
        if alone is not None and len(names) == 1:
            levels.append(alone[depth])
            reused += alone[depth][0]["seconds"]
            continue
        levels.append(run_pool([[zkml, "fold-chunks", build, "--node", n, "-o", proof] for n in names], workers))
    return {"wall": time.time() - started + reused, "chunks": chunks, "levels": levels, "reused_s": reused}


def gas_of(zkml: str, build: str, proof: str) -> int:
    verifier = os.path.join(build, "verifier")
    timed([zkml, "gen-verifier", build, "-o", verifier])
    out = timed([zkml, "test-evm", verifier, proof])["stdout"]
    m = re.search(r"gas used (\d+)", out)
    if not m:
        raise JobFailed(f"test-evm printed no gas: {out.strip()}")
    return int(m.group(1))


def bench_build(zkml: str, onnx: str, inputs: list[str], build: str, max_k, workers: list[int]) -> dict:
    cmd = [zkml, "compile", onnx, *sum((["--input", i] for i in inputs), []), "-o", build]
    if max_k is not None:
        cmd += ["--max-k", str(max_k)]
    compiled = timed(cmd)
    split_json = os.path.join(build, "split.json")
    row: dict = {"max_k": max_k, "compile": compiled["stderr"].strip().splitlines()[-1:]}
    if max_k is not None and not os.path.exists(split_json):
        row["one_circuit"] = True
        return row
    setup = timed([zkml, "setup", build])
    # A first use of a k generates the development SRS (cached after):
    # a one-time cost, reported apart from keygen.
    srs = sum(float(m) for m in re.findall(r"development SRS for k=\d+ generated in ([0-9.]+)s", setup["stderr"]))
    row["setup"] = {"seconds": setup["seconds"] - srs, "rss_mb": setup["rss_mb"], "srs_generation_s": srs}
    proof = os.path.join(build, "proof.json")
    if os.path.exists(split_json):
        with open(split_json) as f:
            row["chunk_k"] = [c["k"] for c in json.load(f)["chunks"]]
        row["runs"] = {}
        first = None
        for w in workers:
            print(f"  proving with {w} worker(s) ...", file=sys.stderr, flush=True)
            r = prove_split(zkml, build, inputs[0], proof, w, alone=first)
            first = first or r["levels"]
            row["runs"][w] = {
                "wall": r["wall"],
                "single_job_levels_reused_s": r["reused_s"],
                "chunks": [{"seconds": j["seconds"], "rss_mb": j["rss_mb"]} for j in r["chunks"]],
                "levels": [[{"seconds": j["seconds"], "rss_mb": j["rss_mb"]} for j in lv] for lv in r["levels"]],
            }
    else:
        p = timed([zkml, "prove", build, "--input", inputs[0], "-o", proof])
        with open(os.path.join(build, "settings.json")) as f:
            row["k"] = json.load(f)["k"]
        row["runs"] = {1: {"wall": p["seconds"], "rss_mb": p["rss_mb"]}}
    timed([zkml, "verify", build, proof])
    row["gas"] = gas_of(zkml, build, proof)
    return row


def span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)}–{format(hi, fmt)}"


def table_row(model: str, r: dict) -> str:
    label = "unsplit" if r["max_k"] is None else f"K = {r['max_k']}"
    if r.get("one_circuit"):
        return f"| {model} | {label} | one circuit | | | | | | | |"
    setup = f"{r['setup']['seconds']:.0f} s / {r['setup']['rss_mb'] / 1024:.1f} GB"
    if "chunk_k" not in r:
        one = r["runs"][1]
        wall = f"{one['wall']:.0f} s"
        return (f"| {model} | {label} | 1 (k = {r['k']}) | {one['wall']:.1f} s / {one['rss_mb'] / 1024:.1f} GB "
                f"| — | {setup} | {wall} | {wall} | {r['gas']:,} |")
    runs = r["runs"]
    first = runs[min(runs)]
    chunks = first["chunks"]
    ks = sorted(set(r["chunk_k"]))
    per_chunk = (f"{span([c['seconds'] for c in chunks], '.1f')} s / "
                 f"{span([c['rss_mb'] / 1024 for c in chunks], '.1f')} GB")
    levels = "; ".join(
        f"L{d + 1}: {len(lv)}× {span([j['seconds'] for j in lv], '.0f')} s / {span([j['rss_mb'] / 1024 for j in lv], '.1f')} GB"
        for d, lv in enumerate(first["levels"])
    )
    walls = {w: f"{runs[w]['wall']:.0f} s" for w in runs}
    return (f"| {model} | {label} | {len(chunks)} (k = {', '.join(map(str, ks))}) | {per_chunk} | {levels} | {setup} "
            f"| {walls.get(1, '—')} | {walls.get(2, '—')} | {r['gas']:,} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="chess,mlp2m")
    ap.add_argument("--max-k", default="19,18,17", help="the K values besides unsplit")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--no-unsplit", action="store_true", help="only the --max-k builds")
    ap.add_argument("--json", default=None, help="raw results (default OUT/bench-split.json)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "bench-split"))
    ap.add_argument("--zkml", default=DEFAULT_ZKML)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    workers = [int(w) for w in args.workers.split(",")]
    results = {}
    print("| model | build | chunks | prove per chunk (s / peak) | aggregation per level (jobs × s / peak) "
          "| setup (s / peak) | wall, 1 worker | wall, 2 workers | verify gas |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for model in args.models.split(","):
        onnx, inputs = model_inputs(model, args.out)
        results[model] = []
        for max_k in ([] if args.no_unsplit else [None]) + [int(k) for k in args.max_k.split(",")]:
            build = os.path.join(args.out, f"{model}-{'one' if max_k is None else f'k{max_k}'}")
            print(f"{model}, max-k {max_k or 'default'}: {build}", file=sys.stderr, flush=True)
            try:
                r = bench_build(args.zkml, onnx, inputs, build, max_k, workers)
            except JobFailed as e:
                print(f"| {model} | max-k {max_k} | failed: {e} | | | | | | |", flush=True)
                continue
            results[model].append(r)
            print(table_row(model, r), flush=True)
            with open(args.json or os.path.join(args.out, "bench-split.json"), "w") as f:
                json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
