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
from onnx import TensorProto, helper, numpy_helper

WEIGHT_SEED = 0x7AC_713  # fixed: weights; picked so both sample turns have a clear argmax
LAYERS = [("fc1", 9, 32), ("fc2", 32, 9)]
OPSET = 13
IR_VERSION = 8  # supported by every onnxruntime >= 1.10 and by tract
BIAS_SCALE = 0.1  # biases ~ 0.1 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in export_rockybot.py
MIN_MARGIN = 0.02  # best empty cell must beat the runner-up by this much (>> quantization error)

HUMAN, EMPTY, AI = -1, 0, 1
HUMAN_OPENING = 4  # the human's first move: the centre
HUMAN_PREFERENCE = [0, 2, 6, 8, 1, 3, 5, 7]  # the human's second move: first free cell here


def make_weights() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(WEIGHT_SEED)
    params = {}
    for name, fan_in, fan_out in LAYERS:
        bound = 1.0 / np.sqrt(fan_in)
        # PyTorch nn.Linear layout: weight [out, in]; Gemm uses transB=1.
        w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
        b = (BIAS_SCALE * rng.uniform(-bound, bound, size=(fan_out,))).astype(np.float32)
        params[name] = (w, b)
    return params


def make_model(params: dict[str, tuple[np.ndarray, np.ndarray]]) -> onnx.ModelProto:
    nodes, inits = [], []
    prev = "input"
    for i, (name, _fan_in, _fan_out) in enumerate(LAYERS, start=1):
        w, b = params[name]
        inits += [
            numpy_helper.from_array(w, f"{name}.weight"),
            numpy_helper.from_array(b, f"{name}.bias"),
        ]
        last = i == len(LAYERS)
        gemm_out = "output" if last else f"{name}_out"
        nodes.append(
            helper.make_node(
                "Gemm",
                [prev, f"{name}.weight", f"{name}.bias"],
                [gemm_out],
                name=name,
                alpha=1.0,
                beta=1.0,
                transB=1,
            )
        )
        if not last:
            nodes.append(helper.make_node("Relu", [gemm_out], [f"relu{i}_out"], name=f"relu{i}"))
            prev = f"relu{i}_out"

    graph = helper.make_graph(
        nodes,
        "tictactoe",
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, LAYERS[0][1]])],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, LAYERS[-1][2]])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="zkml-evm/scripts/export_tictactoe.py",
        producer_version="1",
        doc_string="tic-tac-toe policy MLP 9->32->9 with seeded synthetic weights",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def numpy_forward(params, x: np.ndarray) -> np.ndarray:
    h = x.astype(np.float64)
    for i, (name, _, _) in enumerate(LAYERS, start=1):
        w, b = params[name]
        h = h @ w.astype(np.float64).T + b.astype(np.float64)
        if i < len(LAYERS):
            h = np.maximum(h, 0.0)
    return h


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
    os.makedirs(out, exist_ok=True)

    params = make_weights()
    model = make_model(params)
    model_bytes = model.SerializeToString(deterministic=True)
    with open(os.path.join(out, "network.onnx"), "wb") as f:
        f.write(model_bytes)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # deterministic reductions
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])

    board = [EMPTY] * 9
    board[HUMAN_OPENING] = HUMAN
    for fname in ("input.json", "input2.json"):
        x = np.asarray(board, dtype=np.float32).reshape(1, 9)
        (y,) = sess.run(["output"], {"input": x})
        ref = numpy_forward(params, x)
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
    print(f"wrote {out}/network.onnx ({len(model_bytes)} bytes, {n_params} params, "
          f"opset {OPSET}, ir_version {IR_VERSION}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
