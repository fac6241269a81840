"""Publishing a committed night to a clean root on object storage, and reading it back by the reader rule.

Object stores cannot rename or link, but a single object's PUT is atomic: a reader gets the old object or the
new one. So the night is first committed locally exactly as on a local clean root (pipeline.publish, into the
run's local copy of the clean root under its staging root), then copied up in an order that makes the last
write the commit:

    _nights/ds=D/v-<id>/...            every file of the version: shards, report, Data Docs; then each dataset's
                                       _manifest.json and _SUCCESS; then _night.json; then _SUCCESS
    _nights/ds=D/current               a small JSON object naming the version: written last, THE COMMIT
    README.md                          the dataset card, after the commit

A reader resolves `current`, checks `_SUCCESS` in the version it names, and reads exactly the files `_night.json`
lists (`night_files`). A version is never written to after `current` names it; re-running a night uploads a new
version beside the old one and then replaces `current`, so readers see the whole old night or the whole new one.
The version just replaced stays for readers still reading it, and older ones are deleted, as locally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.files import read_json
from pipeline.publish import (
    CARD,
    CURRENT,
    NIGHT_MANIFEST,
    SUCCESS,
    VERSION_PREFIX,
    PublishError,
    attempts_dir,
    current_manifest,
    current_version,
    nights_dir,
)
from pipeline.storage import filesystem, is_remote, location

MARKERS = ("_manifest.json", SUCCESS)  # a dataset folder's, written after its shards


def upload_night(local_clean: Path, url: str, ds: str) -> str:
    """Copy the night's locally committed version up and point the remote `current` at it; returns the version.
    Idempotent: a version already complete there (every file its manifest lists, with its size) is not copied
    again, and a version left half-copied by a killed run is copied over (no reader follows it)."""
    version = current_version(local_clean, ds)
    if version is None:
        raise PublishError(f"ds={ds} has no committed version to upload")
    fs, root = filesystem(url)
    night = f"{root}/_nights/ds={ds}"
    local = nights_dir(local_clean, ds) / version
    manifest = read_json(local / NIGHT_MANIFEST)
    previous = _remote_current(fs, night)
    if not _complete(fs, f"{night}/{version}", manifest):
        for path in _upload_order(local):
            fs.put_file(str(local / path), f"{night}/{version}/{path}")
        if not _complete(fs, f"{night}/{version}", manifest):
            raise PublishError(f"ds={ds}: the uploaded version does not match its manifest; the night was not published")
    fs.pipe_file(f"{night}/{CURRENT}", _pointer(version, manifest))  # the commit
    card = Path(local_clean) / CARD
    if card.exists():
        fs.put_file(str(card), f"{root}/{CARD}")
    _collect_garbage(fs, night, keep={version, previous})
    attempts = f"{root}/_attempts/ds={ds}"
    if fs.exists(attempts):  # the report of an earlier failed attempt is out of date now
        fs.rm(attempts, recursive=True)
    return version


def upload_attempt(local_clean: Path, url: str, ds: str) -> str:
    """Show the report of an attempt that did not publish under the remote `_attempts/ds=D/` (counts only)."""
    fs, root = filesystem(url)
    target = f"{root}/_attempts/ds={ds}"
    if fs.exists(target):
        fs.rm(target, recursive=True)
    folder = attempts_dir(local_clean, ds)
    for path in _upload_order(folder):
        fs.put_file(str(folder / path), f"{target}/{path}")
    return f"{url.rstrip('/')}/_attempts/ds={ds}"


def move_up(local: Path, url: str, relative: str) -> None:
    """Move one private file (a quarantine partition) to `url/relative` in one PUT; no local file: remove the
    remote one too, as a local re-run that quarantines nothing does."""
    fs, root = filesystem(url)
    if local.exists():
        fs.put_file(str(local), f"{root}/{relative}")
        local.unlink()
    elif fs.exists(f"{root}/{relative}"):
        fs.rm(f"{root}/{relative}")


def night_manifest(clean_root: str, ds: str) -> dict[str, Any] | None:
    """The published night's `_night.json` by the reader rule (local or remote), or None."""
    if not is_remote(clean_root):
        return current_manifest(clean_root, ds)
    fs, root = filesystem(clean_root)
    night = f"{root}/_nights/ds={ds}"
    version = _remote_current(fs, night)
    if version is None or not fs.exists(f"{night}/{version}/{SUCCESS}"):
        return None
    return json.loads(fs.cat_file(f"{night}/{version}/{NIGHT_MANIFEST}"))


def night_files(clean_root: str, dataset: str, ds: str) -> list[str]:
    """The reader rule as a function: the files of a dataset in the night's current version, as paths or URLs
    that pandas, pyarrow and DuckDB (with the fsspec filesystem registered) open."""
    manifest = night_manifest(clean_root, ds)
    if manifest is None:
        return []
    base = location(clean_root) / "_nights" / f"ds={ds}" / manifest["version"]
    return [str(base / entry["path"]) for entry in manifest["datasets"][dataset]["files"]]


def _pointer(version: str, manifest: dict[str, Any]) -> bytes:
    return json.dumps({"version": version, "ds": manifest["ds"]}, sort_keys=True).encode() + b"\n"


def _remote_current(fs: Any, night: str) -> str | None:
    try:
        version = json.loads(fs.cat_file(f"{night}/{CURRENT}"))["version"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return version if isinstance(version, str) and version.startswith(VERSION_PREFIX) else None


def _upload_order(folder: Path) -> list[str]:
    """Every file under the folder, relative; markers after what they vouch for: a dataset's `_manifest.json`
    and `_SUCCESS` after its shards, then the night's manifest, then the night's `_SUCCESS`."""
    files = sorted(
        Path(dirpath, name).relative_to(folder).as_posix()
        for dirpath, _, names in os.walk(folder)
        for name in names
    )

    def rank(path: str) -> tuple[int, str]:
        if path == SUCCESS:
            return 3, path
        if path == NIGHT_MANIFEST:
            return 2, path
        name = path.rsplit("/", 1)[-1]
        return (1, path) if name in MARKERS else (0, path)

    return sorted(files, key=rank)


def _complete(fs: Any, version: str, manifest: dict[str, Any]) -> bool:
    """Whether a remote version holds `_SUCCESS` and every file the night's manifest lists, at its size."""
    try:
        if not fs.exists(f"{version}/{SUCCESS}"):
            return False
        sizes = {info["name"].rstrip("/"): info["size"] for info in fs.find(version, detail=True).values()}
    except FileNotFoundError:
        return False
    want = {f"{version}/{entry['path']}": entry["bytes"] for d in manifest["datasets"].values() for entry in d["files"]}
    return all(sizes.get(path) == size for path, size in want.items())


def _collect_garbage(fs: Any, night: str, keep: set[str | None]) -> None:
    """Delete versions that are neither current nor the one just replaced (readers may still be reading it)."""
    for entry in fs.ls(night, detail=False):
        name = entry.rstrip("/").rsplit("/", 1)[-1]
        if name.startswith(VERSION_PREFIX) and name not in keep:
            fs.rm(entry, recursive=True)
