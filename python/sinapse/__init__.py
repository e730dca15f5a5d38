"""sinapse: a small deep-learning library whose hot path is hand-written C++/OpenMP and CUDA.

    >>> import numpy as np, sinapse
    >>> x = np.ones((4, 3), np.float32); w = np.ones((3, 2), np.float32)
    >>> sinapse.ops.gemm(x, w, activation="relu")
    array([[3., 3.], ...

Layers: kernels (csrc/) <- bindings (sinapse._cpu, sinapse._cuda) <- sinapse.ops <- layers
<- models <- CLI. sinapse.reference holds a NumPy implementation of every op.
"""

from . import _cpu
from ._config import config, show_config
from .errors import CudaUnavailableError

__version__ = _cpu.__version__


_MAX_THREADS = 4096


def get_num_threads() -> int:
    """Threads the CPU kernels may use (initially OpenMP's default, i.e. OMP_NUM_THREADS)."""
    return _cpu.get_num_threads()


def set_num_threads(n: int) -> None:
    """Let the CPU kernels use up to ``n`` threads (``n >= 1``); small ops still run on one."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_THREADS:
        raise ValueError(f"set_num_threads: n must be an integer from 1 to {_MAX_THREADS}, got {n!r}")
    _cpu.set_num_threads(n)
    import importlib

    for name in ("_cuda_sim", "_cuda_prof"):  # the simulators run CUDA blocks on as many OS threads
        try:
            importlib.import_module(f"{__name__}.{name}").set_num_threads(n)
        except ImportError:
            pass


from . import (  # noqa: E402  (need _cpu first)  # noqa: E402
    callbacks,
    constraints,
    cpu,
    cuda,
    devices,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,  # noqa: E402
    reference,
    registry,
    regularizers,
    utils,
)
from .devices import get_default_device, set_default_device  # noqa: E402
from .layers import Input  # noqa: E402  (keras.Input)
from .layers.symbolic import KerasTensor  # noqa: E402
from .models import Model, Sequential  # noqa: E402

__all__ = [
    "__version__",
    "config",
    "show_config",
    "get_num_threads",
    "set_num_threads",
    "CudaUnavailableError",
    "cpu",
    "cuda",
    "ops",
    "reference",
    "registry",
    "callbacks",
    "constraints",
    "devices",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "regularizers",
    "utils",
    "Input",
    "KerasTensor",
    "Model",
    "Sequential",
    "get_default_device",
    "set_default_device",
    "optimizers",
    "applications",
    "datasets",
    "viz",
]

# Last, because they import the package's own modules above (datasets: NumPy only; viz: matplotlib
# only when a plot is drawn).
from . import (  # noqa: E402
    applications,
    datasets,
    viz,
)
