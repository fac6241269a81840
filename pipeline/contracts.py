"""Raw and clean schemas: the single source of truth for field names and types.

Every other module refers to these names; a change here is a change of contract and must be
mirrored in docs/contracts.md and the Great Expectations suites under expectations/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

PIPELINE_VERSION = "0.1.0"
UNKNOWN = "unknown"  # what a value outside a closed vocabulary becomes (counted; never published as sent)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # one of: str, int, float, bool, ts, str_list
    required: bool = True


@dataclass(frozen=True)
class SourceContract:
    """What one raw source looks like and which of its fields carry what."""

    name: str
    fields: tuple[Field, ...]
    key_fields: tuple[str, ...]  # what identifies a row; pseudonymised on output, unique per partition
    text_field: str | None = None  # free text to scrub, if any
    allowed: dict[str, frozenset[str]] = field(default_factory=dict)  # enumerations: other values are quarantined
    # Closed vocabularies of fields whose values are published: any other value becomes UNKNOWN and is counted,
    # because a free-form value there is a side door (it would reach `events`, `text.context` and Parquet statistics).
    vocabulary: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


CHAT = SourceContract(
    name="chat",
    fields=(
        Field("message_id", "str"),
        Field("ts", "ts"),
        Field("employee_id", "str"),
        Field("channel_id", "str"),
        Field("channel_kind", "str"),
        Field("recipient_ids", "str_list", required=False),
        Field("thread_id", "str", required=False),
        Field("text", "str"),
    ),
    key_fields=("message_id",),
    text_field="text",
    allowed={"channel_kind": frozenset({"dm", "group", "public"})},
)

TRANSCRIPTS = SourceContract(
    name="transcripts",
    fields=(
        Field("meeting_id", "str"),
        Field("segment_id", "str"),
        Field("ts_start", "ts"),
        Field("ts_end", "ts", required=False),
        Field("speaker_employee_id", "str", required=False),
        Field("speaker_label", "str", required=False),
        Field("text", "str"),
    ),
    key_fields=("meeting_id", "segment_id"),
    text_field="text",
)

PERFORMANCE = SourceContract(
    name="performance",
    fields=(
        Field("record_id", "str"),
        Field("employee_id", "str"),
        Field("manager_id", "str", required=False),
        Field("cycle", "str"),
        Field("rating", "str", required=False),
        Field("calibrated_rating", "str", required=False),
        Field("pip", "bool", required=False),
        Field("comp_change_pct", "float", required=False),
        Field("comments", "str", required=False),
        Field("ts", "ts"),
    ),
    key_fields=("record_id",),
    text_field="comments",
)

KEY_ACTIONS = frozenset({"down", "up", UNKNOWN})
# What kind of field received the keys: HTML input types and the editors the replay knows (code, terminal).
FIELD_KINDS = frozenset({"text", "password", "email", "search", "url", "tel", "number", "code", "terminal", UNKNOWN})
MOUSE_ACTIONS = frozenset({"move", "click", "scroll", "drag", UNKNOWN})
MOUSE_BUTTONS = frozenset({"left", "right", "middle", "back", "forward", UNKNOWN})

KEYSTROKES = SourceContract(
    name="keystrokes",
    fields=(
        Field("event_id", "str"),
        Field("ts", "ts"),
        Field("employee_id", "str"),
        Field("device_id", "str"),
        Field("session_id", "str"),
        Field("app", "str", required=False),
        Field("window_title", "str", required=False),
        Field("field_id", "str", required=False),
        Field("field_kind", "str", required=False),
        Field("key", "str"),
        Field("action", "str"),
        Field("modifiers", "str_list", required=False),
        Field("text", "str", required=False),
    ),
    key_fields=("event_id",),
    vocabulary={"action": KEY_ACTIONS, "field_kind": FIELD_KINDS},
)

MOUSE = SourceContract(
    name="mouse",
    fields=(
        Field("event_id", "str"),
        Field("ts", "ts"),
        Field("employee_id", "str"),
        Field("device_id", "str"),
        Field("session_id", "str"),
        Field("app", "str", required=False),
        Field("window_title", "str", required=False),
        Field("action", "str"),
        Field("x", "float", required=False),
        Field("y", "float", required=False),
        Field("button", "str", required=False),
        Field("screen_w", "float", required=False),
        Field("screen_h", "float", required=False),
    ),
    key_fields=("event_id",),
    vocabulary={"action": MOUSE_ACTIONS, "button": MOUSE_BUTTONS},
)

SOURCES: dict[str, SourceContract] = {
    c.name: c for c in (CHAT, TRANSCRIPTS, PERFORMANCE, KEYSTROKES, MOUSE)
}

ROSTER_FIELDS = (
    "employee_id",
    "full_name",
    "preferred_name",
    "handle",
    "email",
    "manager_id",
    "org",
    "location",
)

# The published `text` dataset: one row per utterance.
TEXT_DATASET = "text"
REDACTION_TYPE = pa.struct([pa.field("entity", pa.string()), pa.field("count", pa.int32())])
TEXT_SCHEMA = pa.schema(
    [
        pa.field("record_pid", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("user_pid", pa.string(), nullable=False),
        pa.field("conversation_pid", pa.string(), nullable=False),
        pa.field("context", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("turn", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("redactions", pa.list_(REDACTION_TYPE), nullable=False),
        pa.field("redacted_count", pa.int32(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
    ]
)

# The published `events` dataset: one row per key or mouse event, with no absolute time and no text.
EVENTS_DATASET = "events"
EVENTS_SCHEMA = pa.schema(
    [
        pa.field("user_pid", pa.string(), nullable=False),
        pa.field("session_pid", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("app_category", pa.string(), nullable=False),
        pa.field("seq", pa.int32(), nullable=False),
        pa.field("t_ms", pa.int64(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=True),
        pa.field("key_class", pa.string(), nullable=True),
        pa.field("x", pa.float32(), nullable=True),
        pa.field("y", pa.float32(), nullable=True),
        pa.field("button", pa.string(), nullable=True),
        pa.field("split", pa.string(), nullable=False),
    ]
)
DATASET_SCHEMAS = {TEXT_DATASET: TEXT_SCHEMA, EVENTS_DATASET: EVENTS_SCHEMA}

# Staged text parts (private, never published) also keep each utterance's exact time, so that `turn` can be
# numbered over the whole night's conversation once every part is in; the column is dropped before validation.
SAID_AT = pa.field("said_at", pa.timestamp("us", tz="UTC"), nullable=False)
STAGED_SCHEMAS = {TEXT_DATASET: TEXT_SCHEMA.append(SAID_AT), EVENTS_DATASET: EVENTS_SCHEMA}

# Every published shard also carries its night as a column, so readers that do not parse `ds=` folders (Hugging
# Face `datasets`) still see it. Dictionary-encoded as pandas and polars read hive folders, so their partition
# column and the file's agree.
DS_FIELD = pa.field("ds", pa.dictionary(pa.int32(), pa.string()), nullable=False)
PUBLISHED_SCHEMAS = {name: schema.append(DS_FIELD) for name, schema in DATASET_SCHEMAS.items()}


def with_night(table: pa.Table, ds: str) -> pa.Table:
    """`table` with the `ds` column published shards carry."""
    indices = pa.array([0] * table.num_rows, pa.int32())
    return table.append_column(DS_FIELD, pa.DictionaryArray.from_arrays(indices, pa.array([ds], pa.string())))

# Quarantine rows keep the raw line (they are the only place raw values are kept besides the input).
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)
