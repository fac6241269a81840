"""Triggers: a cheap pre-check, derived from each regex, that tells whether it can match a text at all.

`Trigger.of(regex)` reads the regex's syntax tree for two things every match holds: one of a set of short strings
(`literals`: {"password", "passwd", "pwd", ...} for a password cue, {".com", ".org", ...} for a bare URL, {"@"} for
an e-mail shape; None when it finds no useful set) and a number of decimal digits (`digits`: nine for `\\d{9}`).
Literals are lowercase and the text is folded the same way (`fold`), so the check holds whatever the regex's case
flags. Because a trigger is derived from its regex, it stays a superset of the regex's matches when the regex
changes; the tests check that property on generated matches of every pattern the detector uses.

The engine folds each text once, finds every literal of every pattern in one Aho-Corasick pass and counts its digits
(`TriggerIndex.features`); a pattern whose trigger the text lacks cannot match it and is not run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

# The regex syntax tree: `re`'s own parser (Python 3.11's names for the old sre_parse and sre_constants).
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import ahocorasick

Literals = frozenset[str]

# Characters that `re` (and `regex`) match case-insensitively to an ASCII letter although str.lower() does not turn
# them into it: dotted and dotless i, long s, the Kelvin sign. tests/test_triggers.py checks the list is complete.
_ASCII_EQUIVALENTS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
# Set sizes beyond which a node's exact strings are not enumerated ([a-z]{3} has 17,576).
_MAX_EXACT = 4096
_MAX_CLASS = 12


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in _ASCII_EQUIVALENTS:
        return _ASCII_EQUIVALENTS[char]
    digit = unicodedata.decimal(char, None)  # \d matches every decimal digit, "٣" and "３" too
    return str(digit) if digit is not None else char.lower()


def fold(text: str) -> str:
    """The text as literals are written: lowercase, any decimal digit as its ASCII digit, and the few characters
    regexes match case-insensitively to an ASCII letter as that letter. Lengths may change: only presence counts."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


def required_literals(regex: str | re.Pattern[str], flags: int = 0) -> Literals | None:
    """Lowercase strings at least one of which every match of `regex` contains, or None if none were found.

    A set holding a single letter or a space (in nearly every text) is no use as a pre-check and also gives None.
    """
    tree = _parse(regex, flags)
    if tree is None:
        return None
    _, required = _sequence(tree)
    if not required or "" in required or any(map(_weak, required)):
        return None
    return frozenset(required)


# Each node gives (exact, required): `exact` is every string the node can match, when few enough to list (None
# otherwise); `required` is a set of which every match contains one member (None: no such set known).
_Node = tuple[frozenset[str] | None, frozenset[str] | None]
_EMPTY: frozenset[str] = frozenset({""})


def _weak(literal: str) -> bool:
    """A single letter or space: in nearly every text, so no use as a pre-check."""
    return len(literal) == 1 and (literal.isalpha() or literal.isspace())


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two requirements: no weak literal, then the longer shortest string, then fewer
    alternatives."""
    candidates = [x for x in (a, b) if x and "" not in x]
    if not candidates:
        return None
    return max(candidates, key=lambda s: (not any(map(_weak, s)), min(map(len, s)), -len(s)))


def _concat(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None or b is None or len(a) * len(b) > _MAX_EXACT:
        return None
    return frozenset(x + y for x, y in product(a, b))


def _sequence(items: list[tuple[Any, Any]]) -> _Node:
    exact: frozenset[str] | None = _EMPTY  # the whole sequence so far
    run: frozenset[str] | None = _EMPTY  # the listable run of items ending here
    required: frozenset[str] | None = None
    for item in items:
        item_exact, item_required = _node(item)
        required = _better(required, item_required)
        exact = _concat(exact, item_exact)
        run = _concat(run, item_exact) if run is not None else None
        if run is None:
            run = item_exact if item_exact is not None else _EMPTY
        required = _better(required, run)
    return exact, _better(required, exact)


def _node(item: tuple[Any, Any]) -> _Node:
    op, av = item
    if op is sre.LITERAL:
        char = chr(av)
        if not char.isascii() and unicodedata.category(char).startswith("L"):
            return None, None  # case-insensitive matching of non-ASCII letters is beyond fold(); no claim
        folded = frozenset({fold(char)})
        return folded, folded
    if op is sre.IN:
        chars = _class_chars(av)
        return chars, chars
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _EMPTY, None  # zero-width: only narrows the matches
    if op is sre.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _sequence(list(av))
    if op is sre.BRANCH:
        branches = [_sequence(list(b)) for b in av[1]]
        exacts = [e for e, _ in branches]
        requireds = [r for _, r in branches]
        exact = frozenset().union(*exacts) if all(e is not None for e in exacts) else None
        if exact is not None and len(exact) > _MAX_EXACT:
            exact = None
        required = None
        if all(r is not None for r in requireds):
            required = frozenset().union(*requireds)  # type: ignore[arg-type]
        return exact, _better(required, exact)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)):
        low, high, sub = av
        sub_exact, sub_required = _sequence(list(sub))
        exact = None
        if high is not sre.MAXREPEAT and high <= 4 and sub_exact is not None:
            options: set[str] = set()
            for count in range(low, high + 1):
                part: frozenset[str] | None = _EMPTY
                for _ in range(count):
                    part = _concat(part, sub_exact)
                if part is None:
                    options = set()
                    break
                options |= part
            exact = frozenset(options) if options and len(options) <= _MAX_EXACT else None
        required = sub_required if low >= 1 else None
        if low >= 1 and sub_exact is not None and "" not in sub_exact:
            required = _better(required, sub_exact)
        return exact, required
    return None, None  # ANY, NOT_LITERAL, back references, conditionals: anything may match


def _class_chars(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """The folded characters a small character class matches; None for big, negated or category classes."""
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            char = chr(av)
            if not char.isascii() and unicodedata.category(char).startswith("L"):
                return None
            chars.add(fold(char))
        elif op is sre.RANGE:
            low, high = av
            if high - low >= _MAX_CLASS or not (chr(low).isascii() and chr(high).isascii()):
                return None
            chars.update(fold(chr(c)) for c in range(low, high + 1))
        elif op is sre.CATEGORY and av is sre.CATEGORY_DIGIT:
            chars.update("0123456789")  # fold() turns every decimal digit into one of these
        else:
            return None
        if len(chars) > _MAX_CLASS:
            return None
    return frozenset(chars)


def _min_digits(items: list[tuple[Any, Any]]) -> int:
    """The fewest decimal digits any match of a sequence of regex nodes holds."""
    return sum(_node_digits(item) for item in items)


def _node_digits(item: tuple[Any, Any]) -> int:
    op, av = item
    if op is sre.LITERAL:
        return 1 if chr(av).isdecimal() else 0
    if op is sre.IN:
        chars = _class_chars(av)
        return 1 if chars and all(c.isdecimal() for c in chars) else 0
    if op is sre.SUBPATTERN:
        return _min_digits(list(av[-1]))
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _min_digits(list(av))
    if op is sre.BRANCH:
        return min(_min_digits(list(branch)) for branch in av[1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)):
        low, _, sub = av
        return low * _min_digits(list(sub))
    return 0


def _parse(regex: str | re.Pattern[str], flags: int) -> list[tuple[Any, Any]] | None:
    source, flags = (regex.pattern, regex.flags) if isinstance(regex, re.Pattern) else (regex, flags)
    try:
        return list(sre_parse.parse(source, flags & ~re.DEBUG))
    except (re.error, TypeError, ValueError, OverflowError, RecursionError):
        return None  # syntax `re` does not know (the `regex` module's): no pre-check


@dataclass(frozen=True)
class TextFeatures:
    """What the pre-checks read of one text: the trigger literals it holds and how many decimal digits."""

    literals: frozenset[str]
    digits: int


@dataclass(frozen=True)
class Trigger:
    """What every match of a regex holds: one of `literals` (None: no known set) and at least `digits` digits."""

    literals: Literals | None = None
    digits: int = 0

    @classmethod
    def of(cls, regex: str | re.Pattern[str], flags: int = 0) -> Trigger:
        tree = _parse(regex, flags)
        if tree is None:
            return cls()
        return cls(required_literals(regex, flags), _min_digits(tree))

    @classmethod
    def any_of(cls, triggers: Iterable[Trigger]) -> Trigger:
        """The trigger of several regexes together: a text may match one of them."""
        triggers = list(triggers)
        if not triggers:
            return cls()
        literal_sets = [t.literals for t in triggers]
        literals = None if any(s is None for s in literal_sets) else frozenset().union(*literal_sets)  # type: ignore
        return cls(literals, min(t.digits for t in triggers))

    @property
    def always(self) -> bool:
        return self.literals is None and self.digits == 0

    def may_match(self, features: TextFeatures | None) -> bool:
        """Whether a text with these features can hold a match (None: the text was not scanned, so it may)."""
        if features is None:
            return True
        if features.digits < self.digits:
            return False
        return self.literals is None or not self.literals.isdisjoint(features.literals)


class TriggerIndex:
    """Every trigger literal of a detector in one Aho-Corasick automaton: `features(text)` is one pass per text."""

    def __init__(self, triggers: Iterable[Trigger]) -> None:
        self._automaton = ahocorasick.Automaton()
        for literal in sorted({lit for t in triggers if t.literals for lit in t.literals}):
            self._automaton.add_word(literal, literal)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def features(self, text: str) -> TextFeatures:
        folded = fold(text)
        digits = sum(map(folded.count, "0123456789"))
        if self._empty:
            return TextFeatures(frozenset(), digits)
        return TextFeatures(frozenset(literal for _, literal in self._automaton.iter(folded)), digits)
