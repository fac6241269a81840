"""Address blocks made whole: a street found by the address recognizer absorbs the places, postcodes and region
codes that follow it in the same block ("..., Springfield, IL 62704", "..., 75011 Paris, France").

The address recognizer grows a street over the city only when a region, postcode or country confirms it, and it
sees no NER: in "12 Rue Oberkampf, 75011 Paris" spaCy finds "Paris", the recognizer the street, and the postcode
between them was left. Here, after all recognizers ran, a street finding takes in every place finding and
postcode-like token that follows it across commas, spaces and line breaks, until anything else comes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.detect.engine import Finding

ADDRESS = "STREET_ADDRESS"
_PLACES = frozenset({"LOCATION", "POSTAL_CODE", ADDRESS})
# What may stand between two parts of one block: commas, spaces, one line break, a dash.
_BETWEEN = re.compile(r"[ \t]*(?:[,;/–-][ \t]*|\n[ \t]*)?")
# Postcodes and region codes on their own ("62704", "IL", "75011", "SW1A 1AA", "10-950", "1012 AB", "EH1").
_CODE = re.compile(
    r"(?:[A-Z]{2}(?![\w])|\d{4,6}(?:-\d{3,4})?(?![\w-])|\d{2}-\d{3}(?![\w-])|\d{4}\s?[A-Z]{2}(?![\w])"
    r"|[A-Z]{1,2}\d[A-Z\d]?(?:\s?\d[A-Z]{2})?(?![\w]))"
)
_MAX_PARTS = 6


def grow_addresses(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """Each street finding extended over the places and codes that follow it in its block."""
    places = sorted((f for f in findings if f.entity in _PLACES), key=lambda f: f.start)
    grown: list[Finding] = []
    for finding in findings:
        if finding.entity != ADDRESS:
            grown.append(finding)
            continue
        end = finding.end
        for _ in range(_MAX_PARTS):
            gap = _BETWEEN.match(text, end)
            position = gap.end() if gap else end
            following = next((p for p in places if p.start == position and p.end > end), None)
            if following is not None:
                end = following.end
                continue
            code = _CODE.match(text, position)
            if code is None or position == end and text[end : end + 1].isalnum():
                break
            end = code.end()
        grown.append(finding if end == finding.end else replace(finding, end=end))
    return grown
