"""The fuzz worker: run as ``python worker.py``; reads one JSON case per line on stdin and
writes one JSON verdict per line on stdout. The parent (pool.py) sees a crash as EOF and a hang
as silence, and knows which case did it: the one it sent last.

A verdict is {"kind": "ok" | "skip" | "unclear" | "wrong", "detail": text}.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import traceback
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for `fuzz`

import sinapse  # noqa: E402
from fuzz.refs import REFS  # noqa: E402
from sinapse import ops  # noqa: E402

CLEAR = (TypeError, ValueError, IndexError, MemoryError, RuntimeError)
LEAKS = ("incompatible function arguments", "Invoked with", "arg0", "(self:", "std::", "numpy.ndarray[")


def public(name):
    if name.startswith("rnn_convert."):
        return getattr(ops.rnn_convert, name.split(".", 1)[1])
    return getattr(ops, name)


# ------------------------------------------------------------------------------ building arrays


def values(shape, fill, rng):
    n = int(np.prod(shape))
    if fill.startswith("labels"):
        return rng.integers(0, int(fill[6:]), size=shape)
    if fill == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    v = rng.uniform(0.05, 1.0, size=shape) if fill == "unit" else rng.standard_normal(shape)
    if fill == "zeros":
        return np.zeros(shape)
    if fill == "huge":
        return np.sign(v) * 3e38
    specials = {"nan": [np.nan], "inf": [np.inf], "-inf": [-np.inf], "mixed": [np.nan, np.inf, -np.inf]}.get(fill)
    if specials and n:
        flat = v.reshape(-1)
        where = rng.random(n) < 0.3
        where[rng.integers(0, n)] = True
        flat[where] = rng.choice(specials, size=int(where.sum()))
    return v


def build_array(shape, dtype, fill, layout, rng):
    shape = tuple(shape)
    a = values(shape, fill, rng)
    a = a.astype(object) if dtype == "object" else np.asarray(a).astype(dtype)
    if layout == "strided" and a.ndim:
        big = np.zeros(shape[:-1] + (2 * shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if layout == "reversed" and a.ndim:
        return a[::-1].copy()[::-1]
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "broadcast" and a.size:
        return np.broadcast_to(a.reshape(-1)[:1].reshape((1,) * a.ndim), shape)
    return a


def alias(kw, target, mode, shift, shape):
    """A float32 array of `shape` sharing memory with kw[target] (which is rebuilt in place)."""
    t = kw[target]
    if mode == "same":
        return t
    size = int(np.prod(shape))
    offset = 0 if mode == "view" else 4 * shift
    base = np.zeros(max(t.nbytes, offset + 4 * size) + 64, np.uint8)
    start = (-base.ctypes.data) % 64  # aligned like a fresh allocation
    t2 = base[start : start + t.nbytes].view(t.dtype).reshape(t.shape)
    t2[...] = t
    kw[target] = t2
    return base[start + offset : start + offset + 4 * size].view(np.float32).reshape(shape)


def decode(kw, rng, calls):
    out = {}
    for k, v in kw.items():
        out[k] = decode_value(v, rng, calls)
    for k, v in kw.items():
        if isinstance(v, dict) and "$alias" in v:
            out[k] = alias(out, *v["$alias"])
    return out


def decode_value(v, rng, calls):
    if isinstance(v, list):
        return [decode_value(e, rng, calls) for e in v]
    if not isinstance(v, dict):
        return v
    if "$a" in v:
        shape, dtype, fill = v["$a"][:3]
        return build_array(shape, dtype, fill, v["$a"][3] if len(v["$a"]) > 3 else "c", rng)
    if "$call" in v:
        name, kw, index = v["$call"]
        args = decode(kw, rng, calls)
        calls.append(copy_args(args))
        res = public(name)(**args)
        return res if index is None else res[index]
    if "$alias" in v:
        return None  # filled in by decode() once every other argument exists
    return {k: decode_value(e, rng, calls) for k, e in v.items()}


def copy_args(kw):
    def cp(v):
        if isinstance(v, np.ndarray):
            return np.array(v, copy=True, order="C")
        if isinstance(v, list):
            return [cp(e) for e in v]
        return v

    return {k: cp(v) for k, v in kw.items()}


# ------------------------------------------------------------------------------ the oracle


def check_error(name, exc):
    msg = str(exc)
    short = name.split(".")[-1]
    if not isinstance(exc, CLEAR):
        return f"{type(exc).__name__} is not one of TypeError/ValueError/IndexError/MemoryError/RuntimeError: {msg}"
    if not (msg.startswith(f"{short}:") or msg.startswith(f"{name}:") or msg.startswith(f"{short}()")):
        return f"message does not start with '{short}:': {type(exc).__name__}: {msg[:300]}"
    leak = [s for s in LEAKS if s in msg]
    if leak:
        return f"message leaks internals ({leak[0]!r}): {msg[:300]}"
    return None


def flat(x):
    """The arrays and numbers of a result, in order (other objects, e.g. an RNN cache, are skipped)."""
    if isinstance(x, (tuple, list)):
        return [e for item in x for e in flat(item)]
    if isinstance(x, (np.ndarray, float, int, np.floating)) and not isinstance(x, bool):
        return [x]
    return []


def differ(actual, expected):
    """Why two results differ, or None: shapes, NaN positions, infinities, then values."""
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        return f"shape {a.shape} != expected {e.shape}"
    if a.dtype == object or e.dtype == object or np.iscomplexobj(a) or np.iscomplexobj(e):
        return None if a.dtype == e.dtype else f"dtype {a.dtype} vs {e.dtype}"
    if a.dtype.kind == "f" and a.dtype.itemsize < e.dtype.itemsize:
        with np.errstate(over="ignore"):
            e = e.astype(a.dtype)  # what the reference gives in the result's precision
    a, e = a.astype(np.float64), e.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        i = np.argwhere(np.isnan(a) != np.isnan(e))[0]
        return f"NaN at {tuple(i)}: got {a[tuple(i)]}, expected {e[tuple(i)]}"
    fin = np.isfinite(e)
    if not np.array_equal(a[~fin & ~np.isnan(e)], e[~fin & ~np.isnan(e)]):
        return "infinities differ"
    scale = max(1.0, float(np.max(np.abs(e[fin]))) if fin.any() else 1.0)
    with np.errstate(all="ignore"):  # inf - inf where the result is infinite but the reference is not
        bad = fin & ~(np.abs(a - e) <= 1e-3 * np.abs(e) + 1e-4 * scale)
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        return f"value at {i}: got {a[i]!r}, expected {e[i]!r}"
    return None


def compare(pairs):
    for label, actual, expected in pairs:
        actual, expected = flat(actual), flat(expected)
        if len(actual) != len(expected):
            return f"{label}: {len(actual)} outputs, expected {len(expected)}"
        for a, e in zip(actual, expected):
            why = differ(a, e)
            if why:
                return f"{label}: {why}"
    return None


def run_case(case):
    name, kind = case["op"], case.get("attack", "none")
    rng = np.random.default_rng(zlib.crc32(json.dumps(case, sort_keys=True).encode()))
    calls = []
    try:
        kw = decode(case["kw"], rng, calls)
    except Exception as exc:  # the forward of a backward case refused its (clean) arguments
        return {"kind": "skip", "detail": f"set-up: {type(exc).__name__}: {exc}"[:300]}
    before = copy_args(kw)
    try:
        res = public(name)(**kw)
    except Exception as exc:  # noqa: BLE001 - every exception is judged here
        why = check_error(name, exc)
        return {"kind": "unclear", "detail": why} if why else {"kind": "ok", "detail": "error"}
    after = {**kw, "$op": name, "$call": calls[-1] if calls else None}
    try:
        why = compare(REFS[name](before, res, after)) if name in REFS else None
        if why is None and kind in ("layout", "alias"):
            why = clean_differs(case, name, res, kw)
    except Exception as exc:  # noqa: BLE001 - the reference refused what the op accepted
        if any(isinstance(v, np.ndarray) and v.size == 0 for v in before.values()):
            return {"kind": "skip", "detail": f"empty input the reference cannot take: {exc}"[:300]}
        why = f"accepted, but the reference raised {type(exc).__name__}: {str(exc)[:200]}"
    if why and overflows(case):
        return {"kind": "overflow", "detail": why}
    if why and saturates(name, case, why):
        return {"kind": "saturation", "detail": why}
    return {"kind": "wrong", "detail": why} if why else {"kind": "ok", "detail": "result"}


def overflows(case):
    """Inputs near float32's limit (3e38, or a 1e39 scalar): the float64 reference then differs
    from any float32 computation where an intermediate overflows, so a mismatch there is
    counted apart ("overflow", reported, not failed) rather than as a wrong result."""
    text = json.dumps(case["kw"])
    # ... or a scalar argument whose square overflows float32 (l2 = 1e30 in RMSprop's g**2)
    big = any(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) > 1.8e19
        for v in case["kw"].values()
    )
    return '"huge"' in text or "1e+39" in text or big


_SATURATING = {"simple_rnn", "lstm", "gru", "simple_rnn_backward", "lstm_backward", "gru_backward"}


def saturates(name, case, why):
    """An infinite input through a saturating gate (sigmoid, tanh near +-1): inf * (1 - g^2)
    is +-inf or NaN depending on whether g rounds to exactly 1, an ulp-level difference between
    the kernels' fast tanh/sigmoid and NumPy's. Both are non-finite; counted apart (reported,
    not failed), like overflow. Only NaN-vs-infinity mismatches qualify."""
    text = json.dumps(case["kw"])
    return (
        name in _SATURATING
        and ('"inf"' in text or '"-inf"' in text or '"mixed"' in text)
        and re.search(r"NaN at .*: got (nan, expected -?inf|-?inf, expected nan)$", why) is not None
    )


def clean_differs(case, name, res, after):
    """A view/alias case must give what the same values give as fresh contiguous arrays
    (``after``: the arguments the attacked call wrote into)."""
    rng = np.random.default_rng(zlib.crc32(json.dumps(case, sort_keys=True).encode()))
    kw = decode(case["kw"], rng, [])
    clean = copy_args(kw)  # the same values, fresh and C-contiguous, nothing shared
    try:
        expected = public(name)(**clean)
    except Exception as exc:  # noqa: BLE001
        return f"accepted a view/alias but refuses the same values as fresh arrays: {exc}"
    # An exact alias (out=y in place) legitimately leaves the result in both names: the result
    # itself is compared above. A partial overlap must have been refused, so everything counts.
    exact = {
        n
        for k, v in case["kw"].items()
        if isinstance(v, dict) and "$alias" in v and v["$alias"][1] in ("same", "view")
        for n in (k, v["$alias"][0])
    }
    written = [k for k in case.get("written", ()) if isinstance(after.get(k), np.ndarray) and k not in exact]
    return compare(
        [("result vs clean call", res, expected)]
        + [(f"`{k}` after the call vs clean call", after[k], clean[k]) for k in written]
    )


def run_any(case):
    """Dispatch: an op case, a Sequential case or a model-file case (fuzz/files.py)."""
    entry = case.get("entry", "op")
    if entry == "op":
        return run_case(case)
    from fuzz import files

    if entry == "selftest-crash":  # test_oracle_flags_what_it_must: a real segfault
        import ctypes

        ctypes.string_at(0)
    if entry == "ping":  # start-up, outside any case's timeout: imports done, the base model file saved
        files.base_file()
        return {"kind": "ok", "detail": "ready"}
    if entry == "file":
        return files.run_file_case(case, files.file_error)
    rng = np.random.default_rng(zlib.crc32(json.dumps(case, sort_keys=True).encode()))
    return files.run_model_case(case, lambda kw: decode(kw, rng, []), compare)


def main():
    # The protocol owns the real stdout; anything the library prints (progress bars, C++
    # output on fd 1) goes to stderr instead of corrupting a verdict line.
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sinapse.set_num_threads(int(os.environ.get("SINAPSE_FUZZ_THREADS", "2")))
    for line in sys.stdin:
        case = json.loads(line)
        try:
            verdict = run_any(case)
        except Exception:  # noqa: BLE001 - a bug in the oracle itself: say so, keep going
            verdict = {"kind": "oracle-error", "detail": traceback.format_exc()[-800:]}
        proto.write(json.dumps(verdict) + "\n")
        proto.flush()


if __name__ == "__main__":
    main()
