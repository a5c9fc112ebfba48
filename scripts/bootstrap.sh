#!/usr/bin/env bash
# Create .venv and install pgtune_hx into it (with the extras given as $1, e.g. "dev").
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" 2>&1 \
  | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import pgtune_hx, psycopg, pglast" >/dev/null
