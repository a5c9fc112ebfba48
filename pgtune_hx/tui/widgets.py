"""RowTable: a read-only table that redraws hundreds of rows every refresh cheaply.

Textual's DataTable does bookkeeping per added row (reactive cursor updates,
column lookups, idle re-measuring) that costs tens of milliseconds for a few
hundred rows: too much to rebuild every two seconds on a monitor. RowTable
takes the whole row list at once (``set_rows``), measures column widths with
plain cell lengths, and renders only the visible lines (Line API), with a
sticky header and a row cursor that stays on its row key across refreshes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

# a cell: plain text, (text, style) or, for the rare cell with several styles, rich Text
Cell = str | tuple[str, str] | Text
Row = tuple[str, Sequence[Cell]]

GAP = 2
MAX_WIDTH = 48  # any column but the last; the last one takes what is left


class RowTable(ScrollView, can_focus=True):
    """Rows keyed by a string; Enter posts Selected, moving the cursor posts Highlighted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header",
        "row-table--cursor",
        "row-table--odd",
    }
    DEFAULT_CSS = """
    RowTable {
        height: 1fr;
        overflow-x: hidden;
    }
    RowTable > .row-table--header {
        text-style: bold;
        background: $panel;
    }
    RowTable > .row-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    RowTable:blur > .row-table--cursor {
        background: $block-cursor-blurred-background;
    }
    RowTable > .row-table--odd {
        background: $surface-lighten-1 20%;
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class Selected(Message):
        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    class Highlighted(Message):
        def __init__(self, table: RowTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

    def __init__(self, *columns: str, right: Iterable[str] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[str] = list(columns)
        self.rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._widths: list[int] = [len(c) for c in columns]
        aligned = set(right)
        self._right: list[bool] = [c in aligned for c in columns]
        self._cache: dict[tuple[int, bool, int], Strip] = {}
        self._styles: dict[str, Style] | None = None

    # -- data ----------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def row_keys(self) -> list[str]:
        return [key for key, _ in self.rows]

    def selected_key(self) -> str | None:
        if not self.rows:
            return None
        return self.rows[min(self.cursor, len(self.rows) - 1)][0]

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Replace every row; the cursor stays on the same key when it is still there."""
        keep = self.selected_key()
        self.rows = list(rows)
        self._index = {key: i for i, (key, _) in enumerate(self.rows)}
        widths = [len(c) for c in self.columns]
        for _, cells in self.rows:
            for i, cell in enumerate(cells):
                length = _width(cell)
                if length > widths[i]:
                    widths[i] = length
        self._widths = [min(w, MAX_WIDTH) for w in widths]
        self._cache.clear()
        self._styles = None
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        target = self._index.get(keep, self.cursor) if keep is not None else 0
        self.cursor = max(0, min(target, len(self.rows) - 1))
        self.refresh()

    def move_to_key(self, key: str) -> bool:
        index = self._index.get(key)
        if index is None:
            return False
        self.cursor = index
        return True

    # -- cursor --------------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1)) if self.rows else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        if old != new:
            self.post_message(self.Highlighted(self, self.selected_key()))

    def _body_height(self) -> int:
        return max(1, self.size.height - 1)

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_y)
        height = self._body_height()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * self._body_height()

    def action_edge(self, end: int) -> None:
        self.cursor = len(self.rows) - 1 if end else 0

    def action_select(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            return
        index = round(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = index

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)

    # -- rendering -----------------------------------------------------------------------------

    def _line(self, cells: Sequence[Cell], width: int, base: Style) -> Strip:
        """One row as segments: plain cells take a fast path, rich Text the general one."""
        segments: list[Segment] = []
        used = 0
        last = len(self.columns) - 1
        gap = Segment(" " * GAP, base)
        for i, cell in enumerate(cells):
            if used >= width:
                break
            right = self._right[i]
            if i < last:
                column = self._widths[i]
            else:  # text fills the rest of the line; numbers keep their width
                column = max(1, width - used)
                if right:
                    column = min(column, self._widths[i])
            if isinstance(cell, Text):
                piece = cell.copy()
                piece.truncate(column, overflow="ellipsis", pad=False)
                pad = column - piece.cell_len
                if pad and right:
                    segments.append(Segment(" " * pad, base))
                for seg in piece.render(self.app.console):
                    if seg.text != "\n":
                        segments.append(Segment(seg.text, base + seg.style if seg.style else base))
                if pad and not right and i < last:
                    segments.append(Segment(" " * pad, base))
            else:
                plain, style = (cell, "") if isinstance(cell, str) else cell
                text = _fit(plain, column, right, pad=i < last or right)
                segments.append(Segment(text, base + Style.parse(style) if style else base))
            used += column
            if i < last:
                segments.append(gap)
                used += GAP
        strip = Strip(segments)
        return strip.crop(0, width).extend_cell_length(width, base)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._cache.clear()

    def _style(self, name: str) -> Style:
        # computing a widget's rich style walks the CSS: once per refresh, not per line
        if self._styles is None:
            base = self.rich_style
            self._styles = {
                "base": base,
                "header": base + self.get_component_rich_style("row-table--header"),
                "odd": base + self.get_component_rich_style("row-table--odd"),
                "cursor": self.get_component_rich_style("row-table--cursor"),
            }
        return self._styles[name]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            key = (-1, False, width)
            if key not in self._cache:
                self._cache[key] = self._line(self.columns, width, self._style("header"))
            return self._cache[key]
        index = round(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self._style("base"))
        on_cursor = index == self.cursor
        key = (index, on_cursor, width)
        strip = self._cache.get(key)
        if strip is None:
            style = self._style("odd" if index % 2 else "base")
            strip = self._line(self.rows[index][1], width, style)
            if on_cursor:
                strip = strip.apply_style(self._style("cursor"))
            self._cache[key] = strip
        return strip


def _width(cell: Cell) -> int:
    if isinstance(cell, Text):
        return cell.cell_len
    plain = cell if isinstance(cell, str) else cell[0]
    return len(plain) if plain.isascii() else cell_len(plain)


def _fit(plain: str, width: int, right: bool, *, pad: bool) -> str:
    """Cut to ``width`` cells with an ellipsis, then pad to it.

    >>> _fit("abcdef", 4, False, pad=True), _fit("ab", 4, True, pad=True)
    ('abc…', '  ab')
    """
    if plain.isascii():
        if len(plain) > width:
            plain = plain[: width - 1] + "…"
        length = len(plain)
    else:
        if cell_len(plain) > width:
            plain = set_cell_size(plain, width - 1) + "…"
        length = cell_len(plain)
    if not pad or length >= width:
        return plain
    return " " * (width - length) + plain if right else plain + " " * (width - length)
