"""Load and check the YAML policy: the privacy reviewer's single lever over what leaves the pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ACTIONS = frozenset({"replace", "pseudonym", "remove", "drop_row"})
IRREVERSIBLE_ONLY = frozenset({"CREDENTIAL"})
RECOGNIZER_FAMILIES = (
    "presidio_builtin", "spacy_ner", "names", "roster", "credentials", "performance", "contact", "payment",
    "gate_shapes", "casual_ner",
)
PUBLISH_TARGETS = frozenset({"text", "events", "none"})
KEY_DETAILS = frozenset({"class", "char"})


class PolicyError(ValueError):
    """The policy file is malformed; the message names the offending key, never a data value."""


@dataclass(frozen=True)
class Policy:
    raw: dict[str, Any]
    sha256: str

    @property
    def model(self) -> str:
        return self.raw["nlp"]["model"]

    @property
    def language(self) -> str:
        return self.raw["nlp"].get("language", "en")

    @property
    def score_threshold(self) -> float:
        return float(self.raw["nlp"].get("score_threshold", 0.4))

    @property
    def entities(self) -> dict[str, str]:
        return dict(self.raw["entities"])

    def action_for(self, entity: str) -> str:
        # An entity the policy forgot is still replaced: failing safe beats leaking.
        return self.raw["entities"].get(entity, "replace")

    def recognizer_enabled(self, family: str) -> bool:
        return bool(self.raw["recognizers"].get(family, False))

    @property
    def disabled_recognizers(self) -> frozenset[str]:
        return frozenset(self.raw.get("recognizers_disabled", []))

    @property
    def canaries(self) -> dict[str, Any]:
        defaults = {"per_partition": 12, "min_recall": {"default": 1.0}}
        return defaults | dict(self.raw.get("canaries", {}))

    def canary_threshold(self, label: str) -> float:
        thresholds = self.canaries["min_recall"]
        return float(thresholds.get(label, thresholds.get("default", 1.0)))

    @property
    def phone_regions(self) -> list[str]:
        return list(self.raw.get("phone_regions", ["US"]))

    def source_target(self, source: str) -> tuple[str, str | None]:
        spec = self.raw["sources"].get(source, {"publish": "none", "reason": "source_not_in_policy"})
        return spec["publish"], spec.get("reason")

    @property
    def k_anonymity(self) -> int:
        return int(self.raw.get("report", {}).get("k_anonymity", 10))

    @property
    def events(self) -> dict[str, Any]:
        defaults = {
            "key_detail": "class",
            "time_step_ms": 10,
            "jitter_ms": 0,
            "coordinate_grid": 100,
            "idle_gap_ms": 30_000,
            "app_categories": {},
        }
        return defaults | dict(self.raw.get("events", {}))

    @property
    def output(self) -> dict[str, Any]:
        defaults = {
            "shard_target_rows": 250_000,
            "row_group_rows": 50_000,
            "validation_fraction": 0.1,
            "timestamp_granularity": "minute",
        }
        return defaults | dict(self.raw.get("output", {}))


def default_policy_path() -> Path:
    return Path(str(resources.files("pipeline") / "policies" / "default.yaml"))


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and check a policy file; None means the shipped default."""
    path = Path(path) if path else default_policy_path()
    data = path.read_bytes()
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {path.name} is not valid YAML") from exc
    _check(raw)
    return Policy(raw=raw, sha256=hashlib.sha256(data).hexdigest())


def _check(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise PolicyError("policy must be a mapping")
    for key in ("nlp", "recognizers", "entities", "sources"):
        if not isinstance(raw.get(key), dict):
            raise PolicyError(f"policy needs a '{key}' mapping")
    if "model" not in raw["nlp"]:
        raise PolicyError("policy needs nlp.model")
    for family in raw["recognizers"]:
        if family not in RECOGNIZER_FAMILIES:
            raise PolicyError(f"unknown recognizer family '{family}'")
    for entity, action in raw["entities"].items():
        if action not in ACTIONS:
            raise PolicyError(f"entity {entity}: unknown action '{action}'")
        if entity in IRREVERSIBLE_ONLY and action == "pseudonym":
            raise PolicyError(f"entity {entity} must be removed irreversibly, not pseudonymised")
    events = raw.get("events", {})
    if events.get("key_detail", "class") not in KEY_DETAILS:
        raise PolicyError(f"events.key_detail must be one of {sorted(KEY_DETAILS)}")
    for name in ("time_step_ms", "coordinate_grid", "idle_gap_ms"):
        if name in events and (not isinstance(events[name], int) or events[name] < 1):
            raise PolicyError(f"events.{name} must be a positive integer")
    for source, spec in raw["sources"].items():
        if not isinstance(spec, dict) or spec.get("publish") not in PUBLISH_TARGETS:
            raise PolicyError(f"source {source}: publish must be one of {sorted(PUBLISH_TARGETS)}")
