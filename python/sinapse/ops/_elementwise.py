"""Shared set-up of ops whose inputs and output all have one shape (activations, softmax):
validation and device (the output is allocated by each op's launch)."""

from __future__ import annotations

from ._checks import backend, check_float32, check_out, check_shape, inspect


def validate(op: str, arrays: dict, out, *, min_ndim: int = 0, others: dict | None = None, allow: tuple[str, ...] = ()):
    """Validate same-shape float32 arrays and ``out``; returns (device, infos, out_info).

    The first array sets the shape; ``others`` are further float32 inputs of their own
    shapes (checked by the caller), on the same device; ``out`` (None: allocated by the
    launch) must have that shape and must not share memory with any input except, exactly
    (in place), the inputs named in ``allow`` (_checks.check_aliasing).
    """
    shaped = {name: inspect(op, name, x) for name, x in arrays.items()}
    infos = {**shaped, **{name: inspect(op, name, x) for name, x in (others or {}).items()}}
    out_info = inspect(op, "out", out) if out is not None else None
    device = backend(op, {**infos, **({"out": out_info} if out_info else {})})
    first_name, first = next(iter(shaped.items()))
    for name, info in infos.items():
        check_float32(op, name, info)
        if name in shaped and name != first_name:
            check_shape(op, name, info, first.shape, f"the shape of `{first_name}`")
    if len(first.shape) < min_ndim:
        raise ValueError(f"{op}: `{first_name}` must have at least {min_ndim} dimension(s), got {first.describe()}.")
    if out_info is not None:
        check_out(op, out_info, first.shape, infos, allow=allow)
    return device, infos, out_info
