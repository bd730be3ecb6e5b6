#!/usr/bin/env python3
"""Export the model families users' exporters produce into test-vectors/.

Each family gets test-vectors/<name>/network.onnx and input.json (and an
input2.json), with `output_data` computed by onnxruntime on the exported
file. The exports are committed; CI does not run this script (it needs
torch, scikit-learn, skl2onnx, onnxmltools, xgboost and hummingbird-ml):

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch onnxscript onnx onnxruntime numpy \
        scikit-learn skl2onnx onnxmltools xgboost hummingbird-ml
    /tmp/export-venv/bin/python scripts/export_families.py [NAME ...]

Models are small and trained (or initialised) from fixed seeds, so a rerun
reproduces them. Exports keep what the exporters do by default: a symbolic
batch dimension, int64 label outputs, -inf in attention masks.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test-vectors")
OPSET = 17


def save(name, model_bytes_or_proto, samples, note):
    """Write the model and one input file per sample, with onnxruntime's outputs."""
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "network.onnx")
    if isinstance(model_bytes_or_proto, (bytes, bytearray)):
        with open(path, "wb") as f:
            f.write(model_bytes_or_proto)
    else:
        onnx.save(model_bytes_or_proto, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    types = [i.type for i in sess.get_inputs()]
    for k, sample in enumerate(samples):
        feed = {}
        for n, t, x in zip(names, types, sample):
            dt = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(double)": np.float64}.get(t, np.float32)
            feed[n] = np.asarray(x, dtype=dt)
        outs = sess.run(None, feed)
        data = {
            "input_data": [np.asarray(x, dtype=np.float64).reshape(-1).tolist() for x in sample],
            "output_data": [np.asarray(o, dtype=np.float64).reshape(-1).tolist() for o in outs],
        }
        fname = "input.json" if k == 0 else f"input{k + 1}.json"
        with open(os.path.join(d, fname), "w") as f:
            json.dump(data, f)
    with open(os.path.join(d, "SOURCE"), "w") as f:
        f.write(note.strip() + "\n")
    print(f"{name}: {[i.name for i in sess.get_inputs()]} -> {[o.name for o in sess.get_outputs()]}")


# ---------------------------------------------------------------- torch

def torch_export(name, module, example, samples, note, dynamic=True, input_names=None, output_names=None):
    import io
    import torch

    module.eval()
    input_names = input_names or [f"x{i}" for i in range(len(example))]
    output_names = output_names or ["y"]
    axes = {n: {0: "batch"} for n in input_names + output_names} if dynamic else None
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, tuple(example), buf, opset_version=OPSET, input_names=input_names,
                          output_names=output_names, dynamic_axes=axes, dynamo=False)
    save(name, buf.getvalue(), samples, note)


def gpt_block(mask_value=float("-inf"), name="gpt_block"):
    import torch
    import torch.nn as nn

    torch.manual_seed(1)

    class Block(nn.Module):
        """One pre-norm GPT block: causal self-attention and an MLP."""

        def __init__(self, d=16, heads=2, seq=8):
            super().__init__()
            self.heads, self.d = heads, d
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.register_buffer("mask", torch.tril(torch.ones(seq, seq)).view(1, 1, seq, seq))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(self.d, dim=2)
            hs = c // self.heads
            q = q.view(b, t, self.heads, hs).transpose(1, 2)
            k = k.view(b, t, self.heads, hs).transpose(1, 2)
            v = v.view(b, t, self.heads, hs).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / hs ** 0.5)
            att = att.masked_fill(self.mask[:, :, :t, :t] == 0, mask_value)
            att = torch.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
            x = x + self.proj(y)
            return x + self.mlp(self.ln2(x))

    rng = np.random.default_rng(1)
    samples = [[rng.uniform(-1, 1, (1, 8, 16)).astype(np.float32)] for _ in range(2)]
    torch_export(name, Block(), [torch.tensor(samples[0][0])], samples,
                 f"torch.onnx (TorchScript exporter), opset 17: one pre-norm GPT block, d=16, 2 heads, causal mask by masked_fill({mask_value})")


def multihead_attention():
    import torch
    import torch.nn as nn

    torch.manual_seed(2)

    class MHA(nn.Module):
        def __init__(self):
            super().__init__()
            self.att = nn.MultiheadAttention(12, 3, batch_first=True)

        def forward(self, x):
            return self.att(x, x, x, need_weights=False)[0]

    rng = np.random.default_rng(2)
    samples = [[rng.uniform(-1, 1, (1, 6, 12)).astype(np.float32)] for _ in range(2)]
    torch_export("mha", MHA(), [torch.tensor(samples[0][0])], samples,
                 "torch.onnx, opset 17: nn.MultiheadAttention(12, 3, batch_first=True), self-attention")


def recurrent(kind):
    import torch
    import torch.nn as nn

    torch.manual_seed(3)

    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](4, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1, :])

    rng = np.random.default_rng(3)
    samples = [[rng.uniform(-1, 1, (1, 5, 4)).astype(np.float32)] for _ in range(2)]
    torch_export(kind, Seq(), [torch.tensor(samples[0][0])], samples,
                 f"torch.onnx, opset 17: nn.{kind.upper()}(4, 8, batch_first=True) over 5 steps, Linear(8, 3) on the last step")


def resnet_upsample():
    import torch
    import torch.nn as nn

    torch.manual_seed(4)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.norm = nn.InstanceNorm2d(4, affine=True)
            self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
            self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.head = nn.Conv2d(4, 2, 1)

        def forward(self, x):
            h = torch.relu(self.norm(self.stem(x)))
            h = torch.relu(h + self.block(h))
            return self.head(self.up(self.down(h)))

    rng = np.random.default_rng(4)
    samples = [[rng.uniform(-1, 1, (1, 1, 8, 8)).astype(np.float32)] for _ in range(2)]
    torch_export("resnet_upsample", Net(), [torch.tensor(samples[0][0])], samples,
                 "torch.onnx, opset 17: conv stem, InstanceNorm2d, one residual block, stride-2 conv, nearest Upsample x2, 1x1 head")


def chess_policy():
    """A chess-policy-sized convnet: 12 piece planes on an 8x8 board in, 64 from-square
    logits and a value out (833 public values, about 0.6M multiply-adds)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(7)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(12, 24, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(24, 24, 3, padding=1), nn.ReLU())
            self.policy = nn.Conv2d(24, 1, 1)
            self.value = nn.Linear(24 * 64, 1)

        def forward(self, x):
            h = self.body(x)
            return torch.cat([self.policy(h).flatten(1), torch.tanh(self.value(h.flatten(1)))], dim=1)

    rng = np.random.default_rng(7)

    def board():
        planes = np.zeros((1, 12, 8, 8), dtype=np.float32)
        for square in rng.choice(64, size=24, replace=False):
            planes[0, rng.integers(12), square // 8, square % 8] = 1.0
        return planes

    samples = [[board()] for _ in range(2)]
    torch_export("chess_policy", Net(), [torch.tensor(samples[0][0])], samples,
                 "torch.onnx, opset 17: 12x8x8 piece planes -> two 3x3 convs (24 channels) -> 64 policy logits + tanh value")


def two_inputs():
    import torch
    import torch.nn as nn

    torch.manual_seed(5)

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(6, 8), nn.Linear(3, 8)
            self.out = nn.Linear(8, 2)

        def forward(self, x, y):
            return self.out(torch.relu(self.a(x) + self.b(y)))

    rng = np.random.default_rng(5)
    samples = [[rng.uniform(-1, 1, (1, 6)).astype(np.float32), rng.uniform(-1, 1, (1, 3)).astype(np.float32)] for _ in range(2)]
    torch_export("two_inputs", Two(), [torch.tensor(s) for s in samples[0]], samples,
                 "torch.onnx, opset 17: two inputs (6 and 3 features) summed after their own Linear, ReLU, Linear(8, 2)",
                 input_names=["x", "y"], output_names=["out"])


# ------------------------------------------------------ scikit-learn & co

def iris_like(n=120, seed=6):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 4)).astype(np.float32)
    y = ((X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.3).astype(int))
    return X, y


def sk_samples(X):
    return [[X[i:i + 1]] for i in (0, 7)]


def sklearn_models():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier
    from skl2onnx import to_onnx

    X, y = iris_like()
    models = {
        "sk_tree": (DecisionTreeClassifier(max_depth=4, random_state=0), "DecisionTreeClassifier(max_depth=4)"),
        "sk_forest": (RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0), "RandomForestClassifier(4 trees, depth 3)"),
        "sk_linear_svm": (LinearSVC(random_state=0), "LinearSVC"),
    }
    for name, (m, what) in models.items():
        m.fit(X, y)
        onx = to_onnx(m, X[:1], target_opset={"": 15, "ai.onnx.ml": 3}, options={id(m): {"zipmap": False}} if hasattr(m, "predict_proba") else None)
        save(name, onx, sk_samples(X), f"skl2onnx, opset 15 / ai.onnx.ml 3: scikit-learn {what} on 4 features, 3 classes (zipmap off)")
        hb_export(f"hb_{name[3:]}", m, X, what)


def hb_export(name, m, X, what):
    import torch
    from hummingbird.ml import convert

    # hummingbird calls torch.onnx.export with dynamic_axes, which newer
    # torch sends to the dynamo exporter unless told otherwise.
    export = torch.onnx.export
    torch.onnx.export = lambda *a, **k: export(*a, **{**k, "dynamo": False})
    try:
        hb = convert(m, "onnx", X[:1], extra_config={"onnx_target_opset": 15, "tree_implementation": "gemm"})
    finally:
        torch.onnx.export = export
    save(name, hb.model, sk_samples(X), f"hummingbird-ml, tree_implementation gemm, ONNX opset 15: scikit-learn {what}")


def xgboost_model():
    import xgboost
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    X, y = iris_like()
    m = xgboost.XGBClassifier(n_estimators=5, max_depth=3, random_state=0)
    m.fit(X, y)
    onx = convert_xgboost(m, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=15)
    save("xgb_classifier", onx, sk_samples(X), "onnxmltools, opset 15: XGBClassifier(5 trees, depth 3) on 4 features, 3 classes")


FAMILIES = {
    "gpt_block": gpt_block,
    # The same block with a finite mask, which ezkl (no -inf) can compile.
    "gpt_block_finite_mask": lambda: gpt_block(-1e4, "gpt_block_finite_mask"),
    "mha": multihead_attention,
    "lstm": lambda: recurrent("lstm"),
    "gru": lambda: recurrent("gru"),
    "resnet_upsample": resnet_upsample,
    "two_inputs": two_inputs,
    "chess_policy": chess_policy,
    "sklearn": sklearn_models,
    "xgb_classifier": xgboost_model,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or FAMILIES:
        FAMILIES[name]()
