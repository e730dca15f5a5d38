"""Per-microarchitecture GEMM configuration: detection, the analytical model, the table, every
micro-kernel shape on every SIMD path, and the auto-tuner with its cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import sinapse
from conftest import EPS32, SIMD_PATHS, assert_within, check_gemm, random_f32
from sinapse import _cpu, ops, reference, tune

ARCH_NAMES = {
    "skylake_x",
    "icelake_server",
    "sapphire_rapids",
    "zen3",
    "zen4",
    "zen5",
    "generic_avx512",
    "generic_avx2",
    "generic",
}
SHAPES = [(simd, f"{u['MR']}x{u['NR']}") for simd in SIMD_PATHS for u in sinapse.cpu.gemm_ukernels(simd)]


@pytest.fixture
def restore_blocking():
    yield
    for path in SIMD_PATHS:
        sinapse.cpu.reset_gemm_blocking(path, builtin=True)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """A tune cache file of the test's own (never the user's)."""
    path = tmp_path / "tune" / "gemm_tune.json"
    monkeypatch.setenv(tune.CACHE_ENV, str(path))
    yield path
    for simd in SIMD_PATHS:
        sinapse.cpu.reset_gemm_blocking(simd, builtin=True)


# ---- detection


def test_microarchitecture_is_sane():
    a = sinapse.cpu.microarchitecture()
    assert a["name"] in ARCH_NAMES
    assert isinstance(a["model_name"], str)
    c = a["caches"]
    assert c["source"] in ("cpuid", "sysfs", "default")
    assert 8 * 1024 <= c["l1d"]["size"] <= 512 * 1024
    assert c["l2"]["size"] >= c["l1d"]["size"]
    assert c["l3"]["size"] == 0 or c["l3"]["size"] >= c["l2"]["size"]
    for level in ("l1d", "l2"):
        assert c[level]["ways"] >= 1 and c[level]["line"] in (32, 64, 128) and c[level]["shared_by"] >= 1
    if a["vendor"] in ("intel", "amd"):
        assert a["family"] >= 6 and a["model"] >= 0
    if "avx512" not in SIMD_PATHS and a["name"].startswith("generic"):
        assert a["name"] != "generic_avx512"


@pytest.mark.parametrize(
    "vendor,family,model,name",
    [
        ("intel", 6, 0x55, "skylake_x"),
        ("intel", 6, 0x6A, "icelake_server"),
        ("intel", 6, 0x8F, "sapphire_rapids"),
        ("intel", 6, 0xCF, "sapphire_rapids"),  # Emerald Rapids
        ("amd", 25, 0x01, "zen3"),
        ("amd", 25, 0x21, "zen3"),
        ("amd", 25, 0x11, "zen4"),
        ("amd", 25, 0x61, "zen4"),
        ("amd", 26, 0x02, "zen5"),
        ("amd", 23, 0x31, "generic_avx2"),  # Zen 2: not in the table
        ("intel", 6, 0x3F, "generic_avx2"),  # Haswell-EP
        ("centaur", 7, 1, "generic_avx2"),
    ],
)
def test_microarchitecture_names(vendor, family, model, name):
    assert _cpu.microarchitecture_name(vendor, family, model, False, True) == name
    if name == "generic_avx2":
        assert _cpu.microarchitecture_name(vendor, family, model, True, True) == "generic_avx512"
        assert _cpu.microarchitecture_name(vendor, family, model, False, False) == "generic"


# ---- the model and the table


def _cache(size, ways, shared_by=2):
    return {"size": size, "ways": ways, "line": 64, "shared_by": shared_by}


ODD_CACHES = [
    {"l1d": _cache(48 << 10, 12), "l2": _cache(1280 << 10, 20), "l3": _cache(105 << 20, 15, 112)},
    {"l1d": _cache(40 << 10, 10), "l2": _cache(768 << 10, 12), "l3": _cache(0, 1)},  # no L3 reported
    {"l1d": _cache(4 << 10, 2), "l2": _cache(64 << 10, 4), "l3": _cache(1 << 20, 4, 1)},  # tiny
    {"l1d": _cache(32 << 10, 1), "l2": _cache(256 << 10, 1), "l3": _cache(8 << 20, 1, 64)},  # direct-mapped
    {"l1d": _cache(64 << 10, 4), "l2": _cache(8 << 20, 16), "l3": _cache(512 << 20, 16, 1)},  # huge
]


@pytest.mark.parametrize("caches", ODD_CACHES)
@pytest.mark.parametrize("simd,shape", SHAPES)
def test_model_blocksizes_valid(simd, shape, caches):
    mr, nr = (int(x) for x in shape.split("x"))
    kc, mc, nc = _cpu.gemm_model_blocksizes(caches, mr, nr)
    assert kc >= 8 and kc % 8 == 0
    assert mc >= mr and mc % mr == 0
    assert nc >= nr and nc % nr == 0 and nc <= 8192


def test_model_follows_the_formulas():
    """Zen 4's 32 KiB 8-way L1d and a 12x32 kernel: B gets floor(7 / (1 + 12/32)) = 5 of the 8
    ways, 5 * 4 KiB / (32 * 4 bytes) = KC 160; L2 (1 MiB, 8 ways of 128 KiB): one way for the
    20 KiB B micro-panel, one for C, 6 for A: MC = 6 * 128 KiB / (160 * 4) = 1228 -> 1224."""
    zen4 = _cpu.gemm_nominal_caches("zen4")
    kc, mc, _ = _cpu.gemm_model_blocksizes(zen4, 12, 32)
    assert (kc, mc) == (160, 1224)


@pytest.mark.parametrize("row", _cpu.gemm_table(), ids=lambda r: f"{r['arch']}-{r['simd']}")
def test_table_rows(row):
    shapes = {f"{u['MR']}x{u['NR']}" for u in _cpu.gemm_ukernels(row["simd"])} if row["simd"] in SIMD_PATHS else None
    mr, nr = (int(x) for x in row["shape"].split("x"))
    assert row["MC"] % mr == 0 and row["NC"] % nr == 0 and row["KC"] >= 8
    assert row["split"] in ("rows", "cols") and row["derivation"]
    if shapes is not None:
        assert row["shape"] in shapes
    if row["derivation"].startswith("model") and row["simd"] in SIMD_PATHS:
        m = _cpu.gemm_model(row["simd"], row["arch"], _cpu.gemm_nominal_caches(row["arch"]))
        assert (f"{m['MR']}x{m['NR']}", m["KC"], m["MC"], m["NC"]) == (row["shape"], row["KC"], row["MC"], row["NC"])


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_builtin_source(simd, restore_blocking):
    sinapse.cpu.reset_gemm_blocking(simd, builtin=True)
    bk = sinapse.cpu.gemm_blocking(simd)
    arch = sinapse.cpu.microarchitecture()["name"]
    assert bk["source"] in (f"table: {arch}", "table: generic", "model")
    assert bk["MC"] % bk["MR"] == 0 and bk["NC"] % bk["NR"] == 0


# ---- every micro-kernel shape, alone and inside the GEMM


@pytest.mark.parametrize("alpha,beta", [(1.5, -0.5), (1.0, 0.0)])
@pytest.mark.parametrize("left_half", [False, True])
@pytest.mark.parametrize("kc", [0, 1, 5, 64])
@pytest.mark.parametrize("simd,shape", SHAPES)
def test_ukernel_shape(rng, simd, shape, kc, left_half, alpha, beta):
    mr, nr = (int(x) for x in shape.split("x"))
    u = next(u for u in sinapse.cpu.gemm_ukernels(simd) if (u["MR"], u["NR"]) == (mr, nr))
    if left_half and not u["has_left_half"]:
        pytest.skip("no left-half kernel")
    ldc = nr + 3
    ap, bp = random_f32(rng, (kc, mr)), random_f32(rng, (kc, nr))
    c = random_f32(rng, (mr, ldc))
    cols = nr // 2 if left_half else nr
    if beta == 0:
        c[:, :cols] = np.nan  # beta == 0: C is not read
    c0 = c.copy()
    _cpu.gemm_ukernel(simd, ap, bp, c, alpha, beta, left_half, shape)
    c_term = beta * c0[:, :cols].astype(np.float64) if beta else 0.0
    ref = alpha * (ap.astype(np.float64).T @ bp[:, :cols].astype(np.float64)) + c_term
    tol = 4 * (kc + 2) * EPS32 * (abs(alpha) * np.abs(ap.T) @ np.abs(bp[:, :cols]) + np.abs(c_term)) + 1e-6
    assert_within(np.ascontiguousarray(c[:, :cols]), ref, tol, f"{simd} {shape} left={left_half}")
    np.testing.assert_array_equal(c[:, cols:], c0[:, cols:], err_msg="columns beyond the tile were written")


@pytest.mark.parametrize("simd,shape", SHAPES)
@pytest.mark.parametrize(
    "trans_a,trans_b,alpha,beta,bias,act",
    [
        (False, False, 1.0, 0.0, False, None),
        (True, True, -0.5, 1.5, True, "relu"),
        (False, True, 2.0, 0.0, True, "tanh"),
    ],
)
def test_gemm_every_shape(rng, simd, shape, trans_a, trans_b, alpha, beta, bias, act, restore_blocking):
    """Small blocks force every loop of the tuned GEMM to run several times, with edge tiles."""
    mr, nr = (int(x) for x in shape.split("x"))
    sinapse.cpu.set_gemm_blocking(simd, ukernel=shape, KC=24, MC=2 * mr, NC=2 * nr)
    assert sinapse.cpu.gemm_blocking(simd)["ukernel"].endswith(shape)
    for m, n, k in [(3 * mr + 1, 5 * nr + nr // 2 - 1, 53), (mr, nr, 24), (37, nr // 2, 7)]:
        check_gemm(
            rng,
            m,
            n,
            k,
            trans_a=trans_a,
            trans_b=trans_b,
            alpha=alpha,
            beta=beta,
            bias=bias,
            activation=act,
            variant="tuned",
            simd=simd,
        )


@pytest.mark.parametrize("simd,shape", SHAPES)
def test_forced_path_runs_every_shape(rng, simd, shape, restore_blocking):
    """The process-wide forced path (no simd= argument) reaches the configured shape."""
    sinapse.cpu.set_gemm_blocking(simd, ukernel=shape)
    sinapse.cpu.simd_paths_run()
    with sinapse.cpu.use_simd(simd):
        check_gemm(rng, 70, 90, 150, alpha=-1.0, beta=1.0, variant="tuned")
    assert simd in sinapse.cpu.simd_paths_run()


@pytest.mark.parametrize("split", ["rows", "cols"])
@pytest.mark.parametrize("simd,shape", SHAPES)
def test_gemm_every_shape_threads(rng, simd, shape, split, restore_blocking, restore_threads):
    """Both threading split rules, with the configured default blocksizes."""
    sinapse.set_num_threads(2)
    sinapse.cpu.set_gemm_blocking(simd, ukernel=shape, split=split)
    check_gemm(rng, 203, 301, 517, alpha=0.75, beta=0.5, bias=True, variant="tuned", simd=simd)


@pytest.mark.parametrize("simd,shape", SHAPES)
def test_prepacked_b_every_shape(rng, simd, shape, restore_blocking):
    """The LSTM's recurrent GEMM packs its weights once (PackedB) and reuses them each step."""
    sinapse.cpu.set_gemm_blocking(simd, ukernel=shape, KC=16)
    n, t, d, h = 9, 4, 13, 37
    x = random_f32(rng, (n, t, d))
    k = (random_f32(rng, (d, 4 * h)) / np.sqrt(d)).astype(np.float32)
    rk = (random_f32(rng, (h, 4 * h)) / np.sqrt(h)).astype(np.float32)
    b = random_f32(rng, (4 * h,))
    with sinapse.cpu.use_simd(simd):
        y, h_t, c_t, _ = ops.lstm(x, k, rk, b)
    f64 = [v.astype(np.float64) for v in (x, k, rk, b)]
    ry, _, rc = reference.rnn.lstm(*f64)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c_t, rc, rtol=1e-4, atol=1e-5)


def test_set_gemm_blocking_rejects(restore_blocking):
    simd = SIMD_PATHS[-1]
    with pytest.raises(ValueError, match="ukernel='3x3' is not a"):
        sinapse.cpu.set_gemm_blocking(simd, ukernel="3x3")
    with pytest.raises(ValueError, match="split='diagonal'"):
        sinapse.cpu.set_gemm_blocking(simd, split="diagonal")
    with pytest.raises(ValueError, match="KC=0"):
        sinapse.cpu.set_gemm_blocking(simd, KC=0)


# ---- the tuner and its cache

TINY = ((40, 64, 72), (33, 50, 90))


@pytest.mark.parametrize("simd", SIMD_PATHS)
def test_tune_writes_cache_and_uses_it(tmp_cache, simd, rng):
    r = sinapse.cpu.tune(3.0, simd, shapes=TINY, repeats=2)
    assert r["elapsed_s"] < 3.0 + 2.0  # the budget is a hard bound (plus one candidate's validation)
    assert r["cache"] == str(tmp_cache) and r["gflops"] > 0
    data = json.loads(tmp_cache.read_text())
    entry = next(e for e in data["entries"] if e["key"]["simd"] == simd)
    assert entry["key"] == tune.cache_key(simd)
    assert entry["config"] == r["config"]
    assert not list(tmp_cache.parent.glob(".gemm_tune.*"))  # no temporary file left behind
    bk = sinapse.cpu.gemm_blocking(simd)
    assert bk["source"] == f"tuned cache {tmp_cache}"
    assert f"{bk['MR']}x{bk['NR']}" == r["config"]["ukernel"] and bk["KC"] == r["config"]["KC"]
    # reset returns to the tuned default; builtin drops it; loading the file brings it back
    sinapse.cpu.reset_gemm_blocking(simd)
    assert sinapse.cpu.gemm_blocking(simd)["source"].startswith("tuned cache")
    sinapse.cpu.reset_gemm_blocking(simd, builtin=True)
    assert not sinapse.cpu.gemm_blocking(simd)["source"].startswith("tuned cache")
    assert simd in tune.load_cache()
    assert sinapse.cpu.gemm_blocking(simd)["source"] == f"tuned cache {tmp_cache}"
    check_gemm(rng, 131, 97, 211, alpha=0.5, beta=1.0, bias=True, activation="sigmoid", variant="tuned", simd=simd)


def test_tune_bad_arguments(tmp_cache, monkeypatch):
    with pytest.raises(ValueError, match="budget_s=0"):
        sinapse.cpu.tune(0)
    with pytest.raises(ValueError, match="shapes="):
        sinapse.cpu.tune(1, shapes=[(1, 2)])
    with pytest.raises(ValueError, match="sse9"):
        sinapse.cpu.tune(1, "sse9")
    monkeypatch.setenv(tune.CACHE_ENV, "off")
    assert tune.cache_path() is None
    with pytest.raises(ValueError, match="disabled"):
        sinapse.cpu.tune(1, shapes=TINY)


def test_cache_path_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv(tune.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tune.cache_path() == tmp_path / "xdg" / "sinapse" / "gemm_tune.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tune.cache_path() == tmp_path / "home" / ".cache" / "sinapse" / "gemm_tune.json"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"format": 99, "entries": []}),
        json.dumps([1, 2]),
        "BAD_ENTRY",
    ],
)
def test_corrupt_cache_is_ignored_with_a_warning(tmp_cache, content):
    tmp_cache.parent.mkdir(parents=True)
    simd = SIMD_PATHS[-1]
    if content == "BAD_ENTRY":  # the right key, a config the library refuses
        bad = {"ukernel": "3x3", "KC": 64, "MC": 9, "NC": 9}
        content = json.dumps({"format": 1, "entries": [{"key": tune.cache_key(simd), "config": bad}]})
    tmp_cache.write_text(content)
    before = sinapse.cpu.gemm_blocking(simd)
    with pytest.warns(RuntimeWarning, match="ignoring"):
        assert tune.load_cache() == []
    assert sinapse.cpu.gemm_blocking(simd) == before


def test_mismatched_cache_is_not_used(tmp_cache):
    simd = SIMD_PATHS[-1]
    key = tune.cache_key(simd) | {"model_name": "Some Other CPU"}
    tmp_cache.parent.mkdir(parents=True)
    tmp_cache.write_text(
        json.dumps({"format": 1, "entries": [{"key": key, "config": {"ukernel": "6x8", "KC": 8, "MC": 6, "NC": 8}}]})
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tune.load_cache() == []


def _subprocess_env(cache) -> dict:
    env = dict(os.environ)
    env[tune.CACHE_ENV] = str(cache)
    env.pop("SINAPSE_SIMD", None)
    return env


def test_cli_tune_and_info(tmp_path):
    cache = tmp_path / "c" / "tune.json"
    env = _subprocess_env(cache)
    r = subprocess.run(
        [sys.executable, "-m", "sinapse", "tune", "--budget", "3", "--quick", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "GFLOP/s" in r.stdout and str(cache) in r.stdout
    assert json.loads(cache.read_text())["entries"]
    info = subprocess.run(
        [sys.executable, "-m", "sinapse", "info"], capture_output=True, text=True, timeout=120, env=env
    )
    assert info.returncode == 0, info.stderr
    assert f"source: tuned cache {cache}" in info.stdout  # loaded at import
    assert "CPU arch" in info.stdout


def test_cli_tune_bad_budget(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "sinapse", "tune", "--budget", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_subprocess_env(tmp_path / "x.json"),
    )
    assert r.returncode == 2 and "positive number" in r.stderr


def test_import_with_corrupt_cache_warns_not_crashes(tmp_path):
    cache = tmp_path / "bad.json"
    cache.write_text("\x00garbage")
    code = "import sinapse; print(sinapse.cpu.gemm_blocking()['source'])"
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_subprocess_env(cache)
    )
    assert r.returncode == 0, r.stderr
    assert "ignoring the GEMM tune cache" in r.stderr
    assert "tuned cache" not in r.stdout


def test_show_config_reports_every_path():
    c = sinapse.config()
    assert c["microarchitecture"]["name"] in ARCH_NAMES
    assert set(c["gemm_configs"]) == set(SIMD_PATHS)
    for g in c["gemm_configs"].values():
        assert g["source"]


@pytest.mark.parametrize("multiple", [4, 6, 8, 12, 14, 16, 24, 32, 48])
def test_tuner_rounding_keeps_multiples_within_bounds(multiple):
    # Clamping after rounding once gave MC = 4096 for MR = 14 (not a multiple): the tuner's
    # candidate was refused by set_gemm_blocking and the search stopped with a ValueError.
    from sinapse.tune import _round

    for x in (1, multiple - 1, 100.4, 4095, 4096, 4100, 1e9):
        v = _round(x, multiple, multiple, 4096)
        assert v % multiple == 0 and multiple <= v <= 4096, (x, v)
