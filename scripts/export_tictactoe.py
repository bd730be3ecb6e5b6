#!/usr/bin/env python3
"""Generate the tic-tac-toe policy test model and two sample boards (no torch needed).

The policy scores the nine cells of a board seen from the AI's side:

    input "input" float32 [1,9]   cell values: -1 opponent (human), 0 empty, 1 AI
      -> fc1 Gemm(9->32) -> relu1 Relu
      -> fc2 Gemm(32->9)
      -> output "output" float32 [1,9]   one score per cell

The AI plays the argmax of the scores over the EMPTY cells (lowest index on a tie), which
is exactly what contracts/src/TicTacToe.sol checks on chain.  Weights are seeded numpy
(initialised like an nn.Linear net, as in scripts/export_rockybot.py), so the policy is
reproducible, not good: it is a fixture for proving and verifying, not a strong player.

The two samples are consecutive AI turns of one game, so a test can replay it on chain:

    input.json    the human opened in the centre; AI to move
    input2.json   after the AI's (argmax) reply and the human's second move; AI to move

Writes (deterministically; running it twice gives identical bytes):
    test-vectors/tictactoe/network.onnx
    test-vectors/tictactoe/input.json   {"input_data": [[9 floats]], "output_data": [[9 floats]]}
    test-vectors/tictactoe/input2.json

output_data is computed with onnxruntime (and cross-checked against a numpy forward pass);
the script fails if the best empty cell does not beat the runner-up by MIN_MARGIN, so that
quantization cannot change the AI's move.

Usage:  scripts/setup-python.sh && .tools/venv/bin/python scripts/export_tictactoe.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp_onnx  # noqa: E402  (sibling module)

WEIGHT_SEED = 0x7AC_713  # fixed: weights; picked so both sample turns have a clear argmax
LAYERS = [("fc1", 9, 32), ("fc2", 32, 9)]
MIN_MARGIN = 0.02  # best empty cell must beat the runner-up by this much (>> quantization error)

HUMAN, EMPTY, AI = -1, 0, 1
HUMAN_OPENING = 4  # the human's first move: the centre
HUMAN_PREFERENCE = [0, 2, 6, 8, 1, 3, 5, 7]  # the human's second move: first free cell here


def ai_move(board: list[int], scores: np.ndarray) -> tuple[int, float]:
    """Argmax of the scores over empty cells (lowest index on a tie) and its margin."""
    empty = [i for i in range(9) if board[i] == EMPTY]
    best = max(empty, key=lambda i: (scores[i], -i))
    rest = [scores[i] for i in empty if i != best]
    margin = float(scores[best] - max(rest)) if rest else float("inf")
    return best, margin


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "test-vectors", "tictactoe"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    params, sess = mlp_onnx.export(LAYERS, WEIGHT_SEED, "tictactoe", "tic-tac-toe policy MLP 9->32->9 with seeded synthetic weights", out)

    board = [EMPTY] * 9
    board[HUMAN_OPENING] = HUMAN
    for fname in ("input.json", "input2.json"):
        x = np.asarray(board, dtype=np.float32).reshape(1, 9)
        (y,) = sess.run(["output"], {"input": x})
        ref = mlp_onnx.numpy_forward(LAYERS, params, x)
        err = float(np.max(np.abs(y.astype(np.float64) - ref)))
        assert err < 1e-5, f"onnxruntime vs numpy mismatch: {err}"
        scores = y.reshape(-1)
        move, margin = ai_move(board, scores)
        assert margin >= MIN_MARGIN, f"{fname}: argmax margin {margin:.4f} < {MIN_MARGIN}"
        doc = {
            "input_data": [[float(v) for v in board]],
            # exact float32 values produced by onnxruntime
            "output_data": [[float(v) for v in scores]],
        }
        with open(os.path.join(out, fname), "w", encoding="utf-8") as f:
            f.write(json.dumps(doc) + "\n")
        print(f"{fname}: board {board} -> AI plays {move} (margin {margin:.4f}), "
              f"scores {np.array2string(scores, precision=4, max_line_width=200)}")
        # advance the game: the AI's reply, then the human's next move
        board[move] = AI
        board[next(c for c in HUMAN_PREFERENCE if board[c] == EMPTY)] = HUMAN

    n_params = sum(w.size + b.size for w, b in params.values())
    print(f"wrote {out}/network.onnx ({os.path.getsize(os.path.join(out, 'network.onnx'))} bytes, {n_params} params, "
          f"opset {mlp_onnx.OPSET}, ir_version {mlp_onnx.IR_VERSION}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
