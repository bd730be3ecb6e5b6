"""Seeded synthetic Gemm/ReLU MLPs as ONNX, shared by the export_*.py scripts.

Weights are drawn like PyTorch's nn.Linear initialisation (U(-1/sqrt(fan_in),
1/sqrt(fan_in))), biases a tenth of that; every layer but the last is
followed by a ReLU. Deterministic: same arguments, same bytes.
"""
from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8  # supported by every onnxruntime >= 1.10 and by tract
BIAS_SCALE = 0.1

Layers = list[tuple[str, int, int]]
Params = dict[str, tuple[np.ndarray, np.ndarray]]


def make_weights(layers: Layers, seed: int) -> Params:
    rng = np.random.default_rng(seed)
    params = {}
    for name, fan_in, fan_out in layers:
        bound = 1.0 / np.sqrt(fan_in)
        # PyTorch nn.Linear layout: weight [out, in]; Gemm uses transB=1.
        w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(np.float32)
        b = (BIAS_SCALE * rng.uniform(-bound, bound, size=(fan_out,))).astype(np.float32)
        params[name] = (w, b)
    return params


def make_model(layers: Layers, params: Params, graph_name: str, producer: str, doc: str) -> onnx.ModelProto:
    nodes, inits = [], []
    prev = "input"
    for i, (name, _fan_in, _fan_out) in enumerate(layers, start=1):
        w, b = params[name]
        inits += [
            numpy_helper.from_array(w, f"{name}.weight"),
            numpy_helper.from_array(b, f"{name}.bias"),
        ]
        last = i == len(layers)
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
        graph_name,
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, layers[0][1]])],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, layers[-1][2]])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=producer,
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def numpy_forward(layers: Layers, params: Params, x: np.ndarray) -> np.ndarray:
    """Float64 reference forward pass, to cross-check onnxruntime."""
    h = x.astype(np.float64)
    for i, (name, _, _) in enumerate(layers, start=1):
        w, b = params[name]
        h = h @ w.astype(np.float64).T + b.astype(np.float64)
        if i < len(layers):
            h = np.maximum(h, 0.0)
    return h


def export(layers: Layers, seed: int, name: str, doc: str, out: str) -> tuple[Params, ort.InferenceSession]:
    """Write `out/network.onnx`; return the weights and a deterministic
    onnxruntime session on the model, for computing `output_data`."""
    params = make_weights(layers, seed)
    model = make_model(layers, params, name, f"zkml-evm/scripts/export_{name}.py", doc)
    model_bytes = model.SerializeToString(deterministic=True)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "network.onnx"), "wb") as f:
        f.write(model_bytes)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # deterministic reductions
    return params, ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
