"""The output edge: a night is published as one version of every dataset and its report, by one pointer flip.

Under the clean root:

    _nights/ds=D/v-<id>/text/   part-*.parquet, _manifest.json, _report.{json,html}, _SUCCESS
    _nights/ds=D/v-<id>/events/ ...
    _nights/ds=D/v-<id>/report/ report.{json,html}, inputs.json, data_docs/
    _nights/ds=D/v-<id>/_night.json, _SUCCESS    the night's manifest (every file, its rows, bytes, sha256), then _SUCCESS
    _nights/ds=D/current -> v-<id>               THE COMMIT: a symlink, replaced by one rename
    text/ds=D     -> ../_nights/ds=D/current/text      stable links, so hive readers of <clean>/text (pandas,
    events/ds=D   -> ../_nights/ds=D/current/events    pyarrow, DuckDB, Spark) read the current version
    _reports/ds=D -> ../_nights/ds=D/current/report
    _attempts/ds=D/                              the report of the last attempt that did not publish

A version is complete (every file written, checked against its manifest, `_SUCCESS` last) before `current`
points at it, and `current` changes in one rename, so a reader sees the whole previous night or the whole new
one, text, events and report together, never a mix and never neither. A run killed at any instruction leaves
`current` on a complete version; the next publish removes what the killed one left. The version id is a hash
of the content, so re-running a night with the same inputs gives the same version, byte for byte.
On object storage (no symlinks, no rename) the same layout works with `current` as a small object naming the
version, written last; readers that follow docs/contracts.md's rule read the versions it names.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import UserError
from pipeline.files import chmod_tree, read_json, remove_tree, write_json, write_table, write_text_file

CURRENT = "current"
NIGHT_MANIFEST = "_night.json"
SUCCESS = "_SUCCESS"
REPORT_FOLDER = "report"
VERSION_PREFIX = "v-"


class PublishError(UserError):
    """The night cannot be committed; nothing of it became visible."""


def nights_dir(clean_root: str | Path, ds: str) -> Path:
    return Path(clean_root) / "_nights" / f"ds={ds}"


def published_dir(clean_root: str | Path, dataset: str, ds: str) -> Path:
    """Where readers find a dataset's current version of the night (a stable link into `_nights`)."""
    return Path(clean_root) / dataset / f"ds={ds}"


def reports_dir(clean_root: str | Path, ds: str) -> Path:
    """The published night's report (a stable link into the current version)."""
    return Path(clean_root) / "_reports" / f"ds={ds}"


def attempts_dir(clean_root: str | Path, ds: str) -> Path:
    """The report of the last attempt at a night that did not publish (a failed gate)."""
    return Path(clean_root) / "_attempts" / f"ds={ds}"


def current_version(clean_root: str | Path, ds: str) -> str | None:
    """The committed version of a night, or None if it was never published."""
    pointer = nights_dir(clean_root, ds) / CURRENT
    return os.readlink(pointer) if pointer.is_symlink() else None


def current_manifest(clean_root: str | Path, ds: str) -> dict[str, Any] | None:
    """The committed night's manifest (`_night.json`), or None."""
    version = current_version(clean_root, ds)
    if version is None:
        return None
    folder = nights_dir(clean_root, ds) / version
    if not (folder / SUCCESS).exists():
        return None
    return read_json(folder / NIGHT_MANIFEST)


# --- shards --------------------------------------------------------------------------------------------------


def shard_table(
    table: pa.Table, folder: Path, target_rows: int, row_group_rows: int, metadata: dict[str, str]
) -> list[dict[str, Any]]:
    """Write `table` as part-0000i-of-0000N.parquet files; return each file's name, rows, bytes and sha256,
    the rows read back from the written file's footer (a count that does not hold stops the night)."""
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    n_shards = max(1, -(-table.num_rows // target_rows))
    files = []
    for i in range(n_shards):
        part = table.slice(i * target_rows, target_rows)
        name = f"part-{i:05d}-of-{n_shards:05d}.parquet"
        path = write_table(folder / name, part, row_group_rows)
        written = pq.read_metadata(path).num_rows
        if written != part.num_rows:
            raise PublishError(f"{name}: {written} rows in the file, {part.num_rows} meant; nothing published")
        files.append({"path": name, "rows": written, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    if sum(f["rows"] for f in files) != table.num_rows:
        raise PublishError(f"{folder.name}: the shards do not hold every row; nothing published")
    return files


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is there, with its bytes and rows, and the rows add up."""
    for entry in manifest["files"]:
        path = folder / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
            raise PublishError(f"{folder.name}/{entry['path']}: missing or not the size its manifest records")
        if pq.read_metadata(path).num_rows != entry["rows"]:
            raise PublishError(f"{folder.name}/{entry['path']}: not the row count its manifest records")
    if sum(entry["rows"] for entry in manifest["files"]) != manifest["rows"]:
        raise PublishError(f"{folder.name}: the manifest's files do not add up to its rows")


# --- the commit ----------------------------------------------------------------------------------------------


def version_id(folder: Path) -> str:
    """A hash of every file's path and bytes (but the markers publishing adds): the same night from the same
    inputs is the same version."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (SUCCESS, NIGHT_MANIFEST)):
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode())
    return VERSION_PREFIX + digest.hexdigest()[:16]


def commit_night(
    staged: Path, clean_root: str | Path, ds: str, datasets: list[str], file_mode: int, dir_mode: int
) -> str:
    """Publish the complete night folder `staged` (one folder per dataset, each with `_manifest.json`, and
    `report/`) as the night's current version; returns the version id. `staged` is moved (or copied, across
    file systems) and is gone afterwards."""
    night = nights_dir(clean_root, ds)
    public_dirs(Path(clean_root), night, dir_mode)
    with _night_dir_lock(night):
        content = version_id(staged)
        previous = current_version(clean_root, ds)
        version = content
        if previous is not None and previous.split(".")[0] == content and version_id(night / previous) == content:
            version = previous  # the same night again, and the published copy is intact: nothing to change
        else:
            if previous is not None and previous.split(".")[0] == content:  # same night, damaged copy
                version = next(f"{content}.{n}" for n in range(1, 1000) if not (night / f"{content}.{n}").exists())
            _place_version(staged, night, version, ds, datasets, file_mode, dir_mode)
            link_night(clean_root, ds, datasets, dir_mode)  # dangling until the first commit: readers skip them
            _point(night / CURRENT, version)  # the commit: every dataset and the report change at once
        remove_tree(staged)
        link_night(clean_root, ds, datasets, dir_mode)
        _collect_garbage(night, keep={version, previous})
        remove_tree(attempts_dir(clean_root, ds))  # a failed attempt's report no longer describes the night
    return version


def _place_version(
    staged: Path, night: Path, version: str, ds: str, datasets: list[str], file_mode: int, dir_mode: int
) -> None:
    """Move the staged night in under a hidden name, check it against its manifests, open it up to the
    published modes, write the night's manifest and `_SUCCESS`, then give it its version's name."""
    target, incoming = night / version, night / f".incoming-{version}"
    remove_tree(target)  # left by a run killed before its commit: never current, never read
    remove_tree(incoming)
    try:
        _move(staged, incoming)
        manifests = {}
        for dataset in datasets:
            manifests[dataset] = read_json(incoming / dataset / "_manifest.json")
            check_files(incoming / dataset, manifests[dataset])
            write_text_file(incoming / dataset / SUCCESS, "")
        write_json(incoming / NIGHT_MANIFEST, night_manifest(ds, version, manifests, incoming))
        write_text_file(incoming / SUCCESS, "")
        chmod_tree(incoming, file_mode, dir_mode)
        _fsync_tree(incoming)
        os.rename(incoming, target)
    except BaseException:
        remove_tree(incoming)
        raise


def night_manifest(ds: str, version: str, manifests: dict[str, dict[str, Any]], folder: Path) -> dict[str, Any]:
    """What a reader needs to read the night as one version: every dataset's files, rows and digests."""
    first = next(iter(manifests.values()))
    report = sorted(p.relative_to(folder).as_posix() for p in (folder / REPORT_FOLDER).rglob("*") if p.is_file())
    return {
        "ds": ds,
        "version": version,
        "pipeline_version": first["pipeline_version"],
        "policy_sha256": first["policy_sha256"],
        "key_id": first["key_id"],
        "validation_success": all(m["validation"]["success"] for m in manifests.values()),
        "datasets": {
            name: {"rows": m["rows"], "files": [{**f, "path": f"{name}/{f['path']}"} for f in m["files"]]}
            for name, m in manifests.items()
        },
        "report": report,
    }


def _move(source: Path, target: Path) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copytree(source, target)  # staging on another file system


def _fsync_tree(root: Path) -> None:
    """Flush the version's files to disk before the pointer names it (a power cut must not leave it empty)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _point(link: Path, target: str) -> None:
    """Make `link` a symlink to `target` in one rename (a new link under a temporary name replaces the old)."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fd = os.open(link.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def link_night(clean_root: str | Path, ds: str, datasets: list[str], dir_mode: int) -> None:
    """The stable links readers use (made once, before the night's first commit, so that every dataset appears
    at the same instant; a link whose `current` does not exist yet is skipped by readers)."""
    clean = Path(clean_root)
    links = {published_dir(clean, d, ds): f"../_nights/ds={ds}/{CURRENT}/{d}" for d in datasets}
    links[reports_dir(clean, ds)] = f"../_nights/ds={ds}/{CURRENT}/{REPORT_FOLDER}"
    for link, target in links.items():
        public_dirs(clean, link.parent, dir_mode)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_dir() and not link.is_symlink():  # a night published before versions: moved aside once
            legacy = link.with_name(f".{link.name}.legacy")
            remove_tree(legacy)
            os.rename(link, legacy)
            _point(link, target)
            remove_tree(legacy)
        else:
            _point(link, target)


def _collect_garbage(night: Path, keep: set[str | None]) -> None:
    """Remove versions that are neither current nor the one just replaced (kept for readers still reading
    it), and whatever a killed run left under a temporary name."""
    for entry in night.iterdir():
        if entry.name == CURRENT or entry.name in keep:
            continue
        remove_tree(entry)


def public_dirs(clean_root: Path, folder: Path, dir_mode: int) -> None:
    """Create the published tree's folders from the clean root down to `folder` with the policy's mode."""
    missing = [f for f in (folder, *folder.parents) if not f.exists() and f.is_relative_to(clean_root)]
    for f in reversed(missing):
        f.mkdir(mode=dir_mode)
        os.chmod(f, dir_mode)


def publish_attempt(report_folder: Path, clean_root: str | Path, ds: str, file_mode: int, dir_mode: int) -> Path:
    """Show the report of an attempt that did not publish under `_attempts/ds=D/` (replacing an older one)."""
    target = attempts_dir(clean_root, ds)
    public_dirs(Path(clean_root), target.parent, dir_mode)
    incoming = target.with_name(f".{target.name}.incoming")
    remove_tree(incoming)
    shutil.copytree(report_folder, incoming)
    chmod_tree(incoming, file_mode, dir_mode)
    retired = target.with_name(f".{target.name}.retired")
    remove_tree(retired)
    if target.exists():
        os.rename(target, retired)
    os.rename(incoming, target)
    remove_tree(retired)
    return target


@contextmanager
def _night_dir_lock(night: Path) -> Iterator[None]:
    """Only one commit per night at a time, whatever staging folder each run used."""
    fd = os.open(night, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(f"another run is publishing {night.name} under this clean root; nothing published") from None
        yield
    finally:
        os.close(fd)
