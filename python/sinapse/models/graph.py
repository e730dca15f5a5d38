"""The graph executor: every model (Sequential, functional, subclassed) runs one training step here.

A model is compiled into a ``Graph``: numbered tensor *slots* and a list of *steps* in
topological order, each step one layer call (a node) reading the slots of its inputs and
writing the slot of its output. Sequential is the special case of a chain (slot i -> layer
i -> slot i + 1); a functional model is any DAG.

Forward (``Graph.forward``)
    Put the batch in the input slots; run each step's ``layer.forward`` (kernels writing into
    the layer's reused buffers); propagate masks along the edges (``compute_mask``). A slot
    is dropped as soon as its last reader has run when nothing needs it for the backward
    (inference), so predict holds only the live activations' references.

Backward (``Graph.backward``)
    Seed the output slots with dL/dy from the loss; walk the steps in reverse; each step
    whose output received a gradient calls ``layer.backward(dy, need_dx)`` (or
    ``backward_logits`` for a softmax/sigmoid head fused with its cross-entropy), and adds
    each input gradient into its input slot. Where a tensor fans out to several consumers
    the gradients are *summed* (``ops.merge`` / ``ops.axpy`` into a buffer the graph owns). The walk stops
    below the lowest step with trainable weights: a step computes dx only when some step
    upstream of it trains (``need_dx``).

Shared layers (one layer called at several nodes) keep one set of weights: the first node
runs the layer itself, each other node a *replica* (same class and config, the weight
*values* are the same arrays, own buffers and own gradient arrays — a layer keeps its
forward state on ``self``, so two calls cannot share one object). After the backward the
replicas' gradients are added into the layer's (``reduce_shared_gradients``): the summed
gradient of a shared weight, as Keras computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ops
from ..layers import _activity
from ..layers.base import dy_is_scratch, executor_backward


@dataclass(eq=False)
class Step:
    """One node to run: ``layer`` reads slots ``ins``, writes slot ``out``."""

    layer: Any  # a Layer, or a Model used as a layer (same forward/backward interface)
    ins: tuple[int, ...]
    out: int
    multi: bool  # the layer takes a list of inputs (merge layers, multi-input models)
    trains: bool = False  # the layer has trainable weights
    need_dx: bool = False  # some step upstream trains: compute the input gradient(s)
    backward: bool = False  # run this step's backward at all (trains or need_dx)
    fused: bool = False  # its output is a softmax/sigmoid head fused into the loss: backward_logits
    transient: bool = False  # no backward reads its output: written into a pooled array (Graph)
    primary: Any = None  # for a replica: the shared layer whose weights it uses


@dataclass(eq=False)
class Graph:
    """Slots, steps in topological order, and which slots are the model's inputs and outputs."""

    n_slots: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    steps: list[Step]
    masking: bool = False  # some layer makes a mask (Embedding(mask_zero=True), Masking)
    last_use: dict[int, int] = field(default_factory=dict)  # slot -> index of the last step reading it
    _acc: dict = field(default_factory=dict)  # (slot, shape) -> gradient accumulator owned by the graph
    pool: TransientPool = field(default_factory=lambda: TransientPool())
    releases: dict[int, tuple[int, ...]] = field(default_factory=dict)  # step index -> transient slots it ends
    activity_penalty: float = 0.0  # the last forward's activity_regularizer penalties (layers/_activity.py)

    def __post_init__(self) -> None:
        for i, step in enumerate(self.steps):
            for s in step.ins:
                self.last_use[s] = i
        for s in self.outputs:
            self.last_use[s] = len(self.steps)  # outputs live to the end
        # A transient activation: no backward reads it (its producer differentiates without
        # its output, every reader without its input) and it is no output — its array goes
        # back to the pool once its last reader has run, for a later one of the same shape.
        readers: dict[int, list[Step]] = {}
        for step in self.steps:
            for s in step.ins:
                readers.setdefault(s, []).append(step)
        ends: dict[int, list[int]] = {}
        for step in self.steps:
            s = step.out
            step.transient = (
                s in readers
                and s not in self.outputs
                and not getattr(step.layer, "backward_reads_output", True)
                and not getattr(step.layer, "output_aliases_input", False)  # its output is another slot's array
                and not any(
                    getattr(r.layer, "backward_reads_input", True) or getattr(r.layer, "output_aliases_input", False)
                    for r in readers[s]
                )  # a reader that returns its input keeps the array alive past its own forward
            )
            if step.transient:
                ends.setdefault(self.last_use[s], []).append(s)
        self.releases = {i: tuple(v) for i, v in ends.items()}

    # ------------------------------------------------------------------ forward
    def forward(self, xs, training: bool, input_masks=None, keep: bool = True):
        """Run every step; returns (outputs, their masks or None). ``keep=False`` (inference)
        releases each slot after its last reader."""
        vals: list[Any] = [None] * self.n_slots
        self.activity_penalty = 0.0
        for s, x in zip(self.inputs, xs):
            vals[s] = x
        if not self.masking and input_masks is None:
            for i, step in enumerate(self.steps):
                x = [vals[s] for s in step.ins] if step.multi else vals[step.ins[0]]
                vals[step.out] = self._run(step, x, training, None)
                self._end_of_step(vals, step, i, keep)
            return [vals[s] for s in self.outputs], None
        masks: list[Any] = [None] * self.n_slots
        if input_masks is not None:
            for s, m in zip(self.inputs, input_masks):
                masks[s] = m
        for i, step in enumerate(self.steps):
            if step.multi:
                x, m = [vals[s] for s in step.ins], [masks[s] for s in step.ins]
                if all(mi is None for mi in m):
                    m = None
            else:
                x, m = vals[step.ins[0]], masks[step.ins[0]]
            vals[step.out] = self._run(step, x, training, m)
            masks[step.out] = step.layer.compute_mask(x, m)
            self._end_of_step(vals, step, i, keep)
        return [vals[s] for s in self.outputs], [masks[s] for s in self.outputs]

    def _run(self, step, x, training, mask):
        """One step's forward (and its activity_regularizer's penalty); a transient output is
        written into an array from the pool."""
        y = self._forward_step(step, x, training, mask)
        if getattr(step.layer, "activity_regularizer", None) is not None:
            self.activity_penalty += _activity.penalty(step.layer, y, training)
        nested = getattr(step.layer, "_graph", None)  # a model used as a layer: its layers' penalties
        if nested is not None:
            self.activity_penalty += nested().activity_penalty
        return y

    def _forward_step(self, step, x, training, mask):
        if not step.transient:
            return step.layer.forward(x, training, mask)
        layer = step.layer
        layer._output_pool = self.pool  # Layer.buffer("y", ...) takes from it (layers/base.py)
        try:
            return layer.forward(x, training, mask)
        finally:
            del layer._output_pool

    def _end_of_step(self, vals, step, i, keep) -> None:
        """After step i's forward: transient activations it read last go back to the pool;
        without ``keep`` (inference) every slot it read last is dropped."""
        for s in self.releases.get(i, ()):
            self.pool.release(vals[s])
        if not keep:
            for s in step.ins:
                if self.last_use.get(s) == i:
                    vals[s] = None

    # ------------------------------------------------------------------ backward
    def backward(self, grads, need_input_grads: bool = False, on_step=None):
        """``grads``: dL/dy per output (None: that output has no loss). Fills every trainable
        weight's ``grad``; returns dL/dx per input when ``need_input_grads`` (nested models).
        ``on_step(i)`` is called after step i's backward, for every i in reverse order (the
        distributed gradient buckets start their allreduce there: distributed/_reducer.py).

        Each step's dy is dead after its backward (its slot is cleared first and no layer returns
        one array for two inputs), so layers may write dx into it in place (layers/base.py:
        dy_is_scratch) — the executor holds one gradient per live slot, not one per layer."""
        with executor_backward():
            return self._backward(grads, need_input_grads, on_step)

    def _backward(self, grads, need_input_grads, on_step):
        g: list[Any] = [None] * self.n_slots
        owned = [False] * self.n_slots  # the slot's gradient is an accumulator the graph owns
        for s, d in zip(self.outputs, grads):
            if d is not None:
                self._add(g, owned, s, d)
        for i in range(len(self.steps) - 1, -1, -1):
            self._backward_step(self.steps[i], g, owned, need_input_grads)
            if on_step is not None:
                on_step(i)
        return [g[s] for s in self.inputs] if need_input_grads else None

    def _backward_step(self, step, g, owned, need_input_grads) -> None:
        if not step.backward and not need_input_grads:
            return
        dy = g[step.out]
        if dy is None:
            return  # no loss depends on this step
        g[step.out] = None
        need_dx = step.need_dx or need_input_grads
        layer = step.layer
        if getattr(layer, "activity_regularizer", None) is not None:  # dL/dy of its penalty joins dy
            dy = _activity.add_gradient(layer, dy, dy_is_scratch())
        dx = layer.backward_logits(dy, need_dx) if step.fused else layer.backward(dy, need_dx)
        if not need_dx or dx is None:
            return
        if step.multi:
            for s, d in zip(step.ins, dx):
                if d is not None:
                    self._add(g, owned, s, d)
        else:
            self._add(g, owned, step.ins[0], dx)

    def _add(self, g, owned, s, d) -> None:
        """g[s] += d; the first gradient is kept by reference, the sum goes to a graph buffer
        (a layer's dx buffer, or dy passed through, must not be written by another step)."""
        if g[s] is None:
            g[s] = d
            return
        if not owned[s]:
            key = (s, tuple(d.shape))
            acc = self._acc.get(key)
            if acc is None or type(acc) is not type(d):
                acc = self._acc[key] = d.copy()
                ops.axpy(1.0, g[s], acc, out=acc)
            else:
                ops.merge([g[s], d], "add", out=acc)  # one pass: acc = g[s] + d
            g[s], owned[s] = acc, True
        else:
            ops.axpy(1.0, d, g[s], out=g[s])

    def reduce_shared_gradients(self) -> None:
        """Add each replica's weight gradients into its shared layer's (summed gradient)."""
        for step in self.steps:
            if step.primary is None or not step.trains:
                continue
            for rw, pw in zip(step.layer.trainable_weights, step.primary.trainable_weights):
                if rw.grad is not None and pw.grad is not None:
                    ops.axpy(1.0, rw.grad, pw.grad, out=pw.grad)


class TransientPool:
    """Arrays for transient activations, by shape: taken by a step's forward, given back after
    the last reader's forward, kept between steps (so a step allocates nothing)."""

    def __init__(self) -> None:
        self.free: dict[tuple, list] = {}
        self.lent: dict[int, tuple] = {}

    def take(self, shape, dtype, device):
        key = (tuple(shape), np.dtype(dtype).str, device.name)
        stack = self.free.get(key)
        arr = stack.pop() if stack else device.empty(tuple(shape), dtype)
        self.lent[id(arr)] = key
        return arr

    def release(self, arr) -> None:
        key = self.lent.pop(id(arr), None)
        if key is not None:  # (an output that is a view of its input was never lent)
            self.free.setdefault(key, []).append(arr)


def mark_backward(graph: Graph) -> None:
    """Set ``trains`` / ``need_dx`` / ``backward`` of every step: dx only above a trainable step."""
    upstream_trains = [False] * graph.n_slots  # some step that produced this slot (or above) trains
    for step in graph.steps:
        step.trains = bool(step.layer.trainable_weights)
        above = any(upstream_trains[s] for s in step.ins)
        step.need_dx = above
        step.backward = above or step.trains
        upstream_trains[step.out] = above or step.trains
