"""End to end: one training step (forward, loss, backward, optimizer update) and predict() of
the seed models in sinapse vs the same model and recipe in PyTorch, side by side, 2 threads.

sinapse runs the Keras-style model (`sinapse.applications`, NHWC) through `train_on_batch`
/ `predict_on_batch`; PyTorch runs bench/suites/torch_models.py's twin in NCHW and in
channels_last, and the faster is the reference. Synthetic data (the time does not depend
on the values). Issue 14's applications (sinapse.applications.ResNet20 / ResNet50 /
InceptionV3 against bench/suites/torch_apps.py's Keras-structured twins) train with SGD,
momentum 0.9, lr 0.1. Targets (issue 7): <= 0.8x PyTorch for the MLP, the Keras MNIST convnet and
LeNet-5 steps, <= 1.0x for the rest, <= 0.5x for batch-1 inference.
"""

from __future__ import annotations

import numpy as np

import sinapse

from .. import harness
from . import torch_apps as ta
from . import torch_models as tm
from .torch_baselines import time_model_rows, torch_peers

TARGETS = {
    ("mlp", "train step"): 0.8,
    ("keras_mnist_cnn", "train step"): 0.8,
    ("lenet5", "train step"): 0.8,
    ("keras_mnist_cnn", "predict", 1): 0.5,
}


def sinapse_model(name: str):
    """The compiled sinapse model of ``name`` with its recipe (None when sinapse has no builder for it)."""
    from sinapse import applications

    if name in ta.APPS:
        return _sinapse_app(name)
    if name == "char_lstm":
        try:
            from sinapse import char_model
        except ImportError:
            return None
        model = char_model.build(tm.CHAR_VOCAB, hidden=tm.CHAR_HIDDEN)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model
    recipe = tm.RECIPES[name]
    model = applications.build(name, input_shape=tm.INPUT_SHAPES[name], classes=tm.NUM_CLASSES.get(name, 10))
    optimizer = sinapse.optimizers.get(recipe.optimizer)
    optimizer.learning_rate = recipe.lr
    if recipe.momentum:
        optimizer = sinapse.optimizers.SGD(learning_rate=recipe.lr, momentum=recipe.momentum)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


APP_BUILDERS = {"resnet20": "ResNet20", "resnet50": "ResNet50", "inception_v3": "InceptionV3"}


def _sinapse_app(name: str):
    """sinapse.applications' ResNet20 / ResNet50 / InceptionV3 (random weights), compiled with the
    twins' benchmark optimizer (SGD lr 0.1, momentum 0.9); None until sinapse has the builder."""
    from sinapse import applications

    builder = getattr(applications, APP_BUILDERS[name], None)
    if builder is None:
        return None
    classes = 10 if name == "resnet20" else 1000
    model = builder(weights=None, input_shape=ta.INPUT_SHAPES[name], classes=classes)
    optimizer = sinapse.optimizers.SGD(learning_rate=ta.BENCH_LR, momentum=ta.BENCH_MOMENTUM)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def _input_shape(name: str):
    return ta.INPUT_SHAPES[name] if name in ta.APPS else tm.INPUT_SHAPES[name]


def sinapse_call(name: str, kind: str, batch: int):
    """A callable doing one train_on_batch / predict_on_batch of the sinapse model, or None."""
    model = sinapse_model(name)
    if model is None:
        return None
    rng = np.random.default_rng(0)
    classes = 1000 if name in ("resnet50", "inception_v3") else tm.NUM_CLASSES.get(name, 10)
    if name == "char_lstm":  # one-hot characters in, the next character's id at every step out
        x = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, (batch, tm.CHAR_SEQ))]
        y = rng.integers(0, classes, (batch, tm.CHAR_SEQ)).astype(np.int32)
    else:
        x = rng.standard_normal((batch, *_input_shape(name)), dtype=np.float32)
        y = rng.integers(0, classes, batch).astype(np.int32)
    if kind == "train step":
        model.train_on_batch(x, y)  # builds, allocates the buffers
        return lambda: model.train_on_batch(x, y)
    model.predict_on_batch(x)
    return lambda: model.predict_on_batch(x)


def run(args) -> int:
    try:
        import torch
    except ImportError:
        torch = None
    sinapse.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)

    def peers(name, kind, batch):
        fns = {}
        ours = sinapse_call(name, kind, batch)
        if ours is not None:
            fns["sinapse"] = ours
        if torch is not None:
            fns.update(torch_peers(name, kind, batch))
        return fns

    rows = time_model_rows(args, peers, slow=("alexnet", "geron_cnn", "char_lstm"))
    env = harness.environment(args.threads)
    table = []
    for r in rows:
        s = r.timings.get("sinapse")
        torch_times = [t.median_s for k, t in r.timings.items() if k.startswith("torch")]
        best = min(torch_times) if torch_times else None
        target = TARGETS.get(
            (r.extra["model"], r.extra["pass"], int(r.work)), TARGETS.get((r.extra["model"], r.extra["pass"]), 1.0)
        )
        ratio = s.median_s / best if s and best else None
        table.append(
            [r.label, f"{s.median_s * 1e3:.2f}" if s else "-"]
            + [f"{r.timings[k].median_s * 1e3:.2f}" if k in r.timings else "-" for k in ("torch NCHW", "torch NHWC")]
            + [
                f"{ratio:.2f}x" if ratio else "-",
                f"{target:.1f}x",
                ("met" if ratio <= target else "missed") if ratio else "-",
            ]
        )
    md = (
        f"# End-to-end training steps and inference — {env['sinapse']['cpu']}, {args.threads} threads\n\n"
        f"sinapse {env['sinapse']['version']} (NHWC), PyTorch {env['torch'] or 'not installed'}; {env['date']}. "
        "`python -m bench train`. Median ms per call; ratio = sinapse / the faster PyTorch layout "
        "(< 1: sinapse is faster). Models and recipes: docs/seed_models.md.\n\n"
        + harness.markdown_table(
            ["model / pass", "sinapse ms", "torch NCHW ms", "torch NHWC ms", "ratio", "target", ""], table
        )
    )
    return harness.publish("train", args, env, rows, md)
