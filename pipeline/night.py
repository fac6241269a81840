"""Where one night's inputs and outputs live (`NightConfig`), and the checks that keep raw rows away from readers.

Plain values only, so a config travels through XCom as a dict and every task rebuilds it. The raw, clean and
quarantine roots may each be a folder or a URL (pipeline.storage); staging is always a local folder.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.contracts import SOURCES
from pipeline.errors import ConfigError
from pipeline.storage import inside, is_remote, location

_DS = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class NightConfig:
    """Where one night's inputs and outputs live, and how it may run. Plain values only: this travels through
    XCom as a dict. Unsafe combinations (quarantine or staging inside the clean root) are refused here.

    The raw, clean and quarantine roots may each be a URL (`s3://…`, pipeline.storage); staging is always a
    local folder, and must be given when the clean root is a URL: the night is committed into its local copy
    of the clean root (`clean_dir`) and then uploaded (pipeline.object_store)."""

    ds: str
    raw_root: str
    clean_root: str
    quarantine_root: str | None = None
    roster_path: str | None = None
    policy_path: str | None = None
    key_file: str | None = None
    staging_root: str | None = None
    follow_symlinks: bool = False  # read raw files that a symlink under the raw root leads out of it to
    rekey: bool = False  # allow replacing a night published under another HMAC key (key rotation)
    # Raw files per chunk of a text partition, for this deployment; None: the policy's `run.chunk_files`. Outside
    # the policy so a cluster can pick its own chunk size without changing the reviewed policy (or its hash).
    chunk_files: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ds, str) or not _DS.match(self.ds) or not _is_date(self.ds):
            raise ConfigError("ds must be a calendar date written YYYY-MM-DD")  # it ends up in folder names
        for name in ("raw_root", "clean_root"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must be set")
        if self.chunk_files is not None and (type(self.chunk_files) is not int or self.chunk_files < 1):
            raise ConfigError("chunk_files must be a positive whole number")
        if self.staging_root and is_remote(self.staging_root):
            raise ConfigError("the staging root must be a local folder (one that every worker of the night shares)")
        if is_remote(self.clean_root) and not self.staging_root:
            raise ConfigError("a clean root on object storage needs a local staging root (--staging, or SCRUBLINE_STAGING_ROOT)")
        check_roots(self)

    @property
    def quarantine(self) -> Path:
        """Where quarantine rows are written now: the quarantine root, or its local outbox when that is a URL."""
        return self.staging_base / "_quarantine_outbox" if is_remote(self.quarantine_url) else Path(self.quarantine_url)

    @property
    def quarantine_url(self) -> str:
        """The quarantine root as configured: default `<raw>/_quarantine`."""
        return self.quarantine_root or str(location(self.raw_root) / "_quarantine")

    @property
    def clean_dir(self) -> Path:
        """The local clean root the night is committed into: the clean root itself, or for a URL its local copy
        under the staging root (uploaded after each commit; it also keeps the report history for trends)."""
        return self.staging_base / "_clean" if is_remote(self.clean_root) else Path(self.clean_root)

    @property
    def roster_file(self) -> Path | None:
        if self.roster_path:
            return location(self.roster_path)
        default = location(self.raw_root) / "roster.jsonl"
        return default if default.exists() else None

    @property
    def staging_base(self) -> Path:
        """Default: a sibling of the clean root (`<clean>.staging`), outside every reader's root but most
        likely on the same file system, so publishing is a rename."""
        return Path(self.staging_root or f"{Path(self.clean_root)}.staging")

    @property
    def staging(self) -> Path:
        return self.staging_base / f"ds={self.ds}"

    @property
    def lock_file(self) -> Path:
        return self.staging_base / f"ds={self.ds}.lock"

    @property
    def parts(self) -> Path:
        return self.staging / "parts"

    @property
    def night(self) -> Path:
        """The night as it will be published: one folder per dataset, and `report/`."""
        return self.staging / "night"

    def staged(self, dataset: str) -> Path:
        return self.night / dataset

    def chunk_file(self, chunk: str, what: str) -> Path:
        """A chunk's staged output: `counts.json`, `quarantine.parquet` or `<dataset>.parquet`."""
        return self.parts / f"{chunk}.{what}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_date(ds: str) -> bool:
    try:
        datetime.strptime(ds, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _where(root: str | Path) -> str:
    """A root as one comparable string: a local folder resolved (symlinks followed), a URL as written."""
    return str(root).rstrip("/") if is_remote(root) else str(Path(root).resolve())


def check_roots(cfg: NightConfig) -> None:
    """Refuse roots that would let raw values reach readers, or the pipeline read its own output: the raw,
    quarantine and staging roots may not lie inside the clean root, and no output root inside a raw source."""
    raw, clean = _where(cfg.raw_root), _where(cfg.clean_root)
    if inside(raw, clean):
        raise ConfigError(f"the raw root {cfg.raw_root} is inside the clean root {cfg.clean_root}: readers would read raw rows")
    roots = {"quarantine root": cfg.quarantine_url, "staging root": cfg.staging_base}
    for name, path in roots.items():
        if inside(_where(path), clean) or inside(clean, _where(path)):
            raise ConfigError(f"the {name} {path} and the clean root {cfg.clean_root} overlap: raw rows would reach readers")
    for name, path in {"clean root": cfg.clean_root, **roots}.items():
        if inside(_where(path), raw):
            where = _where(path)[len(raw) + 1:].split("/")[0]
            if not where or where in SOURCES:
                raise ConfigError(f"the {name} {path} is the raw root or inside a raw source folder: it would be read as input")
