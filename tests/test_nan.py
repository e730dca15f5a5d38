"""NaN and +-Inf semantics of every op (docs/reliability.md, "NaN and Inf").

Every op of ``sinapse.ops`` has a case below (``test_every_op_has_a_case`` fails for a new op
without one). Each case feeds inputs holding NaN, +inf and -inf at random positions and
compares the result with ``sinapse.reference`` evaluated in float64: the NaN positions must be
identical (``same()`` compares the isnan masks first), infinities must agree in position and
sign, the finite values must be close. The reference's behaviour is the definition. Cases run
on the CPU for every kernel variant and SIMD path the op exposes, and on the simulated CUDA
kernels. The named tests after the table pin the rules the document states one by one.
"""

from __future__ import annotations

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, SIMD_PATHS, on
from sinapse import ops, reference
from sinapse.ops._conv2d_transpose import transpose_geometry
from sinapse.ops.activation import KINDS as ACT_KINDS
from sinapse.ops.conv2d import geometry
from sinapse.ops.losses import KINDS as LOSS_KINDS
from sinapse.registry import OPS

SPECIALS = np.array([np.nan, np.inf, -np.inf], np.float32)
NOT_OPS = {"conv2d_variant"}  # a query of the configuration, not an op on arrays


def poison(rng, a, frac=0.12, values=SPECIALS):
    """A float32 copy of ``a`` with NaN / +inf / -inf (or ``values``) at random positions (>= 1)."""
    a = np.array(a, dtype=np.float32, copy=True)
    flat = a.reshape(-1)
    k = max(1, int(flat.size * frac))
    idx = rng.choice(flat.size, k, replace=False)
    flat[idx] = rng.choice(values, k)
    return a


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def f64(a):
    return None if a is None else np.asarray(a, np.float64)


def same(got, ref, what, rtol=2e-4, atol=2e-5):
    """NaN exactly where the reference has NaN; +-inf where it has them; finite values close."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    bad = np.isnan(got) != np.isnan(ref)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: NaN mask differs at {int(bad.sum())} of {bad.size} elements; first at {i}: "
            f"got {got[i]!r}, reference {ref[i]!r}"
        )
    scale = float(np.abs(ref[np.isfinite(ref)]).max(initial=1.0))
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol * max(scale, 1.0), equal_nan=True, err_msg=what)


def reference_of(fn, *args, **kw):
    """The reference in float64; inf - inf and 0 * inf are expected there, not warnings."""
    with np.errstate(all="ignore"):
        return fn(*args, **kw)


# --------------------------------------------------------------------------- the cases, one per op
# Each case(rng, kw) runs the op (kw: variant / simd, where the op has them) and returns a list of
# (what, got, reference) triples.

CASES = {}


def case(*names, paths=()):
    """Register a case for ops ``names``; ``paths``: the keywords it takes ("variant", "simd")."""

    def register(fn):
        for name in names:
            CASES[name] = (fn, paths)
        return fn

    return register


@case("activation", "activation_backward")
def _activation(rng, kw):
    out = []
    for name in sorted(ACT_KINDS):
        x = np.concatenate([SPECIALS, poison(rng, randn(rng, 61, scale=2.0))])
        dy = np.concatenate([np.ones(3, np.float32), poison(rng, randn(rng, 61))])
        out.append((f"activation {name}", ops.activation(x, name), reference_of(reference.activation(name), f64(x))))
        out.append(
            (
                f"activation_backward {name}",
                ops.activation_backward(dy, x, name),
                reference_of(reference.activation_backward, f64(dy), f64(x), name),
            )
        )
    return out


@case("axpy")
def _axpy(rng, kw):
    x, y = poison(rng, randn(rng, 300)), poison(rng, randn(rng, 300))
    return [("axpy", ops.axpy(1.5, x, y), reference_of(reference.axpy, 1.5, f64(x), f64(y)))]


@case("merge", "merge_backward", "concatenate", "concatenate_backward")
def _merge(rng, kw):
    out = []
    xs = [poison(rng, randn(rng, 4, 75)) for _ in range(3)]
    xs[1][0, :3] = SPECIALS  # inf - inf, inf * 0 and NaN against every special of the others
    dy = poison(rng, randn(rng, 4, 75), 0.05)
    ref = [f64(x) for x in xs]
    for mode in ("add", "subtract", "multiply", "average", "maximum", "minimum"):
        use, use_ref = (xs[:2], ref[:2]) if mode == "subtract" else (xs, ref)
        out.append((f"merge {mode}", ops.merge(use, mode), reference_of(reference.merge, use_ref, mode)))
        got = ops.merge_backward(dy, use, mode)
        want = reference_of(reference.merge_backward, f64(dy), use_ref, mode)
        out += [(f"merge_backward {mode} {k}", g, w) for k, (g, w) in enumerate(zip(got, want))]
    cat = ops.concatenate(xs, axis=0)
    out.append(("concatenate", cat, reference.concatenate(ref, axis=0)))
    parts = ops.concatenate_backward(cat, xs, axis=0)
    out += [(f"concatenate_backward {k}", g, w) for k, (g, w) in enumerate(zip(parts, ref))]
    return out


@case("gemm", paths=("variant", "simd"))
def _gemm(rng, kw):
    out = []
    for (m, n, k), act in zip([(3, 17, 9), (13, 35, 19), (6, 8, 70), (20, 9, 5)], [None, "relu", "sigmoid", "tanh"]):
        for ta, tb in [(False, False), (True, True)]:
            a, b = poison(rng, randn(rng, m, k), 0.05), poison(rng, randn(rng, k, n), 0.05)
            bias, c = poison(rng, randn(rng, n), 0.1), poison(rng, randn(rng, m, n), 0.1)
            sa, sb = (np.ascontiguousarray(a.T) if ta else a), (np.ascontiguousarray(b.T) if tb else b)
            got = ops.gemm(sa, sb, c, beta=0.5, trans_a=ta, trans_b=tb, bias=bias, activation=act, **kw)
            ref = reference_of(reference.gemm, f64(a), f64(b), f64(c), beta=0.5, bias=f64(bias), activation=act)
            out.append((f"gemm {m}x{n}x{k} {act} trans={ta}", got, ref))
            nan_c = np.full((m, n), np.nan, np.float32)  # beta = 0: C is never read (BLAS)
            got = ops.gemm(sa, sb, nan_c, trans_a=ta, trans_b=tb, activation=act, **kw)
            out.append(
                (f"gemm beta=0 {m}x{n}x{k} {act}", got, reference_of(reference.gemm, f64(a), f64(b), activation=act))
            )
            got = ops.gemm(sa, sb, trans_a=ta, trans_b=tb, alpha=0.0, **kw)  # IEEE: 0 * NaN, 0 * inf are NaN
            out.append((f"gemm alpha=0 {m}x{n}x{k}", got, reference_of(reference.gemm, f64(a), f64(b), alpha=0.0)))
    return out


@case("conv2d", "conv2d_backward", paths=("variant", "simd"))
def _conv2d(rng, kw):
    out = []
    # direct kernels (<= 8 channels, with a ragged last group of output pixels), im2col + GEMM,
    # the 1x1 GEMM, strides and dilation
    for xs, ws, geo, act in [
        ((2, 6, 6, 3), (3, 3, 3, 4), (1, "same", 1), "relu"),
        ((1, 5, 5, 10), (3, 3, 10, 6), (1, "same", 1), None),
        ((2, 5, 5, 12), (1, 1, 12, 5), (1, "valid", 1), None),
        ((2, 9, 7, 2), (2, 3, 2, 17), (2, "same", 1), "relu"),
        ((1, 8, 8, 9), (3, 2, 9, 3), (1, "valid", 2), None),
    ]:
        strides, padding, dilation = geo
        if kw.get("variant") == "direct" and sinapse._cpu.conv2d_variant_refusal(
            geometry("test", xs, ws, strides, padding, dilation), "direct"
        ):
            continue  # outside the direct kernels' domain (a ValueError, tests/test_conv2d_variants.py)
        x, w, b = poison(rng, randn(rng, *xs), 0.03), poison(rng, randn(rng, *ws), 0.03), poison(rng, randn(rng, ws[3]))
        geo = ref_geo = dict(strides=strides, padding=padding, dilation_rate=dilation)
        got = ops.conv2d(x, w, b, activation=act, **geo, **kw)
        ref = reference.activation(act)(reference_of(reference.conv2d, f64(x), f64(w), f64(b), **ref_geo))
        out.append((f"conv2d {xs} {ws} {geo} {act}", got, ref))
        dy = poison(rng, randn(rng, *got.shape), 0.03)
        dx, dw, db = ops.conv2d_backward(dy, x, w, **geo, **kw)
        rdx, rdw, rdb = reference_of(reference.conv2d_backward, f64(dy), f64(x), f64(w), **ref_geo)
        out += [
            (f"conv2d_backward dx {xs}", dx, rdx),
            (f"conv2d_backward dw {xs}", dw, rdw),
            (f"conv2d_backward db {xs}", db, rdb),
        ]
    return out


@case("conv2d_transpose", "conv2d_transpose_backward", paths=("variant", "simd"))
def _conv2d_transpose(rng, kw):
    """On conv2d's dx (forward), forward (dx) and dW kernels: every padding zero is multiplied, so a
    NaN or inf spreads exactly as the scatter reference's does."""
    out = []
    for xs, ws, geo in [
        ((2, 4, 4, 3), (3, 3, 2, 3), dict(strides=2, padding="same")),
        ((1, 3, 4, 10), (3, 3, 6, 10), dict(strides=2, padding="valid", output_padding=1)),
        ((1, 5, 5, 4), (3, 3, 4, 4), dict(strides=1, padding="same")),
    ]:
        g = transpose_geometry("test", xs, ws, geo["strides"], geo["padding"], geo.get("output_padding"), 1)
        if kw.get("variant") in ("direct", "winograd") and sinapse._cpu.conv2d_variant_refusal(g, kw["variant"]):
            continue
        x, w, b = poison(rng, randn(rng, *xs), 0.03), poison(rng, randn(rng, *ws), 0.03), poison(rng, randn(rng, ws[2]))
        got = ops.conv2d_transpose(x, w, b, **geo, **kw)
        out.append(
            (
                f"conv2d_transpose {xs} {ws} {geo}",
                got,
                reference_of(reference.conv2d_transpose, f64(x), f64(w), f64(b), **geo),
            )
        )
        dy = poison(rng, randn(rng, *got.shape), 0.03)
        grads = ops.conv2d_transpose_backward(dy, x, w, **geo, **kw)
        refs = reference_of(reference.conv2d_transpose_backward, f64(dy), f64(x), f64(w), **geo)
        out += [(f"conv2d_transpose_backward {n} {xs}", a, r) for n, a, r in zip(("dx", "dw", "db"), grads, refs)]
    return out


@case("depthwise_conv2d", "depthwise_conv2d_backward", paths=("variant", "simd"))
def _depthwise_conv2d(rng, kw):
    """Depthwise (16-channel blocks + a tail, multiplier 2) and grouped; padding multiplies as conv2d's."""
    out = []
    for xs, ws, groups, geo in [
        ((2, 6, 7, 20), (3, 3, 20, 1), None, (1, "same", 1)),
        ((1, 5, 6, 3), (3, 2, 3, 2), None, (2, "same", 1)),
        ((1, 6, 6, 4), (3, 3, 2, 4), 2, (1, "same", (1, 2))),
        ((1, 3, 3, 4), (1, 1, 4, 1), None, (1, (2, 2, 2, 2), 1)),  # outputs whose window is all padding
    ]:
        x, w = poison(rng, randn(rng, *xs), 0.03), poison(rng, randn(rng, *ws), 0.05)
        strides, padding, dilation = geo
        args = dict(strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
        got = ops.depthwise_conv2d(x, w, **args, **kw)
        ref = reference_of(reference.depthwise_conv2d, f64(x), f64(w), **args)
        out.append((f"depthwise_conv2d {xs} {ws} groups={groups}", got, ref))
        dy = poison(rng, randn(rng, *got.shape), 0.03)
        dx, dw, db = ops.depthwise_conv2d_backward(dy, x, w, **args, **kw)
        rdx, rdw, rdb = reference_of(reference.depthwise_conv2d_backward, f64(dy), f64(x), f64(w), **args)
        out += [
            (f"depthwise_conv2d_backward {n} {xs}", g, r)
            for n, g, r in (("dx", dx, rdx), ("dw", dw, rdw), ("db", db, rdb))
        ]
    return out


@case("bias_add", "bias_backward")
def _bias(rng, kw):
    x, b, dy = poison(rng, randn(rng, 9, 7)), poison(rng, randn(rng, 7)), poison(rng, randn(rng, 4, 3, 7), 0.05)
    return [
        ("bias_add", ops.bias_add(x, b), reference_of(reference.bias_add, f64(x), f64(b))),
        ("bias_backward", ops.bias_backward(dy), reference_of(reference.bias_backward, f64(dy))),
    ]


@case("batch_norm", "batch_norm_backward")
def _batch_norm(rng, kw):
    out = []
    c = 6
    for training in (True, False):
        x = randn(rng, 4, 3, c, scale=2.0)
        x[1, 2, 1], x[0, 0, 3], x[2, 1, 4] = np.nan, np.inf, -np.inf  # channels 1, 3, 4 poisoned
        gamma, beta = randn(rng, c), randn(rng, c)
        gamma[5] = np.nan  # a NaN parameter poisons its own channel only
        rmean, rvar = randn(rng, c), rng.uniform(0.5, 2, c).astype(np.float32)
        rm, rv = rmean.copy(), rvar.copy()
        y, mean, invstd = ops.batch_norm(x, gamma, beta, rm, rv, training=training, momentum=0.9)
        ry, rm2, rv2 = reference_of(
            reference.batch_norm, f64(x), f64(gamma), f64(beta), f64(rmean), f64(rvar), training=training, momentum=0.9
        )
        out += [
            (f"batch_norm y training={training}", y, ry),
            (f"running_mean {training}", rm, rm2),
            (f"running_var {training}", rv, rv2),
        ]
        xc = randn(rng, 4, 3, c)  # the backward: statistics of a clean batch, then poisoned x and dy
        _, mean, invstd = ops.batch_norm(xc, gamma, beta, rmean.copy(), rvar.copy(), training=training)
        xb, dy = poison(rng, xc, 0.04), poison(rng, randn(rng, 4, 3, c), 0.04)
        got = ops.batch_norm_backward(dy, xb, gamma, mean, invstd, training=training)
        ref = reference_of(
            reference.batch_norm_backward, f64(dy), f64(xb), f64(gamma), f64(mean), f64(invstd), training=training
        )
        out += [
            (f"batch_norm_backward {lbl} training={training}", a, r)
            for lbl, a, r in zip(("dx", "dgamma", "dbeta"), got, ref)
        ]
    return out


@case("layer_norm", "layer_norm_backward", "group_norm", "group_norm_backward", paths=("variant",))
def _layer_norm(rng, kw):
    """A NaN or +-inf poisons its whole row (layer norm) or (sample, group) (group norm): the
    row's mean or variance is NaN / inf there, as in the reference; in the backward dgamma /
    dbeta of the channels it reaches."""
    out = []
    for name, shape, opts, param in (
        ("layer_norm", (6, 40), {}, (40,)),
        ("layer_norm", (3, 4, 5), {"axis": [1, 2]}, (4, 5)),
        ("group_norm", (3, 5, 8), {"groups": 2}, (8,)),
    ):
        fwd, bwd = getattr(ops, name), getattr(ops, f"{name}_backward")
        rfwd, rbwd = getattr(reference, name), getattr(reference, f"{name}_backward")
        x, gamma, beta = poison(rng, randn(rng, *shape), 0.03), randn(rng, *param), randn(rng, *param)
        y, _, _ = fwd(x, gamma, beta, **opts, **kw)
        out.append((f"{name} y {shape}", y, reference_of(rfwd, f64(x), f64(gamma), f64(beta), **opts)[0]))
        xc = randn(rng, *shape)  # the backward: statistics of clean x, then poisoned x and dy
        _, mean, inv_std = fwd(xc, gamma, beta, **opts)
        xb, dy = poison(rng, xc, 0.03), poison(rng, randn(rng, *shape), 0.03)
        got = bwd(dy, xb, gamma, mean, inv_std, **opts, **kw)
        ref = reference_of(rbwd, f64(dy), f64(xb), f64(gamma), f64(mean), f64(inv_std), **opts)
        out += [(f"{name}_backward {lbl} {shape}", a, r) for lbl, a, r in zip(("dx", "dgamma", "dbeta"), got, ref)]
    return out


@case("spatial_dropout", "spatial_dropout_backward", "gaussian_noise")
def _noise(rng, kw):
    x, dy = poison(rng, randn(rng, 9, 5, 7), 0.3), poison(rng, randn(rng, 9, 5, 7), 0.3)
    return [
        (
            "spatial_dropout",
            ops.spatial_dropout(x, 0.4, 11, 3),
            reference_of(reference.spatial_dropout, f64(x), 0.4, 11, 3),
        ),
        (
            "spatial_dropout_backward",
            ops.spatial_dropout_backward(dy, 0.4, 11, 3, lane=2),
            reference_of(reference.spatial_dropout_backward, f64(dy), 0.4, 11, 3, 2),
        ),
        (
            "gaussian_noise",
            ops.gaussian_noise(x, 0.5, 11, 3),
            reference_of(reference.gaussian_noise, f64(x), 0.5, 11, 3),
        ),
    ]


@case("prelu", "prelu_backward")
def _prelu(rng, kw):
    x, dy = poison(rng, randn(rng, 6, 4, 5), 0.3), poison(rng, randn(rng, 6, 4, 5), 0.1)
    x.reshape(-1)[::11] = 0.0
    alpha = poison(rng, randn(rng, 1, 5), 0.2)
    dx, dalpha = ops.prelu_backward(dy, x, alpha)
    want_dx, want_dalpha = reference_of(reference.prelu_backward, f64(dy), f64(x), f64(alpha))
    return [
        ("prelu", ops.prelu(x, alpha), reference_of(reference.prelu, f64(x), f64(alpha))),
        ("prelu_backward dx", dx, want_dx),
        ("prelu_backward dalpha", dalpha, want_dalpha),
    ]


@case("dropout", "dropout_backward")
def _dropout(rng, kw):
    x, dy = poison(rng, randn(rng, 257), 0.3), poison(rng, randn(rng, 257), 0.3)
    return [
        ("dropout", ops.dropout(x, 0.4, 11, 3), reference_of(reference.dropout, f64(x), 0.4, 11, 3)),
        ("dropout inference", ops.dropout(x, 0.4, 11, 3, training=False), f64(x)),
        (
            "dropout_backward",
            ops.dropout_backward(dy, 0.4, 11, 3),
            reference_of(reference.dropout_backward, f64(dy), 0.4, 11, 3),
        ),
    ]


def _softmax_rows(rng, rows, cols):
    x = randn(rng, rows, cols, scale=3.0)
    x[0, 2] = np.nan
    x[1, 3] = np.inf  # +inf with finite values: inf - inf in the shift, a NaN row (torch.softmax)
    x[2, [1, 4]] = -np.inf  # -inf entries: probability exactly 0
    x[3, :] = -np.inf  # all -inf: no maximum to shift by, NaN (torch.softmax)
    return x  # the remaining rows stay finite: they must not turn NaN


@case("softmax", "log_softmax", "softmax_backward", "log_softmax_backward")
def _softmax(rng, kw):
    out = []
    for cols in (7, 300):
        x = _softmax_rows(rng, 6, cols)
        for name in ("softmax", "log_softmax"):
            out.append((f"{name} cols={cols}", getattr(ops, name)(x), reference_of(getattr(reference, name), f64(x))))
            y = getattr(ops, name)(randn(rng, 6, cols))  # a valid output, then poisoned dy or y
            dy = poison(rng, randn(rng, 6, cols), 0.02)
            bwd, rbwd = getattr(ops, f"{name}_backward"), getattr(reference, f"{name}_backward")
            out.append((f"{name}_backward dy cols={cols}", bwd(dy, y), reference_of(rbwd, f64(dy), f64(y))))
            yp, dyc = poison(rng, y, 0.02, SPECIALS[:1]), randn(rng, 6, cols)
            out.append((f"{name}_backward y cols={cols}", bwd(dyc, yp), reference_of(rbwd, f64(dyc), f64(yp))))
    return out


@case("loss")
def _loss(rng, kw):
    out = []
    for name in sorted(set(LOSS_KINDS) - {"mean_squared_error", "mean_absolute_error"}):
        sparse = name.startswith("sparse")
        for from_logits in (False, True) if "crossentropy" in name else (False,):
            p = rng.uniform(0.05, 1, (5, 4)).astype(np.float32) if not from_logits else randn(rng, 5, 4, scale=3)
            p[0, 1], p[1, 2], p[2, 0] = np.nan, np.inf, -np.inf  # rows 3, 4 stay finite
            t = rng.integers(0, 4, 5).astype(np.int32) if sparse else rng.uniform(0, 1, (5, 4)).astype(np.float32)
            if "categorical" in name and not sparse:
                t = t / t.sum(axis=-1, keepdims=True)
            what = f"loss {name} from_logits={from_logits}"
            for r in range(5):  # row by row: each row's NaN/inf verdict, not just the mean's
                got, grad = ops.loss(t[r : r + 1], p[r : r + 1], name, from_logits=from_logits, grad=True)
                # in float32: Keras's clip to 1 - 1e-7 rounds there as in the kernel
                ref = reference_of(reference.loss, t[r : r + 1], p[r : r + 1], name, from_logits=from_logits)
                rgrad = reference_of(reference.loss_grad, t[r : r + 1], p[r : r + 1], name, from_logits=from_logits)
                out += [(f"{what} row {r}", np.float64(got), np.float64(ref)), (f"{what} grad row {r}", grad, rgrad)]
            w = np.array([np.nan, 2.0], np.float32)  # a NaN weight: that row's loss and gradient only
            got, grad = ops.loss(t[3:], p[3:], name, from_logits=from_logits, sample_weight=w, grad=True)
            kw = dict(from_logits=from_logits, sample_weight=w)
            out += [
                (
                    f"{what} weighted",
                    np.float64(got),
                    np.float64(reference_of(reference.loss, t[3:], p[3:], name, **kw)),
                ),
                (f"{what} weighted grad", grad, reference_of(reference.loss_grad, t[3:], p[3:], name, **kw)),
            ]
    return out


@case("max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward")
def _pooling(rng, kw):
    out = []
    for shape, pool, strides, padding in [((2, 7, 7, 3), 3, 2, "same"), ((1, 4, 6, 19), 2, None, "valid")]:
        x = poison(rng, randn(rng, *shape), 0.06)
        for kind in ("max", "avg"):
            y = getattr(ops, f"{kind}_pool2d")(x, pool, strides, padding)
            out.append(
                (
                    f"{kind}_pool2d {shape}",
                    y,
                    reference_of(getattr(reference, f"{kind}_pool2d"), f64(x), pool, strides, padding),
                )
            )
            dy = poison(rng, randn(rng, *y.shape), 0.05)
            dx = getattr(ops, f"{kind}_pool2d_backward")(dy, x, pool, strides, padding)
            rdx = reference_of(getattr(reference, f"{kind}_pool2d_backward"), f64(dy), f64(x), pool, strides, padding)
            out.append((f"{kind}_pool2d_backward {shape}", dx, rdx))
    return out


@case("resize", "resize_backward", "crop", "crop_backward", paths=("variant",))
def _resize(rng, kw):
    """Up (3 -> 5 samples one pixel exactly), down, identity: a NaN or Inf reaches exactly the
    outputs that weigh it, never a neighbour read with weight 0."""
    out = []
    for shape, size in [((2, 3, 5, 2), (5, 9)), ((1, 6, 8, 3), (3, 4)), ((1, 4, 4, 2), (4, 4))]:
        x = poison(rng, randn(rng, *shape), 0.1)
        dy = poison(rng, randn(rng, shape[0], *size, shape[3]), 0.05)
        for mode in ("nearest", "bilinear"):
            got = ops.resize(x, size, interpolation=mode, **kw)
            out.append((f"resize {mode} {shape}", got, reference_of(reference.resize, f64(x), size, mode)))
            got = ops.resize_backward(dy, shape[1:3], interpolation=mode, **kw)
            want = reference_of(reference.resize_backward, f64(dy), shape[1:3], mode)
            out.append((f"resize_backward {mode} {shape}", got, want))
    x = poison(rng, randn(rng, 2, 5, 6, 3))
    out.append(("crop", ops.crop(x, 1, 2, 3, 3), reference.crop(f64(x), 1, 2, 3, 3)))
    dy = poison(rng, randn(rng, 2, 3, 3, 3))
    out.append(("crop_backward", ops.crop_backward(dy, (5, 6), 1, 2), reference.crop_backward(f64(dy), (5, 6), 1, 2)))
    return out


@case("embedding", "embedding_backward")
def _embedding(rng, kw):
    ids = rng.integers(0, 9, (4, 5)).astype(np.int32)
    table, dy = poison(rng, randn(rng, 9, 6)), poison(rng, randn(rng, 4, 5, 6), 0.05)
    return [
        ("embedding", ops.embedding(ids, table), reference_of(reference.embedding, ids, f64(table))),
        (
            "embedding_backward",
            ops.embedding_backward(dy, ids, 9),
            reference_of(reference.embedding_backward, f64(dy), ids, 9),
        ),
    ]


# name -> (state slots, keyword options); every state slot is a valid state (non-negative
# accumulators), the parameter and the gradient hold NaN and +-inf.
OPTIMIZERS = {
    "sgd_update": [
        (["velocity"], dict(momentum=0.9, nesterov=True)),
        ([], dict(clipvalue=0.5)),
        ([], dict(weight_decay=0.1, l2=0.01)),
    ],
    "adagrad_update": [(["accumulator"], dict(clipvalue=1.0))],
    "adadelta_update": [(["accumulated_grad", "accumulated_delta"], dict(l2=0.01))],
    "rmsprop_update": [(["velocity", "momentum_buffer", "average_grad"], dict(momentum=0.9, centered=True))],
    "adam_update": [(["m", "v", "vhat"], dict(step=3, amsgrad=True, clipvalue=2.0)), (["m", "v"], dict(step=1))],
}


@case(*OPTIMIZERS, paths=("simd",))
def _optimizers(rng, kw):
    out = []
    for name, variants in OPTIMIZERS.items():
        for slots, opts in variants:
            param, grad = poison(rng, randn(rng, 300), 0.05), poison(rng, randn(rng, 300), 0.05)
            state = [np.abs(randn(rng, 300)) * 0.1 for _ in slots]
            ref = reference_of(
                getattr(reference, name), f64(param), f64(grad), *map(f64, state), learning_rate=0.1, **opts
            )
            got = [param.copy()] + [s.copy() for s in state]
            getattr(ops, name)(got[0], grad, *got[1:], learning_rate=0.1, **opts, **kw)
            ref = [r for r in ref if r is not None]
            out += [(f"{name} {opts} {lbl}", g, r) for lbl, g, r in zip(["param"] + slots, got, ref)]
    return out


@case("global_norm", "clip_by_value", "clip_by_norm", "clip_by_global_norm", paths=("simd",))
def _clipping(rng, kw):
    out = []
    for values in (SPECIALS, SPECIALS[:1], SPECIALS[1:]):  # NaN and inf, NaN only, +-inf only
        arrays = [poison(rng, randn(rng, 50), 0.05, values), randn(rng, 20)]
        out.append(
            (
                f"global_norm {values}",
                np.float64(ops.global_norm(arrays, **kw)),
                np.float64(reference.global_norm(arrays)),
            )
        )
        out.append(
            (
                f"clip_by_value {values}",
                ops.clip_by_value(arrays[0], 0.5),
                reference_of(reference.clip_by_value, f64(arrays[0]), 0.5),
            )
        )
        out.append(
            (
                f"clip_by_norm {values}",
                ops.clip_by_norm(arrays[0], 1.0),
                reference_of(reference.clip_by_norm, f64(arrays[0]), 1.0),
            )
        )
        got, norm = ops.clip_by_global_norm(arrays, 1.0)
        ref, rnorm = reference_of(reference.clip_by_global_norm, [f64(a) for a in arrays], 1.0)
        out += [(f"clip_by_global_norm {values} [{i}]", g, r) for i, (g, r) in enumerate(zip(got, ref))]
        out.append((f"clip_by_global_norm norm {values}", np.float64(norm), np.float64(rnorm)))
    return out


RNN_CELLS = {"simple_rnn": 1, "lstm": 4, "gru": 3}


@case(*RNN_CELLS, *(f"{c}_backward" for c in RNN_CELLS), paths=("simd",))
def _rnn(rng, kw):
    out = []
    n, t, d, h = 3, 4, 5, 6
    for cell, opts in [
        ("simple_rnn", {}),
        ("lstm", {"go_backwards": True}),
        ("gru", {}),
        ("gru", {"reset_after": False, "return_sequences": False}),
    ]:
        gates = RNN_CELLS[cell]
        x = randn(rng, n, t, d)
        x[0, 1, 2], x[1, 2, 0] = np.nan, np.inf  # row 2 stays finite; row 0 is NaN from step 1 on
        x[1, 0, 3] = np.nan  # ...but for this one, in a masked (padded) step: the forward skips it
        mask = np.ones((n, t), bool)
        mask[1, 0] = mask[2, 3] = False
        kernel, rec = randn(rng, d, gates * h, scale=0.4), randn(rng, h, gates * h, scale=0.4)
        bias = randn(rng, 2, gates * h) if opts.get("reset_after", True) and cell == "gru" else randn(rng, gates * h)
        what = f"{cell} {opts}"
        y, h_t, *rest = getattr(ops, cell)(x, kernel, rec, bias, mask=mask, **opts, **kw)
        ry, rh, *_ = reference_of(getattr(reference, cell), f64(x), f64(kernel), f64(rec), f64(bias), mask=mask, **opts)
        out += [(f"{what} y", y, ry), (f"{what} h_T", h_t, rh)]
        dy = randn(rng, *y.shape)
        dy[(2, 3, 1) if y.ndim == 3 else (2, 1)] = np.nan  # a NaN gradient reaching the clean row
        got = getattr(ops, f"{cell}_backward")(dy, rest[-1])
        ref = reference_of(
            getattr(reference, f"{cell}_backward"), f64(dy), f64(x), f64(kernel), f64(rec), f64(bias), mask=mask, **opts
        )
        out += [
            (f"{what} backward {lbl}", g, r)
            for lbl, g, r in zip(("dx", "dkernel", "drecurrent_kernel", "dbias"), got, ref)
            if g is not None
        ]
    return out


# --------------------------------------------------------------------------- the table's tests


def _paths(name, backend):
    """Keyword sets to run op ``name`` with: every variant x SIMD path on the CPU where it has them."""
    keys = CASES[name][1]
    if backend != "cpu":
        keys = tuple(k for k in keys if k != "simd")  # the CUDA kernels have no SIMD paths
    registry_name = {"conv2d_backward": "conv2d", "conv2d_transpose": "conv2d"}.get(name, name)
    variants = OPS[registry_name].variants_on(backend) if "variant" in keys else (None,)
    # Winograd mixes a 6x6 input tile into all 16 outputs of its tile, so a NaN or Inf reaches
    # outputs whose receptive field does not hold it (docs/kernels/conv2d.md; its own NaN test
    # is in tests/test_conv2d_variants.py): it cannot match the reference element for element.
    variants = tuple(v for v in variants if (registry_name, v) != ("conv2d", "winograd"))
    simds = SIMD_PATHS if "simd" in keys else (None,)
    return [{k: v for k, v in (("variant", var), ("simd", sp)) if v is not None} for var in variants for sp in simds]


# One run per case function (several ops share one), backend and path.
RUNS = []
for _fn in dict.fromkeys(fn for fn, _ in CASES.values()):
    _first = next(n for n, (fn, _) in CASES.items() if fn is _fn)
    for _backend in BACKENDS:
        for _kw in _paths(_first, _backend):
            RUNS.append(
                pytest.param(
                    _fn, _backend, _kw, id=f"{_fn.__name__[1:]}-{_backend}-" + "-".join(map(str, _kw.values()))
                )
            )


@pytest.mark.parametrize("fn,backend,kw", RUNS)
def test_nan_and_inf_match_reference(rng, fn, backend, kw):
    with on(backend):
        results = fn(rng, kw)
    assert results
    for what, got, ref in results:
        same(got, ref, f"{what} [{backend} {kw}]")


def test_every_op_has_a_case():
    public = {n for n in ops.__all__ if callable(getattr(ops, n)) and not isinstance(getattr(ops, n), dict)}
    missing = public - NOT_OPS - set(CASES)
    assert not missing, f"ops without a NaN/Inf case in tests/test_nan.py: {sorted(missing)}"
    assert not set(CASES) - public, f"cases for unknown ops: {sorted(set(CASES) - public)}"


# --------------------------------------------------------------------------- the rules, one by one
# Expected values written from the maths (and NumPy / PyTorch), not from the kernels.

INF = np.inf


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_by_value_keeps_nan(backend):
    # The example: a NaN gradient must not turn into a finite value.
    x = np.array([np.nan, 5.0, -5.0, INF, -INF, 0.25], np.float32)
    with on(backend):
        got = ops.clip_by_value(x, 1.0)
    np.testing.assert_array_equal(got, [np.nan, 1.0, -1.0, 1.0, -1.0, 0.25])  # np.clip / torch.clamp


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_clipvalue_keeps_a_nan_gradient_in_every_optimizer(backend, name):
    # The sibling inside the fused updates: clipvalue used fminf/fmaxf, which drop NaN.
    param, grad = np.ones(70, np.float32), np.full(70, 0.5, np.float32)
    grad[[3, 64]] = np.nan
    slots = {"sgd_update": 0, "adagrad_update": 1, "adadelta_update": 2, "rmsprop_update": 1, "adam_update": 2}[name]
    state = [np.zeros(70, np.float32) for _ in range(slots)]
    opts = {"step": 1} if name == "adam_update" else {}
    with on(backend):
        getattr(ops, name)(param, grad, *state, learning_rate=0.1, clipvalue=0.1, **opts)
    assert np.isnan(param[[3, 64]]).all(), param[[3, 64]]  # NaN gradient -> NaN weight (PyTorch)
    assert np.isfinite(np.delete(param, [3, 64])).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_amsgrad_keeps_nan_in_the_running_maximum(backend):
    param, grad, m, v, vhat = (
        np.ones(9, np.float32),
        np.ones(9, np.float32),
        *(np.zeros(9, np.float32),) * 2,
        np.zeros(9, np.float32),
    )
    m, v = m.copy(), v.copy()
    grad[4] = np.nan
    with on(backend):
        ops.adam_update(param, grad, m, v, vhat, learning_rate=0.1, step=1, amsgrad=True)
    assert np.isnan(vhat[4]) and np.isnan(param[4]) and np.isfinite(np.delete(vhat, 4)).all()


# name -> (f(+inf), f(-inf), f'(+inf), f'(-inf)): the limits, finite wherever the maths is.
LIMITS = {
    "linear": (INF, -INF, 1, 1),
    "relu": (INF, 0, 1, 0),
    "sigmoid": (1, 0, 0, 0),
    "tanh": (1, -1, 0, 0),
    "leaky_relu": (INF, -INF, 1, 0.2),
    "elu": (INF, -1, 1, 0),
    "selu": (INF, -1.0507009873554805 * 1.6732632423543772, 1.0507009873554805, 0),
    "gelu_tanh": (INF, 0, 1, 0),
    "gelu": (INF, 0, 1, 0),
    "hard_sigmoid": (1, 0, 0, 0),
    "softplus": (INF, 0, 1, 0),
    "silu": (INF, 0, 1, 0),
    "swish": (INF, 0, 1, 0),
    "softsign": (1, -1, 0, 0),
    "exponential": (INF, 0, INF, 0),
    "relu6": (6, 0, 0, 0),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ACT_KINDS))
def test_activation_nan_and_limits(backend, name):
    x = np.array([INF, -INF, np.nan] * 7, np.float32)  # 21 elements: vector body and scalar tail
    with on(backend):
        y, dx = ops.activation(x, name), ops.activation_backward(np.ones_like(x), x, name)
    f_pos, f_neg, d_pos, d_neg = LIMITS[name]
    np.testing.assert_allclose(y[0::3], f_pos, rtol=1e-6, err_msg=f"{name}(+inf)")
    np.testing.assert_allclose(y[1::3], f_neg, rtol=1e-6, atol=1e-30, err_msg=f"{name}(-inf)")
    np.testing.assert_allclose(dx[0::3], d_pos, rtol=1e-6, err_msg=f"{name}'(+inf)")
    np.testing.assert_allclose(dx[1::3], d_neg, rtol=1e-6, atol=1e-30, err_msg=f"{name}'(-inf)")
    assert np.isnan(y[2::3]).all() and np.isnan(dx[2::3]).all(), f"{name}: NaN in must give NaN out"


def test_limits_table_covers_every_activation():
    assert set(LIMITS) == set(ACT_KINDS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("where", [(0, 0), (1, 1), (2, 2)])  # first, middle, last pixel of the window
def test_max_pool_window_with_nan(backend, where):
    x = np.arange(2 * 9 * 9 * 17, dtype=np.float32).reshape(2, 9, 9, 17)  # 17 channels: vector + tail
    x[1, where[0], where[1], 5] = np.nan  # in window (0, 0) of image 1, channel 5
    x[1, 2, 2, 5] = np.nan if where == (0, 0) else x[1, 2, 2, 5]  # two NaN: the first takes dy
    dy = np.ones((2, 3, 3, 17), np.float32)
    with on(backend):
        y = ops.max_pool2d(x, 3, 3)
        dx = ops.max_pool2d_backward(dy, x, 3, 3)
    assert np.isnan(y[1, 0, 0, 5]) and np.isnan(y).sum() == 1  # torch.max_pool2d: NaN wins the window
    assert dx[1, where[0], where[1], 5] == 1 and dx[1, :3, :3, 5].sum() == 1  # np.argmax: the first NaN


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("variant", OPS["gemm"].variants)
@pytest.mark.parametrize("m", [2, 37])  # the tuned variant's small-M path and its blocked path
def test_gemm_relu_epilogue_keeps_nan(variant, simd, m):
    a, b = np.ones((m, 33), np.float32), np.ones((33, 40), np.float32)
    a[1, 7] = np.nan
    bias = np.full(40, -100.0, np.float32)  # every finite output is negative: relu makes it 0
    y = ops.gemm(a, b, bias=bias, activation="relu", variant=variant, simd=simd)
    assert np.isnan(y[1]).all() and (np.delete(y, 1, axis=0) == 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_keeps_nan_where_kept_and_zeros_where_dropped(backend):
    x = np.full(4000, np.nan, np.float32)
    x[::2] = INF
    keep = reference.dropout_mask(x.shape, 0.5, 7, 0) != 0
    with on(backend):
        y = ops.dropout(x, 0.5, 7)
        dx = ops.dropout_backward(x, 0.5, 7)
    for got in (y, dx):
        assert (got[~keep] == 0).all()  # dropped: exactly 0 (Keras's where(keep, x / (1 - rate), 0))
        assert np.isnan(got[keep & np.isnan(x)]).all() and (got[keep & (x == INF)] == INF).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_nan_poisons_only_its_channel(backend, training):
    x = np.random.default_rng(0).standard_normal((8, 4, 3)).astype(np.float32)
    x[5, 1, 2] = np.nan
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    with on(backend):
        y, _, _ = ops.batch_norm(x, np.ones(3, np.float32), np.zeros(3, np.float32), rm, rv, training=training)
    if training:  # the batch statistics of channel 2 are NaN: the whole channel is NaN
        assert np.isnan(y[..., 2]).all() and np.isnan(rm[2]) and np.isnan(rv[2])
        assert np.isfinite(y[..., :2]).all() and np.isfinite(rm[:2]).all() and np.isfinite(rv[:2]).all()
    else:  # running statistics: only the NaN element itself
        assert np.isnan(y).sum() == 1 and np.isnan(y[5, 1, 2])


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_rows(backend):
    with on(backend):
        y = ops.softmax(_softmax_rows(np.random.default_rng(1), 5, 6))
    assert np.isnan(y[[0, 1, 3]]).all()  # NaN, +inf (inf - inf), all -inf: NaN rows (torch.softmax)
    assert (y[2, [1, 4]] == 0).all() and np.isclose(y[2].sum(), 1)  # -inf: probability 0
    assert np.isfinite(y[4]).all()  # the finite row is untouched by its neighbours


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(set(LOSS_KINDS) - {"mean_squared_error", "mean_absolute_error"}))
def test_loss_of_a_nan_prediction_is_nan(backend, name):
    sparse = name.startswith("sparse")
    p = np.full((3, 4), 0.25, np.float32)
    t = np.array([0, 1, 2], np.int32) if sparse else np.full((3, 4), 0.25, np.float32)
    p[1, 3] = np.nan
    with on(backend):
        value, grad = ops.loss(t, p, name, grad=True)
        clipped = ops.loss(t, np.where(np.isnan(p), 0, p).astype(np.float32), name)  # log(0) clipped (eps)
    assert np.isnan(value) and np.isnan(grad[1]).any() and np.isfinite(grad[[0, 2]]).all()
    assert np.isfinite(clipped)  # Keras's epsilon: a zero probability never invents inf/NaN


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_by_norm_of_a_non_finite_array_is_nan(backend):
    x = np.array([1.0, INF, 2.0], np.float32)
    with on(backend):
        got = ops.clip_by_norm(x, 1.0)
        glob, norm = ops.clip_by_global_norm([x, np.ones(3, np.float32)], 1.0)
    assert np.isnan(got).all() and norm == INF and all(np.isnan(g).all() for g in glob)  # tf.clip_by_global_norm


def test_document_table_names_every_op_and_an_existing_test():
    import re
    import sys
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
    if not doc.exists():
        pytest.skip("docs/reliability.md not present (tests run outside the repository)")
    section = doc.read_text(encoding="utf-8").split("## NaN and Inf", 1)[1].split("\n## ", 1)[0]
    for name in set(CASES) | set(ACT_KINDS):
        assert re.search(rf"\b{name}\b", section), f"docs/reliability.md, NaN and Inf: no row names {name}"
    module = sys.modules[__name__]
    for cited in set(re.findall(r"`(test_\w+)`", section)):
        assert callable(getattr(module, cited, None)), f"docs/reliability.md cites {cited}, not in tests/test_nan.py"


@pytest.mark.parametrize("backend", BACKENDS)
def test_merge_maximum_gradient_goes_to_the_first_nan(backend):
    """max(1, NaN, NaN) is NaN and its gradient goes to input 1 (the first NaN: the NaN's source);
    a tie goes to the first input; -inf loses to any number, +inf wins."""
    a = np.array([1.0, 2.0, -INF, INF], np.float32)
    b = np.array([np.nan, 2.0, 0.0, 1.0], np.float32)
    c = np.array([np.nan, 1.0, -INF, INF], np.float32)
    dy = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    with on(backend):
        y = ops.merge([a, b, c], "maximum")
        da, db, dc = ops.merge_backward(dy, [a, b, c], "maximum")
    same(y, [np.nan, 2.0, 0.0, INF], "maximum")
    np.testing.assert_array_equal(da, [0.0, 2.0, 0.0, 4.0])
    np.testing.assert_array_equal(db, [1.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(dc, [0.0, 0.0, 0.0, 0.0])


@case(
    "affine_transform",
    "affine_transform_backward",
    "flip",
    "flip_backward",
    "adjust_contrast",
    "adjust_contrast_backward",
    "adjust_brightness",
    "adjust_brightness_backward",
)
def _augment(rng, kw):
    x, dy = poison(rng, randn(rng, 2, 5, 6, 3)), poison(rng, randn(rng, 2, 5, 6, 3))
    t = np.tile(np.array([0.9, -0.2, 1.1, 0.2, 0.9, -0.6, 0, 0], np.float32), (2, 1))
    h, v = np.array([True, False]), np.array([True, True])
    p = np.array([0.5, 1.5], np.float32)
    vr = (-1.0, 1.0)
    return [
        ("affine_transform", ops.affine_transform(x, t), reference_of(reference.affine_transform, f64(x), f64(t))),
        (
            "affine_transform_backward",
            ops.affine_transform_backward(dy, t, x.shape),
            reference_of(reference.affine_transform_backward, f64(dy), f64(t), x.shape),
        ),
        ("flip", ops.flip(x, h, v), reference.flip(x, h, v)),
        ("flip_backward", ops.flip_backward(dy, h, v), reference.flip_backward(dy, h, v)),
        ("adjust_contrast", ops.adjust_contrast(x, p, vr), reference_of(reference.adjust_contrast, f64(x), p, vr)),
        (
            "adjust_contrast_backward",
            ops.adjust_contrast_backward(dy, x, p, vr),
            reference_of(reference.adjust_contrast_backward, f64(dy), f64(x), p, vr),
        ),
        (
            "adjust_brightness",
            ops.adjust_brightness(x, p, vr),
            reference_of(reference.adjust_brightness, f64(x), p, vr),
        ),
        (
            "adjust_brightness_backward",
            ops.adjust_brightness_backward(dy, x, p, vr),
            reference_of(reference.adjust_brightness_backward, f64(dy), f64(x), p, vr),
        ),
    ]
