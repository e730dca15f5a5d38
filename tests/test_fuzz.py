"""Fuzz suite (issue 11): every public op of sinapse.ops, and the model and file entry points,
under the attack classes of issue 11 (tests/fuzz/attacks.py), each case in a worker subprocess.

Oracle per case (tests/fuzz/worker.py): no crash, no hang, and either a clear exception
(TypeError/ValueError/IndexError/MemoryError/RuntimeError whose message starts with the public
function's name and leaks no binding internals) or the result of sinapse.reference, NaN
positions included; a view or alias must also give what fresh contiguous arrays give.

Examples per test: $SINAPSE_FUZZ_EXAMPLES (default 80, about half a minute on a quiet machine); long mode:
SINAPSE_FUZZ_EXAMPLES=10000. $SINAPSE_FUZZ_SURVEY=1 runs every example instead of stopping at
the first failure; $SINAPSE_FUZZ_REPORT=path appends the per-op verdict counts as JSON lines.
Deterministic: hypothesis derandomized, no example database (docs/sanitizers.md).
"""

from __future__ import annotations

import inspect as pyinspect
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz.attacks import attacked
from fuzz.files import file_cases, model_cases
from fuzz.pool import Worker
from fuzz.specs import SPECS
from sinapse import ops

EXAMPLES = int(os.environ.get("SINAPSE_FUZZ_EXAMPLES", "80"))
# Survey mode: run every example instead of stopping (and shrinking) at the first failure; the
# test then fails listing, per failure kind, the count and the shortest failing case.
SURVEY = os.environ.get("SINAPSE_FUZZ_SURVEY") == "1"
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


def public_ops() -> list[str]:
    """Every callable in sinapse.ops.__all__, and the functions of the modules it lists."""
    names = []
    for name in ops.__all__:
        obj = getattr(ops, name)
        if pyinspect.ismodule(obj):
            names += [
                f"{name}.{f}"
                for f, fn in vars(obj).items()
                if pyinspect.isfunction(fn) and not f.startswith("_") and fn.__module__ == obj.__name__
            ]
        elif callable(obj):
            names.append(name)
    return names


class Crash(AssertionError):
    pass


class Hang(AssertionError):
    pass


class WrongResult(AssertionError):
    pass


class UnclearError(AssertionError):
    pass


class OracleError(AssertionError):
    pass


def judge(verdict: dict, case: dict, found: dict | None = None) -> None:
    """Raise one exception class per failure kind, each from its own line, so hypothesis keeps
    and shrinks a separate minimal example for each kind."""
    kind, text = verdict["kind"], f"\ncase: {json.dumps(case)}\n{verdict['detail']}"
    if found is not None and kind not in ("ok", "skip", "overflow", "saturation"):
        count, shortest = found.get(kind, (0, None))
        found[kind] = (count + 1, text if shortest is None or len(text) < len(shortest) else shortest)
        return
    if kind == "crash":
        raise Crash(text)
    if kind == "hang":
        raise Hang(text)
    if kind == "wrong":
        raise WrongResult(text)
    if kind == "unclear":
        raise UnclearError(text)
    if kind not in ("ok", "skip", "overflow", "saturation"):  # the last two: reported apart, see fuzz/worker
        raise OracleError(text)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()
    report = os.environ.get("SINAPSE_FUZZ_REPORT")
    if report:
        with open(report, "a") as f:
            for (op, attack, kind), n in sorted(w.counts.items()):
                f.write(json.dumps({"op": op, "attack": attack, "kind": kind, "cases": n}) + "\n")


def test_every_public_op_has_a_generator():
    missing = sorted(set(public_ops()) - set(SPECS))
    assert not missing, f"no fuzz generator for {missing}: add one to tests/fuzz/specs.py"
    assert not set(SPECS) - set(public_ops()), "a generator for an op that is not public"


@pytest.mark.parametrize("name", public_ops())
def test_fuzz_op(name, worker):
    if name not in SPECS:
        pytest.fail(f"no fuzz generator for sinapse.ops.{name}: add one to tests/fuzz/specs.py")

    found = {} if SURVEY else None

    @FUZZ
    @given(attacked(name))
    def fuzz(kind_and_kw):
        kind, kw = kind_and_kw
        case = {"op": name, "attack": kind, "kw": kw, "written": list(SPECS[name].written)}
        judge(worker.run(case), case, found)

    fuzz()
    survey_report(found)


def survey_report(found):
    if found:
        pytest.fail("\n".join(f"{kind}: {n} cases; shortest:{text}" for kind, (n, text) in sorted(found.items())))


def fuzz_with(worker, strategy, examples, timeout=None):
    """Run `strategy`'s cases through the worker (the @given function is built here, inside the
    test, as for the ops: hypothesis's pytest hook then stays out of the failure report)."""

    found = {} if SURVEY else None

    @settings(FUZZ, max_examples=examples)
    @given(strategy)
    def fuzz(case):
        judge(worker.run(case, timeout=timeout), case, found)

    fuzz()
    survey_report(found)


def test_fuzz_sequential(worker):
    fuzz_with(worker, model_cases(), 3 * EXAMPLES)


def test_fuzz_model_files(worker):
    # 30 s: the worker also writes each crafted file (the 100,000-layer one is 39 MB of JSON:
    # 5 s on a loaded 2-core machine); the load itself is refused in milliseconds
    fuzz_with(worker, file_cases(), 4 * EXAMPLES, timeout=30.0)


def test_oracle_flags_what_it_must():
    """The oracle itself: a hidden NaN, an invented NaN, a wrong value, a leaked binding error
    and a crash are all caught (else every fuzz test above could pass vacuously)."""
    import numpy as np

    from fuzz.worker import check_error, differ

    assert differ(np.float32([0.0, 1.0]), np.float64([np.nan, 1.0]))  # NaN hidden
    assert differ(np.float32([np.nan]), np.float64([0.0]))  # NaN invented
    assert differ(np.float32([1.0, 2.0]), np.float64([1.0, 2.1]))
    assert differ(np.float32([np.inf]), np.float64([-np.inf]))
    assert differ(np.zeros((2, 1), np.float32), np.zeros(2))
    assert differ(np.float32([1.0, np.nan, np.inf]), np.float64([1.0000001, np.nan, np.inf])) is None
    assert check_error("gemm", TypeError("gemm(): incompatible function arguments. Invoked with: ..."))
    assert check_error("gemm", ZeroDivisionError("gemm: division by zero"))
    assert check_error("gemm", ValueError("conv2d: `x` must be 4-D"))
    assert check_error("gemm", ValueError("gemm: `a` must be float32, got float64")) is None
    w = Worker()
    try:
        verdict = w.run({"op": "crash", "entry": "selftest-crash"})
        # SIGSEGV, or under tools/sanitize.sh ASan's "SEGV on unknown address" report and SIGABRT
        assert verdict["kind"] == "crash" and "SEGV" in verdict["detail"], verdict
        assert w.run({"entry": "ping"})["kind"] == "ok"  # a fresh worker after the crash
    finally:
        w.close()
