"""PyTorch baselines of the end-to-end benchmarks: one training step (forward, loss, backward,
optimizer update) and predict() of the seed models (docs/seed_models.md), 2 threads.

Image models run in NCHW and in channels_last; the faster is the reference a sinapse row is
compared with ("torch best"). Synthetic data (the time does not depend on the values).
Models and recipes: bench/suites/torch_models.py; issue 14's applications (ResNet-20,
ResNet50, InceptionV3): bench/suites/torch_apps.py.
"""

from __future__ import annotations

import sys

from .. import harness
from . import torch_apps as ta
from . import torch_models as tm

# (model, pass, batch): the rows issue 7 asks for, plus AlexNet at the batch that fits a 2-core budget.
ROWS = [
    ("mlp", "train step", 128),
    ("keras_mnist_cnn", "train step", 128),
    ("lenet5", "train step", 128),
    ("geron_cnn", "train step", 128),
    ("char_lstm", "train step", 64),
    ("keras_mnist_cnn", "predict", 1),
    ("keras_mnist_cnn", "predict", 128),
    ("alexnet", "train step", 32),
    # issue 14's applications (bench/suites/torch_apps.py): batch 8 keeps a quick run short on 2 cores
    ("resnet20", "train step", 128),
    ("resnet50", "predict", 8),
    ("resnet50", "train step", 8),
    ("inception_v3", "predict", 8),
]
HEAVY = ("resnet50", "inception_v3")  # fewer repeats; kept in --quick runs


def torch_peers(name: str, kind: str, batch: int) -> dict:
    """{"torch NCHW": fn, "torch NHWC": fn} (NHWC = channels_last, image models only)."""
    if name in ta.APPS:
        make = ta.app_train_step if kind == "train step" else ta.app_inference
    else:
        make = tm.torch_train_step if kind == "train step" else tm.torch_inference
    peers = {"torch NCHW": make(name, batch, channels_last=False)}
    if name in tm.IMAGE_MODELS or name in ta.APPS:
        peers["torch NHWC"] = make(name, batch, channels_last=True)
    return peers


def time_model_rows(args, peers, slow=("alexnet", "geron_cnn")) -> list:
    """Times every ROWS entry side by side, ``peers(name, kind, batch)`` giving the callables
    by name; the slow models are skipped by --quick and timed with fewer repeats."""
    rows = []
    for name, kind, batch in ROWS:
        if args.quick and name in slow:
            continue
        print(f"  {name} {kind} batch {batch} ...", file=sys.stderr)
        heavy = name in slow or name in HEAVY
        opts = (
            dict(min_repeats=3, min_seconds=0.1, warmup=1)
            if args.quick
            else dict(min_repeats=5 if heavy else 9, min_seconds=1.0 if heavy else 0.5, warmup=2)
        )
        row = harness.Row(
            f"{name} {kind} batch {batch}", float(batch), extra={"model": name, "pass": kind, "batch": batch}
        )
        row.timings = harness.time_side_by_side(peers(name, kind, batch), **opts)
        rows.append(row)
    return rows


def run(args) -> int:
    try:
        import torch
    except ImportError:
        print("torch_baselines: PyTorch is not installed", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    rows = time_model_rows(args, torch_peers)
    env = harness.environment(args.threads)
    table = []
    for r in rows:
        best = min(r.timings, key=lambda k: r.timings[k].median_s)
        t = r.timings[best]
        table.append(
            [r.label]
            + [f"{r.timings[k].median_s * 1e3:.2f}" if k in r.timings else "-" for k in ("torch NCHW", "torch NHWC")]
            + [
                best.split()[1],
                f"{t.min_s * 1e3:.2f} / {t.max_s * 1e3:.2f}",
                str(t.repeats),
                f"{r.work / t.median_s:,.0f}",
            ]
        )
    md = (
        f"# PyTorch baselines of the seed models — {env['sinapse']['cpu']}, {args.threads} threads\n\n"
        f"PyTorch {env['torch']}; {env['date']}. `python -m bench torch_baselines`. Median ms per call "
        "(train step: forward, loss, backward, optimizer update on one synthetic batch; predict: "
        "softmax probabilities, no autograd); min/max and repeats of the faster layout; samples/s of "
        "the faster layout. Models and recipes: docs/seed_models.md.\n\n"
        + harness.markdown_table(
            ["model / pass", "NCHW ms", "channels_last ms", "best", "min / max ms", "repeats", "samples/s"], table
        )
    )
    return harness.publish("torch_baselines", args, env, rows, md)
