"""The one place the arguments of fit / evaluate / predict and the *_on_batch methods are checked.

Every check raises before any work starts, with a message that begins with the public method
("Sequential.fit: ..."), names the argument as the caller spelled it (in backticks), says what
was received and what is expected. TypeError for a wrong type, ValueError for a wrong value.
Booleans are not integers here (``batch_size=True`` is refused), NumPy integers are.
"""

from __future__ import annotations

import numpy as np

from .. import callbacks as callbacks_mod
from ..ops._checks import _is_int, as_bool, as_float, as_int
from ._data import is_iterable_data


def integer(where: str, name: str, value, minimum: int = 1, allow_none: bool = True) -> int | None:
    """``value`` as an int >= minimum (None passes through when allowed)."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    return as_int(where, name, value, lo=minimum, what=what, bounds="", allow_none=allow_none)


def verbose(where, value):
    ok = value == "auto" if isinstance(value, str) else _is_int(value) and value in (0, 1, 2)
    if not ok:
        raise ValueError(f"{where}: `verbose` must be 'auto', 0, 1 or 2, got {value!r}")
    return value


def callback_list(where, value):
    if value is None:
        return None
    if isinstance(value, callbacks_mod.Callback):
        raise TypeError(f"{where}: `callbacks` must be a list of callbacks; wrap the one given: callbacks=[{value!r}]")
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{where}: `callbacks` must be a list of sinapse.callbacks.Callback instances, got {type(value).__name__}"
        )
    for i, cb in enumerate(value):
        if not isinstance(cb, callbacks_mod.Callback):
            raise TypeError(
                f"{where}: `callbacks[{i}]` must be a sinapse.callbacks.Callback instance, got {cb!r}"
                + (" (a class: instantiate it)" if isinstance(cb, type) else "")
            )
    return list(value)


def class_weight(where, value, output_shape):
    """A {class index: weight} dict with int keys in [0, n_classes) and finite weights >= 0."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"{where}: `class_weight` must be a dict {{class index: weight}}, got {type(value).__name__}")
    if len(output_shape) > 1:
        raise ValueError(
            f"{where}: `class_weight` is not supported for outputs with a time axis (shape "
            f"{(None, *output_shape)}); pass `sample_weight` of shape (samples, steps) instead"
        )
    n_classes = max(int(output_shape[-1]), 2)  # one sigmoid unit: classes 0 and 1
    checked = {}
    for key, weight in value.items():
        if not _is_int(key):
            raise TypeError(
                f"{where}: `class_weight` keys must be integer class indices, got {key!r} ({type(key).__name__})"
            )
        if not 0 <= key < n_classes:
            raise ValueError(
                f"{where}: `class_weight` key {key} is not a class index of this model's output: "
                f"expected 0 <= key < {n_classes}"
            )
        checked[int(key)] = as_float(
            where,
            f"class_weight[{key}]",
            weight,
            lo=0,
            finite=True,
            float32=False,
            kind="a number",
            what="a finite number >= 0",
        )
    return checked


def sample_weight(where, value, lead, name="sample_weight") -> np.ndarray | None:
    """float32 weights of shape ``lead`` (samples[, steps]) or (samples,): finite, >= 0."""
    if value is None:
        return None
    w = np.asarray(value)
    if w.dtype.kind not in "fiub":
        raise TypeError(f"{where}: `{name}` must hold numbers, got dtype {w.dtype}")
    w = w.astype(np.float32, copy=False)
    if w.shape != tuple(lead) and w.shape != tuple(lead[:1]):
        want = " or ".join(str(s) for s in dict.fromkeys((tuple(lead[:1]), tuple(lead))))
        raise ValueError(
            f"{where}: `{name}` must have shape {want} (one weight per sample"
            f"{' or per sample and step' if len(lead) > 1 else ''}), got {w.shape}"
        )
    if not np.isfinite(w).all():
        raise ValueError(f"{where}: `{name}` holds NaN or Inf at index {np.argwhere(~np.isfinite(w))[0].tolist()}")
    if (w < 0).any():
        raise ValueError(
            f"{where}: `{name}` must be >= 0, got {float(w.min())} at index {np.argwhere(w < 0)[0].tolist()}"
        )
    return w


def validation_split(where, value, x, y):
    split = as_float(where, "validation_split", value, lo=0, hi=1, hi_open=True, float32=False, kind="a number")
    if split and is_iterable_data(x):
        raise ValueError(
            f"{where}: `validation_split` needs arrays x and y, not a generator/iterable; pass "
            f"`validation_data` instead"
        )
    if split and y is None:
        raise ValueError(f"{where}: `validation_split` needs targets `y`")
    return split


def validation_data(where, value):
    if value is None or is_iterable_data(value):
        return value
    if not isinstance(value, (tuple, list)) or len(value) not in (2, 3):
        got = (
            f"a {type(value).__name__} of {len(value)} items"
            if isinstance(value, (tuple, list))
            else type(value).__name__
        )
        raise ValueError(
            f"{where}: `validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
            f"sample_weight_val), or a generator of such batches; got {got}"
        )
    if value[1] is None:
        raise ValueError(f"{where}: `validation_data` needs targets: (x_val, y_val), got y_val=None")
    return value


def validation_freq(where, value):
    """An int n >= 1 (validate every n epochs) or a collection of 1-based epochs (Keras 2)."""
    if _is_int(value):
        return integer(where, "validation_freq", value, allow_none=False)
    if isinstance(value, (list, tuple, set, frozenset)) and value and all(_is_int(v) and v >= 1 for v in value):
        return frozenset(int(v) for v in value)
    raise TypeError(
        f"{where}: `validation_freq` must be a positive integer (every n epochs) or a list of "
        f"1-based epoch numbers, got {value!r}"
    )


def fit(
    model,
    x,
    y,
    batch_size,
    epochs,
    verbose_,
    callbacks,
    split,
    val_data,
    shuffle,
    initial_epoch,
    steps_per_epoch,
    validation_steps,
    validation_batch_size,
    freq,
) -> dict:
    """Check every fit argument; returns the normalised ones that fit uses."""
    where = f"{type(model).__name__}.fit"
    if x is None:
        raise ValueError(f"{where}: no input data: pass `x` (and `y`), or a generator of (x, y) batches as `x`")
    args = {
        "batch_size": integer(where, "batch_size", batch_size),
        "epochs": integer(where, "epochs", epochs, minimum=0, allow_none=False),
        "initial_epoch": integer(where, "initial_epoch", initial_epoch, minimum=0, allow_none=False),
        "verbose": verbose(where, verbose_),
        "callbacks": callback_list(where, callbacks),
        "validation_split": validation_split(where, split, x, y),
        "validation_data": validation_data(where, val_data),
        "steps_per_epoch": integer(where, "steps_per_epoch", steps_per_epoch),
        "validation_steps": integer(where, "validation_steps", validation_steps),
        "validation_batch_size": integer(where, "validation_batch_size", validation_batch_size),
        "validation_freq": validation_freq(where, freq),
    }
    args["shuffle"] = as_bool(where, "shuffle", shuffle)
    if args["initial_epoch"] > args["epochs"]:
        raise ValueError(
            f"{where}: `initial_epoch`={initial_epoch} is past `epochs`={epochs}; `epochs` is the index "
            f"of the last epoch (fit runs epochs initial_epoch .. epochs-1), not a number of epochs to add"
        )
    if is_iterable_data(x) and batch_size is not None:
        raise ValueError(f"{where}: do not pass `batch_size` with a generator/iterable `x` (its batches are given)")
    return args  # class_weight and sample_weight are checked with the data (they need the output shape)


def evaluate(model, batch_size, verbose_, steps, callbacks, return_dict):
    where = f"{type(model).__name__}.evaluate"
    as_bool(where, "return_dict", return_dict)
    return (
        integer(where, "batch_size", batch_size),
        verbose(where, verbose_),
        integer(where, "steps", steps),
        callback_list(where, callbacks),
    )


def predict(model, x, batch_size, verbose_, steps, callbacks):
    if (
        batch_size is None
        and steps is None
        and callbacks is None
        and x is not None
        and type(verbose_) is int
        and verbose_ == 0
    ):
        return None, 0, None, None  # predict(x): nothing to check (a batch-1 predict costs ~25 us; keep it)
    where = f"{type(model).__name__}.predict"
    if x is None:
        raise ValueError(f"{where}: no input data: pass `x`")
    if is_iterable_data(x) and batch_size is not None:
        raise ValueError(f"{where}: do not pass `batch_size` with a generator/iterable `x` (its batches are given)")
    return (
        integer(where, "batch_size", batch_size),
        verbose(where, verbose_),
        integer(where, "steps", steps),
        callback_list(where, callbacks),
    )


def on_batch(model, method, x, reset_metrics=False, return_dict=False):
    where = f"{type(model).__name__}.{method}"
    if x is None or is_iterable_data(x):
        raise TypeError(f"{where}: `x` must be one batch (an array), got {type(x).__name__}")
    as_bool(where, "reset_metrics", reset_metrics)
    as_bool(where, "return_dict", return_dict)
    return where
