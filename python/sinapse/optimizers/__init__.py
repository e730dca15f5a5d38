"""sinapse.optimizers: Keras-style optimizers over sinapse's fused update kernels.

    opt = sinapse.optimizers.Adam(learning_rate=1e-3)      # or get("adam"), get(config dict)
    opt.apply(params, grads)     # in place; state created lazily next to each parameter
    opt.learning_rate = 1e-4     # e.g. from ReduceLROnPlateau (not when it is a schedule)
    state = opt.get_state()      # flat dict of NumPy arrays; opt2.set_state(state) continues identically

Classes: SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW (Keras 3 names and defaults; Keras
1/2's ``lr=`` is accepted with a DeprecationWarning). Schedules: ``schedules``.
"""

from __future__ import annotations

from . import schedules
from .builtin import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer

_BY_NAME: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "adadelta": Adadelta,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def serialize(optimizer: Optimizer) -> dict:
    """Keras's form: {"class_name": ..., "config": optimizer.get_config()}."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict) -> Optimizer:
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = _BY_NAME.get(str(name).lower()) if name is not None else None
    if cls is None:
        raise ValueError(
            f"unknown optimizer {name!r} in {config!r}; known: {', '.join(c.__name__ for c in _BY_NAME.values())}"
        )
    return cls.from_config(dict(config.get("config", {})))


def get(identifier) -> Optimizer:
    """An optimizer from a name ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta";
    any case), a ``serialize`` dict, or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; expected one of {', '.join(_BY_NAME)}")
        return cls()  # type: ignore[call-arg]  # every built-in optimizer has a default learning_rate
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"could not interpret optimizer identifier {identifier!r} (a name, a config dict or an Optimizer instance)."
    )


__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Adam",
    "AdamW",
    "schedules",
    "get",
    "serialize",
    "deserialize",
]
