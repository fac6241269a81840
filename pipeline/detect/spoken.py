"""Spoken forms: a written shadow of a transcript, so the shape recognizers find numbers read out as words.

Meeting transcripts write what was said: "four two seven two eight one ...", "double two", "oh", "one nine two
dot one six eight dot ...", "the third of May nineteen eighty four", "anna dot berg at example dot com". The card,
phone, IP, e-mail, date and id recognizers look for digits and symbols, so they see none of it. `shadow(text)`
writes such runs the way they would be typed ("4272...", "22", "0", "192.168...", "3rd of May 1984",
"anna.berg@example.com") and keeps, for every character of the shadow, the span of the original it came from; the
engine runs the recognizers that opt in (`registry.spoken_forms`) on the shadow and maps what they find back onto
the words that were spoken, so the redaction covers "four two seven two ..." in the original text.

Only runs that say a number are rewritten: two or more number words in a row (fillers such as "uh" and commas
between them allowed), "double"/"triple" before a digit, "dot"/"dash"/"slash" between two such runs, an ordinal next
to a month name, a digit word spoken after a letter id ("E four four one two"), and e-mail addresses spoken with
"at" and "dot" before a known top-level domain. A lone "one" or "oh" stays as it is. English number words always;
French, German and Spanish digit names ("quatre", "vier", "cuatro") only in runs of four or more, since several of
them are English words or abbreviations on their own ("six", "sept", "un").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- the vocabulary --------------------------------------------------------------------------------------------

_EN_DIGITS = {
    "zero": 0, "oh": 0, "nought": 0, "naught": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}
_EN_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
# Digit names of other languages; several are English words too, so they count only in long runs.
_FOREIGN_DIGITS = {
    # French
    "zéro": 0, "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9,
    # German
    "null": 0, "eins": 1, "zwei": 2, "zwo": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9,
    # Spanish
    "cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9,
}
_FOREIGN_MIN_RUN = 4
_REPEATS = {"double": 2, "triple": 3, "treble": 3, "quadruple": 4}
_FILLERS = frozenset("uh um er erm uhm ah hmm mm".split())
# Symbols said between two spoken numbers ("one nine two dot one six eight", "oh five slash twelve").
_SYMBOLS = {"dot": ".", "point": ".", "dash": "-", "hyphen": "-", "slash": "/", "colon": ":"}
_MONTHS = frozenset(
    "january february march april may june july august september october november december jan feb mar apr jun jul"
    " aug sep sept oct nov dec".split()
)
_TLDS = frozenset(
    "com org net io co uk de fr es it nl be ch at se no dk fi pl pt br mx ar jp cn in au nz ca us eu edu gov mil"
    " info biz me ai dev app tech cloud email mail".split()
)
# Words said before "at" that are not the local part of an address ("write to me at ...").
_NOT_LOCAL = frozenset("me us him her them you it is are was were here there or and to mail email reach".split())

_WORD = re.compile(r"[^\W\d_]+|\d+")
_NUMBER_WORDS = (
    set(_EN_DIGITS) | set(_EN_TEENS) | set(_EN_TENS) | set(_REPEATS) | {"hundred", "thousand"} | set(_FOREIGN_DIGITS)
)
# What a text must hold for any rewrite: two number words in a row, or a spoken " at ... dot ".
_GATE = re.compile(
    r"(?i)\b(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b[\s,.-]{1,4}(?:(?:uh|um|er)[\s,]+)?"
    r"\b(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b|\bat\s.{1,60}?\bdot\s|\bdot\b|"
    r"\w\s+at\s+[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b|"
    r"\b(?:" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + r")\b"
)


@dataclass(frozen=True)
class Shadow:
    """The written form of a text and, for each of its characters, the original span it stands for."""

    text: str
    origin_start: tuple[int, ...]
    origin_end: tuple[int, ...]
    changed: tuple[tuple[int, int], ...]  # shadow spans that differ from the original

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span a shadow span [start, end) stands for."""
        return self.origin_start[start], self.origin_end[end - 1]

    def touches_change(self, start: int, end: int) -> bool:
        """Whether a shadow span overlaps a rewritten part (else the original text already held it)."""
        return any(start < c_end and c_start < end for c_start, c_end in self.changed)


@dataclass
class _Token:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()


def shadows(text: str) -> list[Shadow]:
    """The text's written shadows: digits run together ("4111111111111111", what card and id shapes want) and, when
    the speaker paused between groups, digits in those groups ("202 555 0143", what phone shapes want)."""
    joined = shadow(text)
    if joined is None:
        return []
    grouped = shadow(text, grouped=True)
    return [joined] if grouped is None or grouped.text == joined.text else [joined, grouped]


_LETTERS = re.compile(r"[^\W\d_]+")
_GATE_WORDS = frozenset(_NUMBER_WORDS | set(_ORDINALS) | {"at", "dot"})


def shadow(text: str, grouped: bool = False) -> Shadow | None:
    """The text with its spoken numbers, symbols and e-mail addresses written out, or None when it has none; with
    `grouped`, a comma or a dash between two spoken groups of digits stays as a space or a dash."""
    if _GATE_WORDS.isdisjoint(_LETTERS.findall(text.lower())) or not _GATE.search(text):
        return None  # the word set first: most texts hold none of these words, and it is cheaper than _GATE
    tokens = [_Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    edits = _email_edits(text, tokens)
    taken: set[int] = set()
    for (first, last), _ in edits:
        taken.update(range(first, last + 1))
    edits += _number_edits(text, tokens, taken, grouped)
    if not edits:
        return None
    return _apply(text, tokens, edits)


# An edit replaces the original characters from token `first`'s start to token `last`'s end with pieces, each
# a (written text, original start, original end) triple, so that parts of a run map to the words they came from.
_Piece = tuple[str, int, int]
_Edit = tuple[tuple[int, int], list[_Piece]]


def _apply(text: str, tokens: list[_Token], edits: list[_Edit]) -> Shadow:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    changed: list[tuple[int, int]] = []
    position = 0
    for (first, last), pieces in sorted(edits, key=lambda e: e[0]):
        lo, hi = tokens[first].start, tokens[last].end
        for i in range(position, lo):
            out.append(text[i])
            starts.append(i)
            ends.append(i + 1)
        begin = len(out)
        for written, p_start, p_end in pieces:
            out.extend(written)
            starts.extend([p_start] * len(written))
            ends.extend([p_end] * len(written))
        changed.append((begin, len(out)))
        position = hi
    for i in range(position, len(text)):
        out.append(text[i])
        starts.append(i)
        ends.append(i + 1)
    return Shadow("".join(out), tuple(starts), tuple(ends), tuple(changed))


# --- e-mail addresses ------------------------------------------------------------------------------------------

_EMAIL_SEPARATORS = {"dot": ".", "period": ".", "point": ".", "underscore": "_", "dash": "-", "hyphen": "-"}


def _email_edits(text: str, tokens: list[_Token]) -> list[_Edit]:
    """`local (dot|underscore|dash local)* at host (dot host)* dot tld`, with only spaces between the words; a word
    may be written joined ("maria.lopez at acme dot com", "acme-corp")."""
    words: list[_Token] = []
    first_token: list[int] = []
    for index, token in enumerate(tokens):
        if words and text[words[-1].end : token.start] in ("", ".", "_", "-", "+"):
            words[-1] = _Token(text[words[-1].start : token.end], words[-1].start, token.end)
        else:
            words.append(token)
            first_token.append(index)
    last_token = [nxt - 1 for nxt in first_token[1:]] + [len(tokens) - 1]
    return [
        ((first_token[first], last_token[last]), pieces) for (first, last), pieces in _email_word_edits(text, words)
    ]


def _email_word_edits(text: str, tokens: list[_Token]) -> list[_Edit]:
    edits: list[_Edit] = []
    i = 0
    while i < len(tokens):
        if tokens[i].low != "at" or i == 0:
            i += 1
            continue
        after_at = i + 2 if i + 1 < len(tokens) and tokens[i + 1].low in ("sign", "symbol") else i + 1
        domain_end = _spoken_chain(text, tokens, after_at, forward=True)
        local_start = _spoken_chain(text, tokens, i - 1, forward=False)
        if domain_end is None or local_start is None:
            i += 1
            continue
        local_start = _with_spoken_digits(text, tokens, local_start)
        if tokens[local_start].low in _NOT_LOCAL and local_start == i - 1:
            i += 1
            continue
        pieces: list[_Piece] = []
        for j in range(local_start, domain_end + 1):
            token = tokens[j]
            if j == i:
                written = "@"
            elif i < j < after_at:
                written = ""
            elif j < i and token.low in _EN_DIGITS and token.low != "oh":
                written = str(_EN_DIGITS[token.low])
            elif token.low in _EMAIL_SEPARATORS and local_start < j < domain_end:
                written = _EMAIL_SEPARATORS[token.low]
            else:
                written = token.text.lower()
            pieces.append((written, token.start, token.end))
        edits.append(((local_start, domain_end), pieces))
        i = domain_end + 1
    return edits


def _with_spoken_digits(text: str, tokens: list[_Token], start: int) -> int:
    """Grow a local part back over digits said before it and the name before them ("john two three at ...")."""
    at = start
    while at > 0 and tokens[at - 1].low in _EN_DIGITS and _joined_by_space(text, tokens[at - 1], tokens[at]):
        at -= 1
    if at < start and at > 0 and tokens[at - 1].text.isalpha() and tokens[at - 1].low not in _NOT_LOCAL:
        if _joined_by_space(text, tokens[at - 1], tokens[at]):
            at -= 1
    return at


def _joined_by_space(text: str, left: _Token, right: _Token) -> bool:
    gap = text[left.end : right.start]
    return 0 < len(gap) <= 3 and gap.strip(" ") == ""


def _spoken_chain(text: str, tokens: list[_Token], index: int, forward: bool) -> int | None:
    """From `index`, the last (forward) or first (backward) token of `word (sep word)*`; forward, the chain must
    hold a spoken "dot" and end on a top-level domain."""
    if not 0 <= index < len(tokens) or tokens[index].low in _EMAIL_SEPARATORS:
        return None
    step = 1 if forward else -1
    at = index
    saw_dot = False
    while True:
        sep, word = at + step, at + 2 * step
        if not (0 <= word < len(tokens)) or tokens[sep].low not in _EMAIL_SEPARATORS:
            break
        pair = (tokens[at], tokens[sep], tokens[word]) if forward else (tokens[word], tokens[sep], tokens[at])
        if not (_joined_by_space(text, pair[0], pair[1]) and _joined_by_space(text, pair[1], pair[2])):
            break
        if tokens[word].low in _EMAIL_SEPARATORS:
            break
        saw_dot = saw_dot or _EMAIL_SEPARATORS[tokens[sep].low] == "."
        at = word
    if forward and not (saw_dot and tokens[at].low in _TLDS or "." in tokens[at].text and _known_tld(tokens[at].low)):
        return None
    return at


def _known_tld(word: str) -> bool:
    """A host written with its dots ("kofi at acme.com"): its last label is a known top-level domain."""
    return word.rsplit(".", 1)[-1] in _TLDS


# --- numbers ---------------------------------------------------------------------------------------------------


def _number_edits(text: str, tokens: list[_Token], taken: set[int], grouped: bool) -> list[_Edit]:
    edits: list[_Edit] = []
    i = 0
    while i < len(tokens):
        if i in taken:
            i += 1
            continue
        ordinal = _ordinal_edit(tokens, i, text)
        if ordinal is not None:
            edits.append(ordinal)
            i = ordinal[0][1] + 1
            continue
        run = _number_run(text, tokens, i, taken, grouped)
        if run is None:
            i += 1
            continue
        (first, last), pieces = run
        if first > 0 and tokens[first - 1].low == "plus" and first - 1 not in taken and not edits_end_at(edits, first - 1):
            plus = tokens[first - 1]
            run = (first - 1, last), [("+", plus.start, plus.end), ("", plus.end, tokens[first].start), *pieces]
        edits.append(run)
        i = run[0][1] + 1
    return edits


def edits_end_at(edits: list[_Edit], index: int) -> bool:
    """Whether an edit already covers token `index`."""
    return any(first <= index <= last for (first, last), _ in edits)


def _ordinal_edit(tokens: list[_Token], i: int, text: str) -> _Edit | None:
    """"third", "twenty first", "thirty-first" next to a month name ("May third", "the first of June")."""
    token = tokens[i]
    value, last = None, i
    first = i - 1 if i >= 2 and tokens[i - 1].low == "the" and tokens[i - 2].low in _MONTHS else i
    if token.low in _EN_TENS and i + 1 < len(tokens) and tokens[i + 1].low in _ORDINALS:
        unit = _ORDINALS[tokens[i + 1].low]
        if unit < 10:
            value, last = _EN_TENS[token.low] + unit, i + 1
    elif token.low in _ORDINALS:
        value = _ORDINALS[token.low]
    elif token.low in _EN_TEENS or token.low in _EN_DIGITS and token.low not in ("oh", "zero", "nil", "nought"):
        value = _EN_TEENS.get(token.low, _EN_DIGITS.get(token.low))  # "twelve March", "March nine"
    elif token.low in _EN_TENS and token.low in ("twenty", "thirty"):
        nxt = tokens[i + 1].low if i + 1 < len(tokens) else ""
        unit = _EN_DIGITS.get(nxt, 0) if nxt not in ("oh", "zero") else 0
        value, last = _EN_TENS[token.low] + unit, i + 1 if unit else i
    if value is None or value > 31:
        return None
    near = [t.low for t in tokens[max(0, i - 2) : i]] + [t.low for t in tokens[last + 1 : last + 4]]
    if not any(word in _MONTHS for word in near):
        return None
    if token.low in _ORDINALS or last > i and tokens[last].low in _ORDINALS:
        suffix = "th" if 10 < value % 100 < 14 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    else:
        suffix = ""
        if last + 1 < len(tokens) and tokens[last + 1].low in _NUMBER_WORDS:
            gap = text[tokens[last].end : tokens[last + 1].start]
            if gap.strip() == "":
                return None  # part of a longer number: "nineteen eighty", "twelve hundred"
    pieces = [("", tokens[first].start, token.start)] if first < i else []
    return (first, last), pieces + [(f"{value}{suffix}", token.start, tokens[last].end)]


def _gap_continues(text: str, left: _Token, right: _Token) -> bool:
    """Whether the characters between two tokens keep a spoken number going: spaces, a comma, a dash, dots."""
    gap = text[left.end : right.start]
    return len(gap) <= 4 and all(c in " ,-.…\t" for c in gap) and gap.count(".") != 1


def _number_run(text: str, tokens: list[_Token], i: int, taken: set[int], grouped: bool = False) -> _Edit | None:
    """The longest run of spoken number parts from token i, written as digits, if it says at least two digits."""
    pieces: list[_Piece] = []
    digits = 0
    words = 0
    foreign = 0
    j = i
    last_number = None  # index of the last token that belonged to the number
    pending: list[_Piece] = []  # a symbol waiting for a number after it
    prefix = _letter_prefix(tokens, i)
    if prefix is not None:
        pieces.append((tokens[i].text, tokens[i].start, tokens[i].end))
        j = i + 1
    while j < len(tokens) and j not in taken:
        if last_number is not None and not _gap_continues(text, tokens[j - 1], tokens[j]):
            break
        low = tokens[j].low
        if low in _FILLERS and last_number is not None:
            j += 1
            continue
        if low in _SYMBOLS and last_number is not None and not pending:
            pending = [(_SYMBOLS[low], tokens[j].start, tokens[j].end)]
            j += 1
            continue
        parsed = _number_at(tokens, j)
        if parsed is None:
            break
        written, end_index, is_foreign = parsed
        if grouped and last_number is not None and not pending:
            gap = text[tokens[last_number].end : tokens[j].start]
            if "," in gap or "…" in gap or "-" in gap:
                pieces.append(("-" if "-" in gap and "," not in gap else " ", tokens[last_number].end, tokens[j].start))
        pieces.extend(pending)
        pending = []
        pieces.append((written, tokens[j].start, tokens[end_index].end))
        digits += len(written)
        words += 0 if tokens[j].text.isdigit() else end_index - j + 1
        foreign += bool(is_foreign)
        last_number = end_index
        j = end_index + 1
    if last_number is None or digits < 2 or (words < 2 and prefix is None):
        return None
    if foreign and words < _FOREIGN_MIN_RUN:
        return None
    if prefix is not None and (digits < 3 or not words):
        return None
    return (i, last_number), pieces


def _letter_prefix(tokens: list[_Token], i: int) -> str | None:
    """A single capital letter said before digits ("E four four one two"): part of an id. Not "I" or "A"."""
    token = tokens[i]
    if len(token.text) == 1 and token.text.isupper() and token.text not in "IA" and i + 1 < len(tokens):
        if tokens[i + 1].low in _EN_DIGITS or tokens[i + 1].low in _EN_TEENS or tokens[i + 1].low in _EN_TENS:
            return token.text
    return None


def _word_value(low: str) -> tuple[int, bool] | None:
    if low in _EN_DIGITS:
        return _EN_DIGITS[low], False
    if low in _FOREIGN_DIGITS:
        return _FOREIGN_DIGITS[low], True
    return None


def _number_at(tokens: list[_Token], j: int) -> tuple[str, int, bool] | None:
    """The digits said from token j, the index of the last token used, and whether they were foreign words."""
    low = tokens[j].low
    nxt = tokens[j + 1].low if j + 1 < len(tokens) else ""
    if tokens[j].text.isdigit():
        return tokens[j].text, j, False
    if low in _REPEATS and j + 1 < len(tokens):
        value = _word_value(nxt)
        if value is not None:
            return str(value[0]) * _REPEATS[low], j + 1, value[1]
        if tokens[j + 1].text.isdigit() and len(tokens[j + 1].text) == 1:
            return tokens[j + 1].text * _REPEATS[low], j + 1, False
        return None
    base: int | None = None
    end = j
    if low in _EN_DIGITS and low not in ("oh", "nil") or low in _EN_TEENS:
        base = _EN_DIGITS.get(low, _EN_TEENS.get(low))
    if base is not None and nxt in ("hundred", "thousand"):
        return _hundreds(tokens, j, base)
    if low in _EN_TENS:
        value = _EN_TENS[low]
        if nxt in _EN_DIGITS and _EN_DIGITS[nxt] > 0 and nxt != "oh":
            return str(value + _EN_DIGITS[nxt]), j + 1, False
        return str(value), j, False
    if low in _EN_TEENS:
        return str(_EN_TEENS[low]), end, False
    value = _word_value(low)
    if value is not None:
        return str(value[0]), j, value[1]
    return None


def _hundreds(tokens: list[_Token], j: int, base: int) -> tuple[str, int, bool]:
    """"five hundred (and) fifty five" -> 555, "nineteen hundred eighty" -> 1980, "two thousand (and) five"."""
    scale = 100 if tokens[j + 1].low == "hundred" else 1000
    total = base * scale
    k = j + 2
    if k < len(tokens) and tokens[k].low == "and":
        k += 1
    rest = _small_number(tokens, k) if k < len(tokens) else None
    if rest is not None and rest[0] < scale:
        total += rest[0]
        return str(total), rest[1], False
    return str(total), j + 1, False


def _small_number(tokens: list[_Token], k: int) -> tuple[int, int] | None:
    """A number below a thousand said from token k, and the index of its last token."""
    low = tokens[k].low
    nxt = tokens[k + 1].low if k + 1 < len(tokens) else ""
    if low in _EN_DIGITS and low != "oh" and nxt == "hundred":
        base = _EN_DIGITS[low] * 100
        after = k + 2 + (k + 2 < len(tokens) and tokens[k + 2].low == "and")
        rest = _small_number(tokens, after) if after < len(tokens) else None
        if rest is not None and rest[0] < 100:
            return base + rest[0], rest[1]
        return base, k + 1
    if low in _EN_TENS:
        if nxt in _EN_DIGITS and _EN_DIGITS[nxt] > 0 and nxt != "oh":
            return _EN_TENS[low] + _EN_DIGITS[nxt], k + 1
        return _EN_TENS[low], k
    if low in _EN_TEENS:
        return _EN_TEENS[low], k
    if low in _EN_DIGITS and low != "oh":
        return _EN_DIGITS[low], k
    return None
