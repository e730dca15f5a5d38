"""Every public op on a real GPU (CuPy arrays) against the same call on the CPU (NumPy).

The checks are in tests/device_parity.py: a handful of valid calls per op drawn from the fuzz
specs, run on both backends and compared (results, written arguments, ``out=``, untouched
inputs), plus the refusal of a non-contiguous device array and of a host/device mix.

Devices: "cuda" where ``sinapse.cuda.is_available()``; with SINAPSE_DEVICE_TEST_SIM=1 also
"cuda_sim", where the device arrays are NumPy arrays run inside ``sinapse.cuda.simulate()``
(the same code path but for the arrays: how this harness is checked without a GPU).
Without either the module is skipped, saying why. $SINAPSE_DEVICE_EXAMPLES cases per op
(default 6): on an H200 the whole file takes a few seconds.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import sinapse
from device_parity import HOST_ONLY, Device, check_op
from fuzz.specs import SPECS
from sinapse import ops
from test_fuzz import public_ops

SIM = os.environ.get("SINAPSE_DEVICE_TEST_SIM") == "1"
EXAMPLES = int(os.environ.get("SINAPSE_DEVICE_EXAMPLES", "6"))
DEVICES = (["cuda"] if sinapse.cuda.is_available() else []) + (
    ["cuda_sim"] if SIM and sinapse.cuda.simulator_built() else []
)
if not DEVICES:
    pytest.skip(
        f"no CUDA device ({sinapse.cuda.why_unavailable()}); SINAPSE_DEVICE_TEST_SIM=1 runs these checks "
        "on the CUDA simulator instead",
        allow_module_level=True,
    )

DEVICE_OPS = [name for name in public_ops() if name not in HOST_ONLY]


@pytest.fixture(scope="module", params=DEVICES)
def device(request) -> Device:
    return Device(request.param)


def test_every_public_op_is_covered():
    missing = sorted(set(DEVICE_OPS) - set(SPECS))
    assert not missing, f"no fuzz spec (tests/fuzz/specs.py) to draw device cases from: {missing}"
    assert set(HOST_ONLY) <= set(public_ops()), "HOST_ONLY names an op that is not public"


@pytest.mark.parametrize("name", DEVICE_OPS)
def test_op_matches_cpu(device, name):
    counts, problems = check_op(name, device, EXAMPLES)
    assert not problems, f"{len(problems)} problem(s) on {device.name}:\n" + "\n".join(problems[:10])
    assert counts["compared"] >= 1, f"{name}: no case ran on both backends ({counts}); raise SINAPSE_DEVICE_EXAMPLES"


@pytest.mark.parametrize("name", [n for n in HOST_ONLY if n.startswith("rnn_convert.")])
def test_rnn_convert_refuses_device_arrays(device, name):
    """rnn_convert is NumPy only: a device array is a TypeError naming the op, not a silent copy."""
    kernel = np.zeros((3, 8), np.float32)
    recurrent = np.zeros((2, 8), np.float32)
    if name.endswith("keras_to_torch"):
        args = {"kernel": device.as_cuda(kernel), "recurrent_kernel": device.as_cuda(recurrent)}
    else:
        args = {"weight_ih": device.as_cuda(kernel.T.copy()), "weight_hh": device.as_cuda(recurrent.T.copy())}
    short = name.split(".")[-1]
    with pytest.raises(TypeError, match=rf"^{short}: `(kernel|weight_ih)` must be a NumPy array"):
        getattr(ops.rnn_convert, short)("lstm", **args)


def test_conv2d_variant_is_the_same_on_the_device(device):
    with device.scope():
        on_device = ops.conv2d_variant()
    assert on_device == ops.conv2d_variant()


# ---- the harness itself: a wrong device must be caught, or every test above could pass vacuously


class _Skewed(Device):
    """Reads every float array back 0.1 % too large (a kernel with the wrong answer)."""

    def get(self, x):
        x = super().get(x)
        if isinstance(x, np.ndarray) and x.dtype == np.float32 and x.size:
            return x * np.float32(1.001) + np.float32(1e-3)
        return x


class _OneUlp(Device):
    """Reads every float array back one ulp away (a dropout that is close, but not the same mask stream)."""

    def get(self, x):
        x = super().get(x)
        return np.nextafter(x, np.inf) if isinstance(x, np.ndarray) and x.dtype == np.float32 else x


class _Lenient(Device):
    """ "Non-contiguous" and "other-device" arrays that are neither: the ops accept them."""

    def strided(self, a):
        return self.put(a)

    def odd(self, a):
        return self.put(a)


@pytest.mark.parametrize(
    ("broken", "name", "expected"),
    [
        (_Skewed, "gemm", "result[0]: value at"),
        (_Skewed, "adam_update", "`param` after the call: value at"),
        (_OneUlp, "dropout", "not bit-identical"),
        (_Lenient, "conv2d", "non-contiguous device `"),
        (_Lenient, "bias_add", "on the other device than the rest was accepted"),
    ],
)
def test_harness_flags_a_wrong_device(device, broken, name, expected):
    _, problems = check_op(name, broken(device.name), 3)
    assert any(expected in p for p in problems), f"{broken.__name__} on {name} not caught: {problems[:3]}"
