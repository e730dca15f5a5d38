"""One table of enumerations (csrc/common/enums.h), bound into every binding module and read by
python/sinapse/ops/_enums.py: the modules agree with each other, and Python restates no code."""

import importlib

import pytest

import sinapse
from sinapse import _cpu, registry
from sinapse import cpu as cpu_backend
from sinapse.ops import _enums

TABLES = (
    "ACTIVATIONS",
    "EPILOGUES",
    "LOSSES",
    "OPTIMIZERS",
    "RNN_CELLS",
    "RNN_GATES",
    "SIMD_PATHS",
    "GEMM_VARIANTS",
    "KERNEL_VARIANTS",
    "CONV_VARIANTS",
    "MERGE_MODES",
)


def _modules():
    mods = {"_cpu": _cpu}
    for name in ("_cuda_sim", "_cuda"):
        try:
            mods[name] = importlib.import_module(f"sinapse.{name}")
        except ImportError:
            pass
    return mods


@pytest.mark.parametrize("table", TABLES)
def test_every_module_binds_the_same_table(table):
    mods = _modules()
    want = list(getattr(_cpu, table).items())
    assert want, table
    for name, mod in mods.items():
        assert list(getattr(mod, table).items()) == want, f"{name}.{table}"


@pytest.mark.skipif(not sinapse.cuda.simulator_built(), reason="built without the CUDA simulator")
def test_the_simulator_is_among_the_compared_modules():
    assert "_cuda_sim" in _modules()


@pytest.mark.parametrize("table", TABLES)
def test_python_reads_the_table_from_the_module(table):
    got = getattr(_enums, table)
    want = dict(getattr(_cpu, table))
    if table == "EPILOGUES":
        assert got[None] == want["linear"]
        got = {k: v for k, v in got.items() if k is not None}
    assert got == want


def test_the_ops_use_the_tables():
    def module(name):  # sinapse.ops.<name> the module, not the function ops exports under that name
        return importlib.import_module(f"sinapse.ops.{name}")

    activation, gemm, losses, optimizers, rnn = map(module, ("activation", "gemm", "losses", "optimizers", "rnn"))
    assert activation.KINDS is _enums.ACTIVATIONS
    assert gemm.ACTIVATIONS is _enums.EPILOGUES
    assert losses.KINDS is _enums.LOSSES
    assert optimizers._KINDS is _enums.OPTIMIZERS
    assert rnn._CELL_CODES is _enums.RNN_CELLS and rnn._GATES is _enums.RNN_GATES


def test_tables_hold_what_python_names():
    assert _enums.ACTIVATIONS["swish"] == _enums.ACTIVATIONS["silu"]
    assert _enums.LOSSES["mean_squared_error"] == _enums.LOSSES["mse"]
    assert list(_enums.EPILOGUES) == [None, "linear", "relu", "sigmoid", "tanh"]
    # the epilogue's codes are the first activation codes (common/activations.h)
    assert all(_enums.ACTIVATIONS[n] == c for n, c in _enums.EPILOGUES.items() if n is not None)
    assert _enums.RNN_GATES == {"simple_tanh": 1, "simple_relu": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def test_simd_paths_and_gemm_variants_match_their_python_lists():
    assert tuple(_enums.SIMD_PATHS) == cpu_backend.SIMD_PATHS
    assert tuple(_enums.GEMM_VARIANTS) == registry.OPS["gemm"].variants


def test_every_op_with_variants_names_those_of_a_table():
    # registry.OPS lists each op's variants for the tests, benchmarks and docs; the names the
    # bindings parse come from the C++ tables: the two lists agree.
    for op in registry.OPS.values():
        if op.variants != ("default",):
            table = {"gemm": _enums.GEMM_VARIANTS, "conv2d": _enums.CONV_VARIANTS}.get(op.name, _enums.KERNEL_VARIANTS)
            assert op.variants == tuple(table), op.name
            # the CUDA kernels take KernelVariant's names (conv2d's CPU-only ones are refused there)
            if op.name == "conv2d":
                assert op.variants_on("cuda") == tuple(_enums.KERNEL_VARIANTS)
