"""Checks of the callbacks' constructor arguments (sinapse.callbacks), made at construction so
that a typo fails at once rather than epochs into a run. Every error starts with the callback's
name, names the argument in backticks and says what was received and what is expected.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np

from .ops._checks import as_float, as_int


def _is_real(value) -> bool:
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def integer(cls: str, name: str, value, minimum: int = 0) -> int:
    """An int >= minimum (bools too for ``verbose``-like counts would hide a mistake: refused)."""
    return as_int(cls, name, value, lo=minimum, what=f"an integer >= {minimum}", bounds="")


def verbosity(cls: str, value) -> int:
    """0, 1 or 2; True/False read as 1/0 (Keras code passes verbose=True)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return integer(cls, "verbose", value)


def number(
    cls: str,
    name: str,
    value,
    low: float = -math.inf,
    high: float = math.inf,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """A finite real number in the interval [low, high] (ends open when asked)."""
    return _number(cls, name, value, low, high, open_low, open_high, allow_none=False)


def optional_number(cls: str, name: str, value) -> float | None:
    """None, or a finite real number (baseline, initial_value_threshold)."""
    return _number(cls, name, value, -math.inf, math.inf, False, False, allow_none=True)


def _number(cls, name, value, low, high, open_low, open_high, allow_none) -> Any:
    interval = f"{'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    what = f"a finite number in {interval}"
    return as_float(
        cls,
        name,
        value,
        lo=low,
        hi=high,
        lo_open=open_low,
        hi_open=open_high,
        finite=True,
        float32=False,
        allow_none=allow_none,
        kind="a number",
        what=what,
    )


def string(cls: str, name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{cls}: `{name}` must be a str, got {value!r} ({type(value).__name__})")
    return value


def filepath(cls: str, name: str, value) -> str:
    if not isinstance(value, (str, os.PathLike)) or not isinstance(os.fspath(value), str) or not os.fspath(value):
        raise TypeError(
            f"{cls}: `{name}` must be a file path (a non-empty str or os.PathLike), got {value!r} "
            f"({type(value).__name__})"
        )
    return os.fspath(value)


class _AnyLog(dict):
    """Stands for the logs when a template is tried at construction: every key is a float."""

    def __missing__(self, key):
        return 0.5


def filepath_template(cls: str, value) -> str:
    """A path whose ``{epoch:02d}``/``{val_loss:.3f}`` fields are formatted each epoch. Formatted
    once here with dummy values (epoch and batch ints, every other field a float) so that a bad
    format spec, a positional ``{}`` or an unbalanced brace fails now; the field names can only be
    checked against the logs, at the first epoch's end (``format_filepath``)."""
    path = filepath(cls, "filepath", value)
    try:
        path.format_map(_AnyLog(epoch=1, batch=1))
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{cls}: `filepath`={path!r} is not a valid format template ({type(exc).__name__}: "
            f"{exc}); fields look like {{epoch:02d}} or {{val_loss:.3f}}, literal braces are doubled "
            f"{{{{ }}}}"
        ) from None
    return path


def format_filepath(cls: str, template: str, epoch: int, logs: dict) -> str:
    """The template with this epoch's values; an unknown field names itself and the known ones."""
    values = {**logs, "epoch": epoch}
    try:
        return template.format(**values)
    except KeyError as exc:
        raise ValueError(
            f"{cls}: `filepath`={template!r} has the field {{{exc.args[0]}}}, which is not in the "
            f"logs; available: {', '.join(sorted(values))}"
        ) from None
