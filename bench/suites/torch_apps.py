"""PyTorch twins of the Keras-structured applications (issue 14): ResNet-20 (CIFAR), ResNet50 and
InceptionV3, in plain torch.nn (torchvision is not used: its ResNet50 puts the stride on the 3x3
conv and has no conv biases, its InceptionV3 has an aux head and BN with scale).

The twins follow Keras's layer structure so that sinapse's model and the twin compute the same
function once the weights are copied (copy_weights):
- ResNet50: keras/src/applications/resnet.py (v1, ``stack1``/``block1``): the stride on the first
  1x1 conv of each stage and on its 1x1 projection shortcut, conv biases on, BN eps 1.001e-5.
- InceptionV3: keras/src/applications/inception_v3.py (``conv2d_bn``: conv without bias, BN with
  scale=False, eps 1e-3), no aux head, GlobalAveragePooling then Dense.
- ResNet-20: He et al. 2016, section 4.2 (CIFAR), as sinapse.applications.ResNet20 builds it
  (Keras's cifar10_resnet.py example): a 3x3 16-filter stem, 3 stages of 3 basic blocks with
  16/32/64 filters, the first block of stages 2 and 3 striding by 2; the shortcut is a biased
  1x1 conv with stride 2, no BN, where the shape changes ("option B"; the paper uses
  zero-padding, option A, for CIFAR); he_normal conv kernels. ``cifar_resnet`` builds any depth
  and width of it.
- Keras's "same" padding: TF's rule (the extra row/column of an odd total pad goes to the
  bottom/right), which differs from torch's symmetric padding for strided convs.
- Keras initialisation (glorot_uniform kernels, zero biases; he_normal for the CIFAR ResNets'
  convs), BN momentum 0.99 (torch 0.01).
- The twins return logits (the sinapse models end in softmax; cross_entropy fuses the two).

Each twin keeps ``model.keras_layers``: (name, module) of its Conv2D / BatchNormalization /
Dense layers in creation order, named as Keras names them in a fresh session.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .torch_models import _keras_init, make_inference, make_step

INPUT_SHAPES = {"resnet20": (32, 32, 3), "resnet50": (224, 224, 3), "inception_v3": (299, 299, 3)}
APPS = tuple(INPUT_SHAPES)


def _torch():
    import torch

    return torch


def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    """TF "same" padding of one axis: (before, after), the odd one after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class _Namer:
    """Keras 3's automatic names: "conv2d", "conv2d_1", ... per class, counted from a fresh session."""

    def __init__(self):
        self.counts: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


def _modules():
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class Conv(nn.Module):
        """Keras Conv2D: kernel (kh, kw), strides, padding "same" (TF rule) or "valid"."""

        def __init__(self, cin, cout, kernel, stride=1, padding="valid", bias=True):
            super().__init__()
            self.k = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
            self.s, self.same = stride, padding == "same"
            self.conv = nn.Conv2d(cin, cout, self.k, stride, bias=bias)
            if self.same and stride == 1:  # symmetric for odd kernels: torch's own padding
                self.conv.padding = (self.k[0] // 2, self.k[1] // 2)
                self.same = False

        def forward(self, x):
            if self.same:
                t, b = _same_pad(x.shape[2], self.k[0], self.s)
                left, r = _same_pad(x.shape[3], self.k[1], self.s)
                x = F.pad(x, (left, r, t, b))
            return self.conv(x)

    class Graph(nn.Module):
        """A module whose forward is a Python function over named submodules (the twin's graph)."""

        def __init__(self, fn):
            super().__init__()
            self.fn = fn
            self.keras_layers: list = []
            self.namer = _Namer()

        def add(self, name, module):
            self.add_module(name, module)
            if isinstance(module, (nn.Conv2d, Conv, nn.BatchNorm2d, nn.Linear)):
                self.keras_layers.append((name, module))
            return module

        def conv(self, name, *args, **kw):
            return self.add(name or self.namer("conv2d"), Conv(*args, **kw))

        def bn(self, name, c, eps=1e-3, scale=True):
            m = nn.BatchNorm2d(c, eps=eps, momentum=0.01, affine=True)
            if not scale:  # Keras scale=False: no gamma (kept at 1, frozen)
                m.weight.requires_grad_(False)
            m.keras_scale = scale
            return self.add(name or self.namer("batch_normalization"), m)

        def forward(self, x):
            return self.fn(self, x)

    return nn, F, Conv, Graph


# --------------------------------------------------------------------------- ResNet-20 (CIFAR) and kin


def cifar_resnet(input_shape=(32, 32, 3), classes=10, widths=(16, 32, 64), blocks=3, bn_eps=1e-3):
    """He et al.'s CIFAR ResNet (6n+2 layers for ``blocks`` = n), as sinapse.applications.resnet_cifar
    builds it (Keras's cifar10_resnet.py example, v1): stem conv 3x3 + BN + ReLU, then per stage
    ``blocks`` basic blocks (conv 3x3, BN, ReLU, conv 3x3, BN, add, ReLU), the first block of
    every stage after the first striding by 2; the shortcut is a biased 1x1 conv (stride 2, no BN)
    where the shape changes; global average pooling, Dense(classes). Conv kernels he_normal
    (Keras's: truncated normal), Dense glorot_uniform. Layer names as resnet_cifar's:
    conv1_conv/bn, conv{2,3,4}_block{i}_{0,1,2}_conv/bn, predictions.
    NCHW input (N, C, H, W); logits (N, classes)."""
    torch = _torch()
    nn, F, Conv, Graph = _modules()
    plan = []  # (name prefix, stride, cin, cout)
    cin = widths[0]
    for s, w in enumerate(widths):
        for b in range(blocks):
            plan.append((f"conv{s + 2}_block{b + 1}", 2 if (s > 0 and b == 0) else 1, cin, w))
            cin = w

    def forward(g, x):
        x = F.relu(g.conv1_bn(g.conv1_conv(x)))
        for p, stride, ci, co in plan:
            y = F.relu(getattr(g, p + "_1_bn")(getattr(g, p + "_1_conv")(x)))
            y = getattr(g, p + "_2_bn")(getattr(g, p + "_2_conv")(y))
            x = F.relu((getattr(g, p + "_0_conv")(x) if (stride != 1 or ci != co) else x) + y)
        return g.predictions(x.mean((2, 3)))

    g = Graph(forward)
    g.conv("conv1_conv", input_shape[-1], widths[0], 3, padding="same")
    g.bn("conv1_bn", widths[0], bn_eps)
    for p, stride, ci, co in plan:
        if stride != 1 or ci != co:
            g.conv(p + "_0_conv", ci, co, 1, stride)
        g.conv(p + "_1_conv", ci, co, 3, stride, padding="same")
        g.bn(p + "_1_bn", co, bn_eps)
        g.conv(p + "_2_conv", co, co, 3, padding="same")
        g.bn(p + "_2_bn", co, bn_eps)
    g.add("predictions", nn.Linear(cin, classes))  # cin: the last block's width (the stem's with no blocks)
    _keras_init(torch, g)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, nn.Conv2d):  # Keras he_normal: N(0, 2 / fan_in) truncated at 2 sigma, rescaled
                std = math.sqrt(2.0 / (m.weight[0].numel())) / 0.87962566103423978
                nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
    return g.train()


def resnet20(input_shape=(32, 32, 3), classes=10):
    """ResNet-20: cifar_resnet with 16/32/64 filters, 3 blocks per stage: 274,442 parameters as Keras
    counts them (32x32x3, 10 classes), sinapse.applications.ResNet20's count."""
    return cifar_resnet(input_shape, classes, (16, 32, 64), 3)


# --------------------------------------------------------------------------- ResNet50 (Keras v1)


def resnet50(input_shape=(224, 224, 3), classes=1000):
    """Keras's ResNet50 (keras/src/applications/resnet.py, v1): 25,636,712 parameters at 1000 classes."""
    torch = _torch()
    nn, F, Conv, Graph = _modules()
    eps = 1.001e-5
    stages = [(2, 64, 3, 1), (3, 128, 4, 2), (4, 256, 6, 2), (5, 512, 3, 2)]  # (index, filters, blocks, stride1)

    def forward(g, x):
        x = g.conv1_conv(F.pad(x, (3, 3, 3, 3)))
        x = F.relu(g.conv1_bn(x))
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)  # zeros: after a ReLU they are the minimum
        for i, _, blocks, _ in stages:
            for b in range(1, blocks + 1):
                p = f"conv{i}_block{b}_"
                m = lambda n: getattr(g, p + n)  # noqa: E731
                sc = m("0_bn")(m("0_conv")(x)) if b == 1 else x
                y = F.relu(m("1_bn")(m("1_conv")(x)))
                y = F.relu(m("2_bn")(m("2_conv")(y)))
                x = F.relu(sc + m("3_bn")(m("3_conv")(y)))
        return g.predictions(x.mean((2, 3)))

    g = Graph(forward)
    g.conv("conv1_conv", input_shape[-1], 64, 7, 2)
    g.bn("conv1_bn", 64, eps)
    cin = 64
    for i, f, blocks, stride in stages:
        for b in range(1, blocks + 1):
            p, s = f"conv{i}_block{b}_", stride if b == 1 else 1
            if b == 1:
                g.conv(p + "0_conv", cin, 4 * f, 1, s)
                g.bn(p + "0_bn", 4 * f, eps)
            g.conv(p + "1_conv", cin, f, 1, s)
            g.bn(p + "1_bn", f, eps)
            g.conv(p + "2_conv", f, f, 3, padding="same")
            g.bn(p + "2_bn", f, eps)
            g.conv(p + "3_conv", f, 4 * f, 1)
            g.bn(p + "3_bn", 4 * f, eps)
            cin = 4 * f
    g.add("predictions", nn.Linear(2048, classes))
    _keras_init(torch, g)
    return g.train()


# --------------------------------------------------------------------------- InceptionV3 (Keras)


def inception_v3(input_shape=(299, 299, 3), classes=1000):
    """Keras's InceptionV3 (keras/src/applications/inception_v3.py), no aux head: 23,851,784
    parameters at 1000 classes (21,802,784 without the top)."""
    torch = _torch()
    nn, F, Conv, Graph = _modules()
    g = Graph(None)
    ops: list = []  # the graph as a list of ("cbr", conv, bn) / ("pool", ...) steps, replayed by forward
    chans = {"in": input_shape[-1]}

    def cbr(src, dst, filters, kh, kw, stride=1, padding="same"):
        conv = g.conv(None, chans[src], filters, (kh, kw), stride, padding=padding, bias=False)
        bn = g.bn(None, filters, 1e-3, scale=False)
        ops.append(("cbr", src, dst, conv, bn))
        chans[dst] = filters

    def pool(kind, src, dst, stride, padding="valid"):
        ops.append((kind, src, dst, stride, padding))
        chans[dst] = chans[src]

    def cat(srcs, dst):
        ops.append(("cat", srcs, dst))
        chans[dst] = sum(chans[s] for s in srcs)

    cbr("in", "x", 32, 3, 3, 2, "valid")
    cbr("x", "x", 32, 3, 3, padding="valid")
    cbr("x", "x", 64, 3, 3)
    pool("max", "x", "x", 2)
    cbr("x", "x", 80, 1, 1, padding="valid")
    cbr("x", "x", 192, 3, 3, padding="valid")
    pool("max", "x", "x", 2)
    for pool_filters in (32, 64, 64):  # mixed 0, 1, 2: 35 x 35
        cbr("x", "a", 64, 1, 1)
        cbr("x", "b", 48, 1, 1)
        cbr("b", "b", 64, 5, 5)
        cbr("x", "c", 64, 1, 1)
        cbr("c", "c", 96, 3, 3)
        cbr("c", "c", 96, 3, 3)
        pool("avg", "x", "d", 1, "same")
        cbr("d", "d", pool_filters, 1, 1)
        cat(["a", "b", "c", "d"], "x")
    cbr("x", "a", 384, 3, 3, 2, "valid")  # mixed 3: 17 x 17
    cbr("x", "c", 64, 1, 1)
    cbr("c", "c", 96, 3, 3)
    cbr("c", "c", 96, 3, 3, 2, "valid")
    pool("max", "x", "d", 2)
    cat(["a", "c", "d"], "x")
    for f in (128, 160, 160, 192):  # mixed 4, 5, 6, 7
        cbr("x", "a", 192, 1, 1)
        cbr("x", "b", f, 1, 1)
        cbr("b", "b", f, 1, 7)
        cbr("b", "b", 192, 7, 1)
        cbr("x", "c", f, 1, 1)
        cbr("c", "c", f, 7, 1)
        cbr("c", "c", f, 1, 7)
        cbr("c", "c", f, 7, 1)
        cbr("c", "c", 192, 1, 7)
        pool("avg", "x", "d", 1, "same")
        cbr("d", "d", 192, 1, 1)
        cat(["a", "b", "c", "d"], "x")
    cbr("x", "a", 192, 1, 1)  # mixed 8: 8 x 8
    cbr("a", "a", 320, 3, 3, 2, "valid")
    cbr("x", "b", 192, 1, 1)
    cbr("b", "b", 192, 1, 7)
    cbr("b", "b", 192, 7, 1)
    cbr("b", "b", 192, 3, 3, 2, "valid")
    pool("max", "x", "d", 2)
    cat(["a", "b", "d"], "x")
    for _ in range(2):  # mixed 9, 10
        cbr("x", "a", 320, 1, 1)
        cbr("x", "b", 384, 1, 1)
        cbr("b", "b1", 384, 1, 3)
        cbr("b", "b2", 384, 3, 1)
        cat(["b1", "b2"], "b")
        cbr("x", "c", 448, 1, 1)
        cbr("c", "c", 384, 3, 3)
        cbr("c", "c1", 384, 1, 3)
        cbr("c", "c2", 384, 3, 1)
        cat(["c1", "c2"], "c")
        pool("avg", "x", "d", 1, "same")
        cbr("d", "d", 192, 1, 1)
        cat(["a", "b", "c", "d"], "x")
    g.add("predictions", nn.Linear(chans["x"], classes))

    def forward(g, x):
        t = {"in": x}
        for op in ops:
            if op[0] == "cbr":
                _, src, dst, conv, bn = op
                t[dst] = F.relu(bn(conv(t[src])))
            elif op[0] == "cat":
                t[op[2]] = torch.cat([t[s] for s in op[1]], 1)
            elif op[0] == "max":
                t[op[2]] = F.max_pool2d(t[op[1]], 3, op[3])
            else:  # Keras AveragePooling2D "same" stride 1: the mean over the window's valid pixels
                t[op[2]] = F.avg_pool2d(t[op[1]], 3, 1, padding=1, count_include_pad=False)
        return g.predictions(t["x"].mean((2, 3)))

    g.fn = forward
    _keras_init(torch, g)
    return g.train()


BUILDERS = {"resnet20": resnet20, "resnet50": resnet50, "inception_v3": inception_v3}


def build_app(name: str, input_shape=None, classes: int | None = None):
    """The twin of application ``name`` (one of APPS), Keras-initialised, in train mode."""
    if name not in BUILDERS:
        raise ValueError(f"build_app: unknown application {name!r}; choose from {', '.join(APPS)}")
    default_classes = 10 if name == "resnet20" else 1000
    return BUILDERS[name](input_shape or INPUT_SHAPES[name], classes or default_classes)


# --------------------------------------------------------------------------- weights, sinapse <-> torch


def _kind(layer) -> str | None:
    cls = type(layer).__name__
    return {"Conv2D": "conv", "Convolution2D": "conv", "BatchNormalization": "bn", "Dense": "dense"}.get(cls)


def _twin_kind(module) -> str:
    nn = _torch().nn
    if isinstance(module, nn.BatchNorm2d):
        return "bn"
    return "dense" if isinstance(module, nn.Linear) else "conv"


def _creation_key(name: str):
    m = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    return int(m.group(2) or 0) if m else 0


def pair_layers(sinapse_model, twin) -> list:
    """[(sinapse layer, torch module)] of the Conv2D / BatchNormalization / Dense layers.

    By name when every twin name is a layer of the sinapse model (Keras's ResNet50 names);
    otherwise in order: the sinapse layers sorted by their automatic name's counter when they
    all have one (creation order, as the twin's), else in ``model.layers`` order.
    Raises ValueError when the counts or kinds differ.
    """
    ours = [layer for layer in _flat_layers(sinapse_model) if _kind(layer)]
    by_name = {layer.name: layer for layer in ours}
    if all(name in by_name for name, _ in twin.keras_layers) and len(ours) == len(twin.keras_layers):
        return [(by_name[name], m) for name, m in twin.keras_layers]
    if len(ours) != len(twin.keras_layers):
        raise ValueError(
            f"pair_layers: the sinapse model has {len(ours)} Conv2D/BatchNormalization/Dense layers, "
            f"the twin {len(twin.keras_layers)}"
        )
    kinds = {k: [layer for layer in ours if _kind(layer) == k] for k in ("conv", "bn", "dense")}
    if all(re.fullmatch(r"(conv2d|batch_normalization|dense)(_\d+)?", layer.name) for layer in ours):
        kinds = {k: sorted(v, key=lambda layer: _creation_key(layer.name)) for k, v in kinds.items()}
    pairs = []
    for name, m in twin.keras_layers:
        k = _twin_kind(m)
        if not kinds[k]:
            raise ValueError(f"pair_layers: no sinapse {k} layer left for the twin's {name!r}")
        pairs.append((kinds[k].pop(0), m))
    return pairs


def _flat_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and not _kind(layer):  # a nested model
            yield from _flat_layers(layer)
        else:
            yield layer


def _torch_arrays(m) -> list[np.ndarray]:
    """The module's weights in the Keras layer's get_weights() order and layout."""
    k = _twin_kind(m)
    conv = getattr(m, "conv", m)
    if k == "conv":
        w = [conv.weight.detach().numpy().transpose(2, 3, 1, 0)]  # OIHW -> HWIO
        return w + ([conv.bias.detach().numpy()] if conv.bias is not None else [])
    if k == "dense":
        return [m.weight.detach().numpy().T, m.bias.detach().numpy()]
    gamma = [m.weight.detach().numpy()] if getattr(m, "keras_scale", True) else []
    return gamma + [m.bias.detach().numpy(), m.running_mean.numpy(), m.running_var.numpy()]


def copy_weights(sinapse_model, twin, to: str = "torch") -> int:
    """Copy every Conv2D / BatchNormalization / Dense weight between the sinapse model and its twin
    (``to="torch"`` or ``to="sinapse"``): kernels HWIO <-> OIHW, Dense (in, out) <-> (out, in), BN
    [gamma,] beta, moving mean, moving variance. Returns the number of layers copied.
    Raises ValueError when a pair's shapes differ (the structures do not match)."""
    if to not in ("torch", "sinapse"):
        raise ValueError(f"copy_weights: to must be 'torch' or 'sinapse', got {to!r}")
    torch = _torch()
    pairs = pair_layers(sinapse_model, twin)
    for layer, m in pairs:
        ours, theirs = layer.get_weights(), _torch_arrays(m)
        if [a.shape for a in ours] != [a.shape for a in theirs]:
            raise ValueError(
                f"copy_weights: sinapse layer {layer.name!r} has weights of shapes {[a.shape for a in ours]}, "
                f"the twin's module {[a.shape for a in theirs]}"
            )
        if to == "sinapse":
            layer.set_weights([np.ascontiguousarray(a, dtype=np.float32) for a in theirs])
            continue
        conv = getattr(m, "conv", m)
        with torch.no_grad():
            if _twin_kind(m) == "bn":
                if getattr(m, "keras_scale", True):
                    m.weight.copy_(torch.from_numpy(ours.pop(0)))
                for t, a in zip((m.bias, m.running_mean, m.running_var), ours):
                    t.copy_(torch.from_numpy(a))
            else:
                perm = (3, 2, 0, 1) if _twin_kind(m) == "conv" else (1, 0)
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(ours[0].transpose(perm))))
                if len(ours) > 1:
                    conv.bias.copy_(torch.from_numpy(ours[1]))
    return len(pairs)


def param_count(model) -> int:
    """Parameters as Keras counts them (BN's moving statistics included, no gamma when scale=False)."""
    torch = _torch()
    n = 0
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n += m.num_features * (4 if getattr(m, "keras_scale", True) else 3)
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            n += sum(p.numel() for p in m.parameters())
    return n


# --------------------------------------------------------------------------- the benchmark callables

# SGD with momentum 0.9, lr 0.1: He et al.'s recipe for both ResNets (CIFAR and ImageNet); the
# InceptionV3 rows time predict only.
BENCH_LR, BENCH_MOMENTUM = 0.1, 0.9


def synthetic_batch(name: str, batch: int, channels_last: bool = False, seed: int = 0):
    """(x, labels): N(0, 1) images (N, C, H, W) at the application's input shape, random labels."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    h, w, c = INPUT_SHAPES[name]
    x = torch.from_numpy(rng.standard_normal((batch, c, h, w), dtype=np.float32))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    classes = 10 if name == "resnet20" else 1000
    return x, torch.from_numpy(rng.integers(0, classes, batch).astype(np.int64))


def _prepared(name: str, channels_last: bool):
    torch = _torch()
    torch.manual_seed(0)
    model = build_app(name)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def app_train_step(name: str, batch: int, channels_last: bool = False):
    """A callable doing one training step (forward, cross-entropy, backward, SGD momentum update)
    of the twin of ``name`` on one synthetic batch; returns the loss. Has .model, .optimizer."""
    torch = _torch()
    model = _prepared(name, channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=BENCH_LR, momentum=BENCH_MOMENTUM)
    x, labels = synthetic_batch(name, batch, channels_last)
    return make_step(model, opt, x, labels)


def app_inference(name: str, batch: int, channels_last: bool = False):
    """A callable doing one predict() of the twin of ``name`` (eval mode): softmax probabilities."""
    model = _prepared(name, channels_last).eval()
    x, _ = synthetic_batch(name, batch, channels_last)
    return make_inference(model, x)
