#!/usr/bin/env bash
# The GPU check of sinapse in one short run, from the repository root of a GPU machine:
#   OUT=/some/folder bash tools/device_check.sh
# 1. facts: nvidia-smi -L, nvcc, python3 and its packages                        -> $OUT/info.log
# 2. build sinapse with CUDA for sm_90 only into $DEVICE_CHECK_SITE (/tmp/sinapse-site),
#    and check that python3 imports that copy with a usable GPU                  -> $OUT/build.log
# 3. pytest: tests/test_cuda_device.py (every op on CuPy arrays against the CPU) and the
#    GPU tests of gemm, embedding and the optimizers                             -> $OUT/pytest.log
# 4. compute-sanitizer memcheck on tools/device_ops_once.py (every op, CuPy arrays),
#    then racecheck, synccheck and initcheck while time is left                   -> $OUT/sanitizer.log
# 5. python3 -m bench gemm_cuda --quick                                          -> $OUT/bench_gemm_cuda.log
# Each step has its own timeout inside one budget ($DEVICE_CHECK_BUDGET s, default 390: the
# whole script stays under 7 minutes); a failed step does not stop the next; the last lines
# (also in $OUT/summary.txt) say per step: passed, failed (exit status) or timed out.
#
# Dry mode, to test this script on a machine without a GPU: DEVICE_CHECK_DRY=1 skips the
# build (the local install is used), nvidia-smi and compute-sanitizer (device_ops_once.py runs
# on the CUDA simulator instead) and runs tests/test_cuda_device.py on the simulator.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder whose files come back}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
DRY="${DEVICE_CHECK_DRY:-0}"
BUDGET="${DEVICE_CHECK_BUDGET:-390}"
SITE="${DEVICE_CHECK_SITE:-/tmp/sinapse-site}"
START=$SECONDS
SUMMARY=()

# step NAME MAX RESERVE LOG COMMAND...: run COMMAND under `timeout`, for at most MAX seconds
# and never into the last RESERVE seconds of the budget (kept for the steps after it); output
# to the terminal and appended to LOG; one summary line.
step() {
  local name=$1 max=$2 reserve=$3 log=$4
  shift 4
  local t=$((BUDGET - (SECONDS - START) - reserve))
  ((t > max)) && t=$max
  if ((t < 15)); then
    SUMMARY+=("$name: not run (out of time: ${t}s left for it)")
    return 0
  fi
  echo "===== $name (timeout ${t}s): $*" | tee -a "$log"
  local t0=$SECONDS
  if declare -F "$1" >/dev/null; then # a function of this script: `timeout` needs a process
    set -- bash -c '"$@"' "$1" "$@"
  fi
  timeout -k 10 "$t" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]} verdict
  case $rc in
    0) verdict="passed" ;;
    124 | 137) verdict="timed out after ${t}s" ;;
    *) verdict="failed (exit status $rc)" ;;
  esac
  echo "===== $name: $verdict" | tee -a "$log"
  SUMMARY+=("$name: $verdict in $((SECONDS - t0))s (log: $(basename "$log"))")
}

info() {
  if [[ $DRY == 1 ]]; then
    echo "dry mode: nvidia-smi skipped"
  else
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
  fi
  nvcc --version | tail -2
  python3 --version
  cmake --version | head -1
  ninja --version 2>/dev/null | sed 's/^/ninja /' || echo "ninja: not found (make is used)"
  [[ $DRY == 1 ]] || compute-sanitizer --version | tail -1
  python3 - <<'PY'
import importlib
for name in ("numpy", "cupy", "pybind11", "scikit_build_core", "pytest", "hypothesis", "torch"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as exc:  # noqa: BLE001 - report, do not stop
        print(f"{name}: {type(exc).__name__}: {exc}")
PY
}

build() {
  # A fresh target each time (pip --target does not replace an existing package); the CMake
  # build folder (build/<wheel tag>, pyproject.toml) is kept, so a rerun rebuilds only changes.
  rm -rf "$SITE"
  SINAPSE_CUDA=ON SINAPSE_CUDA_ARCHS=90 CMAKE_BUILD_PARALLEL_LEVEL=16 \
    python3 -m pip install --no-build-isolation --no-deps -q --target "$SITE" .
}

# The copy of sinapse every later step imports, and whether the GPU is usable from it.
which_sinapse() {
  python3 - "$SITE" "$DRY" <<'PY'
import os, sys
import sinapse
site, dry = sys.argv[1], sys.argv[2] == "1"
where = os.path.dirname(sinapse.__file__)
print(f"sinapse {sinapse.__version__} from {where}; CUDA build {sinapse.cuda.build_info()}")
print(f"CUDA usable: {sinapse.cuda.is_available()} ({sinapse.cuda.why_unavailable() or 'yes'})")
if not dry:
    assert where.startswith(site), f"sinapse was imported from {where}, not from {site}"
    assert sinapse.cuda.is_available(), sinapse.cuda.why_unavailable()
    import cupy
    print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
PY
}

sanitize() {
  local tool=$1
  if [[ $DRY == 1 ]]; then
    echo "dry mode: compute-sanitizer --tool $tool skipped; the workload on the simulator instead"
    python3 tools/device_ops_once.py --sim
  else
    compute-sanitizer --tool "$tool" --error-exitcode 99 python3 tools/device_ops_once.py
  fi
}

# nvcc and compute-sanitizer where a CUDA toolkit installs them, if not already on PATH
for dir in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do
  [[ -d $dir ]] && PATH="$PATH:$dir"
done
export PATH
export -f info build which_sinapse sanitize
export DRY SITE
if [[ $DRY == 1 ]]; then
  export SINAPSE_DEVICE_TEST_SIM=1 # run test_cuda_device.py's harness on the simulator
  echo "device_check: dry mode (no build, the local sinapse, no GPU tools)"
else
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONDONTWRITEBYTECODE=1

# Reserves keep time for the import check (20 s), pytest (90 s), memcheck (60 s) and the
# benchmark (40 s) even when the build is slow (about a minute on 16 cores, from nothing);
# racecheck, synccheck and initcheck only run in what is left.
step info 30 300 "$OUT/info.log" info
if [[ $DRY == 1 ]]; then
  SUMMARY+=("build: skipped (dry mode)")
else
  step build 240 210 "$OUT/build.log" build
fi
step import 30 190 "$OUT/build.log" which_sinapse
step pytest 120 100 "$OUT/pytest.log" python3 -m pytest -q -p no:cacheprovider --maxfail=25 --durations=10 \
  --junitxml="$OUT/pytest.xml" tests/test_cuda_device.py tests/test_gemm_cuda.py tests/test_embedding.py \
  tests/test_optimizers_api.py tests/test_plan.py -k "cuda or device or gpu"
step memcheck 75 40 "$OUT/sanitizer.log" sanitize memcheck
step bench 60 0 "$OUT/bench_gemm_cuda.log" python3 -m bench gemm_cuda --quick --out "$OUT/bench"
for tool in racecheck synccheck initcheck; do
  step "$tool" 60 0 "$OUT/sanitizer.log" sanitize "$tool"
done

{
  echo "===== device_check summary ($((SECONDS - START))s of a ${BUDGET}s budget)"
  printf '%s\n' "${SUMMARY[@]}"
  echo "----- pytest: $(grep -E '(passed|failed|error|skipped|no tests ran)( |,).* in [0-9.]+s' "$OUT/pytest.log" | tail -1)"
  grep -hE '^===== (memcheck|racecheck|synccheck|initcheck) \(|ERROR SUMMARY|^device_ops_once:' "$OUT/sanitizer.log" \
    2>/dev/null | sed 's/^/----- sanitizer: /'
} | tee "$OUT/summary.txt"
