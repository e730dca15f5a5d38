"""``cls.from_config(config)`` arguments, checked against ``cls.__init__`` before the call.

Shared by layers and initializers: a config read from a file or written by hand must fail
with the class's name and the argument at fault ("Dense.from_config: missing the required
argument `units`"), not with Python's "__init__() missing 1 required positional argument".
"""

from __future__ import annotations

import inspect


def arguments(cls: type, config) -> dict:
    """``config`` as keyword arguments for ``cls(**config)``; TypeError naming the class and the
    first missing or unknown argument."""
    where = f"{cls.__name__}.from_config"
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise TypeError(f"{where}: `config` must be a dict of argument names to values, got {config!r}")
    try:
        inspect.signature(cls).bind(**config)
    except TypeError:
        params = inspect.signature(cls).parameters
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
