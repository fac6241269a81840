"""The rule families' vocabularies as data: the lexicon files a reviewer reads, the regex alternation built from a
word list, and the clause around a value in which a rule looks for its cue words."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml


@functools.cache
def load_lexicon(name: str) -> dict[str, Any]:
    """A vocabulary file of pipeline/detect/lexicons/, as a reviewer reads it."""
    path = resources.files("pipeline.detect").joinpath("lexicons", name)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alternation(entries: Iterable[str], plural: bool = False) -> str:
    """Regex alternation of entries, longest first, words joined by any run of spaces (and an optional plural)."""
    tail = r"(?:s|es)?" if plural else ""
    ordered = sorted({str(e) for e in entries}, key=len, reverse=True)
    return "(?:" + "|".join(r"\s+".join(map(re.escape, e.split())) + tail for e in ordered) + ")"


def clause_parts(
    text: str, start: int, end: int, before: int, after: int, breaks: re.Pattern[str]
) -> tuple[str, str]:
    """The value's clause, as the text within `before` characters ahead of it and `after` behind it, each cut at
    the nearest clause break."""
    ahead = text[max(0, start - before) : start]
    found = list(breaks.finditer(ahead))
    if found:
        ahead = ahead[found[-1].end() :]
    behind = text[end : end + after]
    stop = breaks.search(behind)
    return ahead, behind[: stop.start()] if stop else behind
