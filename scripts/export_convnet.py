"""A convnet too large for one circuit on this machine ("wide_convnet").

1x3x32x32 image -> Conv 3->16 3x3 -> ReLU -> 4 x (Conv 16->16 3x3 -> ReLU)
-> GlobalAveragePool -> Gemm 16->10, seeded synthetic weights (He-scaled so
activations stay O(1) through the depth). Every conv keeps the 32x32 map
(padding 1), so each layer is 16,384 neurons and the four 16->16 convs
carry 9.4M multiply terms: the single circuit needs k = 23, past what
24 GiB holds. A plain `compile` (default --max-k 21) splits it.

Usage: .tools/venv/bin/python scripts/export_convnet.py [OUT_DIR]
(default test-vectors/wide_convnet). Writes network.onnx and input.json (a
seeded sample with onnxruntime's output as output_data).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

CHANNELS = 16
DEEP_CONVS = 4
WEIGHT_SEED = 23
INPUT_SEED = 24


def conv(name: str, x: str, cin: int, cout: int, rng, inits: list) -> tuple[list, str]:
    """A 3x3 same-padded conv and its ReLU; returns the nodes and output name."""
    w = rng.normal(0, np.sqrt(2.0 / (cin * 9)), size=(cout, cin, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.05, size=(cout,)).astype(np.float32)
    inits += [numpy_helper.from_array(w, f"{name}.weight"), numpy_helper.from_array(b, f"{name}.bias")]
    nodes = [
        helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [f"{name}.out"],
                         name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", [f"{name}.out"], [f"{name}.relu"], name=f"{name}.relu"),
    ]
    return nodes, f"{name}.relu"


def build() -> onnx.ModelProto:
    rng = np.random.default_rng(WEIGHT_SEED)
    inits: list = []
    nodes, x = conv("conv1", "input", 3, CHANNELS, rng, inits)
    for i in range(DEEP_CONVS):
        more, x = conv(f"conv{i + 2}", x, CHANNELS, CHANNELS, rng, inits)
        nodes += more
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"))
    fc_w = rng.normal(0, np.sqrt(1.0 / CHANNELS), size=(10, CHANNELS)).astype(np.float32)
    fc_b = rng.normal(0, 0.05, size=(10,)).astype(np.float32)
    inits += [numpy_helper.from_array(fc_w, "fc.weight"), numpy_helper.from_array(fc_b, "fc.bias")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], name="fc", transB=1))
    graph = helper.make_graph(
        nodes,
        "wide_convnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="zkml-evm export_convnet.py")
    model.ir_version = 8  # what onnxruntime and tract read
    onnx.checker.check_model(model)
    return model


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "test-vectors", "wide_convnet")
    os.makedirs(out, exist_ok=True)
    model = build()
    path = os.path.join(out, "network.onnx")
    onnx.save(model, path)
    x = np.random.default_rng(INPUT_SEED).uniform(0, 1, size=(1, 3, 32, 32)).astype(np.float32)
    y = ort.InferenceSession(path).run(None, {"input": x})[0]
    with open(os.path.join(out, "input.json"), "w") as f:
        json.dump({"input_data": [x.flatten().tolist()], "output_data": [y.flatten().tolist()]}, f)
    print(f"wrote {path} and input.json; output {y.flatten().round(4).tolist()}")


if __name__ == "__main__":
    main()
