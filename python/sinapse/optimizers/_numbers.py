"""The one check for the optimizers' and schedules' numeric arguments.

Every float hyper-parameter (learning_rate, momentum, rho, beta_1, epsilon, clipnorm, ...) goes
through ``hyper`` when it is set, so a bad value fails where the user wrote it (``SGD: ...``)
rather than inside the first step's kernel, and the step itself needs no check.
"""

from __future__ import annotations

from ..ops._checks import FLOAT32_MAX, as_float


def _expected(lo, hi, lo_open, hi_open) -> str:
    if hi is None:  # the kernels take float32 scalars: a larger value would silently become inf
        return f"a finite number {'>' if lo_open else '>='} {lo:g} (at most {FLOAT32_MAX:.4g}, float32's range)"
    return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def hyper(
    owner: str,
    name: str,
    value,
    lo: float = 0.0,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    why: str = "",
) -> float:
    """A finite float32-representable number in [lo, hi] (open ends as asked), else a TypeError or
    ValueError "<owner>: `<name>` must be ..., got ...". An open lower end also refuses values that
    round to ``lo`` in float32 (epsilon=1e-50 is 0 to the kernel: the 0/0 it exists to prevent)."""
    what = _expected(lo, hi, lo_open, hi_open)
    return as_float(
        owner,
        name,
        value,
        lo=lo,
        hi=hi,
        lo_open=lo_open,
        hi_open=hi_open,
        finite=True,
        lo_as_float32=True,
        what=what,
        why=why,
    )


def optional_positive(owner: str, name: str, value) -> float | None:
    """None (off), or a number > 0 (clipnorm, clipvalue, global_clipnorm)."""
    return None if value is None else hyper(owner, name, value, lo_open=True)


def name_str(owner: str, value, default: str) -> str:
    """A ``name`` argument: a str (None means the default), as Keras requires."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise TypeError(f"{owner}: `name` must be a str, got {value!r} ({type(value).__name__}).")
    return value
