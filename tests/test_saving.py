"""model.save / load_model / save_weights / load_weights: round trips, the optimizer state
continuing identically, atomic writes, and damaged files refused with clear errors."""

import json
import os
import struct

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import layers
from sinapse.models import ModelFileError, Sequential, load_model, saving


def trained_model(rng, optimizer="adam", dropout=True):
    sinapse.utils.set_random_seed(4)
    x, y = blobs(64, 6, 3, rng)
    model = Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(6,)),
            layers.BatchNormalization(),
            layers.Dropout(0.1 if dropout else 0.0),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model, x, y


def test_save_and_load_model_round_trip(rng, tmp_path):
    model, x, y = trained_model(rng)
    path = tmp_path / "myModel"  # no extension, as in the seed
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert loaded.compiled_loss.kind == "sparse_categorical_crossentropy"
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert [p.name for p in tmp_path.iterdir()] == ["myModel"]  # no temporary file left behind


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", sinapse.optimizers.SGD(0.1, momentum=0.9)])
def test_optimizer_state_continues_identically(rng, tmp_path, optimizer):
    # With Dropout: the checkpoint holds its Philox seed and offset (tests/test_resume.py).
    model, x, y = trained_model(rng, optimizer)
    model.save(tmp_path / "m.sinapse")
    loaded = load_model(tmp_path / "m.sinapse")
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for m in (model, loaded):
        for _ in range(3):
            m.train_on_batch(x[:16], y[:16])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_weights_and_load_weights(rng, tmp_path):
    model, x, _ = trained_model(rng)
    model.save_weights(tmp_path / "w.safetensors")
    other = sinapse.models.clone_model(model)
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(ModelFileError, match="weights-only files load with model.load_weights"):
        load_model(tmp_path / "w.safetensors")
    wrong = Sequential([layers.Dense(8, input_shape=(6,)), layers.Dense(3)])
    with pytest.raises(ModelFileError, match="different architecture"):
        wrong.load_weights(tmp_path / "w.safetensors")


def test_the_file_is_safetensors_with_versioned_metadata(rng, tmp_path):
    from safetensors import safe_open

    model, _, _ = trained_model(rng)
    model.save(tmp_path / "m")
    with safe_open(str(tmp_path / "m"), framework="np") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert meta["format"] == "sinapse.model" and meta["format_version"] == "2"
    assert meta["checksum"].startswith("sha256:")
    assert json.loads(meta["config"])["class_name"] == "Sequential"
    assert json.loads(meta["compile"])["optimizer"]["class_name"] == type(model.optimizer).__name__
    assert "weights/0/0" in keys and any(k.startswith("optimizer/") for k in keys)


def _rewrite_metadata(path, **changes):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header["__metadata__"].update(changes)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + n :])


def test_damaged_and_foreign_files_are_refused(rng, tmp_path):
    model, _, _ = trained_model(rng)
    good = tmp_path / "good"
    model.save(good)
    data = good.read_bytes()

    truncated = tmp_path / "truncated"
    truncated.write_bytes(data[: len(data) - 100])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(truncated)
    header_cut = tmp_path / "header_cut"
    header_cut.write_bytes(data[:50])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(header_cut)

    corrupted = tmp_path / "corrupted"
    flipped = bytearray(data)
    flipped[-5] ^= 0x40  # one bit of one weight
    corrupted.write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_model(corrupted)

    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a model file at all")
    with pytest.raises(ModelFileError, match="not a sinapse model file"):
        load_model(text)
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"abc")
    with pytest.raises(ModelFileError, match="only 3 bytes"):
        load_model(tiny)

    from safetensors.numpy import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(foreign))
    with pytest.raises(ModelFileError, match="format None"):
        load_model(foreign)

    newer = tmp_path / "newer"
    newer.write_bytes(data)
    _rewrite_metadata(newer, format_version="99")
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        load_model(newer)
    with pytest.raises(ModelFileError, match="a directory"):
        load_model(tmp_path)


def test_a_failed_write_leaves_the_old_file_intact(rng, tmp_path, monkeypatch):
    model, _, _ = trained_model(rng)
    path = tmp_path / "m"
    model.save(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(saving.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m"]


def test_save_of_an_uncompiled_model_and_overwrite_flag(rng, tmp_path):
    model = Sequential([layers.Conv2D(2, 3, input_shape=(5, 5, 1)), layers.Flatten(), layers.Dense(2)])
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.compiled_loss is None
    x = rng.random((2, 5, 5, 1))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m", overwrite=False)


# ---------------------------------------------------------------------------- paths and flags (issue 11, class 5/8)


def _small_model():
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("method, where", [("save", "Sequential.save"), ("save_weights", "Sequential.save_weights")])
def test_save_into_a_missing_folder_names_the_users_path(tmp_path, method, where):
    model = _small_model()
    target = tmp_path / "missing" / "dir" / "m.s"
    with pytest.raises(FileNotFoundError) as info:
        getattr(model, method)(target)
    message = str(info.value)
    assert message.startswith(f"{where}: cannot save to {target}: the folder {target.parent} does not exist")
    assert ".tmp" not in message
    assert not (tmp_path / "missing").exists()


def test_save_model_function_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^save_model: cannot save to .*m\.s: the folder"):
        sinapse.models.save_model(_small_model(), tmp_path / "nope" / "m.s")


@pytest.mark.parametrize(
    "call, where",
    [
        (lambda m: m.save(None), "Sequential.save"),
        (lambda m: m.save(5), "Sequential.save"),
        (lambda m: m.save(""), "Sequential.save"),
        (lambda m: m.save(b"m.s"), "Sequential.save"),
        (lambda m: m.save_weights(5), "Sequential.save_weights"),
        (lambda m: m.save_weights(None), "Sequential.save_weights"),
        (lambda m: m.load_weights(None), "Sequential.load_weights"),
        (lambda m: load_model(None), "load_model"),
        (lambda m: load_model(3.5), "load_model"),
        (lambda m: sinapse.models.save_model(m, None), "save_model"),
    ],
)
def test_filepath_must_be_a_path(call, where):
    with pytest.raises(TypeError, match=rf"^{where}: `filepath` must be a"):
        call(_small_model())


@pytest.mark.parametrize("flag", ["no", None, 0, 1, "False"])
def test_save_overwrite_is_true_or_false_only(tmp_path, flag):
    model = _small_model()
    model.save(tmp_path / "m.s")
    before = (tmp_path / "m.s").read_bytes()
    model.layers[0].set_weights([np.ones((3, 2), np.float32), np.ones(2, np.float32)])
    for call in (
        lambda: model.save(tmp_path / "m.s", overwrite=flag),
        lambda: model.save_weights(tmp_path / "m.s", overwrite=flag),
    ):
        with pytest.raises(TypeError, match=r"`overwrite` must be True or False"):
            call()
    assert (tmp_path / "m.s").read_bytes() == before  # the saved file is untouched


def test_save_overwrite_false_names_the_method(tmp_path):
    model = _small_model()
    model.save(tmp_path / "m.s")
    with pytest.raises(FileExistsError, match=r"^Sequential\.save: .*m\.s exists and overwrite=False"):
        model.save(tmp_path / "m.s", overwrite=False)


@pytest.mark.parametrize(
    "kwargs, name", [({"compile": "no"}, "compile"), ({"compile": None}, "compile"), ({"safe_mode": "no"}, "safe_mode")]
)
def test_load_model_flags_are_true_or_false_only(tmp_path, kwargs, name):
    _small_model().save(tmp_path / "m.s")
    with pytest.raises(TypeError, match=rf"^load_model: `{name}` must be True or False"):
        load_model(tmp_path / "m.s", **kwargs)
    assert load_model(tmp_path / "m.s", compile=False).optimizer is None
