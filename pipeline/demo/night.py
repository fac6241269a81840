"""One generated night: the roster, the texts with their planted values and ground truth, the devices' key and
mouse events, and the files they are written to."""

from __future__ import annotations

import gzip
import json
import random
import re
import string
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from faker import Faker

from pipeline.contracts import ROSTER_FIELDS, SOURCES, SourceContract
from pipeline.demo.rhythm import TYPISTS, Rhythm, key_class, neighbour, press
from pipeline.demo.templates import (
    CHAT_HARMLESS,
    CHAT_PLANTED,
    FILLERS,
    LABEL_WEIGHTS,
    LABELS,
    NUMERIC_FILLERS,
    REVIEW_BODY,
    REVIEW_COMP,
    REVIEW_NO_COMP,
    REVIEW_OPENERS,
    REVIEW_PIP,
    REVIEW_PROMO,
    SPOKEN_HARMLESS,
    SPOKEN_PLANTED,
    TOKEN,
    VOCAB,
)
from pipeline.files import open_private, private_dir
from pipeline.roster import Employee

CYCLE = "2026-H2"
COMPANY_DOMAIN = "haldensystems.com"
GROUND_TRUTH_DIR = "_ground_truth"
PART_FILE = "part-0000.jsonl.gz"
# Ground-truth ids are "<source>:<value of this field>"; each of these is unique within the night.
TRUTH_ID_FIELDS = {"chat": "message_id", "transcripts": "segment_id", "performance": "record_id"}

# (location, IANA zone, Faker locale for names and addresses, weight)
_LOCATIONS: tuple[tuple[str, str, str, int], ...] = (
    ("San Francisco, CA", "America/Los_Angeles", "en_US", 10),
    ("Seattle, WA", "America/Los_Angeles", "en_US", 4),
    ("New York, NY", "America/New_York", "en_US", 8),
    ("Austin, TX", "America/Chicago", "en_US", 4),
    ("Toronto, ON", "America/Toronto", "en_US", 3),
    ("London, UK", "Europe/London", "en_GB", 6),
    ("Dublin, IE", "Europe/Dublin", "en_IE", 3),
    ("Berlin, DE", "Europe/Berlin", "de_DE", 4),
    ("Amsterdam, NL", "Europe/Amsterdam", "nl_NL", 3),
    ("Paris, FR", "Europe/Paris", "fr_FR", 2),
    ("Warsaw, PL", "Europe/Warsaw", "pl_PL", 2),
    ("Milan, IT", "Europe/Rome", "it_IT", 1),
    ("São Paulo, BR", "America/Sao_Paulo", "pt_BR", 2),
    ("Mexico City, MX", "America/Mexico_City", "es_MX", 2),
    ("Bengaluru, IN", "Asia/Kolkata", "en_IN", 4),
    ("Sydney, AU", "Australia/Sydney", "en_AU", 2),
)
_ZONES = {loc: ZoneInfo(tz) for loc, tz, _, _ in _LOCATIONS}
_LOCALES = {loc: locale for loc, _, locale, _ in _LOCATIONS}
_NAME_LOCALES = sorted({locale for _, _, locale, _ in _LOCATIONS})
_ORGS = (("Platform", 5), ("Payments", 4), ("Data", 3), ("Mobile", 3), ("Design", 2), ("Sales", 3), ("Support", 2))
_NICKNAMES = {
    "Robert": "Bob", "William": "Liam", "Elizabeth": "Liz", "Katherine": "Kate", "Catherine": "Cathy",
    "Michael": "Mike", "Christopher": "Chris", "Jennifer": "Jen", "Daniel": "Dan", "Matthew": "Matt",
    "Jessica": "Jess", "Alexander": "Alex", "Alexandra": "Lexi", "Samantha": "Sam", "Samuel": "Sammy",
    "Joseph": "Joe", "Thomas": "Tom", "Anthony": "Tony", "Patricia": "Trish", "Deborah": "Debbie",
    "Richard": "Rick", "James": "Jim", "Benjamin": "Ben", "Nicholas": "Nick", "Jonathan": "Jon",
    "Timothy": "Tim", "Stephanie": "Steph", "Rebecca": "Becca", "Margaret": "Maggie", "Andrew": "Drew",
    "Zachary": "Zach", "Jacob": "Jake", "Victoria": "Tori", "Kimberly": "Kim", "Gregory": "Greg",
    "Jeffrey": "Jeff", "Steven": "Steve", "Kenneth": "Ken", "Ronald": "Ron", "David": "Dave",
    "Susan": "Susie", "Christina": "Tina", "Francesco": "Franco", "Giuseppe": "Beppe", "Alejandro": "Ale",
    "Francisco": "Paco", "Wojciech": "Wojtek", "Małgorzata": "Gosia", "Aleksandra": "Ola",
}
# Names people adopt at work that are unrelated to their legal name, so only the roster links them.
_ADOPTED_NAMES = ("Alex", "Sam", "Jordan", "Casey", "Jamie", "Morgan", "Riley", "Kai")
_ASCII_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "đ": "d"})
_MILITARY_ADDRESS = re.compile(r"(?:PSC|USNS|USNV|USS|Unit) ")
_NAME_PART = re.compile(r"[^\W\d_]{3,}(?:['-][^\W\d_]+)?")
_PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "hotmail.co.uk", "gmx.de")
_VENDOR_DOMAINS = ("globex.com", "initech.io", "vandelay-industries.com", "hooli.xyz")
_US_AREA_CODES = ("415", "510", "650", "212", "646", "917", "312", "617", "206", "512", "303", "404", "713")
_PASSWORD_WORDS = ("sunflower", "lantern", "falcon", "marble", "winter", "harbor", "pepper", "tigers", "orbit")
_LEET = str.maketrans({"o": "0", "a": "4", "e": "3", "i": "1", "s": "$"})
_RATINGS = ("below expectations", "partially meets", "meets", "exceeds expectations", "strongly exceeds")
_RATING_WEIGHTS = (6, 12, 50, 25, 7)
_SCREENS = ((1920.0, 1080.0), (2560.0, 1440.0), (1512.0, 982.0), (3440.0, 1440.0), (1440.0, 900.0))


def _ascii(name: str) -> str:
    """A name folded to lowercase a-z, for handles and e-mail local parts."""
    folded = unicodedata.normalize("NFKD", name.translate(_ASCII_FOLD)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _row(contract: SourceContract, **values: Any) -> dict[str, Any]:
    """A raw row with exactly the contract's fields, in contract order (a missing field fails loudly)."""
    return {name: values[name] for name in contract.field_names}


def _write_jsonl_gz(path: Path, rows: list[dict[str, Any]]) -> None:
    """Raw rows are as sensitive as real logs: 0600 files in 0700 folders, like everything outside the clean root."""
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    with open_private(path) as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(payload)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open_private(path) as handle:
        handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))


@dataclass
class _Ctx:
    """Who is speaking and about whom, for one rendered text."""

    sender: Employee | None
    subject: Employee | None = None
    pool: list[Employee] = field(default_factory=list)  # people likely to be mentioned (channel, meeting)
    extra: dict[str, str] = field(default_factory=dict)  # record-specific fillers
    used: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Channel:
    channel_id: str
    kind: str
    name: str
    members: tuple[Employee, ...]


@dataclass
class _Message:
    row: dict[str, Any]
    at: datetime
    sender: Employee
    channel: _Channel
    spans: list[dict[str, Any]]


class _Night:
    """All state of one generated night; every random choice flows from one seeded Random."""

    def __init__(self, ds: str, employees: int, seed: int) -> None:
        if employees < 2:
            raise ValueError("a night needs at least 2 employees")
        self.day = date.fromisoformat(ds)
        self.seed = seed
        self.rng = random.Random(seed)
        self._fakers: dict[str, Faker] = {}
        self._windows: dict[str, tuple[datetime, datetime]] = {}
        self.roster = self._build_roster(employees)
        self.by_id = {e.employee_id: e for e in self.roster}
        self._roster_parts = {p.casefold() for e in self.roster for p in e.name_forms()}

    # ---- basics -------------------------------------------------------------------------------------

    def faker(self, locale: str) -> Faker:
        """One Faker per locale, each seeded from the night's seed so creation order does not matter."""
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(f"{self.seed}:{locale}")
            self._fakers[locale] = fake
        return self._fakers[locale]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hexid(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def alnum(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def window(self, e: Employee) -> tuple[datetime, datetime]:
        """The employee's working hours (08:00-19:00 local) clipped to the UTC day, so every timestamp
        falls on the ds date both in UTC and in the offset it is written with."""
        if e.employee_id not in self._windows:
            tz = _ZONES[e.location or ""]
            start = datetime.combine(self.day, time(8), tz).astimezone(UTC)
            end = datetime.combine(self.day, time(19), tz).astimezone(UTC)
            day0 = datetime.combine(self.day, time(0), UTC)
            self._windows[e.employee_id] = (
                max(start, day0 + timedelta(minutes=20)),
                min(end, day0 + timedelta(hours=23, minutes=40)),
            )
        return self._windows[e.employee_id]

    def instant(self, e: Employee, room: timedelta = timedelta(0)) -> datetime:
        """A random instant in e's window leaving `room` before its end."""
        start, end = self.window(e)
        span_ms = max(1, int((end - start - room).total_seconds() * 1000))
        return start + timedelta(milliseconds=self.rng.randrange(span_ms))

    def in_window(self, e: Employee, t: datetime) -> bool:
        start, end = self.window(e)
        return start <= t <= end

    def stamp(self, t: datetime, e: Employee, style: str) -> str | int:
        """Raw sources disagree on time formats; write epoch ms or ISO-8601 with the writer's offset."""
        if style == "epoch":
            return int(t.timestamp() * 1000)
        return t.astimezone(_ZONES[e.location or ""]).isoformat(timespec=style)

    # ---- roster -------------------------------------------------------------------------------------

    def _name(self, locale: str, reject: Callable[[str, str], bool]) -> tuple[str, str]:
        fake = self.faker(locale)
        while True:
            first, last = fake.first_name(), fake.last_name()
            parts = (first, last)
            if all(_NAME_PART.fullmatch(p) and p.casefold() not in VOCAB for p in parts) and not reject(first, last):
                return first, last

    def _build_roster(self, n: int) -> tuple[Employee, ...]:
        rng = self.rng
        locations = [loc for loc, _, _, w in _LOCATIONS for _ in range(w)]
        orgs = [org for org, w in _ORGS for _ in range(w)]
        ids = rng.sample(range(10000, 100000), n)
        names: set[str] = set()
        handles: set[str] = set()
        emails: set[str] = set()
        org_members: dict[str, list[str]] = defaultdict(list)
        people: list[Employee] = []
        for i in range(n):
            location = rng.choice(locations)
            locale = _LOCALES[location] if rng.random() < 0.65 else rng.choice(_NAME_LOCALES)
            first, last = self._name(locale, lambda f, s: f"{f} {s}" in names or not _ascii(f) or not _ascii(s))
            names.add(f"{first} {last}")
            preferred = self._preferred(first)
            handle = self._unique(self._handle_base(first, last), handles)
            email = self._unique(f"{_ascii(first)}.{_ascii(last)}", emails) + "@" + COMPANY_DOMAIN
            emp_id = f"E{ids[i]}"
            org = "Executive" if i == 0 else rng.choice(orgs)
            if i == 0:
                manager = None
            elif not org_members[org]:
                manager = people[0].employee_id
            else:
                leads = org_members[org][:3]
                manager = leads[rng.randrange(len(leads))]
            org_members[org].append(emp_id)
            people.append(Employee(emp_id, f"{first} {last}", preferred, handle, email, manager, org, location))
        return tuple(people)

    def _preferred(self, first: str) -> str | None:
        roll = self.rng.random()
        if roll < 0.5:
            return None
        nickname = _NICKNAMES.get(first)
        if nickname and roll < 0.85:
            return nickname
        if roll < 0.92:
            return first
        return self.rng.choice(_ADOPTED_NAMES)

    def _handle_base(self, first: str, last: str) -> str:
        f, s = _ascii(first), _ascii(last)
        return self.rng.choice((f[0] + s, f[0] + s, f + s[0], f"{f}_{s}", f))

    def _unique(self, base: str, taken: set[str]) -> str:
        candidate, k = base, 2
        while candidate in taken or candidate in VOCAB:
            candidate, k = f"{base}{k}", k + 1
        taken.add(candidate)
        return candidate

    # ---- sensitive values ---------------------------------------------------------------------------

    def colleague(self, ctx: _Ctx) -> Employee:
        """Someone to mention: preferably from the conversation, never the speaker, nobody twice in one text."""
        taken = ctx.used | {ctx.sender.employee_id if ctx.sender else ""}
        pool = [e for e in ctx.pool if e.employee_id not in taken]
        if not pool:
            pool = [e for e in self.roster if e.employee_id not in taken] or list(self.roster)
        chosen = self.rng.choice(pool)
        ctx.used.add(chosen.employee_id)
        return chosen

    def name_form(self, e: Employee, form: str | None) -> str:
        first, last = e.full_name.split()
        form = form or self.rng.choice(("full", "first", "first", "preferred", "handle", "lower", "initial"))
        match form:
            case "full":
                return e.full_name
            case "first":
                return first
            case "preferred":
                return e.preferred_name or first
            case "handle":
                return f"@{e.handle}"
            case "bare_handle":
                return e.handle or first.lower()
            case "lower":
                return self.rng.choice((first, e.full_name)).lower()
            case "initial":
                return f"{first} {last[0]}."
            case "last":
                return last
        raise ValueError(f"unknown name form {form!r}")

    def person(self, form: str | None) -> str:
        """A non-employee whose name shares no part with anyone on the roster."""
        locale = self.rng.choice(("en_US", "en_US", *_NAME_LOCALES))
        first, last = self._name(locale, lambda f, s: bool({f.casefold(), s.casefold()} & self._roster_parts))
        return {"first": first, "last": last}.get(form or "", f"{first} {last}")

    def email(self, variant: str | None, ctx: _Ctx) -> str:
        variant = variant or self.rng.choice(("roster", "personal", "external"))
        if variant == "roster":
            return self.colleague(ctx).email or ""
        if variant == "external":
            first, last = self.person(None).split()
            return f"{_ascii(first)}.{_ascii(last)}@{self.rng.choice(_VENDOR_DOMAINS)}"
        owner = ctx.sender or self.colleague(ctx)
        first, last = owner.full_name.split()
        f, s = _ascii(first), _ascii(last)
        local = self.rng.choice((f"{f}.{s}{self.rng.randint(1, 99)}", f"{f}{s[0]}{self.rng.randint(70, 99)}",
                                 f"{f[0]}{s}", f"{s}.{f}", f"{f}_{s}"))
        return f"{local}@{self.rng.choice(_PERSONAL_DOMAINS)}"

    def phone(self, variant: str | None) -> str:
        rng = self.rng
        region = "GB" if variant == "gb" else rng.choice(("US",) * 6 + ("GB", "GB", "DE", "IN", "NL", "IE"))
        patterns = {
            "US": lambda: rng.choice(_US_AREA_CODES) + str(rng.randint(200, 999)) + f"{rng.randrange(10000):04d}",
            "GB": lambda: rng.choice(("207" + f"{rng.randrange(10**7):07d}",
                                      "7" + str(rng.randint(4, 9)) + f"{rng.randrange(10**8):08d}")),
            "DE": lambda: "30" + f"{rng.randrange(10**8):08d}",
            "IN": lambda: str(rng.choice((9, 8, 7))) + f"{rng.randrange(10**9):09d}",
            "NL": lambda: "6" + f"{rng.randrange(10**8):08d}",
            "IE": lambda: "8" + str(rng.choice((3, 5, 6, 7))) + f"{rng.randrange(10**7):07d}",
        }
        while True:
            number = phonenumbers.parse(patterns[region](), region)
            if phonenumbers.is_valid_number(number):
                break
        fmt = phonenumbers.PhoneNumberFormat
        styles = [phonenumbers.format_number(number, f) for f in (fmt.INTERNATIONAL, fmt.NATIONAL, fmt.E164)]
        if region == "US":
            n = str(number.national_number)
            styles += [f"+1 ({n[:3]}) {n[3:6]}-{n[6:]}", f"{n[:3]}.{n[3:6]}.{n[6:]}", f"{n[:3]}-{n[3:6]}-{n[6:]}"]
        text = rng.choice(styles)
        if variant == "ext":
            text += rng.choice((" ext. ", " x", ", ext ")) + NUMERIC_FILLERS["ext"](rng)
        return text

    def address(self, variant: str | None, ctx: _Ctx) -> str:
        locale = _LOCALES[ctx.sender.location or ""] if ctx.sender and self.rng.random() < 0.7 else "en_US"
        fake = self.faker(locale)
        raw = ""
        while not raw or _MILITARY_ADDRESS.match(raw):  # Faker's APO/FPO boxes are not where anyone lives
            raw = fake.street_address() if variant == "street" else fake.address()
        return re.sub(r"\s*\n\s*", ", ", raw.strip())

    def credential(self, variant: str | None) -> str:
        rng = self.rng
        word = rng.choice(_PASSWORD_WORDS)
        match variant:
            case "pin":
                pin = ""
                while not pin or pin in VOCAB:  # e.g. not the 5432 of a template's port
                    pin = f"{rng.randrange(10 ** (n := rng.choice((4, 4, 6)))):0{n}d}"
                return pin
            case "wifi":
                return f"{rng.choice(_PASSWORD_WORDS)}-{word.capitalize()}-{rng.randint(10, 99)}"
            case "url":
                return self.alnum(rng.randint(14, 20))
        return rng.choice((
            word.capitalize().translate(_LEET) + rng.choice("!&#*?") + str(rng.randint(1, 99)),
            f"{word.capitalize()}{rng.randint(2019, 2027)}!",
            self.alnum(rng.randint(12, 16), string.ascii_letters + string.digits + "!#%&*+-=?@^_"),
            f"{word}-{rng.choice(_PASSWORD_WORDS)}-{rng.choice(_PASSWORD_WORDS)}-{rng.randint(1, 9)}",
        ))

    def api_key(self, variant: str | None) -> str:
        """Random bodies in real provider formats; none of these is, or was, a real key."""
        upper = string.ascii_uppercase + string.digits
        match variant or self.rng.choice(("aws", "aws_secret", "github", "slack", "stripe", "openai", "google")):
            case "aws":
                return "AKIA" + self.alnum(16, upper)
            case "aws_secret":
                return self.alnum(40, string.ascii_letters + string.digits + "/+")
            case "github":
                return "ghp_" + self.alnum(36)
            case "slack":
                d = string.digits
                return f"xox{self.rng.choice('bp')}-{self.alnum(12, d)}-{self.alnum(13, d)}-{self.alnum(24)}"
            case "stripe":
                return "sk_live_" + self.alnum(self.rng.choice((24, 34, 99)))
            case "openai":
                proj = "sk-proj-" + self.alnum(64, string.ascii_letters + string.digits + "_-")
                return self.rng.choice(("sk-" + self.alnum(48), proj))
            case "google":
                return "AIza" + self.alnum(35, string.ascii_letters + string.digits + "_-")
        raise ValueError(f"unknown key kind {variant!r}")

    def card(self) -> str:
        rng = self.rng
        brands = (("4", 16), ("4", 16), ("5" + str(rng.randint(1, 5)), 16), ("37", 15), ("6011", 16))
        prefix, length = rng.choice(brands)  # Visa, Mastercard, Amex, Discover
        number = _luhn_complete(prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1)))
        sep = rng.choice((" ", " ", "-", ""))
        groups = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
        out, i = [], 0
        for g in groups:
            out.append(number[i:i + g])
            i += g
        return sep.join(out)

    def ssn(self) -> str:
        rng = self.rng
        area = 666
        while area == 666:  # never issued, like 000 and 900-999
            area = rng.randint(1, 899)
        a, g, s = f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}"
        return rng.choice((f"{a}-{g}-{s}", f"{a}-{g}-{s}", f"{a} {g} {s}", f"{a}{g}{s}"))

    def sensitive(self, name: str, variant: str | None, ctx: _Ctx) -> tuple[str, str]:
        match name:
            case "ROSTER_NAME":
                return "ROSTER_NAME", self.name_form(self.colleague(ctx), variant)
            case "SUBJECT":
                return "ROSTER_NAME", self.name_form(ctx.subject or self.colleague(ctx), variant)
            case "PERSON":
                return "PERSON", self.person(variant)
            case "EMAIL":
                return "EMAIL", self.email(variant, ctx)
            case "PHONE":
                return "PHONE", self.phone(variant)
            case "ADDRESS":
                return "ADDRESS", self.address(variant, ctx)
            case "CREDENTIAL":
                return "CREDENTIAL", self.credential(variant)
            case "API_KEY":
                return "API_KEY", self.api_key(variant)
            case "CARD":
                return "CARD", self.card()
            case "SSN":
                return "SSN", self.ssn()
        raise ValueError(f"unknown placeholder {name!r}")

    def filler(self, name: str, ctx: _Ctx) -> str:
        if name in ctx.extra:
            return ctx.extra[name]
        if name in FILLERS:
            return self.rng.choice(FILLERS[name])
        return NUMERIC_FILLERS[name](self.rng)

    def render(self, template: str, ctx: _Ctx) -> tuple[str, list[dict[str, Any]]]:
        """Fill a template, recording the exact offsets of every sensitive value it receives."""
        out: list[str] = []
        spans: list[dict[str, Any]] = []
        pos = length = 0
        for m in TOKEN.finditer(template):
            literal = template[pos:m.start()]
            out.append(literal)
            length += len(literal)
            pos = m.end()
            if m.group(1):
                label = m.group(1)
                value = TOKEN.sub(lambda f: self.filler(f.group(3), ctx), m.group(2))
            elif m.group(3).islower():
                value = self.filler(m.group(3), ctx)
                out.append(value)
                length += len(value)
                continue
            else:
                label, value = self.sensitive(m.group(3), m.group(4), ctx)
            spans.append({"start": length, "end": length + len(value), "label": label, "value": value})
            out.append(value)
            length += len(value)
        out.append(template[pos:])
        return "".join(out), spans

    # ---- sources ------------------------------------------------------------------------------------

    def channels(self) -> list[_Channel]:
        rng = self.rng
        people = list(self.roster)
        by_org: dict[str, list[Employee]] = defaultdict(list)
        for e in people:
            by_org[e.org or ""].append(e)
        upper = string.ascii_uppercase + string.digits
        out = [_Channel("C" + self.alnum(8, upper), "public", n, tuple(people))
               for n in ("general", "random", "incidents", "eng-help")]
        for org, members in by_org.items():
            out.append(_Channel("C" + self.alnum(8, upper), "public", f"{org.lower()}-team", tuple(members)))
            if len(members) >= 3:
                for _ in range(rng.randint(1, 2)):
                    group = rng.sample(members, min(len(members), rng.randint(3, 6)))
                    out.append(_Channel("G" + self.alnum(8, upper), "group", "group", tuple(group)))
        for _ in range(2):
            out.append(_Channel("G" + self.alnum(8, upper), "group", "group",
                                tuple(rng.sample(people, min(len(people), rng.randint(3, 7))))))
        pairs: set[tuple[str, str]] = set()
        for e in people:
            partners = [self.by_id[e.manager_id]] if e.manager_id else []
            partners += rng.sample([p for p in people if p is not e], min(2, len(people) - 1))
            for p in partners:
                pair = tuple(sorted((e.employee_id, p.employee_id)))
                if pair not in pairs:
                    pairs.add(pair)  # type: ignore[arg-type]
                    out.append(_Channel("D" + self.alnum(8, upper), "dm", "dm", (e, p)))
        return out

    def chat(self, planted: list[dict[str, Any]]) -> list[_Message]:
        """Bursts of messages per channel, some threaded; about a quarter carry a planted value."""
        rng = self.rng
        channels = self.channels()
        mine = {e.employee_id: [c for c in channels if e in c.members] for e in self.roster}
        quota = {e.employee_id: rng.randint(30, 60) for e in self.roster}
        roots: dict[str, list[_Message]] = defaultdict(list)
        messages: list[_Message] = []
        to_cover = list(LABELS)  # the first planted messages cover every label once
        while pending := [e for e in self.roster if quota[e.employee_id] > 0]:
            first = rng.choice(pending)
            channel = rng.choice(mine[first.employee_id])
            t = self.instant(first)
            earlier = [m for m in roots[channel.channel_id] if m.at < t]
            thread_id = rng.choice(earlier).row["message_id"] if earlier and rng.random() < 0.3 else None
            speakers = [m for m in channel.members if self.in_window(m, t)]
            for j in range(rng.randint(1, 5)):
                sender = first if j == 0 else rng.choice(speakers)
                if j:
                    t += timedelta(milliseconds=rng.randint(15_000, 400_000))
                    if not self.in_window(sender, t):
                        break
                quota[sender.employee_id] -= 1
                others = [m for m in channel.members if m is not sender]
                ctx = _Ctx(sender, rng.choice(others) if others else None, others if channel.kind != "public" else [])
                if rng.random() < 0.25:
                    label = to_cover.pop(0) if to_cover else rng.choices(LABELS, LABEL_WEIGHTS)[0]
                    text, spans = self.render(rng.choice(CHAT_PLANTED[label]), ctx)
                else:
                    text, spans = self.render(rng.choice(CHAT_HARMLESS), ctx)
                style = rng.choices(("seconds", "milliseconds", "epoch"), (70, 10, 20))[0]
                row = _row(
                    SOURCES["chat"], message_id=self.uid(), ts=self.stamp(t, sender, style),
                    employee_id=sender.employee_id, channel_id=channel.channel_id, channel_kind=channel.kind,
                    recipient_ids=None if channel.kind == "public" else sorted(o.employee_id for o in others),
                    thread_id=thread_id, text=text,
                )
                message = _Message(row, t, sender, channel, spans)
                messages.append(message)
                if thread_id is None:
                    roots[channel.channel_id].append(message)
        messages.sort(key=lambda m: m.at)
        for m in messages:
            if m.spans:
                planted.append(_truth("chat", m.row[TRUTH_ID_FIELDS["chat"]], "text", m.row["text"], m.spans))
        return messages

    def transcripts(self, planted: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Meetings with named, phone-in, unresolved and external speakers; about a fifth of turns leak."""
        rng = self.rng
        rows: list[tuple[datetime, dict[str, Any]]] = []
        for _ in range(max(2, round(len(self.roster) * 0.4))):
            organizer = rng.choice(self.roster)
            same_org = [e for e in self.roster if e.org == organizer.org and e is not organizer]
            others = [e for e in self.roster if e is not organizer]
            pool = same_org if len(same_org) >= 3 else others
            invitees = rng.sample(pool, min(rng.randint(2, 7), len(pool)))
            attendees = [organizer, *invitees]
            speakers: list[tuple[Employee | None, str | None]] = []
            for e in attendees:
                first = e.full_name.split()[0]
                speakers.append(rng.choices(
                    ((e, e.full_name), (None, e.full_name), (None, f"{first} ({rng.choice(('Phone', 'iPhone'))})"),
                     (e, e.preferred_name or first)), (75, 10, 10, 5))[0])
            if rng.random() < 0.3:
                speakers.append((None, self.person(None)))
            if rng.random() < 0.15:
                speakers.append((None, f"Call-in User {rng.randint(1, 9)}"))
            meeting_id = "mtg_" + self.hexid(10)
            style = rng.choices(("seconds", "epoch"), (80, 20))[0]
            t = self.instant(organizer, room=timedelta(minutes=75)) + timedelta(seconds=rng.randint(0, 120))
            for k in range(rng.randint(10, 30)):
                who, speaker_label = rng.choice(speakers)
                ctx = _Ctx(who, None, [a for a in attendees if a is not who])
                if rng.random() < 0.2:
                    label = rng.choices(LABELS, LABEL_WEIGHTS)[0]
                    text, spans = self.render(rng.choice(SPOKEN_PLANTED[label]), ctx)
                else:
                    text, spans = self.render(rng.choice(SPOKEN_HARMLESS), ctx)
                end = t + timedelta(milliseconds=rng.randint(1500, 25_000))
                segment_id = f"{meeting_id}-{k:03d}"
                rows.append((t, _row(
                    SOURCES["transcripts"], meeting_id=meeting_id, segment_id=segment_id,
                    ts_start=self.stamp(t, organizer, style),
                    ts_end=None if rng.random() < 0.1 else self.stamp(end, organizer, style),
                    speaker_employee_id=who.employee_id if who else None, speaker_label=speaker_label, text=text,
                )))
                if spans:
                    planted.append(_truth("transcripts", segment_id, "text", text, spans))
                t = end + timedelta(milliseconds=rng.randint(0, 6000))
        return [r for _, r in sorted(rows, key=lambda p: p[0])]

    def performance(self, planted: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One H2 review per employee; the manager's comments name the report and talk ratings and pay."""
        rng = self.rng
        rows = []
        for e in self.roster:
            rating = None if rng.random() < 0.04 else rng.choices(_RATINGS, _RATING_WEIGHTS)[0]
            calibrated = rating
            if rating and rng.random() < 0.15:
                i = _RATINGS.index(rating) + rng.choice((-1, 1))
                calibrated = _RATINGS[min(max(i, 0), len(_RATINGS) - 1)]
            bucket = "none" if calibrated is None else ("low", "low", "mid", "high", "high")[_RATINGS.index(calibrated)]
            pip = bucket == "low" and rng.random() < 0.6
            comp = None if rng.random() < 0.05 else {
                "none": 0.0, "low": 0.0, "mid": rng.uniform(1.5, 4.0), "high": rng.uniform(4.0, 12.0)}[bucket]
            comp = None if comp is None else round(comp, 1)
            manager = self.by_id.get(e.manager_id or "")
            ctx = _Ctx(manager, e, [p for p in self.roster if p.org == e.org and p is not e],
                       {"rating": calibrated or "", "cycle": CYCLE, "comp": f"{comp:g}" if comp is not None else ""})
            sentences = [rng.choice(REVIEW_OPENERS[bucket])]
            sentences += rng.sample(REVIEW_BODY[bucket], min(len(REVIEW_BODY[bucket]), rng.randint(1, 2)))
            if pip:
                sentences.append(rng.choice(REVIEW_PIP))
            if comp:
                sentences.append(rng.choice(REVIEW_COMP))
            elif comp == 0.0:
                sentences.append(REVIEW_NO_COMP)
            if calibrated == "strongly exceeds" or (bucket == "high" and rng.random() < 0.3):
                sentences.append(REVIEW_PROMO)
            comments, spans = self.render(" ".join(sentences), ctx)
            author = manager or e
            record_id = self.uid()
            rows.append(_row(
                SOURCES["performance"], record_id=record_id, employee_id=e.employee_id,
                manager_id=e.manager_id, cycle=CYCLE, rating=rating, calibrated_rating=calibrated, pip=pip,
                comp_change_pct=comp, comments=comments,
                ts=self.stamp(self.instant(author), author, rng.choices(("seconds", "epoch"), (85, 15))[0]),
            ))
            planted.append(_truth("performance", record_id, "comments", comments, spans))
        return rows

    def devices(self, messages: list[_Message], planted: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
        """Keystrokes and mouse for a handful of employees: a sign-in, then a few chat messages typed
        key by key (with a corrected typo, pasted secrets), ending at the moment the message was sent."""
        rng = self.rng
        by_sender: dict[str, list[_Message]] = defaultdict(list)
        for m in messages:
            start, _ = self.window(m.sender)
            if len(m.row["text"]) <= 160 and m.at >= start + timedelta(minutes=20):
                by_sender[m.sender.employee_id].append(m)
        typists = [e for e in self.roster if any(m.spans for m in by_sender[e.employee_id])]
        keys: list[tuple[datetime, dict[str, Any]]] = []
        mouse: list[tuple[datetime, dict[str, Any]]] = []
        for e in rng.sample(typists, min(TYPISTS, len(typists))):
            rhythm = Rhythm.of(e.employee_id)
            device_id = "LT-" + self.hexid(6).upper()
            session_id = "sess_" + self.hexid(16)
            style = rng.choice(("epoch", "epoch", "milliseconds"))
            screen_w, screen_h = rng.choice(_SCREENS)
            paste_mod = rng.choice(("Control", "Meta"))
            mine = by_sender[e.employee_id]
            typed = rng.sample([m for m in mine if m.spans], min(2, len([m for m in mine if m.spans])))
            typed += rng.sample([m for m in mine if not m.spans], min(2, len([m for m in mine if not m.spans])))
            typed.sort(key=lambda m: m.at)

            def emit(events: list[tuple[timedelta, str, str, list[str], str | None]], origin: datetime,
                     app: str, title: str, field_id: str, kind: str, session_id: str) -> None:
                for offset, key, action, mods, text in events:
                    t = origin + offset
                    keys.append((t, _row(
                        SOURCES["keystrokes"], event_id=self.uid(), ts=self.stamp(t, e, style),
                        employee_id=e.employee_id, device_id=device_id, session_id=session_id, app=app,
                        window_title=title, field_id=field_id, field_kind=kind, key=key, action=action,
                        modifiers=mods, text=text)))

            sign_in = max(typed[0].at - timedelta(minutes=rng.randint(3, 15)), self.window(e)[0])
            password = self.credential(None)
            title = "Sign In - Okta - Google Chrome"
            pace = rhythm.session_pace(rng)
            user_events, t_user = self.keystrokes(e.email or "", [], paste_mod, "Tab", rhythm, pace)
            emit(user_events, sign_in, "Chrome", title, "okta-signin-username", "email", session_id)
            pass_events, t_pass = self.keystrokes(password, [], paste_mod, "Enter", rhythm, pace)
            pass_start = sign_in + t_user + timedelta(milliseconds=rng.randint(200, 900))
            emit(pass_events, pass_start, "Chrome", title, "okta-signin-password", "password", session_id)
            busy_until = pass_start + t_pass
            mouse_session = session_id
            for value, label, field_id in ((e.email or "", "EMAIL", "okta-signin-username"),
                                           (password, "CREDENTIAL", "okta-signin-password")):
                planted.append(_truth("keystrokes", f"{session_id}:{field_id}", "key", value,
                                      [{"start": 0, "end": len(value), "label": label, "value": value}]))
            for k, m in enumerate(typed, 1):
                text = m.row["text"]
                pastes = [(s["start"], s["end"]) for s in m.spans if s["label"] in ("API_KEY", "CARD")]
                if k > 1:  # every later message is typed in a session of its own (the typist came back)
                    session_id, pace = "sess_" + self.hexid(16), rhythm.session_pace(rng)
                events, duration = self.keystrokes(text, pastes, paste_mod, "Enter", rhythm, pace)
                title = {"public": f"#{m.channel.name} - Halden - Slack", "group": "Group DM - Halden - Slack",
                         "dm": "Direct message - Halden - Slack"}[m.channel.kind]
                field_id = f"message-composer-{k}"
                origin = m.at - duration - timedelta(milliseconds=rng.randint(50, 300))
                if origin < busy_until:  # one keyboard: never type two messages at once
                    continue
                emit(events, origin, "Slack", title, field_id, "text", session_id)
                busy_until = m.at
                if m.spans:
                    planted.append(_truth("keystrokes", f"{session_id}:{field_id}", "key", text, m.spans))
            span_ms = int((typed[-1].at - sign_in).total_seconds() * 1000)
            x, y = rng.uniform(0, screen_w), rng.uniform(0, screen_h)
            for _ in range(rng.randint(50, 90)):
                t = sign_in + timedelta(milliseconds=rng.randrange(max(1, span_ms)))
                action = rng.choices(("move", "click", "scroll"), (70, 20, 10))[0]
                if action == "move":
                    x = min(max(x + rng.gauss(0, screen_w / 8), 0.0), screen_w)
                    y = min(max(y + rng.gauss(0, screen_h / 8), 0.0), screen_h)
                app = rng.choice(("Slack", "Slack", "Chrome"))
                mouse.append((t, _row(
                    SOURCES["mouse"], event_id=self.uid(), ts=self.stamp(t, e, style), employee_id=e.employee_id,
                    device_id=device_id, session_id=mouse_session, app=app,
                    window_title="Halden - Slack" if app == "Slack" else "Jira - Google Chrome", action=action,
                    x=round(x, 1), y=round(y, 1),
                    button=rng.choice(("left", "left", "left", "right")) if action == "click" else None,
                    screen_w=screen_w, screen_h=screen_h)))
        return [r for _, r in sorted(keys, key=lambda p: p[0])], [r for _, r in sorted(mouse, key=lambda p: p[0])]

    def keystrokes(self, text: str, pastes: list[tuple[int, int]], paste_mod: str, end_key: str,
                   rhythm: Rhythm, pace: float) -> tuple[list[tuple[timedelta, str, str, list[str], str | None]], timedelta]:
        """Down/up events (offsets from the first) that leave `text` in the field, then `end_key`, timed by
        the typist's `rhythm` at this session's `pace`. A 'Paste' key carries the pasted text on both its
        down and up event; only 'down' inserts it."""
        rng = self.rng
        typable = [i for i, ch in enumerate(text) if ch.isascii() and ch.isalpha()
                   and not any(a <= i < b for a, b in pastes)]
        typo_at = rng.choice(typable) if typable and rng.random() < 0.7 else -1
        presses: list[tuple[str, list[str], str | None]] = []
        i = 0
        while i < len(text):
            paste = next(((a, b) for a, b in pastes if a == i), None)
            if paste:
                presses.append(("Paste", [paste_mod], text[paste[0]:paste[1]]))
                i = paste[1]
                continue
            if i == typo_at:
                presses += [press(neighbour(text[i], rng)), ("Backspace", [], None)]
            presses.append(press(text[i]))
            i += 1
        presses.append((end_key, [], None))
        events: list[tuple[timedelta, str, str, list[str], str | None]] = []
        t = timedelta(0)

        def ms(value: float) -> timedelta:
            return timedelta(milliseconds=round(value))

        for key, mods, pasted in presses:
            for mod in mods:
                events.append((t, mod, "down", [mod], None))
                t += ms(rhythm.flight("named", rng, pace) * 0.3)
            hold = ms(rhythm.hold(key_class(key), rng))
            events += [(t, key, "down", mods, pasted), (t + hold, key, "up", mods, pasted)]
            t += hold
            for mod in mods:
                t += ms(rhythm.hold("named", rng) * 0.25)
                events.append((t, mod, "up", [], None))
            t += ms(rhythm.flight(key_class(key), rng, pace))
        return events, t


def _truth(source: str, record_id: str, field_name: str, text: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": f"{source}:{record_id}", "source": source, "field": field_name, "text": text,
            "spans": sorted(spans, key=lambda s: s["start"])}


def generate_night(out: str | Path, ds: str, employees: int = 50, seed: int = 0) -> dict[str, int]:
    """Write one raw night under `out`; return row counts per source (plus 'roster' and 'planted').

    Layout: `roster.jsonl`, `<source>/ds=<ds>/part-0000.jsonl.gz` per source, and the planted values'
    ground truth in `_ground_truth/ds=<ds>/planted.jsonl` (one line per text that carries any).
    """
    out = private_dir(Path(out), owned_from=Path(out))
    night = _Night(ds, employees, seed)
    planted: list[dict[str, Any]] = []
    messages = night.chat(planted)
    rows: dict[str, list[dict[str, Any]]] = {
        "chat": [m.row for m in messages],
        "transcripts": night.transcripts(planted),
        "performance": night.performance(planted),
    }
    rows["keystrokes"], rows["mouse"] = night.devices(messages, planted)
    _write_jsonl(out / "roster.jsonl", [{f: getattr(e, f) for f in ROSTER_FIELDS} for e in night.roster])
    for source, source_rows in rows.items():
        _write_jsonl_gz(out / source / f"ds={ds}" / PART_FILE, source_rows)
    _write_jsonl(out / GROUND_TRUTH_DIR / f"ds={ds}" / "planted.jsonl", planted)
    return {**{s: len(r) for s, r in rows.items()}, "roster": len(night.roster), "planted": len(planted)}
