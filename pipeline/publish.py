"""The output edge: a night is published as one version of every dataset and its report, and the whole clean
root is switched to a new view of its nights by one pointer flip.

Under the clean root:

    _nights/ds=D/v-<id>/text/    train-0000i-of-0000N.parquet, validation-…, test-… (one split per shard),
                                 _manifest.json, _report.{json,html}, _SUCCESS
    _nights/ds=D/v-<id>/events/  ...
    _nights/ds=D/v-<id>/report/  report.{json,html}, inputs.json, data_docs/
    _nights/ds=D/v-<id>/_night.json, _SUCCESS    the night's manifest (every file, its rows, bytes, sha256), then _SUCCESS
    _views/g-<id>/               a view of every published night: text/ds=D/ and events/ds=D/ are real folders
                                 holding hard links to that night's version's shards and nothing else;
                                 nights/ds=D -> the version, reports/ds=D -> its report; README.md (the card)
    _published -> _views/g-<id>  THE COMMIT: a symlink, replaced by one rename
    text -> _published/text, events -> _published/events, _reports -> _published/reports,
    README.md -> _published/README.md, _nights/ds=D/current -> ../../_published/nights/ds=D
                                 stable links, made once
    _attempts/ds=D/              the report of the last attempt that did not publish
    _nights/ds=D/held -> v-<id>  policy output.publish: on_signoff only: a committed version in no view, until
                                 an approval of it (pipeline.signoff.sign) publishes it by the same view commit

Hive readers (pandas, pyarrow, DuckDB, polars, Hugging Face `datasets`) scan `<clean>/text`: real `ds=` folders
holding only Parquet shards (fsspec, which `datasets` lists with, does not descend into symlinked folders, and
polars refuses a folder holding any other file). A version is complete (every file written, checked against
its manifest, `_SUCCESS` last) before a view names it, and a view is complete before `_published` points at it,
so a reader sees the whole previous night or the whole new one, text, events, report and `current` together,
never a mix and never neither. A run killed at any instruction leaves `_published` on a complete view; the next
publish removes what the killed one left. Version and view ids are hashes of their content, so re-running a
night with the same inputs gives the same bytes. On object storage (no symlinks, no rename) the same layout
works with `current` as a small object naming the version, written last; readers that follow
docs/contracts.md's rule read the versions it names.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.card import dataset_card
from pipeline.errors import UserError
from pipeline.files import chmod_tree, read_json, remove_tree, write_json, write_table, write_text_file

CURRENT = "current"
HELD = "held"  # _nights/ds=D/held -> the version waiting for sign-off (policy output.publish: on_signoff)
NIGHT_MANIFEST = "_night.json"
SUCCESS = "_SUCCESS"
REPORT_FOLDER = "report"
VERSION_PREFIX = "v-"
VIEWS = "_views"
PUBLISHED = "_published"
VIEW_PREFIX = "g-"
CARD = "README.md"
SPLITS = ("train", "validation", "test")


class PublishError(UserError):
    """The night cannot be committed; nothing of it became visible."""


def nights_dir(clean_root: str | Path, ds: str) -> Path:
    return Path(clean_root) / "_nights" / f"ds={ds}"


def published_dir(clean_root: str | Path, dataset: str, ds: str) -> Path:
    """Where readers find a dataset's night: the published view's `ds=` folder (shards only)."""
    return Path(clean_root) / dataset / f"ds={ds}"


def reports_dir(clean_root: str | Path, ds: str) -> Path:
    """The published night's report (through the view, a link to the current version's `report/`)."""
    return Path(clean_root) / "_reports" / f"ds={ds}"


def attempts_dir(clean_root: str | Path, ds: str) -> Path:
    """The report of the last attempt at a night that did not publish (a failed gate)."""
    return Path(clean_root) / "_attempts" / f"ds={ds}"


def current_version(clean_root: str | Path, ds: str) -> str | None:
    """The committed version of a night (what `current` resolves to now), or None if it was never published."""
    pointer = nights_dir(clean_root, ds) / CURRENT
    if not pointer.is_symlink():
        return None
    target = Path(os.path.realpath(pointer))
    return target.name if target.is_dir() and target.parent == nights_dir(clean_root, ds).resolve() else None


def held_version(clean_root: str | Path, ds: str) -> str | None:
    """The night's complete version held for sign-off (`_nights/ds=D/held`), or None."""
    night = nights_dir(clean_root, ds)
    pointer = night / HELD
    if not pointer.is_symlink():
        return None
    target = Path(os.path.realpath(pointer))
    if target.parent != night.resolve() or not (target / SUCCESS).exists():
        return None
    return None if target.name == current_version(clean_root, ds) else target.name  # released, pointer not yet gone


def dataset_manifest(clean_root: str | Path, dataset: str, ds: str) -> dict[str, Any] | None:
    """A dataset's `_manifest.json` in the committed version of a night, or None."""
    version = current_version(clean_root, ds)
    if version is None:
        return None
    return read_json(nights_dir(clean_root, ds) / version / dataset / "_manifest.json")


def published_versions(clean_root: str | Path) -> dict[str, str]:
    """{ds: version} of every published night, as each night's `current` resolves now."""
    out = {}
    for night in sorted((Path(clean_root) / "_nights").glob("ds=*")):
        ds = night.name.removeprefix("ds=")
        version = current_version(clean_root, ds)
        if version is not None and (night / version / SUCCESS).exists():
            out[ds] = version
    return out


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
    """Write `table` as `<split>-0000i-of-0000N.parquet` files, each holding rows of one split (the `split`
    column), numbered per split as Hugging Face names shards; an empty table is one empty `train` shard. Returns
    each file's name, rows, bytes and sha256, the rows read back from the written file's footer (a count that
    does not hold stops the night)."""
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    by_split = [(s, table.filter(pc.equal(table["split"], s))) for s in SPLITS]
    by_split = [(s, t) for s, t in by_split if t.num_rows] or ([] if table.num_rows else [(SPLITS[0], table)])
    files = []
    for split, rows in by_split:
        n_shards = max(1, -(-rows.num_rows // target_rows))
        for i in range(n_shards):
            part = rows.slice(i * target_rows, target_rows)
            name = f"{split}-{i:05d}-of-{n_shards:05d}.parquet"
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
    staged: Path, clean_root: str | Path, ds: str, datasets: list[str], file_mode: int, dir_mode: int,
    hold: bool = False,
) -> str:
    """Publish the complete night folder `staged` (one folder per dataset, each with `_manifest.json`, and
    `report/`) as the night's current version; returns the version id. With `hold` (policy `output.publish:
    on_signoff`) the version is committed just as completely but named only by `_nights/ds=D/held`, outside
    every view, until `release_held` publishes it; the night's current version, if any, stays visible. `staged`
    is moved (or copied, across file systems) and is gone afterwards."""
    clean = Path(clean_root)
    night = nights_dir(clean, ds)
    public_dirs(clean, night, dir_mode)
    with night_commit_lock(clean, ds):
        previous, replaced = current_version(clean, ds), held_version(clean, ds)
        version = _placed(staged, clean, ds, (previous, replaced), datasets, file_mode, dir_mode)
        if hold and version != previous:
            _point(night / HELD, version)
        else:  # published now, or a held re-run that is byte for byte what readers see already
            (night / HELD).unlink(missing_ok=True)
            if not hold:
                _commit_view(clean, ds, version, datasets, file_mode, dir_mode)
        remove_tree(staged)
        if hold:  # readers' versions are untouched: only the held version this one replaces goes
            if replaced not in (None, version, previous):
                remove_tree(night / replaced)
        else:
            _collect_garbage(night, keep={version, previous})
        remove_tree(attempts_dir(clean, ds))  # a failed attempt's report no longer describes the night
    return version


def _placed(
    staged: Path, clean: Path, ds: str, named: tuple[str | None, ...], datasets: list[str], file_mode: int,
    dir_mode: int,
) -> str:
    """The version of `staged`: an intact version with the same content among those `named` (the current and
    the held one: the same night again, nothing to change), else `staged` placed as a new version (under a
    suffixed name if a damaged copy of that content is still named: it is never changed in place)."""
    night = nights_dir(clean, ds)
    content = version_id(staged)
    same = [v for v in named if v is not None and v.split(".")[0] == content]
    intact = next((v for v in same if version_id(night / v) == content), None)
    if intact is not None:
        return intact
    version = next(f"{content}.{n}" for n in range(1, 1000) if not (night / f"{content}.{n}").exists()) if same else content
    _place_version(staged, night, version, ds, datasets, file_mode, dir_mode)
    return version


def release_held(
    clean_root: str | Path, ds: str, datasets: list[str], manifest_sha256: str, file_mode: int, dir_mode: int
) -> str:
    """Publish the night's held version, if it is the one whose `_night.json` has `manifest_sha256` (what an
    approval signed): the same view commit as `commit_night`, under the same locks. Returns the version."""
    clean = Path(clean_root)
    night = nights_dir(clean, ds)
    with night_commit_lock(clean, ds):
        version = held_version(clean, ds)
        if version is None:
            raise PublishError(f"ds={ds} has no version held for sign-off under {clean}; nothing published")
        if sha256_file(night / version / NIGHT_MANIFEST) != manifest_sha256:
            raise PublishError(f"ds={ds}: the held version {version} is not the one approved; nothing published")
        previous = current_version(clean, ds)
        _commit_view(clean, ds, version, datasets, file_mode, dir_mode)
        (night / HELD).unlink()
        _collect_garbage(night, keep={version, previous})
    return version


def _commit_view(clean: Path, ds: str, version: str, datasets: list[str], file_mode: int, dir_mode: int) -> None:
    """Make `version` the night's current version for readers: one view of every published night, with it."""
    with _root_lock(clean, dir_mode):
        link_night(clean, ds, datasets, dir_mode)  # dangling until the first view names them: readers skip them
        publish_view(clean, {**published_versions(clean), ds: version}, datasets, file_mode, dir_mode)
        link_night(clean, ds, datasets, dir_mode, migrate=True)


def publish_view(clean: Path, versions: dict[str, str], datasets: list[str], file_mode: int, dir_mode: int) -> str:
    """Build the view of `versions` ({ds: version}) under `_views/` and point `_published` at it: the commit of
    every dataset, report and `current` of every night at once. Returns the view's name."""
    views = clean / VIEWS
    public_dirs(clean, views, dir_mode)
    nights = {ds: read_json(nights_dir(clean, ds) / v / NIGHT_MANIFEST) for ds, v in sorted(versions.items())}
    card = dataset_card(nights, datasets)
    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode() + b"\0" + card.encode())
    name = VIEW_PREFIX + digest.hexdigest()[:16]
    previous = _current_view(clean)
    if not _view_intact(views / name, clean, nights, datasets, card):
        if (views / name).exists():  # damaged: never changed in place, a reader may be in it
            name = next(f"{name}.{n}" for n in range(1, 1000) if not (views / f"{name}.{n}").exists())
        _build_view(views / name, clean, nights, datasets, card, file_mode, dir_mode)
    if previous != name:
        _point(clean / PUBLISHED, f"{VIEWS}/{name}")
    for entry in views.iterdir():
        if entry.name not in (name, previous):
            remove_tree(entry)  # older views, and whatever a killed run left under a temporary name
    return name


def _view_files(nights: dict[str, dict[str, Any]], datasets: list[str]) -> dict[str, str]:
    """Every shard a view holds ({path in the view: path under the clean root})."""
    return {
        f"{d}/ds={ds}/{Path(f['path']).name}": f"_nights/ds={ds}/{m['version']}/{f['path']}"
        for ds, m in nights.items()
        for d in datasets
        for f in m["datasets"][d]["files"]
    }


def _build_view(
    target: Path, clean: Path, nights: dict[str, dict[str, Any]], datasets: list[str], card: str,
    file_mode: int, dir_mode: int,
) -> None:
    """Lay the view out under a hidden name, then give it its name in one rename."""
    incoming = target.with_name(f".incoming-{target.name}")
    remove_tree(incoming)
    try:
        for folder in [*datasets, "nights", "reports"]:
            (incoming / folder).mkdir(parents=True)
        for ds, m in nights.items():
            for d in datasets:
                (incoming / d / f"ds={ds}").mkdir()
            os.symlink(f"../../../_nights/ds={ds}/{m['version']}", incoming / "nights" / f"ds={ds}")
            os.symlink(f"../../../_nights/ds={ds}/{m['version']}/{REPORT_FOLDER}", incoming / "reports" / f"ds={ds}")
        for inside, source in _view_files(nights, datasets).items():
            _link_file(clean / source, incoming / inside)
        write_text_file(incoming / CARD, card)
        os.chmod(incoming / CARD, file_mode)
        for folder, dirs, _ in os.walk(incoming):
            os.chmod(folder, dir_mode)
        _fsync_tree(incoming)
        os.rename(incoming, target)
    except BaseException:
        remove_tree(incoming)
        raise


def _link_file(source: Path, link: Path) -> None:
    """A hard link, so that every reader sees a plain file; a relative symlink where the file system has none."""
    try:
        os.link(source, link)
    except OSError:
        os.symlink(os.path.relpath(source, link.parent), link)


def _view_intact(view: Path, clean: Path, nights: dict[str, dict[str, Any]], datasets: list[str], card: str) -> bool:
    """The view holds exactly the files it should, each the version's own file, and the card it should."""
    if not view.is_dir() or not (view / CARD).is_file() or (view / CARD).read_text(encoding="utf-8") != card:
        return False
    expected = _view_files(nights, datasets)
    found = {p.relative_to(view).as_posix() for d in datasets if (view / d).is_dir() for p in (view / d).rglob("*")
             if not p.is_dir()}
    links = {
        view / kind / f"ds={ds}": f"../../../_nights/ds={ds}/{m['version']}{tail}"
        for ds, m in nights.items()
        for kind, tail in (("nights", ""), ("reports", f"/{REPORT_FOLDER}"))
    }
    return (
        found == set(expected)
        and all(os.path.samefile(view / i, clean / s) for i, s in expected.items())
        and all(link.is_symlink() and os.readlink(link) == target for link, target in links.items())
    )


def _current_view(clean: Path) -> str | None:
    pointer = clean / PUBLISHED
    return Path(os.readlink(pointer)).name if pointer.is_symlink() else None


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
            name: {
                "rows": m["rows"],
                "splits": m.get("splits", {}),
                "files": [{**f, "path": f"{name}/{f['path']}"} for f in m["files"]],
            }
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


def link_night(clean_root: str | Path, ds: str, datasets: list[str], dir_mode: int, migrate: bool = False) -> None:
    """The stable links readers use, into `_published`. Missing ones are made before the commit (dangling until
    a view names them, so every dataset appears at the same instant); with `migrate`, after the commit, a clean
    root published before views (real dataset folders, `current` naming a version) is moved over."""
    clean = Path(clean_root)
    links = {clean / d: f"{PUBLISHED}/{d}" for d in datasets}
    links[clean / "_reports"] = f"{PUBLISHED}/reports"
    links[clean / CARD] = f"{PUBLISHED}/{CARD}"
    links[nights_dir(clean, ds) / CURRENT] = f"../../{PUBLISHED}/nights/ds={ds}"
    if migrate:
        for night in (clean / "_nights").glob("ds=*"):
            links[night / CURRENT] = f"../../{PUBLISHED}/nights/{night.name}"
    for link, target in links.items():
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if not link.is_symlink() and not link.exists():
            _point(link, target)
        elif migrate and link.is_dir() and not link.is_symlink():  # published before views: moved aside once
            legacy = link.with_name(f".{link.name}.legacy")
            remove_tree(legacy)
            os.rename(link, legacy)
            _point(link, target)
            remove_tree(legacy)
        elif migrate:
            _point(link, target)


def _collect_garbage(night: Path, keep: set[str | None]) -> None:
    """Remove versions that are neither current nor the one just replaced (kept for readers still reading
    it), and whatever a killed run left under a temporary name."""
    for entry in night.iterdir():
        if entry.name in (CURRENT, HELD) or entry.name in keep:
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
def _root_lock(clean: Path, dir_mode: int) -> Iterator[None]:
    """One view change at a time under a clean root: two nights committing at once wait for each other, so
    neither view drops the other's night."""
    public_dirs(clean, clean / VIEWS, dir_mode)
    fd = os.open(clean / VIEWS, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_COMMITTING: set[str] = set()  # nights whose commit lock this process holds (a sign-off publishes under it)


@contextmanager
def night_commit_lock(clean_root: str | Path, ds: str) -> Iterator[None]:
    """Only one commit per night at a time, whatever staging folder each run used; a sign-off holds it while
    it records a decision and publishes what it approved, so no re-run replaces the version in between."""
    night = nights_dir(clean_root, ds)
    key = str(night.resolve())
    if key in _COMMITTING:
        yield
        return
    fd = os.open(night, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(f"another run is publishing {night.name} under this clean root; nothing published") from None
        _COMMITTING.add(key)
        try:
            yield
        finally:
            _COMMITTING.discard(key)
    finally:
        os.close(fd)
