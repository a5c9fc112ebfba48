"""Recorded snapshots, played back through the same model and screens.

A replay source is a directory of snapshot files (the collectors' format, as
written by ``pgtune-hx snapshot`` or ``pgtune-hx tui --record``) or one file.
Files are ordered by their capture time, not by name. ``view_at(i)`` rebuilds
the model from the files before ``i`` that fall in the history window, so a
step back shows the same rates and sparklines a forward play did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pgtune_hx.collect.model import Snapshot, load, save
from pgtune_hx.errors import UsageError
from pgtune_hx.tui.model import HISTORY_SECONDS, RefreshModel, View


def snapshot_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"--replay: {path} is neither a snapshot file nor a directory")
    files = sorted(
        p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and _looks(p)
    )
    if not files:
        raise UsageError(f"--replay: no snapshot files (*.json, *.json.gz) in {path}")
    return files


def _looks(path: Path) -> bool:
    return path.name.endswith((".json", ".json.gz", ".gz"))


@dataclass
class Replay:
    snapshots: list[Snapshot]
    position: int = 0
    _model: RefreshModel | None = field(default=None, repr=False)
    _fed: int = -1
    _view: View | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: Path) -> Replay:
        """Load and validate every file now, so a bad one fails before the UI starts."""
        snapshots = [load(p) for p in snapshot_files(Path(path))]
        snapshots.sort(key=lambda s: s.captured)
        return cls(snapshots)

    def __len__(self) -> int:
        return len(self.snapshots)

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.snapshots) - 1

    def view_at(self, index: int) -> View:
        index = max(0, min(index, len(self.snapshots) - 1))
        if index == self._fed and self._view is not None:
            return self._view
        if self._model is None or index != self._fed + 1:
            # rebuild from the start of the history window before ``index``
            target = self.snapshots[index].captured
            start = index
            while (
                start > 0
                and (target - self.snapshots[start - 1].captured).total_seconds() <= HISTORY_SECONDS
            ):
                start -= 1
            self._model = RefreshModel(replay=True)
            for snap in self.snapshots[start:index]:
                self._model.update(snap)
        view = self._model.update(self.snapshots[index])
        self._fed = index
        self._view = view
        self.position = index
        return view

    def current(self) -> View:
        return self.view_at(self.position)

    def step(self, by: int) -> View:
        return self.view_at(self.position + by)


class Recorder:
    """Writes each live refresh to a directory, one file per capture, for --replay."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, snapshot: Snapshot) -> Path:
        stamp = snapshot.captured.strftime("%Y%m%dT%H%M%S.%f%z")
        self.count += 1
        return save(snapshot, self.directory / f"tui-{stamp}.json.gz")
