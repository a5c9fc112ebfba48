"""Settings tuner: sized to the host, corrected by the server's own statistics.

``offline(Request)`` tunes from hardware flags and the bundled per-version
settings table; ``live(conn, Request)`` detects local hardware, reads the
server's statistics and validates against its pg_settings. Both return a
``Recommendation``: settings (name, current, recommended, unit, restart,
reason), the memory budget, the evidence used and notes.
"""

from pgtune_hx.tune.model import SettingChange, Storage, TuneInputs, Workload
from pgtune_hx.tune.recommend import Recommendation, recommend
from pgtune_hx.tune.run import Applied, Request, apply, from_snapshot, live, offline

__all__ = [
    "Applied",
    "Recommendation",
    "Request",
    "SettingChange",
    "Storage",
    "TuneInputs",
    "Workload",
    "apply",
    "from_snapshot",
    "live",
    "offline",
    "recommend",
]
