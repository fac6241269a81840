"""Realistic fake values for the `surrogate` action: text that still reads like text, and never a real value.

A person's surrogate is a first and a last name from Faker's en_US name lists (MIT), each picked by the keyed
HMAC of (entity, part, subject, counter) (`Pseudonymizer.seed`), never by Faker's random generator: the same
subject gets the same fake name in every text, batch and night while the key holds, a rekey changes them all,
and without the key the fake name says nothing about the subject. A draw is refused and drawn again (the
counter goes up) when a part of it is a roster name (so only the subjects whose draw collided change when the
roster does), and, for one text, when it equals a value detected in that text. A surrogate never keeps a word
or a group of digits of the value it replaces; where no draw can avoid that, the typed placeholder is written.
E-mails go to the reserved example.com/.net/.org (RFC 2606) and phones to the NANP's fictional 555-0100..0199
lines, so no surrogate is anyone's real contact; pipeline/residual.py knows both ranges on its own.

Not guaranteed: that a surrogate differs from a real name of someone off the roster mentioned in another text
(it may, by chance, be any name of the list), and that two subjects never share a fake name (690 x 1,000
names: expect a few pairs among thousands of people, so a fake name is no join key; `pseudonym` is).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from faker.providers.person.en_US import Provider as _Names

from pipeline.pseudonym import Pseudonymizer
from pipeline.roster import Roster

# Sorted and de-duplicated, so the draw depends on the lists' content alone (a Faker upgrade that changes them
# changes every surrogate, like a rekey: tests/test_surrogates.py pins their digest).
FIRST_NAMES = tuple(sorted(set(_Names.first_names)))
LAST_NAMES = tuple(sorted(set(_Names.last_names)))
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
FICTIONAL = "55501"  # after the area code: exchange 555, lines 0100 to 0199, fictional by the NANP
MAX_DRAWS = 64  # draws before the part is taken from the list with every refused name left out
# A title stays only in a form that says nothing more than two letters can: Mrs and Miss become Ms (marital status
# goes), Prof and Sir go (a rank is a clue).
TITLES = {"mr": "Mr", "ms": "Ms", "mx": "Mx", "dr": "Dr", "mrs": "Ms", "miss": "Ms", "prof": "", "sir": ""}
_PARTS = re.compile(r"[\s'._+@-]+")


def name_tokens(value: str) -> set[str]:
    """The casefolded name parts of a value (split at spaces, apostrophes, dots, dashes, underscores, pluses and
    @; digits dropped): what "is a roster name" is tested on."""
    return {t for t in _PARTS.split(re.sub(r"\d+", " ", value.casefold())) if t}


@lru_cache(maxsize=4)
def roster_tokens(roster: Roster) -> frozenset[str]:
    """Every name part, handle and e-mail local part of the roster: no surrogate part may equal one."""
    tokens: set[str] = set()
    for e in roster.employees:
        for value in (e.full_name, e.preferred_name, e.handle, (e.email or "").split("@", 1)[0]):
            if value:
                tokens |= name_tokens(value.lstrip("@"))
                tokens.add(value.lstrip("@").casefold())
    return frozenset(tokens)


def _norm(value: str) -> str:
    return " ".join(value.casefold().split())


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def seen_values(values: Iterable[str]) -> frozenset[str]:
    """The values detected in a text, in the form `Surrogates` compares them: no surrogate may equal one."""
    return frozenset(_norm(v) for v in values)


@dataclass
class Surrogates:
    """The surrogates of one batch of texts under one key and roster. `seen` (per call) holds the values
    detected in the text at hand: per text rather than per batch, so the output never depends on how a night
    is cut into batches and pieces for the workers."""

    keys: Pseudonymizer
    roster: Roster
    _names: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._refused = roster_tokens(self.roster)
        self._people = {e.employee_id: e for e in self.roster.employees}
        # A colleague's e-mail gets the fake names of its owner (the roster recognizer tags names, not e-mails).
        self._owners = {e.email.casefold(): e.employee_id for e in self.roster.employees if e.email}

    def value(self, entity: str, subject: str | None, mention: str, seen: frozenset[str] = frozenset()) -> str | None:
        """The surrogate of a mention, or None (the caller writes a placeholder) when this entity has none or
        the only fakes at hand would keep a token of the mention: a surrogate never keeps a word of three
        letters or more or a group of digits of what it replaces (the evaluation's identifying tokens)."""
        fake: str | None = None
        if entity == "PERSON":
            fake = self.person(subject or _norm(mention), mention, seen)
        elif entity == "EMAIL_ADDRESS":
            fake = self.email(subject or self._owners.get(_norm(mention)) or _norm(mention), mention, seen)
        elif entity == "PHONE_NUMBER":  # one number in any layout: its last ten digits
            fake = self.phone(subject or _digits(mention)[-10:] or _norm(mention), mention, seen)
        return fake if fake is not None and not identifying_tokens(fake) & identifying_tokens(mention) else None

    # --- people ---------------------------------------------------------------------------------------------

    def names(self, subject: str, seen: frozenset[str] = frozenset()) -> tuple[str, str]:
        """The subject's fake (first, last): the same for every form of the subject, in every text, while the
        key and the roster hold; drawn again (keyed too) for a text where it equals a value detected there."""
        pair = self._names.get(subject)
        if pair is None:
            pair = self._names[subject] = self._pair(subject, frozenset())
        if seen and {_norm(pair[0]), _norm(pair[1]), _norm(" ".join(pair))} & seen:
            return self._pair(subject, seen)
        return pair

    def _pair(self, subject: str, seen: frozenset[str]) -> tuple[str, str]:
        """A subject that is a value (no roster id) refuses its own words too: "ann lee" never becomes "Ann Barrera"."""
        own = name_tokens(subject)
        first = self._part("first", subject, FIRST_NAMES, lambda f: not name_tokens(f) & own and _norm(f) not in seen)
        last = self._part(
            "last", subject, LAST_NAMES,
            lambda s: not name_tokens(s) & own and _norm(s) not in seen and _norm(f"{first} {s}") not in seen,
        )
        return first, last

    def _draw(self, what: str, subject: str) -> int:
        return self.keys.seed(f"surrogate\x1f{what}", subject)

    def _part(self, part: str, subject: str, names: tuple[str, ...], also: Callable[[str], bool]) -> str:
        def allowed(name: str) -> bool:
            return not (name_tokens(name) & self._refused) and also(name)

        for counter in range(MAX_DRAWS):
            name = names[self._draw(f"PERSON\x1f{part}\x1f{counter}", subject) % len(names)]
            if allowed(name):
                return name
        left = [n for n in names if allowed(n)]  # a roster holding most of the list: rare, still keyed
        if not left:
            raise SurrogateError(f"every {part} name is a roster name or a value of the text")
        return left[self._draw(f"PERSON\x1f{part}\x1fleft", subject) % len(left)]

    def person(self, subject: str, mention: str, seen: frozenset[str] = frozenset()) -> str:
        """A fake name in the mention's form: first name alone, last name (after a title, or a roster surname),
        full name, or @handle; its case and a possessive 's kept."""
        core, suffix = _split_possessive(mention.strip())
        first, last = self.names(subject, seen)
        words = core.split()
        if any(w.startswith("@") for w in words):  # "@dlee", or an over-long span around one ("ping @dlee")
            return "@" + self._handle(first, last) + suffix
        head = words[0].casefold().rstrip(".") if len(words) > 1 else ""
        title = head if head in TITLES else None
        rest = words[1:] if title else words
        employee = self._people.get(subject)
        surname = employee and rest and _norm(" ".join(rest)) == _norm(employee.full_name.split()[-1])
        if len(rest) > 1:
            fake = f"{first} {last}"
        elif title or surname:
            fake = last
        else:
            fake = first
        fake = _case(" ".join(rest), fake)
        dot = "." if title and words[0].endswith(".") else ""
        return (f"{TITLES[title]}{dot} {fake}" if title and TITLES[title] else fake) + suffix

    def _handle(self, first: str, last: str, sep: str = "") -> str:
        """Initial and surname ("jdoe"), or the whole names when that one is a roster handle or e-mail name."""
        handle = f"{first[0]}{last}".casefold()
        return handle if handle not in self._refused else f"{first}{sep}{last}".casefold()

    # --- contact ---------------------------------------------------------------------------------------------

    def email(self, subject: str, mention: str, seen: frozenset[str] = frozenset()) -> str | None:
        """first.last@example.org and the like: the local part takes the mention's shape (separator, initial,
        trailing digits), the names are the subject's fake names, the domain a reserved one."""
        local = mention.strip().split("@", 1)[0]
        first, last = (n.casefold() for n in self.names(subject, seen))
        sep = next((c for c in "._-" if c in local), None)
        fake = f"{first}{sep}{last}" if sep else self._handle(first, last, ".") if len(local) <= 8 else f"{first}{last}"
        if re.search(r"\d$", local):
            fake += str(self._draw("EMAIL_ADDRESS\x1fdigits", subject) % 90 + 10)
        domains = [d for d in EMAIL_DOMAINS if not name_tokens(d) & name_tokens(mention)]  # "x@y.com" -> .net or .org
        if not domains:
            return None
        domain = domains[self._draw("EMAIL_ADDRESS\x1fdomain", subject) % len(domains)]
        address = f"{fake}@{domain}"
        if address in seen:  # only when the text itself holds this reserved address
            again = self._draw("EMAIL_ADDRESS\x1fagain", subject) % 900 + 100
            address = f"{fake}.{again}@{domain}"
        return address

    def phone(self, subject: str, mention: str, seen: frozenset[str] = frozenset()) -> str | None:
        """A fictional US number (area code, 555, 01xx) written in the mention's layout when it has 10 digits
        (a leading country code 1 dropped), else as (AAA) 555-01xx. None when every draw keeps a group of the
        mention's digits (a real 555 exchange, say)."""
        groups = set(re.findall(r"\d+", mention))
        numbers = {d[-10:] for v in seen if len(d := _digits(v)) >= 7}
        for counter in range(MAX_DRAWS):
            n = self._draw(f"PHONE_NUMBER\x1f{counter}", subject)
            middle, last = n // 8 % 9, n // 72 % 10
            area = f"{2 + n % 8}{middle}{0 if middle == last == 1 else last}"  # N11 codes are service numbers
            digits = f"{area}{FICTIONAL}{n // 720 % 100:02d}"
            line = digits[6:]
            if digits not in numbers and not {area, "555", line, digits} & groups:
                break
        else:
            return None
        mention = mention.strip()
        if len(_digits(mention)) == 11:  # +1 415-867-5309: the country code goes (a kept "1" is a kept token)
            mention = re.sub(r"^\+?1[ .-]?", "", mention)
        if len(_digits(mention)) != 10:  # another country's layout or an extension: a plain US number
            return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        out = iter(digits)
        return "".join(next(out) if c.isdigit() else c for c in mention)


class SurrogateError(ValueError):
    """No surrogate can be drawn (the roster holds nearly every name of the list); names no value."""


def identifying_tokens(value: str) -> set[str]:
    """Casefolded runs of letters or digits that could identify: three or more characters, or any digit."""
    return {t for t in re.findall(r"[^\W_]+", value.casefold()) if len(t) >= 3 or any(c.isdigit() for c in t)}


def _split_possessive(value: str) -> tuple[str, str]:
    for suffix in ("'s", "’s", "'", "’"):
        if value.endswith(suffix) and len(value) > len(suffix) + 1:
            return value[: -len(suffix)], suffix
    return value, ""


def _case(original: str, fake: str) -> str:
    """The fake in the original's case: all lowercase, all capitals, or as the list writes it."""
    letters = [c for c in original if c.isalpha()]
    if letters and all(c.islower() for c in letters):
        return fake.casefold()
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return fake.upper()
    return fake
