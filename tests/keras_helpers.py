"""Helpers shared by the Keras-API tests (layers, models, training, saving, callbacks)."""

from __future__ import annotations

import numpy as np


def blobs(n, d, classes, rng, spread=0.5):
    """``classes`` Gaussian clusters in ``d`` dimensions: an easy, learnable problem."""
    centers = rng.standard_normal((classes, d)) * 3
    y = rng.integers(0, classes, n)
    x = centers[y] + spread * rng.standard_normal((n, d))
    return x.astype(np.float32), y


def check_layer_gradients(layer, x, rng, *, training=False, eps=1e-3, rtol=2e-2, atol=2e-3, samples=12, mask=None):
    """Finite differences of L = sum(layer(x) * r) against the layer's backward, for x and every trainable weight
    (``mask``: the (N, T) mask given to every forward)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    layer.ensure_built(x.shape[1:])

    def forward():
        return layer.forward(x, training) if mask is None else layer.forward(x, training, mask)

    def loss():
        return float(np.sum(forward().astype(np.float64) * r))

    y = forward()
    r = rng.standard_normal(y.shape)
    dx = np.array(layer.backward(r.astype(np.float32), need_dx=True), copy=True)
    grads = [np.array(w.grad, copy=True) for w in layer.trainable_weights]
    targets = [("x", x, dx)] + [(w.name, w.value, g) for w, g in zip(layer.trainable_weights, grads)]
    for name, array, analytic in targets:
        assert analytic.shape == array.shape, f"{layer.name}: d{name} shape {analytic.shape} != {array.shape}"
        flat = array.reshape(-1)
        picks = rng.choice(flat.size, size=min(samples, flat.size), replace=False)
        for i in picks:
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            numeric = (up - down) / (2 * eps)
            got = analytic.reshape(-1)[i]
            assert abs(numeric - got) <= atol + rtol * abs(numeric), (
                f"{layer.name}: d{name}[{i}] backward {got} vs finite difference {numeric}"
            )


def check_keras_file_round_trip(path, x, y, tmp_path, *, rtol=1e-5, atol=1e-6):
    """A .keras file written by Keras (``path``) loads in sinapse and predicts ``y`` (Keras's
    predictions on ``x``), and the file sinapse saves from it loads back with the same."""
    import sinapse

    model = sinapse.models.load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=rtol, atol=atol)
    model.save(tmp_path / "again.keras")
    again = sinapse.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), y, rtol=rtol, atol=atol)
