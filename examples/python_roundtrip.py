#!/usr/bin/env python3
"""The whole round trip from Python: train a tiny classifier with numpy,
export it to ONNX, prove an inference, read the proven outputs, generate the
Solidity verifier, deploy it to a local anvil chain and call `verify` on it.

    pip install .                 # the zkml_evm package (from the repository root)
    pip install onnx numpy
    python examples/python_roundtrip.py [--anvil PATH] [--keep DIR]

scripts/test.sh runs it as a test (anvil from .tools/bin, installed by
scripts/install-evm-tools.sh).
"""

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import zkml_evm as zk

ROOT = Path(__file__).resolve().parents[1]
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's account 0


def train(seed=0, steps=300):
    """A 4 -> 8 -> 3 ReLU classifier on three Gaussian blobs, by gradient descent."""
    rng = np.random.default_rng(seed)
    centres = np.array([[1, 1, 0, 0], [-1, 0, 1, 0], [0, -1, 0, 1]], dtype=np.float64)
    y = rng.integers(0, 3, 300)
    x = centres[y] + 0.3 * rng.standard_normal((300, 4))
    w1, b1 = 0.5 * rng.standard_normal((4, 8)), np.zeros(8)
    w2, b2 = 0.5 * rng.standard_normal((8, 3)), np.zeros(3)
    onehot = np.eye(3)[y]
    for _ in range(steps):
        h = np.maximum(x @ w1 + b1, 0)
        logits = h @ w2 + b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(x)
        gw2, gb2 = h.T @ g, g.sum(0)
        gh = (g @ w2.T) * (h > 0)
        gw1, gb1 = x.T @ gh, gh.sum(0)
        for param, grad in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2)):
            param -= 0.5 * grad
    accuracy = ((np.maximum(x @ w1 + b1, 0) @ w2 + b2).argmax(1) == y).mean()
    return (w1, b1, w2, b2), x, accuracy


def export(weights, path):
    """The classifier as an ONNX graph (MatMul, Add, Relu), as an exporter writes it."""
    w1, b1, w2, b2 = (w.astype(np.float32) for w in weights)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h"]),
        helper.make_node("MatMul", ["h", "w2"], ["l0"]),
        helper.make_node("Add", ["l0", "b2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "blobs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


class Anvil:
    def __init__(self, binary):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("anvil did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anvil", default=str(ROOT / ".tools" / "bin" / "anvil"), help="anvil binary")
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)

    weights, x, accuracy = train()
    print(f"trained a 4-8-3 classifier: accuracy {accuracy:.2f}")
    export(weights, work / "model.onnx")

    sample = x[:1]  # one row, shape (1, 4)
    settings = zk.compile(work / "model.onnx", list(x[:8]), work / "build")
    print(f"compiled: k = {settings['k']}, {len(settings['public_layout'])} public inputs")
    zk.setup(work / "build")
    proof = zk.prove(work / "build", sample)
    w1, b1, w2, b2 = weights
    expected = np.maximum(sample @ w1 + b1, 0) @ w2 + b2
    print(f"proven logits {np.round(proof.outputs, 4).tolist()} (numpy: {np.round(expected.ravel(), 4).tolist()})")
    assert np.allclose(proof.outputs, expected.ravel(), atol=0.02), "proven outputs differ from the model"
    assert zk.verify(work / "build", proof)

    info = zk.gen_verifier(work / "build", work / "verifier")
    print(f"verifier: {info['runtime_size']} bytes, revm gas {zk.test_evm(work / 'verifier', proof)}")

    chain = Anvil(args.anvil)
    try:
        deployed = zk.deploy(work / "verifier", chain.url, private_key=ANVIL_KEY, chain_id=31337)
        address = deployed["address"]
        call = zk.verify_onchain(proof, address, chain.url)
        sent = zk.verify_onchain(proof, address, chain.url, send=True, private_key=ANVIL_KEY)
        print(f"deployed at {address}; verify(): {call['accepted']}, as a transaction: {sent['gas_used']} gas")
        assert call["accepted"] and sent["accepted"]
        doc = proof.document.copy()
        raw = bytearray.fromhex(doc["proof"][2:])
        raw[40] ^= 1
        doc["proof"] = "0x" + raw.hex()
        assert not zk.verify_onchain(zk.Proof(doc), address, chain.url)["accepted"], "a tampered proof passed"
        print("a tampered proof is rejected on chain")
    finally:
        chain.stop()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("round trip ok")


if __name__ == "__main__":
    main()
