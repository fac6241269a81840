"""One partition's checked rows → tables of the published datasets, with the counts the report needs.

Pure functions over rows and tables: reading and writing stay in pipeline.run's callers of these.
Text sources become `text` rows; keystroke streams become masked `events` rows plus `text` rows of what
was typed; canaries ride along through the very same calls and are scored and removed here.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline import canaries
from pipeline.behaviour import build_events
from pipeline.contracts import EVENTS_DATASET, KEYSTROKES, SAID_AT, STAGED_SCHEMAS, TEXT_DATASET
from pipeline.keystrokes import mask_events, replay
from pipeline.policy import Policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.read_columnar import rows_table
from pipeline.redact import Redacted
from pipeline.roster import Roster
from pipeline.scrub import scrub_batch
from pipeline.utterances import Utterance, to_utterances


def truncate(ts: datetime, granularity: str) -> datetime:
    """A timestamp cut to the start of its minute, hour or day (policy `output.timestamp_granularity`)."""
    ts = ts.replace(second=0, microsecond=0)
    if granularity in ("hour", "day"):
        ts = ts.replace(minute=0)
    if granularity == "day":
        ts = ts.replace(hour=0)
    return ts


def text_table(
    source: str,
    utterances: list[Utterance],
    scrubbed: list[Redacted],
    keys: Pseudonymizer,
    fractions: tuple[float, float],
    granularity: str = "minute",
) -> pa.Table:
    """Staged `text` rows: `turn` is 0 until `number_turns` sees the whole night; `said_at` is the exact time."""
    schema = STAGED_SCHEMAS[TEXT_DATASET]
    out: dict[str, list[Any]] = {name: [] for name in schema.names}
    for utterance, redacted in zip(utterances, scrubbed, strict=True):
        user_pid = keys.pid("user", utterance.user_key)
        out["record_pid"].append(keys.pid("record", f"{source}:{utterance.record_key}"))
        out["source"].append(source)
        out["user_pid"].append(user_pid)
        out["conversation_pid"].append(keys.pid("conversation", utterance.conversation_key))
        out["context"].append(utterance.context)
        out["ts"].append(truncate(utterance.ts, granularity))
        out["turn"].append(0)
        out[SAID_AT.name].append(utterance.ts)
        out["text"].append(redacted.text)
        out["redactions"].append([{"entity": e, "count": n} for e, n in sorted(redacted.counts.items())])
        out["redacted_count"].append(sum(redacted.counts.values()))
        out["split"].append(keys.split(user_pid, fractions))
    return pa.Table.from_pydict(out, schema=schema)


def number_turns(staged: pa.Table) -> pa.Table:
    """The night's staged text rows with `turn` set to each row's 1-based place in its conversation (a channel,
    a meeting, a typing session), ordered by the exact time, ties by record_pid; the exact time is then
    dropped. Rows can be put in dialogue order without publishing when anything was said."""
    ordered = staged.sort_by([("conversation_pid", "ascending"), (SAID_AT.name, "ascending"), ("record_pid", "ascending")])
    conversations = ordered["conversation_pid"].to_numpy(zero_copy_only=False)
    n = len(conversations)
    starts = np.flatnonzero(np.r_[True, conversations[1:] != conversations[:-1]]) if n else np.array([], np.int64)
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    turns = pa.array((np.arange(n) - first + 1).astype(np.int32))
    ordered = ordered.set_column(ordered.schema.get_field_index("turn"), STAGED_SCHEMAS[TEXT_DATASET].field("turn"), turns)
    return ordered.drop_columns([SAID_AT.name])


def scrub_text_rows(
    ds: str,
    source: str,
    rows: list[dict[str, Any]],
    policy: Policy,
    keys: Pseudonymizer,
    roster: Roster,
    counts: dict[str, Any],
    canary_share: tuple[int, int] | None = None,
) -> pa.Table:
    """One batch of a text partition → its `text` rows; `counts` gets this batch's counts (the caller adds
    batches up). The batch called with `canary_share` (share, shares) plants that share of the night's canaries
    (the partition's first: run.plan shares them out)."""
    utterances = to_utterances(source, rows, roster)
    kept = [u for u in utterances if u.text.strip()]
    # Canaries go through the very same call as the real rows, then are split off and scored.
    per_class = int(policy.canaries["per_class"])
    planted = (
        canaries.canary_records(ds, *canary_share, per_class, canaries.canary_employees(ds)) if canary_share else []
    )
    everything = scrub_batch([u.text for u in kept] + [c["text"] for c in planted], policy, roster, keys)
    scrubbed, scrubbed_canaries = everything[: len(kept)], everything[len(kept) :]
    counts["canaries"] = canaries.score_texts(planted, [r.text for r in scrubbed_canaries], policy.uses_surrogates)
    dropped = Counter({"empty_text": len(utterances) - len(kept)})
    dropped["entity_action_drop_row"] = sum(r.drop_row for r in scrubbed)
    published = [(u, r) for u, r in zip(kept, scrubbed, strict=True) if not r.drop_row]
    counts["dropped"] = {k: v for k, v in dropped.items() if v}
    counts["entities"] = dict(sorted(sum((r.counts for r in scrubbed), Counter()).items()))
    counts["rows_touched"] = sum(1 for _, r in published if r.counts)
    output = policy.output
    return text_table(
        source, [u for u, _ in published], [r for _, r in published], keys, policy.split_fractions,
        output["timestamp_granularity"],
    )


def scrub_keystrokes(
    ds: str, events: pa.Table, policy: Policy, keys: Pseudonymizer, roster: Roster, counts: dict[str, Any],
    plant_canaries: bool = True, staged: bool = False,
) -> dict[str, pa.Table]:
    """Replay typed text, scrub it (final and typed-then-deleted), mask the events behind every finding.

    `events` is the partition's checked rows (`read_columnar`), or a chunk's whole sessions of them. Every
    event is published (masked) in `events`; each non-password segment's final text also joins `text` as a
    derived row. A segment whose whole text is a credential is treated as a password field. The typed canaries
    (`canaries.per_class` secrets) ride in the call with `plant_canaries` (a partition's first chunk); `staged`
    leaves the timing draws to the night (behaviour.build_events).
    """
    settings = policy.events
    per_class = int(policy.canaries["per_class"])
    planted = canaries.typed_canary(ds, canaries.canary_employees(ds)[0], per_class)
    real = events.num_rows
    plant = plant_canaries and per_class > 0
    if plant:
        events = pa.concat_tables([events, rows_table(KEYSTROKES, planted.rows)])
    replayed = replay(events, idle_gap_ms=int(settings["idle_gap_ms"]))
    segments = replayed.segments
    typed = [s for s in segments if not s.is_password]
    finals = scrub_batch([s.final_text for s in typed], policy, roster, keys)
    histories = scrub_batch([s.history_text for s in typed], policy, roster, keys)
    sensitive = {s.segment_id: r.spans for s, r in zip(typed, finals, strict=True) if r.spans}
    history_sensitive = {s.segment_id: r.spans for s, r in zip(typed, histories, strict=True) if r.spans}
    masked = mask_events(events, replayed, sensitive, history_sensitive)
    if plant:
        counts["canaries"] = canaries.score_typed(planted, masked.slice(real).select(["event_id", "key_class"]).to_pylist())
        masked = masked.slice(0, real)
        keep = [not canaries.is_canary(s.employee_id) for s in typed]
        typed = [s for s, k in zip(typed, keep, strict=True) if k]
        finals = [r for r, k in zip(finals, keep, strict=True) if k]
        histories = [r for r, k in zip(histories, keep, strict=True) if k]
        segments = [s for s in segments if not canaries.is_canary(s.employee_id)]

    texts = [
        (s, r) for s, r in zip(typed, finals, strict=True)
        if s.final_text.strip() and not r.drop_row and not all_credential(s.final_text, r)
    ]
    counts["entities"] = dict(sorted(sum((r.counts for r in finals + histories), Counter()).items()))
    counts["rows_touched"] = sum(1 for _, r in texts if r.counts)
    counts["segments"] = {
        "total": len(segments),
        "password": len(segments) - len(typed),
        "published_as_text": len(texts),
        "unknown_keys": sum(s.unknown_keys for s in segments),
    }
    fractions, granularity = policy.split_fractions, policy.output["timestamp_granularity"]
    utterances = [
        Utterance(
            record_key=s.segment_id,
            user_key=s.employee_id,
            conversation_key=f"session:{s.employee_id}/{s.device_id}/{s.session_id}",
            context=f"typed:{s.field_kind or 'unknown'}",
            ts=s.ts_start,
            text=s.final_text,
        )
        for s, _ in texts
    ]
    return {
        TEXT_DATASET: text_table("keystrokes", utterances, [r for _, r in texts], keys, fractions, granularity),
        EVENTS_DATASET: build_events("keystrokes", masked, settings, keys, fractions, night=ds, staged=staged),
    }


def all_credential(text: str, redacted: Redacted) -> bool:
    """Credential entry typed outside a password field: the text is nothing but the secret."""
    covered = sum(end - start for start, end in redacted.spans)
    return redacted.counts.get("CREDENTIAL", 0) > 0 and covered >= len(text.strip())
