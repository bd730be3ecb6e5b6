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
# k = 20: at k = 19 (faster for tests/aggregate.rs and split.rs) the root,
# which folds an aggregation proof, proves no faster and its verifier is
# 30,175 bytes, over EIP-170 (measured 2026-11-29).
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
# A bound on the whole run (about 8 minutes here): a task Ray can never
# schedule would otherwise wait forever and take CI's time limit with it.
timeout 1800 "$VENV/bin/python" scripts/ray_prove.py "$work/build" --input "$v/input.json" \
  --address "127.0.0.1:$port" --zkml "$BIN" -o "$work/proof.json" | tee "$work/ray.log" || status=1
if [ "$status" -eq 0 ]; then
  # Every chunk task, then one aggregation per tree level, reported.
  [ "$(grep -c "^\[[0-9]*/$chunks\] chunk" "$work/ray.log")" -eq "$chunks" ] || status=1
  [ "$(grep -c '^\[1/1\] aggregation node' "$work/ray.log")" -eq "$levels" ] || status=1
  "$BIN" verify "$work/build" "$work/proof.json" || status=1
  "$BIN" gen-verifier "$work/build" -o "$work/verifier" >/dev/null || status=1
  "$BIN" test-evm "$work/verifier" "$work/proof.json" || status=1
fi

# What an aggregation tree must refuse or reject. The tree above is the only
# one CI proves, so its refusals are checked here rather than on a second
# tree of their own.
refusals=0
fail() { echo "FAIL (tree refusals): $*" >&2; refusals=1; }
# `expect CODE TEXT CMD...`: CMD exits with CODE and, if TEXT is not empty,
# says TEXT on stderr.
expect() {
  local code=$1 text=$2; shift 2
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  if [ "$rc" -ne "$code" ]; then fail "$* exited $rc, expected $code: $err"; return; fi
  if [ -n "$text" ] && ! grep -qF -- "$text" <<<"$err"; then fail "$* did not say '$text': $err"; fi
}
# `mutate IN OUT WHAT`: a copy of a proof.json with one byte of the proof
# flipped (WHAT=byte) or its last public input moved by one (WHAT=input).
mutate() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
src, dst, what = sys.argv[1:]
p = json.load(open(src))
if what == "byte":
    b = bytearray.fromhex(p["proof"][2:])
    b[100] ^= 1
    p["proof"] = "0x" + b.hex()
else:
    p["public_inputs"][-1] = "0x%064x" % (int(p["public_inputs"][-1], 16) + 1)
json.dump(p, open(dst, "w"))
PY
}
if [ "$status" -eq 0 ]; then
  node_proof="$work/build/agg-1-0/proof.json"
  # A level-1 node is proven for its parent (Poseidon transcript): no EVM
  # verifier takes it.
  expect 2 "made for another aggregation" "$BIN" calldata "$node_proof"
  # A tampered node proof is refused by name before the root is proven.
  cp "$node_proof" "$work/node-honest.json"
  mutate "$work/node-honest.json" "$node_proof" byte
  expect 2 "aggregation node 1-0" "$BIN" fold-chunks "$work/build" --node root -o "$work/refused.json"
  [ ! -e "$work/refused.json" ] || fail "a root was written over a tampered node"
  cp "$work/node-honest.json" "$node_proof"
  # The root proof with a flipped byte, or with its last model output moved,
  # is rejected natively and by the EVM verifier (exit 1: rejected, not
  # refused as malformed).
  for what in byte input; do
    mutate "$work/proof.json" "$work/bad-$what.json" "$what"
    rc=0; "$BIN" verify "$work/build" "$work/bad-$what.json" >/dev/null 2>&1 || rc=$?
    [ "$rc" -ne 0 ] || fail "verify accepted the root proof with a changed $what"
    expect 1 "EVM verifier rejected" "$BIN" test-evm "$work/verifier" "$work/bad-$what.json"
  done
else
  refusals=1
fi
if [ "$refusals" -eq 0 ]; then
  echo "test result: ok. 1 passed; 0 failed; 0 ignored (ray: tree refusals: node proof not for the EVM, tampered node refused by name, flipped byte and changed output rejected)"
else
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored (ray: tree refusals)"
fi
if [ "$status" -eq 0 ]; then
  echo "test result: ok. 1 passed; 0 failed; 0 ignored (ray: a split model proven on a local 3-node cluster)"
else
  echo "test result: FAILED. 0 passed; 1 failed; 0 ignored (ray)"
fi
[ "$refusals" -eq 0 ] || status=1
exit "$status"
