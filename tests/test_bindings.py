"""One binding convention (issue 12): every CPU kernel with a CUDA twin takes the same argument
names in the same order in sinapse._cpu and sinapse._cuda_sim (and so in sinapse._cuda, built
from the same binding files), except the last, the launch option: ``threads`` on the CPU,
``stream`` on CUDA. The CUDA bindings check their array arguments as the CPU ones do."""

import numpy as np
import pytest

import sinapse
from sinapse import _cpu
from sinapse.ops import _device

pytestmark = pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")

KERNELS = {
    "gemm",
    "axpy",
    "activation_forward",
    "activation_backward",
    "softmax_forward",
    "softmax_backward",
    "dropout",
    "bias_add",
    "bias_backward",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "loss",
    "batch_norm_train",
    "batch_norm_infer",
    "batch_norm_backward",
    "conv2d_forward",
    "conv2d_backward",
    "embedding_forward",
    "embedding_backward",
    "optimizer_update",
    "sum_squares",
    "scale_clip",
    "rnn_forward",
    "rnn_backward",
}


parameters = _device.binding_parameters  # the one pybind11 signature reader


def _twins():
    from sinapse import _cuda_sim

    names = [n for n in dir(_cpu) if callable(getattr(_cpu, n)) and hasattr(_cuda_sim, n) and not n.startswith("_")]
    return [n for n in names if parameters(getattr(_cpu, n))[-1:] == ["threads"]]


def test_every_kernel_has_a_twin():
    assert KERNELS <= set(_twins())


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_twins_take_the_same_arguments(name):
    from sinapse import _cuda_sim

    cpu, sim = parameters(getattr(_cpu, name)), parameters(getattr(_cuda_sim, name))
    assert cpu[-1] == "threads" and sim[-1] == "stream", (cpu, sim)
    assert cpu[:-1] == sim[:-1], f"{name}: _cpu{tuple(cpu)} vs _cuda_sim{tuple(sim)}"


def test_parameters_parses_nested_types():
    assert parameters(_cpu.gemm)[:4] == ["a", "b", "out", "bias"]


# ---- the CUDA bindings check their arrays like the CPU ones --------------------------------
def _sim():
    from sinapse import _cuda_sim

    return _cuda_sim


def test_a_non_array_is_a_type_error_naming_op_and_argument():
    y = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match=r"axpy: `x` must be a NumPy array"):
        _sim().axpy(1.0, [1.0, 2.0, 3.0, 4.0], y)


def test_a_wrong_dtype_is_a_type_error():
    with pytest.raises(TypeError, match=r"bias_add: `bias` must be float32"):
        _sim().bias_add(np.zeros((2, 3), np.float32), np.zeros(3, np.float64), np.zeros((2, 3), np.float32))


def test_a_non_contiguous_array_is_refused():
    x = np.zeros((4, 6), np.float32)[:, ::2]
    with pytest.raises(ValueError, match=r"activation_forward: `x` must be C-contiguous"):
        _sim().activation_forward(x, np.zeros((4, 3), np.float32), 1, 0.0)


def test_a_read_only_output_is_refused():
    y = np.zeros(4, np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match=r"dropout: `y` is written by the kernel but is read-only"):
        _sim().dropout(np.zeros(4, np.float32), y, 0.5, 1, 0)


def test_sizes_are_checked_against_the_geometry():
    from sinapse.ops.pooling import geometry

    g = geometry("test", (1, 4, 4, 2), 2, None, "valid")
    with pytest.raises(ValueError, match="pooling: array sizes do not match the geometry"):
        _sim().max_pool2d_forward(g, np.zeros((1, 4, 4, 2), np.float32), np.zeros((1, 2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="gemm: inner dimensions of a and b differ"):
        a, b = np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)
        _sim().gemm(a, b, np.zeros((2, 5), np.float32))


def test_codes_out_of_range_are_refused():
    x = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="activation: kind code out of range"):
        _sim().activation_forward(x, x.copy(), len(_cpu.ACTIVATIONS) + 5, 0.0)


def test_loss_and_sum_squares_return_their_sums_as_on_the_cpu(rng):
    x = rng.standard_normal((5, 7)).astype(np.float32)
    cpu = _cpu.sum_squares(x, "generic")
    assert _sim().sum_squares(x, "generic") == pytest.approx(cpu, rel=1e-12)
    y_true, per_row = rng.random((5, 7)).astype(np.float32), np.zeros(5, np.float32)
    mse = _cpu.LOSSES["mse"]
    want = _cpu.loss(mse, False, y_true, None, x, None, 1.0, 1.0, per_row.copy(), None)
    got = _sim().loss(mse, False, y_true, None, x, None, 1.0, 1.0, per_row, None)
    assert got == pytest.approx(want, rel=1e-5)


def test_the_launch_option_is_positional_and_last():
    # sinapse.ops passes every argument positionally (a keyword costs pybind11 0.4-1.3 µs a
    # call): the launch option is the last parameter of every twin, so position = name.
    from sinapse.ops import _device

    assert _device.launch_arg("cpu") == 0 and _device.launch_arg("cuda_sim") == 0
    x = np.arange(6, dtype=np.float32) - 3
    y = np.empty_like(x)
    _cpu.activation_forward(x, y, _cpu.ACTIVATIONS["relu"], 0.0, _device.launch_arg("cpu"))
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    _sim().activation_forward(x, y, _cpu.ACTIVATIONS["relu"], 0.0, _device.launch_arg("cuda_sim"))
    np.testing.assert_array_equal(y, np.maximum(x, 0))
