#!/usr/bin/env python3
"""A second set of exporter-made models, written before any of them was tried:
what users of torch.onnx, skl2onnx, onnxmltools and hummingbird commonly
export, into test-vectors/sweep/<name>/ (network.onnx, input.json,
input2.json with onnxruntime's outputs). `zkml-evm suite test-vectors/sweep`
measures how many compile, prove and verify; README records the run.

Run in the export environment described in scripts/export_families.py:

    /tmp/export-venv/bin/python scripts/export_sweep.py [NAME ...]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_families as fam  # noqa: E402  (save, torch_export)

fam.ROOT = os.path.join(fam.ROOT, os.environ.get("SWEEP_DIR", "sweep"))


def rand(shape, seed, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32)


def torch_model(name, build, shape, note, seed=11, **kw):
    import torch

    torch.manual_seed(seed)
    module = build()
    samples = [[rand(shape, seed + i)] for i in range(2)]
    fam.torch_export(name, module, [torch.tensor(samples[0][0])], samples, note, **kw)


def torch_models():
    import torch
    import torch.nn as nn

    # Eval-mode TransformerEncoderLayer takes a fused fast path that
    # torch.onnx cannot export; exporting users turn it off the same way.
    torch.backends.mha.set_fastpath_enabled(False)

    class SmallCnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                   nn.Dropout(0.1), nn.Linear(8, 10))

        def forward(self, x):
            return self.f(x)

    class Conv1dNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv1d(3, 6, 5, padding=2)
            self.l = nn.Linear(6 * 16, 4)

        def forward(self, x):
            return self.l(torch.nn.functional.gelu(self.c(x)).flatten(1))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.layer(x).mean(dim=1))

    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.e = nn.Embedding(20, 6)
            self.l = nn.Linear(6, 2)

        def forward(self, idx):
            return self.l(self.e(idx).mean(dim=1))

    class BiLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.r = nn.LSTM(4, 5, batch_first=True, bidirectional=True)
            self.l = nn.Linear(10, 2)

        def forward(self, x):
            y, _ = self.r(x)
            return self.l(y[:, -1])

    class Gru2(nn.Module):
        def __init__(self):
            super().__init__()
            self.r = nn.GRU(3, 4, num_layers=2, batch_first=True)

        def forward(self, x):
            return self.r(x)[0]

    class Deconv(nn.Module):
        def __init__(self):
            super().__init__()
            self.d = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)

        def forward(self, x):
            return torch.sigmoid(self.d(x))

    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(16, 8), nn.LeakyReLU(0.1), nn.Linear(8, 3))
            self.dec = nn.Sequential(nn.Linear(3, 8), nn.ELU(), nn.Linear(8, 16), nn.Tanh())

        def forward(self, x):
            return self.dec(self.enc(x))

    class LayerNormMlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Linear(10, 16), nn.LayerNorm(16), nn.SiLU(), nn.Linear(16, 4), nn.Softmax(dim=-1))

        def forward(self, x):
            return self.f(x)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 8)
            self.b = nn.Linear(8, 8)

        def forward(self, x):
            h = x + torch.relu(self.a(x))
            return torch.cat([h, torch.clamp(self.b(h), -0.5, 0.5)], dim=-1)

    class DepthwiseNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
            self.pw = nn.Conv2d(4, 2, 1)
            self.bn = nn.BatchNorm2d(2)

        def forward(self, x):
            return nn.functional.avg_pool2d(nn.functional.hardswish(self.bn(self.pw(self.dw(x)))), 2)

    torch_model("cnn_bn_pool", SmallCnn, (1, 1, 10, 10), "torch.onnx: Conv, BatchNorm2d, ReLU, MaxPool2d, Conv, AdaptiveAvgPool2d, Flatten, Dropout, Linear")
    torch_model("conv1d_gelu", Conv1dNet, (1, 3, 16), "torch.onnx: Conv1d (padding 2), GELU, Flatten, Linear")
    torch_model("transformer_encoder", Encoder, (1, 5, 8), "torch.onnx: nn.TransformerEncoderLayer (d_model 8, 2 heads), mean over tokens, Linear")
    torch_model("bilstm", BiLstm, (1, 6, 4), "torch.onnx: bidirectional LSTM, last step, Linear")
    torch_model("gru_two_layers", Gru2, (1, 5, 3), "torch.onnx: two-layer GRU, full sequence out")
    torch_model("conv_transpose", Deconv, (1, 2, 4, 4), "torch.onnx: ConvTranspose2d (stride 2, output_padding 1), Sigmoid")
    torch_model("autoencoder", Autoencoder, (1, 16), "torch.onnx: Linear, LeakyReLU, Linear | Linear, ELU, Linear, Tanh")
    torch_model("layernorm_mlp", LayerNormMlp, (1, 10), "torch.onnx: Linear, LayerNorm, SiLU, Linear, Softmax")
    torch_model("residual_concat", Residual, (1, 8), "torch.onnx: residual add, Concat, clamp")
    torch_model("depthwise_hardswish", DepthwiseNet, (1, 4, 6, 6), "torch.onnx: depthwise Conv2d (groups 4), pointwise Conv2d, BatchNorm2d, Hardswish, AvgPool2d")

    torch.manual_seed(12)
    idx = [[np.array([[1, 4, 7, 19]], dtype=np.int64)], [np.array([[0, 3, 3, 11]], dtype=np.int64)]]
    fam.torch_export("embedding_bag", Embed(), [torch.tensor(idx[0][0])], idx,
                     "torch.onnx: nn.Embedding (Gather on int64 token ids), mean, Linear")


def sklearn_models():
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler
    from sklearn.svm import SVC, SVR
    from sklearn.tree import DecisionTreeRegressor
    from sklearn.base import is_classifier
    from skl2onnx import to_onnx

    rng = np.random.default_rng(21)
    X = rng.uniform(-1, 1, (150, 5)).astype(np.float32)
    y_cls = (X[:, 0] + X[:, 1] ** 2 > 0.3).astype(int) + (X[:, 2] > 0.5).astype(int)
    y_reg = (X[:, 0] - 2 * X[:, 3] + 0.5 * np.sin(3 * X[:, 1])).astype(np.float32)
    models = {
        "sk_logistic_pipeline": (make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), y_cls, "StandardScaler + LogisticRegression (3 classes)"),
        "sk_ridge_minmax": (make_pipeline(MinMaxScaler(), Ridge()), y_reg, "MinMaxScaler + Ridge"),
        "sk_linear_regression": (LinearRegression(), y_reg, "LinearRegression"),
        "sk_mlp_classifier": (MLPClassifier(hidden_layer_sizes=(12,), max_iter=400, random_state=0), y_cls, "MLPClassifier(12)"),
        "sk_mlp_regressor": (MLPRegressor(hidden_layer_sizes=(10, 6), activation="tanh", max_iter=400, random_state=0), y_reg, "MLPRegressor(10, 6, tanh)"),
        "sk_tree_regressor": (DecisionTreeRegressor(max_depth=4, random_state=0), y_reg, "DecisionTreeRegressor(max_depth=4)"),
        "sk_forest_regressor": (RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0), y_reg, "RandomForestRegressor(3 trees, depth 3)"),
        "sk_gbm_regressor": (GradientBoostingRegressor(n_estimators=5, max_depth=2, random_state=0), y_reg, "GradientBoostingRegressor(5, depth 2)"),
        "sk_svc_rbf": (SVC(kernel="rbf", C=1.0), y_cls, "SVC(rbf)"),
        "sk_svr_linear": (SVR(kernel="linear"), y_reg, "SVR(linear)"),
    }
    for name, (m, y, what) in models.items():
        m.fit(X, y)
        # Probabilities as a tensor, not ZipMap's list of dicts (the usual export setting).
        options = {id(m): {"zipmap": False}} if is_classifier(m) else None
        onx = to_onnx(m, X[:1], target_opset={"": 15, "ai.onnx.ml": 3}, options=options)
        fam.save(name, onx, [[X[i:i + 1]] for i in (0, 9)], f"skl2onnx, opset 15: {what} on 5 features")


def boosted_models():
    import xgboost
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    rng = np.random.default_rng(31)
    X = rng.uniform(-1, 1, (120, 6)).astype(np.float32)
    y = (X[:, 0] * 2 - X[:, 4]).astype(np.float32)
    m = xgboost.XGBRegressor(n_estimators=6, max_depth=3, random_state=0)
    m.fit(X, y)
    onx = convert_xgboost(m, initial_types=[("input", FloatTensorType([None, 6]))], target_opset=15)
    fam.save("xgb_regressor", onx, [[X[i:i + 1]] for i in (0, 5)], "onnxmltools, opset 15: XGBRegressor(6 trees, depth 3) on 6 features")


def hummingbird_models():
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(41)
    X = rng.uniform(-1, 1, (120, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    m = GradientBoostingClassifier(n_estimators=4, max_depth=2, random_state=0).fit(X, y)
    fam.hb_export("hb_gbm_classifier", m, X, "GradientBoostingClassifier(4, depth 2)")


def svm_models():
    """Added after the first sweep found SVMRegressor and SVMClassifier
    missing: every kernel, one-class, binary and three-class one-vs-one."""
    from sklearn.svm import SVC, SVR, OneClassSVM
    from skl2onnx import to_onnx

    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (80, 3)).astype(np.float32)
    y = (np.sin(2 * X[:, 0]) + X[:, 1]).astype(np.float32)
    y2 = (X[:, 0] + X[:, 1] ** 2 > 0.2).astype(int)
    y3 = y2 + (X[:, 2] > 0.4).astype(int)
    opset = {"": 15, "ai.onnx.ml": 3}
    samples = [[X[i:i + 1]] for i in (0, 5)]
    for name, m, target in [("svr_rbf", SVR(kernel="rbf", gamma=0.5), y), ("svr_poly", SVR(kernel="poly", degree=2), y),
                            ("svr_sigmoid", SVR(kernel="sigmoid", gamma=0.3), y)]:
        fam.save(name, to_onnx(m.fit(X, target), X[:1], target_opset=opset), samples, f"skl2onnx, opset 15: {m!r}")
    m = OneClassSVM(gamma=0.5).fit(X)
    fam.save("one_class_svm", to_onnx(m, X[:1], target_opset=opset), samples, "skl2onnx, opset 15: OneClassSVM(gamma=0.5)")
    for name, m, target in [("svc_binary_rbf", SVC(kernel="rbf"), y2), ("svc_poly3", SVC(kernel="poly", degree=3), y3),
                            ("svc_linear_binary", SVC(kernel="linear"), y2)]:
        onx = to_onnx(m.fit(X, target), X[:1], target_opset=opset, options={id(m): {"zipmap": False}})
        fam.save(name, onx, samples, f"skl2onnx, opset 15: {m!r}")


def third_round():
    """A third round, written before it was run: generators, U-Net-style skips,
    normalisation and pooling variants, decoders, and more scikit-learn."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.backends.mha.set_fastpath_enabled(False)  # as in torch_models

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4 * 4 * 4)
            self.up = nn.Sequential(nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                    nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1), nn.Tanh())

        def forward(self, z):
            return self.up(self.fc(z).view(-1, 4, 4, 4))

    class UNetLite(nn.Module):
        def __init__(self):
            super().__init__()
            self.d1 = nn.Conv2d(1, 4, 3, padding=1)
            self.d2 = nn.Conv2d(4, 8, 3, padding=1, stride=2)
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.u1 = nn.Conv2d(12, 4, 3, padding=1)
            self.out = nn.Conv2d(4, 1, 1)

        def forward(self, x):
            a = F.relu(self.d1(x))
            b = F.relu(self.d2(a))
            return torch.sigmoid(self.out(F.relu(self.u1(torch.cat([a, self.up(b)], dim=1)))))

    class Activations(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2, self.l3 = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 4)
            self.prelu = nn.PReLU(8)

        def forward(self, x):
            h = F.selu(self.l1(x))
            h = self.prelu(F.hardtanh(self.l2(h)) + F.softplus(h))
            return F.log_softmax(self.l3(h), dim=-1)

    class DilatedGrouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(2, 4, 3, dilation=2, padding=2)
            self.c2 = nn.Conv2d(4, 4, 3, groups=2, padding=1)
            self.gn = nn.GroupNorm(2, 4)

        def forward(self, x):
            return F.avg_pool2d(self.gn(F.relu(self.c2(F.relu(self.c1(x))))), 3, stride=2, ceil_mode=True)

    class PixelShuffle(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 4, 3, padding=1)
            self.ps = nn.PixelShuffle(2)

        def forward(self, x):
            return self.ps(self.c(x))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)

        def forward(self, x):
            return self.layer(x, x)

    class Sdpa(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(8, 24)

        def forward(self, x):
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    class Misc(nn.Module):
        def forward(self, x):
            n = F.normalize(x, dim=-1)
            c = torch.cumsum(n, dim=-1)
            top = torch.topk(c, 2, dim=-1).values
            return torch.cat([torch.where(c > 0, c, c * 0.1), top, torch.pow(x, 2).amax(dim=-1, keepdim=True)], dim=-1)

    class Conv1dPool(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv1d(2, 4, 3)
            self.n = nn.InstanceNorm1d(4)

        def forward(self, x):
            return F.max_pool1d(self.n(F.relu(self.c(x))), 2).argmax(dim=-1)

    torch_model("gan_generator", Generator, (1, 8), "torch.onnx: Linear, view, ConvTranspose2d x2 with BatchNorm2d, ReLU, Tanh")
    torch_model("unet_lite", UNetLite, (1, 1, 8, 8), "torch.onnx: strided conv, bilinear Upsample, skip Concat, Sigmoid")
    torch_model("activations_mix", Activations, (1, 6), "torch.onnx: SELU, Hardtanh, Softplus, PReLU, LogSoftmax")
    torch_model("dilated_grouped", DilatedGrouped, (1, 2, 8, 8), "torch.onnx: dilated Conv2d, grouped Conv2d, GroupNorm, AvgPool2d ceil_mode")
    torch_model("pixel_shuffle", PixelShuffle, (1, 1, 4, 4), "torch.onnx: Conv2d, PixelShuffle (DepthToSpace)")
    torch_model("transformer_decoder", Decoder, (1, 4, 8), "torch.onnx: nn.TransformerDecoderLayer (self and cross attention)")
    torch_model("sdpa_causal", Sdpa, (1, 4, 8), "torch.onnx: F.scaled_dot_product_attention(is_causal=True)")
    torch_model("misc_ops", Misc, (1, 6), "torch.onnx: F.normalize, cumsum, topk, where, pow, amax")
    torch_model("conv1d_instnorm_argmax", Conv1dPool, (1, 2, 10), "torch.onnx: Conv1d, InstanceNorm1d, max_pool1d, argmax")

    from sklearn.decomposition import PCA
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier
    from skl2onnx import to_onnx
    import xgboost
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    rng = np.random.default_rng(51)
    X = rng.uniform(-1, 1, (120, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] + X[:, 2] > 0.5).astype(int)
    opset = {"": 15, "ai.onnx.ml": 3}
    samples = [[X[i:i + 1]] for i in (0, 4)]
    for name, m in [("sk_pca_logistic", make_pipeline(PCA(3), LogisticRegression())),
                    ("sk_gaussian_nb", GaussianNB()),
                    ("sk_knn", KNeighborsClassifier(3)),
                    ("sk_extra_trees", ExtraTreesClassifier(n_estimators=3, max_depth=3, random_state=0)),
                    ("sk_tree_deep", DecisionTreeClassifier(max_depth=7, random_state=0))]:
        onx = to_onnx(m.fit(X, y), X[:1], target_opset=opset, options={id(m): {"zipmap": False}} if name != "sk_pca_logistic" else {id(m.steps[-1][1]): {"zipmap": False}})
        fam.save(name, onx, samples, f"skl2onnx, opset 15: {m!r}")
    xm = xgboost.XGBClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, y)
    fam.save("xgb_multiclass", convert_xgboost(xm, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=15),
             samples, "onnxmltools, opset 15: XGBClassifier(4 trees, depth 3), 3 classes")


SETS = {"torch": torch_models, "sklearn": sklearn_models, "boosted": boosted_models, "hummingbird": hummingbird_models,
        "svm": svm_models, "third": third_round}

if __name__ == "__main__":
    for name in sys.argv[1:] or SETS:
        SETS[name]()
