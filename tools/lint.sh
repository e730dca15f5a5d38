#!/usr/bin/env bash
# The style and type checks .ci/run runs; run them before committing (pip install ".[lint]" first).
#   tools/lint.sh          check only (what CI does)
#   tools/lint.sh --fix    apply ruff's fixes and both formatters, then check
set -euo pipefail
cd "$(dirname "$0")/.."
py=(python tests bench tools)
mapfile -t cpp < <(git ls-files 'csrc/*.cpp' 'csrc/*.h' 'csrc/*.cu' 'csrc/*.cuh')
if [[ "${1:-}" == "--fix" ]]; then
  ruff check --fix "${py[@]}"
  ruff format "${py[@]}"
  clang-format -i "${cpp[@]}"
fi
echo "== ruff check";        ruff check "${py[@]}"
echo "== ruff format";       ruff format --check "${py[@]}"
echo "== clang-format";      clang-format --dry-run --Werror "${cpp[@]}"
echo "== mypy";              mypy  # [tool.mypy] in pyproject.toml: files, Python version, overrides
echo "== style checks passed"
