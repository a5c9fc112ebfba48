#!/usr/bin/env bash
# CI smoke of `pgtune-hx bench pgbench`: tpcb at scale 1, one 10 s run with 2 clients,
# on a temporary embedded server, gated against benchmarks/baselines/smoke.json.
#
# The threshold is generous (60%, TPS only): CI machines differ from the one that
# recorded the baseline and are often shared, so this catches breakage and
# collapses, not small drifts. p95 latency is not gated here: on a shared 2-vCPU
# machine it doubled between two consecutive 10 s runs while this was written.
#
#   scripts/bench-smoke.sh                    # run and gate (exit 1 past the threshold)
#   scripts/bench-smoke.sh --update-baseline  # run and store the result as the baseline
set -euo pipefail
cd "$(dirname "$0")/.."
cli=.venv/bin/pgtune-hx
baseline=benchmarks/baselines/smoke.json
work=$(mktemp -d /tmp/pgtune_hx-smoke-XXXXXX)
chmod 755 "$work"
cleanup() {
  "$cli" --data-dir "$work/server" server stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

run=("$cli" --data-dir "$work/server" bench pgbench --dsn embedded --builtin tpcb
     --scale 1 --clients 2 --duration 10 --runs 1 -o "$work/results.json")
if [ "${1:-}" = "--update-baseline" ]; then
  "${run[@]}"
  cp "$work/results.json" "$baseline"
  echo "baseline written to $baseline"
else
  "${run[@]}" --baseline "$baseline" --max-regression 60% --gate-metric tps \
    --markdown "${GITHUB_STEP_SUMMARY:-$work/summary.md}"
fi
