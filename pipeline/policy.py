"""Load and check the YAML policy: the privacy reviewer's single lever over what leaves the pipeline.

The policy is checked against a strict schema (pydantic models below): an unknown key, an unknown entity, a
value of the wrong type or out of range stops the run with the key's path (`entities.EMAIL_ADRESS: unknown
entity`), because a typo that is silently ignored leaves a protection off. To add a setting, add one field to
its section's model; to add an entity, action or recognizer family, add one line to the vocabulary below.
Other modules read the policy through `Policy`'s properties, never through the YAML's structure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from pipeline.contracts import SOURCES
from pipeline.errors import UserError
from pipeline.timing import TIMING_FORMS

# --- vocabulary: everything a policy may name, one line each -------------------------------------------------

ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "LOCATION",
    "STREET_ADDRESS",
    "POSTAL_CODE",
    "DATE_OF_BIRTH",
    "EMPLOYEE_ID",
    "HOSTNAME",
    "CREDENTIAL",
    "PERFORMANCE",
    "US_BANK_NUMBER",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "US_ITIN",
    "UK_NHS",
    "CRYPTO",
    "MEDICAL_LICENSE",
    "LONG_NUMBER",
    # issue 11: identifiers of other countries, and bank details beyond the IBAN (pipeline/detect/identifiers.py)
    "NATIONAL_ID",
    "BANK_ACCOUNT",
    # special categories of personal data disclosed in conversation (pipeline/detect/disclosures.py)
    "HEALTH",
    "PRIVATE",
)
ACTIONS = ("replace", "pseudonym", "surrogate", "remove", "drop_row")
IRREVERSIBLE_ONLY = frozenset({"CREDENTIAL"})  # entities that may never be pseudonymised
SURROGATE_ENTITIES = frozenset({"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"})  # those pipeline/surrogates.py can fake
RECOGNIZER_FAMILIES = (
    "presidio_builtin",
    "spacy_ner",
    "names",
    "roster",
    "credentials",
    "performance",
    "contact",
    "payment",
    "gate_shapes",
    "casual_ner",
    "identifiers",  # issue 11
    "disclosures",
    "health",  # issue 12: named conditions and treatments tied to a person
    "private_life",  # issue 12: disclosing phrases of private life tied to a person
)
CANARY_LABELS = (
    "CREDENTIAL", "API_KEY", "EMAIL", "PHONE", "CARD", "SSN", "ROSTER_NAME", "PERFORMANCE", "TYPED_SECRET",
    "HEALTH", "PRIVATE",
)
PUBLISH_TARGETS = ("text", "events", "none")
KEY_DETAILS = ("class", "char")
TIMESTAMP_GRANULARITIES = ("minute", "hour", "day")
RELEASES = ("immediately", "on_signoff")  # when a committed night becomes visible to readers


class PolicyError(UserError, ValueError):
    """The policy file is malformed; the message names the offending key, never a data value."""


# --- schema ---------------------------------------------------------------------------------------------------


def _one_of(names: tuple[str, ...], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"unknown {what}")
        return value

    return check


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _mode(value: str) -> int:
    """An octal mode as a quoted string ("0640"), so YAML cannot read it as a decimal or octal number."""
    if not (isinstance(value, str) and 3 <= len(value) <= 4 and all(c in "01234567" for c in value)):
        raise ValueError('must be an octal mode in quotes, such as "0640"')
    mode = int(value, 8)
    if mode & 0o7002:
        raise ValueError("must not be writable by others or carry setuid/setgid/sticky bits")
    return mode


Entity = Annotated[str, AfterValidator(_one_of(ENTITIES, "entity"))]
Family = Annotated[str, AfterValidator(_one_of(RECOGNIZER_FAMILIES, "recognizer family"))]
Source = Annotated[str, AfterValidator(_one_of(tuple(SOURCES), "source"))]
CanaryLabel = Annotated[str, AfterValidator(_one_of(("default", *CANARY_LABELS), "canary label"))]
Strings = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]
Positive = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Mode = Annotated[int, BeforeValidator(_mode)]
Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Section(BaseModel):
    """A policy section: unknown keys and values of the wrong type are refused; settings never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Nlp(Section):
    model: str
    language: str = "en"
    score_threshold: Share = 0.4
    pipes_disabled: Strings = ()
    pipes_on_demand: Strings = ()
    casual_model: str = "person_social"
    disclosure_model: str = "disclosures"
    # Texts longer than this are scrubbed in windows that overlap by window_overlap_chars, so a value on an
    # edge is whole in one of them (spaCy refuses texts over 1,000,000 characters, and needs ~1 GB per 100,000).
    window_chars: Annotated[int, Field(ge=1_000, le=1_000_000)] = 100_000
    window_overlap_chars: Annotated[int, Field(ge=0)] = 5_000

    @model_validator(mode="after")
    def _overlap_fits(self) -> Nlp:
        if self.window_overlap_chars * 2 > self.window_chars:
            raise ValueError("window_overlap_chars must be at most half of window_chars")
        return self


class SourceSpec(Section):
    publish: Literal[PUBLISH_TARGETS]
    reason: str | None = None


class Events(Section):
    key_detail: Literal[KEY_DETAILS] = "class"
    time_step_ms: Positive = 10
    jitter_ms: Annotated[int, Field(ge=0)] = 0
    # What a gap shorter than pause_ms becomes (pipeline/timing.py); longer gaps are rounded to pause_step_ms.
    timing: Literal[TIMING_FORMS] = "population"
    pause_ms: Positive = 1_000
    pause_step_ms: Positive = 1_000
    # population_banded: bounds of the speed bands, by a session's mean gap shorter than pause_ms
    speed_bands_ms: list[Positive] = Field(default_factory=lambda: [115, 135])
    coordinate_grid: Positive = 100
    idle_gap_ms: Positive = 30_000
    app_categories: dict[Category, Strings] = Field(default_factory=dict)


class Reid(Section):
    """The re-identification gate (pipeline/reid.py): the night fails when an attack picks the right typist
    for more than max_top1_over_chance times chance, measured once enough typists and sessions are there."""

    max_top1_over_chance: Annotated[float, Field(ge=1.0)] = 2.0
    # ...and only when so many hits are this unlikely by guessing (a small night at chance may be lucky).
    significance: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-6
    min_users: Annotated[int, Field(ge=2)] = 5
    min_sessions_per_user: Annotated[int, Field(ge=2)] = 2
    min_keys_per_session: Positive = 20
    min_moves_per_session: Positive = 20


class Canaries(Section):
    per_class: Annotated[int, Field(ge=0)] = 20  # a night's canaries of each class, over all its partitions
    min_recall: dict[CanaryLabel, Share] = Field(default_factory=lambda: {"default": 1.0})


class Report(Section):
    k_anonymity: Positive = 10
    # Published text rows (scrubbed, past every gate) shown in the report for the reviewer to read; 0: none.
    sample_rows: Annotated[int, Field(ge=0, le=200)] = 20


class Output(Section):
    shard_target_rows: Positive = 250_000
    row_group_rows: Positive = 50_000
    # Shares of users (not rows) drawn into each split by a keyed hash of user_pid; the rest is train.
    validation_fraction: Share = 0.1
    test_fraction: Share = 0.1
    # A split with fewer distinct users than this in a night gets a note in the report.
    min_split_users: Positive = 5
    timestamp_granularity: Literal[TIMESTAMP_GRANULARITIES] = "minute"
    # Modes of the published tree (files and folders under the clean root); everything else is 0600/0700.
    file_mode: Mode = 0o640
    dir_mode: Mode = 0o750
    # on_signoff: a committed night stays invisible to readers until a reviewer approves it (pipeline/signoff.py).
    publish: Literal[RELEASES] = "immediately"

    @model_validator(mode="after")
    def _owner_can_use(self) -> Output:
        if self.file_mode & 0o600 != 0o600 or self.dir_mode & 0o700 != 0o700:
            raise ValueError("file_mode must let the owner read and write, dir_mode read, write and enter")
        return self

    @model_validator(mode="after")
    def _train_is_left(self) -> Output:
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ValueError("validation_fraction + test_fraction must be below 1, leaving users for train")
        return self


class Run(Section):
    batch_rows: Positive = 20_000
    # Raw files per chunk of a text partition: each chunk is one mapped scrub task (one worker). Never changes the output.
    chunk_files: Positive = 16


class Retention(Section):
    """Days to keep raw and quarantine partitions after their night was published (null: keep them)."""

    raw_days: Positive | None = None
    quarantine_days: Positive | None = None


class PolicyModel(Section):
    version: Literal[1] = 1
    nlp: Nlp
    recognizers: dict[Family, bool]
    recognizers_disabled: Strings = ()
    phone_regions: Strings = ("US",)
    entities: dict[Entity, Literal[ACTIONS]]
    sources: dict[Source, SourceSpec]
    events: Events = Events()
    reid: Reid = Reid()
    canaries: Canaries = Canaries()
    report: Report = Report()
    output: Output = Output()
    run: Run = Run()
    retention: Retention = Retention()

    @model_validator(mode="after")
    def _irreversible(self) -> PolicyModel:
        for entity in sorted(IRREVERSIBLE_ONLY):
            if self.entities.get(entity) == "pseudonym":
                raise ValueError(f"entities.{entity}: must be removed irreversibly, not pseudonymised")
        return self

    @model_validator(mode="after")
    def _surrogates_exist(self) -> PolicyModel:
        for entity, action in sorted(self.entities.items()):
            if action == "surrogate" and entity not in SURROGATE_ENTITIES:
                raise ValueError(f"entities.{entity}: surrogate is only for {', '.join(sorted(SURROGATE_ENTITIES))}")
        return self


def check_policy(raw: Any) -> PolicyModel:
    """The policy's settings, or a PolicyError naming every broken key by its path."""
    if not isinstance(raw, Mapping):
        raise PolicyError("policy must be a mapping")
    try:
        return PolicyModel.model_validate(dict(raw))
    except ValidationError as exc:
        raise PolicyError("; ".join(_problem(e) for e in exc.errors())) from None


_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required",
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
}


def _problem(error: Mapping[str, Any]) -> str:
    """'path.to.key: what is wrong', from one pydantic error; the input value is never quoted."""
    path = ".".join(str(part) for part in error["loc"] if part != "[key]")
    message = _MESSAGES.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be").replace("String should match pattern", "must match")
    return f"{path}: {message}" if path else message


# --- the policy as other modules see it -------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A checked policy. `raw` is the YAML as read (its sha256 goes into manifests); everything else reads the
    checked settings through the properties, with defaults filled in."""

    raw: dict[str, Any]
    sha256: str
    settings: PolicyModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", check_policy(self.raw))

    @property
    def model(self) -> str:
        return self.settings.nlp.model

    @property
    def language(self) -> str:
        return self.settings.nlp.language

    @property
    def score_threshold(self) -> float:
        return self.settings.nlp.score_threshold

    @property
    def window_chars(self) -> tuple[int, int]:
        """(window, overlap) in characters for texts too long to scrub in one piece."""
        return self.settings.nlp.window_chars, self.settings.nlp.window_overlap_chars

    @property
    def entities(self) -> dict[str, str]:
        return dict(self.settings.entities)

    @property
    def uses_surrogates(self) -> bool:
        return "surrogate" in self.settings.entities.values()

    def action_for(self, entity: str) -> str:
        # An entity the policy forgot is still replaced: failing safe beats leaking.
        return self.settings.entities.get(entity, "replace")

    def recognizer_enabled(self, family: str) -> bool:
        return self.settings.recognizers.get(family, False)

    @property
    def disabled_recognizers(self) -> frozenset[str]:
        return frozenset(self.settings.recognizers_disabled)

    @property
    def canaries(self) -> dict[str, Any]:
        return self.settings.canaries.model_dump()

    def canary_threshold(self, label: str) -> float:
        thresholds = self.settings.canaries.min_recall
        return thresholds.get(label, thresholds.get("default", 1.0))

    @property
    def phone_regions(self) -> list[str]:
        return list(self.settings.phone_regions)

    def source_target(self, source: str) -> tuple[str, str | None]:
        spec = self.settings.sources.get(source)
        return (spec.publish, spec.reason) if spec else ("none", "source_not_in_policy")

    @property
    def k_anonymity(self) -> int:
        return self.settings.report.k_anonymity

    @property
    def sample_rows(self) -> int:
        return self.settings.report.sample_rows

    @property
    def events(self) -> dict[str, Any]:
        settings = self.settings.events.model_dump()
        settings["app_categories"] = {k: list(v) for k, v in settings["app_categories"].items()}
        return settings

    @property
    def reid(self) -> Reid:
        return self.settings.reid

    @property
    def output(self) -> dict[str, Any]:
        return self.settings.output.model_dump()

    @property
    def split_fractions(self) -> tuple[float, float]:
        """(validation, test) shares of users (`output.validation_fraction`, `output.test_fraction`)."""
        return self.settings.output.validation_fraction, self.settings.output.test_fraction

    @property
    def batch_rows(self) -> int:
        """Rows per batch of a streamed text partition (`run.batch_rows`); it never changes the output."""
        return self.settings.run.batch_rows

    @property
    def chunk_files(self) -> int:
        """Raw files per chunk of a text partition (`run.chunk_files`); it never changes the output."""
        return self.settings.run.chunk_files

    @property
    def retention(self) -> Retention:
        return self.settings.retention


def default_policy_path() -> Path:
    return Path(str(resources.files("pipeline") / "policies" / "default.yaml"))


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and check a policy file; None means the shipped default."""
    path = Path(path) if path else default_policy_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise PolicyError(f"policy {path.name} is not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"policy {path.name}: must be a mapping of sections")
    try:
        return Policy(raw=raw, sha256=hashlib.sha256(data).hexdigest())
    except PolicyError as exc:
        raise PolicyError(f"policy {path.name}: {exc}") from None
