#!/usr/bin/env python3
"""Generate the RockyBot-shaped test model and sample inputs (no torch needed).

RockyBot is a small trading-signal MLP: a normalized window of 36 recent prices goes in,
12 scores come out.  This script rebuilds that *shape* with onnx.helper and seeded numpy
weights (initialised like an nn.Linear net: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
biases scaled down), so the result is reproducible and has realistic magnitudes:

    input "input" float32 [1,36]
      -> fc1 Gemm(36->128) -> relu1 Relu
      -> fc2 Gemm(128->64) -> relu2 Relu
      -> fc3 Gemm(64->12)
      -> output "output" float32 [1,12]

Writes (deterministically; running it twice gives identical bytes):
    test-vectors/rockybot/network.onnx
    test-vectors/rockybot/input.json    {"input_data": [[36 floats]], "output_data": [[12 floats]]}
    test-vectors/rockybot/input2.json   (a second, different price window)

output_data is computed with onnxruntime (and cross-checked against a numpy forward pass).

Usage:  scripts/setup-python.sh && .tools/venv/bin/python scripts/export_rockybot.py [--out DIR]
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

WEIGHT_SEED = 0x5EED_0B07  # fixed: weights
LAYERS = [("fc1", 36, 128), ("fc2", 128, 64), ("fc3", 64, 12)]
INPUT_DECIMALS = 6  # sample inputs are rounded so the JSON text is exact and readable

# (seed, drift) for each sample price window
SAMPLES = {
    "input.json": (1001, +0.15),
    "input2.json": (2002, -0.25),
}


def price_window(seed: int, drift: float, n: int = 36) -> np.ndarray:
    """A smooth random-walk price series, min-max normalised to [-1, 1]."""
    rng = np.random.default_rng(seed)
    velocity, price, prices = 0.0, 100.0, []
    for _ in range(n):
        velocity = 0.8 * velocity + 0.2 * (drift + rng.normal(0.0, 1.0))  # momentum => smooth
        price += velocity
        prices.append(price)
    p = np.asarray(prices, dtype=np.float64)
    norm = 2.0 * (p - p.min()) / (p.max() - p.min()) - 1.0
    return np.round(norm, INPUT_DECIMALS)


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "test-vectors", "rockybot"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    params, sess = mlp_onnx.export(LAYERS, WEIGHT_SEED, "rockybot", "RockyBot-shaped MLP 36->128->64->12 with seeded synthetic weights", out)

    for fname, (seed, drift) in SAMPLES.items():
        x64 = price_window(seed, drift)
        x = x64.astype(np.float32).reshape(1, -1)
        (y,) = sess.run(["output"], {"input": x})
        ref = mlp_onnx.numpy_forward(LAYERS, params, x)
        err = float(np.max(np.abs(y.astype(np.float64) - ref)))
        assert err < 1e-5, f"onnxruntime vs numpy mismatch: {err}"
        doc = {
            # rounded decimals: parsing as f64 then casting to f32 gives exactly the ORT input
            "input_data": [[float(v) for v in x64]],
            # exact float32 values produced by onnxruntime
            "output_data": [[float(v) for v in y.reshape(-1)]],
        }
        with open(os.path.join(out, fname), "w", encoding="utf-8") as f:
            f.write(json.dumps(doc) + "\n")
        print(f"{fname}: input range [{x.min():+.3f}, {x.max():+.3f}], "
              f"output {np.array2string(y.reshape(-1), precision=4, max_line_width=200)}, "
              f"|ort - numpy| = {err:.2e}")

    n_params = sum(w.size + b.size for w, b in params.values())
    print(f"wrote {out}/network.onnx ({os.path.getsize(os.path.join(out, 'network.onnx'))} bytes, {n_params} params, "
          f"opset {mlp_onnx.OPSET}, ir_version {mlp_onnx.IR_VERSION}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
