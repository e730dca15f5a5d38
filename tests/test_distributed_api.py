"""sinapse.distributed in one process (no launcher, no MPI): the API's single-process meaning, its
argument errors, the gradient buckets' layout, and the Dropout rows of a shard."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import sinapse
from sinapse import distributed as dist
from sinapse import layers
from sinapse.distributed import _comm
from sinapse.distributed._reducer import GradientReducer
from sinapse.distributed.strategy import Shard, shard_scope, split


@pytest.fixture(autouse=True)
def _no_launcher(monkeypatch):
    for var in _comm._LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_comm, "_group", None)


def test_one_process_is_rank_0_of_1():
    assert (dist.rank(), dist.size(), dist.local_rank(), dist.is_main()) == (0, 1, 0, True)
    assert not dist.launched_by_mpi() and not dist.is_initialized()
    dist.barrier()
    x = np.arange(4, dtype=np.float32)
    for op in ("sum", "mean", "max", "min"):
        y = dist.allreduce(x, op)
        assert y is not x and np.array_equal(y, x)
    assert dist.broadcast(x) is x


def test_argument_errors():
    x = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"allreduce: `op` must be one of .* got 'avg'"):
        dist.allreduce(x, "avg")
    with pytest.raises(TypeError, match=r"allreduce: `array` must be a NumPy or CuPy array, got str"):
        dist.allreduce("abc")
    with pytest.raises(ValueError, match=r"broadcast: `root` must be a process index in \[0, 1\), got 1"):
        dist.broadcast(x, root=1)
    with pytest.raises(ValueError, match=r"init: `timeout` must be a finite number of seconds > 0, got 0"):
        dist.init(timeout=0)
    with pytest.raises(ValueError, match=r"DataParallel: `bucket_cap_mb` must be a number in \(0, 1048576\], got -1"):
        dist.DataParallel(bucket_cap_mb=-1)
    with pytest.raises(ValueError, match=r"DataParallel: `backend` must be one of"):
        dist.DataParallel(backend="gloo")
    with pytest.raises(ValueError, match=r"DataParallel: `sync_batch_norm` must be True or False, got 1"):
        dist.DataParallel(sync_batch_norm=1)
    model = sinapse.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"Sequential.compile: `distribute` must be None, one of .* got 'horovod'"):
        model.compile("sgd", "mse", distribute="horovod")


def test_init_names_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match=r"sinapse.distributed.init: .*mpi4py.*pip install 'sinapse\[mpi\]'"):
        dist.init()
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")  # under a launcher the first call initialises
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'sinapse\[mpi\]'"):
        dist.rank()


def test_timeout_from_the_environment(monkeypatch):
    monkeypatch.setenv("SINAPSE_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match=r"SINAPSE_DIST_TIMEOUT must be a finite number of seconds > 0, got 'soon'"):
        dist.init()


def test_distribute_in_one_process_trains_as_without():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 4)).astype(np.float32), rng.normal(size=(50, 2)).astype(np.float32)
    results = []
    for distribute in (None, "mpi", dist.DataParallel(sync_batch_norm=True)):
        sinapse.utils.set_random_seed(3)
        model = sinapse.Sequential([layers.Input((4,)), layers.Dense(8), layers.BatchNormalization(), layers.Dense(2)])
        model.compile("adam", "mse", distribute=distribute)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append([w.value.copy() for w in model.weights])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


def test_split_covers_every_row_once():
    for total in range(0, 12):
        for size in (1, 2, 3, 5):
            parts = [split(total, r, size) for r in range(size)]
            assert [s for s, _ in parts] == [sum(n for _, n in parts[:r]) for r in range(size)]
            assert sum(n for _, n in parts) == total
            assert max(n for _, n in parts) - min(n for _, n in parts) <= 1


@pytest.mark.parametrize("features", [30, 7, 8])
def test_dropout_of_a_shard_is_those_rows_of_the_whole_batch(features):
    """Rank r's rows draw the Philox counters one process would give them (also when a row starts
    inside a block of 4: 7 and 30 features)."""
    x = np.random.default_rng(1).normal(size=(11, features)).astype(np.float32)
    whole = layers.Dropout(0.4, seed=5)
    whole.ensure_built((features,))
    expected = whole.forward(x, training=True).copy()
    dy = np.ones_like(x)
    expected_dx = whole.backward(dy).copy()
    for size in (2, 3):
        for rank in range(size):
            start, rows = split(11, rank, size)
            part = layers.Dropout(0.4, seed=5)
            part.ensure_built((features,))
            with shard_scope(Shard(start, rows, 11)):
                got = part.forward(x[start : start + rows], training=True)
                got_dx = part.backward(dy[start : start + rows])
            np.testing.assert_array_equal(got, expected[start : start + rows])
            np.testing.assert_array_equal(got_dx, expected_dx[start : start + rows])
            assert part.get_rng_state()["offset"] == whole.get_rng_state()["offset"]  # the same next step


class _Echo:
    """A transport that 'reduces' over one process: records what was started."""

    def __init__(self):
        self.started = []

    @staticmethod
    def xp(_array):
        return np

    def start(self, buffer):
        self.started.append(buffer.size)
        return buffer

    @staticmethod
    def test(_request):
        return True

    @staticmethod
    def wait(_request, _what):
        pass


def _model_with_shared_layer():
    inp = sinapse.Input((6,))
    shared = layers.Dense(6, name="shared")
    h = layers.Dense(6, name="first")(inp)
    out = layers.Dense(2, name="head")(shared(shared(h)))
    model = sinapse.Model(inp, out)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 6), np.float32), np.ones((4, 2), np.float32), verbose=0)
    return model


def test_buckets_follow_the_backward_and_keep_shared_layers_last():
    model = _model_with_shared_layer()
    plan = model._training_plan()
    transport = _Echo()
    reducer = GradientReducer(plan.graph, plan.weights, transport, bucket_bytes=4 * 12)
    owner = {id(w): layer.name for layer in model.layers for w in layer.trainable_weights}
    flat = [owner[id(w)] for b in reducer.buckets for w in b.weights]
    assert flat == ["head", "head", "first", "first", "shared", "shared"]  # in the backward's order; shared last
    assert all(b.size * 4 <= 4 * 36 for b in reducer.buckets)
    # A step: the buckets start during the backward (before finish) except the shared layer's.
    grads = {id(w): np.random.default_rng(2).normal(size=w.value.shape).astype(np.float32) for w in plan.weights}
    for w in plan.weights:
        w.grad = grads[id(w)].copy()
    reducer.begin(0.25)
    for i in reversed(range(len(plan.graph.steps))):
        reducer.step_done(i)
    assert 0 < reducer.next < len(reducer.buckets)  # the shared layer's bucket waits for finish()
    reducer.finish()
    for w in plan.weights:
        np.testing.assert_allclose(w.grad, 0.25 * grads[id(w)], rtol=1e-6)  # scaled by the rank's share
