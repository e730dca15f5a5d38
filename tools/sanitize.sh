#!/usr/bin/env bash
# Build sinapse._cpu and sinapse._cuda_sim with AddressSanitizer + UndefinedBehaviorSanitizer
# into build/sanitize (never build/editable, which the editable install rebuilds), stage them
# next to a copy of python/sinapse, and run pytest on that copy. Extra arguments go to pytest:
#   tools/sanitize.sh                       # the whole default suite
#   tools/sanitize.sh tests/test_gemm.py -x # a subset
# Environment: SINAPSE_SANITIZE_BUILD (default build/sanitize), OMP_NUM_THREADS (default 2).
# Documented in docs/sanitizers.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${SINAPSE_SANITIZE_BUILD:-$root/build/sanitize}"
stage="$build/stage"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)"

# 1. Configure and build (incremental: a second run recompiles only what changed).
#    SINAPSE_CUDA=OFF: nvcc-compiled code is not instrumented by the host sanitizers.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSKBUILD_PROJECT_VERSION="$version" -DSINAPSE_SANITIZE=ON -DSINAPSE_CUDA=OFF \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v python3)" >/dev/null
cmake --build "$build" --target _cpu _cuda_sim

# 2. Stage: a fresh copy of the Python package plus the sanitized modules. A sitecustomize.py
#    removes the editable install's import hook, which would otherwise map `sinapse` (and its
#    .so files) back to the source tree and build/editable, in this process and in every
#    subprocess a test starts (they inherit PYTHONPATH).
rm -rf "$stage" && mkdir -p "$stage"
cp -r "$root/python/sinapse" "$stage/sinapse"
find "$stage/sinapse" -name '*.so' -delete
cp "$build"/_cpu*.so "$build"/_cuda_sim*.so "$stage/sinapse/"
cat > "$stage/sitecustomize.py" <<'PY'
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "_editable_skbc_" not in type(f).__module__]
PY

# 3. Run. libasan must be loaded before the interpreter's allocator calls; python3 itself is
#    not instrumented, so leaks (CPython's own) are off. halt/abort: the first report fails the run.
#    allocator_may_return_null: an impossible allocation is a MemoryError (as without ASan), which
#    tests of huge sizes expect, not an ASan abort.
#    pytest runs with --capture=sys: the sanitizers write to fd 2, which fd capture would hide
#    (and lose on abort); the whole output is kept in $reports/pytest.log and scanned at the end.
#    UBSAN_OPTIONS=halt_on_error=0 lists every UB report in one run instead of stopping at the first.
reports="$build/reports"
rm -rf "$reports" && mkdir -p "$reports"
export PYTHONPATH="$stage${PYTHONPATH:+:$PYTHONPATH}"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
cd "$root"
python3 - <<'PY'
import sinapse, sinapse._cpu, sinapse._cuda_sim
print("sanitize.sh: sinapse from", sinapse.__file__)
print("sanitize.sh: modules", sinapse._cpu.__file__, sinapse._cuda_sim.__file__)
assert "/stage/" in sinapse._cpu.__file__ and "/stage/" in sinapse._cuda_sim.__file__, "not the sanitized build"
PY
# -p no:cacheprovider: pytest writes nothing into the tree; rootdir stays the repository.
set +e -o pipefail
python3 -m pytest -p no:cacheprovider --capture=sys --rootdir="$root" -c "$root/pyproject.toml" "$@" 2>&1 \
  | tee "$reports/pytest.log"
status=$?
n=$(grep -c "ERROR: AddressSanitizer\|runtime error:" "$reports/pytest.log")
echo "sanitize.sh: pytest exit status $status; $n sanitizer report(s) (log: $reports/pytest.log)"
[ "$n" -eq 0 ] || status=1
exit "$status"
