"""Where a model's parameters live and its kernels run: "cpu", "cuda" or "cuda-sim".

Pick it per model with ``model.compile(..., device="cuda")``, or for every model compiled
afterwards with ``sinapse.set_default_device("cuda")`` (the default default is "cpu").

- "cpu": NumPy arrays, the C++/OpenMP kernels.
- "cuda": CuPy arrays on the current GPU, the CUDA kernels. Parameters, gradients and
  optimizer state stay on the GPU; each training batch is copied there once per step;
  ``predict`` returns NumPy.
- "cuda-sim": for tests. NumPy arrays run through the *CUDA* kernels in the SIMT
  simulator (``sinapse.cuda.simulate()``), so the layer API can be checked end to end on
  the CUDA kernels on a machine without a GPU. Slow: tiny models only.

A ``Device`` is the one object the layers and the training loop ask for arrays
(``empty``/``zeros``/``asarray``), for the array module (``xp``: numpy or cupy) and for the
context every kernel call of a step runs in (``scope()``).
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import numpy as np

_NAMES = ("cpu", "cuda", "cuda-sim")


class Device:
    """One of "cpu", "cuda", "cuda-sim"; see the module docstring."""

    __slots__ = ("name", "xp", "_simulate")

    def __init__(self, name: str):
        if name not in _NAMES:
            raise ValueError(
                f"unknown device {name!r}; expected one of {', '.join(_NAMES)} ('cuda_sim' is accepted for 'cuda-sim')."
            )
        self.name = name
        self._simulate = name == "cuda-sim"
        if name == "cuda":
            from . import cuda

            if not cuda.is_available():
                raise RuntimeError(f"device 'cuda' is not usable here: {cuda.why_unavailable()}")
            self.xp = import_cupy()
            from .distributed import _comm

            _comm.use_local_gpu(self.xp)  # under an MPI launcher: one process per GPU
        else:
            if self._simulate:
                from . import cuda

                if not cuda.simulator_built():
                    raise RuntimeError(
                        "device 'cuda-sim' needs sinapse built with the CUDA simulator (SINAPSE_CUDA_SIM=ON, x86-64)."
                    )
            self.xp = np

    def __repr__(self) -> str:
        return f"Device({self.name!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def is_cuda(self) -> bool:
        return self.name == "cuda"

    def scope(self) -> contextlib.AbstractContextManager:
        """The context the kernels of one step run in (the simulator for "cuda-sim")."""
        if self._simulate:
            from . import cuda

            return cuda.simulate()
        return contextlib.nullcontext()

    def empty(self, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        """An uninitialised array on this device."""
        return self.xp.empty(shape, dtype=dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        """A zero-filled array on this device."""
        return self.xp.zeros(shape, dtype=dtype)

    def asarray(self, x: Any, dtype: Any = np.float32) -> Any:
        """``x`` on this device as a C-contiguous array of ``dtype`` (no copy when it already is)."""
        if self.is_cuda:
            return self.xp.ascontiguousarray(self.xp.asarray(x, dtype=dtype))
        return np.ascontiguousarray(to_numpy(x), dtype=dtype)

    def copy_into(self, dst: Any, src: Any) -> None:
        """dst[...] = src, where src may live on the host (a host-to-device copy on CUDA)."""
        if self.is_cuda:
            if isinstance(src, np.ndarray):
                dst.set(src)
            else:
                dst[...] = src
        else:
            np.copyto(dst, src)


def import_cupy() -> ModuleType:
    """CuPy, imported on first use: the one place sinapse imports it (a CPU-only install never
    does). ImportError when CuPy is not installed (``pip install 'sinapse[cuda]'``)."""
    import cupy

    return cupy


def array_module(x: Any) -> ModuleType:
    """The array module whose functions work on ``x``: NumPy for a NumPy array, else CuPy (the
    model's device arrays on "cuda"). Keras's ``keras.ops`` dispatch, reduced to two backends."""
    return np if isinstance(x, np.ndarray) else import_cupy()


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy view/copy of any array (CuPy arrays are copied to the host)."""
    if isinstance(x, np.ndarray):
        return x
    get = getattr(x, "get", None)
    if get is not None and hasattr(x, "__cuda_array_interface__"):
        return get()
    return np.asarray(x)


_DEFAULT = "cpu"


def get_device(device: str | Device | None = None, where: str | None = None) -> Device:
    """A Device from a name ("cpu", "cuda", "cuda:N", "cuda-sim" / "cuda_sim"), a Device, or None
    (the default device). ``where`` (the public call, "Sequential.compile") starts every error,
    which names the argument `device`. "gpu" is refused: Keras 3 has no such device name, and
    taking it as "cuda" would hide a typo of "cpu"."""
    if isinstance(device, Device):
        return device
    if device is None:
        device = _DEFAULT
    prefix = f"{where}: `device`" if where else "`device`"
    if not isinstance(device, str):
        raise TypeError(
            f"{prefix} must be 'cpu', 'cuda', 'cuda-sim' or a sinapse.devices.Device, got {device!r} "
            f"({type(device).__name__})"
        )
    name = device.lower().replace("_", "-")
    if name.startswith("cuda:"):
        name = "cuda"
    if name not in _NAMES:
        raise ValueError(
            f"{prefix}: unknown device {device!r}; expected one of {', '.join(_NAMES)} "
            f"('cuda_sim' is accepted for 'cuda-sim')"
        )
    try:
        return Device(name)
    except RuntimeError as exc:  # CUDA not usable here: say which call asked for it
        raise type(exc)(f"{prefix}={device!r}: {exc}") from None


def set_default_device(device: str | Device) -> None:
    """Device for models compiled without ``device=`` from now on ("cpu", "cuda", "cuda-sim")."""
    global _DEFAULT
    _DEFAULT = get_device(device, "set_default_device").name


def get_default_device() -> str:
    """The name of the device models compile to without ``device=`` ("cpu" unless set)."""
    return _DEFAULT
