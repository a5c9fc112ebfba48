"""`pgtune-hx bench ...`: benchmark commands, one module per benchmark."""

from __future__ import annotations

import typer

from pgtune_hx.cli import bench_pgbench, bench_vector

bench_app = typer.Typer(help="Benchmarks on the embedded server (or --allow-writes elsewhere).")


def register(app: typer.Typer) -> None:
    # each benchmark module adds its command to bench_app here, one line each
    bench_vector.register(bench_app)
    bench_pgbench.register(bench_app)
    app.add_typer(bench_app, name="bench")
