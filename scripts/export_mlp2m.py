"""The 2M-weight MLP of the split benchmark (scripts/bench_split.py).

784 -> 1024 -> 1024 -> 10 (1,861,632 weights, an MNIST-sized dense net),
ReLU between layers, seeded synthetic weights (scripts/mlp_onnx.py). As one
circuit it needs k = 20; `compile --max-k 17..19` splits it. Not committed
(7.4 MB of weights): the benchmark exports it, the same bytes every time.

Usage: .tools/venv/bin/python scripts/export_mlp2m.py OUT_DIR
Writes OUT_DIR/network.onnx and OUT_DIR/input.json (a seeded sample with
onnxruntime's output as output_data).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp_onnx  # noqa: E402  (sibling module)

LAYERS = [("fc1", 784, 1024), ("fc2", 1024, 1024), ("fc3", 1024, 10)]
WEIGHT_SEED = 41
INPUT_SEED = 42


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    params, sess = mlp_onnx.export(LAYERS, WEIGHT_SEED, "mlp2m", "784->1024->1024->10 MLP with seeded synthetic weights", out)
    # Pixel-like inputs in [0, 1).
    x = np.random.default_rng(INPUT_SEED).uniform(0, 1, size=(1, 784)).astype(np.float32)
    y = sess.run(None, {"input": x})[0]
    ref = mlp_onnx.numpy_forward(LAYERS, params, x)
    assert np.allclose(y, ref, atol=1e-3), (y, ref)
    with open(os.path.join(out, "input.json"), "w") as f:
        json.dump({"input_data": [x.flatten().tolist()], "output_data": [y.flatten().tolist()]}, f)
    weights = sum(w.size for w, _ in params.values())
    print(f"wrote {out}/network.onnx ({weights:,} weights) and input.json")


if __name__ == "__main__":
    main()
