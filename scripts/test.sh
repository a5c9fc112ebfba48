#!/usr/bin/env bash
# Fresh machine to green suite: install everything, then lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
scripts/bootstrap.sh dev,glove
exec scripts/check.sh "$@"
