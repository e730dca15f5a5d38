"""Peak memory of a ResNet50 training step, sinapse vs PyTorch: each framework in its own
subprocess (2 threads); peak RSS (VmHWM) minus the RSS before the model is built (framework
imported, input batch allocated), so the delta counts weights, gradients, optimizer state,
activations and workspaces. Prints a markdown table. About 10 minutes measured on the shared,
loaded 2-vCPU Zen 4 machine (sinapse 170-190 s per step, PyTorch 40-57 s); less when quiet.

    python tools/peak_memory.py                     # ResNet50, batch 32, 224x224x3, 2 steps each
    python tools/peak_memory.py --batch 8 --steps 2
    python tools/peak_memory.py --child torch       # one measurement, JSON on stdout (used by the parent)

Both train with SGD, momentum 0.9 (one velocity buffer per weight in both), sparse categorical
cross-entropy, on one synthetic batch; PyTorch runs the Keras-structured twin
(bench/suites/torch_apps.resnet50) in channels_last (its faster layout on this CPU) and NCHW.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("sinapse", "torch NHWC", "torch NCHW")


def _status_kib(field: str) -> int:
    """A /proc/self/status field in KiB (VmRSS: resident now, VmHWM: the peak resident)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"peak_memory: /proc/self/status has no {field}")


def _sinapse_step(batch: int, threads: int):
    import sinapse
    from sinapse import applications

    sinapse.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 224, 224, 3), dtype=np.float32)
    y = rng.integers(0, 1000, batch).astype(np.int32)
    base = _status_kib("VmRSS")
    if not hasattr(applications, "ResNet50"):
        raise RuntimeError("sinapse.applications has no ResNet50 yet")
    model = applications.ResNet50(weights=None, input_shape=(224, 224, 3), classes=1000)
    model.compile(
        optimizer=sinapse.optimizers.SGD(learning_rate=0.1, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    return base, lambda: model.train_on_batch(x, y)


def _torch_step(batch: int, threads: int, channels_last: bool):
    import torch

    sys.path.insert(0, str(ROOT))
    from bench.suites import torch_apps

    torch.set_num_threads(threads)
    base = _status_kib("VmRSS")
    step = torch_apps.app_train_step("resnet50", batch, channels_last)
    base += batch * 224 * 224 * 3 * 4 // 1024  # the step allocates its input batch: part of the baseline
    return base, step


def child(framework: str, batch: int, steps: int, threads: int) -> dict:
    if framework == "sinapse":
        base, step = _sinapse_step(batch, threads)
    else:
        base, step = _torch_step(batch, threads, framework == "torch NHWC")
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak = _status_kib("VmHWM")
    return dict(
        framework=framework, base_mib=base / 1024, peak_mib=peak / 1024, delta_mib=(peak - base) / 1024, step_s=times
    )


def run_child(framework: str, a) -> dict:
    cmd = [sys.executable, __file__, "--child", framework, "--batch", str(a.batch), "--steps", str(a.steps)]
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    p = subprocess.run(cmd + ["--threads", str(a.threads)], capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != 0:
        return dict(framework=framework, error=(p.stderr.strip().splitlines() or ["failed"])[-1])
    return json.loads(p.stdout.strip().splitlines()[-1])


def table(results, a) -> str:
    weights_mib = 25_636_712 * 4 / 2**20
    lines = [
        f"# Peak memory of a ResNet50 training step (batch {a.batch}, 224x224x3, SGD momentum), {a.threads} threads\n",
        f"Peak RSS (VmHWM) minus the RSS before the model was built, after {a.steps} steps; each framework "
        f"in its own process. For scale: the weights are {weights_mib:.0f} MiB, weights + gradients + "
        f"momentum {3 * weights_mib:.0f} MiB. `python tools/peak_memory.py`.\n",
        "| framework | peak - baseline MiB | baseline MiB | peak MiB | step s (first, last) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['framework']} | - | - | - | {r['error']} |")
            continue
        lines.append(
            f"| {r['framework']} | {r['delta_mib']:.0f} | {r['base_mib']:.0f} | {r['peak_mib']:.0f} | "
            f"{r['step_s'][0]:.2f}, {r['step_s'][-1]:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Peak memory of a ResNet50 training step, sinapse vs PyTorch.")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help=f"comma-separated subset of {FRAMEWORKS}")
    p.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.batch < 1 or a.steps < 1:
        p.error(f"--batch and --steps must be >= 1, got {a.batch} and {a.steps}")
    if a.child:
        print(json.dumps(child(a.child, a.batch, a.steps, a.threads)))
        return 0
    chosen = [f.strip() for f in a.frameworks.split(",")]
    unknown = [f for f in chosen if f not in FRAMEWORKS]
    if unknown:
        p.error(f"--frameworks: unknown {unknown}; choose from {FRAMEWORKS}")
    print(table([run_child(f, a) for f in chosen], a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
