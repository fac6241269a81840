"""The text path shared by the nightly run, the evaluation and `pipeline.scrub_texts`: detect, then redact.

A text longer than the policy's `nlp.window_chars` (a pasted log, a field typed for hours without Enter) is
detected in windows that overlap by `nlp.window_overlap_chars`: spaCy refuses texts over a million characters
and needs about a gigabyte per hundred thousand. Any value shorter than the overlap lies whole inside one
window, so a secret on a window's edge is still found; the findings of all windows are redacted together.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pipeline.detect import Detector, Finding
from pipeline.detect.propagate import propagate_names
from pipeline.policy import Policy, load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.redact import Redacted, redact_text
from pipeline.roster import Roster
from pipeline.surrogates import Surrogates

_DETECTORS: dict[tuple[str, int], Detector] = {}
SNAP_CHARS = 100  # a window edge moves to a nearby space, so fewer words are cut in two


def detector_for(policy: Policy, roster: Roster) -> Detector:
    """One analyzer per worker process and (policy, roster): loading spaCy and recognizers costs seconds."""
    key = (policy.sha256, hash(roster))
    if key not in _DETECTORS:
        _DETECTORS[key] = Detector(policy, roster)
    return _DETECTORS[key]


def windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) windows of at most `size` characters covering `text`, each starting `overlap` characters
    (less up to 2 * SNAP_CHARS where an edge moves to a space) before the previous one ends."""
    if len(text) <= size:
        return [(0, len(text))]
    snap = min(SNAP_CHARS, overlap // 10)
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, len(text))
        if end < len(text):
            space = text.rfind(" ", end - snap, end)
            end = space if space > start else end
        out.append((start, end))
        if end >= len(text):
            return out
        start = end - overlap
        space = text.find(" ", start, start + snap)
        start = space + 1 if space >= 0 else start


def detect_long(detector: Detector, texts: Sequence[str], size: int, overlap: int) -> list[list[Finding]]:
    """Findings per text, the long ones detected window by window (all windows in one batch)."""
    pieces: list[str] = []
    owners: list[tuple[int, int]] = []  # (text, offset of the piece in it)
    for i, text in enumerate(texts):
        for start, end in windows(text, size, overlap):
            pieces.append(text[start:end])
            owners.append((i, start))
    findings: list[list[Finding]] = [[] for _ in texts]
    for (i, offset), found in zip(owners, detector.detect(pieces), strict=True):
        findings[i].extend(replace(f, start=f.start + offset, end=f.end + offset) if offset else f for f in found)
    for i, text in enumerate(texts):
        if len(text) > size:  # a name found in one window is a name in all of them
            findings[i] = propagate_names(text, findings[i])
    return findings


def scrub_batch(texts: Sequence[str], policy: Policy, roster: Roster, keys: Pseudonymizer) -> list[Redacted]:
    size, overlap = policy.window_chars
    findings = detect_long(detector_for(policy, roster), texts, size, overlap)
    return redact_batch(texts, findings, policy, roster, keys)


def redact_batch(
    texts: Sequence[str], findings: Sequence[list[Finding]], policy: Policy, roster: Roster, keys: Pseudonymizer
) -> list[Redacted]:
    """The policy applied to a batch's findings (text by text: the output never depends on the batch)."""
    surrogates = Surrogates(keys, roster) if policy.uses_surrogates else None
    return [redact_text(t, f, policy, keys, surrogates) for t, f in zip(texts, findings, strict=True)]


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
