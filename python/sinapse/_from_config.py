"""``cls.from_config(config)`` arguments, checked against ``cls.__init__`` before the call.

Shared by layers and initializers: a config read from a file or written by hand must fail
with the class's name and the argument at fault ("Dense.from_config: missing the required
argument `units`"), not with Python's "__init__() missing 1 required positional argument".

Keras 3 configs (``layer.get_config()`` in Keras 3.x, the ``config.json`` of a ``.keras`` file)
are accepted too (``keras_values``): a dtype policy dict becomes its dtype name, the Keras-only
arguments sinapse does not have are dropped when they hold Keras's default value (which
changes nothing) and refused, naming the argument, when they do not: a file never loads as a
model that computes something else than the one saved.
"""

from __future__ import annotations

import functools
import inspect

# Keras 3 arguments sinapse's classes do not take, with the value that makes each a no-op
# (keras/src/layers/*: Dense/Embedding quantization and LoRA, BatchNormalization's
# synchronized/renorm, InputLayer's sparse/ragged/optional, Keras 3.15's initializers'
# input_axes/output_axes, which only matter for EinsumDense fans).
KERAS_ONLY_DEFAULTS: dict = {
    "quantization_config": None,
    "quantization_mode": None,
    "lora_rank": None,
    "lora_alpha": None,
    "synchronized": False,
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "sparse": False,
    "ragged": False,
    "optional": False,
    "input_axes": None,
    "output_axes": None,
}
# Arguments whose every value is a no-op in sinapse: the recurrent layers' `seed` seeds only
# their dropout masks, and sinapse refuses dropout != 0 (layers/recurrent.py).
_IGNORED_WHEN_UNKNOWN = {"seed"}
_DTYPE_POLICIES = {"DTypePolicy", "FloatDTypePolicy", "Policy"}
_INTEGER_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


@functools.cache
def _signature(cls: type) -> inspect.Signature:
    """The constructor's signature, computed once per class (inspect.signature costs ~30 us: a
    file of 100,000 layers must not spend seconds on it)."""
    return inspect.signature(cls)


def _dtype_name(where: str, dtype):
    """A Keras 3 dtype policy ``{"class_name": "DTypePolicy", "config": {"name": "float32"}}`` -> "float32"."""
    if not isinstance(dtype, dict):
        return dtype
    inner = dtype.get("config")
    if dtype.get("class_name") not in _DTYPE_POLICIES or not isinstance(inner, dict) or "name" not in inner:
        raise ValueError(f"{where}: `dtype` {dtype!r} is not a Keras dtype policy sinapse knows"[:300])
    return inner["name"]


def keras_values(cls: type, config: dict) -> dict:
    """``config`` with Keras 3's spellings made sinapse's (see the module docstring); ValueError
    naming the class and the argument for a Keras-only argument with a non-default value."""
    where = f"{cls.__name__}.from_config"
    params = _signature(cls).parameters
    out = dict(config)
    if "dtype" in out:
        out["dtype"] = _dtype_name(where, out["dtype"])
        # Keras's integer inputs (InputLayer(dtype="int32") before an Embedding): sinapse's inputs
        # take any numeric array, so the input's dtype is not part of the model.
        if cls.__name__ == "InputLayer" and out["dtype"] in _INTEGER_DTYPES:
            del out["dtype"]
    axis = out.get("axis")
    if isinstance(axis, list) and len(axis) == 1:  # Keras 2's BatchNormalization writes its built axis as [3]
        out["axis"] = axis[0]
    if "batch_shape" in out and "batch_shape" not in params and "batch_input_shape" in params:
        out["batch_input_shape"] = out.pop("batch_shape")  # Keras 3's InputLayer
    for key in list(out):
        if key in params:
            continue
        if key in _IGNORED_WHEN_UNKNOWN:
            del out[key]
        elif key in KERAS_ONLY_DEFAULTS:
            if out[key] != KERAS_ONLY_DEFAULTS[key] or type(out[key]) is not type(KERAS_ONLY_DEFAULTS[key]):
                raise ValueError(
                    f"{where}: `{key}`={out[key]!r} is a Keras option sinapse does not support "
                    f"(only its default {KERAS_ONLY_DEFAULTS[key]!r}, which changes nothing)"[:300]
                )
            del out[key]
    return out


def arguments(cls: type, config) -> dict:
    """``config`` as keyword arguments for ``cls(**config)``; TypeError naming the class and the
    first missing or unknown argument. Keras 3 configs are accepted (``keras_values``)."""
    where = f"{cls.__name__}.from_config"
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise TypeError(f"{where}: `config` must be a dict of argument names to values, got {config!r}")
    config = keras_values(cls, config)
    try:
        _signature(cls).bind(**config)
    except TypeError:
        params = _signature(cls).parameters
        missing = [
            n
            for n, p in params.items()
            if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in config
        ]
        if missing:
            raise TypeError(f"{where}: missing the required argument `{missing[0]}`") from None
        known = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = [k for k in config if k not in known]
        raise TypeError(
            f"{where}: unknown argument `{unknown[0] if unknown else '?'}` (accepted: {', '.join(known) or 'none'})"
        ) from None
    return config
