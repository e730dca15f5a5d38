"""CPU-vs-device parity of every public op, shared by tests/test_cuda_device.py and
tools/device_ops_once.py (the short script compute-sanitizer runs on the GPU machine).

A case is a valid call drawn from the fuzz specs (tests/fuzz/specs.py, no attacks). Its arrays
are built once on the host; the CPU run gets NumPy copies, the device run gets copies made by
a ``Device``: CuPy arrays for "cuda", or NumPy arrays run inside ``sinapse.cuda.simulate()``
for "cuda_sim" (so this harness can be proved on a machine without a GPU). Forward calls that
feed a backward case (``$call``) run on the same side as the case. Per case:

- both sides refuse, with the same exception type and a message naming the op; or both
  accept and every result and every written argument agree: float32 within the fuzz
  oracle's tolerance (tests/fuzz/worker.py ``differ``: 1e-3 relative + 1e-4 of the largest
  magnitude, NaN positions exact), integers, booleans and dropout (one Philox stream on
  both backends, csrc/common/philox.h) exactly;
- on the device, an ``out=`` / ``grad_out=`` argument holds exactly what the op returned in
  the place the CPU returns it, and every argument the op does not write is unchanged;
- a non-contiguous device array the CPU refuses (as a NumPy view) is refused on the device
  too, and a mix of host and device arrays is refused, each with an error naming the op.
"""

from __future__ import annotations

import contextlib
import json
import zlib

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

import sinapse
from fuzz.specs import SPECS
from fuzz.worker import build_array, check_error, differ, public
from sinapse.errors import CudaUnavailableError

# Ops that take no device arrays: rnn_convert converts weight layouts in NumPy only, and
# conv2d_variant reads the variant setting. Each is checked apart (tests/test_cuda_device.py).
HOST_ONLY = ("rnn_convert.keras_to_torch", "rnn_convert.torch_to_keras", "conv2d_variant")
EXACT = ("dropout", "dropout_backward")  # the same Philox mask on both backends: bit-identical
OUT_ARGS = ("out", "grad_out")  # arguments that receive a result the op also returns


# ------------------------------------------------------------------------------ devices


class _HostAsCuda:
    """A NumPy array seen through ``__cuda_array_interface__``: under the simulator it plays the
    device array in a host/device mix (ops must refuse the mix before touching any data)."""

    def __init__(self, a: np.ndarray):
        self._a = a

    @property
    def __cuda_array_interface__(self) -> dict:
        a = self._a
        return {"shape": a.shape, "typestr": a.dtype.str, "data": (a.ctypes.data, False), "version": 3}


class Device:
    """How the device side of a case makes, reads and runs arrays.

    put(a):     a copy of host array ``a`` on the device
    get(x):     ``x`` (any nesting of tuples/lists) with device arrays copied to the host
    scope():    the context every device call runs in
    as_cuda(a): ``a``'s values behind ``__cuda_array_interface__``: a CuPy copy on "cuda", a
                wrapper of a NumPy copy on "cuda_sim" (never run: ops must refuse it there)
    odd(a):     ``a`` as an array of the *other* kind (a host/device mix): NumPy on "cuda",
                as_cuda(a) on "cuda_sim"
    strided(a): a non-contiguous device view holding ``a``'s values
    """

    def __init__(self, name: str):
        if name not in ("cuda", "cuda_sim"):
            raise ValueError(f"Device: unknown device {name!r}; expected 'cuda' or 'cuda_sim'")
        self.name = name
        self.xp = np
        if name == "cuda":
            import cupy

            self.xp = cupy

    def __repr__(self) -> str:
        return f"Device({self.name!r})"

    def put(self, a: np.ndarray):
        return self.xp.asarray(a) if self.name == "cuda" else np.array(a, copy=True)

    def get(self, x):
        if isinstance(x, (tuple, list)):
            return type(x)(self.get(e) for e in x)
        if isinstance(x, np.ndarray):
            return np.array(x, copy=True)
        if hasattr(x, "__cuda_array_interface__") and self.name == "cuda":
            return self.xp.asnumpy(x)
        return x

    def scope(self):
        if self.name == "cuda_sim":
            return sinapse.cuda.simulate(checked=True, racecheck=True)
        return contextlib.nullcontext()

    def as_cuda(self, a: np.ndarray):
        return self.put(a) if self.name == "cuda" else _HostAsCuda(np.array(a, copy=True))

    def odd(self, a: np.ndarray):
        return np.array(a, copy=True) if self.name == "cuda" else self.as_cuda(a)

    def strided(self, a: np.ndarray):
        return _strided(self.xp, self.put(a))


class _Host:
    """The CPU side of a case: NumPy copies, no context."""

    name = "cpu"

    def put(self, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True)

    def get(self, x):
        if isinstance(x, (tuple, list)):
            return type(x)(self.get(e) for e in x)
        return np.array(x, copy=True) if isinstance(x, np.ndarray) else x

    def scope(self):
        return contextlib.nullcontext()

    def strided(self, a: np.ndarray) -> np.ndarray:
        return _strided(np, a)


HOST = _Host()


def _strided(xp, a):
    """Every other element of a buffer twice as wide in the last dimension (a non-contiguous view)."""
    big = xp.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


# ------------------------------------------------------------------------------ cases


def draw_cases(name: str, count: int) -> list[dict]:
    """``count`` valid argument dicts (JSON, as specs.py builds them) for op ``name``: the same
    ones on every run (derandomized), first the simplest."""
    found: list[dict] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(SPECS[name].build)
    def collect(kw):
        found.append(kw)

    collect()
    return found


class Call:
    """A forward call whose result (or its ``index``-th part) is an argument of the case."""

    def __init__(self, name: str, kw: dict, index: int | None):
        self.name, self.kw, self.index = name, kw, index


def materialise(v, rng):
    """JSON arguments with every ``$a`` array built on the host (``$call`` kept as a Call)."""
    if isinstance(v, list):
        return [materialise(e, rng) for e in v]
    if not isinstance(v, dict):
        return v
    if "$a" in v:
        shape, dtype, fill = v["$a"][:3]
        return build_array(shape, dtype, fill, v["$a"][3] if len(v["$a"]) > 3 else "c", rng)
    if "$call" in v:
        name, kw, index = v["$call"]
        return Call(name, materialise(kw, rng), index)
    if "$alias" in v:
        raise ValueError("device parity: aliasing cases are attacks, not valid calls")
    return {k: materialise(e, rng) for k, e in v.items()}


def realise(v, side):
    """The arguments on one side: host arrays copied by ``side.put``, forward calls run."""
    if isinstance(v, np.ndarray):
        return side.put(v)
    if isinstance(v, Call):
        res = public(v.name)(**realise(v.kw, side))
        return res if v.index is None else res[v.index]
    if isinstance(v, list):
        return [realise(e, side) for e in v]
    if isinstance(v, dict):
        return {k: realise(e, side) for k, e in v.items()}
    return v


def host_case(case: dict) -> dict:
    """The host arguments of a JSON case, seeded from the case itself (reproducible)."""
    rng = np.random.default_rng(zlib.crc32(json.dumps(case, sort_keys=True).encode()))
    return materialise(case, rng)


class Outcome:
    """One side's run: the arguments it passed (as called), the result, or the exception."""

    def __init__(self, kw=None, before=None, result=None, error=None, setup_error=None):
        self.kw, self.before, self.result = kw, before, result
        self.error, self.setup_error = error, setup_error


def run_side(name: str, host: dict, side) -> Outcome:
    """Call op ``name`` with ``host``'s arguments made by ``side`` (inside its scope)."""
    with side.scope():
        try:
            kw = realise(host, side)
        except Exception as exc:  # noqa: BLE001 - the forward of a backward case refused
            return Outcome(setup_error=exc)
        before = {k: side.get(v) for k, v in kw.items()}
        try:
            result = public(name)(**kw)
        except Exception as exc:  # noqa: BLE001 - judged against the other side
            return Outcome(kw=kw, before=before, error=exc)
    return Outcome(kw=kw, before=before, result=result)


# ------------------------------------------------------------------------------ comparing


def leaves(x) -> list:
    """Every non-tuple, non-list element of a result, in order (objects such as an RNN cache too)."""
    if isinstance(x, (tuple, list)):
        return [e for item in x for e in leaves(item)]
    return [x]


def _is_value(x) -> bool:
    return isinstance(x, (np.ndarray, float, int, np.floating, np.integer)) and not isinstance(x, bool)


def mismatch(cpu, dev, exact: bool) -> str | None:
    """Why a device value (host copy) differs from the CPU's, or None."""
    if not _is_value(cpu) or not _is_value(dev):
        same_kind = type(cpu) is type(dev) or (_is_value(cpu) == _is_value(dev))
        return None if same_kind else f"CPU gave {type(cpu).__name__}, device gave {type(dev).__name__}"
    if isinstance(cpu, np.ndarray) != isinstance(dev, np.ndarray):
        return f"CPU gave {type(cpu).__name__}, device gave {type(dev).__name__}"
    c, d = np.asarray(cpu), np.asarray(dev)
    if c.shape != d.shape or c.dtype != d.dtype:
        return f"device shape {d.shape} dtype {d.dtype}, CPU shape {c.shape} dtype {c.dtype}"
    if exact or c.dtype.kind in "biu":
        if np.array_equal(c, d, equal_nan=c.dtype.kind == "f"):
            return None
        bad = ~((c == d) | (np.isnan(c) & np.isnan(d))) if c.dtype.kind == "f" else c != d
        i = tuple(np.argwhere(bad)[0])
        return f"not bit-identical: at {i} device {d[i]!r}, CPU {c[i]!r}"
    return differ(d, c)


def compare(name: str, cpu: Outcome, dev: Outcome, device: Device) -> list[str]:
    """Every disagreement between the CPU's and the device's run of one case (empty if none)."""
    exact = name in EXACT
    problems = []
    cpu_leaves, dev_leaves = leaves(cpu.result), leaves(device.get(dev.result))
    if len(cpu_leaves) != len(dev_leaves):
        return [f"result: device gave {len(dev_leaves)} parts, CPU {len(cpu_leaves)}"]
    for i, (c, d) in enumerate(zip(cpu_leaves, dev_leaves)):
        why = mismatch(c, d, exact)
        if why:
            problems.append(f"result[{i}]: {why}")
    written = set(SPECS[name].written) | set(OUT_ARGS)
    for k in cpu.kw:
        c_after, d_after = HOST.get(cpu.kw[k]), device.get(dev.kw[k])
        if k in written:
            for j, (c, d) in enumerate(zip(leaves(c_after), leaves(d_after))):
                why = mismatch(c, d, exact)
                if why:
                    problems.append(f"`{k}`{f'[{j}]' if isinstance(c_after, list) else ''} after the call: {why}")
        elif not _unchanged(dev.before[k], d_after):
            problems.append(f"`{k}` was modified on the device, though {name} does not write it")
    return problems + _out_problems(name, cpu, dev, device)


def _unchanged(before, after) -> bool:
    for b, a in zip(leaves(before), leaves(after)):
        if isinstance(b, np.ndarray) and not np.array_equal(b, a, equal_nan=b.dtype.kind == "f"):
            return False
    return True


def _out_problems(name: str, cpu: Outcome, dev: Outcome, device: Device) -> list[str]:
    """``out=`` on the device: wherever the CPU returns its ``out`` object, the device returns
    its own ``out`` object (or at least the same values)."""
    problems = []
    cpu_res, dev_res = leaves(cpu.result), leaves(dev.result)
    for k in OUT_ARGS:
        if k not in cpu.kw:
            continue
        for j, (c_out, d_out) in enumerate(zip(leaves(cpu.kw[k]), leaves(dev.kw[k]))):
            for i in (i for i, r in enumerate(cpu_res) if r is c_out):
                if dev_res[i] is d_out:
                    continue
                got, held = device.get(dev_res[i]), device.get(d_out)
                if not (isinstance(got, np.ndarray) and np.array_equal(got, held, equal_nan=True)):
                    problems.append(f"`{k}`[{j}] holds other values than result[{i}], which the CPU returns as `{k}`")
    return problems


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def check_case(name: str, case: dict, device: Device) -> tuple[str, list[str]]:
    """Run one case on both sides: (verdict, problems). verdict: "compared", "refused"
    (both sides raised) or "skipped" (a backward case whose forward the CPU refused)."""
    host = host_case(case)
    cpu = run_side(name, host, HOST)
    if cpu.setup_error is not None:
        return "skipped", []
    dev = run_side(name, host, device)
    if dev.setup_error is not None:
        return "compared", [f"the forward call refused on the device only: {describe(dev.setup_error)}"]
    if cpu.error is not None:
        if dev.error is None:
            return "refused", [f"the CPU refused ({describe(cpu.error)}) but the device accepted"]
        if type(dev.error) is not type(cpu.error) or check_error(name, dev.error):
            return "refused", [f"device raised {describe(dev.error)}; CPU raised {describe(cpu.error)}"]
        return "refused", []
    if dev.error is not None:
        return "compared", [f"the device raised {describe(dev.error)}; the CPU accepted"]
    return "compared", compare(name, cpu, dev, device)


# ------------------------------------------------------------------------------ refusals


def _array_args(host: dict) -> list[tuple[str, int | None]]:
    """(argument, list index or None) of every top-level host array of a case."""
    found = []
    for k, v in host.items():
        if isinstance(v, np.ndarray):
            found.append((k, None))
        elif isinstance(v, list):
            found += [(k, i) for i, e in enumerate(v) if isinstance(e, np.ndarray)]
    return found


def _replaced(kw: dict, where: tuple[str, int | None], value) -> dict:
    k, i = where
    kw = dict(kw)
    if i is None:
        kw[k] = value
    else:
        kw[k] = list(kw[k])
        kw[k][i] = value
    return kw


def _call_with(name: str, host: dict, side, where, make) -> BaseException | None:
    """Call ``name`` with the argument at ``where`` replaced by ``make(host array)``."""
    with side.scope():
        try:
            kw = realise(host, side)
        except Exception:  # noqa: BLE001 - checked by check_case
            return None
        k, i = where
        kw = _replaced(kw, where, make(host[k] if i is None else host[k][i]))
        try:
            public(name)(**kw)
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            return exc
    return None


def check_strided(name: str, case: dict, device: Device, pick: int) -> tuple[bool, list[str]]:
    """One array argument as a non-contiguous view: where the CPU refuses the NumPy view, the
    device must refuse the device view with a clear error saying it is not contiguous.
    Returns (whether a check ran, problems)."""
    host = host_case(case)
    candidates = [w for w in _array_args(host) if _can_stride(host, w)]
    if not candidates:
        return False, []
    where = candidates[pick % len(candidates)]
    if _call_with(name, host, HOST, where, HOST.strided) is None:
        return False, []  # the CPU takes it (e.g. dropout at inference returns x untouched)
    exc = _call_with(name, host, device, where, device.strided)
    arg = where[0] if where[1] is None else f"{where[0]}[{where[1]}]"
    if exc is None:
        return True, [f"a non-contiguous device `{arg}` was accepted (the CPU refuses the NumPy view)"]
    why = check_error(name, exc)
    if why or "contiguous" not in str(exc):
        return True, [f"a non-contiguous device `{arg}`: unclear error {describe(exc)}"]
    return True, []


def _can_stride(host: dict, where) -> bool:
    k, i = where
    a = host[k] if i is None else host[k][i]
    return a.ndim >= 1 and a.shape[-1] >= 2


def check_mixed(name: str, case: dict, device: Device, pick: int) -> tuple[bool, list[str]]:
    """One array argument of the other kind (NumPy among CuPy arrays): a clear error naming
    the op and the devices. Returns (whether a check ran, problems)."""
    host = host_case(case)
    candidates = _array_args(host)
    made_by_a_call = any(isinstance(v, Call) for v in host.values())  # e.g. an RNN cache, on the device
    if len(candidates) < (1 if made_by_a_call else 2):
        return False, []
    where = candidates[pick % len(candidates)]
    exc = _call_with(name, host, device, where, device.odd)
    arg = where[0] if where[1] is None else f"{where[0]}[{where[1]}]"
    if exc is None:
        return True, [f"`{arg}` on the other device than the rest was accepted"]
    if check_error(name, exc) is None and _names_the_mix(exc, device):
        return True, []
    return True, [f"`{arg}` on the other device: unclear error {describe(exc)}"]


def _names_the_mix(exc: BaseException, device: Device) -> bool:
    """A TypeError about devices ("arguments are on different devices", "the gradients are on
    cpu but the forward ran on cuda"). Under the simulator the odd array is the only CUDA one
    an op may check first (a pair inside clip_by_global_norm, an RNN gradient beside its cache),
    so "CUDA cannot be used here" refuses the mix there too."""
    if isinstance(exc, TypeError):
        return "device" in str(exc) or " on c" in str(exc)
    return device.name == "cuda_sim" and isinstance(exc, CudaUnavailableError)


def check_op(name: str, device: Device, count: int) -> tuple[dict[str, int], list[str]]:
    """Every check on drawn cases of op ``name`` until ``count`` of them ran on both sides
    (some valid-looking draws are refused, e.g. sgd_update's velocity without momentum; at most
    4 * count draws): (verdict counts, problems, each prefixed with the case as JSON)."""
    counts = {"compared": 0, "refused": 0, "skipped": 0, "strided": 0, "mixed": 0}
    problems = []
    for n, case in enumerate(draw_cases(name, 4 * count)):
        if counts["compared"] >= count:
            break
        verdict, found = check_case(name, case, device)
        counts[verdict] += 1
        for check, key in ((check_strided, "strided"), (check_mixed, "mixed")) if verdict == "compared" else ():
            ran, more = check(name, case, device, n)  # on calls both sides accept: one thing wrong
            counts[key] += ran
            found += more
        problems += [f"{name} {json.dumps(case)}\n    {p}" for p in found]
    return counts, problems
