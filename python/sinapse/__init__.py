from . import _cpu
