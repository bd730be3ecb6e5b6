#!/usr/bin/env python3
"""Prove a split build (`zkml-evm compile --max-k`) on a Ray cluster.

    python scripts/ray_prove.py BUILD --input input.json --address HEAD:6379 -o proof.json

Each chunk proof is one Ray task, and so is each aggregation of the
build's aggregation tree (`zkml-evm fold-chunks BUILD --plan`: groups of
chunk proofs, then groups of those aggregations, up to one root); every
task runs the `zkml-evm` job that reads and writes artefacts in the build
directory (`prove-chunk CHUNK`, `fold-chunks BUILD --node L-I`), exactly
what `zkml-evm prove --jobs N` runs locally. The driver first writes every
chunk's input tensor (`split-witness`, a fixed-point forward pass, cheap),
so the chunk tasks are independent and run in parallel, one CPU-heavy
process each; the aggregations of one level run in parallel too, once the
level below is done.

The build directory must be at the same path on every node (a shared file
system, or copied there before the run), and `zkml-evm` on each node's PATH
or given with --zkml. Run `zkml-evm setup BUILD` once before.

Progress: one line per finished task (done / total, elapsed, estimated time
left, the node that ran it and its peak RSS).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import ray


def run_job(exe: str, args: list[str]) -> dict:
    """Run one zkml-evm job; its report, the node it ran on, or its error."""
    started = time.time()
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    return {
        "ok": proc.returncode == 0,
        "stdout": proc.stdout,
        "stderr": proc.stderr.strip().splitlines()[-1:] if proc.returncode else [],
        "node": socket.gethostname() + f" pid {os.getpid()}",
        "seconds": time.time() - started,
    }


@ray.remote(num_cpus=1)
def prove_chunk(exe: str, chunk_dir: str) -> dict:
    return run_job(exe, ["prove-chunk", "--json", chunk_dir])


@ray.remote(num_cpus=1)
def fold_node(exe: str, build: str, node: str, out: str) -> dict:
    return run_job(exe, ["fold-chunks", build, "--node", node, "-o", out])


def tree_levels(exe: str, build: str) -> list[list[dict]]:
    """The aggregation tree's levels, leaves first; the last holds the root."""
    plan = subprocess.run([exe, "fold-chunks", build, "--plan"], capture_output=True, text=True, check=True)
    return json.loads(plan.stdout)["levels"]


def run_tasks(tasks: dict, started: float, describe) -> bool:
    """Wait for `tasks` (ObjectRef -> label), printing a line as each ends."""
    total, done = len(tasks), 0
    while tasks:
        ready, _ = ray.wait(list(tasks), num_returns=1)
        label = tasks.pop(ready[0])
        r = ray.get(ready[0])
        if not r["ok"]:
            print(f"error: {label}: {' '.join(r['stderr'])}", file=sys.stderr)
            return False
        done += 1
        elapsed = time.time() - started
        left = elapsed / done * (total - done)
        print(f"[{done}/{total}] {describe(label, r)} on {r['node']} "
              f"(elapsed {elapsed:.0f}s, about {left:.0f}s left in this phase)", flush=True)
    return True


def chunk_dirs(build: str) -> list[str]:
    with open(os.path.join(build, "split.json")) as f:
        split = json.load(f)
    return [os.path.join(build, c["dir"]) for c in split["chunks"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="a split build directory, after `zkml-evm setup`")
    ap.add_argument("--input", required=True, nargs="+", help="the model input(s), as for `zkml-evm prove`")
    ap.add_argument("--address", default=None, help="Ray cluster address (HEAD:PORT); default: RAY_ADDRESS or a local instance")
    ap.add_argument("-o", "--out", required=True, help="where the aggregated proof.json goes")
    ap.add_argument("--zkml", default=shutil.which("zkml-evm") or "zkml-evm", help="the zkml-evm executable on the nodes")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out)

    witness = subprocess.run([args.zkml, "split-witness", build, "--input", *args.input], capture_output=True, text=True)
    if witness.returncode != 0:
        print(f"error: split-witness: {witness.stderr.strip()}", file=sys.stderr)
        return 2
    print(witness.stdout.strip())

    ray.init(address=args.address, log_to_driver=False)
    nodes = [n for n in ray.nodes() if n["Alive"]]
    print(f"ray cluster: {len(nodes)} nodes, {int(ray.cluster_resources().get('CPU', 0))} CPUs")

    dirs = chunk_dirs(build)
    started = time.time()

    def chunk_line(label: str, r: dict) -> str:
        report = json.loads(r["stdout"])
        return f"{label} proven in {report['prove_seconds']:.1f}s, peak RSS {report['peak_rss_mb']:.0f} MB"

    chunks = {prove_chunk.remote(args.zkml, d): f"chunk {i} ({d})" for i, d in enumerate(dirs)}
    if not run_tasks(chunks, started, chunk_line):
        return 2

    def node_line(label: str, r: dict) -> str:
        return f"aggregation {label}: {r['stdout'].strip()}"

    levels = tree_levels(args.zkml, build)
    for depth, level in enumerate(levels):
        root = depth == len(levels) - 1
        names = ["root"] if root else [f"{n['level']}-{n['index']}" for n in level]
        print(f"aggregation level {depth + 1} of {len(levels)}: {len(names)} job(s) ...", flush=True)
        tasks = {fold_node.remote(args.zkml, build, name, out): f"node {name}" for name in names}
        if not run_tasks(tasks, started, node_line):
            return 2
    print(f"proof written to {out} (total {time.time() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
