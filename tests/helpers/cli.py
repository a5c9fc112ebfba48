"""Run the CLI in-process (faster than a subprocess) with its real error handling."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from typing import Any

from pgtune_hx.cli.main import run


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_line(self) -> str:
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("error: "), self.stderr
        return lines[0]


def invoke(*args: str, stdin: str | None = None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with contextlib.ExitStack() as stack:
            if stdin is not None:
                import sys

                stack.enter_context(_stdin(sys, stdin))
            try:
                run(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(sys_module: Any, text: str) -> Any:
    saved = sys_module.stdin
    sys_module.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys_module.stdin = saved
