"""Dropout masks inside the recurrent sequence ops (``dropout_mask`` / ``recurrent_dropout_mask``,
Keras's per-sequence masks): forward against the float64 reference extended with the masks,
backward against finite differences of that reference, on the CPU (every code path: the tuned
fused LSTM loop, the small-batch loop, the shared loop, the naive LSTM cell) and the simulated
CUDA kernels (plain, and checked + racecheck), for every cell and mask layout."""

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from test_rnn import CELLS, make, run_backward, run_op, run_reference

SIM = ["plain", "checked"] if "cuda_sim" in BACKENDS else []


def masks(rng, name, n, d, h, kind, rec, rate=0.4):
    """(dropout_mask, recurrent_dropout_mask) as the layers draw them: 0 or 1 / (1 - rate)."""
    gates = CELLS[name][1]
    keep = lambda *s: ((rng.random(s) >= rate) / (1 - rate)).astype(np.float32)  # noqa: E731
    dm = {"none": None, "shared": keep(n, d), "per_gate": keep(n, gates, d)}[kind]
    return dm, (keep(n, gates, h) if rec else None)


def as32(p):
    return {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in p.items()}


def backend_ctx(backend):
    if backend == "plain":
        return sinapse.cuda.simulate()
    if backend == "checked":
        return on("cuda_sim")
    return on(backend)


def check_forward(name, p, dm, rdm, ctx, variant=None, **kw):
    want = run_reference(name, p, dropout_mask=dm, recurrent_dropout_mask=rdm, **kw)
    op_kw = {**kw, **({"variant": variant} if variant else {})}
    with ctx:
        got = run_op(name, as32(p), dropout_mask=dm, recurrent_dropout_mask=rdm, **op_kw)
    for g, w in zip(got[:3], want[:3]):
        if w is not None:
            np.testing.assert_allclose(np.asarray(g), w, rtol=2e-4, atol=2e-5)
    return got


@pytest.mark.parametrize("backend", ["cpu", *SIM])
@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("kind", ["none", "shared", "per_gate"])
@pytest.mark.parametrize("rec", [False, True])
def test_forward_matches_reference(backend, name, kind, rec):
    if kind == "none" and not rec:
        pytest.skip("no masks: test_rnn.py")
    rng = np.random.default_rng(7)
    for n, t, d, h, opts in ((3, 5, 4, 6, {}), (2, 4, 3, 5, {"go_backwards": True, "return_sequences": False})):
        p = make(rng, name, n, t, d, h, mask=True)
        dm, rdm = masks(rng, name, n, d, h, kind, rec)
        check_forward(name, p, dm, rdm, backend_ctx(backend), **opts)


@pytest.mark.parametrize("n", [1, 5, 40])  # the CPU's batch-1 GEMV, small-batch and GEMM paths
@pytest.mark.parametrize("variant", ["tuned", "naive"])
@pytest.mark.parametrize("kind,rec", [("shared", False), ("per_gate", True), ("none", True)])
def test_lstm_paths(n, variant, kind, rec):
    rng = np.random.default_rng(n)
    p = make(rng, "lstm", n, 6, 7, 20)
    dm, rdm = masks(rng, "lstm", n, 7, 20, kind, rec)
    check_forward("lstm", p, dm, rdm, on("cpu"), variant=variant)


@pytest.mark.parametrize("n", [1, 5, 40])
@pytest.mark.parametrize("name", ["simple_tanh", "gru"])
def test_small_batch_path(n, name):
    rng = np.random.default_rng(n)
    p = make(rng, name, n, 5, 6, 33)
    for kind, rec in (("shared", False), ("per_gate", True)):
        dm, rdm = masks(rng, name, n, 6, 33, kind, rec)
        check_forward(name, p, dm, rdm, on("cpu"))


def loss_and_grads(name, p, dm, rdm, dy, dh, ctx, **kw):
    """The op's gradients of sum(y dy) + sum(h_T dh) (float32)."""
    with ctx:
        y, h_t, c_t, cache = run_op(name, as32(p), dropout_mask=dm, recurrent_dropout_mask=rdm, **kw)
        grads = run_backward(name, cache, dy.astype(np.float32), dh.astype(np.float32), None)
    return dict(zip(("x", "kernel", "recurrent_kernel", "bias", "h0", "c0"), grads))


def numeric(name, p, dm, rdm, dy, dh, key, **kw):
    """Central differences of the float64 reference's loss with respect to p[key]."""
    base = p[key]
    grad = np.zeros_like(base)
    eps = 1e-6
    for i in np.ndindex(base.shape):
        vals = []
        for sign in (1, -1):
            q = dict(p)
            q[key] = base.copy()
            q[key][i] += sign * eps
            y, h_t, _ = run_reference(name, q, dropout_mask=dm, recurrent_dropout_mask=rdm, **kw)[:3]
            vals.append(np.sum(y * dy) + np.sum(h_t * dh))
        grad[i] = (vals[0] - vals[1]) / (2 * eps)
    return grad


@pytest.mark.parametrize("backend", ["cpu", *SIM])
@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("kind,rec", [("shared", True), ("per_gate", True), ("per_gate", False)])
def test_backward_matches_finite_differences(backend, name, kind, rec):
    rng = np.random.default_rng(3)
    n, t, d, h = 2, 3, 3, 4
    p = make(rng, name, n, t, d, h, mask=True)
    p["mask"][1, 1] = True  # a real step for the second example too
    dm, rdm = masks(rng, name, n, d, h, kind, rec, rate=0.3)
    kw = {"go_backwards": backend == "plain"}
    dy, dh = rng.standard_normal((n, t, h)), rng.standard_normal((n, h))
    got = loss_and_grads(name, p, dm, rdm, dy, dh, backend_ctx(backend), **kw)
    for key in ("x", "kernel", "recurrent_kernel", "bias", "h0"):
        want = numeric(name, p, dm, rdm, dy, dh, key, **kw)
        np.testing.assert_allclose(np.asarray(got[key]), want, rtol=2e-3, atol=2e-4, err_msg=key)


@pytest.mark.parametrize("name", list(CELLS))
def test_all_ones_masks_change_nothing(name):
    rng = np.random.default_rng(11)
    n, t, d, h = 4, 5, 3, 6
    p = as32(make(rng, name, n, t, d, h))
    gates = CELLS[name][1]
    plain = run_op(name, p)
    masked = run_op(
        name,
        p,
        dropout_mask=np.ones((n, gates, d), np.float32),
        recurrent_dropout_mask=np.ones((n, gates, h), np.float32),
    )
    for a, b in zip(plain[:3], masked[:3]):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal(plain[0].shape).astype(np.float32)
    ga = run_backward(name, plain[3], dy, None, None)
    gb = run_backward(name, masked[3], dy, None, None)
    for a, b in zip(ga, gb):
        if a is not None:
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_bad_masks():
    rng = np.random.default_rng(0)
    p = as32(make(rng, "lstm", 2, 3, 4, 5))
    with pytest.raises(ValueError, match="lstm: `dropout_mask` must have shape"):
        run_op("lstm", p, dropout_mask=np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="lstm: `recurrent_dropout_mask` must have shape"):
        run_op("lstm", p, recurrent_dropout_mask=np.ones((2, 5), np.float32))
    with pytest.raises(TypeError, match="recurrent_dropout_mask"):
        run_op("lstm", p, recurrent_dropout_mask=np.ones((2, 4, 5), np.float64))
    # SimpleRNN's single recurrent block may be given as (N, H)
    q = as32(make(rng, "simple_tanh", 2, 3, 4, 5))
    a = run_op("simple_tanh", q, recurrent_dropout_mask=np.full((2, 5), 2.0, np.float32))
    b = run_op("simple_tanh", q, recurrent_dropout_mask=np.full((2, 1, 5), 2.0, np.float32))
    np.testing.assert_array_equal(a[0], b[0])
