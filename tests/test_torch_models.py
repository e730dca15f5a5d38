"""The PyTorch baselines (bench/suites/torch_models.py) match the seed-model specification
(docs/seed_models.md): parameter counts as Keras counts them, the output shape of each layer,
Keras initialisation, and working train/predict callables. Skipped without PyTorch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root holds bench/
from bench.suites import torch_models as tm  # noqa: E402

# From docs/seed_models.md (the seeds' and Keras's numbers).
PARAMS = {
    "mlp": 266_610,
    "keras_mnist_cnn": 34_826,
    "lenet5": 61_706,
    "geron_cnn": 1_413_834,
    "alexnet": 62_378_344,
    "char_lstm": 360_524,
}
# (C, H, W) after every conv / pooling layer, and the flattened size.
SHAPES = {
    "keras_mnist_cnn": [(32, 26, 26), (32, 13, 13), (64, 11, 11), (64, 5, 5), (1600,)],
    "lenet5": [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1), (120,)],
    "geron_cnn": [
        (64, 28, 28),
        (64, 14, 14),
        (128, 14, 14),
        (128, 14, 14),
        (128, 7, 7),
        (256, 7, 7),
        (256, 7, 7),
        (256, 3, 3),
        (2304,),
    ],
    "alexnet": [
        (96, 55, 55),
        (96, 27, 27),
        (256, 27, 27),
        (256, 13, 13),
        (384, 13, 13),
        (384, 13, 13),
        (256, 13, 13),
        (256, 6, 6),
        (9216,),
    ],
}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: tm.build_model(name) for name in tm.MODELS}


@pytest.mark.parametrize("name", tm.MODELS)
def test_parameter_count(models, name):
    assert tm.keras_param_count(models[name]) == PARAMS[name]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_layer_output_shapes(models, name):
    x, _ = tm.synthetic_batch(name, 1)
    shapes = []
    with torch.no_grad():
        for layer in models[name]:
            x = layer(x)
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.Flatten)):
                shapes.append(tuple(x.shape[1:]))
    assert shapes == SHAPES[name]


def test_keras_initialisation(models):
    conv = models["geron_cnn"][3]  # Conv2D 64 -> 128, 3x3: glorot bound sqrt(6 / (9*64 + 9*128))
    bound = np.sqrt(6 / (9 * 64 + 9 * 128))
    w = conv.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound and not conv.bias.detach().any()
    lstm = models["char_lstm"].lstm
    h = tm.CHAR_HIDDEN
    b = lstm.bias_ih_l0.detach().numpy()
    assert (b[h : 2 * h] == 1).all() and not b[:h].any() and not b[2 * h :].any() and not lstm.bias_hh_l0.detach().any()
    rec = lstm.weight_hh_l0.detach().numpy()  # (4h, h), orthonormal columns
    np.testing.assert_allclose(rec.T @ rec, np.eye(h), atol=1e-4)


@pytest.mark.parametrize("name, channels_last", [("mlp", False), ("lenet5", True), ("char_lstm", False)])
def test_train_step_lowers_the_loss_on_its_batch(name, channels_last):
    step = tm.torch_train_step(name, batch=16, channels_last=channels_last)
    first = float(step().detach())
    for _ in range(15):
        last = float(step().detach())
    assert last < first


def test_inference_returns_probabilities():
    p = tm.torch_inference("keras_mnist_cnn", batch=3, channels_last=True)()
    assert p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(1).numpy(), 1, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="channels_last applies to image models"):
        tm.torch_train_step("mlp", channels_last=True)
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        tm.torch_inference("vgg")


def test_fashion_split_follows_the_recipe():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (100, 28, 28), dtype=np.uint8)
    y = np.arange(100, dtype=np.uint8) % 10
    data = ((x, y), (x[:10], y[:10]))
    (xa, ya), (xv, yv), (xt, _) = tm.fashion_arrays("keras_mnist_cnn", data)  # validation_split=0.1: the last 10
    assert xa.shape == (90, 1, 28, 28) and xa.dtype == np.float32 and xa.max() <= 1.0
    np.testing.assert_array_equal(yv, y[90:])
    (xa, ya), (xv, yv), _ = tm.fashion_arrays("mlp", data)  # validation_data: the first 5000 (here all 100)
    assert len(xv) == 100 and len(xa) == 0


def test_char_windows_and_entropy():
    vocab, windows = tm.char_windows("abcab" * 50, seq=10, stride=7)
    assert vocab == ["a", "b", "c"] and windows.shape == (35, 11)  # starts 0, 7, ..., 238 (< 250 - 10)
    assert "".join(vocab[i] for i in windows[2]) == ("abcab" * 50)[14:25]
    p = np.array([0.4, 0.4, 0.2])
    assert tm.unigram_entropy("abcab") == pytest.approx(float(-(p * np.log(p)).sum()))


def test_adam_steps_as_keras():
    """make_optimizer's Adam follows Keras's formula (epsilon added before v's bias correction:
    sinapse.reference.optimizers.adam_update), not torch's own, which differs measurably for
    gradients near epsilon / sqrt(1 - beta_2^t) in the first steps."""
    from sinapse.reference.optimizers import adam_update

    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(64).astype(np.float32)
    scales = np.where(np.arange(64) % 2, 1e-6, 1e-2)  # half the gradients near Keras's step-1 epsilon 3.2e-6
    grads = [(rng.standard_normal(64) * scales).astype(np.float32) for _ in range(5)]
    layer = torch.nn.Linear(64, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w0[None]))
    opt = tm.make_optimizer("keras_mnist_cnn", layer)
    ref, m, v = w0.astype(np.float64), np.zeros(64), np.zeros(64)
    for t, g in enumerate(grads, 1):
        layer.weight.grad = torch.from_numpy(g[None].copy())
        opt.step()
        ref, m, v, _ = adam_update(ref, g.astype(np.float64), m, v, learning_rate=1e-3, step=t, epsilon=1e-7)
        np.testing.assert_allclose(layer.weight.detach().numpy()[0], ref, rtol=1e-6, atol=1e-7)  # float32 w
    plain = torch.nn.Parameter(torch.from_numpy(w0.copy()))  # torch's placement: another first step
    plain.grad = torch.from_numpy(grads[0].copy())
    torch_step = torch.optim.Adam([plain], lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    torch_step.step()
    keras_first = -1e-3 * grads[0] / (np.abs(grads[0]) + 1e-7 / np.sqrt(1 - 0.999))
    assert np.abs(plain.detach().numpy() - w0 - keras_first).max() > 1e-4


# --------------------------------------------------------------------------- issue 14's application twins

from bench.suites import torch_apps as ta  # noqa: E402


def _random_weights(model, seed=0):
    """Random weights for every layer, so a wrong copy shows: kernels N(0, 1 / fan_in) (the
    activations keep their scale through deep nets), vectors N(0, 0.3), moving variances in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            new = [
                rng.uniform(0.5, 1.5, w.shape)
                if "variance" in v.name
                else rng.normal(0, 1 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.3, w.shape)
                for w, v in zip(ws, layer.weights)
            ]
            layer.set_weights([a.astype(np.float32) for a in new])


def _same_function(sinapse_model, twin, shape, logits=False):
    """Copy the sinapse weights into the twin and compare the eval-mode outputs on one batch
    (probabilities, or logits when the sinapse model has no softmax), to 1e-4 of their scale."""
    _random_weights(sinapse_model)
    assert ta.copy_weights(sinapse_model, twin, to="torch") == len(twin.keras_layers)
    x = np.random.default_rng(1).standard_normal((2, *shape), dtype=np.float32)
    ours = sinapse_model.predict_on_batch(x)
    with torch.no_grad():
        theirs = twin.eval()(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
        theirs = (theirs if logits else torch.softmax(theirs, -1)).numpy()
    assert 0.02 < np.abs(theirs).max() < 1e3 and (logits or theirs.max() < 0.999)  # not saturated
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.parametrize("name, params", [("resnet50", 25_636_712), ("inception_v3", 23_851_784)])
def test_app_twin_parameter_counts_are_keras(name, params):
    """Keras's model.count_params() for ResNet50 and InceptionV3 at 1000 classes (no aux head)."""
    assert ta.param_count(ta.build_app(name)) == params


@pytest.mark.parametrize("size, kernel", [(7, (3, 3)), (8, (3, 3)), (9, (1, 7)), (8, (5, 5))])
def test_twin_same_padding_is_keras(size, kernel):
    """A strided "same" conv pads as TF/Keras (the extra row at the bottom), not as torch."""
    import sinapse

    conv = sinapse.layers.Conv2D(4, kernel, strides=2, padding="same")
    x = np.random.default_rng(0).standard_normal((1, size, size, 3), dtype=np.float32)
    ours = conv(x)
    nn, _, Conv, _ = ta._modules()
    twin = Conv(3, 4, kernel, 2, padding="same")
    k, b = conv.get_weights()
    with torch.no_grad():
        twin.conv.weight.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))
        twin.conv.bias.copy_(torch.from_numpy(b))
        theirs = twin(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_copy_weights_stand_in():
    """A stand-in for the applications (Sequential, no merge layer): cifar_resnet with 0 blocks is
    stem conv, BN, ReLU, global average pooling, Dense; the copy makes the two compute the same."""
    import sinapse
    from sinapse import layers

    model = sinapse.Sequential(
        [
            layers.Input(shape=(9, 9, 3)),
            layers.Conv2D(6, 3, padding="same"),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(5, activation="softmax"),
        ]
    )
    twin = ta.cifar_resnet((9, 9, 3), 5, widths=(6, 12, 24), blocks=0)
    _same_function(model, twin, (9, 9, 3))
    before = [w.copy() for w in model.get_weights()]
    _random_weights(model, seed=5)
    ta.copy_weights(model, twin, to="sinapse")  # back: the first weights again
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="copy_weights: sinapse layer"):
        ta.copy_weights(model, ta.cifar_resnet((9, 9, 3), 5, widths=(7, 12, 24), blocks=0))
    with pytest.raises(ValueError, match="pair_layers: the sinapse model has 3"):
        ta.copy_weights(model, ta.cifar_resnet((9, 9, 3), 5, blocks=1))


def test_app_train_step_and_inference():
    step = ta.app_train_step("resnet20", batch=4, channels_last=True)
    first = float(step().detach())
    for _ in range(5):
        last = float(step().detach())
    assert last < first
    p = ta.app_inference("resnet20", batch=2)()
    assert p.shape == (2, 10)
    with pytest.raises(ValueError, match="build_app: unknown application 'vgg16'"):
        ta.build_app("vgg16")


def _functional_api():
    import sinapse

    if not hasattr(sinapse, "Model") or not hasattr(sinapse.layers, "Add"):
        pytest.skip("sinapse has no functional API / merge layers yet")
    return sinapse


def test_fashion_resnet_twins_compute_the_same_function():
    """tools/train_resnet_fashion.py's sinapse model and its torch twin (same recipe in both)."""
    _functional_api()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import train_resnet_fashion as trf

    model = trf.build_sinapse((12, 12, 1), 10, widths=(4, 8, 8), blocks=2)
    _same_function(model, ta.cifar_resnet((12, 12, 1), 10, widths=(4, 8, 8), blocks=2), (12, 12, 1))


@pytest.mark.parametrize(
    "name, builder, shape",
    [
        ("resnet20", "ResNet20", (16, 16, 3)),
        ("resnet50", "ResNet50", (32, 32, 3)),
        ("inception_v3", "InceptionV3", (75, 75, 3)),
    ],
)
def test_applications_twins_compute_the_same_function(name, builder, shape):
    """sinapse.applications' model and the twin agree once the weights are copied (small inputs, 7 classes)."""
    _functional_api()
    from sinapse import applications

    if not hasattr(applications, builder):
        pytest.skip(f"sinapse.applications has no {builder} yet")
    model = getattr(applications, builder)(weights=None, input_shape=shape, classes=7, classifier_activation=None)
    _same_function(model, ta.build_app(name, shape, 7), shape, logits=True)
