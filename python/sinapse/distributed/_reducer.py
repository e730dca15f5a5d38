"""Gradient averaging in buckets, started while the backward is still running.

The idea (Horovod's tensor fusion, PyTorch DDP's gradient buckets): one allreduce per weight
costs a latency per call, and a model has dozens to hundreds of small weights (biases, batch
norm scales); one allreduce of everything must wait for the whole backward. So the weights are
laid out, once per training plan, in the order their gradients become final during the
backward (the last layer's first), and cut into buckets of about ``bucket_bytes``. When the
backward has finished every layer of a bucket, its gradients are copied into one flat buffer
(scaled by this rank's share of the global batch, ``local_rows / global_rows``, so that the sum
over ranks is the mean over the global batch) and a non-blocking allreduce of it starts; the
backward goes on with the layers below while it runs, and the training step waits for all
buckets only before the optimizer. Each later layer's backward polls the open requests, which
is what moves MPI's progress engine along.

Determinism: the buckets, their order and their sizes depend only on the model, so for a given
number of processes each bucket is reduced by the same algorithm in the same order on every
run (bit-identical runs).

A shared layer (called at several nodes) has its gradient completed only by
``Graph.reduce_shared_gradients`` after the backward, so its weights go in the last bucket.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _comm

_END = -1  # "final only after the whole backward"


class _Bucket:
    __slots__ = ("weights", "offsets", "size", "ready_after", "buffer", "views", "request")

    def __init__(self):
        self.weights: list = []
        self.offsets: list[int] = []
        self.size = 0
        self.ready_after: int = _END  # the step index after whose backward every gradient in it is final
        self.buffer: Any = None
        self.views: list = []  # each weight's gradient: a view of ``buffer``
        self.request: Any = None


def final_steps(graph, weights) -> dict[int, int]:
    """id(weight) -> the index of the step after whose backward its gradient is final (_END: after
    reduce_shared_gradients, for shared layers and weights no step owns)."""
    shared = {id(s.primary) for s in graph.steps if s.primary is not None}
    final: dict[int, int] = {}
    for i, step in enumerate(graph.steps):
        shared_step = step.primary is not None or id(step.layer) in shared
        for w in step.layer.trainable_weights:
            if shared_step:
                final[id(w)] = _END
            else:
                final.setdefault(id(w), i)  # the lowest step touching it runs last in the backward
    return {id(w): final.get(id(w), _END) for w in weights}


class GradientReducer:
    """Averages the gradients of ``weights`` over the process group, bucket by bucket."""

    def __init__(self, graph, weights, transport, bucket_bytes: int):
        self.transport = transport
        final = final_steps(graph, weights)
        # Readiness order: the highest step first (the backward runs in reverse); _END last.
        order = sorted(weights, key=lambda w: final[id(w)] if final[id(w)] != _END else -(2**62), reverse=True)
        self.buckets: list[_Bucket] = []
        bucket = _Bucket()
        for w in order:
            n = int(np.prod(w.value.shape))
            if bucket.weights and (bucket.size + n) * 4 > bucket_bytes:
                self.buckets.append(bucket)
                bucket = _Bucket()
            bucket.weights.append(w)
            bucket.offsets.append(bucket.size)
            bucket.size += n
            f = final[id(w)]
            bucket.ready_after = f if len(bucket.weights) == 1 else min(bucket.ready_after, f)
        if bucket.weights:
            self.buckets.append(bucket)
        self.scale = 1.0
        self.next = 0
        self.bytes = 4 * sum(b.size for b in self.buckets)

    def begin(self, scale: float) -> None:
        """A new step: this rank's gradients will be multiplied by ``scale`` before the sum."""
        self.scale = float(scale)
        self.next = 0

    def step_done(self, i: int) -> None:
        """The backward of step ``i`` is done: start every bucket now complete, move the others on."""
        while self.next < len(self.buckets) and self.buckets[self.next].ready_after >= i:
            self._start(self.buckets[self.next])
            self.next += 1
        for b in self.buckets[: self.next]:
            self.transport.test(b.request)  # (testing is what moves MPI's progress engine)

    def finish(self) -> None:
        """Start what is left and wait for every bucket: the gradients (views of the buckets) then
        hold the averages."""
        while self.next < len(self.buckets):
            self._start(self.buckets[self.next])
            self.next += 1
        for k, b in enumerate(self.buckets):
            self.transport.wait(b.request, f"the allreduce of gradient bucket {k + 1}/{len(self.buckets)}")
            b.request = None

    def _start(self, b: _Bucket) -> None:
        """Gather the bucket's gradients into its buffer, scale it, start its allreduce.

        The gradients *are* views of the buffer (PyTorch DDP's gradient_as_bucket_view): a layer
        that writes its gradient in place (Dense, Conv2D) writes straight into the bucket, so the
        usual step copies nothing; a layer that hands back a new array (BatchNormalization's
        kernel outputs, the RNNs) has it copied in once and its ``grad`` re-pointed to the view.
        One multiply then scales the whole bucket (one Python call, not one per weight)."""
        first = b.weights[0].grad if b.weights[0].grad is not None else b.weights[0].value
        xp = self.transport.xp(first)
        if b.buffer is None or self.transport.xp(b.buffer) is not xp:
            b.buffer = xp.empty(b.size, np.float32)
            b.views = [
                b.buffer[off : off + w.value.size].reshape(w.value.shape) for w, off in zip(b.weights, b.offsets)
            ]
        for w, view in zip(b.weights, b.views):
            if w.grad is None:
                view[...] = 0  # (a weight without a gradient has none on every rank: the model is the same)
            elif w.grad is not view:
                view[...] = w.grad
                w.grad = view
        if self.scale == 0.0:  # a stand-in row (models/_data.py); 0 * inf would be NaN
            b.buffer[...] = 0
        elif self.scale != 1.0:
            xp.multiply(b.buffer, np.float32(self.scale), out=b.buffer)
        b.request = self.transport.start(b.buffer)


class MpiTransport:
    """Buckets of NumPy arrays: ``Iallreduce`` (sum, in place) on the group's gradient communicator."""

    def __init__(self, group):
        self.group = group

    @staticmethod
    def xp(_array):
        return np

    def start(self, buffer):
        g = self.group
        return g.grad_comm.Iallreduce(g.MPI.IN_PLACE, buffer, op=g.MPI.SUM)

    @staticmethod
    def test(request) -> bool:
        return bool(request.Test())

    @staticmethod
    def wait(request, what: str) -> None:
        _comm.wait(request, what)


def transport_for(group, device, backend: str):
    """MPI for host arrays; NCCL (distributed/_nccl.py) for CuPy arrays unless ``backend="mpi"``."""
    if device.is_cuda and backend in ("auto", "nccl"):
        from ._nccl import NcclTransport

        return NcclTransport(group, device)
    if device.is_cuda:
        from ._nccl import HostStagedTransport

        return HostStagedTransport(group)
    return MpiTransport(group)
