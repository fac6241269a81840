"""Apply the policy to findings: each detected span becomes a placeholder, a keyed pseudonym, a surrogate (a
realistic fake value, pipeline/surrogates.py), or nothing.

Overlapping findings are merged first, so no character of any finding survives, and the merged span
takes the entity that matters most (credentials first, then the strongest score, then the longest).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipeline.detect import Finding
from pipeline.policy import Policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.surrogates import Surrogates, seen_values

# Entities that win a merge regardless of score: losing them to a weaker label would weaken the action.
PRIORITY = {"CREDENTIAL": 3, "PERFORMANCE": 2}


@dataclass
class Redacted:
    text: str
    counts: Counter[str] = field(default_factory=Counter)
    drop_row: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)  # redacted (start, end) of the input text


def merge_findings(findings: list[Finding]) -> list[tuple[int, int, Finding]]:
    """Disjoint (start, end, representative finding) clusters covering every finding, left to right."""
    clusters: list[tuple[int, int, list[Finding]]] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.end <= f.start:
            continue
        if clusters and f.start < clusters[-1][1]:
            start, end, members = clusters[-1]
            clusters[-1] = (start, max(end, f.end), members + [f])
        else:
            clusters.append((f.start, f.end, [f]))
    return [(start, end, _representative(members)) for start, end, members in clusters]


def _representative(members: list[Finding]) -> Finding:
    best = max(members, key=lambda f: (PRIORITY.get(f.entity, 0), f.score, f.end - f.start))
    if best.subject is None:
        # A roster match inside a longer NER span still decides whose pseudonym it is.
        subject = next((m.subject for m in members if m.entity == best.entity and m.subject), None)
        if subject:
            best = Finding(best.start, best.end, best.entity, best.score, subject)
    return best


def redact_text(
    text: str, findings: list[Finding], policy: Policy, keys: Pseudonymizer, surrogates: Surrogates | None = None
) -> Redacted:
    """`surrogates` (which knows the key and the roster) is needed when the policy uses the surrogate action;
    without it a surrogate falls back to the typed placeholder. No surrogate equals a value detected in the text."""
    out = Redacted(text=text)
    pieces: list[str] = []
    cursor = 0
    seen = seen_values(text[f.start : f.end] for f in findings) if surrogates is not None else frozenset()
    for start, end, finding in merge_findings(findings):
        action = policy.action_for(finding.entity)
        out.counts[finding.entity] += 1
        out.spans.append((start, end))
        if action == "drop_row":
            out.drop_row = True
        pieces.append(text[cursor:start])
        pieces.append(_replacement(action, finding, text[start:end], keys, surrogates, seen))
        cursor = end
    pieces.append(text[cursor:])
    out.text = "".join(pieces)
    return out


def _replacement(
    action: str, finding: Finding, value: str, keys: Pseudonymizer, surrogates: Surrogates | None, seen: frozenset[str]
) -> str:
    if action == "remove" or action == "drop_row":
        return ""
    if action == "pseudonym":
        subject = finding.subject or " ".join(value.casefold().split())
        return f"<{finding.entity}_{keys.mention(subject)}>"
    if action == "surrogate" and surrogates is not None:
        fake = surrogates.value(finding.entity, finding.subject, value, seen)
        if fake is not None:
            return fake
    return f"<{finding.entity}>"
