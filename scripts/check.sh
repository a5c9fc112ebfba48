#!/usr/bin/env bash
# Lint, type-check, layering contracts and the whole test suite, in one command.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/ruff" format --check pgtune_hx tests benchmarks
"$bin/ruff" check pgtune_hx tests benchmarks
"$bin/mypy"
"$bin/lint-imports" --no-cache
set +e
"$bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
