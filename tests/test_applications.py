"""sinapse.applications: Keras's architectures (VGG16/19, ResNet50/101/152, InceptionV3), the CIFAR
ResNets and the ImageNet helpers, against golden data recorded from real Keras 3.15.1
(tools/keras_application_specs.py -> tests/data/keras/applications_specs.json and
applications_fingerprints.npz).

The builders need the functional API (sinapse.Model) and the merge layers (Add, Concatenate);
their tests skip while those are missing. The big models are built once per module; VGG16/19
with the top (0.55 GB of weights each) only when the machine has the memory.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

import sinapse
from sinapse import applications, layers
from sinapse.applications import imagenet_utils

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "keras"
SPECS = json.loads((DATA / "applications_specs.json").read_text())["models"]


def _tool():
    """tools/keras_application_specs.py (fingerprint_weight, fingerprint_input): NumPy only at import."""
    spec = importlib.util.spec_from_file_location(
        "keras_application_specs", ROOT / "tools" / "keras_application_specs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
ENGINE = hasattr(sinapse, "Model") and hasattr(layers, "Add") and hasattr(layers, "Concatenate")
needs_engine = pytest.mark.skipif(not ENGINE, reason="needs sinapse.Model and the merge layers (issue 14)")


def _needs(builder: str) -> None:
    """Skip unless the engine can build ``builder``: VGG needs sinapse.Model, the rest merge layers too."""
    if not hasattr(sinapse, "Model"):
        pytest.skip("needs sinapse.Model (issue 14)")
    if not builder.startswith("VGG") and not ENGINE:
        pytest.skip("needs the merge layers Add and Concatenate (issue 14)")


def _available_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) / 2**20
    except (OSError, KeyError, ValueError):
        return 0.0


def _build(name):
    spec = SPECS[name]
    _needs(spec["builder"])
    kwargs = {k: tuple(v) if k == "input_shape" else v for k, v in spec["kwargs"].items()}
    return getattr(applications, spec["builder"])(**kwargs)


_MODELS: dict = {}


def _model(name):
    """The sinapse model of spec ``name``, built once per test module."""
    _needs(SPECS[name]["builder"])
    if name not in _MODELS:
        _MODELS[name] = _build(name)
    return _MODELS[name]


def _count(model) -> tuple[int, int]:
    total = sum(int(np.prod(w.shape)) for w in model.get_weights())
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return total, trainable


# ----------------------------------------------------------------------------- the package


def test_the_seed_models_are_still_exported():
    assert set(applications.BUILDERS) == {"mlp", "keras_mnist_cnn", "lenet5", "geron_cnn", "alexnet"}
    assert applications.build("mlp").count_params() == 266_610
    assert applications.RECIPES["keras_mnist_cnn"].compile_args()["optimizer"] == "adam"
    assert applications.mlp is applications.seeds.mlp and applications.Recipe is applications.seeds.Recipe


def test_keras_submodules():
    from sinapse.applications.inception_v3 import InceptionV3
    from sinapse.applications.resnet50 import ResNet50
    from sinapse.applications.vgg16 import VGG16

    assert (VGG16, ResNet50, InceptionV3) == (applications.VGG16, applications.ResNet50, applications.InceptionV3)
    assert applications.vgg19.VGG19 is applications.VGG19
    x = np.full((1, 2, 2, 3), 127.5, np.float32)
    assert np.allclose(applications.inception_v3.preprocess_input(x.copy()), 0.0)
    caffe = applications.imagenet_utils.preprocess_input(x.copy(), mode="caffe")
    for module in (applications.vgg16, applications.vgg19, applications.resnet50, applications.resnet):
        np.testing.assert_array_equal(module.preprocess_input(x.copy()), caffe)


# ------------------------------------------------------------------------ preprocess_input


def test_preprocess_caffe_is_bgr_minus_the_imagenet_means(rng):
    x = rng.uniform(0, 255, (2, 4, 5, 3)).astype(np.float32)
    want = x[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)
    got = imagenet_utils.preprocess_input(x.copy(), mode="caffe")
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == np.float32 and got.shape == x.shape
    # channels first: the channel axis is 0 for one image, 1 for a batch
    first = imagenet_utils.preprocess_input(np.moveaxis(x, -1, 1).copy(), data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), want, rtol=1e-6)
    one = imagenet_utils.preprocess_input(np.moveaxis(x[0], -1, 0).copy(), data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(one, 0, -1), want[0], rtol=1e-6)


def test_preprocess_tf_and_torch(rng):
    x = rng.uniform(0, 255, (3, 2, 2, 3))
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x.copy(), mode="tf"), x / 127.5 - 1, rtol=1e-12)
    want = (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x.copy(), mode="torch"), want, rtol=1e-12)


def test_preprocess_writes_over_float_arrays_and_converts_the_rest():
    x = np.full((1, 1, 1, 3), 255.0, np.float32)
    imagenet_utils.preprocess_input(x, mode="tf")
    assert x[0, 0, 0, 0] == 1.0  # in place, as Keras
    ints = np.full((1, 1, 3), 255, np.uint8)
    out = imagenet_utils.preprocess_input(ints, mode="tf")
    assert out.dtype == np.float32 and ints[0, 0, 0] == 255
    assert imagenet_utils.preprocess_input([[[0, 0, 0]]], mode="tf").tolist() == [[[-1.0, -1.0, -1.0]]]


def test_preprocess_errors():
    with pytest.raises(ValueError, match="preprocess_input: `mode` must be .* got mode='bgr'"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), mode="bgr")
    with pytest.raises(ValueError, match="`data_format` must be .* got 'NHWC'"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), data_format="NHWC")
    with pytest.raises(ValueError, match=r"3 colour channels .* shape \(1, 2, 2, 4\)"):
        applications.vgg16.preprocess_input(np.zeros((1, 2, 2, 4)))


# ------------------------------------------------------------------------ decode_predictions


def _class_index(path: Path, classes=1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({str(i): [f"n{i:08d}", f"class_{i}"] for i in range(classes)}))
    return path


def test_decode_predictions_from_a_file(tmp_path, rng):
    path = _class_index(tmp_path / "index.json")
    preds = rng.uniform(0, 1, (2, 1000)).astype(np.float32)
    preds[0, 7], preds[0, 3], preds[1, 999] = 5.0, 4.0, 9.0
    out = imagenet_utils.decode_predictions(preds, top=3, class_index_path=path)
    assert len(out) == 2 and [len(r) for r in out] == [3, 3]
    assert out[0][0] == ("n00000007", "class_7", np.float32(5.0)) and out[0][1][:2] == ("n00000003", "class_3")
    assert out[1][0][1] == "class_999"
    scores = [s for _, _, s in out[1]]
    assert scores == sorted(scores, reverse=True) and scores[1:] == sorted(preds[1], reverse=True)[1:3]
    assert applications.resnet50.decode_predictions(preds, top=1, class_index_path=str(path))[0][0][1] == "class_7"


def test_decode_predictions_finds_kerass_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    _class_index(tmp_path / "kh" / "models" / "imagenet_class_index.json")
    preds = np.eye(1000, dtype=np.float32)[[42]]
    assert applications.inception_v3.decode_predictions(preds, top=2)[0][0] == ("n00000042", "class_42", 1.0)


def test_decode_predictions_without_an_index_says_where_to_put_it(tmp_path, monkeypatch):
    if Path("/tmp/.keras/models/imagenet_class_index.json").exists():
        pytest.skip("Keras's /tmp cache holds a class index")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="cannot be downloaded") as info:
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
    message = str(info.value)
    assert str(tmp_path / "kh" / "models" / "imagenet_class_index.json") in message
    assert "class_index_path=" in message and imagenet_utils.CLASS_INDEX_URL in message


def test_decode_predictions_errors(tmp_path):
    path = _class_index(tmp_path / "index.json")
    with pytest.raises(ValueError, match=r"2-D array .* shape \(1000,\)"):
        imagenet_utils.decode_predictions(np.zeros(1000), class_index_path=path)
    with pytest.raises(ValueError, match=r"shape \(2, 10\) has 10 classes, the class index 1000"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)), class_index_path=path)
    with pytest.raises(ValueError, match="`top` must be a positive int, got 0"):
        imagenet_utils.decode_predictions(np.zeros((2, 1000)), top=0, class_index_path=path)
    with pytest.raises(FileNotFoundError, match="`class_index_path` .*nope.json"):
        imagenet_utils.decode_predictions(np.zeros((2, 1000)), class_index_path=tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"0": "tench"}')
    with pytest.raises(ValueError, match=r"\[wordnet_id, name\] pairs"):
        imagenet_utils.decode_predictions(np.zeros((2, 1)), class_index_path=tmp_path / "bad.json")


# ------------------------------------------------------------------------ argument checks
# (all before anything is built: no engine needed)


@pytest.mark.parametrize("builder", ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "InceptionV3"])
def test_imagenet_weights_cannot_be_downloaded(builder, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    stem = {"InceptionV3": "inception_v3"}.get(builder, builder.lower())
    if Path(f"/tmp/.keras/models/{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5").exists():
        pytest.skip("Keras's /tmp cache holds the file")
    with pytest.raises(ValueError, match=f"{builder}: weights='imagenet' cannot be downloaded") as info:
        getattr(applications, builder)(weights="imagenet", include_top=False)
    assert f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(info.value)
    assert "weights='path/to/" in str(info.value) and str(tmp_path / "kh" / "models") in str(info.value)


def test_builder_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"VGG16: `weights` must be .* no file at weights='.*missing.h5'"):
        applications.VGG16(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(TypeError, match="ResNet50: `weights` must be None, 'imagenet' or the path"):
        applications.ResNet50(weights=3)
    with pytest.raises(
        ValueError, match="InceptionV3: with weights='imagenet' and include_top=True `classes` must be 1000"
    ):
        applications.InceptionV3(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="VGG19: `pooling` must be None, 'avg' or 'max', got pooling='mean'"):
        applications.VGG19(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match=r"ResNet50: images must be at least 32x32, got input_shape=\(16, 16, 3\)"):
        applications.ResNet50(include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="InceptionV3: images must be at least 75x75"):
        applications.InceptionV3(include_top=False, input_shape=(74, 80, 3))
    with pytest.raises(ValueError, match=r"VGG16: `input_shape` must be \(height, width, channels\)"):
        applications.VGG16(include_top=False, input_shape=(32, 32))
    # Keras builds these for any image size (None, None, 3); sinapse needs the size
    with pytest.raises(ValueError, match=r"InceptionV3: .* give `input_shape`, e.g. input_shape=\(299, 299, 3\)"):
        applications.InceptionV3(include_top=False)
    with pytest.raises(ValueError, match=r"VGG16: .* \(got input_shape=\(None, 64, 3\)\)"):
        applications.VGG16(include_top=False, input_shape=(None, 64, 3))
    with pytest.raises(ValueError, match="`classes` must be a positive int, got classes=0"):
        applications.ResNet20(classes=0)
    with pytest.raises(ValueError, match=r"resnet_cifar\(depth=21\): `depth` must be 6n \+ 2"):
        applications.resnet_cifar(21)
    with pytest.raises(TypeError, match="ResNet20: `input_tensor` must be a symbolic tensor .* got ndarray"):
        applications.ResNet20(input_tensor=np.zeros((1, 32, 32, 3)))
    with pytest.raises(ValueError, match="ResNet20: there are no published ImageNet weights"):
        applications.ResNet20(weights="imagenet")


def test_pretrained_weights_allow_only_softmax_or_logits(tmp_path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"")
    with pytest.raises(ValueError, match="VGG16: with pretrained weights `classifier_activation` must be None or"):
        applications.VGG16(weights=str(weights), classifier_activation="sigmoid")


def test_obtain_input_shape_follows_keras():
    shape = imagenet_utils.obtain_input_shape
    assert shape(None, 224, 32, require_flatten=True) == (224, 224, 3)
    assert shape(None, 224, 32, require_flatten=False) == (None, None, 3)
    assert shape((64, 48, 3), 224, 32, require_flatten=False) == (64, 48, 3)
    assert shape(None, 299, 75, require_flatten=True, weights="imagenet") == (299, 299, 3)
    with pytest.raises(
        ValueError, match=r"with include_top=True and ImageNet weights `input_shape` must be \(224, 224, 3\)"
    ):
        shape((64, 64, 3), 224, 32, require_flatten=True, weights="imagenet")
    with pytest.raises(ValueError, match="ImageNet weights need 3 input channels"):
        shape((64, 64, 1), 224, 32, require_flatten=False, weights="imagenet")
    with pytest.raises(ValueError, match="with include_top=True give a fixed `input_shape`"):
        shape((None, 64, 3), 224, 32, require_flatten=True)
    with pytest.warns(UserWarning, match="1 or 3 input channels"):
        shape((64, 64, 5), 224, 32, require_flatten=False)


# ------------------------------------------------------------------------ against Keras


def _rows(model, spec):
    """(sinapse's rows, Keras's rows) of [name, class, output shape, [[weight, shape], ...]] per layer,
    in model.layers order; the InputLayer's rows apart (a model.layers may leave it out)."""
    got = [
        [layer.name, type(layer).__name__, list(layer.output_shape), [[w.name, list(w.shape)] for w in layer.weights]]
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    ]
    return got, [row for row in spec["layers"] if row[1] != "InputLayer"]


def _check_layers(model, spec):
    """Every Keras layer is here under its name with its class, output shape and weights."""
    got, want = _rows(model, spec)
    by_name = {row[0]: row for row in got}
    assert len(by_name) == len(got) and sorted(by_name) == sorted(row[0] for row in want), "not Keras's layer names"
    for row in want:
        assert by_name[row[0]] == row, f"layer {row[0]!r}: sinapse {by_name[row[0]][1:]}, Keras {row[1:]}"


def _check_order(model, spec):
    """model.layers in Keras's order (by depth from the outputs, then creation: keras/src/ops/function.py
    map_graph), which is get_weights's order and the order a legacy .h5 file's layers load in."""
    got, want = _rows(model, spec)
    names, keras_names = [row[0] for row in got], [row[0] for row in want]
    first = next((i for i, (a, b) in enumerate(zip(names, keras_names)) if a != b), None)
    assert names == keras_names, (
        f"layer {first}: sinapse {names[first : first + 4]}, Keras {keras_names[first : first + 4]}"
    )


# every recorded layer list but the VGGs with their 0.5 GB top
CHEAP_SPECS = [n for n, s in SPECS.items() if "layers" in s and n not in ("VGG16", "VGG19")]


@pytest.mark.parametrize("name", CHEAP_SPECS)
def test_layers_names_shapes_and_weights_match_keras(name):
    model = _model(name)
    spec = SPECS[name]
    assert _count(model) == (spec["params"], spec["trainable"])
    assert model.count_params() == spec["params"]
    assert list(model.outputs[0].shape[1:]) == spec["output_shape"]
    _check_layers(model, spec)


@pytest.mark.parametrize("name", CHEAP_SPECS)
def test_layer_and_weight_order_is_kerass(name):
    _check_order(_model(name), SPECS[name])


@pytest.mark.parametrize("name", ["ResNet101", "ResNet152", "ResNet20_28x28x1", "VGG19_notop_48"])
def test_parameter_counts_match_keras(name):
    model = _build(name)
    assert _count(model) == (SPECS[name]["params"], SPECS[name]["trainable"])
    assert list(model.outputs[0].shape[1:]) == SPECS[name]["output_shape"]


@pytest.mark.parametrize("name", ["VGG16", "VGG19"])
def test_vgg_with_the_top_matches_keras(name):
    if _available_gb() < 3:
        pytest.skip("VGG with its top holds 0.55 GB of weights; less than 3 GB of memory is free")
    model = _build(name)
    assert model.count_params() == SPECS[name]["params"]
    _check_layers(model, SPECS[name])
    _check_order(model, SPECS[name])
    del model


def _set_fingerprint_weights(model):
    for layer in model.layers:
        ws = layer.weights
        if ws:
            layer.set_weights([TOOL.fingerprint_weight(layer.name, i, w.name, w.shape) for i, w in enumerate(ws)])


@pytest.mark.parametrize(
    "name",
    ["VGG16_notop_32", "ResNet50_notop_64", "InceptionV3_logits_75", "ResNet20_logits_32", "MobileNet_a025_logits_64"],
)
def test_predictions_match_keras(name):
    """Same weights (by layer name) and the same seeded batch: Keras's predictions to 1e-4."""
    spec = SPECS[name + "@fingerprint"]
    _needs(spec["builder"])
    kwargs = {k: tuple(v) if k == "input_shape" else v for k, v in spec["kwargs"].items()}
    model = getattr(applications, spec["builder"])(**kwargs)
    _set_fingerprint_weights(model)
    x = TOOL.fingerprint_input(tuple(model.inputs[0].shape[1:]), spec["batch"], spec["seed"])
    want = np.load(DATA / "applications_fingerprints.npz")[name]
    got = np.asarray(model.predict(x, batch_size=spec["batch"], verbose=0))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


# ------------------------------------------------------------------------ the CIFAR ResNets


@needs_engine
def test_resnet20_trains_on_fashion_mnist_shaped_images(rng):
    model = applications.ResNet20(input_shape=(28, 28, 1))
    assert model.count_params() == 274_154 and model.name == "resnet20"
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((8, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    before = [np.array(w.value) for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    # every trainable weight got a gradient (through both branches of every Add)
    unchanged = [w.name for w, b in zip(model.trainable_weights, before) if np.array_equal(np.asarray(w.value), b)]
    assert not unchanged


@needs_engine
def test_resnet_cifar_depths():
    m32 = applications.resnet_cifar(32, include_top=False, pooling="avg")
    assert m32.name == "resnet32" and list(m32.outputs[0].shape[1:]) == [64]
    # 6n + 2 layers with weights besides BatchNormalization (n = 5): conv1, 2n per stage, the classifier
    convs = [layer for layer in m32.layers if type(layer).__name__ == "Conv2D" and not layer.name.endswith("_0_conv")]
    assert len(convs) == 31
    assert applications.resnet_cifar(8).count_params() < applications.ResNet20().count_params()


# ------------------------------------------------------------------------ inputs and weights


@needs_engine
def test_input_tensor_becomes_the_models_input():
    t = sinapse.Input(shape=(32, 32, 3))
    model = applications.VGG16(include_top=False, input_tensor=t, pooling="max")
    assert model.inputs[0] is t and list(model.outputs[0].shape[1:]) == [512]
    # a tensor computed from an input: the model starts at that input (Keras's get_source_inputs)
    x = sinapse.Input(shape=(28, 28, 1))
    y = layers.Activation("linear", name="pre")(x)
    model = applications.ResNet20(input_tensor=y)
    assert model.inputs[0] is x and model.get_layer("pre") is not None


@needs_engine
def test_weights_path_loads_with_load_weights(tmp_path):
    first = applications.ResNet20(input_shape=(28, 28, 1), classes=3)
    path = tmp_path / "resnet20.weights.h5"
    first.save_weights(os.fspath(path))
    second = applications.ResNet20(input_shape=(28, 28, 1), classes=3, weights=os.fspath(path))
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_inception_names_do_not_depend_on_what_was_built_before():
    names = applications._common.KerasNames()
    assert [names("conv2d"), names("conv2d"), names("activation"), names("conv2d")] == [
        "conv2d",
        "conv2d_1",
        "activation",
        "conv2d_2",
    ]


# ------------------------------------------------------------------------ Keras's published files


def _keras2_name(name: str) -> str:
    """Keras 2.0's automatic names counted from 1 (conv2d_1 for Keras 3's conv2d, conv2d_2 for
    conv2d_1): the names in the InceptionV3 file Keras publishes, which Keras loads by order."""
    base, _, k = name.rpartition("_")
    if base in ("conv2d", "batch_normalization", "activation", "max_pooling2d", "average_pooling2d", "concatenate"):
        return f"{base}_{int(k) + 1}"
    if name in ("conv2d", "batch_normalization", "activation", "max_pooling2d", "average_pooling2d", "concatenate"):
        return f"{name}_1"
    return name


def _needs_keras_h5(tmp_path):
    """Skip unless model.save_weights / load_weights speak Keras's HDF5 (h5py, models/keras_files.py)."""
    h5py = pytest.importorskip("h5py")
    probe = sinapse.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    probe.save_weights(str(tmp_path / "probe.h5"))
    if not h5py.is_hdf5(tmp_path / "probe.h5"):
        pytest.skip("model.load_weights does not read Keras .h5 files yet")


def _write_keras2_h5(path, spec_rows, rename):
    """A Keras 2 weights file as Keras published its ImageNet ones (root layer_names, one group
    per layer with weight_names "<layer>/<weight>:0"), the fingerprint values of Keras's layers."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([rename(row[0]).encode() for row in spec_rows])
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.0.8"
        for name, _, _, weights in spec_rows:
            group = f.create_group(rename(name))
            names = [f"{rename(name)}/{w}:0" for w, _ in weights]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for i, ((w, shape), n) in enumerate(zip(weights, names)):
                group.create_dataset(n, data=TOOL.fingerprint_weight(name, i, w, shape))


@pytest.mark.parametrize(
    "fingerprint, layers_of",
    [("ResNet20_logits_32", "ResNet20"), ("InceptionV3_logits_75", "InceptionV3_notop_avg_75")],
)
def test_a_keras2_weights_file_loads_by_layer_order(fingerprint, layers_of, tmp_path):
    """weights=path: a file in the layout of Keras's published ImageNet weights (InceptionV3's with
    Keras 2.0's names) loads by layer order and predicts Keras's numbers."""
    spec = SPECS[fingerprint + "@fingerprint"]
    _needs(spec["builder"])
    _needs_keras_h5(tmp_path)
    kwargs = {k: tuple(v) if k == "input_shape" else v for k, v in spec["kwargs"].items()}
    rows = [row for row in SPECS[layers_of]["layers"] if row[3]]
    if spec["builder"] == "InceptionV3":  # the 10-class top of the fingerprint, after the shared layers
        rows.append(["predictions", "Dense", [10], [["kernel", [2048, 10]], ["bias", [10]]]])
    path = tmp_path / "weights.h5"
    _write_keras2_h5(path, rows, _keras2_name)
    model = getattr(applications, spec["builder"])(weights=str(path), **kwargs)
    x = TOOL.fingerprint_input(tuple(model.inputs[0].shape[1:]), spec["batch"], spec["seed"])
    want = np.load(DATA / "applications_fingerprints.npz")[fingerprint]
    got = np.asarray(model.predict(x, batch_size=spec["batch"], verbose=0))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


@needs_engine
def test_a_frozen_application_as_the_base_of_a_new_model(rng):
    """Keras's transfer-learning pattern: the application as a layer, frozen, under a new head."""
    base = applications.ResNet20(include_top=False, pooling="avg", input_shape=(32, 32, 3))
    base.trainable = False
    inputs = sinapse.Input(shape=(32, 32, 3))
    outputs = layers.Dense(3, activation="softmax", name="head")(base(inputs))
    model = sinapse.Model(inputs, outputs)
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    frozen = [np.array(w) for w in base.get_weights()]
    head = [np.array(w) for w in model.get_layer("head").get_weights()]
    model.train_on_batch(rng.standard_normal((4, 32, 32, 3)).astype(np.float32), np.array([0, 1, 2, 0]))
    for a, b in zip(frozen, base.get_weights()):  # moving statistics too: a frozen BatchNormalization infers
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head[0], model.get_layer("head").get_weights()[0])


# ------------------------------------------------------------------------ MobileNet


def test_mobilenet_argument_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ValueError, match=r"MobileNet: `alpha` must be a number in \(0, 16\], got alpha=0"):
        applications.MobileNet(alpha=0)
    with pytest.raises(
        ValueError, match="MobileNet: `depth_multiplier` must be a positive int, got depth_multiplier=1.5"
    ):
        applications.MobileNet(depth_multiplier=1.5)
    with pytest.raises(ValueError, match=r"MobileNet: `dropout` must be a number in \[0, 1\)"):
        applications.MobileNet(dropout=1.0)
    with pytest.raises(ValueError, match="MobileNet: with weights='imagenet' `depth_multiplier` must be 1, got 2"):
        applications.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="MobileNet: with weights='imagenet' `alpha` must be 0.25, 0.5, 0.75 or 1.0"):
        applications.MobileNet(weights="imagenet", alpha=0.3)
    if not Path("/tmp/.keras/models/mobilenet_5_0_160_tf_no_top.h5").exists():
        with pytest.raises(ValueError, match="MobileNet: weights='imagenet' cannot be downloaded") as info:
            applications.MobileNet(weights="imagenet", alpha=0.5, include_top=False, input_shape=(160, 160, 3))
        assert "keras-applications/mobilenet/mobilenet_5_0_160_tf_no_top.h5" in str(info.value)


def test_mobilenet_preprocessing_and_default_name():
    x = np.array([[[[0.0, 127.5, 255.0]]]], np.float32)
    np.testing.assert_allclose(applications.mobilenet.preprocess_input(x.copy()), [[[[-1.0, 0.0, 1.0]]]])
    model = applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), include_top=False, pooling="max")
    assert model.name == "mobilenet_0.25_128"
    assert model.outputs[0].shape[1:] == (256,)


@needs_engine
def test_mobilenet_trains(rng):
    """A small MobileNet takes a few SGD steps: the depthwise, BatchNormalization and ReLU(6) backward passes."""
    model = applications.MobileNet(alpha=0.25, input_shape=(32, 32, 3), classes=4, dropout=0.0)
    model.compile(sinapse.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    x = rng.standard_normal((16, 32, 32, 3)).astype(np.float32)
    y = np.arange(16) % 4
    first = model.train_on_batch(x, y)
    for _ in range(15):
        last = model.train_on_batch(x, y)
    assert np.isfinite(last) and last < first
