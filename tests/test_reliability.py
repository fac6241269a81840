"""Issue 13 end to end over the real CLI: the side doors, half-published nights and bad settings found by trying
the pipeline as an attacker and as a clumsy operator would. Each test names its row of the issue's table."""

from __future__ import annotations

import bz2
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
import zstandard
from support import SCRUBLINE, published_bytes, readers_see
from support import manifest as manifest_of

from pipeline.contracts import FIELD_KINDS, KEY_ACTIONS, MOUSE_ACTIONS, MOUSE_BUTTONS
from pipeline.demo import generate_night
from pipeline.policy import default_policy_path
from pipeline.pseudonym import KEY_ENV

pytestmark = pytest.mark.e2e

DS = "2026-11-26"
ODD = "zq7odd"  # in every out-of-vocabulary value planted here; must never be published
CHAT = {"ts": "2026-11-26T10:00:00Z", "employee_id": "E-odd", "channel_id": "C-odd", "channel_kind": "dm",
        "recipient_ids": [], "thread_id": None, "text": "see you at the standup"}
KEYS = {"ts": 1764151200000, "employee_id": "E-odd", "device_id": "D-odd", "session_id": "S-odd", "app": "Slack",
        "window_title": "Slack", "field_id": "f", "field_kind": "text", "key": "a", "action": "down", "modifiers": [],
        "text": None}
MOUSE = {"ts": 1764151200000, "employee_id": "E-odd", "device_id": "D-odd", "session_id": "S-odd", "app": "Slack",
         "window_title": "Slack", "action": "click", "x": 10.0, "y": 10.0, "button": "left", "screen_w": 100.0,
         "screen_h": 100.0}


def lines(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated night plus every bad input of the issue's table that a night must survive."""
    root = tmp_path_factory.mktemp("reliab") / "raw"
    generate_night(root, DS, employees=4, seed=3)
    chat = root / "chat" / f"ds={DS}"
    bad = lines([{**CHAT, "message_id": "odd-1", "text": "broken \ud800 text"}, {**CHAT, "message_id": "odd-\udfff"}])
    bad += json.dumps({**CHAT, "message_id": "odd-3", "text": "caf"}).encode().replace(b"caf", b"caf\xe9") + b"\n"
    (chat / "zz-bad.jsonl").write_bytes(bad)
    (chat / "zz-more.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines([{**CHAT, "message_id": "zst-1"}])))
    (chat / "zz-more.jsonl.bz2").write_bytes(bz2.compress(lines([{**CHAT, "message_id": "bz2-1"}])))
    (chat / "zz-array.json").write_text(json.dumps([{**CHAT, "message_id": "json-1"}]))
    (chat / "zz-empty.jsonl").write_bytes(b"")
    (chat / "notes.csv").write_text("not read\n")
    typed = [{**KEYS, "event_id": f"odd-k{i}", "ts": KEYS["ts"] + 100 * i, "key": k, "field_kind": f"kind-{ODD}"}
             for i, k in enumerate("hello")]
    typed += [{**KEYS, "event_id": "odd-k9", "ts": KEYS["ts"] + 900, "key": "x", "action": f"press-{ODD}"}]
    (root / "keystrokes" / f"ds={DS}" / "zz-odd.jsonl").write_bytes(lines(typed))
    clicks = [{**MOUSE, "event_id": "odd-m1", "action": f"wiggle-{ODD}"}, {**MOUSE, "event_id": "odd-m2", "button": f"b-{ODD}"}]
    (root / "mouse" / f"ds={DS}" / "zz-odd.jsonl").write_bytes(lines(clicks))
    (root / "emails" / f"ds={DS}").mkdir(parents=True)
    (root / "emails" / f"ds={DS}" / "a.jsonl").write_bytes(lines([{"x": 1}]))
    return root


@pytest.fixture(scope="module")
def key_file(raw: Path) -> Path:
    path = raw.parent / "hmac.key"
    path.write_text("0123456789abcdef" * 4)
    path.chmod(0o600)
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    return subprocess.run([SCRUBLINE, *args], capture_output=True, text=True, env={**base, **(env or {})}, check=False)


def run(raw: Path, clean: Path, *extra: str, key_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    key = ["--key-file", str(key_file or raw.parent / "hmac.key")]
    return cli("run", "--ds", DS, "--raw", str(raw), "--clean", str(clean), "--workers", "1",
               "--quarantine", str(clean.parent / "quarantine"), *key, *extra)


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    *logged, message = result.stderr.strip().splitlines()
    assert message.startswith("scrubline: error: ") and all(line.startswith("WARNING ") for line in logged), result.stderr
    assert "unexpected" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def policy_file(tmp_path: Path, change) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text())
    change(policy)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


@pytest.fixture(scope="module")
def clean(raw: Path, key_file: Path) -> Path:
    root = raw.parent / "clean"
    result = run(raw, root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def manifest(clean: Path, dataset: str = "text") -> dict:
    return manifest_of(clean, dataset)


# --- rows that used to fail the night, publish raw values or be skipped silently -------------------------------


def test_lone_surrogates_and_invalid_utf8_are_quarantined_and_accounted(clean: Path) -> None:
    """Rows: a lone surrogate in text or an id; invalid UTF-8 bytes."""
    chat = manifest(clean)["sources"]["chat"]
    assert chat["quarantined"] == {"bad_unicode:message_id": 1, "bad_unicode:text": 1, "invalid_utf8": 1}
    rows = pq.read_table(clean.parent / "quarantine" / "chat" / f"ds={DS}" / "quarantine.parquet").to_pylist()
    assert [(r["file"], r["line"], r["reason"]) for r in rows] == [
        ("zz-bad.jsonl", 1, "bad_unicode:text"), ("zz-bad.jsonl", 2, "bad_unicode:message_id"),
        ("zz-bad.jsonl", 3, "invalid_utf8")]
    assert manifest(clean)["reconciliation"]["balanced"]
    assert chat["input_rows"] == sum(chat["quarantined"].values()) + sum(chat["dropped"].values()) + chat["published"]["text"]


def test_closed_vocabularies_publish_unknown_and_count_it(clean: Path) -> None:
    """Row: values in keystroke/mouse action, mouse button, keystroke field_kind (events, text.context and
    Parquet column statistics)."""
    events = pd.read_parquet(clean / "events" / f"ds={DS}")
    assert set(events["action"]) <= KEY_ACTIONS | MOUSE_ACTIONS and "unknown" in set(events["action"])
    assert set(events["button"].dropna()) <= MOUSE_BUTTONS and "unknown" in set(events["button"])
    text = pd.read_parquet(clean / "text" / f"ds={DS}")
    assert set(text["context"]) <= {"dm", "group", "public", "meeting"} | {f"typed:{k}" for k in FIELD_KINDS}
    assert "typed:unknown" in set(text["context"])
    sources = manifest(clean, "events")["sources"]
    assert sources["keystrokes"]["unknown_values"] == {"action": 1, "field_kind": 5}
    assert sources["mouse"]["unknown_values"] == {"action": 1, "button": 1}
    report = json.loads((clean / "_reports" / f"ds={DS}" / "report.json").read_text())
    assert report["inputs"]["unknown_values"] == 8
    for path in clean.rglob("*.parquet"):
        meta = pq.ParquetFile(path).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                stats = meta.row_group(g).column(c).statistics
                if stats is not None and stats.has_min_max:
                    assert ODD not in f"{stats.min!r}{stats.max!r}", (path.name, meta.schema.column(c).name)
    assert ODD.encode() not in b"".join(p.read_bytes() for p in clean.rglob("*") if p.is_file() and p.suffix != ".parquet")


def test_unknown_folders_unsupported_and_empty_files_are_counted_and_other_formats_read(clean: Path) -> None:
    """Row: unknown source folders, unsupported extensions, empty files (and .json/.zst/.bz2 read)."""
    chat = manifest(clean)["sources"]["chat"]
    assert chat["skipped_files"] == {"unsupported_extension": 1}
    assert chat["empty_files"] == 1 and chat["files"] == 6
    assert manifest(clean)["unknown_source_folders"] == {"emails": 1}
    report = json.loads((clean / "_reports" / f"ds={DS}" / "report.json").read_text())
    assert report["inputs"] == {"unknown_source_folders": {"emails": 1}, "skipped_files": 1, "empty_files": 1,
                                "unknown_values": 8}
    html = (clean / "_reports" / f"ds={DS}" / "report.html").read_text()
    assert "Inputs not read as rows" in html and "emails: 1" in html
    assert chat["published"]["text"] + chat["dropped"].get("empty_text", 0) >= 3, "the .zst, .bz2 and .json rows"


def test_published_tree_has_the_policy_modes_and_nothing_else_is_open(clean: Path, raw: Path) -> None:
    """Row: `scrubline generate` and staging were world-readable; the published tree's mode is configured."""
    night = clean / "_nights" / f"ds={DS}"
    for path in night.rglob("*"):
        if not path.is_symlink():
            assert stat.S_IMODE(path.stat().st_mode) == (0o750 if path.is_dir() else 0o640), path
    for root in (clean.parent / "quarantine", Path(f"{clean}.staging")):
        for path in [root, *root.rglob("*")]:
            assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert not (Path(f"{clean}.staging") / f"ds={DS}").exists(), "a published night's staging is removed"


def test_a_failed_night_leaves_no_staging_and_nothing_unredacted_under_the_clean_root(
    raw: Path, key_file: Path, tmp_path: Path
) -> None:
    """Row: validation fails, staging kept unredacted text at 0644 under the clean root."""
    def weak(policy: dict) -> None:
        for family in policy["recognizers"]:
            policy["recognizers"][family] = family == "spacy_ner"

    clean = tmp_path / "clean"
    result = run(raw, clean, "--policy", str(policy_file(tmp_path, weak)))
    one_line_error(result, "validation failed", "nothing published", "_attempts")
    assert not Path(f"{clean}.staging", f"ds={DS}").exists()
    assert sorted(p.name for p in clean.iterdir()) == ["_attempts"], "only the failed attempt's counts-only report"
    report = json.loads((clean / "_attempts" / f"ds={DS}" / "report.json").read_text())
    assert report["published"] is False
    assert not list(clean.rglob("*.parquet"))


def test_a_second_run_of_a_night_is_refused_while_the_first_holds_it(raw: Path, tmp_path: Path) -> None:
    """Row: two runs of the same night at once."""
    from pipeline.locks import night_lock

    clean = tmp_path / "clean"
    with night_lock(Path(f"{clean}.staging") / f"ds={DS}.lock", DS):
        result = run(raw, clean)
    one_line_error(result, f"ds={DS} is being processed by another run", "wait for it to end")


@pytest.mark.parametrize(
    ("setup", "fragments"),
    [
        ("symlink", ["raw input chat/ds=2026-11-26/zz-link.jsonl is a symlink to a place outside the raw root"]),
        ("quarantine", ["the quarantine root", "and the clean root", "overlap"]),
        ("key", ["is accessible by others (mode 0644); run: chmod 600"]),
        ("roster", ["roster roster.jsonl line 3: employee_id repeats the one on line 1"]),
        ("policy", ["policy.yaml: canaries.min_recal: unknown key", "output.shard_target_rows: must be greater"]),
    ],
)
def test_bad_settings_are_refused_in_one_line_before_any_work(
    raw: Path, key_file: Path, tmp_path: Path, setup: str, fragments: list[str]
) -> None:
    """Rows: a raw-root symlink out of the root; --quarantine inside the clean root; a key file at 0644; a roster
    with a duplicate employee_id; policy typos and out-of-range values."""
    clean, extra, key = tmp_path / "clean", [], key_file
    if setup == "symlink":
        copy = tmp_path / "raw"
        subprocess.run(["cp", "-a", str(raw), str(copy)], check=True)
        (tmp_path / "outside.jsonl").write_text(json.dumps({**CHAT, "message_id": "outside"}) + "\n")
        (copy / "chat" / f"ds={DS}" / "zz-link.jsonl").symlink_to(tmp_path / "outside.jsonl")
        raw = copy
    elif setup == "quarantine":
        extra = ["--quarantine", str(clean / "quarantine")]
    elif setup == "key":
        key = tmp_path / "open.key"
        key.write_text("0123456789abcdef" * 4)
        key.chmod(0o644)
    elif setup == "roster":
        rows = [json.loads(line) for line in (raw / "roster.jsonl").read_text().splitlines()]
        roster = tmp_path / "roster.jsonl"
        roster.write_text("".join(json.dumps(r) + "\n" for r in [rows[0], rows[1], {**rows[2], "employee_id": rows[0]["employee_id"]}]))
        extra = ["--roster", str(roster)]
    elif setup == "policy":
        def typos(policy: dict) -> None:
            policy["canaries"]["min_recal"] = {"default": 0.5}
            policy["output"]["shard_target_rows"] = -3
        extra = ["--policy", str(policy_file(tmp_path, typos))]
    result = run(raw, clean, *extra, key_file=key)
    one_line_error(result, *fragments)
    assert not clean.exists() or not list(clean.rglob("*.parquet")), "nothing published"


@pytest.mark.parametrize("ds", ["2026-13-45", "../../etc", "", "2026-2-3"])
def test_a_bad_ds_is_a_one_line_reason_naming_the_argument(raw: Path, tmp_path: Path, ds: str) -> None:
    """Row: `--ds 2026-13-45`, `../../etc`, empty."""
    result = cli("run", "--ds", ds, "--raw", str(raw), "--clean", str(tmp_path / "c"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "argument --ds: must be a calendar date written YYYY-MM-DD" in result.stderr
    assert not (tmp_path / "c").exists()


def test_config_errors_name_the_setting_for_the_dag_too() -> None:
    from pipeline.errors import ConfigError
    from pipeline.night import NightConfig

    with pytest.raises(ConfigError, match="ds must be a calendar date written YYYY-MM-DD"):
        NightConfig(ds="../../etc", raw_root="/r", clean_root="/c")
    with pytest.raises(ConfigError, match="staging root /c/s and the clean root /c overlap"):
        NightConfig(ds=DS, raw_root="/r", clean_root="/c", staging_root="/c/s")
    with pytest.raises(ConfigError, match="the raw root /c/raw is inside the clean root"):
        NightConfig(ds=DS, raw_root="/c/raw", clean_root="/c")
    with pytest.raises(ConfigError, match="quarantine root /r/chat/q is the raw root or inside a raw source"):
        NightConfig(ds=DS, raw_root="/r", clean_root="/c", quarantine_root="/r/chat/q")


def _faulty(args: list[str], fault: str) -> subprocess.CompletedProcess[str]:
    """The CLI with an OSError injected: `erofs` on any folder made under the clean root, `enospc` on the
    first file written under it (the night's manifest, while publishing)."""
    code = f"""
import errno, os, sys
from pathlib import Path
clean = str(Path({args[args.index('--clean') + 1]!r}).resolve())
real_mkdir, real_open = os.mkdir, os.open
def mkdir(path, *a, **k):
    if {fault!r} == "erofs" and str(Path(path).resolve()).startswith(clean):
        raise OSError(errno.EROFS, "Read-only file system", str(path))
    return real_mkdir(path, *a, **k)
def open_(path, flags, *a, **k):
    if {fault!r} == "enospc" and flags & os.O_CREAT and str(Path(path).resolve()).startswith(clean + "/_nights"):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    return real_open(path, flags, *a, **k)
os.mkdir, os.open = mkdir, open_
from pipeline.cli import main
sys.exit(main({args!r}))
"""
    base = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=base, check=False)


def test_a_read_only_clean_root_or_a_full_disk_is_a_one_line_reason_and_leaves_nothing(
    raw: Path, key_file: Path, clean: Path, tmp_path: Path
) -> None:
    """Row: disk full, read-only clean root."""
    args = ["run", "--ds", DS, "--raw", str(raw), "--key-file", str(key_file), "--workers", "1",
            "--quarantine", str(tmp_path / "q")]
    fresh = tmp_path / "fresh"
    message = one_line_error(_faulty([*args, "--clean", str(fresh)], "erofs"), "Read-only file system (EROFS): ")
    assert str(fresh) in message and not Path(f"{fresh}.staging", f"ds={DS}").exists()

    full = tmp_path / "full"
    subprocess.run(["cp", "-a", str(clean), str(full)], check=True)
    before = published_bytes(full)
    message = one_line_error(_faulty([*args, "--clean", str(full), "--policy", str(policy_file(
        tmp_path, lambda p: p["output"].update(timestamp_granularity="hour")))], "enospc"),
        "No space left on device (ENOSPC): ", "nothing was published")
    assert published_bytes(full) == before, "the published night is the one before"
    assert readers_see(full, "text") > 0
    assert not [p for p in (full / "_nights" / f"ds={DS}").iterdir() if p.name.startswith(".")], "nothing partial"
    assert not Path(f"{full}.staging", f"ds={DS}").exists()


# --- key rotation and retention ----------------------------------------------------------------------------------


def test_key_rotation_re_pseudonymises_the_night_from_raw_and_flags_it(
    raw: Path, key_file: Path, clean: Path, tmp_path: Path
) -> None:
    rotated = tmp_path / "clean"
    subprocess.run(["cp", "-a", str(clean), str(rotated)], check=True)
    old = manifest(rotated)
    new_key = tmp_path / "new.key"
    new_key.write_text("fedcba9876543210" * 4)
    new_key.chmod(0o600)
    one_line_error(run(raw, rotated, key_file=new_key), f"was published under key id {old['key_id']}", "scrubline rekey")
    result = cli("rekey", "--ds", DS, "--raw", str(raw), "--clean", str(rotated), "--key-file", str(new_key),
                 "--workers", "1", "--quarantine", str(tmp_path / "q"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"re-keyed ds={DS}" in result.stdout
    new = manifest(rotated)
    assert new["key_id"] != old["key_id"] and new["rows"] == old["rows"]
    assert manifest(rotated, "events")["key_id"] == new["key_id"], "one key across the night's datasets"
    before = pd.read_parquet(clean / "text" / f"ds={DS}")
    after = pd.read_parquet(rotated / "text" / f"ds={DS}")
    for column in ("record_pid", "user_pid", "conversation_pid"):
        assert not set(before[column]) & set(after[column]), f"old {column}s never mix with new ones"
    report = json.loads((rotated / "_reports" / f"ds={DS}" / "report.json").read_text())
    assert report["key"]["changed"] and report["key"]["replaces_key_id"] == old["key_id"]
    assert "The HMAC key changed" in (rotated / "_reports" / f"ds={DS}" / "report.html").read_text()
    missing = cli("rekey", "--ds", DS, "--to", "2026-11-27", "--raw", str(raw), "--clean", str(rotated),
                  "--key-file", str(new_key), "--workers", "1", "--quarantine", str(tmp_path / "q"))
    assert missing.returncode == 2 and "no raw input for 1 night(s), which keep their old key: 2026-11-27" in missing.stderr


def test_a_long_text_and_a_long_typed_field_are_scrubbed_in_windows(tmp_path: Path) -> None:
    """Row: a text over 1,000,000 characters, or a keystroke field typed past that without Enter (spaCy E088);
    a secret on a window's edge is still found."""
    from pipeline.datasets import scrub_keystrokes
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.read_columnar import rows_table
    from pipeline.contracts import KEYSTROKES
    from pipeline.roster import Roster
    from pipeline.scrub import scrub_batch, windows

    policy, keys = load_policy(), Pseudonymizer(b"k" * 32)
    blob = ("Q" * 9_999 + " ") * 120
    edge = windows(blob, *policy.window_chars)[1][0] + 10  # inside the overlap of the first two windows
    text = blob[:edge] + " write to ab.cd@example.org today " + blob[edge:]
    assert len(text) > 1_000_000
    redacted = scrub_batch([text], policy, Roster(), keys)[0]
    assert "ab.cd@example.org" not in redacted.text and redacted.counts["EMAIL_ADDRESS"] == 1

    small = load_policy(policy_file(tmp_path, lambda p: p["nlp"].update(window_chars=1000, window_overlap_chars=200)))
    typed = "let us sync later " * 80
    cut = windows(typed, 1000, 200)[1][0] + 5
    typed = typed[:cut] + "mail ab.cd@example.org now " + typed[cut:]
    rows = [{**KEYS, "event_id": f"t{i}", "ts": None, "key": " " if ch == " " else ch} for i, ch in enumerate(typed)]
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 26, 10, tzinfo=UTC)
    for i, row in enumerate(rows):
        row["ts"] = start + timedelta(milliseconds=50 * i)
    counts: dict = {}
    tables = scrub_keystrokes(DS, rows_table(KEYSTROKES, rows), small, keys, Roster(), counts)
    (published,) = tables["text"]["text"].to_pylist()
    assert "ab.cd@example.org" not in published and "<EMAIL_ADDRESS>" in published
    hidden = tables["events"]["key_class"].to_pylist()
    assert hidden.count("redacted") >= len("ab.cd@example.org")


def test_the_events_builder_closes_vocabularies_for_any_caller() -> None:
    """Row: closed vocabularies, whoever builds the events table (not only rows that came through the reader)."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from pipeline.behaviour import build_events
    from pipeline.contracts import SOURCES
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.read_columnar import checked_schema

    row = {**MOUSE, "event_id": "m1", "ts": datetime(2026, 11, 26, tzinfo=UTC), "action": f"wiggle-{ODD}",
           "button": f"b-{ODD}"}
    table = pa.Table.from_pylist([row], schema=checked_schema(SOURCES["mouse"]))
    events = build_events("mouse", table, load_policy().events, Pseudonymizer(b"k" * 32), (0.1, 0.1))
    assert events["action"].to_pylist() == ["unknown"] and events["button"].to_pylist() == ["unknown"]
