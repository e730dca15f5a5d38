"""Pictures of training, as seed 001 looks at them: the training curves of a History, the
feature maps each layer produces for one input, and the first convolution's filters; and, for
seed 002's autoencoders, inputs beside their reconstructions.

Needs matplotlib (``pip install "sinapse[viz]"``); every function writes PNG files (with the
non-interactive Agg backend, so it works without a display) and returns their paths.

    history = model.fit(x, y, validation_split=0.1, epochs=10)
    sinapse.viz.plot_history(history, "curves.png")
    sinapse.viz.plot_feature_maps(model, x[:1], "maps/")        # maps/00_input.png, maps/01_conv2d.png, ...
    sinapse.viz.plot_filters(model, "filters.png")
    sinapse.viz.plot_reconstructions(x_test[:10], autoencoder.predict(x_test[:10]), "recon.png")
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            'sinapse.viz needs matplotlib: pip install "sinapse[viz]" (or pip install matplotlib)'
        ) from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    fig.clf()
    return path


def plot_history(history, path, title: str | None = None) -> Path:
    """Training curves: one panel per metric (loss, accuracy, ...), its ``val_`` twin beside it.

    ``history`` is what ``fit`` returns (or its ``.history`` dict).
    """
    curves = getattr(history, "history", history)
    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"plot_history: expected a History or a non-empty dict of lists, got {type(history).__name__}")
    names = [k for k in curves if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    names += [k[4:] for k in curves if k.startswith("val_") and k[4:] not in names]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            if key in curves:
                values = np.asarray(curves[key], dtype=float)
                ax.plot(np.arange(1, len(values) + 1), values, style, markersize=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _grid(plt, maps: np.ndarray, title: str, cmap="viridis", limit=64):
    """maps: (H, W, C) -> a grid of up to ``limit`` channel images."""
    channels = min(maps.shape[-1], limit)
    cols = min(channels, 8)
    rows = math.ceil(channels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < channels:
            ax.imshow(maps[..., i], cmap=cmap)
    fig.suptitle(title)
    return fig


def plot_feature_maps(model, x, folder, limit: int = 64) -> list[Path]:
    """For one input ``x`` (shape (1, ...) or a single sample), the output of every layer.

    Images (H, W, C) are drawn one channel per panel (at most ``limit``); vectors as a bar
    chart. Files: ``folder/00_input.png``, ``folder/01_<layer name>.png``, ...
    """
    x = np.asarray(x, dtype=np.float32)
    if model.built and x.ndim == len(model.layers[0].input_shape or ()):
        x = x[None]
    if x.shape[0] != 1:
        raise ValueError(f"plot_feature_maps: expected one input (a batch of 1), got a batch of {x.shape[0]}")
    plt = _pyplot()
    folder = Path(folder)
    paths = []

    def draw(index, name, value):
        value = value[0]
        if value.ndim == 3:
            fig = _grid(plt, value, f"{name} {tuple(value.shape)}", limit=limit)
        elif value.ndim == 2:
            fig = _grid(plt, value[..., None], f"{name} {tuple(value.shape)}", cmap="gray")
        else:
            flat = value.reshape(-1)
            fig, ax = plt.subplots(figsize=(6, 2.5))
            ax.bar(np.arange(flat.size), flat)
            ax.set_title(f"{name} {tuple(value.shape)}")
        paths.append(_save(fig, folder / f"{index:02d}_{name}.png"))

    draw(0, "input", x)
    for i, layer in enumerate(model.layers, start=1):
        x = layer(x)
        draw(i, layer.name, x)
    return paths


def plot_filters(model_or_layer, path) -> Path:
    """The first Conv2D's kernels, one panel per output channel (RGB when it has 3 input channels)."""
    from .layers import Conv2D

    layers = getattr(model_or_layer, "layers", [model_or_layer])
    conv = next((layer for layer in layers if isinstance(layer, Conv2D)), None)
    if conv is None or not conv.built:
        raise ValueError("plot_filters: no built Conv2D layer to draw (build or train the model first)")
    kernel = conv.get_weights()[0]  # (KH, KW, C, K)
    kh, kw, c, k = kernel.shape
    plt = _pyplot()
    cols = min(k, 8)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= k:
            continue
        f = kernel[..., i]
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        ax.imshow(f if c == 3 else f[..., 0], cmap=None if c == 3 else "gray", interpolation="nearest")
    fig.suptitle(f"{conv.name}: {k} filters {kh}x{kw}x{c}")
    return _save(fig, path)


def _images(name, a) -> np.ndarray:
    """(N, H, W), (N, H, W, 1) or (N, H, W, 3) images as (N, H, W) or (N, H, W, 3) floats."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (3, 4) or (a.ndim == 4 and a.shape[-1] != 3) or len(a) == 0:
        raise ValueError(
            f"plot_reconstructions: `{name}` must be images (N, H, W), (N, H, W, 1) or (N, H, W, 3) with N >= 1, "
            f"got shape {a.shape}"
        )
    return a


def plot_reconstructions(inputs, reconstructions, path, title: str | None = None) -> Path:
    """An autoencoder's inputs (top row) above their reconstructions (bottom row), one column per image.

    ``inputs`` and ``reconstructions``: arrays of the same shape, (N, H, W), (N, H, W, 1) (drawn in
    grey) or (N, H, W, 3) (RGB), values in [0, 1] as the model sees them. Raises ValueError for
    other shapes or shapes that differ.
    """
    a, b = _images("inputs", inputs), _images("reconstructions", reconstructions)
    if a.shape != b.shape:
        raise ValueError(
            f"plot_reconstructions: `inputs` {np.shape(inputs)} and `reconstructions` {np.shape(reconstructions)} "
            "must have the same shape"
        )
    plt = _pyplot()
    n = len(a)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n, 2.6 if title else 2.3), squeeze=False)
    for row, images, label in ((0, a, "input"), (1, b, "output")):
        for i, ax in enumerate(axes[row]):
            ax.imshow(np.clip(images[i], 0.0, 1.0), cmap="gray" if images.ndim == 3 else None, vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(label)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)
