"""Server-wide sections: settings and the rest of the server's own statistics."""

from __future__ import annotations

from pgtune_hx.collect.model import Section
from pgtune_hx.collect.runner import Context, section


def settings(ctx: Context) -> list[Section]:
    return [section(ctx, "settings")]
