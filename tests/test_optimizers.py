"""Fused optimizer updates and gradient clipping (sinapse.ops) on the CPU (every SIMD path)
and the simulated CUDA kernels: several steps of every optimizer and option against the
float64 reference, the SIMD paths bit for bit against each other, clipping, PyTorch where
its formulas coincide (or after the documented adaptation), and bad input."""

import math

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, SIMD_PATHS, on
from sinapse import ops, reference

# (optimizer, its options, state slots (name, initial value) the options need)
CASES = [
    ("sgd", dict(learning_rate=0.1), []),
    ("sgd", dict(learning_rate=0.1, momentum=0.9), [("velocity", 0.0)]),
    ("sgd", dict(learning_rate=0.1, momentum=0.5, nesterov=True), [("velocity", 0.0)]),
    ("adagrad", dict(learning_rate=0.05), [("accumulator", 0.1)]),
    ("adadelta", dict(learning_rate=1.0), [("accumulated_grad", 0.0), ("accumulated_delta", 0.0)]),
    (
        "adadelta",
        dict(learning_rate=0.5, rho=0.9, epsilon=1e-6),
        [("accumulated_grad", 0.0), ("accumulated_delta", 0.0)],
    ),
    ("rmsprop", dict(learning_rate=0.01), [("velocity", 0.0)]),
    ("rmsprop", dict(learning_rate=0.01, momentum=0.9), [("velocity", 0.0), ("momentum_buffer", 0.0)]),
    ("rmsprop", dict(learning_rate=0.01, centered=True), [("velocity", 0.0), ("average_grad", 0.0)]),
    (
        "rmsprop",
        dict(learning_rate=0.01, momentum=0.5, centered=True, rho=0.8),
        [("velocity", 0.0), ("momentum_buffer", 0.0), ("average_grad", 0.0)],
    ),
    ("adam", dict(learning_rate=0.01), [("m", 0.0), ("v", 0.0)]),
    ("adam", dict(learning_rate=0.01, amsgrad=True, beta_1=0.8, beta_2=0.99), [("m", 0.0), ("v", 0.0), ("vhat", 0.0)]),
    ("adam", dict(learning_rate=0.01, weight_decay=0.004), [("m", 0.0), ("v", 0.0)]),  # AdamW
]
EXTRAS = [dict(), dict(weight_decay=0.1), dict(l2=0.01), dict(grad_scale=0.5), dict(clipvalue=0.3)]
STEPS = 3


def _run(kind, opts, slots, shape, rng, backend, steps=STEPS, simd=None):
    """`steps` updates by the kernel and by the float64 reference; returns both final states."""
    w = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(steps)]
    state = {name: np.full(shape, init, np.float32) for name, init in slots}
    ref_w, ref_state = w.astype(np.float64), {k: v.astype(np.float64) for k, v in state.items()}
    op, ref_op = getattr(ops, f"{kind}_update"), getattr(reference, f"{kind}_update")
    names = [name for name, _ in slots]
    for t, g in enumerate(grads, start=1):
        step = dict(step=t) if kind == "adam" else {}
        with on(backend):
            op(w, g, **state, **opts, **step, **({"simd": simd} if simd else {}))
        out = ref_op(ref_w, g.astype(np.float64), **ref_state, **opts, **step)
        ref_w = out[0]
        returned = _ref_slot_names(kind)
        for name, value in zip(returned, out[1:]):
            if name in names:
                ref_state[name] = value
    return (w, state), (ref_w, ref_state)


def _ref_slot_names(kind):
    return {
        "sgd": ["velocity"],
        "adagrad": ["accumulator"],
        "adadelta": ["accumulated_grad", "accumulated_delta"],
        "rmsprop": ["velocity", "momentum_buffer", "average_grad"],
        "adam": ["m", "v", "vhat"],
    }[kind]


def _case_id(case):
    kind, opts, _ = case
    return kind + "".join(f"-{k}={v}" for k, v in opts.items() if k != "learning_rate")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("extra", EXTRAS, ids=lambda e: ",".join(e) or "plain")
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_steps_match_reference(rng, backend, case, extra):
    kind, opts, slots = case
    opts = {**opts, **extra}
    (w, state), (ref_w, ref_state) = _run(kind, opts, slots, (7, 37), rng, backend)
    np.testing.assert_allclose(w, ref_w, rtol=2e-5, atol=2e-6)
    for name in state:
        np.testing.assert_allclose(state[name], ref_state[name], rtol=2e-5, atol=2e-6, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_simd_paths_agree_and_threads_do_not_change_bits(rng, case, restore_threads):
    """The buffer (3 chunks + a tail) splits over threads without changing any element's
    arithmetic: bit-identical for 1 and 2 threads. SIMD paths may differ by FMA contraction
    (the AVX2/AVX-512 loops fuse multiply-adds, the baseline cannot), so they agree to rounding."""
    kind, opts, slots = case
    shape = (3 * 16384 + 7,)
    first = None
    for simd in SIMD_PATHS:
        by_threads = []
        for threads in (1, 2):
            sinapse.set_num_threads(threads)
            (w, state), _ = _run(
                kind, {**opts, "clipvalue": 1.5}, slots, shape, np.random.default_rng(7), "cpu", steps=2, simd=simd
            )
            by_threads.append((w, state))
        (w1, s1), (w2, s2) = by_threads
        np.testing.assert_array_equal(w1, w2, err_msg=f"{simd}: 1 vs 2 threads")
        for name in s1:
            np.testing.assert_array_equal(s1[name], s2[name], err_msg=f"{name}, {simd}: 1 vs 2 threads")
        if first is None:
            first = (w1, s1)
        np.testing.assert_allclose(w1, first[0], rtol=1e-5, atol=1e-6, err_msg=f"{simd} vs {SIMD_PATHS[0]}")
        for name in s1:
            np.testing.assert_allclose(s1[name], first[1][name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sizes", [[1], [5, 300], [0, 3, 1027], [70000]], ids=str)
def test_global_norm_and_clipping_match_reference(rng, backend, sizes):
    if backend == "cuda_sim" and max(sizes) > 2000:
        sizes = [2000]  # the simulator is slow; 2000 still spans several partial blocks
    arrays = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    ref_norm = reference.global_norm(arrays)
    with on(backend):
        norm = ops.global_norm(arrays)
        clipped, gnorm = ops.clip_by_global_norm(arrays, 0.5 * ref_norm if ref_norm else 1.0)
        by_norm = ops.clip_by_norm(arrays[-1], 2.0)
        by_value = ops.clip_by_value(arrays[-1], 0.25)
    assert math.isclose(norm, ref_norm, rel_tol=1e-12) and gnorm == norm
    ref_clipped, _ = reference.clip_by_global_norm(arrays, 0.5 * ref_norm if ref_norm else 1.0)
    for got, want in zip(clipped, ref_clipped):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        by_norm, reference.clip_by_norm(arrays[-1].astype(np.float64), 2.0), rtol=1e-6, atol=1e-7
    )
    np.testing.assert_array_equal(by_value, reference.clip_by_value(arrays[-1], 0.25))


def test_global_norm_same_bits_for_any_thread_count(rng, restore_threads):
    arrays = [rng.standard_normal(n).astype(np.float32) for n in (100000, 7, 65536)]
    norms = set()
    for threads in (1, 2):
        sinapse.set_num_threads(threads)
        norms.update(ops.global_norm(arrays, simd=simd) for simd in SIMD_PATHS[-1:])
    assert len(norms) == 1


def test_clip_in_place_and_below_threshold(rng):
    x = rng.standard_normal(10).astype(np.float32)
    before = x.copy()
    assert ops.clip_by_norm(x, 1e6, out=x) is x
    np.testing.assert_array_equal(x, before)  # norm below clipnorm: scale exactly 1
    out, norm = ops.clip_by_global_norm([x], 1.0, out=[x])
    assert out[0] is x and math.isclose(np.linalg.norm(x.astype(np.float64)), 1.0, rel_tol=1e-6)
    assert ops.global_norm([]) == 0.0


# ------------------------------------------------------------------------------- PyTorch


def _torch_steps(torch_opt_cls, kind, sinapse_opts, torch_opts, slots, rng, *, adapt=None, steps=4):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal(50).astype(np.float32)
    grads = [rng.standard_normal(50).astype(np.float32) for _ in range(steps)]
    tw = torch.nn.Parameter(torch.from_numpy(w.copy()))
    topt = torch_opt_cls([tw], **torch_opts)
    state = {name: np.full(50, init, np.float32) for name, init in slots}
    for t, g in enumerate(grads, start=1):
        tw.grad = torch.from_numpy(g)
        topt.step()
        extra = adapt(t) if adapt else {}
        getattr(ops, f"{kind}_update")(w, g, **state, **sinapse_opts, **extra)
    return w, tw.detach().numpy()


def test_torch_adam_with_epsilon_adaptation(rng):
    """PyTorch: w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps); Keras's epsilon is
    eps * sqrt(1 - b2^t), so passing that per step makes the two identical."""
    torch = pytest.importorskip("torch")
    eps, b2 = 1e-3, 0.999
    for amsgrad in (False, True):
        slots = [("m", 0.0), ("v", 0.0)] + ([("vhat", 0.0)] if amsgrad else [])
        got, want = _torch_steps(
            torch.optim.Adam,
            "adam",
            dict(learning_rate=0.01, amsgrad=amsgrad),
            dict(lr=0.01, eps=eps, amsgrad=amsgrad),
            slots,
            rng,
            adapt=lambda t: dict(step=t, epsilon=eps * math.sqrt(1 - b2**t)),
        )
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_torch_adamw_decoupled_decay_coincides(rng):
    torch = pytest.importorskip("torch")
    got, want = _torch_steps(
        torch.optim.AdamW,
        "adam",
        dict(learning_rate=0.01, weight_decay=0.1),
        dict(lr=0.01, eps=0.0, weight_decay=0.1),
        [("m", 0.0), ("v", 0.0)],
        rng,
        adapt=lambda t: dict(step=t, epsilon=0.0),
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_torch_sgd_momentum_coincides(rng, nesterov):
    """PyTorch's buffer b = mu b + g, w -= lr b is Keras's velocity = -lr b for a constant lr."""
    torch = pytest.importorskip("torch")
    got, want = _torch_steps(
        torch.optim.SGD,
        "sgd",
        dict(learning_rate=0.1, momentum=0.9, nesterov=nesterov),
        dict(lr=0.1, momentum=0.9, nesterov=nesterov),
        [("velocity", 0.0)],
        rng,
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.9, False), (0.0, True), (0.5, True)])
def test_torch_rmsprop_coincides_at_zero_epsilon(rng, momentum, centered):
    """PyTorch adds eps outside the square root, Keras inside: equal at epsilon = 0."""
    torch = pytest.importorskip("torch")
    slots = (
        [("velocity", 0.0)]
        + ([("momentum_buffer", 0.0)] if momentum else [])
        + ([("average_grad", 0.0)] if centered else [])
    )
    got, want = _torch_steps(
        torch.optim.RMSprop,
        "rmsprop",
        dict(learning_rate=0.01, rho=0.9, momentum=momentum, centered=centered, epsilon=0.0),
        dict(lr=0.01, alpha=0.9, momentum=momentum, centered=centered, eps=0.0),
        slots,
        rng,
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_torch_adadelta_and_adagrad_coincide(rng):
    torch = pytest.importorskip("torch")
    got, want = _torch_steps(
        torch.optim.Adadelta,
        "adadelta",
        dict(learning_rate=1.0, rho=0.9, epsilon=1e-6),
        dict(lr=1.0, rho=0.9, eps=1e-6),
        [("accumulated_grad", 0.0), ("accumulated_delta", 0.0)],
        rng,
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # PyTorch: eps outside the root and the accumulator starting at 0 by default.
    got, want = _torch_steps(
        torch.optim.Adagrad,
        "adagrad",
        dict(learning_rate=0.1, epsilon=0.0),
        dict(lr=0.1, eps=0.0, initial_accumulator_value=0.1),
        [("accumulator", 0.1)],
        rng,
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- bad input


def test_bad_input():
    w, g, m, v = (np.zeros(4, np.float32) for _ in range(4))
    adam = dict(learning_rate=0.1, step=1)
    with pytest.raises(ValueError, match=r"adam_update: `learning_rate` must be a finite number in \[0.0, inf\]"):
        ops.adam_update(w, g, m, v, learning_rate=-0.1, step=1)
    with pytest.raises(ValueError, match=r"adam_update: `m` must have shape \(4,\)"):
        ops.adam_update(w, g, np.zeros(5, np.float32), v, **adam)
    with pytest.raises(TypeError, match=r"adam_update: `grad` must be float32"):
        ops.adam_update(w, g.astype(np.float64), m, v, **adam)
    with pytest.raises(ValueError, match=r"adam_update: `step` must be an int >= 1"):
        ops.adam_update(w, g, m, v, learning_rate=0.1, step=0)
    with pytest.raises(ValueError, match=r"adam_update: `beta_1` must be a finite number in \[0.0, 1.0\)"):
        ops.adam_update(w, g, m, v, beta_1=1.0, **adam)
    with pytest.raises(ValueError, match=r"adam_update: amsgrad=True needs `vhat`"):
        ops.adam_update(w, g, m, v, amsgrad=True, **adam)
    with pytest.raises(ValueError, match=r"adam_update: `vhat` is not used with these options"):
        ops.adam_update(w, g, m, v, np.zeros(4, np.float32), **adam)
    with pytest.raises(ValueError, match=r"adam_update: `param` and `m` share memory"):
        ops.adam_update(w, g, w, v, **adam)
    with pytest.raises(ValueError, match=r"sgd_update: momentum=0.9 needs `velocity`"):
        ops.sgd_update(w, g, learning_rate=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"sgd_update: `momentum` must be a finite number in \[0.0, 1.0\]"):
        ops.sgd_update(w, g, m, learning_rate=0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"rmsprop_update: `clipvalue` must be None or a positive"):
        ops.rmsprop_update(w, g, m, learning_rate=0.1, clipvalue=0.0)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"adagrad_update: `param` is updated in place: it must be writeable"):
        ops.adagrad_update(ro, g, m, learning_rate=0.1)
    with pytest.raises(TypeError, match=r"adagrad_update: `learning_rate` must be a real number"):
        ops.adagrad_update(w, g, m, learning_rate="0.1")
    with pytest.raises(ValueError, match=r"clip_by_norm: `clipnorm` must be a positive finite number"):
        ops.clip_by_norm(g, -1.0)
    with pytest.raises(TypeError, match=r"global_norm: `arrays\[1\]` must be float32"):
        ops.global_norm([g, np.zeros(3)])
    with pytest.raises(TypeError, match=r"global_norm: `arrays` must be a list of arrays"):
        ops.global_norm(g.tobytes())
