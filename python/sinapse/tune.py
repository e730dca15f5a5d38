"""The GEMM auto-tuner and its cache (ATLAS's install-time search, run on demand).

``sinapse.cpu.tune()`` / ``python -m sinapse tune`` times the tuned GEMM of one SIMD path on
this machine with candidate configurations — every compiled micro-kernel shape, KC/MC/NC
seeded by the analytical model (Low et al., TOMS 2016; csrc/cpu/gemm_config.cpp) and by the
per-architecture table, then refined one blocksize at a time — inside a hard time budget.
Each candidate's result is checked against a float64 NumPy matmul before it is timed; the
winner (best geometric mean over the shapes of the per-shape median GFLOP/s) is written to
a JSON cache keyed by the CPU (vendor, family, model, brand string), the SIMD path and the
sinapse version, and used from then on.

The cache file: ``$SINAPSE_TUNE_CACHE`` if set (``off`` disables reading and writing it), else
``$XDG_CACHE_HOME/sinapse/gemm_tune.json``, else ``~/.cache/sinapse/gemm_tune.json``. It is
read when sinapse is imported; a corrupt or mismatched file is ignored with a warning.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import _cpu

CACHE_ENV = "SINAPSE_TUNE_CACHE"
CACHE_FORMAT = 1
# Representative shapes (M, K, N): a square one, the MLP's first and second layers at batch
# 128, and a tall-skinny fully connected layer (AlexNet's 9216x4096, scaled so one call stays
# ~10 ms). The small 128x300x100 is there because a winner scored on large shapes alone can
# lose badly on it: on Zen 4 at 2 threads the tuner once picked 8x48 / KC 2048 / split cols,
# +5% on the three large shapes and 26% slower at 128x300x100 (48-wide panels pad N = 100
# to 144 and split by columns leaves one thread two panels, the other one).
DEFAULT_SHAPES = ((768, 768, 768), (128, 784, 300), (128, 300, 100), (128, 2304, 2048))
_VALIDATE_SHAPE = (61, 203, 149)  # edge tiles in every dimension, K not a multiple of KC's
_OFF = ("off", "0", "none", "false", "no")


def cache_path() -> Path | None:
    """The tune cache file in use (see the module docstring), or None when disabled."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.lower() in _OFF:
        return None
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sinapse" / "gemm_tune.json"


def cache_key(simd: str) -> dict:
    """What a cache entry must match to be used: this CPU, the SIMD path, this sinapse."""
    arch = _cpu.microarchitecture()
    return {
        "vendor": arch["vendor"],
        "family": arch["family"],
        "model": arch["model"],
        "model_name": arch["model_name"],
        "simd": simd,
        "version": _cpu.__version__,
    }


def _read(path: Path) -> dict:
    """The cache file's content; ValueError (with the reason) if it is not a valid cache."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("entries"), list):
        raise ValueError(f"not a sinapse tune cache of format {CACHE_FORMAT}")
    return data


def _apply(simd: str, config: dict, source: str, as_default: bool) -> None:
    """Make ``config`` ({'ukernel', 'KC', 'MC', 'NC', 'split'}) the configuration of ``simd``."""
    _cpu.set_gemm_blocking(
        simd,
        int(config["KC"]),
        int(config["MC"]),
        int(config["NC"]),
        str(config["ukernel"]),
        str(config.get("split", "rows")),
        source,
        as_default,
    )


def load_cache(path: Path | None = None) -> list[str]:
    """Apply the cache entries that match this CPU (called at import). Returns the SIMD paths
    configured from it. Never raises: a bad file or entry is skipped with a RuntimeWarning."""
    path = cache_path() if path is None else path
    try:
        if path is None or not path.exists():
            return []
        data = _read(path)
    except (OSError, ValueError) as exc:  # OSError: a folder we may not look into
        warnings.warn(f"sinapse: ignoring the GEMM tune cache {path}: {exc}", RuntimeWarning, stacklevel=2)
        return []
    applied = []
    for simd in _cpu.supported_simd_paths():
        key = cache_key(simd)
        for entry in data["entries"]:
            if not isinstance(entry, dict) or entry.get("key") != key:
                continue
            try:
                _apply(simd, entry["config"], f"tuned cache {path}", as_default=True)
                applied.append(simd)
            except (KeyError, TypeError, ValueError) as exc:
                warnings.warn(
                    f"sinapse: ignoring the {simd} entry of the GEMM tune cache {path}: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            break
    return applied


def _write(path: Path, key: dict, entry: dict) -> None:
    """Add (or replace) the entry for ``key``, atomically: a temporary file in the same folder,
    then a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries: list = []
    try:
        entries = _read(path)["entries"] if path.exists() else []
    except ValueError:
        pass  # a corrupt file is replaced
    entries = [e for e in entries if not (isinstance(e, dict) and e.get("key") == key)]
    data = {"format": CACHE_FORMAT, "entries": [*entries, {"key": key, **entry}]}
    fd, tmp = tempfile.mkstemp(prefix=".gemm_tune.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


class _Budget(Exception):
    """The time budget ran out in the middle of a candidate."""


class _Tuner:
    """One search: candidates are dicts {'ukernel': '12x32', 'KC', 'MC', 'NC', 'split'}."""

    def __init__(
        self, simd: str, shapes, threads: int, deadline: float, repeats: int, clock: str, log: Callable[[str], None]
    ):
        self.simd, self.threads, self.deadline, self.repeats, self.log = simd, threads, deadline, repeats, log
        # "cpu": the process's CPU time over the threads (time spent descheduled on a shared
        # machine does not count); "wall": elapsed time.
        self.clock = time.process_time if clock == "cpu" else time.perf_counter
        self.cpu_clock = clock == "cpu"
        rng = np.random.default_rng(0)
        self.problems = []
        for m, k, n in shapes:
            a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
            self.problems.append((a, b, np.empty((m, n), np.float32)))
        m, k, n = _VALIDATE_SHAPE
        self.va = rng.standard_normal((k, m), dtype=np.float32)  # stored transposed: packing's other path
        self.vb = rng.standard_normal((k, n), dtype=np.float32)
        self.vc = rng.standard_normal((m, n), dtype=np.float32)
        self.vref = 0.5 * (self.va.astype(np.float64).T @ self.vb.astype(np.float64)) - 2.0 * self.vc
        self.vtol = 8 * k * np.finfo(np.float32).eps * (np.abs(self.va.T) @ np.abs(self.vb) + np.abs(self.vc)) + 1e-5
        self.seen: dict[tuple, list[float]] = {}  # every score of each candidate
        self.cands: dict[tuple, dict] = {}

    def _gemm(self, a, b, c, trans_a=False, alpha=1.0, beta=0.0) -> None:
        _cpu.gemm(a, b, c, None, trans_a, False, alpha, beta, 0, "tuned", self.simd, self.threads)

    def _valid(self) -> bool:
        c = self.vc.copy()
        self._gemm(self.va, self.vb, c, trans_a=True, alpha=0.5, beta=-2.0)
        if not np.all(np.abs(c - self.vref) <= self.vtol):
            return False
        a, b, c = self.problems[-1]
        self._gemm(a, b, c)
        rows = slice(0, min(8, a.shape[0]))  # a few rows of a timed shape, against float64
        ref = a[rows].astype(np.float64) @ b.astype(np.float64)
        tol = 8 * a.shape[1] * np.finfo(np.float32).eps * (np.abs(a[rows]) @ np.abs(b)) + 1e-5
        return bool(np.all(np.abs(c[rows] - ref) <= tol))

    def _median_gflops(self, a, b, c) -> float:
        flops = 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
        used = _cpu.gemm_threads(a.shape[0], b.shape[1], a.shape[1]) if self.cpu_clock else 1
        self._gemm(a, b, c)  # warm-up: packing buffers, caches
        times = []
        for _ in range(self.repeats):
            if time.perf_counter() > self.deadline:
                raise _Budget
            t = self.clock()
            self._gemm(a, b, c)
            times.append((self.clock() - t) / used)
        return flops / max(float(np.median(times)), 1e-9) / 1e9

    def score(self, cand: dict) -> float:
        """Geometric mean over the shapes of the median GFLOP/s; 0 for an invalid candidate.
        Each candidate is validated and timed once; later calls return the first score."""
        ident = _ident(cand)
        if ident in self.seen:
            return self.seen[ident][0]
        if time.perf_counter() > self.deadline:
            raise _Budget
        _apply(self.simd, cand, "tuner (searching)", as_default=False)
        if not self._valid():
            self.log(f"  {_describe(cand)}: WRONG RESULT, rejected")
            self.seen[ident] = [0.0]
            self.cands[ident] = cand
            return 0.0
        s = self._time(cand)
        self.seen[ident] = [s]
        self.cands[ident] = cand
        return s

    def _time(self, cand: dict) -> float:
        _apply(self.simd, cand, "tuner (searching)", as_default=False)
        rates = [self._median_gflops(*p) for p in self.problems]
        s = math.exp(sum(math.log(r) for r in rates) / len(rates))
        self.log(f"  {_describe(cand)}: {s:.1f} GFLOP/s ({', '.join(f'{r:.1f}' for r in rates)})")
        return s

    def confirm(self, base: dict, top: int = 4, rounds: int = 5) -> tuple[dict, float]:
        """Re-time the best few candidates and the starting configuration, alternating, while
        the budget lasts; the winner is the best median of all its scores. A single lucky
        timing on a noisy machine does not win."""
        ranked = sorted((k for k, v in self.seen.items() if v[0] > 0), key=lambda k: -self.seen[k][0])
        finalists = list(dict.fromkeys([*ranked[:top], _ident(base)]))
        finalists = [k for k in finalists if k in self.cands and self.seen[k][0] > 0]
        try:
            for _ in range(rounds):
                for k in finalists:
                    self.seen[k].append(self._time(self.cands[k]))
        except _Budget:
            pass
        medians = {k: float(np.median(self.seen[k])) for k in finalists}
        winner = max(medians, key=lambda k: medians[k])
        return self.cands[winner], medians[winner]


def _ident(c: dict) -> tuple:
    return (c["ukernel"], c["KC"], c["MC"], c["NC"], c["split"])


def _describe(c: dict) -> str:
    return f"{c['ukernel']} KC={c['KC']} MC={c['MC']} NC={c['NC']} split={c['split']}"


def _round(x: float, multiple: int, lo: int, hi: int) -> int:
    """x rounded to a multiple of ``multiple`` within [lo, hi] (lo a multiple; hi need not be:
    clamping after rounding gave MC = 4096 for MR = 14, which set_gemm_blocking refuses)."""
    v = round(min(hi, max(lo, x)) / multiple) * multiple
    if v > hi:
        v -= multiple
    return int(max(lo, v))


def _seeds(simd: str, current: dict) -> list[dict]:
    """The starting points: the configuration in use, then per compiled shape the model on this
    CPU's caches (and the in-use blocksizes rounded to that shape)."""
    caches = _cpu.microarchitecture()["caches"]
    cur = {k: current[k] for k in ("KC", "MC", "NC", "split")} | {"ukernel": f"{current['MR']}x{current['NR']}"}
    seeds = [cur]
    for u in _cpu.gemm_ukernels(simd):
        mr, nr = u["MR"], u["NR"]
        kc, mc, nc = _cpu.gemm_model_blocksizes(caches, mr, nr)
        shape = f"{mr}x{nr}"
        seeds.append({"ukernel": shape, "KC": kc, "MC": mc, "NC": nc, "split": "rows"})
        if shape != cur["ukernel"]:
            seeds.append(
                {
                    "ukernel": shape,
                    "KC": cur["KC"],
                    "MC": _round(cur["MC"], mr, mr, 4096),
                    "NC": _round(cur["NC"], nr, nr, 16384),
                    "split": "rows",
                }
            )
    return seeds


def _neighbours(c: dict, threads: int) -> list[dict]:
    """One blocksize changed at a time: KC, MC and NC halved/doubled and by a quarter, then the split."""
    mr, nr = (int(x) for x in c["ukernel"].split("x"))
    out = []
    for f in (0.5, 2.0, 0.75, 1.25):
        out.append(c | {"KC": _round(c["KC"] * f, 8, 32, 4096)})
    for f in (0.5, 2.0, 0.75, 1.5):
        out.append(c | {"MC": _round(c["MC"] * f, mr, mr, 4096)})
    for f in (0.5, 2.0):
        out.append(c | {"NC": _round(c["NC"] * f, nr, nr, 16384)})
    if threads > 1:  # one thread: the split rule changes nothing
        out.append(c | {"split": "cols" if c["split"] == "rows" else "rows"})
    return out


def _search(tuner: _Tuner, seeds: list[dict], log: Callable[[str], None]) -> float:
    """The seeds, then from the best configuration of each micro-kernel shape (best shape
    first) a descent one blocksize at a time, until nothing improves by more than 1% (the
    machine's noise) or the budget runs out. Returns the best score seen."""
    try:
        for cand in seeds:
            tuner.score(cand)
        by_shape: dict[str, dict] = {}
        for c in sorted(tuner.cands.values(), key=lambda c: -tuner.seen[_ident(c)][0]):
            by_shape.setdefault(c["ukernel"], c)
        for start in by_shape.values():
            log(f"refining {start['ukernel']} one blocksize at a time:")
            best, best_score, improved = start, tuner.seen[_ident(start)][0], True
            while improved:
                improved = False
                for cand in _neighbours(best, tuner.threads):
                    s = tuner.score(cand)
                    if s > best_score * 1.01:
                        best, best_score, improved = cand, s, True
                        break
    except _Budget:
        log("time budget reached")
    return max((v[0] for v in tuner.seen.values()), default=0.0)


def tune(
    budget_s: float = 120.0,
    simd: str | None = None,
    shapes: Sequence[tuple[int, int, int]] | None = None,
    threads: int | None = None,
    repeats: int = 5,
    clock: str = "auto",
    path: str | os.PathLike | None = None,
    write: bool = True,
    verbose: bool = False,
) -> dict:
    """Search the GEMM configuration of one SIMD path on this machine; cache and use the winner.

    budget_s: hard bound on the search (seconds, default 120; a candidate still being timed when
    it runs out is dropped). simd: the path (default: the one in use). shapes: (M, K, N) tuples
    timed per candidate (default: DEFAULT_SHAPES). threads: GEMM threads (default: the current
    setting). repeats: timed calls per shape (the median counts). clock: "cpu" times each call by
    the process's CPU time (robust on a shared machine: time spent descheduled does not count;
    exact for one thread only, as Linux accounts other threads' time at scheduler ticks), "wall"
    by elapsed time, "auto" (default) picks cpu for one thread and wall otherwise. path: the cache file (default:
    cache_path()). write: False searches and applies without writing.

    Returns {'simd', 'config', 'gflops', 'baseline', 'baseline_gflops', 'candidates',
    'elapsed_s', 'cache'}: the winner (ukernel shape, KC, MC, NC, split), its score (geometric
    mean over the shapes of the median GFLOP/s), the configuration in use before and its score.
    Raises ValueError for a bad budget, shape or SIMD path, or when writing is asked for but the
    cache is disabled (SINAPSE_TUNE_CACHE=off) and no path is given; OSError when the cache file
    cannot be written (the winner is then not applied either).
    """
    from . import cpu

    start = time.perf_counter()
    if not (isinstance(budget_s, (int, float)) and budget_s > 0):
        raise ValueError(f"sinapse.cpu.tune: budget_s={budget_s!r} must be a positive number of seconds")
    simd = cpu.simd_path(simd, op="sinapse.cpu.tune")
    given = [tuple(int(x) for x in s) for s in (shapes or DEFAULT_SHAPES)]
    if not given or any(len(s) != 3 or min(s) < 1 for s in given):
        raise ValueError(f"sinapse.cpu.tune: shapes={shapes!r} must be (M, K, N) tuples of positive integers")
    shapes = [(s[0], s[1], s[2]) for s in given]
    target = Path(path) if path is not None else cache_path()
    if write and target is None:
        raise ValueError(f"sinapse.cpu.tune: the tune cache is disabled ({CACHE_ENV}=off); pass path= or write=False")
    if threads is not None and (not isinstance(threads, int) or threads < 0):
        raise ValueError(f"sinapse.cpu.tune: threads={threads!r} must be a positive integer (or None)")
    if clock not in ("auto", "cpu", "wall"):
        raise ValueError(f"sinapse.cpu.tune: clock={clock!r} must be 'auto', 'cpu' or 'wall'")
    log = print if verbose else (lambda _msg: None)
    threads_before = _cpu.get_num_threads()
    nthreads = int(threads or threads_before)
    if clock == "auto":  # other threads' CPU time is only accounted at scheduler ticks
        clock = "cpu" if nthreads == 1 else "wall"
    before = dict(_cpu.gemm_blocking(simd))
    _cpu.set_num_threads(nthreads)  # gemm_threads() then says how many each shape uses
    # The search gets 70% of the budget, the finalists' re-timing the rest.
    tuner = _Tuner(simd, shapes, nthreads, start + 0.7 * budget_s, max(1, int(repeats)), clock, log)
    seeds = _seeds(simd, before)
    base = seeds[0]
    log(f"tuning {simd} GEMM, {nthreads} threads, budget {budget_s:g} s; seeds:")
    try:
        best, best_score = base, _search(tuner, seeds, log)
        if best_score > 0:
            log("re-timing the finalists:")
            tuner.deadline = start + budget_s
            best, best_score = tuner.confirm(base)
    finally:
        _cpu.reset_gemm_blocking(simd)
        _cpu.set_num_threads(threads_before)
    baseline_score = float(np.median(tuner.seen.get(_ident(base), [0.0])))
    result = {
        "simd": simd,
        "config": best,
        "gflops": max(best_score, 0.0),
        "baseline": base,
        "baseline_gflops": baseline_score,
        "candidates": len(tuner.cands),
        "elapsed_s": time.perf_counter() - start,
        "cache": None,
    }
    if best_score <= 0.0:  # nothing valid measured in time: keep what was in use, write nothing
        return result | {"config": base, "gflops": 0.0}
    source = f"tuned cache {target}" if write and target is not None else "tuner (not cached)"
    if write and target is not None:
        entry = {
            "config": best,
            "gflops": round(best_score, 2),
            "baseline": base,
            "baseline_gflops": round(baseline_score, 2),
            "shapes": [list(s) for s in shapes],
            "threads": nthreads,
            "clock": clock,
            "arch": _cpu.microarchitecture()["name"],
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _write(target, cache_key(simd), entry)
    _apply(simd, best, source, as_default=True)
    log(f"winner: {_describe(best)} at {best_score:.1f} GFLOP/s (was {baseline_score:.1f}); {source}")
    return result | {"cache": str(target) if write and target is not None else None}
