"""F1: the keys, and what the numbers mean."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# pgtune-hx monitor

| key | does |
|---|---|
| `1`..`6` | Overview, Activity, Locks, Statements, Tables, Findings |
| `F1` `?` | this help |
| `Ctrl+P` | command palette |
| `q` `F10` | quit |
| `p` `Space` | pause / resume (the display freezes, collection stops) |
| `r` `F5` | refresh now |
| `Enter` | open the selected session or statement |
| `c` | cancel the selected session's query (asks first) |
| `k` `F9` | terminate the selected session (asks first) |
| `/` | filter sessions (`Esc` clears) |
| `i` | show / hide idle sessions |
| `s` | show / hide background processes |
| `F6` `o` | next sort column; `t` age, `x` transaction age, `P` pid; `I` inverts |
| `d` | Statements: this database only / every database |
| `y` | copy the fix (Findings), the query (statement view) |
| `a` | analyze again (Findings) |
| `[` `]` | step back / forward (`--replay`) |
| `Esc` | back |

## What the numbers mean

Rates are the difference of two counters divided by the **measured** time between
the two snapshots that hold them (the server's clock at each capture), not the
nominal refresh. After a statistics reset, a server restart or an evicted
pg_stat_statements entry, the rate shows **n/a** for one refresh instead of a
negative number.

- **TPS**: commits + rollbacks per second, all databases (pg_stat_database).
- **cache hit**: blks_hit / (blks_hit + blks_read) over the interval; *since reset*
  is the cumulative ratio. Reads served by the OS page cache count as reads.
- **temp/s**: bytes written to temporary files per second (sorts and hashes spilling).
- **WAL/s**: pg_stat_wal.wal_bytes per second.
- **checkpoints**: timed / requested since the stats reset; many requested ones
  mean max_wal_size is small for the write rate.
- **connections**: client backends by state against max_connections.
- **XACT AGE**: time since the transaction started; **AGE**: query age while
  active, time in the current state otherwise.
- **XMIN AGE**: transactions since the session's xmin horizon: old values hold
  back vacuum everywhere.
- **BEHIND** (Locks): distinct sessions waiting on this one, directly or behind
  other waiters. Roots (red) wait for nobody: they are the ones to act on.
- **TIME ms/s** (Statements): milliseconds of execution per second of wall time;
  1000 means one backend busy all the time.
- **~** before a size: an estimate from relpages, because the relation is locked.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss_help", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
