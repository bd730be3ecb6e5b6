#!/usr/bin/env bash
# Proves a split model through a real local Ray cluster: a head and two
# worker nodes, all bound to 127.0.0.1. scripts/ray_prove.py runs each chunk
# proof and the aggregation as Ray tasks; the proof it writes must verify
# natively and on the EVM. Installs ray into .tools/ray-venv (once) and
# prints a cargo-style "test result" line, which scripts/test.sh counts.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
RAY_PIN="ray==2.60.0"
VENV=.tools/ray-venv
if ! "$VENV/bin/python" -c "import ray" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "$RAY_PIN"
fi
cargo build -q --bin zkml-evm
BIN="$CARGO_TARGET_DIR/debug/zkml-evm"
work=$(mktemp -d)
ray_cli() { "$VENV/bin/ray" "$@"; }
cleanup() { ray_cli stop --force >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export RAY_USAGE_STATS_ENABLED=0
ray_cli start --head --node-ip-address=127.0.0.1 --port="$port" --num-cpus=0 \
  --include-dashboard=false --disable-usage-stats >/dev/null
for _ in 1 2; do
  ray_cli start --address="127.0.0.1:$port" --node-ip-address=127.0.0.1 --num-cpus=1 >/dev/null
done

v=test-vectors/tower
# 3 chunks folded as a tree at fan-in 2: a node over chunks 0-1, then the
# root over that node and chunk 2 (two aggregation tasks, one per level).
# The chunk count is read from compile's summary, not assumed: it moves
# whenever the layout's row count does.
"$BIN" compile "$v/network.onnx" --input "$v/input.json" -o "$work/build" --max-k 11 --aggregate-k 20 --fan-in 2 \
  | tee "$work/compile.log"
chunks=$(sed -n 's/.*split into \([0-9]*\) chunks.*/\1/p' "$work/compile.log")
levels=$(sed -n 's/.*aggregations in \([0-9]*\) levels.*/\1/p' "$work/compile.log")
if [ -z "$chunks" ] || [ -z "$levels" ] || [ "$levels" -lt 2 ]; then
  echo "expected a split build folded in at least 2 aggregation levels; compile said:" >&2
  cat "$work/compile.log" >&2
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored (ray)"
  exit 1
fi
"$BIN" setup "$work/build"
status=0
"$VENV/bin/python" scripts/ray_prove.py "$work/build" --input "$v/input.json" \
  --address "127.0.0.1:$port" --zkml "$BIN" -o "$work/proof.json" | tee "$work/ray.log" || status=1
if [ "$status" -eq 0 ]; then
  # Every chunk task, then one aggregation per tree level, reported.
  [ "$(grep -c "^\[[0-9]*/$chunks\] chunk" "$work/ray.log")" -eq "$chunks" ] || status=1
  [ "$(grep -c '^\[1/1\] aggregation node' "$work/ray.log")" -eq "$levels" ] || status=1
  "$BIN" verify "$work/build" "$work/proof.json" || status=1
  "$BIN" gen-verifier "$work/build" -o "$work/verifier" >/dev/null || status=1
  "$BIN" test-evm "$work/verifier" "$work/proof.json" || status=1
fi
if [ "$status" -eq 0 ]; then
  echo "test result: ok. 1 passed; 0 failed; 0 ignored (ray: a split model proven on a local 3-node cluster)"
else
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored (ray)"
fi
exit "$status"
