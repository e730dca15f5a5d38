# Type stub for the compiled extension module sinapse._cuda_prof (pybind11, csrc/bindings/): every
# attribute is Any, so mypy checks the Python that calls it without stubs for each binding.
from typing import Any

def __getattr__(name: str) -> Any: ...
