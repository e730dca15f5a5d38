"""Data augmentation (the augment family) over whole batches vs PyTorch equivalents, and its
cost against the Keras MNIST convnet's training step.

Rows: affine_transform (bilinear, "reflect") of a Fashion-MNIST batch (128 x 28 x 28 x 1) and of
a CIFAR-sized batch (64 x 32 x 32 x 3) vs torch.nn.functional.grid_sample over an affine_grid
(padding_mode="reflection", align_corners=True: the same pixel-centre convention); flip vs
torch.flip of the flipped images; contrast and brightness vs the same formulas in torch ops.
Then the pipeline the issue sets a budget for: RandomTranslation(0.1, 0.1) + RandomFlip +
RandomRotation(0.05) in training mode on 128 x 28 x 28 x 1 (three layer calls, parameters drawn
in Python), beside one train_on_batch of the Keras MNIST convnet at batch 128 (bench/suites/train.py,
sinapse.applications), and the ratio of the two (the target: <= 10%).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from sinapse import layers, ops

from .. import harness
from . import _single
from .train import sinapse_call

BUDGET = 0.10  # augmentation <= 10% of the convnet's train step (issue 16)


def _rotations(n, h, w, rng, spread=0.1):
    a = rng.uniform(-spread * math.pi, spread * math.pi, n)
    t = np.zeros((n, 8), np.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    t[:, 0], t[:, 1], t[:, 3], t[:, 4] = np.cos(a), -np.sin(a), np.sin(a), np.cos(a)
    t[:, 2] = cx - cx * t[:, 0] - cy * t[:, 1] + rng.uniform(-2, 2, n)
    t[:, 5] = cy - cx * t[:, 3] - cy * t[:, 4] + rng.uniform(-2, 2, n)
    return t


def _torch_theta(torch, t, h, w):
    """The same per-image maps as affine_grid's theta in normalised coordinates (align_corners=True:
    -1 and 1 are the centres of the edge pixels)."""
    n = len(t)
    a = np.zeros((n, 3, 3))
    a[:, 0], a[:, 1], a[:, 2, 2] = t[:, 0:3], t[:, 3:6], 1  # pixel (x, y, 1) -> input pixel
    to_px = np.array([[(w - 1) / 2, 0, (w - 1) / 2], [0, (h - 1) / 2, (h - 1) / 2], [0, 0, 1]])
    theta = np.linalg.inv(to_px) @ a @ to_px
    return torch.from_numpy(theta[:, :2].astype(np.float32))


def _affine_case(torch, shape, rng):
    n, h, w, c = shape
    x = rng.random(shape, dtype=np.float32)
    t = _rotations(n, h, w, rng)
    y = np.empty_like(x)
    label = f"affine_transform {n}x{h}x{w}x{c} bilinear reflect"
    fn = None
    if torch:
        tx = torch.from_numpy(x).permute(0, 3, 1, 2)  # an NCHW view of the NHWC batch (channels_last)
        theta = _torch_theta(torch, t, h, w)

        def fn(tx=tx, theta=theta):
            grid = torch.nn.functional.affine_grid(theta, tx.shape, align_corners=True)
            return torch.nn.functional.grid_sample(tx, grid, "bilinear", "reflection", align_corners=True)

    def ours(x=x, t=t, y=y):
        return ops.affine_transform(x, t, fill_mode="reflect", out=y)

    return _single.Case(label, "forward", 8.0 * x.size + 32.0 * n, ours, fn)


def _flip_color_cases(torch, shape, rng):
    n = shape[0]
    x = rng.random(shape, dtype=np.float32)
    flags = rng.random(n) < 0.5
    none = np.zeros(n, bool)
    f = rng.uniform(0.8, 1.2, n).astype(np.float32)
    y = np.empty_like(x)
    dims = "x".join(map(str, shape))
    out = []
    tx = torch.from_numpy(x) if torch else None
    tflags = torch.from_numpy(flags)[:, None, None, None] if torch else None
    tf = torch.from_numpy(f)[:, None, None, None] if torch else None
    out.append(
        _single.Case(
            f"flip {dims} horizontal",
            "forward",
            8.0 * x.size,
            lambda: ops.flip(x, flags, none, out=y),
            (lambda: torch.where(tflags, torch.flip(tx, (2,)), tx)) if torch else None,
        )
    )

    def torch_contrast():
        m = tx.mean(dim=(1, 2), keepdim=True)
        return torch.clamp((tx - m) * tf + m, 0, 1)

    out.append(
        _single.Case(
            f"adjust_contrast {dims}",
            "forward",
            8.0 * x.size,
            lambda: ops.adjust_contrast(x, f, (0, 1), out=y),
            torch_contrast if torch else None,
        )
    )
    out.append(
        _single.Case(
            f"adjust_brightness {dims}",
            "forward",
            8.0 * x.size,
            lambda: ops.adjust_brightness(x, f - 1, (0, 1), out=y),
            (lambda: torch.clamp(tx + (tf - 1), 0, 1)) if torch else None,
        )
    )
    return out


def pipeline():
    """The issue's augmentation (translation + flip + rotation, training mode) of a Fashion-MNIST batch
    of 128, as one callable."""
    x = np.random.default_rng(1).random((128, 28, 28, 1), dtype=np.float32)
    stack = [
        layers.RandomTranslation(0.1, 0.1, seed=1),
        layers.RandomFlip("horizontal", seed=2),
        layers.RandomRotation(0.05, seed=3),
    ]

    def run():
        y = x
        for layer in stack:
            layer.ensure_built(y.shape[1:])
            y = layer.forward(y, training=True)
        return y

    return run


def _torch_pipeline(torch):
    rng = np.random.default_rng(1)
    tx = torch.from_numpy(rng.random((128, 28, 28, 1), dtype=np.float32)).permute(0, 3, 1, 2)

    def run():
        n = tx.shape[0]
        shift = (torch.rand(n, 2) * 0.4 - 0.2).numpy()  # translation by up to 10% (normalised units)
        theta = np.zeros((n, 2, 3), np.float32)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, :, 2] = shift
        grid = torch.nn.functional.affine_grid(torch.from_numpy(theta), tx.shape, align_corners=True)
        y = torch.nn.functional.grid_sample(tx, grid, "bilinear", "reflection", align_corners=True)
        flips = (torch.rand(n) < 0.5)[:, None, None, None]
        y = torch.where(flips, torch.flip(y, (3,)), y)
        a = (torch.rand(n) * 0.1 - 0.05) * 2 * math.pi
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = a.cos(), -a.sin(), a.sin(), a.cos()
        grid = torch.nn.functional.affine_grid(theta, tx.shape, align_corners=True)
        return torch.nn.functional.grid_sample(y, grid, "bilinear", "reflection", align_corners=True)

    return run


def cases(torch, quick):
    rng = np.random.default_rng(0)
    out = [_affine_case(torch, (128, 28, 28, 1), rng)]
    if not quick:
        out.append(_affine_case(torch, (64, 32, 32, 3), rng))
    out += _flip_color_cases(torch, (128, 28, 28, 1), rng)
    if not quick:
        out += _flip_color_cases(torch, (64, 32, 32, 3), rng)
    out.append(
        _single.Case(
            "RandomTranslation+RandomFlip+RandomRotation 128x28x28x1",
            "forward",
            3 * 8.0 * 128 * 784,
            pipeline(),
            _torch_pipeline(torch) if torch else None,
        )
    )
    return out


def run(args) -> int:
    rows, env = _single.time_cases(args, cases)
    print("  augmentation beside keras_mnist_cnn train step 128 ...", file=sys.stderr)
    step = harness.Row("augmentation vs keras_mnist_cnn train step, batch 128", 0.0, extra={"pass": "budget"})
    step.timings = harness.time_side_by_side(  # the two alternate in blocks: the same machine state
        {"augment": pipeline(), "train step": sinapse_call("keras_mnist_cnn", "train step", 128)},
        **(dict(min_repeats=3, min_seconds=0.3, warmup=1) if args.quick else dict(min_repeats=9, min_seconds=1.0)),
    )
    aug, train = step.timings["augment"].median_s, step.timings["train step"].median_s
    env["augmentation_cost"] = {"augment_s": aug, "train_step_s": train, "ratio": aug / train, "budget": BUDGET}
    md = _single._markdown("augment", "Data augmentation", env, args.threads, rows)
    md += (
        f"\n## Cost against a training step\n\nRandomTranslation(0.1, 0.1) + RandomFlip + RandomRotation(0.05) on "
        f"a Fashion-MNIST batch (128 x 28 x 28 x 1), training mode: {aug * 1e3:.3f} ms; one train_on_batch of "
        f"the Keras MNIST convnet at batch 128: {train * 1e3:.2f} ms (medians, timed alternately in one run). Augmentation costs "
        f"{aug / train:.1%} of the step (budget {BUDGET:.0%}: {'met' if aug / train <= BUDGET else 'missed'}).\n"
    )
    rows.append(step)
    return harness.publish("augment", args, env, rows, md)
