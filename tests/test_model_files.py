"""Model files as untrusted input (issue 11, class 5): the checksum covers everything loaded,
configs are checked against the file's tensors before anything is allocated, optimizer and
random state are validated at load, reading is bounded, every error names the file, and
save -> load -> save reproduces the file byte for byte. See docs/model_format.md."""

import json
import os
import stat
import struct
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest

import sinapse
from keras_helpers import blobs
from sinapse import layers
from sinapse.models import ModelFileError, Sequential, load_model
from sinapse.models import _file_format as ff


def checkpoint(tmp_path, name="m", train=True, optimizer=None):
    x, y = blobs(32, 5, 3, np.random.default_rng(1))
    model = Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.BatchNormalization(),
            layers.Dropout(0.25),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer or sinapse.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    if train:
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / name
    model.save(path)
    return model, path


def parts(path):
    """(metadata, tensors) of a file, read without verification (as an attacker would)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}


def craft(path, metadata, tensors):
    """A file with a valid checksum for whatever it holds: anyone can compute one (no key)."""
    ff.write_file(path, tensors, {k: v for k, v in metadata.items() if k != "checksum"}, True)
    return path


def sequential(layer_list, shape=(5,)):
    return json.dumps(
        {
            "class_name": "Sequential",
            "config": {
                "name": "m",
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in layer_list],
                "build_input_shape": None if shape is None else list(shape),
            },
        }
    )


def refused(path, match, **kwargs):
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path, **kwargs)
    assert str(path) in str(info.value)  # every error names the file
    return info.value


# ---------------------------------------------------------------------------- the checksum covers the metadata


@pytest.mark.parametrize(
    "old,new",
    [
        (b'\\"relu\\"', b'\\"tanh\\"'),
        (b'\\"softmax\\"', b'\\"sigmoid\\"'),
        (b'\\"sparse_categorical', b'\\"categorical'),
        (b'learning_rate\\": 0.01', b'learning_rate\\": 0.02'),
    ],
)
def test_any_edit_of_the_header_is_refused(tmp_path, old, new):
    _, path = checkpoint(tmp_path)
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = data[8 : 8 + n]
    assert old in header
    edited = header.replace(old, new, 1)
    edited += b" " * (len(header) - len(edited))  # keep the length: a same-size edit
    path.write_bytes(data[:8] + edited[:n] + data[8 + n :])
    refused(path, "checksum mismatch")


def test_format_version_1_files_need_safe_mode_false(tmp_path):
    model, path = checkpoint(tmp_path)
    meta, tensors = parts(path)
    meta["format_version"] = "1"
    meta["checksum"] = ff._checksum_v1(tensors)
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata=meta)
    refused(path, "format version 1.*safe_mode=False")
    loaded = load_model(path, safe_mode=False)
    x = np.random.default_rng(2).random((4, 5), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    flipped = bytearray(path.read_bytes())
    flipped[-3] ^= 1  # its tensors are still verified
    path.write_bytes(bytes(flipped))
    refused(path, "checksum mismatch", safe_mode=False)


# ---------------------------------------------------------------------------- sizes bounded by the file's tensors

BIG = [
    (
        [layers.Dense(10**9, input_shape=(5,))],
        {"weights/0/0": np.zeros((5, 3), np.float32), "weights/0/1": np.zeros(3, np.float32)},
    ),
    (
        [layers.Conv2D(10**5, 999, input_shape=(8, 8, 1), padding="same")],
        {"weights/0/0": np.zeros((3, 3, 1, 2), np.float32)},
    ),
    ([layers.Embedding(10**9, 10**3)], {"weights/0/0": np.zeros((10, 4), np.float32)}),
    ([layers.LSTM(10**5)], {"weights/0/0": np.zeros((5, 8), np.float32)}),
    ([layers.BatchNormalization()], {}),
    ([layers.Dense(4)], {}),  # a weight-bearing layer, no tensors at all
]


@pytest.mark.parametrize("case", range(len(BIG)))
def test_a_config_larger_than_its_tensors_allocates_nothing(tmp_path, case):
    layer_list, tensors = BIG[case]
    shape = {0: (5,), 1: None, 2: (7,), 3: (6, 5), 4: (10**9,), 5: (10**9,)}[case]
    path = craft(
        tmp_path / "crafted",
        {
            "format": "sinapse.model",
            "format_version": "2",
            "sinapse_version": "x",
            "config": sequential(layer_list, shape),
        },
        tensors,
    )
    assert path.stat().st_size < 4096
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        err = refused(path, "architecture does not match|the architecture cannot be built")
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20 and elapsed < 5, (peak, elapsed, err)


def test_load_weights_into_an_unbuilt_model_is_bounded_too(tmp_path):
    path = craft(
        tmp_path / "w",
        {
            "format": "sinapse.weights",
            "format_version": "2",
            "sinapse_version": "x",
            "config": sequential([layers.Dense(3)], (10**9,)),
        },
        {"weights/0/0": np.zeros((5, 3), np.float32), "weights/0/1": np.zeros(3, np.float32)},
    )
    model = Sequential([layers.Dense(3)])
    with pytest.raises(ModelFileError, match=r"shape \(1000000000, 3\).*\(5, 3\)"):
        model.load_weights(path)


def test_extra_and_foreign_tensors_are_refused(tmp_path):
    _, path = checkpoint(tmp_path)
    meta, tensors = parts(path)
    for extra, match in (
        ({"weights/9/0": np.zeros(2, np.float32)}, "does not use"),
        ({"notes/readme": np.zeros(2, np.float32)}, "unexpected tensors"),
        ({"rng/0/seed": np.zeros((), np.uint64)}, "no layer of the model has that random state"),
    ):
        refused(craft(tmp_path / "x", meta, {**tensors, **extra}), match)


# ---------------------------------------------------------------------------- every config field type-checked


def _edit_layer(config_text, index, **changes):
    config = json.loads(config_text)
    config["config"]["layers"][index]["config"].update(changes)
    return json.dumps(config)


@pytest.mark.parametrize(
    "index,changes,match",
    [
        (0, {"units": 8.0}, "units"),
        (0, {"units": "8"}, "units"),
        (0, {"use_bias": "yes"}, "[`']use_bias[`']"),
        (0, {"activation": 5}, "layer 0"),
        (2, {"rate": "0.25"}, "rate"),
        (2, {"seed": 1.5}, "seed"),
        (1, {"epsilon": [1e-3]}, "layer 1"),
        (3, {"bogus": 1}, "bogus"),
    ],
)
def test_layer_fields_are_type_checked(tmp_path, index, changes, match):
    _, path = checkpoint(tmp_path)
    meta, tensors = parts(path)
    meta["config"] = _edit_layer(meta["config"], index, **changes)
    refused(craft(tmp_path / "x", meta, tensors), match)


@pytest.mark.parametrize(
    "config,match",
    [
        ("[" * 100000 + "]" * 100000, "not valid JSON"),
        ('{"class_name": "Sequential"}', "class_name"),
        ('{"class_name": "Functional", "config": {}}', "Functional"),
        ('{"class_name": "Sequential", "config": {"layers": {}}}', "layers must be a list"),
        ('{"class_name": "Sequential", "config": {"layers": [], "build_input_shape": [-1]}}', "build_input_shape"),
        ('{"class_name": "Sequential", "config": {"layers": [], "build_input_shape": [true]}}', "build_input_shape"),
        ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Nope", "config": {}}]}}', "Nope"),
        ('{"class_name": "Sequential", "config": {"layers": [], "name": 3}}', "name"),
        ('{"class_name": "Sequential", "config": {"layers": [], "layers": []}}', "duplicate key"),
    ],
)
def test_the_architecture_is_type_checked(tmp_path, config, match):
    path = craft(
        tmp_path / "x", {"format": "sinapse.model", "format_version": "2", "sinapse_version": "x", "config": config}, {}
    )
    refused(path, match)


@pytest.mark.parametrize(
    "compile_config,match",
    [
        ({"loss": "mse", "optimizer": {"class_name": "Adam", "config": {"beta_1": "x"}}}, "beta_1"),
        ({"loss": "mse", "optimizer": {"class_name": "Nope", "config": {}}}, "compile config"),
        ({"loss": "no_such_loss"}, "compile config"),
        ({"loss": "mse", "metrics": "accuracy"}, "metrics must be a list"),
        ({"metrics": []}, "loss"),
        ({"loss": "mse", "optimizer": "adam"}, "optimizer must be"),
    ],
)
def test_the_compile_config_is_type_checked(tmp_path, compile_config, match):
    _, path = checkpoint(tmp_path, train=False)
    meta, tensors = parts(path)
    meta["compile"] = json.dumps(compile_config)
    refused(craft(tmp_path / "x", meta, {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}), match)


# ---------------------------------------------------------------------------- optimizer and random state at load


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda t: t.update({"optimizer/momentum/0": np.zeros((4, 8), np.float32)}), r"momentum/0.*\(5, 8\)"),
        (lambda t: t.update({"optimizer/velocity/1": np.zeros(8, np.int64)}), "velocity/1"),
        (lambda t: t.pop("optimizer/velocity/3"), "missing"),
        (lambda t: t.update({"optimizer/momentum/99": np.zeros(3, np.float32)}), "unexpected"),
        (lambda t: t.update({"optimizer/bogus/0": np.zeros(3, np.float32)}), "unexpected"),
        (lambda t: t.update({"optimizer/iterations": np.array(8.0, np.float32)}), "iterations"),
        (lambda t: t.update({"optimizer/iterations": np.array(-1, np.int64)}), "iterations"),
        (lambda t: t.update({"optimizer/learning_rate": np.array(-0.1, np.float32)}), "learning_rate"),
        (lambda t: t.pop("optimizer/iterations"), "iterations"),
        (lambda t: t.update({"rng/2/seed": np.zeros(2, np.uint64)}), "random state of layer 2"),
        (lambda t: t.update({"rng/2/offset": np.array(3, np.int64)}), "random state of layer 2"),
        (lambda t: t.update({"rng/shuffle": np.zeros(5, np.uint64)}), "rng/shuffle"),
    ],
)
def test_optimizer_and_random_state_are_validated_at_load(tmp_path, change, match):
    _, path = checkpoint(tmp_path)
    meta, tensors = parts(path)
    change(tensors)
    refused(craft(tmp_path / "x", meta, tensors), match)


# ---------------------------------------------------------------------------- bounded reading


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_device_files_are_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    refused(device, "character device")


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "model.safetensors"
    link.symlink_to("/dev/zero")
    refused(link, "character device")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code = f"import sinapse.models as m\ntry:\n    m.load_model({str(fifo)!r})\nexcept m.ModelFileError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "FIFO" in out.stdout and str(fifo) in out.stdout, out.stderr


def test_a_directory_is_refused(tmp_path):
    refused(tmp_path, "a directory")


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff" * 8,
        struct.pack("<Q", 2**40),
        struct.pack("<Q", ff.MAX_HEADER_BYTES + 8),
        struct.pack("<Q", 10) + b"not json!!",
        struct.pack("<Q", 2) + b"[]",
    ],
)
def test_huge_non_model_files_are_refused_quickly(tmp_path, head):
    path = tmp_path / "huge.bin"
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(2**36)  # 64 GiB, sparse: only a reader that stops at the header is quick
    t0 = time.perf_counter()
    refused(path, "not a sinapse model file")
    assert time.perf_counter() - t0 < 2


def _header_file(path, header: dict, data: bytes):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


@pytest.mark.parametrize(
    "entry,data,match",
    [
        ({"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}, 2, "dtype 'F16'"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, 4, "needs 8 bytes"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, 4, "non-negative"),
        ({"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}, 4, "at most 8"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, 8, "gaps"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, 12, "padded"),
        ({"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}, 4, "dtype"),
        ({"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}, 4, "needs"),
    ],
)
def test_the_tensor_index_is_checked_before_reading_the_data(tmp_path, entry, data, match):
    meta = {"format": "sinapse.model", "format_version": "2", "checksum": "sha256:0"}
    refused(_header_file(tmp_path / "x", {"__metadata__": meta, "w": entry}, b"\0" * data), match)


def test_unknown_metadata_is_refused(tmp_path):
    _, path = checkpoint(tmp_path)
    meta, tensors = parts(path)
    meta["note"] = "hi"
    refused(craft(tmp_path / "x", meta, tensors), "unknown metadata note")


# ---------------------------------------------------------------------------- round trips and atomic saves

ROUND_TRIP_OPTIMIZERS = [
    None,
    lambda: sinapse.optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0),
    lambda: sinapse.optimizers.RMSprop(sinapse.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5), centered=True),
]


@pytest.mark.parametrize("opt", range(len(ROUND_TRIP_OPTIMIZERS)))
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("include_optimizer", [True, False])
def test_save_load_save_gives_the_same_file(tmp_path, train, include_optimizer, opt):
    factory = ROUND_TRIP_OPTIMIZERS[opt]
    model, _ = checkpoint(tmp_path, train=train, optimizer=factory and factory())
    model.save(tmp_path / "a", include_optimizer=include_optimizer)
    load_model(tmp_path / "a").save(tmp_path / "b", include_optimizer=include_optimizer)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_a_save_that_fails_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    model, path = checkpoint(tmp_path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(ff.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        model.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m"]


def test_save_never_replaces_a_device_fifo_or_directory(tmp_path):
    model, _ = checkpoint(tmp_path, train=False)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    for target in (tmp_path / "fifo", tmp_path / "dir"):  # (not /dev/null: a regression would replace it)
        with pytest.raises(ValueError, match="is not a regular file"):
            model.save(target)
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode) and (tmp_path / "dir").is_dir()


def test_save_through_a_symlink_replaces_its_target(tmp_path):
    model, path = checkpoint(tmp_path)
    link = tmp_path / "latest"
    link.symlink_to(path.name)
    model.save(link)
    assert link.is_symlink() and load_model(link).count_params() == model.count_params()


def test_a_keyed_file_is_an_hmac_that_only_the_key_verifies(tmp_path):
    model, _ = checkpoint(tmp_path, train=False)
    key = b"0123456789abcdef-secret"
    path = tmp_path / "signed"
    sinapse.models.save_model(model, path, key=key)
    meta, tensors = parts(path)
    assert meta["checksum"].startswith("hmac-sha256:")
    x = np.random.default_rng(3).random((2, 5), dtype=np.float32)
    np.testing.assert_array_equal(load_model(path, key=key.decode()).predict(x), model.predict(x))
    refused(path, "signed with a key")  # no key: cannot verify
    refused(path, "checksum mismatch", key=b"another key of 16+ bytes")
    forged = craft(tmp_path / "forged", meta, tensors)  # re-checksummed without the key
    refused(forged, "not signed", key=key)
    with pytest.raises(ValueError, match="`key` must be bytes or a str of at least 16 bytes"):
        load_model(path, key=b"short")


def test_model_save_takes_the_key_too(tmp_path):
    model, _ = checkpoint(tmp_path, train=False)
    key = b"0123456789abcdef-secret"
    model.save(tmp_path / "signed", key=key)
    assert parts(tmp_path / "signed")[0]["checksum"].startswith("hmac-sha256:")
    load_model(tmp_path / "signed", key=key)


def test_saved_files_get_the_usual_permissions(tmp_path):
    # mkstemp creates 0600: a new file must get 0666 less the umask, a replaced one keeps its mode
    model, _ = checkpoint(tmp_path, train=False)
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "new")
        assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o644
        os.chmod(tmp_path / "new", 0o640)
        model.save(tmp_path / "new")
        assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o640
    finally:
        os.umask(old)


# ---------------------------------------------------------------- arguments are checked before the file is read
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"device": 5}, TypeError, r"^load_model: `device` must be 'cpu', 'cuda', 'cuda-sim'"),
        ({"device": "gpu"}, ValueError, r"^load_model: `device`: unknown device 'gpu'"),
        ({"device": "tpu"}, ValueError, r"^load_model: `device`: unknown device 'tpu'"),
        ({"compile": "yes"}, TypeError, r"^load_model: `compile`"),
        ({"safe_mode": None}, TypeError, r"^load_model: `safe_mode`"),
        ({"key": "short"}, ValueError, r"^load_model: `key` must be bytes or a str of at least 16 bytes"),
        ({"custom_objects": ["Dense"]}, TypeError, r"^load_model: `custom_objects` must be None or a dict"),
    ],
)
@pytest.mark.parametrize("exists", [True, False])
def test_load_model_checks_its_arguments_before_the_file(tmp_path, kwargs, error, match, exists):
    path = tmp_path / "m.st"
    if exists:
        model = sinapse.models.Sequential([sinapse.layers.Dense(2, input_shape=(3,))])
        model.compile("sgd", "mse")
        model.save(str(path))
    with pytest.raises(error, match=match):  # never a ModelFileError blaming the file, nor FileNotFoundError
        sinapse.models.load_model(str(path), **kwargs)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, p: m.save(p, key=b"short"), r"^Sequential\.save: `key` must be bytes"),
        (lambda m, p: m.save(p, save_format="h5"), r"^Sequential\.save: `save_format` must be None or 'safetensors'"),
        (lambda m, p: m.save_weights(p, save_format="tf"), r"^Sequential\.save_weights: `save_format`"),
    ],
)
def test_save_checks_its_arguments_before_writing(tmp_path, call, match):
    model = sinapse.models.Sequential([sinapse.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=match):
        call(model, str(tmp_path / "m.st"))
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- a model file saved unbuilt
def _unbuilt_file(path, units, compile=True):
    model = sinapse.models.Sequential([sinapse.layers.Dense(units), sinapse.layers.Dense(units)])
    if compile:
        model.compile("sgd", "mse")
    model.save(str(path))  # no input shape: no weights, only the config
    return path


@pytest.mark.parametrize("first_build", ["predict", "build", "fit", "clone"])
def test_an_unbuilt_file_cannot_build_more_than_the_bound(tmp_path, first_build):
    # Dense(30_000) twice on 10_000 features: 3e8 + 9e8 weight elements, past 2**28 — a 1.7 kB file
    # would otherwise allocate gigabytes at the first predict.
    from sinapse.models._state import UNBUILT_FILE_MAX_ELEMENTS

    assert UNBUILT_FILE_MAX_ELEMENTS == 2**28  # the bound docs/model_format.md states
    path = _unbuilt_file(tmp_path / "u.st", 30_000)
    model = sinapse.models.load_model(str(path))
    x = np.zeros((1, 10_000), np.float32)
    run = {
        "predict": lambda m: m.predict(x, verbose=0),
        "build": lambda m: m.build((None, 10_000)),
        "fit": lambda m: m.fit(x, np.zeros((1, 30_000), np.float32), verbose=0),
        "clone": lambda m: sinapse.models.clone_model(m).build((None, 10_000)),
    }[first_build]
    for _ in range(2):  # refused every time, and no half-built layer is left behind
        with pytest.raises(
            ModelFileError,
            match=r"u\.st: was saved unbuilt \(no weights\); building it would create "
            r"more than 268,435,456 weight elements .*safe_mode=False",
        ):
            run(model)
        assert all(not layer.weights for layer in model.layers)


def test_an_unbuilt_file_within_the_bound_builds_and_the_bound_ends(tmp_path):
    model = sinapse.models.load_model(str(_unbuilt_file(tmp_path / "u.st", 16)))
    assert model.predict(np.zeros((2, 8), np.float32), verbose=0).shape == (2, 16)
    assert "_unbuilt_file" not in model.__dict__  # built once: later adds are the user's code
    model.add(sinapse.layers.Dense(2))
    assert model.count_params() == 8 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2


def test_safe_mode_false_lifts_the_bound_for_a_trusted_unbuilt_file(tmp_path, monkeypatch):
    from sinapse.models import _state, saving

    monkeypatch.setattr(saving, "UNBUILT_FILE_MAX_ELEMENTS", 100)  # a small bound: no gigabytes in a test
    path = _unbuilt_file(tmp_path / "u.st", 16, compile=False)
    with pytest.raises(ModelFileError, match="more than 100 weight elements"):
        sinapse.models.load_model(str(path)).build((None, 8))
    model = sinapse.models.load_model(str(path), safe_mode=False)
    model.build((None, 8))
    assert model.count_params() == 8 * 16 + 16 + 16 * 16 + 16 and _state.UNBUILT_FILE_MAX_ELEMENTS == 2**28
    assert sinapse.models.load_model(str(path), device="cpu").built is False  # device= on an unbuilt model
