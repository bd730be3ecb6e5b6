#!/usr/bin/env bash
# Regenerates contracts/test/fixtures/tictactoe_batch.json for contracts/test/TicTacToeArena.t.sol:
# the tic-tac-toe policy compiled as a batch of BATCH inferences (`compile --batch`, packed
# public inputs), one batch proof over BATCH opening boards, and that build's generated
# verifier. Takes seconds.
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
"$bin" compile "$src/network.onnx" --batch 2 --pack-public on --input "$src/input.json" --input "$src/input2.json" -o "$work/build"
"$bin" setup "$work/build"
echo '{"input_data": [[0, 0, 0, 0, -1, 0, 0, 0, 0]]}' > "$work/board1.json"
echo '{"input_data": [[-1, 0, 0, 0, 0, 0, 0, 0, 0]]}' > "$work/board2.json"
"$bin" prove "$work/build" --input "$work/board1.json" "$work/board2.json" -o "$work/proof.json"
"$bin" verify "$work/build" "$work/proof.json"
"$bin" gen-verifier "$work/build" -o "$work/verifier"
"$bin" test-evm "$work/verifier" "$work/proof.json"

python3 - "$work" contracts/test/fixtures/tictactoe_batch.json <<'PY'
import json, sys
sys.path.insert(0, "scripts")
from public_values import decode, slot_bits

work, dest = sys.argv[1:]
verifier = json.load(open(f"{work}/verifier/verifier.json"))
p = json.load(open(f"{work}/proof.json"))
pub = [int(x, 16) for x in p["public_inputs"]]
proof = bytearray.fromhex(p["proof"][2:])
proof[len(proof) // 2] ^= 0xFF
cells, scores = decode(p, "input"), decode(p, "output")
off, one = p["public_offset"], 1 << p["scale_bits"]
boards, moves = [], []
for i in range(p["batch"]):
    board = [int(v) for v in json.load(open(f"{work}/board{i + 1}.json"))["input_data"][0]]
    assert cells[9 * i:9 * i + 9] == [off + v * one for v in board], "board encoding"
    s = scores[9 * i:9 * i + 9]
    empty = [c for c in range(9) if board[c] == 0]
    boards.append(board)
    moves.append(max(empty, key=lambda c: (s[c], -c)))  # argmax, lowest index on ties
doc = {
    "generated_by": "scripts/make-arena-fixture.sh",
    "batch": p["batch"],
    "scale_bits": p["scale_bits"],
    "public_offset": off,
    "slot_bits": slot_bits(p),
    "num_public": verifier["num_public"],
    "runtime_size": verifier["runtime_size"],
    "verifier_bytecode": verifier["bytecode"],
    "proof": p["proof"],
    "tampered_proof": "0x" + proof.hex(),
    "public_inputs": pub,
    "encoded_outputs": scores,
    "boards": boards,
    "ai_moves": moves,
}
with open(dest, "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"wrote {dest}: batch {doc['batch']}, {len(pub)} public inputs, AI moves {moves}")
PY
