"""Checked raw rows of the text-bearing sources → utterances: one spoken or written piece of text each.

This is the one place that knows which raw field of which source plays which role in the `text` dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.roster import Roster


@dataclass(frozen=True)
class Utterance:
    record_key: str  # unique within (source, ds); pseudonymised before publishing
    user_key: str  # who said or wrote it
    conversation_key: str
    context: str  # dm | group | public | meeting | ...
    ts: datetime
    text: str


def chat_utterance(row: dict[str, Any], roster: Roster) -> Utterance:
    return Utterance(
        record_key=row["message_id"],
        user_key=row["employee_id"],
        conversation_key=f"channel:{row['channel_id']}",
        context=row["channel_kind"],
        ts=row["ts"],
        text=row["text"],
    )


def transcript_utterance(row: dict[str, Any], roster: Roster) -> Utterance:
    # The speaker is an employee id when the meeting tool knew it; otherwise try the display label
    # against the roster, and fall back to the label itself (still pseudonymised) so a speaker stays one user.
    speaker = row["speaker_employee_id"] or roster.resolve_label(row["speaker_label"])
    if speaker is None:
        label = (row["speaker_label"] or "").strip().casefold()
        speaker = f"label:{row['meeting_id']}:{label}" if label else f"unknown:{row['meeting_id']}"
    return Utterance(
        record_key=f"{row['meeting_id']}/{row['segment_id']}",
        user_key=speaker,
        conversation_key=f"meeting:{row['meeting_id']}",
        context="meeting",
        ts=row["ts_start"],
        text=row["text"],
    )


UTTERANCE_BUILDERS = {"chat": chat_utterance, "transcripts": transcript_utterance}


def to_utterances(source: str, rows: list[dict[str, Any]], roster: Roster) -> list[Utterance]:
    build = UTTERANCE_BUILDERS[source]
    return [build(row, roster) for row in rows]
