#!/usr/bin/env bash
# End-to-end demo on the bundled RockyBot-shaped MLP (36 -> 128 -> 64 -> 12):
# compile -> setup -> prove -> verify -> gen-verifier -> test-evm.
# With --aggregate, then also: two proofs for aggregation -> aggregate -> verify ->
# gen-verifier -> test-evm on the aggregated proof (a few more minutes).
set -euo pipefail
aggregate=0
[[ "${1:-}" == "--aggregate" ]] && aggregate=1
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
scripts/install-evm-tools.sh >/dev/null
cargo build --bin zkml-evm
bin="$CARGO_TARGET_DIR/debug/zkml-evm"
model=test-vectors/rockybot
out=out/demo
rm -rf "$out"
set -x
"$bin" compile "$model/network.onnx" --input "$model/input.json" --input "$model/input2.json" -o "$out/build"
"$bin" setup "$out/build"
"$bin" prove "$out/build" --input "$model/input.json" -o "$out/proof.json"
"$bin" verify "$out/build" "$out/proof.json"
"$bin" gen-verifier "$out/build" -o "$out/verifier"
"$bin" test-evm "$out/verifier" "$out/proof.json"
if [[ $aggregate == 1 ]]; then
  "$bin" prove "$out/build" --input "$model/input.json" -o "$out/agg-a.json" --for-aggregation
  "$bin" prove "$out/build" --input "$model/input2.json" -o "$out/agg-b.json" --for-aggregation
  "$bin" aggregate "$out/build" "$out/agg-a.json" "$out/agg-b.json" -o "$out/aggregate"
  "$bin" verify "$out/aggregate" "$out/aggregate/proof.json"
  "$bin" gen-verifier "$out/aggregate" -o "$out/aggregate-verifier"
  "$bin" test-evm "$out/aggregate-verifier" "$out/aggregate/proof.json"
fi
set +x
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
s = json.load(open(f"{out}/build/settings.json"))
p = json.load(open(f"{out}/proof.json"))
v = json.load(open(f"{out}/verifier/verifier.json"))
proof_bytes = (len(p["proof"]) - 2) // 2
print(f"\nsummary: k={s['k']}  prove={p['prove_seconds']:.2f}s  proof={proof_bytes} bytes  "
      f"verifier runtime={v['runtime_size']} bytes  max abs error={p['max_abs_error']:.5f}  (gas: see test-evm above)")
PY
