#!/usr/bin/env bash
# Regenerates contracts/test/fixtures/tictactoe_batch.json for contracts/test/TicTacToeArena.t.sol:
# the tic-tac-toe policy proved (--for-aggregation) on two opening boards (human in the centre,
# human in a corner), both proofs folded by `zkml-evm aggregate` into one, and that
# aggregation's generated verifier. Takes a few minutes (aggregation keygen and proving).
#
#   ZKML_EVM=/path/to/zkml-evm scripts/make-arena-fixture.sh    (default as in make-fixtures.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
bin="${ZKML_EVM:-$CARGO_TARGET_DIR/debug/zkml-evm}"
[[ -x "$bin" ]] || cargo build --bin zkml-evm
scripts/install-evm-tools.sh >/dev/null

src=test-vectors/tictactoe
work=out/fixtures/tictactoe_batch
rm -rf "$work"
mkdir -p "$work"
# Same calibration inputs as make-fixtures.sh, so scale and offset match the one-game fixture.
"$bin" compile "$src/network.onnx" --pack-public off --input "$src/input.json" --input "$src/input2.json" -o "$work/build"
"$bin" setup "$work/build"
echo '{"input_data": [[0, 0, 0, 0, -1, 0, 0, 0, 0]]}' > "$work/board1.json"
echo '{"input_data": [[-1, 0, 0, 0, 0, 0, 0, 0, 0]]}' > "$work/board2.json"
for i in 1 2; do
  "$bin" prove "$work/build" --input "$work/board$i.json" -o "$work/proof$i.json" --for-aggregation
done
"$bin" aggregate "$work/build" "$work/proof1.json" "$work/proof2.json" -o "$work/agg"
"$bin" verify "$work/agg" "$work/agg/proof.json"
"$bin" gen-verifier "$work/agg" -o "$work/verifier"
"$bin" test-evm "$work/verifier" "$work/agg/proof.json"

python3 - "$work" contracts/test/fixtures/tictactoe_batch.json <<'PY'
import json, sys

work, dest = sys.argv[1:]
verifier = json.load(open(f"{work}/verifier/verifier.json"))
agg = json.load(open(f"{work}/agg/proof.json"))
pub = [int(x, 16) for x in agg["public_inputs"]]
proof = bytearray.fromhex(agg["proof"][2:])
proof[len(proof) // 2] ^= 0xFF
boards, moves = [], []
for i, inner in enumerate(agg["inner"]):
    board = [int(v) for v in json.load(open(f"{work}/board{i + 1}.json"))["input_data"][0]]
    at, off, one = inner["public_start"], inner["public_offset"], 1 << inner["scale_bits"]
    assert pub[at:at + 9] == [off + v * one for v in board], "board encoding"
    scores = pub[at + 9:at + 18]
    empty = [c for c in range(9) if board[c] == 0]
    boards.append(board)
    moves.append(max(empty, key=lambda c: (scores[c], -c)))  # argmax, lowest index on ties
doc = {
    "generated_by": "scripts/make-arena-fixture.sh",
    "batch": agg["aggregated"],
    "scale_bits": agg["inner"][0]["scale_bits"],
    "public_offset": agg["inner"][0]["public_offset"],
    "num_public": verifier["num_public"],
    "runtime_size": verifier["runtime_size"],
    "verifier_bytecode": verifier["bytecode"],
    "proof": agg["proof"],
    "tampered_proof": "0x" + proof.hex(),
    "public_inputs": pub,
    "boards": boards,
    "ai_moves": moves,
}
with open(dest, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"wrote {dest}: batch {doc['batch']}, {len(pub)} public inputs, AI moves {moves}")
PY
