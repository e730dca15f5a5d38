"""Record real Keras's applications as golden data for tests/test_applications.py.

Run once, in a venv with Keras (nothing of sinapse is imported):

    KERAS_BACKEND=jax /work/kenv/bin/python tools/keras_application_specs.py [--only NAME ...]

writes
- tests/data/keras/applications_specs.json: for each application (weights=None), its parameter
  counts and, per layer in ``model.layers`` order, [name, class, output shape without the
  batch axis, [[weight name, weight shape], ...]];
- tests/data/keras/applications_fingerprints.npz: for a few cheap configurations, the
  predictions of a seeded input batch after every weight is set by ``fingerprint_weight``
  (keyed by layer name and weight position, so the same values reach the same weights in
  any framework whatever order it lists them in).

Each model is built after ``keras.backend.clear_session()``: the automatic names of
InceptionV3's layers (conv2d_17, ...) are those of a fresh process. ResNet20 has no Keras
application; ``keras_resnet20`` builds the same network as sinapse.applications.ResNet20
with Keras's layers (He et al. 2016's CIFAR net, projection shortcuts as Keras's
cifar10_resnet.py example) to check sinapse's graph and count against Keras's arithmetic.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np

SEED = 1234
OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "keras"

# name -> (builder, keyword arguments, record every layer?)
SPECS = {
    "VGG16": ("VGG16", {}, True),
    "VGG16_notop_avg_32": ("VGG16", {"include_top": False, "input_shape": (32, 32, 3), "pooling": "avg"}, True),
    "VGG19": ("VGG19", {}, True),
    "VGG19_notop_48": ("VGG19", {"include_top": False, "input_shape": (48, 48, 3)}, False),
    "ResNet50": ("ResNet50", {}, True),
    "ResNet50_notop_max_64": ("ResNet50", {"include_top": False, "input_shape": (64, 64, 3), "pooling": "max"}, True),
    "ResNet101": ("ResNet101", {}, False),
    "ResNet152": ("ResNet152", {}, False),
    "InceptionV3": ("InceptionV3", {}, True),
    "InceptionV3_notop_avg_75": (
        "InceptionV3",
        {"include_top": False, "input_shape": (75, 75, 3), "pooling": "avg"},
        True,
    ),
    "ResNet20": ("ResNet20", {}, True),
    "ResNet20_28x28x1": ("ResNet20", {"input_shape": (28, 28, 1)}, False),
    "MobileNet": ("MobileNet", {}, True),
    "MobileNet_notop_avg_a050_dm2_96": (
        "MobileNet",
        {"include_top": False, "alpha": 0.5, "depth_multiplier": 2, "input_shape": (96, 96, 3), "pooling": "avg"},
        True,
    ),
}

# name -> (builder, keyword arguments, batch size); inputs from np.random.default_rng(SEED)
FINGERPRINTS = {
    "VGG16_notop_32": ("VGG16", {"include_top": False, "input_shape": (32, 32, 3)}, 2),
    "ResNet50_notop_64": ("ResNet50", {"include_top": False, "input_shape": (64, 64, 3)}, 2),
    "InceptionV3_logits_75": (
        "InceptionV3",
        {"input_shape": (75, 75, 3), "include_top": True, "classifier_activation": None, "classes": 10},
        2,
    ),
    "ResNet20_logits_32": ("ResNet20", {"classifier_activation": None}, 2),
    "MobileNet_a025_logits_64": (
        "MobileNet",
        {"alpha": 0.25, "input_shape": (64, 64, 3), "classes": 10, "classifier_activation": None},
        2,
    ),
}


def fingerprint_weight(layer_name: str, index: int, weight_name: str, shape, seed: int = SEED) -> np.ndarray:
    """The value the fingerprint gives weight ``index`` (``weight_name``) of layer ``layer_name``.

    Kernels: normal with He's scale sqrt(2 / fan_in) (fan_in = every axis but the last), so
    activations neither vanish nor explode through 100 layers; BatchNormalization's gamma and
    moving variance uniform in [0.5, 1.5]; biases, beta and moving means uniform in [-0.1, 0.1].
    float32.
    """
    rng = np.random.default_rng([seed, zlib.crc32(layer_name.encode()), index])
    shape = tuple(int(d) for d in shape)
    if weight_name == "kernel":
        fan_in = int(np.prod(shape[:-1])) or 1
        value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif weight_name in ("gamma", "moving_variance"):
        value = rng.uniform(0.5, 1.5, shape)
    else:
        value = rng.uniform(-0.1, 0.1, shape)
    return value.astype(np.float32)


def fingerprint_input(shape, batch: int, seed: int = SEED) -> np.ndarray:
    """The fingerprint's input batch: (batch, *shape) standard normal, float32."""
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype(np.float32)


def keras_resnet20(keras, input_shape=(32, 32, 3), classes=10, classifier_activation="softmax"):
    """He et al.'s ResNet20 in Keras, as sinapse.applications.resnet builds it (same names)."""
    layers = keras.layers

    def conv_bn(x, filters, stride, name, relu=True):
        x = layers.Conv2D(
            filters, 3, strides=stride, padding="same", kernel_initializer="he_normal", name=f"{name}_conv"
        )(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.Activation("relu", name=f"{name}_relu")(x) if relu else x

    inputs = layers.Input(shape=input_shape)
    x = conv_bn(inputs, 16, 1, "conv1")
    for stage, filters in enumerate((16, 32, 64), start=2):
        for block in range(1, 4):
            name, stride = f"conv{stage}_block{block}", (2 if stage > 2 and block == 1 else 1)
            shortcut = x
            if stride != 1 or x.shape[-1] != filters:
                shortcut = layers.Conv2D(
                    filters, 1, strides=stride, kernel_initializer="he_normal", name=f"{name}_0_conv"
                )(x)
            y = conv_bn(x, filters, stride, f"{name}_1")
            y = conv_bn(y, filters, 1, f"{name}_2", relu=False)
            y = layers.Add(name=f"{name}_add")([shortcut, y])
            x = layers.Activation("relu", name=f"{name}_out")(y)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name="resnet20")


def _build(keras, builder, kwargs):
    keras.backend.clear_session()
    if builder == "ResNet20":
        return keras_resnet20(keras, **kwargs)
    return getattr(keras.applications, builder)(weights=None, **kwargs)


def _spec(model, every_layer):
    spec = {
        "params": int(model.count_params()),
        "trainable": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "output_shape": list(model.output.shape[1:]),
    }
    if every_layer:
        spec["layers"] = [
            [
                layer.name,
                type(layer).__name__,
                list(layer.output.shape[1:]),
                [[w.name, list(w.shape)] for w in layer.weights],
            ]
            for layer in model.layers
        ]
    return spec


def main() -> int:
    """``--only NAME ...`` records those entries and keeps the others from the existing files."""
    import keras

    only = set(sys.argv[sys.argv.index("--only") + 1 :]) if "--only" in sys.argv else None
    specs, prints = {}, {}
    if only is not None:
        specs = json.loads((OUT / "applications_specs.json").read_text())["models"]
        prints = dict(np.load(OUT / "applications_fingerprints.npz"))
    for name, (builder, kwargs, every_layer) in SPECS.items():
        if only is not None and name not in only:
            continue
        specs[name] = {"builder": builder, "kwargs": kwargs, **_spec(_build(keras, builder, kwargs), every_layer)}
        print(name, specs[name]["params"], file=sys.stderr)
    for name, (builder, kwargs, batch) in FINGERPRINTS.items():
        if only is not None and name not in only:
            continue
        model = _build(keras, builder, kwargs)
        for layer in model.layers:
            layer.set_weights([fingerprint_weight(layer.name, i, w.name, w.shape) for i, w in enumerate(layer.weights)])
        x = fingerprint_input(model.input.shape[1:], batch)
        prints[name] = np.asarray(model.predict(x, verbose=0), dtype=np.float32)
        specs[name + "@fingerprint"] = {"builder": builder, "kwargs": kwargs, "batch": batch, "seed": SEED}
        print(name, prints[name].shape, float(np.abs(prints[name]).max()), file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "models": specs}
    (OUT / "applications_specs.json").write_text(_lines(doc) + "\n")
    np.savez_compressed(OUT / "applications_fingerprints.npz", **prints)
    return 0


def _lines(doc) -> str:
    """JSON with one layer per line (readable diffs, still compact)."""
    version, backend = json.dumps(doc["keras_version"]), json.dumps(doc["backend"])
    out = ['{"keras_version": ' + version + ', "backend": ' + backend + ', "models": {']
    models = list(doc["models"].items())
    for k, (name, spec) in enumerate(models):
        body = {key: value for key, value in spec.items() if key != "layers"}
        head = json.dumps(body, separators=(",", ":"))[:-1]
        if "layers" in spec:
            rows = ",\n".join(json.dumps(row, separators=(",", ":")) for row in spec["layers"])
            head += ',"layers":[\n' + rows + "]"
        out.append(f"{json.dumps(name)}:{head}}}" + ("," if k < len(models) - 1 else ""))
    out.append("}}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
