"""A deep, narrow MLP ("tower") for testing split builds.

16 -> 24 -> 24 -> 24 -> 24 -> 24 -> 24 -> 4, ReLU between layers, seeded
synthetic weights (scripts/mlp_onnx.py). Its single circuit needs k = 14;
`compile --max-k 13` cuts it into chunks whose boundaries are one layer
wide (24 values), small enough that tests/split.rs proves it in CI.

Usage: .tools/venv/bin/python scripts/export_tower.py [OUT_DIR]
(default test-vectors/tower). Writes network.onnx and input.json (a seeded
sample with onnxruntime's output as output_data).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp_onnx  # noqa: E402  (sibling module)

WIDTH = 24
LAYERS = [("fc1", 16, WIDTH)] + [(f"fc{i}", WIDTH, WIDTH) for i in range(2, 7)] + [("fc7", WIDTH, 4)]
WEIGHT_SEED = 17
INPUT_SEED = 18


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test-vectors", "tower")
    params, sess = mlp_onnx.export(LAYERS, WEIGHT_SEED, "tower", "deep narrow MLP 16->24x6->4 with seeded synthetic weights", out)
    x = np.random.default_rng(INPUT_SEED).uniform(-1, 1, size=(1, 16)).astype(np.float32)
    y = sess.run(None, {"input": x})[0]
    ref = mlp_onnx.numpy_forward(LAYERS, params, x)
    assert np.allclose(y, ref, atol=1e-4), (y, ref)
    with open(os.path.join(out, "input.json"), "w") as f:
        json.dump({"input_data": [x.flatten().tolist()], "output_data": [y.flatten().tolist()]}, f)
    print(f"wrote {out}/network.onnx and input.json; output {y.flatten().round(4).tolist()}")


if __name__ == "__main__":
    main()
