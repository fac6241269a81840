"""Search published data and every other artefact for values planted in the raw input."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq

# Ground-truth labels that must never survive into published text (foundation acceptance).
MUST_NOT_LEAK = {"EMAIL", "PHONE", "CREDENTIAL", "API_KEY", "CARD", "SSN", "ROSTER_NAME"}


def planted(ground_truth: list[dict], labels: set[str], sources: set[str]) -> set[tuple[str, str]]:
    return {
        (span["label"], span["value"])
        for record in ground_truth
        if record["source"] in sources
        for span in record["spans"]
        if span["label"] in labels
    }


def roster_values(roster: list[dict]) -> set[str]:
    values = set()
    for e in roster:
        values.update(v for v in (e["full_name"], e.get("email"), e.get("handle")) if v)
    return values


def parquet_strings(root: Path) -> list[str]:
    """Every string cell of every Parquet file under root (Parquet pages are compressed: bytes won't do)."""
    out: list[str] = []
    for path in sorted(root.rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            out.extend(_strings(row))
    return out


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def survivors(texts: list[str], values: set[str]) -> set[str]:
    """Planted values found in any text, as whole words (a name inside a longer word is not the name)."""
    blob = "\n".join(texts)
    found = set()
    for value in values:
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", blob):
            found.add(value)
    return found


def files_containing(root: Path, values: set[str], skip: tuple[Path, ...] = ()) -> dict[str, list[str]]:
    """For every non-Parquet file under root, the planted values its bytes contain.

    Values shorter than 6 characters (4-digit PINs, short first names) are left out: they turn up by
    chance in timestamps and ids of any log, so a hit would say nothing.
    """
    hits: dict[str, list[str]] = {}
    encoded = {v: v.encode() for v in values if len(v) >= 6}
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix == ".parquet" or any(path.is_relative_to(s) for s in skip):
            continue
        data = path.read_bytes()
        found = [v for v, b in encoded.items() if b in data]
        if found:
            hits[str(path.relative_to(root))] = found
    return hits


# --- canaries in every raw field (issue 13): values that must never reach anything under the clean root ----------

CANARY_TS = "2026-11-26T13:37:42.424242Z"  # the seconds and microseconds are the value: published times drop them
CANARY_EPOCH_MS = 1764164262424  # 2026-11-26T13:37:42.424Z, for the event sources


def plant_every_field(raw: Path, ds: str) -> set[str]:
    """Add to a raw night one row per source whose every field holds a unique value of its own (free-text fields a
    secret the scrubber must catch; timestamps and numbers values no published column may keep), and a roster
    entry likewise. Returns the values to search for."""
    import json

    def cnry(name: str) -> str:
        return f"Cnry{name.replace('_', '')}Zq7"

    values: set[str] = {CANARY_TS, "13:37:42", "424242", str(CANARY_EPOCH_MS), "1337.4242", "4242.1717", "13.37123"}
    employee = {"employee_id": cnry("empid"), "full_name": "Zorblat Quenwick", "preferred_name": "Zorbie Quenwick",
                "handle": cnry("handle"), "email": "zorblat.quenwick@cnry-mail.example", "manager_id": cnry("mgr"),
                "org": cnry("org"), "location": cnry("location")}
    values |= {v for v in employee.values()}
    with open(raw / "roster.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(employee) + "\n")
    secret_text = "ping Zorblat Quenwick or write to cnry.text.secret@example.org, password: CnryPw-9f8e7d!"
    values |= {"cnry.text.secret@example.org", "CnryPw-9f8e7d!"}
    rows = {
        "chat": {"message_id": cnry("message_id"), "ts": CANARY_TS, "employee_id": cnry("employee_id"),
                 "channel_id": cnry("channel_id"), "channel_kind": "dm", "recipient_ids": [cnry("recipient")],
                 "thread_id": cnry("thread_id"), "text": secret_text},
        "transcripts": {"meeting_id": cnry("meeting_id"), "segment_id": cnry("segment_id"), "ts_start": CANARY_TS,
                        "ts_end": CANARY_TS, "speaker_employee_id": None, "speaker_label": "Cnrylabel Vexhoudt",
                        "text": secret_text},
        "performance": {"record_id": cnry("record_id"), "employee_id": cnry("perf_employee"), "manager_id": cnry("perf_mgr"),
                        "cycle": cnry("cycle"), "rating": cnry("rating"), "calibrated_rating": cnry("calibrated"),
                        "pip": True, "comp_change_pct": 13.37123, "comments": cnry("comments"), "ts": CANARY_TS},
    }
    values |= {v for row in rows.values() for k, v in row.items() if isinstance(v, str) and k not in ("channel_kind",)}
    values |= {cnry("recipient"), "Cnrylabel Vexhoudt"}
    typed = "mail cnry.typed.secret@example.org"
    values.add("cnry.typed.secret@example.org")
    session = {"employee_id": cnry("key_employee"), "device_id": cnry("device_id"), "session_id": cnry("session_id"),
               "app": cnry("app"), "window_title": cnry("window_title")}
    keys = [{"event_id": f"{cnry('event')}{i:03d}", "ts": CANARY_EPOCH_MS + 137 * i, **session, "field_id": cnry("field_id"),
             "field_kind": cnry("field_kind"), "key": ch, "action": "down", "modifiers": [cnry("modifier")], "text": None}
            for i, ch in enumerate(typed)]
    keys.append({**keys[0], "event_id": cnry("paste_event"), "ts": CANARY_EPOCH_MS + 9999, "key": "Paste",
                 "text": "cnry.pasted.secret@example.org"})
    keys.append({**keys[0], "event_id": cnry("odd_action"), "ts": CANARY_EPOCH_MS + 19999, "action": cnry("action")})
    values |= {"cnry.pasted.secret@example.org", cnry("event"), cnry("paste_event"), cnry("odd_action"), cnry("action"),
               cnry("field_id"), cnry("field_kind"), cnry("modifier"), *session.values()}
    mouse = [{"event_id": cnry("mouse_event"), "ts": CANARY_EPOCH_MS, **session, "app": cnry("mouse_app"),
              "window_title": cnry("mouse_window"), "action": cnry("mouse_action"), "x": 1337.4242, "y": 1337.4242,
              "button": cnry("button"), "screen_w": 4242.1717, "screen_h": 4242.1717}]
    values |= {cnry("mouse_event"), cnry("mouse_app"), cnry("mouse_window"), cnry("mouse_action"), cnry("button")}
    for source, source_rows in (*((s, [r]) for s, r in rows.items()), ("keystrokes", keys), ("mouse", mouse)):
        path = raw / source / f"ds={ds}" / "zz-canaries.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in source_rows), encoding="utf-8")
    return values


def canary_hits(root: Path, values: set[str]) -> dict[str, list[str]]:
    """Every place under root holding a canary: file names, file bytes, and for Parquet files every cell, the
    column statistics of every row group, and the schema's and file's key-value metadata."""
    hits: dict[str, list[str]] = {}

    def check(where: str, text: str) -> None:
        found = sorted(v for v in values if v in text)
        if found:
            hits.setdefault(where, []).extend(found)

    for path in sorted(root.rglob("*")):
        where = str(path.relative_to(root))
        check(f"name:{where}", where)
        if not path.is_file():
            continue
        if path.suffix != ".parquet":
            check(where, path.read_bytes().decode("utf-8", "replace"))
            continue
        parquet = pq.ParquetFile(path)
        meta = parquet.metadata
        check(f"{where}:metadata", repr(meta.metadata) + repr(parquet.schema_arrow))
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                stats = meta.row_group(g).column(c).statistics
                if stats is not None and stats.has_min_max:
                    check(f"{where}:statistics", f"{stats.min!r} {stats.max!r}")
        for row in parquet.read().to_pylist():
            check(f"{where}:cells", repr(row))
    return hits


# --- disclosures (issue 12): phrases, not values, searched in published text at phrase level -------------------


def plant_disclosures(raw: Path, ds: str) -> dict[str, list[tuple[str, str]]]:
    """Chat rows that disclose: every canary phrasing of pipeline.canaries for PERFORMANCE, HEALTH and PRIVATE, each
    in one of its frames. Returns per label the planted (text, disclosing phrase) pairs."""
    import json
    import random

    from pipeline.canaries import DISCLOSURE_FRAMES, DISCLOSURE_PHRASES

    rng = random.Random(ds)
    rows, phrases = [], {}
    for label, shapes in DISCLOSURE_PHRASES.items():
        for i, shape in enumerate(shapes):
            phrase = shape.format(pct=7 + i, k=120 + i, r=2)
            value = phrase.split("[[", 1)[1].split("]]", 1)[0]
            text = rng.choice(DISCLOSURE_FRAMES[label]).replace("{v}", phrase.replace("[[", "").replace("]]", ""))
            phrases.setdefault(label, []).append((text, value))
            rows.append({"message_id": f"disclosure-{label}-{i}", "ts": CANARY_TS, "employee_id": "disclosure-emp",
                         "channel_id": "disclosure-channel", "channel_kind": "dm", "recipient_ids": [],
                         "thread_id": None, "text": text})
    path = raw / "chat" / f"ds={ds}" / "zz-disclosures.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return phrases


def phrase_survivors(texts: list[str], phrases: list[str]) -> list[str]:
    """Disclosing phrases found in any text at phrase level: their words of three or more characters (or with a
    digit) in order, with only short words or punctuation between them, within one text, case-insensitively."""
    found = []
    for phrase in phrases:
        words = [w for w in re.findall(r"\w+", phrase) if len(w) >= 3 or any(c.isdigit() for c in w)]
        pattern = re.compile(r"(?<!\w)" + r"(?:\W+\w{1,2})*\W+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
        if words and any(pattern.search(t) for t in texts):
            found.append(phrase)
    return found

