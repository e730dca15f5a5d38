"""CUDA arrays from other libraries (sinapse.ops._device.consume, sinapse.cuda's device checks),
run on any machine: a fake CuPy module records every CUDA call (events, stream waits, pointer
queries) and a fake sinapse._cuda records the kernel launches, in one log, so the order of what
a GPU would run is checked without one.

- The CUDA Array Interface v3 ``stream``: the launch stream waits on an event recorded on each
  producer stream before the kernels, and each producer stream waits on an event recorded on the
  launch stream after them.
- Arrays on different GPUs, or on a GPU that is not the current one: a ValueError.
- The device's compute capability against the SASS/PTX the build embeds (``_arch_supported``).
"""

from __future__ import annotations

import itertools
import sys
import types

import numpy as np
import pytest

import sinapse
from sinapse import cuda, ops
from sinapse.ops import _device

OURS = 0x7700  # CuPy's current stream in these tests: the stream sinapse launches on
THEIRS, OTHER = 0x5100, 0x5200  # producer streams of another library
MEMORY_DEVICE, MEMORY_MANAGED = 2, 3  # cudaMemoryType


class FakeRuntime:
    """cupy.cuda.runtime: the calls sinapse makes, logged."""

    class CUDARuntimeError(RuntimeError):
        pass

    def __init__(self, log: list):
        self.log = log
        self.device = 0  # the current device
        self.pointers: dict[int, tuple[int, int]] = {}  # data pointer -> (memory type, device)

    def getDevice(self) -> int:
        return self.device

    def pointerGetAttributes(self, ptr: int):
        self.log.append(("attributes", ptr))
        if ptr not in self.pointers:
            raise self.CUDARuntimeError("cudaErrorInvalidValue: invalid argument")
        kind, device = self.pointers[ptr]
        return types.SimpleNamespace(type=kind, device=device)

    def eventRecord(self, event: int, stream: int) -> None:
        self.log.append(("record", event, stream))

    def streamWaitEvent(self, stream: int, event: int, flags: int = 0) -> None:
        self.log.append(("wait", stream, event))


class FakeCupy(types.ModuleType):
    """Just enough of CuPy: ndarray, the current stream and device, Event, the runtime."""

    def __init__(self):
        super().__init__("cupy")
        self.log: list = []
        self.runtime = FakeRuntime(self.log)
        self.current_stream = OURS
        self.reset()
        cupy = self

        class Event:
            def __init__(self, block=False, disable_timing=False, interprocess=False):
                assert disable_timing, "ordering events need no timing"
                self.ptr = next(cupy.event_ids)

        class ndarray(FakeArray):  # noqa: N801 (CuPy's name)
            """A CuPy array: exports CuPy's current stream (0, the null stream, as 1: legacy)."""

            def __init__(self, shape=(2, 3), ptr=0x1000, device=0):
                super().__init__(shape, ptr, stream=None)
                self.data = types.SimpleNamespace(ptr=ptr, device_id=device)

            @property
            def __cuda_array_interface__(self):
                cai = super().__cuda_array_interface__
                return {**cai, "stream": cupy.current_stream or 1}

        self.ndarray = ndarray
        self.float32 = np.float32
        self.capabilities = {0: "90", 1: "90"}  # cupy.cuda.Device(n).compute_capability
        self.cuda = types.SimpleNamespace(
            runtime=self.runtime,
            Event=Event,
            get_current_stream=lambda: types.SimpleNamespace(ptr=self.current_stream),
            Device=lambda n: types.SimpleNamespace(compute_capability=self.capabilities[n]),
        )

    def reset(self) -> None:
        """An empty log; events numbered from 1 again."""
        del self.log[:]
        self.event_ids = itertools.count(1)

    def events(self) -> list:
        """The log without the pointer queries: records, waits and kernels, in order."""
        return [e for e in self.log if e[0] != "attributes"]


class FakeArray:
    """Another library's CUDA array (PyTorch, Numba): a v3 interface with a producer stream."""

    def __init__(self, shape=(2, 3), ptr=0x1000, stream=THEIRS):
        self.shape, self.ptr, self.stream, self.reads = shape, ptr, stream, 0

    @property
    def __cuda_array_interface__(self):
        self.reads += 1
        cai = {"shape": self.shape, "typestr": "<f4", "data": (self.ptr, False), "version": 3, "strides": None}
        if self.stream is not None:
            cai["stream"] = self.stream
        return cai


@pytest.fixture
def gpu(monkeypatch):
    """A fake GPU: sinapse.devices.import_cupy returns FakeCupy, CUDA is available, and
    sinapse._cuda's kernels log their launch with the stream they were given (the last argument)."""
    cupy = FakeCupy()
    monkeypatch.setattr(sinapse.devices, "import_cupy", lambda: cupy)
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    kernels = types.ModuleType("sinapse._cuda")
    kernels.axpy = lambda *args: cupy.log.append(("kernel", "axpy", args[-1]))
    kernels.archs = "80-real,90"  # the default build
    monkeypatch.setitem(sys.modules, "sinapse._cuda", kernels)
    monkeypatch.setattr(sinapse, "_cuda", kernels, raising=False)
    monkeypatch.setattr(_device, "_RUNNABLE", set())  # no GPU checked yet
    yield cupy
    _device._PRODUCERS.pending = None  # nothing of the fake outlives the test


def on_device(cupy, *arrays, device=0, kind=MEMORY_DEVICE):
    for a in arrays:
        cupy.runtime.pointers[a.ptr] = (kind, device)
    return arrays


# ----------------------------------------------------------------------------- streams


def test_a_producer_stream_is_waited_for_before_the_kernel_and_released_after_it(gpu):
    x, y = on_device(gpu, FakeArray(ptr=0x1000), FakeArray(ptr=0x2000))
    assert ops.axpy(2.0, x, y, out=y) is y
    assert gpu.events() == [
        ("record", 1, THEIRS),  # an event after the producer's pending work on x and y
        ("wait", OURS, 1),  # ... that the launch stream waits for
        ("kernel", "axpy", OURS),
        ("record", 2, OURS),  # an event after the kernel
        ("wait", THEIRS, 2),  # ... that the producer stream waits for before reusing x, reading y
    ]


def test_each_producer_stream_once_in_the_order_first_seen(gpu):
    x, y = on_device(gpu, FakeArray(ptr=0x1000, stream=OTHER), FakeArray(ptr=0x2000, stream=THEIRS))
    ops.axpy(2.0, x, y, out=y)
    assert gpu.events() == [
        ("record", 1, OTHER),
        ("wait", OURS, 1),
        ("record", 2, THEIRS),
        ("wait", OURS, 2),
        ("kernel", "axpy", OURS),
        ("record", 3, OURS),
        ("wait", OTHER, 3),
        ("wait", THEIRS, 3),
    ]


@pytest.mark.parametrize(
    ("ours", "theirs", "ordered"),
    [
        (OURS, OURS, False),  # the same stream: its order is the launch order
        (OURS, None, False),  # "stream": None, nothing pending
        (OURS, "absent", False),  # no "stream" key (a v2 producer)
        (0, 1, False),  # CuPy's null stream (0) is the legacy default stream (1)
        (0, 2, True),  # ... not the per-thread default stream (2)
        (2, 2, False),  # CuPy with CUPY_CUDA_PER_THREAD_DEFAULT_STREAM=1
        (2, 1, True),
        (OURS, 1, True),  # a created stream is not the legacy default stream
    ],
)
def test_which_streams_need_ordering(gpu, ours, theirs, ordered):
    gpu.current_stream = ours
    stream = None if theirs == "absent" else theirs
    x, y = on_device(gpu, FakeArray(ptr=0x1000, stream=stream), FakeArray(ptr=0x2000, stream=stream))
    ops.axpy(2.0, x, y, out=y)
    waits = [e for e in gpu.events() if e[0] == "wait"]
    assert waits == ([("wait", ours, 1), ("wait", theirs, 2)] if ordered else [])
    assert ("kernel", "axpy", ours) in gpu.events()


def test_cupy_arrays_need_no_ordering_and_no_pointer_query(gpu):
    x, y = gpu.ndarray(ptr=0x1000), gpu.ndarray(ptr=0x2000)
    for stream in (OURS, 0):
        gpu.current_stream = stream
        ops.axpy(2.0, x, y, out=y)
    assert gpu.log == [("kernel", "axpy", OURS), ("kernel", "axpy", 0)]


def test_a_call_without_producers_releases_nothing_an_earlier_call_had(gpu):
    x, y = on_device(gpu, FakeArray(ptr=0x1000), FakeArray(ptr=0x2000))
    ops.axpy(2.0, x, y, out=y)
    gpu.reset()
    a, b = gpu.ndarray(ptr=0x3000), gpu.ndarray(ptr=0x4000)
    ops.axpy(2.0, a, b, out=b)
    assert gpu.events() == [("kernel", "axpy", OURS)]


def test_a_plan_orders_every_call_after_the_producer_stream_read_again(gpu):
    x, y = on_device(gpu, FakeArray(ptr=0x1000), FakeArray(ptr=0x2000))
    plan = ops.axpy.prepare(2.0, x, y, out=y)
    for producer in (THEIRS, THEIRS, OTHER):  # the very arrays again; then moved to another stream
        x.stream = y.stream = producer
        gpu.reset()
        assert plan(x, y, out=y) is y
        assert gpu.events() == [
            ("record", 1, producer),
            ("wait", OURS, 1),
            ("kernel", "axpy", OURS),
            ("record", 2, OURS),
            ("wait", producer, 2),
        ]


def test_a_plan_on_cupy_arrays_reads_no_interface_again(gpu):
    x, y = gpu.ndarray(ptr=0x1000), gpu.ndarray(ptr=0x2000)
    plan = ops.axpy.prepare(2.0, x, y, out=y)
    plan(x, y, out=y)
    gpu.reset()
    reads = (x.reads, y.reads)
    plan(x, y, out=y)
    assert (x.reads, y.reads) == reads
    assert gpu.log == [("kernel", "axpy", OURS)]


@pytest.mark.parametrize("stream", [0, -3, True, 1.5, "7"])
def test_a_malformed_stream_is_refused(stream):
    x = FakeArray(stream=stream)
    with pytest.raises(ValueError, match=r"^axpy: `x` has a malformed __cuda_array_interface__: 'stream' must be"):
        ops.axpy(1.0, x, FakeArray())


def test_numpy_calls_never_import_cupy(monkeypatch, rng):
    def refuse():
        raise AssertionError("CuPy imported for a NumPy call")

    monkeypatch.setattr(sinapse.devices, "import_cupy", refuse)
    x, y = (rng.standard_normal(5).astype(np.float32) for _ in range(2))
    expected = 2 * x + y
    plan = ops.axpy.prepare(2.0, x, y)
    np.testing.assert_array_equal(plan(x, y), expected)
    np.testing.assert_array_equal(ops.axpy(2.0, x, y), expected)
    with cuda.simulate():
        np.testing.assert_array_equal(ops.axpy(2.0, x, y), expected)


# ----------------------------------------------------------------------------- devices


@pytest.mark.parametrize("cupy_arrays", [False, True])
def test_arrays_on_two_gpus_are_refused_before_anything_is_enqueued(gpu, cupy_arrays):
    if cupy_arrays:
        x, y = gpu.ndarray(ptr=0x1000, device=0), gpu.ndarray(ptr=0x2000, device=1)
    else:
        (x,), (y,) = on_device(gpu, FakeArray(ptr=0x1000)), on_device(gpu, FakeArray(ptr=0x2000), device=1)
    with pytest.raises(
        ValueError, match=r"^axpy: arguments are on different CUDA devices \(`x` on cuda:0, `y` on cuda:1"
    ):
        ops.axpy(2.0, x, y)
    assert gpu.events() == []


def test_arrays_on_another_gpu_than_the_current_one_are_refused(gpu):
    x, y = on_device(gpu, FakeArray(ptr=0x1000), FakeArray(ptr=0x2000), device=1)
    with pytest.raises(
        ValueError, match=r"^axpy: the arguments are on cuda:1 .* current device is cuda:0.* cupy\.cuda\.Device\(1\)"
    ):
        ops.axpy(2.0, x, y, out=y)
    assert gpu.events() == []
    gpu.runtime.device = 1  # under `with cupy.cuda.Device(1):`
    ops.axpy(2.0, x, y, out=y)
    assert ("kernel", "axpy", OURS) in gpu.events()


def test_a_plan_checks_the_current_device_at_every_call(gpu):
    x, y = gpu.ndarray(ptr=0x1000), gpu.ndarray(ptr=0x2000)
    plan = ops.axpy.prepare(2.0, x, y, out=y)
    plan(x, y, out=y)
    gpu.runtime.device = 1
    with pytest.raises(ValueError, match=r"^axpy: the arguments are on cuda:0 .* current device is cuda:1"):
        plan(x, y, out=y)


def test_a_gpu_the_build_cannot_run_on_is_refused_when_first_used(gpu):
    gpu.capabilities[1] = "75"  # a T4 beside an H100
    x, y = gpu.ndarray(ptr=0x1000), gpu.ndarray(ptr=0x2000)
    ops.axpy(2.0, x, y, out=y)
    gpu.runtime.device = 1
    a, b = gpu.ndarray(ptr=0x3000, device=1), gpu.ndarray(ptr=0x4000, device=1)
    with pytest.raises(sinapse.CudaUnavailableError, match=r"^axpy: cuda:1: .*compute capability 7\.5.* cannot run"):
        ops.axpy(2.0, a, b, out=b)
    assert _device._RUNNABLE == {0}
    gpu.capabilities[0] = "75"  # checked once per GPU: not asked again
    gpu.runtime.device = 0
    ops.axpy(2.0, x, y, out=y)


def test_memory_on_no_single_gpu_is_not_placed(gpu):
    (x,) = on_device(gpu, FakeArray(ptr=0x1000), device=1, kind=MEMORY_MANAGED)  # reachable from every GPU
    empty_x, empty_y = FakeArray(shape=(0,), ptr=0, stream=None), FakeArray(shape=(0,), ptr=0, stream=None)
    (y,) = on_device(gpu, FakeArray(ptr=0x2000, stream=None))
    ops.axpy(2.0, x, y, out=y)
    ops.axpy(2.0, empty_x, empty_y, out=empty_y)
    assert [e for e in gpu.log if e[0] == "attributes"] == [("attributes", 0x1000), ("attributes", 0x2000)]


def test_a_pointer_cuda_does_not_know_is_refused(gpu):
    with pytest.raises(ValueError, match=r"^axpy: `x` has a data pointer \(0x1000\) CUDA does not know"):
        ops.axpy(2.0, FakeArray(ptr=0x1000), FakeArray(ptr=0x2000))


# ------------------------------------------------------------------ compute capability

# the default build (SINAPSE_CUDA_ARCHS="80;90" -> CMake "80-real,90"): SASS 8.0, 9.0; PTX 9.0
DEFAULT = cuda._embedded("80-real,90")


@pytest.mark.parametrize(
    ("gpu_name", "cc", "runs", "how"),
    [
        ("V100", (7, 0), False, "cannot run"),
        ("T4", (7, 5), False, "cannot run"),
        ("A100", (8, 0), True, "runs the sm_80 SASS"),
        ("A10", (8, 6), True, "runs the sm_80 SASS"),
        ("L4", (8, 9), True, "runs the sm_80 SASS"),
        ("H100", (9, 0), True, "runs the sm_90 SASS"),
        ("B200", (10, 0), True, "JIT-compiles the compute_90 PTX"),
        ("RTX 5090", (12, 0), True, "JIT-compiles the compute_90 PTX"),
    ],
)
def test_the_default_build_on_each_gpu(gpu_name, cc, runs, how):
    ok, why = cuda._arch_supported(cc, *DEFAULT)
    assert (ok, how in why) == (runs, True), (gpu_name, why)
    assert f"compute capability {cc[0]}.{cc[1]}" in why


@pytest.mark.parametrize(
    ("cc", "sass", "ptx", "runs", "how"),
    [
        ((7, 5), [(7, 5), (8, 0)], [], True, "sm_75"),  # a build for the T4 too
        ((8, 6), [(8, 6)], [], True, "sm_86"),
        ((8, 0), [(8, 6)], [], False, "cannot run"),  # SASS runs on a minor >= its own only
        ((9, 0), [(8, 0)], [], False, "cannot run"),  # ... of the same major only
        ((9, 0), [(8, 0)], [(8, 0)], True, "compute_80"),  # the old default: PTX for every arch
        ((8, 6), [], [(8, 0)], True, "compute_80"),  # PTX only ("80-virtual")
        ((8, 0), [], [(8, 6)], False, "cannot run"),  # PTX needs a compute capability >= its own
        ((12, 0), [(8, 0), (9, 0)], [(8, 0), (9, 0)], True, "compute_90"),  # the newest PTX usable
        ((9, 0), [(9, 0)], [(9, 0)], True, "SASS"),  # the driver prefers SASS to PTX
        ((7, 0), [], [], False, "SASS none"),
    ],
)
def test_arch_rule(cc, sass, ptx, runs, how):
    ok, why = cuda._arch_supported(cc, sass, ptx)
    assert ok is runs and how in why, why


def test_the_refusal_says_what_was_built_and_how_to_build_for_the_device():
    ok, why = cuda._arch_supported((7, 5), *DEFAULT)
    assert not ok
    for fact in ("compute capability 7.5", "SASS sm_80, sm_90", "PTX compute_90", 'SINAPSE_CUDA_ARCHS="75;80;90"'):
        assert fact in why


@pytest.mark.parametrize(
    ("archs", "sass", "ptx"),
    [
        ("80-real,90", [(8, 0), (9, 0)], [(9, 0)]),
        ("80,90", [(8, 0), (9, 0)], [(8, 0), (9, 0)]),  # builds before PTX was limited to the newest
        ("90-virtual", [], [(9, 0)]),
        ("75-real,120", [(7, 5), (12, 0)], [(12, 0)]),
        ("", [], []),
    ],
)
def test_embedded_reads_cmake_architectures(archs, sass, ptx):
    assert cuda._embedded(archs) == (sass, ptx)


@pytest.fixture
def fake_build(monkeypatch):
    """A fake sinapse._cuda (its status functions) and a fresh sinapse.cuda._status."""
    module = types.ModuleType("sinapse._cuda")
    module.archs, module.runtime_version = "80-real,90", 13000
    monkeypatch.setitem(sys.modules, "sinapse._cuda", module)
    monkeypatch.setattr(sinapse, "_cuda", module, raising=False)
    monkeypatch.setattr(sinapse.devices, "import_cupy", lambda: types.ModuleType("cupy"))
    cuda._status.cache_clear()
    yield module
    cuda._status.cache_clear()


@pytest.mark.parametrize(
    ("status", "available", "why"),
    [
        ((1, "", (9, 0)), True, None),
        ((2, "", (12, 0)), True, None),
        ((1, "", (7, 5)), False, "current CUDA device (compute capability 7.5) cannot run this build's kernels"),
        ((0, "no CUDA device found", None), False, "no usable CUDA device: no CUDA device found"),
    ],
)
def test_is_available_checks_the_compute_capability(fake_build, status, available, why):
    fake_build.device_status = lambda: status
    assert cuda.is_available() is available
    assert (cuda.why_unavailable() is None) if why is None else (why in cuda.why_unavailable())


def test_build_info_names_the_embedded_sass_and_ptx(fake_build):
    assert cuda.build_info() == {
        "archs": "80-real,90",
        "sass": ["sm_80", "sm_90"],
        "ptx": ["compute_90"],
        "runtime": "13.0",
    }
