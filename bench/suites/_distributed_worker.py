"""The process side of ``python -m bench distributed`` (bench/suites/distributed.py launches it,
under ``mpirun`` or alone). Run as a script, not as part of the ``bench`` package, so that each
rank imports only NumPy, sinapse and mpi4py.

    python _distributed_worker.py train MODEL --batch B --variants single,ddp:4,... --out FILE
    python _distributed_worker.py allreduce --out FILE

``train``: times ``fit`` steps (synthetic data) of MODEL for each variant, in blocks alternating
their order from round to round (ABC, CBA, ...), all ranks running the same fixed sequence so the
collectives match; the ranks compute with 1 thread each. A step's time is the time between two consecutive ``on_train_batch_begin``
calls: everything ``fit`` does per step (slicing, forward, loss, backward, the gradient
allreduce, optimizer, metrics, the logs and stop-flag allreduces). Variants:

- ``single``: no ``distribute``; the whole global batch on one process with ``--threads`` threads
  (in an MPI job: on rank 0, while the other ranks sleep; mpirun must not bind rank 0 to one
  core, which ``--oversubscribe`` ensures);
- ``ddp:CAP``: ``compile(distribute=DataParallel(bucket_cap_mb=CAP))``;
- ``nograd:CAP``: the same with the gradient allreduce stubbed out (its buckets are still
  prepared: gradients gathered where a layer did not write into its bucket, scaled; the logs
  allreduces still run);
- ``nocomm:CAP``: the same with the logs and stop-flag allreduces stubbed out too (each rank
  keeps its own logs): the distributed code path without any communication;
- ``local``: no ``distribute``; this rank's share of the global batch, alone (the compute of one
  replica, with no communication and no waiting for the other rank).

Inside this process only (sinapse's code is untouched), ``GradientReducer.step_done`` (preparing
and starting buckets during the backward, testing open requests), ``GradientReducer.finish``
(starting what is left, waiting for the buckets) and ``Replicas.sums`` (the logs and the stop-flag
allreduces) are wrapped with timers.

``allreduce``: at the job's size, times the gradient allreduce of a model's gradients through
GradientReducer + MpiTransport (``begin`` then ``finish``: prepare and Iallreduce each bucket,
wait; the gradients are views of the buckets from the first call on, as in training) for several
bucket caps, against one blocking ``MPI.Allreduce`` of the same bytes and one
allreduce per tensor (blocking, and all started non-blocking then waited); then plain
``Allreduce`` over a range of sizes (latency and bandwidth). Every sample starts after a barrier;
its time is the slower rank's.

Rank 0 writes the results as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import types
from collections import defaultdict

import numpy as np

ACC: dict = defaultdict(float)  # seconds spent in each instrumented function, summed
BUCKETS: dict = {}  # bucket_bytes -> the number of buckets of the last GradientReducer made with it
# grad: the gradient allreduce is skipped (nograd, nocomm); logs: so are the logs allreduces (nocomm)
STUB = types.SimpleNamespace(grad=False, logs=False)
CLASSES = 10


# ------------------------------------------------------------------------------------ models
def input_shape(name: str) -> tuple:
    return (28, 28, 1) if name == "keras_mnist_cnn" else (32, 32, 3)


def build(name: str, distribute):
    """The seed convnet (Adam, its recipe) or ResNet-20 (SGD lr 0.1, momentum 0.9, as bench train)."""
    import sinapse
    from sinapse import applications

    if name == "keras_mnist_cnn":
        model = applications.build(name)
        optimizer = "adam"
    elif name == "deep_mlp":  # many small tensors: 101 kernels of 4 KB and their 128-byte biases
        layers = sinapse.layers
        model = sinapse.Sequential(
            [layers.Input((32,)), *[layers.Dense(32, activation="relu") for _ in range(100)], layers.Dense(CLASSES)]
        )
        optimizer = "sgd"
    elif name == "resnet20":
        model = applications.ResNet20(weights=None, input_shape=input_shape(name), classes=CLASSES)
        optimizer = sinapse.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    else:
        raise ValueError(f"_distributed_worker: unknown model {name!r}")
    model.compile(
        optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"], distribute=distribute
    )
    return model


def gradient_shapes(name: str) -> list[tuple]:
    return [tuple(w.value.shape) for w in build(name, None).trainable_weights]


# ------------------------------------------------------------------------------------ instrumentation
def _timed(key: str, fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            ACC[key] += time.perf_counter() - t0

    return wrapper


def instrument() -> None:
    """Wrap the reducer, the transport and the logs allreduce of this process (timers; stub switch)."""
    from sinapse.distributed._reducer import GradientReducer, MpiTransport
    from sinapse.models._replicas import Replicas

    init = GradientReducer.__init__

    def counting_init(self, graph, weights, transport, bucket_bytes):
        init(self, graph, weights, transport, bucket_bytes)
        BUCKETS[bucket_bytes] = len(self.buckets)

    GradientReducer.__init__ = counting_init
    GradientReducer.step_done = _timed("in_backward", GradientReducer.step_done)
    GradientReducer.finish = _timed("finish", GradientReducer.finish)
    sums = Replicas.sums
    Replicas.sums = _timed("logs", lambda self, values: list(values) if STUB.logs else sums(self, values))
    start, test, wait = MpiTransport.start, MpiTransport.test, MpiTransport.wait
    MpiTransport.start = lambda self, buf: None if STUB.grad else start(self, buf)
    MpiTransport.test = staticmethod(lambda req: True if req is None else test(req))
    MpiTransport.wait = staticmethod(lambda req, what: None if req is None else wait(req, what))


# ------------------------------------------------------------------------------------ train
def _timer_callback():
    from sinapse.callbacks import Callback

    class StepTimer(Callback):
        def on_train_begin(self, logs=None):
            self.begins: list[float] = []
            self.snaps: list[dict] = []

        def on_train_batch_begin(self, batch, logs=None):
            self.begins.append(time.perf_counter())
            self.snaps.append(dict(ACC))

    return StepTimer()


class Variant:
    """One way of training MODEL: its compiled model, its data, its samples."""

    def __init__(self, spec: str, model_name: str, batch: int, size: int, steps: int):
        from sinapse.distributed import DataParallel

        kind, _, cap = spec.partition(":")
        self.spec, self.kind = spec, kind
        self.bucket_bytes = DataParallel(bucket_cap_mb=float(cap)).bucket_bytes if cap else None
        self.distributed = kind in ("ddp", "nograd", "nocomm")
        self.batch = batch if kind != "local" else batch // size
        self.model = build(model_name, DataParallel(bucket_cap_mb=float(cap)) if self.distributed else None)
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((steps * self.batch, *input_shape(model_name)), dtype=np.float32)
        self.y = rng.integers(0, CLASSES, steps * self.batch).astype(np.int32)
        self.steps: list[float] = []
        self.parts: dict[str, list[float]] = defaultdict(list)

    def block(self, warmup: int) -> None:
        """One fit over the data; keep the steps after ``warmup`` (the last has no end mark)."""
        timer = _timer_callback()
        STUB.grad, STUB.logs = self.kind in ("nograd", "nocomm"), self.kind == "nocomm"
        try:
            self.model.fit(self.x, self.y, batch_size=self.batch, epochs=1, shuffle=False, verbose=0, callbacks=[timer])
        finally:
            STUB.grad = STUB.logs = False
        for i in range(warmup, len(timer.begins) - 1):
            self.steps.append(timer.begins[i + 1] - timer.begins[i])
            for key in ("in_backward", "finish", "logs"):
                self.parts[key].append(timer.snaps[i + 1].get(key, 0.0) - timer.snaps[i].get(key, 0.0))

    def summary(self) -> dict:
        med = {k: statistics.median(v) for k, v in self.parts.items()}
        return {
            "median_s": statistics.median(self.steps),
            "min_s": min(self.steps),
            "max_s": max(self.steps),
            "repeats": len(self.steps),
            "samples_s": self.steps,
            "parts_median_s": med,
            "buckets": BUCKETS.get(self.bucket_bytes),
            "per_process_batch": self.batch,
        }


def idle_barrier(comm) -> None:
    """A barrier that sleeps instead of spinning (MPI's blocking Barrier busy-polls a core, which
    the rank running the 1-process variant with every thread needs). It wakes only every 0.25 s:
    waking every 2 ms preempted one of rank 0's two threads often enough to slow the convnet's
    2-thread step from 15.1 to 25.6 ms (AMD EPYC Zen 4, 2 vCPUs), an unfair 1-process baseline."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(0.25)


def run_block(spec: str, v: Variant | None, a, comm) -> None:
    """One block of variant ``spec`` after a pause (the thread pools of the previous block go to
    sleep). In an MPI job the 1-process variant runs on rank 0 with ``a.threads`` threads while the
    other ranks sleep (``v`` is None there)."""
    import sinapse

    if comm is not None:
        idle_barrier(comm)
    time.sleep(a.settle)
    if spec != "single" or comm is None:
        assert v is not None
        v.block(a.warmup)
        return
    if v is not None:
        sinapse.set_num_threads(a.threads)
        try:
            v.block(a.warmup)
        finally:
            sinapse.set_num_threads(1)
    idle_barrier(comm)


def run_train(a, comm) -> dict:
    import sinapse

    size, rank = (1, 0) if comm is None else (comm.Get_size(), comm.Get_rank())
    sinapse.set_num_threads(a.threads if comm is None else 1)
    if comm is not None:
        instrument()
    steps = a.warmup + a.reps + 1
    specs = a.variants.split(",")
    variants = {s: Variant(s, a.model, a.batch, size, steps) for s in specs if s != "single" or rank == 0}
    for spec, v in variants.items():  # first fits: plans, buffers, thread pools (not counted)
        # with the thread count the variant runs with: plans made for 1 thread keep 1 thread's layout
        sinapse.set_num_threads(a.threads if spec == "single" or comm is None else 1)
        v.model.fit(v.x[: 2 * v.batch], v.y[: 2 * v.batch], batch_size=v.batch, epochs=1, verbose=0)
    sinapse.set_num_threads(a.threads if comm is None else 1)
    for r in range(a.rounds):
        for spec in specs if r % 2 == 0 else reversed(specs):
            run_block(spec, variants.get(spec), a, comm)
    mine = {spec: v.summary() for spec, v in variants.items()}
    ranks = [mine] if comm is None else comm.gather(mine, root=0)
    return {"mode": "train", "model": a.model, "batch": a.batch, "size": size, "threads": a.threads, "ranks": ranks}


# ------------------------------------------------------------------------------------ allreduce
def _sample(comm, op, reps: int, warmup: int = 2) -> list[float]:
    """``reps`` times of ``op``, each started after a barrier; the slower rank's time per sample."""
    for _ in range(warmup):
        op()
    mine = []
    for _ in range(reps):
        comm.Barrier()
        t0 = time.perf_counter()
        op()
        mine.append(time.perf_counter() - t0)
    from mpi4py import MPI

    theirs = np.empty(len(mine))
    comm.Allreduce(np.array(mine), theirs, op=MPI.MAX)
    return theirs.tolist()


def gradient_ops(group, shapes: list[tuple], caps: list[float]) -> dict:
    """name -> (callable doing one allreduce of float32 gradients of ``shapes``, its description)."""
    from sinapse.distributed._reducer import GradientReducer, MpiTransport

    MPI, comm = group.MPI, group.grad_comm
    rng = np.random.default_rng(group.rank)
    grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    weights = [types.SimpleNamespace(value=g.copy(), grad=g) for g in grads]
    total = sum(g.size for g in grads)
    send, recv = np.ones(total, np.float32), np.empty(total, np.float32)
    outs = [np.empty_like(g) for g in grads]
    ops = {}
    for cap in caps:
        # (no graph: every gradient counts as final at the end, the buckets follow the weights' order)
        red = GradientReducer(types.SimpleNamespace(steps=[]), weights, MpiTransport(group), int(cap * 2**20))

        def bucketed(red=red):
            red.begin(1.0 / group.size)  # (a mean: the gradients keep their size run after run)
            red.finish()

        ops[f"bucketed {cap:g}"] = (bucketed, {"kind": "bucketed", "cap_mb": cap, "calls": len(red.buckets)})
    ops.update(_diagnostic_ops(group, weights, send, recv))
    ops["plain"] = (lambda: comm.Allreduce(send, recv, op=MPI.SUM), {"kind": "plain", "calls": 1})
    ops["per tensor"] = (
        lambda: [comm.Allreduce(g, o, op=MPI.SUM) for g, o in zip(grads, outs)],
        {"kind": "per tensor", "calls": len(grads)},
    )
    ops["per tensor nb"] = (
        lambda: MPI.Request.Waitall([comm.Iallreduce(g, o, op=MPI.SUM) for g, o in zip(grads, outs)]),
        {"kind": "per tensor nb", "calls": len(grads)},
    )
    return ops


def _diagnostic_ops(group, weights, send, recv) -> dict:
    """Where the bucketed path's time goes (default bucket cap): the same path waiting with MPI's own
    blocking ``Wait`` instead of sinapse's ``_comm.wait``; the buckets' preparation alone
    (no allreduce); one ``Iallreduce`` of all the bytes waited by ``_comm.wait`` and by ``Wait``."""
    from sinapse.distributed import _comm
    from sinapse.distributed._reducer import GradientReducer, MpiTransport
    from sinapse.distributed.strategy import DataParallel

    MPI, comm = group.MPI, group.grad_comm
    cap = DataParallel().bucket_bytes
    blocking = MpiTransport(group)
    blocking.wait = lambda req, what: req.Wait()
    preparing = MpiTransport(group)
    preparing.start, preparing.test, preparing.wait = (lambda buf: None), (lambda req: True), (lambda req, what: None)
    ops = {}
    for key, transport in (("bucketed, MPI Wait", blocking), ("prepare only", preparing)):
        red = GradientReducer(types.SimpleNamespace(steps=[]), weights, transport, cap)

        def bucketed(red=red):
            red.begin(1.0 / group.size)
            red.finish()

        ops[key] = (bucketed, {"kind": key, "cap_mb": cap / 2**20, "calls": len(red.buckets)})
    ops["one Iallreduce, polled"] = (
        lambda: _comm.wait(comm.Iallreduce(send, recv, op=MPI.SUM), "bench"),
        {"kind": "Iallreduce polled", "calls": 1},
    )
    ops["one Iallreduce, MPI Wait"] = (
        lambda: comm.Iallreduce(send, recv, op=MPI.SUM).Wait(),
        {"kind": "Iallreduce Wait", "calls": 1},
    )
    return ops


def run_allreduce(a, comm) -> dict:
    from sinapse.distributed import _comm

    _comm.init()
    group = _comm.group()
    caps = [float(c) for c in a.caps.split(",")]
    out: dict = {"mode": "allreduce", "size": group.size, "models": {}, "sizes": []}
    for name in a.models.split(","):
        shapes = gradient_shapes(name)
        ops = gradient_ops(group, shapes, caps)
        samples: dict[str, list[float]] = {k: [] for k in ops}
        for r in range(a.rounds):
            for k in list(ops) if r % 2 == 0 else reversed(list(ops)):
                samples[k] += _sample(comm, ops[k][0], a.reps)
        out["models"][name] = {
            "bytes": 4 * sum(int(np.prod(s)) for s in shapes),
            "tensors": len(shapes),
            "tensor_bytes": [4 * int(np.prod(s)) for s in shapes],
            "ops": {
                k: {**meta, "median_s": statistics.median(samples[k]), "min_s": min(samples[k])}
                for k, (_, meta) in ops.items()
            },
        }
    for nbytes in [int(s) for s in a.sizes.split(",")]:
        send, recv = np.ones(nbytes // 4, np.float32), np.empty(nbytes // 4, np.float32)
        reps = max(5, min(a.reps * 4, int(2e8 // max(nbytes, 1))))
        t = _sample(comm, lambda s=send, r=recv: comm.Allreduce(s, r, op=group.MPI.SUM), reps)
        out["sizes"].append({"bytes": nbytes, "median_s": statistics.median(t), "min_s": min(t), "repeats": reps})
    return out


# ------------------------------------------------------------------------------------ main
def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="_distributed_worker.py")
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("train")
    t.add_argument("model")
    t.add_argument("--batch", type=int, default=128, help="global batch size")
    t.add_argument("--variants", default="single")
    t.add_argument("--threads", type=int, default=2, help="threads of the 1-process variant (the ranks: 1)")
    t.add_argument("--warmup", type=int, default=2)
    t.add_argument("--reps", type=int, default=10)
    t.add_argument("--rounds", type=int, default=2)
    t.add_argument("--settle", type=float, default=0.5)
    r = sub.add_parser("allreduce")
    r.add_argument("--models", default="keras_mnist_cnn,resnet20")
    r.add_argument("--caps", default="0.25,1,4,25")
    r.add_argument("--sizes", default="8,1024,16384,131072,1048576,8388608,67108864")
    r.add_argument("--reps", type=int, default=20)
    r.add_argument("--rounds", type=int, default=2)
    for q in (t, r):
        q.add_argument("--mpi", action="store_true", help="launched by mpirun")
        q.add_argument("--out", required=True)
    a = p.parse_args(argv)
    comm = None
    if a.mpi:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    result = run_train(a, comm) if a.mode == "train" else run_allreduce(a, comm)
    if comm is None or comm.Get_rank() == 0:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
