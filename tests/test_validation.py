"""Bad arguments are refused with the documented exception and a message that says what and where.

Messages are matched on the op name and the argument name (``gemm: `a` ...``), so a
message that stops naming them fails the test.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sinapse
from conftest import SIMD_PATHS
from sinapse import _cpu, ops


def f32(*shape):
    return np.ones(shape, np.float32)


def arg(op, name):
    """Regex for the start of a message about argument `name` of `op`."""
    return re.escape(f"{op}: `{name}`")


class FakeCudaArray:
    """Just enough of a CuPy array for sinapse to treat it as living on the GPU."""

    def __init__(self, shape=(2, 3), typestr="<f4"):
        self.__cuda_array_interface__ = {
            "shape": shape,
            "typestr": typestr,
            "data": (0, False),
            "version": 3,
            "strides": None,
        }


# ---------------------------------------------------------------------------- gemm

A, B = (4, 3), (3, 5)  # a valid problem: M=4, K=3, N=5


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.float16])
@pytest.mark.parametrize("name", ["a", "b", "c", "bias", "out"])
def test_gemm_wrong_dtype(name, dtype):
    args = {"a": f32(*A), "b": f32(*B), "c": f32(4, 5), "bias": f32(5), "out": f32(4, 5)}
    args[name] = args[name].astype(dtype)
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises(TypeError, match=arg("gemm", name) + r" must be float32, got .*" + np.dtype(dtype).name):
        ops.gemm(a, b, beta=1.0, **args)


@pytest.mark.parametrize(
    "name,shape", [("a", (12,)), ("a", (2, 2, 3)), ("b", (3,)), ("b", (1, 3, 5)), ("c", (20,)), ("bias", (1, 5))]
)
def test_gemm_wrong_rank(name, shape):
    args = {"a": f32(*A), "b": f32(*B), "c": f32(4, 5), "bias": f32(5)}
    args[name] = f32(*shape)
    a, b = args.pop("a"), args.pop("b")
    ndim = 1 if name == "bias" else 2
    with pytest.raises(ValueError, match=arg("gemm", name) + rf" must be {ndim}-D"):
        ops.gemm(a, b, beta=1.0, **args)


@pytest.mark.parametrize(
    "trans_a,trans_b,a_shape,b_shape",
    [
        (False, False, (4, 3), (4, 5)),
        (True, False, (4, 3), (3, 5)),  # op(a) is 3x4: K=4 vs 3
        (False, True, (4, 3), (3, 5)),  # op(b) is 5x3: K=5 vs 3
        (True, True, (3, 4), (3, 5)),
    ],
)
def test_gemm_inner_dimension_mismatch(trans_a, trans_b, a_shape, b_shape):
    with pytest.raises(ValueError, match=r"gemm: inner dimensions differ.*trans_a=.*trans_b="):
        ops.gemm(f32(*a_shape), f32(*b_shape), trans_a=trans_a, trans_b=trans_b)


@pytest.mark.parametrize("name", ["a", "b", "c", "bias", "out"])
def test_gemm_non_contiguous(name):
    args = {"a": f32(*A), "b": f32(*B), "c": f32(4, 5), "bias": f32(5), "out": f32(4, 5)}
    full = np.ones(args[name].shape[:-1] + (2 * args[name].shape[-1],), np.float32)
    view = full[..., ::2]
    args[name] = view
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises(
        ValueError, match=arg("gemm", name) + r" must be C-contiguous.*" + re.escape(f"strides {view.strides}")
    ):
        ops.gemm(a, b, beta=1.0, **args)


def test_gemm_transposed_view_needs_the_flag():
    a = f32(3, 4).T  # (4, 3) view with strides (4, 16)
    with pytest.raises(
        ValueError,
        match=arg("gemm", "a") + r" must be C-contiguous.*" + re.escape(f"strides {a.strides}") + r".*transpose flag",
    ):
        ops.gemm(a, f32(*B))
    # the supported way: the untransposed array plus trans_a
    assert ops.gemm(a.T, f32(*B), trans_a=True).shape == (4, 5)


@pytest.mark.parametrize("shape", [(5, 4), (4, 6), (4,), (1, 4, 5)])
def test_gemm_out_wrong_shape(shape):
    with pytest.raises(ValueError, match=arg("gemm", "out") + r" must have shape \(4, 5\)"):
        ops.gemm(f32(*A), f32(*B), out=f32(*shape))


def test_gemm_out_float64():
    with pytest.raises(TypeError, match=arg("gemm", "out") + r" must be float32.*float64"):
        ops.gemm(f32(*A), f32(*B), out=np.ones((4, 5)))


def test_gemm_out_read_only():
    out = f32(4, 5)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=arg("gemm", "out") + r" is read-only"):
        ops.gemm(f32(*A), f32(*B), out=out)
    np.testing.assert_array_equal(out, 1)


@pytest.mark.parametrize("name", ["a", "b", "bias"])
def test_gemm_out_overlaps_input(name):
    buf = f32(4, 4)
    a, b = buf, f32(4, 4)
    bias = f32(4)
    if name == "b":
        a, b = f32(4, 4), buf
    if name == "bias":
        a, bias = f32(4, 4), buf[0]
    with pytest.raises(ValueError, match=arg("gemm", "out") + rf" overlaps input `{name}`"):
        ops.gemm(a, b, bias=bias, out=buf)


def test_gemm_out_overlapping_c_partially():
    buf = np.ones((5, 5), np.float32)
    c, out = buf[:4], buf[1:]  # same shape, shifted by a row: not "in place", a real overlap
    with pytest.raises(ValueError, match=arg("gemm", "out") + " overlaps input `c`"):
        ops.gemm(f32(4, 3), f32(3, 5), c, beta=1.0, out=out)


@pytest.mark.parametrize("shape", [(5, 4), (4, 6), (1, 5)])
def test_gemm_c_wrong_shape(shape):
    with pytest.raises(ValueError, match=arg("gemm", "c") + r" must have shape \(4, 5\)"):
        ops.gemm(f32(*A), f32(*B), f32(*shape), beta=1.0)


@pytest.mark.parametrize("beta", [1.0, -0.5, 1e-30])
def test_gemm_beta_without_c(beta):
    with pytest.raises(ValueError, match=r"gemm: beta=.* needs `c`"):
        ops.gemm(f32(*A), f32(*B), beta=beta)


def test_gemm_c_without_beta_is_fine():
    got = ops.gemm(f32(*A), f32(*B), np.full((4, 5), np.nan, np.float32))
    np.testing.assert_array_equal(got, 3)


@pytest.mark.parametrize("shape", [(4,), (6,), (0,)])
def test_gemm_bias_wrong_shape(shape):
    with pytest.raises(ValueError, match=arg("gemm", "bias") + r" must have shape \(5,\)"):
        ops.gemm(f32(*A), f32(*B), bias=f32(*shape))


@pytest.mark.parametrize("activation", ["gelu", "ReLU", "", 1, ["relu"], ("relu",)])
def test_gemm_unknown_activation(activation):
    with pytest.raises(ValueError, match=r"gemm: unknown activation " + re.escape(repr(activation))):
        ops.gemm(f32(*A), f32(*B), activation=activation)


@pytest.mark.parametrize("name", ["a", "b", "c", "bias", "out"])
@pytest.mark.parametrize("value", [[[1.0]], 3.0, "abc"], ids=["list", "float", "str"])
def test_gemm_non_array(name, value):
    args = {"a": f32(*A), "b": f32(*B), "c": f32(4, 5), "bias": f32(5), "out": f32(4, 5)}
    args[name] = value
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises(TypeError, match=arg("gemm", name) + r" must be a NumPy array .*got " + type(value).__name__):
        ops.gemm(a, b, beta=1.0, **args)


@pytest.mark.parametrize("name", ["a", "b"])
def test_gemm_none_operand(name):
    args = {"a": f32(*A), "b": f32(*B), name: None}
    with pytest.raises(TypeError, match=arg("gemm", name) + r" must be a NumPy array .*got NoneType"):
        ops.gemm(args["a"], args["b"])


@pytest.mark.parametrize("name", ["alpha", "beta"])
@pytest.mark.parametrize("value", ["1.0", None, True, 1 + 2j, np.ones(1)])
def test_gemm_scalar_not_a_number(name, value):
    with pytest.raises(TypeError, match=arg("gemm", name) + r" must be a real number"):
        ops.gemm(f32(*A), f32(*B), f32(4, 5), **{name: value})


@pytest.mark.parametrize("value", [2, np.float32(0.5), np.int64(3), np.float64(-1.5)])
def test_gemm_scalar_numeric_types_accepted(value):
    got = ops.gemm(f32(*A), f32(*B), f32(4, 5), alpha=value, beta=value)
    np.testing.assert_allclose(got, 3 * float(value) + float(value))


@pytest.mark.parametrize("variant", ["fast", "Tuned", "", "default"])
def test_gemm_unknown_variant(variant):
    with pytest.raises(
        ValueError, match=rf"gemm: `variant`='{variant}' is not a variant of gemm; expected one of naive"
    ):
        ops.gemm(f32(*A), f32(*B), variant=variant)


@pytest.mark.parametrize("simd", ["sse9", "AVX512", "neon", ""])
def test_gemm_unknown_simd(simd):
    # NB: this message does not name the op (it comes from sinapse.cpu.simd_path).
    with pytest.raises(ValueError, match=rf"gemm: simd='{simd}' is not a SIMD path; expected one of generic"):
        ops.gemm(f32(*A), f32(*B), simd=simd)


def test_gemm_unsupported_simd(monkeypatch):
    for path in sinapse.cpu.SIMD_PATHS:  # real ones, where this CPU lacks a path
        if path not in SIMD_PATHS:  # pragma: no cover (every path is supported on the dev box)
            with pytest.raises(ValueError, match=rf"gemm: simd='{path}': this CPU does not support it"):
                ops.gemm(f32(*A), f32(*B), simd=path)
    # A CPU with only the generic path, simulated at the Python layer (sinapse.cpu may
    # cache the CPUID answer at import time, so patch the cache as well as the function).
    monkeypatch.setattr(sinapse.cpu, "supported_simd_paths", lambda: ["generic"])
    if hasattr(sinapse.cpu, "_SUPPORTED"):
        monkeypatch.setattr(sinapse.cpu, "_SUPPORTED", ("generic",))
    for path in ("avx2", "avx512"):
        with pytest.raises(
            ValueError, match=rf"gemm: simd='{path}': this CPU does not support it; supported here: generic"
        ):
            ops.gemm(f32(*A), f32(*B), simd=path)
    monkeypatch.setenv("SINAPSE_SIMD", "avx512")
    with pytest.raises(ValueError, match=r"SINAPSE_SIMD='avx512': this CPU does not support it"):
        ops.gemm(f32(*A), f32(*B))


def test_gemm_validation_happens_before_any_write():
    out = np.full((4, 5), 7.0, np.float32)
    with pytest.raises(ValueError):
        ops.gemm(f32(*A), f32(*B), out=out, bias=f32(4))
    with pytest.raises(ValueError):
        ops.gemm(f32(*A), f32(*B), out=out, variant="nope")
    np.testing.assert_array_equal(out, 7.0)


# ------------------------------------------------------------------------- devices


def test_gemm_cuda_arrays_without_cuda():
    if sinapse.cuda.is_available():  # pragma: no cover
        pytest.skip("CUDA is usable here: the CudaUnavailableError path cannot be reached")
    why = sinapse.cuda.why_unavailable()
    assert why
    with pytest.raises(sinapse.CudaUnavailableError, match=r"gemm: .*" + re.escape(why)):
        ops.gemm(FakeCudaArray((2, 3)), FakeCudaArray((3, 4)))
    assert issubclass(sinapse.CudaUnavailableError, RuntimeError)


def test_axpy_cuda_arrays_without_cuda():
    if sinapse.cuda.is_available():  # pragma: no cover
        pytest.skip("CUDA is usable here: the CudaUnavailableError path cannot be reached")
    why = sinapse.cuda.why_unavailable()
    with pytest.raises(sinapse.CudaUnavailableError, match=r"axpy: .*" + re.escape(why)):
        ops.axpy(2.0, FakeCudaArray(), FakeCudaArray())
    with pytest.raises(sinapse.CudaUnavailableError, match=re.escape(why)):
        ops.axpy(2.0, FakeCudaArray(), FakeCudaArray(), out=FakeCudaArray())


@pytest.mark.parametrize("where", ["a", "b", "c", "bias", "out"])
def test_gemm_mixed_devices(where):
    args = {"a": f32(2, 3), "b": f32(3, 4), "c": f32(2, 4), "bias": f32(4), "out": f32(2, 4)}
    args[where] = FakeCudaArray(args[where].shape)
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises(TypeError, match=rf"gemm: arguments are on different devices \(.*`{where}` on cuda"):
        ops.gemm(a, b, beta=1.0, **args)


@pytest.mark.parametrize("where", ["x", "y", "out"])
def test_axpy_mixed_devices(where):
    args = {"x": f32(2, 3), "y": f32(2, 3), "out": f32(2, 3)}
    args[where] = FakeCudaArray()
    with pytest.raises(TypeError, match=rf"axpy: arguments are on different devices \(.*`{where}` on cuda"):
        ops.axpy(1.0, args["x"], args["y"], out=args["out"])


# ------------------------------------------------------------- the raw bindings


def test_cpu_gemm_binding_refuses_instead_of_converting():
    a, b, out = f32(*A), f32(*B), np.zeros((4, 5), np.float32)
    _cpu.gemm(a, b, out)  # the valid call works
    np.testing.assert_array_equal(out, 3)
    for bad in (
        {"a": a.astype(np.float64)},
        {"b": b.astype(np.int32)},
        {"out": np.zeros((4, 5))},
        {"out": np.zeros((4, 5), np.float32, order="F")},  # a copy would silently drop the result
        {"a": np.ones((3, 4), np.float32).T},
        {"bias": np.ones(5)},
    ):
        kw = {"a": a, "b": b, "out": np.zeros((4, 5), np.float32), **bad}
        target = kw["out"]
        with pytest.raises(TypeError):
            _cpu.gemm(kw.pop("a"), kw.pop("b"), kw.pop("out"), **kw)
        assert not target.any()


def test_cpu_gemm_binding_guards_memory():
    with pytest.raises(ValueError, match="inner dimensions"):
        _cpu.gemm(f32(4, 3), f32(4, 5), np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="out must have shape"):
        _cpu.gemm(f32(*A), f32(*B), np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="bias must have shape"):
        _cpu.gemm(f32(*A), f32(*B), np.zeros((4, 5), np.float32), f32(3))
    with pytest.raises(ValueError, match="activation code"):
        _cpu.gemm(f32(*A), f32(*B), np.zeros((4, 5), np.float32), activation=4)
    with pytest.raises(ValueError, match="unknown variant"):
        _cpu.gemm(f32(*A), f32(*B), np.zeros((4, 5), np.float32), variant="fast")
    with pytest.raises(ValueError, match="unknown SIMD path"):
        _cpu.gemm(f32(*A), f32(*B), np.zeros((4, 5), np.float32), simd="sse9")


def test_cpu_axpy_binding_refuses_instead_of_converting():
    y = np.zeros(4, np.float32)
    with pytest.raises(TypeError):
        _cpu.axpy(1.0, np.ones(4), y)
    with pytest.raises(TypeError):
        _cpu.axpy(1.0, f32(4), np.zeros(4))
    with pytest.raises(TypeError):
        _cpu.axpy(1.0, f32(8)[::2], y)
    with pytest.raises(ValueError, match="same size"):
        _cpu.axpy(1.0, f32(5), y)
    assert not y.any()


# ---------------------------------------------------------------------------- axpy


@pytest.mark.parametrize("x_shape,y_shape", [((5,), (4,)), ((2, 3), (3, 2)), ((6,), (2, 3)), ((4,), (1, 4))])
def test_axpy_shape_mismatch(x_shape, y_shape):
    with pytest.raises(ValueError, match=arg("axpy", "y") + re.escape(f" must have shape {x_shape}")):
        ops.axpy(1.0, f32(*x_shape), f32(*y_shape))


@pytest.mark.parametrize("dtype", [np.float64, np.int32])
@pytest.mark.parametrize("name", ["x", "y", "out"])
def test_axpy_wrong_dtype(name, dtype):
    args = {"x": f32(5), "y": f32(5), "out": f32(5)}
    args[name] = args[name].astype(dtype)
    with pytest.raises(TypeError, match=arg("axpy", name) + r" must be float32, got .*" + np.dtype(dtype).name):
        ops.axpy(1.0, args["x"], args["y"], out=args["out"])


@pytest.mark.parametrize("name", ["x", "y", "out"])
def test_axpy_non_contiguous(name):
    args = {"x": f32(5), "y": f32(5), "out": f32(5)}
    args[name] = f32(10)[::2]
    with pytest.raises(ValueError, match=arg("axpy", name) + r" must be C-contiguous.*strides \(8,\)"):
        ops.axpy(1.0, args["x"], args["y"], out=args["out"])


@pytest.mark.parametrize("shape", [(4,), (6,), (1, 5)])
def test_axpy_out_wrong_shape(shape):
    with pytest.raises(ValueError, match=arg("axpy", "out") + r" must have shape \(5,\)"):
        ops.axpy(1.0, f32(5), f32(5), out=f32(*shape))


def test_axpy_out_read_only():
    out = f32(5)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=arg("axpy", "out") + " is read-only"):
        ops.axpy(1.0, f32(5), f32(5), out=out)
    y = f32(5)
    y.flags.writeable = False
    with pytest.raises(ValueError, match=arg("axpy", "out") + " is read-only"):
        ops.axpy(1.0, f32(5), y, out=y)


def test_axpy_out_overlaps():
    buf = f32(10)
    with pytest.raises(ValueError, match=arg("axpy", "out") + " overlaps input `x`"):
        ops.axpy(1.0, buf[:5], f32(5), out=buf[2:7])
    with pytest.raises(ValueError, match=arg("axpy", "out") + " overlaps input `y`"):
        ops.axpy(1.0, f32(5), buf[:5], out=buf[1:6])


@pytest.mark.parametrize("value", [[1.0, 2.0], 1.0, (1.0,)])
@pytest.mark.parametrize("name", ["x", "y", "out"])
def test_axpy_non_array(name, value):
    args = {"x": f32(2), "y": f32(2), "out": f32(2)}
    args[name] = value
    with pytest.raises(TypeError, match=arg("axpy", name) + " must be a NumPy array"):
        ops.axpy(1.0, args["x"], args["y"], out=args["out"])


@pytest.mark.parametrize("alpha", ["2", None, False, [1.0]])
def test_axpy_alpha_not_a_number(alpha):
    with pytest.raises(TypeError, match=arg("axpy", "alpha") + " must be a real number"):
        ops.axpy(alpha, f32(3), f32(3))


def test_out_overlapping_an_input_is_refused_for_cuda_arrays_too():
    # Address ranges decide for CUDA arrays (no GPU needed to check the rule itself).
    from sinapse.ops._checks import check_out, inspect

    class FakeCuda:
        def __init__(self, ptr, shape):
            self.__cuda_array_interface__ = {
                "shape": shape,
                "typestr": "<f4",
                "data": (ptr, False),
                "version": 3,
                "strides": None,
            }

    a = inspect("gemm", "a", FakeCuda(4096, (4, 4)))  # bytes [4096, 4160)
    inside = inspect("gemm", "out", FakeCuda(4096 + 32, (2, 2)))
    after = inspect("gemm", "out", FakeCuda(4160, (2, 2)))
    with pytest.raises(ValueError, match="gemm: `out` overlaps input `a`"):
        check_out("gemm", inside, (2, 2), {"a": a})
    check_out("gemm", after, (2, 2), {"a": a})  # adjacent, not overlapping


# ------------------------------------------- every public op: errors name the op and the argument


def _bad_calls():
    """(op, call, exception, argument) for every public op: inputs whose error used to name
    another argument or op, or to fail inside pybind11 ("incompatible function arguments")."""
    x4, w4, y4 = f32(1, 5, 5, 3), f32(3, 3, 3, 4), f32(1, 3, 3, 4)
    i32 = np.zeros(3, np.int32)
    p = [f32(4) for _ in range(5)]
    cache = ops.lstm(f32(2, 3, 4), f32(4, 8), f32(2, 8))[3]
    gcache = ops.gru(f32(2, 3, 4), f32(4, 6), f32(2, 6))[2]
    scache = ops.simple_rnn(f32(2, 3, 4), f32(4, 2), f32(2, 2))[2]
    return [
        ("gemm", lambda: ops.gemm(f32(2, 3), f32(3, 2), alpha="1"), TypeError, "alpha"),
        ("gemm", lambda: ops.gemm(f32(2, 3), f32(3, 2), bias=f32(3)), ValueError, "bias"),
        ("gemm", lambda: ops.gemm(f32(2, 3), f32(3, 2), alpha=1e39), ValueError, "alpha"),  # inf as float32
        ("sgd_update", lambda: ops.sgd_update(p[0], p[1], learning_rate=10**400), ValueError, "learning_rate"),
        ("axpy", lambda: ops.axpy(1.0, f32(3), f32(4)), ValueError, "y"),
        ("affine_transform", lambda: ops.affine_transform(x4, f32(1, 6)), ValueError, "transforms"),
        (
            "affine_transform_backward",
            lambda: ops.affine_transform_backward(x4, f32(1, 8), (1, 5)),
            ValueError,
            "images_shape",
        ),
        ("flip", lambda: ops.flip(x4, np.ones(2, bool), np.ones(1, bool)), TypeError, "horizontal_flags"),
        (
            "flip_backward",
            lambda: ops.flip_backward(x4, np.ones(1, bool), np.ones(1, np.int32)),
            TypeError,
            "vertical_flags",
        ),
        ("adjust_contrast", lambda: ops.adjust_contrast(x4, f32(1), (1, 0)), ValueError, "value_range"),
        (
            "adjust_contrast_backward",
            lambda: ops.adjust_contrast_backward(f32(1, 5, 5, 2), x4, f32(1)),
            ValueError,
            "dy",
        ),
        ("adjust_brightness", lambda: ops.adjust_brightness(x4, f32(2)), ValueError, "deltas"),
        (
            "adjust_brightness_backward",
            lambda: ops.adjust_brightness_backward(x4, x4, f32(1), 3),
            ValueError,
            "value_range",
        ),
        ("merge", lambda: ops.merge([f32(3), f32(4)], "add"), ValueError, "inputs[1]"),
        ("merge_backward", lambda: ops.merge_backward(f32(4), [f32(3), f32(3)], "add"), ValueError, "dy"),
        ("concatenate", lambda: ops.concatenate([f32(2, 3), f32(3, 3)], axis=1), ValueError, "inputs[1]"),
        ("concatenate_backward", lambda: ops.concatenate_backward(f32(2, 5), [(2, 3), (2, 3)]), ValueError, "dy"),
        ("activation", lambda: ops.activation(f32(3), "elu", alpha="x"), TypeError, "alpha"),
        ("activation", lambda: ops.activation(f32(3), "mish"), ValueError, "name"),
        (
            "activation_backward",
            lambda: ops.activation_backward(f32(3).astype(np.float64), f32(3), "relu"),
            TypeError,
            "dy",
        ),
        ("softmax", lambda: ops.softmax(f32(3), out=f32(4)), ValueError, "out"),
        ("log_softmax", lambda: ops.log_softmax([1.0]), TypeError, "x"),
        ("softmax_backward", lambda: ops.softmax_backward(f32(2, 3), f32(2, 4)), ValueError, "y"),
        (
            "log_softmax_backward",
            lambda: ops.log_softmax_backward(f32(2, 3).astype(np.float16), f32(2, 3)),
            TypeError,
            "dy",
        ),
        ("bias_add", lambda: ops.bias_add(f32(2, 3), f32(4)), ValueError, "bias"),
        ("bias_backward", lambda: ops.bias_backward(f32(2, 3), out=f32(2)), ValueError, "out"),
        ("dropout", lambda: ops.dropout(f32(3), 0.5, 2**64), ValueError, "seed"),
        ("dropout", lambda: ops.dropout(f32(3), 0.5, 1, offset=1.0), TypeError, "offset"),
        ("dropout_backward", lambda: ops.dropout_backward(f32(3).astype(np.float64), 0.5, 1), TypeError, "dy"),
        ("dropout_backward", lambda: ops.dropout_backward(f32(3), 0.5, 1, out=f32(4)), ValueError, "out"),
        ("spatial_dropout", lambda: ops.spatial_dropout(f32(2, 3), 0.5, 1, lane=7), ValueError, "lane"),
        ("spatial_dropout_backward", lambda: ops.spatial_dropout_backward(f32(3), 0.5, 1), ValueError, "dy"),
        ("gaussian_noise", lambda: ops.gaussian_noise(f32(3), float("inf"), 1), ValueError, "stddev"),
        ("prelu", lambda: ops.prelu(f32(2, 3), f32(4)), ValueError, "alpha"),
        ("prelu_backward", lambda: ops.prelu_backward(f32(2, 3), f32(2, 4), f32(3)), ValueError, "x"),
        (
            "batch_norm",
            lambda: ops.batch_norm(f32(2, 3), f32(3), f32(3), f32(3), f32(3), training=True, momentum=2),
            ValueError,
            "momentum",
        ),
        (
            "batch_norm_backward",
            lambda: ops.batch_norm_backward(f32(2, 3), f32(2, 3), f32(3), f32(3), f32(2), training=True),
            ValueError,
            "invstd",
        ),
        ("layer_norm", lambda: ops.layer_norm(f32(2, 3), f32(2)), ValueError, "gamma"),
        ("layer_norm", lambda: ops.layer_norm(f32(2, 3), axis=0), ValueError, "axis"),
        (
            "layer_norm_backward",
            lambda: ops.layer_norm_backward(f32(2, 3), f32(2, 3), None, f32(2), f32(3)),
            ValueError,
            "inv_std",
        ),
        ("group_norm", lambda: ops.group_norm(f32(2, 3, 4), groups=3), ValueError, "groups"),
        (
            "group_norm_backward",
            lambda: ops.group_norm_backward(f32(2, 3, 4), f32(2, 3, 4), None, f32(2, 2), f32(2, 2), groups=2.0),
            TypeError,
            "groups",
        ),
        ("conv2d", lambda: ops.conv2d(x4, w4, strides=2**63), ValueError, "strides"),
        ("conv2d", lambda: ops.conv2d(x4, w4, strides=2.0), TypeError, "strides"),
        ("conv2d", lambda: ops.conv2d(x4, w4, dilation_rate=(1, -2)), ValueError, "dilation_rate"),
        ("conv2d", lambda: ops.conv2d(x4, w4, padding=(0, 0, 0, 2**63)), ValueError, "padding"),
        ("conv2d", lambda: ops.conv2d(x4, w4, padding=(0, 0, 0, 1.0)), TypeError, "padding"),
        ("depthwise_conv2d", lambda: ops.depthwise_conv2d(x4, w4, groups=2**63), ValueError, "groups"),
        ("depthwise_conv2d", lambda: ops.depthwise_conv2d(x4, f32(3, 3, 3, 1), strides=2.0), TypeError, "strides"),
        (
            "depthwise_conv2d_backward",
            lambda: ops.depthwise_conv2d_backward(f32(1, 2, 2, 4), x4, f32(3, 3, 3, 1)),
            ValueError,
            "dy",
        ),
        ("conv2d_backward", lambda: ops.conv2d_backward(f32(1, 2, 2, 4), x4, w4), ValueError, "dy"),
        ("conv2d_backward", lambda: ops.conv2d_backward(y4, x4, w4, strides=(1, 2**64)), ValueError, "strides"),
        ("conv2d_transpose", lambda: ops.conv2d_transpose(y4, w4, strides=2**63), ValueError, "strides"),
        (
            "conv2d_transpose",
            lambda: ops.conv2d_transpose(y4, w4, strides=2, output_padding=1.0),
            TypeError,
            "output_padding",
        ),
        ("conv2d_transpose_backward", lambda: ops.conv2d_transpose_backward(y4, y4, w4), ValueError, "dy"),
        ("max_pool2d", lambda: ops.max_pool2d(x4, 2**63), ValueError, "pool_size"),
        ("avg_pool2d", lambda: ops.avg_pool2d(x4, 2, strides=1.5), TypeError, "strides"),
        ("max_pool2d_backward", lambda: ops.max_pool2d_backward(f32(1, 3, 3, 3), x4), ValueError, "dy"),
        ("avg_pool2d_backward", lambda: ops.avg_pool2d_backward(f32(1, 2, 2, 3), x4, strides=0), ValueError, "strides"),
        ("embedding", lambda: ops.embedding(i32.astype(np.float32), f32(4, 2)), TypeError, "ids"),
        ("embedding", lambda: ops.embedding(i32 + 9, f32(4, 2)), IndexError, "ids"),
        ("embedding_backward", lambda: ops.embedding_backward(f32(3, 2), i32, 2**63), ValueError, "vocab_size"),
        ("embedding_backward", lambda: ops.embedding_backward(f32(3, 2), i32, 4.0), TypeError, "vocab_size"),
        ("loss", lambda: ops.loss(f32(2, 3), f32(2, 3), "mse", sample_weight=f32(3)), ValueError, "sample_weight"),
        ("loss", lambda: ops.loss(f32(2, 3), f32(2, 3), "mse", grad=True, grad_out=f32(2, 2)), ValueError, "grad_out"),
        ("sgd_update", lambda: ops.sgd_update(p[0], p[1], learning_rate=0.1, momentum=0.9), ValueError, "velocity"),
        (
            "adagrad_update",
            lambda: ops.adagrad_update(p[0], p[1], f32(5), learning_rate=0.1),
            ValueError,
            "accumulator",
        ),
        (
            "adadelta_update",
            lambda: ops.adadelta_update(p[0], p[1], p[2], p[3], learning_rate=0.1, rho=2),
            ValueError,
            "rho",
        ),
        (
            "rmsprop_update",
            lambda: ops.rmsprop_update(p[0], p[1], p[2], learning_rate=0.1, centered=True),
            ValueError,
            "average_grad",
        ),
        (
            "adam_update",
            lambda: ops.adam_update(p[0], p[1], p[2], p[3], learning_rate=0.1, step=2**63),
            ValueError,
            "step",
        ),
        (
            "adam_update",
            lambda: ops.adam_update(p[0], p[1], p[2], p[3], learning_rate=0.1, step=1.0),
            TypeError,
            "step",
        ),
        ("global_norm", lambda: ops.global_norm([f32(2), f32(2).astype(np.float64)]), TypeError, "arrays[1]"),
        ("clip_by_value", lambda: ops.clip_by_value(f32(3), -1.0), ValueError, "clipvalue"),
        ("clip_by_norm", lambda: ops.clip_by_norm(f32(3).astype(np.float64), 1.0), TypeError, "x"),
        (
            "clip_by_global_norm",
            lambda: ops.clip_by_global_norm([f32(2).astype(np.float64)], 1.0),
            TypeError,
            "arrays[0]",
        ),
        ("clip_by_global_norm", lambda: ops.clip_by_global_norm([f32(2)], 1.0, out=[f32(3)]), ValueError, "out[0]"),
        ("clip_by_global_norm", lambda: ops.clip_by_global_norm(None, 0.5), TypeError, "arrays"),
        ("clip_by_value", lambda: ops.clip_by_value(f32(3), None), TypeError, "clipvalue"),
        ("gemm", lambda: ops.gemm(f32(2, 3), f32(3, 2), alpha=float("inf")), ValueError, "alpha"),
        ("simple_rnn", lambda: ops.simple_rnn(f32(2, 3, 4), f32(4, 2), f32(2, 3)), ValueError, "recurrent_kernel"),
        ("simple_rnn_backward", lambda: ops.simple_rnn_backward(f32(2, 3, 3), scache), ValueError, "dy"),
        ("lstm", lambda: ops.lstm(f32(2, 3, 4), f32(4, 8), f32(2, 8), c0=f32(2, 3)), ValueError, "c0"),
        ("lstm_backward", lambda: ops.lstm_backward(None, cache, dc_T=f32(2, 3)), ValueError, "dc_T"),
        ("gru", lambda: ops.gru(f32(2, 3, 4), f32(4, 6), f32(2, 6), go_backwards=1), TypeError, "go_backwards"),
        ("gru_backward", lambda: ops.gru_backward(None, gcache, dh_T=f32(3, 2)), ValueError, "dh_T"),
        ("gru_backward", lambda: ops.gru_backward(None, scache), TypeError, "cache"),
        # flags are True/False only: a string or None read by truthiness would mean the opposite
        ("gemm", lambda: ops.gemm(f32(2, 3), f32(2, 3), trans_a="no"), TypeError, "trans_a"),
        ("dropout", lambda: ops.dropout(f32(3), 0.5, 1, training="no"), TypeError, "training"),
        ("batch_norm", lambda: ops.batch_norm(f32(2, 3), *[f32(3)] * 4, training=None), TypeError, "training"),
        (
            "loss",
            lambda: ops.loss(f32(2, 3), f32(2, 3), "binary_crossentropy", from_logits="yes"),
            TypeError,
            "from_logits",
        ),
        (
            "conv2d_backward",
            lambda: ops.conv2d_backward(f32(1, 1, 1, 1), f32(1, 1, 1, 1), f32(1, 1, 1, 1), need_dx=0),
            TypeError,
            "need_dx",
        ),
        (
            "sgd_update",
            lambda: ops.sgd_update(p[0], p[1], p[2], learning_rate=0.1, momentum=0.9, nesterov="no"),
            TypeError,
            "nesterov",
        ),
        ("resize", lambda: ops.resize(x4, (2**31, 2)), ValueError, "size"),
        ("resize", lambda: ops.resize(x4, (2, 2), interpolation="area"), ValueError, "interpolation"),
        ("resize_backward", lambda: ops.resize_backward(y4, (2.0, 2)), TypeError, "input_size"),
        ("crop", lambda: ops.crop(x4, 0, 0, 2**63, 1), ValueError, "height"),
        ("crop", lambda: ops.crop(x4, 1.0, 0, 2, 2), TypeError, "top"),
        ("crop_backward", lambda: ops.crop_backward(y4, (5, 5), 0, 0, fill_value="0"), TypeError, "fill_value"),
    ]


def _public_ops():
    return {n for n in ops.__all__ if callable(getattr(ops, n)) and n != "conv2d_variant"}


@pytest.mark.parametrize("case", range(len(_bad_calls())))
def test_every_error_names_the_op_and_the_argument(case):
    op, call, exc, name = _bad_calls()[case]
    with pytest.raises(exc) as err:
        call()
    msg = str(err.value)
    assert msg.startswith(f"{op}: "), msg
    assert f"`{name}`" in msg, msg
    assert "incompatible function arguments" not in msg, msg


def test_every_public_op_has_a_bad_call():
    assert _public_ops() <= {c[0] for c in _bad_calls()}


def test_dropout_backward_names_dy_not_x():
    """Issue 11, class 8: dropout_backward's errors named `x`, its forward's argument."""
    for bad in (f32(3).astype(np.float64), f32(4, 3)[:, ::2], [1.0]):
        with pytest.raises((TypeError, ValueError), match=r"^dropout_backward: `dy`"):
            ops.dropout_backward(bad, 0.5, 1)


def test_an_allocation_that_cannot_succeed_names_the_op_and_the_shape():
    # below the geometry bounds, but far beyond any machine: NumPy's MemoryError alone
    # would name neither the op nor which of its arrays did not fit
    with pytest.raises(MemoryError, match=r"^embedding_backward: cannot allocate .*\(2147483647, 1048576\)"):
        ops.embedding_backward(f32(3, 2**20), np.zeros(3, np.int32), 2**31 - 1)


# ---------------------------------------------------------------------------- malformed __cuda_array_interface__


def _cai(**changes):
    good = {"shape": (2, 3), "typestr": "<f4", "data": (4096, False), "version": 3, "strides": None}
    good.update(changes)
    return {k: v for k, v in good.items() if v is not _MISSING}


_MISSING = object()


class _Broken(RuntimeError):
    pass


def _fake(interface):
    class Fake:
        @property
        def __cuda_array_interface__(self):
            if isinstance(interface, Exception):
                raise interface
            return interface

    return Fake()


MALFORMED_CAI = [
    (_cai(data=_MISSING), "'data' is missing"),
    (_cai(shape=_MISSING), "'shape' is missing"),
    (_cai(typestr=_MISSING), "'typestr' is missing"),
    (_cai(version=_MISSING), "'version' is missing"),
    (_cai(data=5), "'data' must be a tuple"),
    (_cai(data=(1, 2, 3)), "'data' must be a tuple"),
    (_cai(data=(None, False)), "'data' must be a tuple"),
    (_cai(data=(4096, 0)), "'data' must be a tuple"),
    (_cai(data=(-8, False)), "pointer must be non-negative"),
    (_cai(shape=None), "'shape' must be a tuple of ints"),
    (_cai(shape="ab"), "'shape' must be a tuple of ints"),
    (_cai(shape=(4.5, 4)), "'shape' must be a tuple of ints"),
    (_cai(shape=(True, 4)), "'shape' must be a tuple of ints"),
    (_cai(shape=(-1, 4)), "non-negative"),
    (_cai(typestr="zz"), "'typestr' must be a NumPy type string"),
    (_cai(typestr=5), "'typestr' must be a NumPy type string"),
    (_cai(strides=(12,)), "one entry per dimension"),
    (_cai(strides=(12, 4, 4)), "one entry per dimension"),
    (_cai(strides=[12, 4]), "'strides' must be a tuple of ints"),
    (_cai(strides=(12.0, 4)), "'strides' must be a tuple of ints"),
    (_cai(mask=object()), "'mask' is not supported"),
    (_cai(version="3"), "'version' must be a non-negative int"),
    (_cai(version=None), "'version' must be a non-negative int"),
    (5, "it must be a dict, got int"),
    ([1, 2], "it must be a dict, got list"),
    (_Broken("device lost"), "reading it raised _Broken: device lost"),
]


@pytest.mark.parametrize("interface, why", MALFORMED_CAI)
def test_malformed_cuda_array_interface_is_a_clear_error(interface, why):
    from sinapse.ops._checks import inspect

    with pytest.raises(
        ValueError,
        match=re.escape("activation: `x` has a malformed __cuda_array_interface__: ") + ".*" + re.escape(why),
    ):
        inspect("activation", "x", _fake(interface))


@pytest.mark.parametrize("interface, why", MALFORMED_CAI[:6])
def test_malformed_cuda_array_interface_through_a_public_op(interface, why):
    with pytest.raises(ValueError, match=r"^activation: `x` has a malformed __cuda_array_interface__"):
        ops.activation(_fake(interface), "relu")


def test_well_formed_cuda_array_interfaces_still_pass():
    from sinapse.ops._checks import inspect

    info = inspect("gemm", "a", _fake(_cai(strides=(12, 4), mask=None, version=2)))
    assert (info.shape, info.strides, info.c_contiguous, info.ptr, info.writeable) == (
        (2, 3),
        (12, 4),
        True,
        4096,
        True,
    )
    info = inspect("gemm", "a", _fake(_cai(shape=(np.int64(2), 3), strides=(4, 8), data=(np.uint64(64), True))))
    assert (info.shape, info.c_contiguous, info.ptr, info.writeable) == ((2, 3), False, 64, False)
    assert inspect("gemm", "a", _fake(_cai(shape=(0, 3)))).c_contiguous
