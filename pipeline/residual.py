"""An independent second look at what is about to be published: simple patterns plus the roster.

It shares no code with pipeline/detect, so a bug there cannot hide its own misses here. Any hit fails
the night. Only counts per kind leave this module.

Two ranges hold no one's contact and are not counted, so surrogates (pipeline/surrogates.py, which this module
does not import) pass: e-mail at example.com, example.net and example.org (RFC 2606) unless a part of its local
name is a roster name, and US numbers 555-0100 to 555-0199 (fictional by the NANP).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pipeline.roster import Roster

PATTERNS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]*[a-z]{2,}", re.IGNORECASE),
    "phone": re.compile(r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w.])"),
    "card": re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"),
    "ssn": re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"),
    "api_key": re.compile(
        r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{10,}"
        r"|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20})"
    ),
    "private_key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
_WORD = re.compile(r"[^\W_]+(?:['.-][^\W_]+)*")
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
_LOCAL_PARTS = re.compile(r"[._+-]+")


def roster_name_parts(roster: Roster) -> set[str]:
    """Every casefolded part of a colleague's names, handle and e-mail local name."""
    parts: set[str] = set()
    for e in roster.employees:
        for value in (e.full_name, e.preferred_name, e.handle, (e.email or "").split("@", 1)[0]):
            if value:
                folded = value.casefold().lstrip("@")
                parts.add(folded)
                parts.update(p for p in re.split(r"[\s'._+-]+", re.sub(r"\d+", " ", folded)) if p)
    return parts


def _counted_email(address: str, parts: set[str]) -> bool:
    local, _, domain = address.casefold().rpartition("@")
    if domain not in RESERVED_DOMAINS:
        return True
    tokens = {t for t in _LOCAL_PARTS.split(re.sub(r"\d+", " ", local).replace(" ", ".")) if t}
    return bool(tokens & parts) or local in parts


def _counted_phone(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    national = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    return not (len(national) == 10 and national[3:8] == "55501")


def roster_forms(roster: Roster) -> set[str]:
    """Forms that name exactly one colleague on their own: full names, e-mails and @handles."""
    forms = set()
    for e in roster.employees:
        forms.add(" ".join(e.full_name.casefold().split()))
        if e.email:
            forms.add(e.email.casefold())
        if e.handle:
            forms.add("@" + e.handle.lstrip("@").casefold())
    return forms


def scan(texts: Iterable[str], roster: Roster) -> dict[str, int]:
    """Hits per kind over published texts; an empty dict means clean."""
    forms = roster_forms(roster)
    parts = roster_name_parts(roster)
    longest = max((len(f.split()) for f in forms), default=0)
    hits: Counter[str] = Counter()
    for text in texts:
        if not text:
            continue
        for kind, pattern in PATTERNS.items():
            found = pattern.findall(text)
            if kind == "email":
                found = [m for m in found if _counted_email(m, parts)]
            elif kind == "phone":
                found = [m for m in found if _counted_phone(m)]
            hits[kind] += len(found)
        if forms:
            hits["roster"] += _roster_hits(text, forms, longest)
    return {k: v for k, v in hits.items() if v}


def _roster_hits(text: str, forms: set[str], longest: int) -> int:
    folded = text.casefold()
    found = sum(1 for token in re.findall(r"@[\w.-]+|[\w.+-]+@[\w.-]+", folded) if token.rstrip(".") in forms)
    words = _WORD.findall(folded)
    for n in range(2, longest + 1):
        found += sum(1 for i in range(len(words) - n + 1) if " ".join(words[i : i + n]) in forms)
    return found
