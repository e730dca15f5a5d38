"""conv2d_transpose (Keras's Conv2DTranspose: NHWC, kernel (KH, KW, filters, in_channels)),
forward and backward on conv2d's kernels, every conv2d variant, CPU and simulated CUDA,
against the scatter reference; the output shape against Keras's deconv_output_length; the
reference's gradient by finite differences; Keras 3.15.1's own outputs (tests/golden); bad input.
"""

import json
import os

import numpy as np
import pytest

import sinapse
from conftest import BACKENDS, on
from sinapse import _cpu, layers, ops, reference
from sinapse.ops._conv2d_transpose import transpose_geometry
from sinapse.registry import op_info

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "keras_conv_transpose.npz")

# (x shape, w shape (KH, KW, F, C), strides, padding, output_padding, dilation)
CONFIGS = [
    ((2, 7, 7, 8), (3, 3, 4, 8), 2, "same", None, 1),  # the autoencoder decoder, 7x7 -> 14x14
    ((2, 14, 14, 4), (3, 3, 1, 4), 2, "same", None, 1),  # ... 14x14 -> 28x28, one filter
    ((1, 5, 5, 3), (3, 3, 2, 3), 2, "same", 1, 1),  # output_padding 1: 10x10
    ((1, 5, 4, 3), (3, 3, 2, 3), 2, "same", 0, 1),  # output_padding 0: 9x7
    ((2, 4, 3, 2), (3, 3, 3, 2), 2, "valid", None, 1),  # 9x7
    ((2, 4, 3, 2), (3, 3, 3, 2), 2, "valid", 1, 1),  # 10x8: the last row read by no window
    ((1, 3, 4, 2), (2, 2, 2, 2), 3, "valid", None, 1),  # kernel smaller than the stride: gaps
    ((1, 3, 4, 2), (2, 2, 2, 2), 3, "valid", 2, 1),  # ... and output_padding 2
    ((1, 3, 3, 2), (4, 4, 2, 2), 2, "same", None, 1),  # even kernel
    ((1, 3, 3, 2), (4, 4, 2, 2), 2, "same", 1, 1),  # even kernel, output_padding 1: 5x5
    ((1, 6, 5, 2), (3, 3, 3, 2), 1, "same", None, 2),  # dilation, stride 1
    ((1, 4, 4, 3), (3, 2, 2, 3), (2, 1), "valid", (1, 0), 1),  # rectangular
    ((1, 4, 5, 2), (3, 3, 2, 2), (2, 3), "same", (1, 2), (2, 1)),  # stride and dilation (PyTorch allows it)
    ((1, 3, 2, 2), (5, 5, 2, 2), 3, "same", 2, 1),  # 5x5 stride 3
    ((2, 5, 6, 3), (1, 1, 4, 3), 1, "valid", None, 1),  # 1x1 stride 1: one GEMM
    ((1, 4, 3, 3), (1, 1, 2, 3), 2, "valid", 1, 1),  # 1x1 stride 2
    ((1, 1, 1, 3), (3, 3, 2, 3), 2, "same", None, 1),  # one input pixel
    ((3, 6, 6, 5), (3, 3, 4, 5), 1, "same", None, 1),  # 3x3 stride 1: winograd's domain
    ((0, 3, 3, 2), (3, 3, 2, 2), 2, "same", None, 1),  # no images
]

CASES = [(backend, v) for backend in BACKENDS for v in op_info("conv2d").variants_on(backend)]


def geo(strides, padding, output_padding, dilation):
    return dict(strides=strides, padding=padding, output_padding=output_padding, dilation_rate=dilation)


def check(rng, backend, variant, x_shape, w_shape, strides, padding, output_padding, dilation):
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[2]).astype(np.float32)
    kw = geo(strides, padding, output_padding, dilation)
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    want = reference.conv2d_transpose(f64(x), f64(w), f64(b), **kw)
    with on(backend):
        y = ops.conv2d_transpose(x, w, b, variant=variant, **kw)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx, dw, db = ops.conv2d_transpose_backward(dy, x, w, variant=variant, **kw)
    tol = 1e-5 * np.sqrt(w.size) + 1e-5
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=tol)
    rdx, rdw, rdb = reference.conv2d_transpose_backward(f64(dy), f64(x), f64(w), **kw)
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=tol * 4)
    np.testing.assert_allclose(dw, rdw, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size + 1))
    np.testing.assert_allclose(db, rdb, rtol=1e-4, atol=1e-4 * np.sqrt(dy.size + 1))


@pytest.mark.parametrize("backend,variant", CASES)
@pytest.mark.parametrize("x_shape,w_shape,strides,padding,output_padding,dilation", CONFIGS)
def test_every_variant_matches_reference(
    rng, backend, variant, x_shape, w_shape, strides, padding, output_padding, dilation
):
    """Every conv2d variant takes every output size output_padding gives (its dx kernels run the
    forward); direct and winograd refuse a layer outside their domain as conv2d does."""
    if backend == "cpu" and variant in ("direct", "winograd"):
        g = transpose_geometry("t", x_shape, w_shape, strides, padding, output_padding, dilation)
        if _cpu.conv2d_variant_refusal(g, variant):
            with pytest.raises(ValueError, match=f"conv2d_transpose: variant='{variant}' cannot run this layer"):
                ops.conv2d_transpose(
                    np.ones(x_shape, np.float32),
                    np.ones(w_shape, np.float32),
                    variant=variant,
                    **geo(strides, padding, output_padding, dilation),
                )
            return
    check(rng, backend, variant, x_shape, w_shape, strides, padding, output_padding, dilation)


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_plain_simulator(rng):
    """The simulator without its checks (the mode the model tests use) gives the same numbers."""
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
    kw = geo(2, "same", 1, 1)
    cpu = (
        ops.conv2d_transpose(x, w, **kw),
        *ops.conv2d_transpose_backward(np.ones((2, 8, 8, 2), np.float32), x, w, **kw),
    )
    with sinapse.cuda.simulate():
        sim = (
            ops.conv2d_transpose(x, w, **kw),
            *ops.conv2d_transpose_backward(np.ones((2, 8, 8, 2), np.float32), x, w, **kw),
        )
    for a, c in zip(cpu, sim):
        np.testing.assert_allclose(c, a, rtol=1e-5, atol=1e-5)


def keras_length(n, k, s, d, padding, p):
    """keras.src.utils.conv_utils.deconv_output_length, transcribed."""
    k = k + (k - 1) * (d - 1)
    if p is None:
        return n * s + max(k - s, 0) if padding == "valid" else n * s
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * s + k - 2 * pad + p


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_shape_is_keras(padding):
    for n in (1, 2, 5, 7):
        for k in (1, 2, 3, 4, 5):
            for s in (1, 2, 3):
                for d in (1, 2):
                    for p in (None, *range(s)):
                        want = keras_length(n, k, s, d, padding, p)
                        if want < 1:
                            continue
                        g = transpose_geometry("t", (1, n, n, 1), (k, k, 1, 1), s, padding, p, d)
                        assert (g.H, g.W) == (want, want), (n, k, s, d, padding, p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_keeps_precision(rng, dtype):
    x, w = rng.standard_normal((1, 3, 3, 2)).astype(dtype), rng.standard_normal((3, 3, 2, 2)).astype(dtype)
    y = reference.conv2d_transpose(x, w, strides=2, padding="same")
    assert y.dtype == dtype and y.shape == (1, 6, 6, 2)
    dx, dw, db = reference.conv2d_transpose_backward(np.ones_like(y), x, w, strides=2, padding="same")
    assert dx.dtype == dw.dtype == db.dtype == dtype


@pytest.mark.parametrize(
    "padding,output_padding,strides,dilation", [("same", 1, 2, 1), ("valid", 1, (2, 3), 1), ("same", None, 1, (1, 2))]
)
def test_reference_gradient_matches_finite_differences(rng, padding, output_padding, strides, dilation):
    x, w, b = rng.standard_normal((1, 3, 2, 2)), rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(2)
    kw = geo(strides, padding, output_padding, dilation)
    dy = rng.standard_normal(reference.conv2d_transpose(x, w, **kw).shape)
    dx, dw, db = reference.conv2d_transpose_backward(dy, x, w, **kw)
    h = 1e-6
    for arr, grad in ((x, dx), (w, dw), (b, db)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + h
            plus = (reference.conv2d_transpose(x, w, b, **kw) * dy).sum()
            arr[idx] = orig - h
            minus = (reference.conv2d_transpose(x, w, b, **kw) * dy).sum()
            arr[idx] = orig
            numeric[idx] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_op_gradient_matches_finite_differences(rng):
    """The float32 op's own gradients, by central differences in float64 through the float32 forward."""
    x = rng.standard_normal((1, 3, 3, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    kw = geo(2, "valid", 1, 1)
    dy = rng.standard_normal(ops.conv2d_transpose(x, w, **kw).shape).astype(np.float32)
    dx, dw, _ = ops.conv2d_transpose_backward(dy, x, w, **kw)
    h = 1e-2
    for arr, grad in ((x, dx), (w, dw)):
        for idx in list(np.ndindex(arr.shape))[::3]:
            orig = arr[idx]
            arr[idx] = orig + h
            plus = float((ops.conv2d_transpose(x, w, **kw).astype(np.float64) * dy).sum())
            arr[idx] = orig - h
            minus = float((ops.conv2d_transpose(x, w, **kw).astype(np.float64) * dy).sum())
            arr[idx] = orig
            assert abs((plus - minus) / (2 * h) - grad[idx]) < 2e-3 * (1 + abs(grad[idx]))


def golden_cases(cls):
    data = np.load(GOLDEN)
    configs = json.loads(str(data["configs"]))
    return [(case, c["config"], data) for case, c in configs.items() if c["class_name"] == cls]


@pytest.mark.parametrize(
    "case,config,data", golden_cases("Conv2DTranspose"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_op_matches_keras(case, config, data):
    """Keras 3.15.1's Conv2DTranspose (JAX backend) on the same input and kernel."""
    x, w, y = data[f"{case}/x"], data[f"{case}/kernel"], data[f"{case}/y"]
    b = data[f"{case}/bias"] if f"{case}/bias" in data else None
    p = config["output_padding"]
    got = ops.conv2d_transpose(
        x,
        w,
        b,
        strides=tuple(config["strides"]),
        padding=config["padding"],
        output_padding=None if p is None else tuple(p),
        dilation_rate=tuple(config["dilation_rate"]),
    )
    if config["activation"] == "relu":
        got = np.maximum(got, 0)
    assert got.shape == y.shape
    np.testing.assert_allclose(got, y, rtol=1e-5, atol=1e-5)


X, W = np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 5, 2), np.float32)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: ops.conv2d_transpose(X[0], W), ValueError, r"conv2d_transpose: `x` must be 4-D \(N, H, W, C\)"),
        (
            lambda: ops.conv2d_transpose(X, W[0]),
            ValueError,
            r"conv2d_transpose: `w` must be 4-D \(KH, KW, filters, C\)",
        ),
        (
            lambda: ops.conv2d_transpose(X, np.ones((3, 3, 2, 5), np.float32)),
            ValueError,
            r"conv2d_transpose: `x` has 2 channels but `w` expects 5",
        ),
        (
            lambda: ops.conv2d_transpose(X, W, strides=0),
            ValueError,
            r"conv2d_transpose: `strides` must be a positive int",
        ),
        (lambda: ops.conv2d_transpose(X, W, strides=1.5), TypeError, r"conv2d_transpose: `strides` must be"),
        (
            lambda: ops.conv2d_transpose(X, W, padding="full"),
            ValueError,
            r"conv2d_transpose: `padding` must be 'valid' or 'same'",
        ),
        (
            lambda: ops.conv2d_transpose(X, W, strides=2, output_padding=2),
            ValueError,
            r"conv2d_transpose: `output_padding`=2 must be at least 0 and less than `strides`=\(2, 2\)",
        ),
        (lambda: ops.conv2d_transpose(X, W, output_padding=-1), ValueError, r"conv2d_transpose: `output_padding`=-1"),
        (
            lambda: ops.conv2d_transpose(X, W, output_padding="1"),
            TypeError,
            r"conv2d_transpose: `output_padding` must be",
        ),
        (
            lambda: ops.conv2d_transpose(
                np.ones((1, 1, 1, 2), np.float32), np.ones((2, 2, 5, 2), np.float32), padding="same", output_padding=0
            ),
            ValueError,
            r"conv2d_transpose: the output would be 0x0",
        ),
        (
            lambda: ops.conv2d_transpose(X, W, np.ones(2, np.float32)),
            ValueError,
            r"conv2d_transpose: `bias` must have shape \(5,\)",
        ),
        (lambda: ops.conv2d_transpose(X.astype(np.float64), W), TypeError, r"conv2d_transpose: `x` must be float32"),
        (
            lambda: ops.conv2d_transpose(X, W, variant="fast"),
            ValueError,
            r"conv2d_transpose: `variant`='fast' is not a variant of conv2d",
        ),
        (
            lambda: ops.conv2d_transpose(X, W, out=np.ones((1, 5, 5, 5), np.float32)),
            ValueError,
            r"conv2d_transpose: `out` must have shape \(1, 6, 6, 5\)",
        ),
        (
            lambda: ops.conv2d_transpose_backward(np.ones((1, 5, 5, 5), np.float32), X, W),
            ValueError,
            r"conv2d_transpose_backward: `dy` must have shape \(1, 6, 6, 5\)",
        ),
        (
            lambda: ops.conv2d_transpose_backward(np.ones((1, 6, 6, 5), np.float32), X, W, need_dx="no"),
            TypeError,
            r"conv2d_transpose_backward: `need_dx` must be True or False",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_out_and_needs(rng):
    """out= is written in place; results not needed are None; prepared plans run the same op."""
    x = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    kw = geo(2, "same", None, 1)
    y = ops.conv2d_transpose(x, w, **kw)
    out = np.full(y.shape, np.nan, np.float32)
    assert ops.conv2d_transpose(x, w, out=out, **kw) is out
    np.testing.assert_array_equal(out, y)
    plan = ops.conv2d_transpose.prepare(x, w, **kw)
    np.testing.assert_array_equal(plan(x, w), y)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, db = ops.conv2d_transpose_backward(dy, x, w, need_dx=False, need_db=False, **kw)
    assert dx is None and db is None
    np.testing.assert_allclose(dw, ops.conv2d_transpose_backward(dy, x, w, **kw)[1], rtol=1e-6)


# ---------------------------------------------------------------------------- the layer


@pytest.mark.parametrize(
    "case,config,data", golden_cases("Conv2DTranspose"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_layer_from_keras_config_matches_keras(case, config, data):
    """The layer rebuilt from Keras's own get_config(), given Keras's weights: same shape and values."""
    layer = layers.deserialize({"class_name": "Conv2DTranspose", "config": config})
    x, y = data[f"{case}/x"], data[f"{case}/y"]
    assert layer.ensure_built(x.shape[1:]) == y.shape[1:]
    layer.set_weights([data[f"{case}/kernel"]] + ([data[f"{case}/bias"]] if f"{case}/bias" in data else []))
    np.testing.assert_allclose(layer.forward(x), y, rtol=1e-5, atol=1e-5)
    mine = layer.get_config()
    for key in (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "output_padding",
        "dilation_rate",
        "activation",
        "use_bias",
    ):
        assert mine[key] == config[key], key


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_layer_backward_matches_reference(rng, backend, activation):
    layer = layers.Conv2DTranspose(3, (3, 2), strides=2, padding="same", output_padding=(1, 0), activation=activation)
    layer.ensure_built((4, 3, 2))
    layer.set_weights([rng.standard_normal((3, 2, 3, 2)).astype(np.float32), rng.standard_normal(3).astype(np.float32)])
    x = rng.standard_normal((2, 4, 3, 2)).astype(np.float32)
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    with on(backend):
        y = np.array(layer.forward(x, training=True))
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = np.array(layer.backward(dy))
    kw = geo(2, "same", (1, 0), 1)
    z = reference.conv2d_transpose(x.astype(np.float64), kernel, bias, **kw)
    want = {None: z, "relu": np.maximum(z, 0), "tanh": np.tanh(z)}[activation]
    dz = {None: dy, "relu": dy * (z > 0), "tanh": dy * (1 - np.tanh(z) ** 2)}[activation]
    assert y.shape == (2, 8, 4, 3)  # width: (3 - 1) * 2 + 2 % 2 + 0
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    rdx, rdw, rdb = reference.conv2d_transpose_backward(dz, x.astype(np.float64), kernel, **kw)
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.kernel.grad, rdw, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(layer.bias.grad, rdb, rtol=1e-4, atol=1e-3)


def _decoder():
    return sinapse.Sequential(
        [
            layers.Input((7, 7, 4)),
            layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
        ]
    )


def test_layer_trains_saves_and_loads(tmp_path):
    """A two-layer decoder learns to map codes to images; .sinapse and .keras files hold it."""
    sinapse.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 7, 7, 4)).astype(np.float32)
    y = (rng.random((32, 28, 28, 1)) > 0.5).astype(np.float32)
    model = _decoder()
    assert model.output_shape == (None, 28, 28, 1)
    model.compile("adam", "binary_crossentropy")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for name in ("m.sinapse", "m.keras"):
        if name.endswith(".keras"):
            pytest.importorskip("h5py")
        model.save(tmp_path / name)
        loaded = sinapse.models.load_model(tmp_path / name)
        assert type(loaded.layers[0]) is layers.Conv2DTranspose
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.skipif("cuda_sim" not in BACKENDS, reason="built without the CUDA simulator")
def test_layer_trains_the_same_on_the_simulator(rng):
    x = rng.standard_normal((4, 7, 7, 4)).astype(np.float32)
    y = rng.random((4, 28, 28, 1)).astype(np.float32)
    losses = []
    for backend in ("cpu", "cuda_sim"):
        sinapse.utils.set_random_seed(3)
        model = _decoder()
        model.compile("sgd", "mse")
        with on(backend) if backend == "cpu" else sinapse.cuda.simulate():
            losses.append(model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Conv2DTranspose(0, 3), r"^Conv2DTranspose: `filters` must be a positive integer"),
        (lambda: layers.Conv2DTranspose(2, 0), r"^Conv2DTranspose: `kernel_size` must be a positive int"),
        (
            lambda: layers.Conv2DTranspose(2, 3, padding="full"),
            r"^Conv2DTranspose: `padding` must be 'valid' or 'same'",
        ),
        (
            lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2),
            r"^Conv2DTranspose: `output_padding` must be None or an int or pair of ints from 0 to `strides` - 1",
        ),
        (lambda: layers.Conv2DTranspose(2, 3, output_padding=(0, 0, 0)), r"^Conv2DTranspose: `output_padding`"),
        (
            lambda: layers.Conv2DTranspose(2, 3, strides=2, dilation_rate=2),
            r"^Conv2DTranspose: `strides` > 1 together with `dilation_rate` > 1 is not supported",
        ),
        (
            lambda: layers.Conv2DTranspose(2, 3, data_format="channels_first"),
            r"^Conv2DTranspose: `data_format` must be",
        ),
        (lambda: layers.Conv2DTranspose(2, 3, activation="nope"), r"^Conv2DTranspose: `activation` must be one of"),
        (
            lambda: layers.Conv2DTranspose(2, 3, name="t").ensure_built((5, 5)),
            r"^Conv2DTranspose layer 't': expects images \(batch, height, width, channels\)",
        ),
    ],
)
def test_layer_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_layer_kernel_is_keras_layout():
    layer = layers.Conv2DTranspose(5, (3, 2))
    layer.ensure_built((4, 4, 3))
    assert layer.kernel.value.shape == (3, 2, 5, 3) and layer.bias.value.shape == (5,)
    assert layer.get_config()["output_padding"] is None
    assert layers.Conv2DTranspose(5, 3, strides=2, output_padding=1).get_config()["output_padding"] == [1, 1]
