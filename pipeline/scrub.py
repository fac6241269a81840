"""The text path shared by the nightly run, the evaluation and `pipeline.scrub_texts`: detect, then redact."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from pipeline.detect import Detector
from pipeline.policy import Policy, load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.redact import Redacted, redact_text
from pipeline.roster import Roster

_DETECTORS: dict[tuple[str, int], Detector] = {}


def detector_for(policy: Policy, roster: Roster) -> Detector:
    """One analyzer per worker process and (policy, roster): loading spaCy and recognizers costs seconds."""
    key = (policy.sha256, hash(roster))
    if key not in _DETECTORS:
        _DETECTORS[key] = Detector(policy, roster)
    return _DETECTORS[key]


def scrub_batch(texts: Sequence[str], policy: Policy, roster: Roster, keys: Pseudonymizer) -> list[Redacted]:
    findings = detector_for(policy, roster).detect(texts)
    return [redact_text(t, f, policy, keys) for t, f in zip(texts, findings, strict=True)]


def scrub_texts(
    texts: Sequence[str],
    roster: Roster | str | Path | None = None,
    policy: Policy | str | Path | None = None,
) -> list[str]:
    """Scrub texts exactly as the nightly run does. Pseudonyms use a throwaway key, so they are only
    consistent within one call; rows the policy would drop come back as empty strings."""
    from pipeline.read import read_roster

    if not isinstance(roster, Roster):
        roster = read_roster(roster) if roster else Roster()
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    keys = Pseudonymizer(secrets.token_bytes(32))
    return ["" if r.drop_row else r.text for r in scrub_batch(list(texts), policy, roster, keys)]
