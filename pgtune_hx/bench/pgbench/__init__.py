"""pgbench benchmarks: real pgbench runs, A/B comparison of settings, a regression gate.

Modules: scripts (workloads, checked before any run), settings (CONFIG files,
ALTER SYSTEM and restore), runner (the pgbench binary), parse and stats (its
logs and summary), compare (ABAB plan, ratios, verdicts), gate (baseline
check), results (the results file), session (one benchmark end to end).
"""

from pgtune_hx.bench.pgbench.results import RESULTS_FORMAT, load_results, save_results
from pgtune_hx.bench.pgbench.session import BenchOptions, run_benchmark

__all__ = ["RESULTS_FORMAT", "BenchOptions", "load_results", "run_benchmark", "save_results"]
