"""Geometry whose sizes overflow or explode (issue 11, class 2).

Every size an op derives from its arguments is computed in Python ints and bounded
(ops/_checks.MAX_EXTENT, MAX_ELEMENTS) before anything is allocated: a ValueError names the
argument and the size it implies. What still fails to allocate inside C++ (scratch in an
OpenMP region) comes back as a MemoryError, never an abort: the crash-prone cases run in a
subprocess, so a regression fails the test instead of killing the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import BACKENDS, on
from sinapse import ops
from sinapse.ops._checks import MAX_EXTENT

F = np.float32
X = np.ones((1, 5, 5, 3), F)
W = np.ones((3, 3, 3, 4), F)


@pytest.mark.parametrize(
    "call,arg",
    [
        (lambda: ops.conv2d(X, W, dilation_rate=2**30, padding="same"), "dilation_rate"),  # the example
        (lambda: ops.conv2d(X, W, dilation_rate=(1, 2**40), padding="valid"), "dilation_rate"),
        (lambda: ops.conv2d(X, W, dilation_rate=2**63), "dilation_rate"),
        (lambda: ops.conv2d(X, W, strides=2**63), "strides"),
        (lambda: ops.conv2d(X, W, strides=(1, 2**64 + 1)), "strides"),
        (lambda: ops.conv2d(X, W, padding=(0, 2**31, 0, 0)), "padding"),
        (lambda: ops.conv2d(X, W, padding=(0, 0, 2**62, 2**62)), "padding"),
        (lambda: ops.conv2d(X, W, padding=(0, 0, 0, 2**64)), "padding"),
        (lambda: ops.conv2d_backward(np.ones((1, 3, 3, 4), F), X, W, dilation_rate=2**31), "dilation_rate"),
        (lambda: ops.max_pool2d(X, 2**31), "pool_size"),
        (lambda: ops.avg_pool2d(X, 2, strides=2**63), "strides"),
        (lambda: ops.avg_pool2d(X, (2**31 - 1, 2), strides=1, padding="same"), "pool_size"),
        (lambda: ops.max_pool2d_backward(np.ones((1, 1, 1, 3), F), X, 2**64, padding="same"), "pool_size"),
        (lambda: ops.embedding_backward(np.ones((2, 4), F), np.zeros(2, np.int32), 2**62), "vocab_size"),
        (lambda: ops.embedding_backward(np.ones((2, 4), F), np.zeros(2, np.int32), 2**64), "vocab_size"),
        (lambda: ops.gemm(np.ones((2**31, 0), F), np.ones((0, 2**31), F)), "b"),
        (lambda: ops.dropout(np.ones(4, F), 0.5, 2**64), "seed"),
        (lambda: ops.dropout(np.ones(4, F), 0.5, 1, offset=-1), "offset"),
        (lambda: ops.adam_update(*(np.ones(3, F) for _ in range(4)), learning_rate=0.1, step=2**63), "step"),
    ],
)
def test_huge_sizes_are_value_errors_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=rf"`{arg}`") as err:
        call()
    assert "incompatible function arguments" not in str(err.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_largest_accepted_strides_run(backend):
    """Bounds are generous: a stride of 2**31 - 1 (one output pixel) is legal and correct."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 5, 5, 3)).astype(F), rng.standard_normal((3, 3, 3, 4)).astype(F)
    with on(backend):
        np.testing.assert_allclose(ops.conv2d(x, w, strides=MAX_EXTENT), ops.conv2d(x, w, strides=9), rtol=1e-6)
        np.testing.assert_array_equal(ops.max_pool2d(x, 2, strides=np.int64(MAX_EXTENT)), ops.max_pool2d(x, 2, 9))
        np.testing.assert_array_equal(
            ops.avg_pool2d(x, 2, strides=MAX_EXTENT, padding="same"), ops.avg_pool2d(x, 2, 9, padding="same")
        )
        # Huge padding and strides on few channels: the direct kernels' padded rows would need
        # ~500 GB; the tuned variant must still run (im2col) and agree with the definition.
        geo = dict(padding=(0, 0, 2**29, 2**29), strides=(1, 2**30))
        want = ops.conv2d(x, w, variant="naive", **geo)
        np.testing.assert_allclose(ops.conv2d(x, w, **geo), want, rtol=1e-5, atol=1e-6)
        dy = rng.standard_normal(want.shape).astype(F)
        naive = ops.conv2d_backward(dy, x, w, variant="naive", **geo)
        for got, ref in zip(ops.conv2d_backward(dy, x, w, **geo), naive):
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_numpy_integers_are_accepted_as_ints():
    x, w = np.ones((1, 5, 5, 3), F), np.ones((3, 3, 3, 2), F)
    want = ops.conv2d(x, w, strides=2, padding=(1, 1, 1, 1), dilation_rate=1)
    got = ops.conv2d(
        x,
        w,
        strides=(np.int32(2), np.int64(2)),
        padding=tuple(np.int64(v) for v in (1, 1, 1, 1)),
        dilation_rate=np.uint8(1),
    )
    np.testing.assert_array_equal(got, want)
    a = ops.dropout(np.ones(8, F), 0.5, np.uint64(2**64 - 1), offset=np.int64(3))
    np.testing.assert_array_equal(a, ops.dropout(np.ones(8, F), 0.5, 2**64 - 1, offset=3))


_CHILD = textwrap.dedent("""
    import numpy as np
    from sinapse import _cpu, ops
    cases = {
        # the issue's example: std::bad_alloc inside an OpenMP region aborted the interpreter
        "issue": lambda: ops.conv2d(np.ones((1, 5, 5, 3), np.float32), np.ones((3, 3, 3, 4), np.float32),
                                    dilation_rate=2**30, padding="same"),
        # legal geometry whose direct-kernel scratch (padded rows, 2**48 bytes) could not be
        # allocated: the im2col path runs instead, and gives the right answer
        "scratch": lambda: ops.conv2d(np.ones((1, 4, 4, 8), np.float32), np.ones((8192, 3, 8, 1), np.float32),
                                      dilation_rate=(1, 2**29), padding="same"),
        # the carrier itself: a thread of an OpenMP region throws; the others skip the loop
        "bad_alloc": lambda: _cpu.parallel_errors_selftest(4, 2, 0),
        "runtime_error": lambda: _cpu.parallel_errors_selftest(3, 0, 1),
        "none": lambda: _cpu.parallel_errors_selftest(4, -1, 0),
    }
    for name, call in cases.items():
        try:
            got = call()
            print(name, "ok", got if isinstance(got, int) else float(np.asarray(got).sum()))
        except Exception as e:
            print(name, type(e).__name__)
""")


def test_exceptions_never_escape_openmp_regions():
    """An exception inside an OpenMP region is carried out and raised on the calling thread
    (csrc/common/parallel_errors.h): std::bad_alloc as MemoryError; before, the process
    aborted. Geometry whose direct-kernel scratch would explode takes the im2col path."""
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    lines = done.stdout.split("\n")
    # scratch: x and w all ones, 'same' padding, the dilated taps fall in the padding except
    # the kernel rows and columns that meet the 4x4 image: a finite, positive sum
    assert lines[0] == "issue ValueError" and lines[1].startswith("scratch ok "), done.stdout + done.stderr
    assert float(lines[1].split()[2]) > 0
    assert lines[2:5] == ["bad_alloc MemoryError", "runtime_error RuntimeError", "none ok 1000"], done.stdout


def test_bindings_refuse_sizes_that_overflow_int64():
    """A direct call into sinapse._cpu with a crafted geometry: the products the binding
    compares array sizes against would wrap around int64 and pass; now refused."""
    from sinapse import _cpu

    tiny = np.ones(4, F)
    big = 2**31 - 1
    g = (big, big, big, big, 1, 1, 1, 1, 1, 1, 1, 0, 0, big, big)
    with pytest.raises(ValueError, match="conv2d: a size overflows int64"):
        _cpu.conv2d_forward(g, tiny, tiny, None, 0, tiny, "tuned", "generic", 0)
    with pytest.raises(ValueError, match="conv2d: geometry value outside"):
        _cpu.conv2d_forward(
            (1, 1, 1, 1, 1, 1, 1, 2**40, 1, 1, 1, 0, 0, 1, 1), tiny, tiny, None, 0, tiny, "tuned", "generic", 0
        )
    with pytest.raises(ValueError, match="pooling: a size overflows int64"):
        _cpu.max_pool2d_forward((big, big, big, big, 1, 1, 1, 1, 0, 0, big, big), tiny, tiny, "tuned", 0)
    with pytest.raises(ValueError, match="rnn: N, T, D and H imply sizes beyond 2\\*\\*60"):
        _cpu.rnn_workspace_floats(2, 2**40, 2**40, 1, 1, False)
