"""Model and model-file cases: Sequential's entry points with odd arguments, and load_model /
load_weights on damaged, crafted and special files.

Strategies (parent side) draw JSON cases; run_model_case / run_file_case (worker side) run them
against one small trained model saved once per worker. Oracle: a clear error (for files: a
ModelFileError / OSError naming the file), or — for a damaged file that still loads — exactly
the saved model; for predict, the answer for the same values as clean float32.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import struct
import tempfile

import numpy as np
from hypothesis import strategies as st

from .attacks import DTYPES, FILLS, HUGE_INTS, LAYOUTS, WRONG
from .specs import arr

# ------------------------------------------------------------------------------ strategies

ODD_INTS = HUGE_INTS + [None, 1, 3]


@st.composite
def model_cases(draw):
    method = draw(st.sampled_from(["fit", "predict", "evaluate", "build", "call", "train_on_batch"]))
    n = draw(st.integers(0, 6))
    x = arr([n, 4], draw(st.sampled_from(["float32"] * 4 + DTYPES)), draw(st.sampled_from(["normal"] * 4 + FILLS)))
    if draw(st.integers(0, 4)) == 0:
        x["$a"].append(draw(st.sampled_from(LAYOUTS)))
    kw = {"x": x}
    if draw(st.integers(0, 5)) == 0:
        kw["x"] = arr(draw(st.sampled_from([[n], [n, 3], [n, 4, 1], [], [n, 0]])))
    if method in ("fit", "evaluate", "train_on_batch"):
        kw["y"] = arr([n], draw(st.sampled_from(["int32", "int32", "float32", "int64", "float64", "bool"])), "labels3")
        if draw(st.integers(0, 4)) == 0:
            kw["y"] = arr(draw(st.sampled_from([[n + 1], [n, 3], [], [n, 2, 2]])), "int32", "labels3")
    if method in ("fit", "evaluate", "predict"):
        kw["batch_size"] = draw(st.sampled_from(ODD_INTS + WRONG))
    if method == "fit":
        # epochs: no huge values, a huge epoch count is a valid (endless) request, not an attack
        for name, values in (
            ("epochs", [0, -1, 1, 2, None, 2.5, "1", True]),
            ("validation_split", [0.0, 0.5, 1.0, -0.1, 1.5, "x"]),
            ("class_weight", [None, {0: 1.0, 1: 2.0}, {-1: 5}, {3: 1}, {0: float("nan")}, [1, 2], {"a": 1}]),
            ("initial_epoch", [0, -1, 5, 2**63]),
            ("steps_per_epoch", [None, 0, -1, 2**63]),
        ):
            if draw(st.booleans()):
                kw[name] = draw(st.sampled_from(values))
        kw["verbose"] = 0
    if method in ("fit", "evaluate", "train_on_batch") and draw(st.integers(0, 3)) == 0:
        kw["sample_weight"] = arr(
            draw(st.sampled_from([[n], [n, 1], [n + 1], []])),
            fill=draw(st.sampled_from(["unit", "nan", "-inf", "zeros"])),
        )
    if method == "build":
        kw = {
            "input_shape": draw(
                st.sampled_from(
                    [[None, 4], [4], [None, 2**31], [None, 0], [None, -1], None, "x", [None, 4, 4], [2**63]]
                )
            )
        }
    return {"entry": "model", "method": method, "kw": kw}


MUTATIONS = ["truncate", "bitflip", "header_edit", "header_length", "craft", "special", "junk"]
CRAFT = [
    "units_huge",
    "units_negative",
    "units_string",
    "activation_unknown",
    "layers_many",
    "class_unknown",
    "input_shape_huge",
    "optimizer_state_shape",
    "tensor_dtype",
    "tensor_extra",
    "config_not_json",
    "format_wrong",
    "version_future",
]
SPECIAL = ["/dev/zero", "/dev/null", "/dev/urandom", "directory", "missing", "empty", "fifo"]


@st.composite
def file_cases(draw):
    kind = draw(st.sampled_from(MUTATIONS))
    case = {"entry": "file", "loader": draw(st.sampled_from(["load_model", "load_weights"])), "kind": kind}
    if kind in ("truncate", "bitflip"):
        case["at"] = draw(st.floats(0, 1, exclude_max=True))
        case["bit"] = draw(st.integers(0, 7))
    elif kind == "header_edit":
        case["edit"] = draw(
            st.sampled_from(
                [
                    ["relu", "tanh"],
                    ['units\\": 3', 'units\\": 9'],
                    ["F32", "F64"],
                    ["Dense", "Dropo"],
                    ["[null, 4]", "[null, 5]"],
                    ["0.5", "0.9"],
                    ['seed\\": 2', 'seed\\": 7'],
                    ["Adam", "Nada"],
                ]
            )
        )
    elif kind == "header_length":
        case["value"] = draw(st.sampled_from([0, 1, 2**31, 2**40, 2**63, 2**64 - 1]))
    elif kind == "craft":
        case["craft"] = draw(st.sampled_from(CRAFT))
    elif kind == "special":
        case["special"] = draw(st.sampled_from(SPECIAL))
    else:
        case["size"] = draw(st.sampled_from([1, 7, 8, 9, 100, 5000]))
    return case


# ------------------------------------------------------------------------------ worker side

_STATE: dict = {}
X = np.linspace(-1, 1, 40, dtype=np.float32).reshape(10, 4)


def small_model():
    import sinapse
    from sinapse import layers
    from sinapse.models import Sequential

    sinapse.utils.set_random_seed(1)
    model = Sequential(
        [
            layers.Dense(3, activation="relu", input_shape=(4,)),
            layers.Dropout(0.5, seed=2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def base_file():
    """(path, model, bytes) of a trained model saved once per worker."""
    if not _STATE:
        tmp = tempfile.mkdtemp(prefix="sinapse-fuzz-")
        atexit.register(shutil.rmtree, tmp, True)
        model = small_model()
        model.fit(X, np.arange(10, dtype=np.int32) % 3, epochs=1, batch_size=4, verbose=0)
        path = os.path.join(tmp, "base.sinapse")
        model.save(path)
        with open(path, "rb") as f:
            _STATE.update(tmp=tmp, model=model, path=path, data=f.read(), n=0)
    return _STATE


def _split(data):
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _crafted(state, craft):
    """Bytes of a file whose checksum is valid but whose content is hostile (written by the
    library's own writer, so only validation, not the checksum, can refuse it)."""
    from sinapse.models._file_format import write_file

    header, body = _split(state["data"])
    meta = dict(header.pop("__metadata__"))
    meta.pop("checksum", None)
    dt = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8"}
    tensors = {
        k: np.frombuffer(body[v["data_offsets"][0] : v["data_offsets"][1]], dt[v["dtype"]]).reshape(v["shape"])
        for k, v in header.items()
    }
    config = json.loads(meta["config"])
    dense = config["config"]["layers"][0]["config"]
    edits = {
        "units_huge": lambda: dense.update(units=10**9),
        "units_negative": lambda: dense.update(units=-1),
        "units_string": lambda: dense.update(units="3"),
        "activation_unknown": lambda: dense.update(activation="nope"),
        "layers_many": lambda: config["config"]["layers"].extend([config["config"]["layers"][1]] * 100000),
        "class_unknown": lambda: config["config"]["layers"][0].update(class_name="os.system"),
        "input_shape_huge": lambda: dense.update(batch_input_shape=[None, 2**40], input_shape=[2**40]),
    }
    if craft in edits:
        edits[craft]()
    elif craft == "optimizer_state_shape":
        key = next(k for k in tensors if k.startswith("optimizer/") and tensors[k].ndim)
        tensors[key] = np.zeros(tuple(d + 1 for d in tensors[key].shape), tensors[key].dtype)
    elif craft == "tensor_dtype":
        key = next(k for k in tensors if k.startswith("weights/"))
        tensors[key] = tensors[key].astype(np.float64)
    elif craft == "tensor_extra":
        tensors["weights/9/0"] = np.zeros((10**6,), np.float32)
    elif craft == "config_not_json":
        meta["config"] = "{not json"
    elif craft == "format_wrong":
        meta["format"] = "sinapse.weights" if meta["format"] == "sinapse.model" else "sinapse.model"
    elif craft == "version_future":
        meta["format_version"] = "99"
    meta["config"] = meta["config"] if craft == "config_not_json" else json.dumps(config)
    path = os.path.join(state["tmp"], "crafted.sinapse")
    write_file(path, tensors, meta, True)
    with open(path, "rb") as f:
        return f.read()


def _mutated(state, case):
    data, kind = bytearray(state["data"]), case["kind"]
    if kind == "truncate":
        return bytes(data[: int(case["at"] * len(data))])
    if kind == "bitflip":
        data[int(case["at"] * len(data))] ^= 1 << case["bit"]
        return bytes(data)
    if kind == "header_edit":
        old, new = (s.encode() for s in case["edit"])
        assert old in data, f"header_edit: {old!r} is not in the saved file (the format changed: update the edit)"
        return bytes(data).replace(old, new, 1)
    if kind == "header_length":
        return struct.pack("<Q", case["value"]) + bytes(data[8:])
    if kind == "craft":
        return _crafted(state, case["craft"])
    return np.random.default_rng(case["size"]).integers(0, 256, case["size"], dtype=np.uint8).tobytes()


def _special(state, what):
    if what.startswith("/dev/"):
        return what
    path = os.path.join(state["tmp"], f"special-{what}")
    if what == "directory":
        os.makedirs(path, exist_ok=True)
    elif what == "empty":
        open(path, "wb").close()
    elif what == "fifo" and not os.path.exists(path):
        os.mkfifo(path)  # opening it for reading would block forever without a writer
    return path


def run_file_case(case, check_error):
    from sinapse.models import load_model

    state = base_file()
    if case["kind"] == "special":
        path = _special(state, case["special"])
    else:
        state["n"] += 1
        path = os.path.join(state["tmp"], f"case{state['n']}.sinapse")
        with open(path, "wb") as f:
            f.write(_mutated(state, case))
    try:
        if case["loader"] == "load_model":
            model = load_model(path)
        else:
            model = small_model()
            model.load_weights(path)
    except Exception as exc:  # noqa: BLE001 - judged below
        why = check_error(exc, path)
        return {"kind": "unclear", "detail": why} if why else {"kind": "ok", "detail": "error"}
    finally:
        if case["kind"] != "special":
            os.remove(path)
    if case["kind"] == "craft":
        return {"kind": "ok", "detail": "an authentic (re-signed) file loaded"}
    if not np.array_equal(model.predict(X, verbose=0), state["model"].predict(X, verbose=0)):
        return {"kind": "wrong", "detail": "a damaged file loaded as a different model (predictions differ)"}
    return {"kind": "ok", "detail": "the damage did not change the model"}


def file_error(exc, path):
    """Why a file error is unclear, or None."""
    from sinapse.models import ModelFileError

    msg = str(exc)
    if not isinstance(exc, (ModelFileError, ValueError, OSError, TypeError)):
        return f"{type(exc).__name__} is not ModelFileError/ValueError/OSError: {msg[:300]}"
    if path not in msg and os.path.basename(path) not in msg:
        return f"the message does not name the file {path}: {type(exc).__name__}: {msg[:300]}"
    return None


def _call(model, method, kw):
    if method == "build":
        return model.build(**kw)
    if method == "call":
        return model(kw["x"])
    return getattr(model, method)(**kw)


def run_model_case(case, decode, compare):
    method = case["method"]
    model = small_model()
    kw = decode(case["kw"])
    x = kw.get("x")
    try:
        res = _call(model, method, kw)
    except Exception as exc:  # noqa: BLE001 - judged below
        why = method_error(exc, method, model.name)
        return {"kind": "unclear", "detail": why} if why else {"kind": "ok", "detail": "error"}
    if method not in ("predict", "call"):
        return {"kind": "ok", "detail": "accepted"}
    try:
        clean = np.array(x, dtype=np.float32)  # what Keras converts x to
    except (TypeError, ValueError):
        return {"kind": "wrong", "detail": f"{method} accepted x that is not convertible to float32: {type(x)}"}
    expected = small_model().predict(clean, verbose=0) if clean.size else None
    why = compare([(f"{method} vs predict on float32 x", res, expected)]) if expected is not None else None
    return {"kind": "wrong", "detail": why} if why else {"kind": "ok", "detail": "result"}


def method_error(exc, method, model_name):
    """Why an error from Sequential.<method> is unclear, or None: the text before the first
    ': ' must name the method (or, for model(x), the model)."""
    from .worker import CLEAR, LEAKS

    msg = str(exc)
    if not isinstance(exc, CLEAR):
        return (
            f"{type(exc).__name__} is not one of TypeError/ValueError/IndexError/MemoryError/RuntimeError: {msg[:300]}"
        )
    head = msg.split(": ", 1)[0][:80]
    names = (method, model_name, "__call__") if method == "call" else (method,)
    if not any(n in head for n in names):
        return f"message does not start by naming {method}: {type(exc).__name__}: {msg[:300]}"
    leak = [s for s in LEAKS if s in msg]
    return f"message leaks internals ({leak[0]!r}): {msg[:300]}" if leak else None
