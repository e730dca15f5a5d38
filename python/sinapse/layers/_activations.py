"""The activation of a Dense/Conv2D/Activation layer: names, forward and backward on ops.

Three cases, chosen once per layer:
- "linear"/None: nothing to do.
- "relu": fused into the GEMM/conv epilogue; its derivative is read from the output
  (relu'(z) = [y > 0]), so no pre-activation is kept.
- everything else: the GEMM writes the pre-activation z, ``ops.activation`` (or softmax)
  writes y, and the backward uses z (or y, for softmax).
"""

from __future__ import annotations

from .. import ops
from ..ops._plan import PlanCache
from ..ops.activation import KINDS

# Keras names -> kernel names; "gelu" is Keras's default (approximate=False).
_ALIASES: dict[str | None, str] = {
    None: "linear",
    "linear": "linear",
    "softmax": "softmax",
    "log_softmax": "log_softmax",
    **{k: k for k in KINDS},
}
NAMES = tuple(k for k in _ALIASES if k is not None)


class Act:
    """A resolved activation: ``fused`` (the name the GEMM/conv epilogue applies, or None)."""

    __slots__ = ("name", "fused", "identity", "alpha", "_forward")

    def __init__(self, layer_name: str, identifier, alpha: float | None = None):
        """``alpha``: leaky_relu's negative slope or elu's scale (None: the op's Keras default)."""
        if identifier is not None and not isinstance(identifier, str):
            raise ValueError(
                f"{layer_name}: `activation` must be a name ({', '.join(NAMES)}), got {identifier!r}; "
                f"custom Python activations are not supported (they would run outside the kernels)"
            )
        key = identifier.lower() if isinstance(identifier, str) else None
        if key not in _ALIASES:
            raise ValueError(f"{layer_name}: `activation` must be one of {', '.join(NAMES)}, got {identifier!r}")
        self.name = _ALIASES[key]
        self.alpha = alpha
        self.identity = self.name == "linear"
        self.fused = self.name if self.name in ("linear", "relu") else None
        # the forward through a plan per shape (ops/_plan.py): a layer calls it on every batch
        if self.name in ("softmax", "log_softmax"):
            self._forward = PlanCache(getattr(ops, self.name), ("x", "out"))
        else:
            self._forward = PlanCache(ops.activation, ("x", "out"), name=self.name, alpha=alpha)

    def forward(self, z, out):
        """y = f(z) into ``out`` (only for non-fused activations)."""
        return self._forward(z.shape, z, out)

    def dz_out(self, layer, dy, key):
        """Where the backward writes dL/dz: nowhere for "linear" (dz is dy); dy itself (in place)
        inside the graph executor's backward for the element-wise activations (layers/base.py:
        dy_is_scratch); else the layer's buffer ``key``."""
        from .base import dy_is_scratch

        if self.identity:
            return None
        if self.name not in ("softmax", "log_softmax") and dy_is_scratch():
            return dy
        return layer.buffer(key, dy.shape)

    def backward(self, dy, z, y, out):
        """dL/dz given dL/dy; z is None for fused activations (relu reads y)."""
        if self.identity:
            return dy
        if self.name == "relu":
            return ops.activation_backward(dy, y, "relu", out=out)
        if self.name == "softmax":
            return ops.softmax_backward(dy, y, out=out)
        if self.name == "log_softmax":
            return ops.log_softmax_backward(dy, y, out=out)
        return ops.activation_backward(dy, z, self.name, alpha=self.alpha, out=out)
