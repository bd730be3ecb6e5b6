#!/usr/bin/env bash
# Regenerates the Foundry test fixtures contracts/test/fixtures/{rockybot,tictactoe}.json:
# for each model, compile -> setup -> prove input.json and input2.json -> gen-verifier with
# the zkml-evm binary, then collect the verifier's creation bytecode, both proofs with their
# public inputs, a tampered copy of each proof (one byte flipped), scale_bits and
# public_offset. The fixtures are committed, so `scripts/forge-test.sh` runs offline without
# the Rust build; rerun this after changing the prover, the verifier template or a model.
# (Proofs are randomised, so every run gives new proof bytes.)
#
#   ZKML_EVM=/path/to/zkml-evm scripts/make-fixtures.sh     (default: $CARGO_TARGET_DIR/debug/zkml-evm,
#                                                            built with cargo if missing)
# Needs python3 (standard library only). Work files go to out/fixtures/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"

if [[ -n "${ZKML_EVM:-}" ]]; then
  bin="$ZKML_EVM"
else
  bin="$CARGO_TARGET_DIR/debug/zkml-evm"
  [[ -x "$bin" ]] || cargo build --bin zkml-evm
fi
[[ -x "$bin" ]] || { echo "error: zkml-evm binary not found: $bin (set ZKML_EVM)" >&2; exit 1; }
scripts/install-evm-tools.sh >/dev/null # gen-verifier falls back to .tools/bin/solc

work=out/fixtures
dest=contracts/test/fixtures
mkdir -p "$dest"

for model in rockybot tictactoe; do
  src="test-vectors/$model"
  rm -rf "${work:?}/$model"
  mkdir -p "$work/$model"
  echo "==> $model"
  # RockyVault reads packed public inputs (RockyBot's default); TicTacToe reads them unpacked.
  pack=on; [[ $model == rockybot ]] || pack=off
  "$bin" compile "$src/network.onnx" --pack-public "$pack" --input "$src/input.json" --input "$src/input2.json" -o "$work/$model/build"
  "$bin" setup "$work/$model/build"
  for i in 1 2; do
    in="$src/input.json"; [[ $i == 1 ]] || in="$src/input$i.json"
    "$bin" prove "$work/$model/build" --input "$in" -o "$work/$model/proof$i.json"
    "$bin" verify "$work/$model/build" "$work/$model/proof$i.json"
  done
  "$bin" gen-verifier "$work/$model/build" -o "$work/$model/verifier"

  python3 - "$model" "$src" "$work/$model" "$dest/$model.json" <<'PY'
import json, sys
sys.path.insert(0, "scripts")
from public_values import decode, slot_bits

model, src, work, dest = sys.argv[1:]
verifier = json.load(open(f"{work}/verifier/verifier.json"))
settings = json.load(open(f"{work}/build/settings.json"))
n_in = 1
for d in settings["input_shapes"][0]:
    n_in *= d

def tamper(hexproof):
    b = bytearray.fromhex(hexproof[2:])
    at = len(b) // 2  # a byte in the middle of the proof
    b[at] ^= 0xFF
    return "0x" + b.hex(), at

samples = []
for i, name in ((1, "input.json"), (2, "input2.json")):
    p = json.load(open(f"{work}/proof{i}.json"))
    assert p["model_hash"] == verifier["model_hash"], "proof and verifier are for different models"
    pub = [int(x, 16) for x in p["public_inputs"]]
    tampered, at = tamper(p["proof"])
    s = {
        "input": f"{src}/{name}",
        "proof": p["proof"],
        "tampered_proof": tampered,
        "tampered_byte": at,
        "public_inputs": pub,
        "encoded_inputs": decode(p, "input"),
        "encoded_outputs": decode(p, "output"),
        "outputs": p["outputs"],
    }
    if model == "tictactoe":
        board = [int(v) for v in json.load(open(f"{src}/{name}"))["input_data"][0]]
        off, one = p["public_offset"], 1 << p["scale_bits"]
        assert s["encoded_inputs"] == [off + v * one for v in board], "board encoding"
        scores = s["encoded_outputs"]
        empty = [c for c in range(9) if board[c] == 0]
        s["board"] = board
        s["ai_move"] = max(empty, key=lambda c: (scores[c], -c))  # argmax, lowest index on ties
    samples.append(s)

if model == "tictactoe":  # the second board must follow from the first (the test replays the game)
    b1, b2 = samples[0]["board"], samples[1]["board"]
    nxt = list(b1); nxt[samples[0]["ai_move"]] = 1
    diff = [c for c in range(9) if nxt[c] != b2[c]]
    assert len(diff) == 1 and nxt[diff[0]] == 0 and b2[diff[0]] == -1, \
        "input2.json is not input.json + the proven AI move + one human move"

first = json.load(open(f"{work}/proof1.json"))
assert all(json.load(open(f"{work}/proof{i}.json"))[k] == first[k] for i in (1, 2) for k in ("scale_bits", "public_offset"))
doc = {
    "model": model,
    "generated_by": "scripts/make-fixtures.sh",
    "model_hash": verifier["model_hash"],
    "k": verifier["k"],
    "scale_bits": first["scale_bits"],
    "public_offset": first["public_offset"],
    "slot_bits": slot_bits(first),
    "num_inputs": n_in,
    "num_public": verifier["num_public"],
    "proof_len": verifier["proof_len"],
    "solc_version": verifier["solc_version"],
    "verifier_bytecode": verifier["bytecode"],
    "samples": samples,
}
with open(dest, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"wrote {dest}: {len(samples)} samples, {doc['num_public']} public inputs, "
      f"scale_bits {doc['scale_bits']}, public_offset {doc['public_offset']}")
PY
done
