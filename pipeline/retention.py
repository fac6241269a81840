"""Retention: raw and quarantine partitions are deleted once they are old enough and their night is safe.

A partition `<root>/<source>/ds=D/` is deleted when D is more than the policy's `retention.raw_days` (or
`quarantine_days`) before today, and only if night D is published and validated under the clean root: a night
that never published keeps its raw input, so it can still be fixed and run again. What is deleted, and what is
kept and why, is logged and returned as counts and paths; no value is ever read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.contracts import SOURCES
from pipeline.files import remove_tree
from pipeline.object_store import night_manifest
from pipeline.policy import Policy
from pipeline.storage import is_remote, location

log = logging.getLogger("scrubline")
_PARTITION = re.compile(r"^ds=(\d{4}-\d{2}-\d{2})$")


@dataclass
class RetentionResult:
    deleted: list[str] = field(default_factory=list)  # partition folders removed (or that would be, dry run)
    kept_unpublished: list[str] = field(default_factory=list)  # old enough, but their night is not published
    files_deleted: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "kept_unpublished": self.kept_unpublished, "files_deleted": self.files_deleted}


def apply_retention(
    policy: Policy,
    raw_root: str | Path,
    clean_root: str | Path,
    quarantine_root: str | Path | None = None,
    today: date | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Delete raw and quarantine partitions past the policy's retention whose night is published."""
    today = today or date.today()
    quarantine = location(quarantine_root) if quarantine_root else location(raw_root) / "_quarantine"
    result = RetentionResult()
    for root, days in ((location(raw_root), policy.retention.raw_days), (quarantine, policy.retention.quarantine_days)):
        if days is None or not root.is_dir():
            continue
        cutoff = today - timedelta(days=days)
        for source in SOURCES:
            for partition in sorted((root / source).glob("ds=*")) if (root / source).is_dir() else []:
                match = _PARTITION.match(partition.name)
                if not match or date.fromisoformat(match.group(1)) >= cutoff:
                    continue
                if not _published(str(clean_root), match.group(1)):
                    result.kept_unpublished.append(str(partition))
                    continue
                remote = is_remote(str(partition))
                files = sum(1 for p in partition.rglob("*") if p.is_file()) if remote or not partition.is_symlink() else 0
                result.deleted.append(str(partition))
                result.files_deleted += files
                if not dry_run and remote:
                    partition.fs.rm(partition.path, recursive=True)
                elif not dry_run:
                    remove_tree(partition)  # a symlinked partition: the link goes, never what it points at
    verb = "would delete" if dry_run else "deleted"
    log.info("retention: %s %d partition(s), %d file(s); kept %d old partition(s) whose night is not published",
                verb, len(result.deleted), result.files_deleted, len(result.kept_unpublished))
    for path in result.deleted:
        log.info("retention: %s %s", verb, path)
    return result


def _published(clean_root: str, ds: str) -> bool:
    manifest = night_manifest(clean_root, ds)
    return bool(manifest and manifest.get("validation_success"))
