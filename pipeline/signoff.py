"""A reviewer's sign-off of a night: an append-only, hash-chained log beside the reports.

`<clean>/_signoff/ds=D.jsonl` (outside every dataset folder, view and version, so publishing never replaces
it) holds one JSON object per line, oldest first. Each entry records an
approval or a rejection (with its reason), who made it (an operator-supplied name), when, and what it signs:
the night's version, the sha256 of the night's manifest (`_night.json`, which lists every published file's
sha256) and of the report's counts (`report/inputs.json`, what the report is rendered from; report.json and
report.html are re-rendered, with trends and this sign-off, so their bytes change). Each entry also carries the
sha256 of the previous entry and its own, so an edited, reordered or removed entry breaks the chain; a removed
last entry is caught against the count and head hash the report records after each sign-off. No data value
goes into the log: only counts' digests, a version id and what the reviewer typed.

Under the policy `output.publish: on_signoff` a night is committed but held out of the readers' view
(pipeline.publish, `_nights/ds=D/held`); a sign-off then signs the held version, and an approval publishes
exactly the version whose manifest digest it signed (`sign`). A rejection keeps it held.

What this does not stop: someone who can rewrite both the log and the report consistently. Keep the clean
root on storage that only the pipeline's and reviewers' accounts can write (or object-lock the log).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import UserError
from pipeline.publish import (
    HELD,
    current_version,
    held_version,
    night_commit_lock,
    nights_dir,
    public_dirs,
    release_held,
    reports_dir,
)

APPROVE, REJECT = "approve", "reject"
GENESIS = "0" * 64
_ONE_LINE = re.compile(r"^[^\x00-\x1f\x7f]+$")
MAX_NAME, MAX_TEXT = 100, 500


class SignoffError(UserError):
    """A sign-off cannot be recorded, or the log was altered; the message names the file and the entry."""


SIGNOFF_FOLDER = "_signoff"


def log_path(clean_root: str | Path, ds: str) -> Path:
    return Path(clean_root) / SIGNOFF_FOLDER / f"ds={ds}.jsonl"


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > limit or not _ONE_LINE.match(value):
        raise SignoffError(f"{what} must be one line of 1 to {limit} printable characters")
    return value


def signed_subject(clean_root: str | Path, ds: str) -> dict[str, str]:
    """What a sign-off of the night signs now: its version held for sign-off, else its current version, and
    the digests of that version's manifest and counts."""
    version = held_version(clean_root, ds) or current_version(clean_root, ds)
    if version is None:
        raise SignoffError(f"ds={ds} is neither published nor held for sign-off under {clean_root}; there is nothing to sign")
    folder = nights_dir(clean_root, ds) / version
    return {
        "version": version,
        "manifest_sha256": _sha256_file(folder / "_night.json"),
        "report_sha256": _sha256_file(folder / "report" / "inputs.json"),
    }


def read_log(path: Path, anchor: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The log's entries after checking the chain (and, given the report's `anchor`, that none was cut off the
    end); an altered log raises SignoffError naming the first entry that does not hold."""
    entries: list[dict[str, Any]] = []
    if path.exists():
        previous = GENESIS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise SignoffError(f"the sign-off log {path} was altered: entry {number} is not JSON") from None
            if not isinstance(entry, dict) or entry.get("seq") != number:
                raise SignoffError(f"the sign-off log {path} was altered: entry {number} is out of sequence")
            if entry.get("prev_sha256") != previous:
                raise SignoffError(f"the sign-off log {path} was altered: entry {number} does not follow entry {number - 1}")
            if entry.get("sha256") != _entry_hash(entry):
                raise SignoffError(f"the sign-off log {path} was altered: entry {number} was rewritten")
            previous = entry["sha256"]
            entries.append(entry)
    if anchor and anchor.get("entries"):
        n = int(anchor["entries"])
        if len(entries) < n or entries[n - 1]["sha256"] != anchor.get("head_sha256"):
            raise SignoffError(f"the sign-off log {path} was altered: the report recorded {n} entries, it has {len(entries)}")
    return entries


def record(
    clean_root: str | Path,
    ds: str,
    reviewer: str,
    decision: str,
    reason: str | None = None,
    note: str | None = None,
    anchor: dict[str, Any] | None = None,
    file_mode: int = 0o640,
    dir_mode: int = 0o750,
    now: datetime | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Append one decision on the night's version to sign (held, else current); refuses to extend a log that
    was altered, and, given the `version` the reviewer read, to sign another one (a re-run replaced it)."""
    if decision not in (APPROVE, REJECT):
        raise SignoffError(f"decision must be {APPROVE} or {REJECT}")
    if decision == REJECT and not reason:
        raise SignoffError("a rejection needs a reason (--reason)")
    if decision == APPROVE and reason:
        raise SignoffError("--reason goes with --reject; use --note for a remark on an approval")
    entry_fields = {
        "reviewer": _text(reviewer, "the reviewer's name", MAX_NAME),
        "reason": _text(reason, "the reason", MAX_TEXT),
        "note": _text(note, "the note", MAX_TEXT),
    }
    subject = signed_subject(clean_root, ds)
    if version is not None and subject["version"] != version:
        raise SignoffError(f"ds={ds}: the version to sign is {subject['version']}, not {version} (a re-run replaced it); "
                           "nothing recorded")
    path = log_path(clean_root, ds)
    public_dirs(Path(clean_root), path.parent, dir_mode)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, file_mode)
    try:
        os.fchmod(fd, file_mode)  # the published tree's mode, whatever the umask: readers see the decisions
        fcntl.flock(fd, fcntl.LOCK_EX)
        entries = read_log(path, anchor)
        entry = {
            "seq": len(entries) + 1,
            "ds": ds,
            "decision": decision,
            **entry_fields,
            "at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **subject,
            "prev_sha256": entries[-1]["sha256"] if entries else GENESIS,
        }
        entry["sha256"] = _entry_hash(entry)
        os.write(fd, (json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def sign(
    clean_root: str | Path,
    ds: str,
    reviewer: str,
    decision: str,
    datasets: list[str],
    reason: str | None = None,
    note: str | None = None,
    anchor: dict[str, Any] | None = None,
    file_mode: int = 0o640,
    dir_mode: int = 0o750,
    now: datetime | None = None,
    version: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Record the decision; an approval of the held version publishes it. Both happen under the night's commit
    lock, so a re-run cannot put another version in between. Returns the entry and the version published, if any."""
    signed_subject(clean_root, ds)  # a night with nothing to sign has no folder to lock
    with night_commit_lock(clean_root, ds):
        entry = record(clean_root, ds, reviewer, decision, reason, note, anchor, file_mode, dir_mode, now, version)
        if decision != APPROVE or entry["version"] != held_version(clean_root, ds):
            return entry, None
        return entry, release_held(clean_root, ds, datasets, entry["manifest_sha256"], file_mode, dir_mode)


def status(
    clean_root: str | Path, ds: str, anchor: dict[str, Any] | None = None, of_published: bool = True
) -> dict[str, Any] | None:
    """The night's latest decision as the report shows it, or None if nobody signed it. `current` says whether
    it signs what is published now (false for a report rendered before its version is published: a re-run
    night needs signing again). An altered log gives {"error": ...}, keeping the report's earlier anchor so
    the next rebuild still sees the damage."""
    path = log_path(clean_root, ds)
    try:
        entries = read_log(path, anchor)
    except SignoffError as exc:
        kept = {k: anchor[k] for k in ("entries", "head_sha256")} if anchor and anchor.get("entries") else {}
        return {"error": str(exc), **kept}
    if not entries:
        return None
    last = entries[-1]
    current = False
    if of_published:
        try:
            current = signed_subject(clean_root, ds) == {k: last[k] for k in ("version", "manifest_sha256", "report_sha256")}
        except SignoffError:
            pass
    keep = ("decision", "reviewer", "reason", "note", "at", "version", "seq")
    return {
        **{k: last.get(k) for k in keep},
        "current": current,
        "entries": len(entries),
        "head_sha256": last["sha256"],
        "log": path.name,
    }


def report_anchor(clean_root: str | Path, ds: str) -> dict[str, Any] | None:
    """The entry count and head hash the night's reports (published and held) recorded at their last
    rendering, the one that saw more entries (the log only grows), if any."""
    anchors = []
    for folder in (reports_dir(clean_root, ds), nights_dir(clean_root, ds) / HELD / "report"):
        path = folder / "report.json"
        if path.exists():
            recorded = json.loads(path.read_text(encoding="utf-8")).get("signoff") or {}
            anchors.append({k: recorded[k] for k in ("entries", "head_sha256") if k in recorded})
    return max((a for a in anchors if a), key=lambda a: int(a.get("entries") or 0), default=None)


def summary(state: dict[str, Any] | None) -> str:
    """One word or two for a terminal table: approved, REJECTED, stale, unsigned, or LOG ALTERED."""
    if state is None:
        return "unsigned"
    if "error" in state:
        return "LOG ALTERED"
    word = "approved" if state["decision"] == APPROVE else "REJECTED"
    return f"{word} by {state['reviewer']}" + ("" if state["current"] else " (earlier version)")
