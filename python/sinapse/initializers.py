"""Weight initializers with Keras's names, defaults and formulas (keras.initializers).

An initializer is called with a shape and returns a float32 NumPy array:
``GlorotUniform()((784, 300))``. Fans follow Keras: Dense kernels (in, out) have
fan_in = in, fan_out = out; conv kernels (KH, KW, in, out) multiply both by KH * KW.
Without ``seed`` values come from ``sinapse.utils.global_rng()`` (so
``set_random_seed`` fixes them); with a seed, each call repeats the same values.
The "normal" variance-scaling initializers (glorot_normal, he_normal, lecun_normal) draw
from a normal truncated at two standard deviations, as Keras 2 does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import utils
from ._from_config import arguments
from .ops._checks import FLOAT32_MAX, as_float, as_int


def _real(where: str, name: str, value, *, lo: float | None = None, strict: bool = False) -> float:
    """A finite real number (Python or NumPy; not a bool or a string) within float32's range,
    optionally >= lo (> lo if ``strict``): a NaN or infinite argument would fill the weights with
    NaN or Inf."""
    return as_float(where, name, value, lo=lo, lo_open=strict, finite=True)


def _seed(where: str, seed):
    """None (the global generator) or an int in [0, 2**63), as NumPy's generators take."""
    return as_int(where, "seed", seed, hi=2**63 - 1, what="an int seed", allow_none=True)


def _shape(where: str, shape, dtype, copies: int = 1) -> tuple:
    """The shape to fill: a tuple/list of non-negative ints, bounded by the host's memory before
    anything is allocated (``copies``: how many arrays of that size the initializer holds at once)."""
    from .devices import get_device
    from .layers._limits import check_alloc

    if not isinstance(shape, (tuple, list)):
        raise TypeError(
            f"{where}: `shape` must be a tuple of non-negative ints, got {shape!r} ({type(shape).__name__})"
        )
    shape = tuple(as_int(where, "shape", d, what="a tuple of non-negative ints, each") for d in shape)
    what = "array" if copies == 1 else f"work arrays ({copies} of this shape)"
    check_alloc(where, what, (copies, *shape) if copies > 1 else shape, dtype, get_device("cpu"))
    return shape


def _fans(shape) -> tuple[float, float]:
    shape = tuple(shape)
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = float(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``__call__(shape, dtype="float32") -> np.ndarray``; get_config/from_config."""

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**arguments(cls, config))

    def _rng(self):
        seed = getattr(self, "seed", None)
        return utils.global_rng() if seed is None else np.random.default_rng(seed)


class Zeros(Initializer):
    """All zeros (Keras's ``initializers.Zeros``): ``init(shape)`` -> an array of ``shape``."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(_shape("Zeros", shape, dtype), dtype=dtype)


class Ones(Initializer):
    """All ones (Keras's ``initializers.Ones``): ``init(shape)`` -> an array of ``shape``."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(_shape("Ones", shape, dtype), dtype=dtype)


class Constant(Initializer):
    """Every element ``value`` (Keras's ``initializers.Constant``); TypeError/ValueError at construction for a non-number or non-finite argument."""

    def __init__(self, value=0.0):
        self.value = _real("Constant", "value", value)

    def __call__(self, shape, dtype="float32"):
        return np.full(_shape("Constant", shape, dtype), self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    """Uniform in [minval, maxval); Keras 1's ``init='uniform'`` is this with its defaults."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = _real("RandomUniform", "minval", minval), _real("RandomUniform", "maxval", maxval)
        if self.minval > self.maxval:
            raise ValueError(f"RandomUniform: `minval` must be <= `maxval`, got minval={minval!r}, maxval={maxval!r}")
        if self.maxval - self.minval > FLOAT32_MAX:  # the width is a float32 in __call__
            raise ValueError(f"RandomUniform: `maxval` - `minval` must fit float32, got {maxval!r} - {minval!r}")
        self.seed = _seed("RandomUniform", seed)

    def __call__(self, shape, dtype="float32"):
        u = self._rng().random(_shape("RandomUniform", shape, np.float32, 2), dtype=np.float32)
        return (u * np.float32(self.maxval - self.minval) + np.float32(self.minval)).astype(dtype, copy=False)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _normal_arguments(where: str, mean, stddev, seed) -> tuple:
    return _real(where, "mean", mean), _real(where, "stddev", stddev, lo=0.0), _seed(where, seed)


class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev`` (>= 0), Keras's ``initializers.RandomNormal``; ``seed``:
    an int in [0, 2**63) or None (the global generator). TypeError/ValueError at construction for a non-number or non-finite argument."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = _normal_arguments("RandomNormal", mean, stddev, seed)

    def __call__(self, shape, dtype="float32"):
        z = self._rng().standard_normal(_shape("RandomNormal", shape, np.float32, 2), dtype=np.float32)
        return (z * np.float32(self.stddev) + np.float32(self.mean)).astype(dtype, copy=False)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_standard_normal(rng, shape) -> np.ndarray:
    """Standard normal values redrawn until within two standard deviations (TensorFlow's rule)."""
    z = rng.standard_normal(shape, dtype=np.float32)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()), dtype=np.float32)
        bad = np.abs(z) > 2
    return z


class TruncatedNormal(Initializer):
    """Normal with ``mean`` and ``stddev``, values beyond two standard deviations redrawn
    (Keras's ``initializers.TruncatedNormal``). TypeError/ValueError at construction for a non-number or non-finite argument."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = _normal_arguments("TruncatedNormal", mean, stddev, seed)

    def __call__(self, shape, dtype="float32"):
        z = _truncated_standard_normal(self._rng(), _shape("TruncatedNormal", shape, np.float32, 3))
        return (z * np.float32(self.stddev) + np.float32(self.mean)).astype(dtype, copy=False)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Variance ``scale / n`` with n = fan_in, fan_out or their mean (``mode``)."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        where = type(self).__name__
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"{where}: `mode` must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"  # Keras's alias
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                f"{where}: `distribution` must be 'truncated_normal', 'untruncated_normal', 'normal' "
                f"or 'uniform', got {distribution!r}"
            )
        self.scale = _real(where, "scale", scale, lo=0.0, strict=True)  # Keras: "must be positive"
        self.mode, self.distribution, self.seed = mode, distribution, _seed(where, seed)

    def __call__(self, shape, dtype="float32"):
        shape = _shape(type(self).__name__, shape, np.float32, 3)
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            u = rng.random(shape, dtype=np.float32)
            return (u * np.float32(2 * limit) - np.float32(limit)).astype(dtype, copy=False)
        if self.distribution == "untruncated_normal":
            return (rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(variance))).astype(
                dtype, copy=False
            )
        # The standard deviation of a unit normal truncated at +-2, so the variance is right.
        stddev = math.sqrt(variance) / 0.87962566103423978
        return (_truncated_standard_normal(rng, shape) * np.float32(stddev)).astype(dtype, copy=False)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _preset(name, scale, mode, distribution):
    class Preset(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale, mode, distribution, seed)

        def get_config(self):
            return {"seed": self.seed}

    Preset.__name__ = Preset.__qualname__ = name
    Preset.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return Preset


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``, over the last axis vs all others (Keras)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = _real("Orthogonal", "gain", gain), _seed("Orthogonal", seed)

    def __call__(self, shape, dtype="float32"):
        # float64 work arrays: the normal draw, Q and the scaled result (bounded before any exists)
        shape = _shape("Orthogonal", shape, np.float64, 3)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: `shape` must have at least 2 dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # a uniform distribution over orthogonal matrices
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix, for 2-D shapes (Keras's ``initializers.Identity``);
    ValueError for any other rank. TypeError/ValueError at construction for a non-number or non-finite argument."""

    def __init__(self, gain=1.0):
        self.gain = _real("Identity", "gain", gain)

    def __call__(self, shape, dtype="float32"):
        shape = _shape("Identity", shape, np.float64, 2)
        if len(shape) != 2:
            raise ValueError(f"Identity: `shape` must be 2-D, got {shape}")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


_CLASSES = {
    cls.__name__: cls
    for cls in (
        Zeros,
        Ones,
        Constant,
        RandomUniform,
        RandomNormal,
        TruncatedNormal,
        VarianceScaling,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunUniform,
        LecunNormal,
        Orthogonal,
        Identity,
    )
}
_ALIASES = {
    "zeros": Zeros,
    "zero": Zeros,
    "ones": Ones,
    "one": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,
    "random_normal": RandomNormal,
    "normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "identity": Identity,
}

# Keras's functional spellings: sinapse.initializers.glorot_uniform() etc.
zeros, ones, constant = Zeros, Ones, Constant
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal, orthogonal, identity = LecunUniform, LecunNormal, Orthogonal, Identity


def get(identifier: Any) -> Any:
    """An initializer from a name ("he_normal", "HeNormal"), a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _CLASSES.get(name) or _ALIASES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(
                f"initializers.get: unknown initializer class_name {name!r}; expected one of "
                f"{', '.join(sorted(_CLASSES))}"
            )
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _ALIASES.get(identifier.lower())
        if cls is None:
            names = ", ".join(sorted(_ALIASES))
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}; expected one of {names}")
        return cls()
    raise TypeError(
        f"initializers.get: cannot interpret {identifier!r} ({type(identifier).__name__}) as an "
        f"initializer; pass a name, a config dict, an Initializer or a callable"
    )


def serialize(initializer: Initializer | None) -> dict | None:
    """``{"class_name": ..., "config": ...}`` (None for None), which ``get`` reads back; ValueError
    for a plain callable, which cannot be saved."""
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer):
        raise ValueError(f"cannot save a plain callable initializer ({initializer!r}); use an Initializer subclass")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
