"""Per-run canaries: synthetic records with known fake values, scrubbed beside the real rows, then removed.

They prove, every night, that the detectors the policy relies on are alive: a model that failed to load,
a recognizer switched off by mistake or a broken pattern lowers canary recall, and the run fails before
anything is published. Each class gets `canaries.per_class` canaries a night in all, so its recall rests on
enough of them to mean something; the night's set is drawn once from the ds (Faker and a Random seeded by it,
so a re-run plants the same canaries) and shared out among the night's text partitions. The phrasings are data
(`canaries.yaml`), for a reviewer to read.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from importlib import resources
from typing import Any

import yaml
from faker import Faker

from pipeline.evaluate import TOKEN, score
from pipeline.roster import Employee

CANARY_PREFIX = "__scrubline_canary__:"  # marks canary employees and sessions; never a real id
TYPED_SECRET = "TYPED_SECRET"


@cache
def templates() -> dict[str, Any]:
    """The phrasings of every class (pipeline/canaries.yaml, package data)."""
    return yaml.safe_load(resources.files("pipeline").joinpath("canaries.yaml").read_text(encoding="utf-8"))


DISCLOSURE_FRAMES: dict[str, tuple[str, ...]] = {k: tuple(v["frames"]) for k, v in templates()["disclosures"].items()}
DISCLOSURE_PHRASES: dict[str, tuple[str, ...]] = {k: tuple(v["phrases"]) for k, v in templates()["disclosures"].items()}
TEXT_LABELS = (*templates()["values"], *DISCLOSURE_FRAMES)


@dataclass(frozen=True)
class TypedCanary:
    """Key events that type secrets, and the ids of the events whose characters must be hidden."""

    rows: list[dict[str, Any]]
    secret_events: dict[str, list[str]]  # canary name -> event ids typing its secret


def _faker(ds: str, salt: str) -> tuple[Faker, random.Random]:
    seed = int(datetime.strptime(ds, "%Y-%m-%d").strftime("%Y%m%d")) * 31 + sum(map(ord, salt))
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return fake, random.Random(seed)


def canary_employees(ds: str, count: int = 12) -> tuple[Employee, ...]:
    """A fake roster whose names the roster recognizer must catch like any colleague's."""
    fake, _ = _faker(ds, "roster")
    out = []
    for i in range(count):
        first, last = fake.first_name(), fake.last_name()
        out.append(Employee(
            employee_id=f"{CANARY_PREFIX}{i}",
            full_name=f"{first} {last}",
            handle=f"{first[0]}{last}".lower(),
            email=f"{first}.{last}@canary.example".lower(),
        ))
    return tuple(out)


# --- value makers: each draws one fake value; "fake" means a reserved range wherever one exists -------------

Maker = Callable[[Faker, random.Random, tuple[Employee, ...]], str]


def _password(fake: Faker, rng: random.Random, employees: tuple[Employee, ...] = ()) -> str:
    words = ["Maple", "Orbit", "Tundra", "Velvet", "Cobalt", "Harbor", "Quartz", "Saffron"]
    return f"{rng.choice(words)}{rng.randint(10, 99)}{rng.choice('!#$%&*')}{rng.choice(words).lower()}"


def _api_key(fake: Faker, rng: random.Random, employees: tuple[Employee, ...] = ()) -> str:
    """An AWS access key id or a GitHub token shape, random characters."""
    if rng.random() < 0.5:
        return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    return "ghp_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(36))


def _email(fake: Faker, rng: random.Random, employees: tuple[Employee, ...] = ()) -> str:
    """At a reserved example domain (RFC 2606), so no mailbox is anyone's."""
    domain = rng.choice(["example.com", "example.org", "example.net"])
    return f"{fake.first_name()}.{fake.last_name()}{rng.randint(1, 99)}@{domain}".lower()


def _phone(fake: Faker, rng: random.Random, employees: tuple[Employee, ...] = ()) -> str:
    """North American 555-01xx or UK 020 7946 0xxx: the ranges set aside for fiction."""
    area, line = rng.randint(201, 989), rng.randint(0, 99)
    return rng.choice([
        f"({area}) 555-01{line:02d}", f"+1 {area} 555 01{line:02d}",
        f"+44 20 7946 0{rng.randint(0, 999):03d}", f"020 7946 0{rng.randint(0, 999):03d}",
    ])


def _card(fake: Faker, rng: random.Random, employees: tuple[Employee, ...] = ()) -> str:
    """Luhn-valid random digits of a card brand's shape (nobody's card but by chance), plain or in groups."""
    number = fake.credit_card_number(card_type=rng.choice(["visa16", "mastercard"]))
    return " ".join(number[i : i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else number


def _ssn(fake: Faker, rng: random.Random, employees: tuple[Employee, ...] = ()) -> str:
    """Area 900-999, which the SSA never issues."""
    return f"{rng.randint(900, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


def _roster_name(fake: Faker, rng: random.Random, employees: tuple[Employee, ...]) -> str:
    """A canary colleague (canary_employees) by full name or by @handle."""
    employee = rng.choice(employees)
    return employee.full_name if rng.random() < 0.5 else "@" + employee.handle


MAKERS: dict[str, Maker] = {
    "password": _password, "api_key": _api_key, "email": _email, "phone": _phone, "card": _card, "ssn": _ssn,
    "roster_name": _roster_name,
}


def _unique(make: Callable[[], str], used: set[str]) -> str:
    """A value not planted yet tonight: a few draws at most, the makers' spaces being large, except roster names
    (two per canary colleague), which repeat once a policy's per_class outgrows them."""
    for _ in range(100):
        if (value := make()) not in used:
            break
    used.add(value)
    return value


def disclosure_canary(label: str, rng: random.Random, phrase: str | None = None) -> tuple[str, str]:
    """A (template, value) pair for one disclosure canary: the template holds "{v}" where the value goes."""
    phrase = (phrase or rng.choice(DISCLOSURE_PHRASES[label])).format(
        pct=rng.randint(3, 25), k=rng.randint(60, 190), r=rng.randint(1, 5)
    )
    head, rest = phrase.split("[[", 1)
    value, tail = rest.split("]]", 1)
    return rng.choice(DISCLOSURE_FRAMES[label]).replace("{v}", head.replace("{", "{{") + "{v}" + tail), value


def _cycle(items: list[str], count: int, rng: random.Random) -> list[str]:
    """`count` items, every one of them before any repeats, in an order the night shuffles."""
    order = rng.sample(items, len(items))
    return [order[i % len(order)] for i in range(count)]


def night_canaries(ds: str, per_class: int, employees: tuple[Employee, ...]) -> list[dict[str, Any]]:
    """Tonight's labelled texts (the evaluation shape): `per_class` of every text class, in a fixed order."""
    fake, rng = _faker(ds, "text")
    records: list[tuple[str, str, str]] = []  # (template, label, value)
    used: set[str] = set()
    for label, spec in templates()["values"].items():
        make = MAKERS[spec["maker"]]
        for template in _cycle(spec["templates"], per_class, rng):
            records.append((template, label, _unique(partial(make, fake, rng, employees), used)))
    for label in DISCLOSURE_FRAMES:
        for phrase in _cycle(list(DISCLOSURE_PHRASES[label]), per_class, rng):
            template, value = disclosure_canary(label, rng, phrase)
            records.append((template, label, value))
    out = []
    for i, (template, label, value) in enumerate(records):
        start = template.index("{v}")
        out.append({
            "id": f"{CANARY_PREFIX}{label}:{i}",
            "text": template.replace("{v}", value),
            "spans": [{"start": start, "end": start + len(value), "label": label}],
        })
    return out


def canary_records(ds: str, share: int, shares: int, per_class: int, employees: tuple[Employee, ...]) -> list[dict[str, Any]]:
    """A text partition's share of tonight's canaries: every `shares`-th record from `share` (0-based) on, so
    the night's partitions together plant each one once (shares: the night's text partitions, run.plan)."""
    return night_canaries(ds, per_class, employees)[share::shares]


def typed_canary(ds: str, employee: Employee, count: int) -> TypedCanary:
    """A session typing `count` secrets, each in a field of its own, cycling through canaries.yaml's `typed`
    shapes: into password fields, into chat boxes and terminals, some typed then deleted."""
    fake, rng = _faker(ds, "keystrokes")
    start = datetime.strptime(ds, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(hours=3)
    rows: list[dict[str, Any]] = []
    secrets: dict[str, list[str]] = {}
    used: set[str] = set()
    shapes = templates()["typed"]
    for n in range(count):
        shape = shapes[n % len(shapes)]
        make = MAKERS[shape["maker"]]
        secret = _unique(partial(make, fake, rng, (employee,)), used)
        text = shape["text"].replace("{v}", secret)
        field = f"{CANARY_PREFIX}field{n}"
        keys = list(text) + (["Backspace"] * len(text) if shape.get("delete") else []) + ["Enter"]
        secret_at = text.index(secret)
        for i, key in enumerate(keys):
            event_id = f"{field}:{i}"
            if secret_at <= i < secret_at + len(secret):
                secrets.setdefault(field, []).append(event_id)
            rows.append({
                "event_id": event_id, "ts": start + timedelta(milliseconds=150 * len(rows)),
                "employee_id": employee.employee_id, "device_id": f"{CANARY_PREFIX}device",
                "session_id": f"{CANARY_PREFIX}session", "app": "Slack", "window_title": "Slack",
                "field_id": field, "field_kind": shape["field_kind"], "key": key, "action": "down", "modifiers": [],
                "text": None,
            })
    return TypedCanary(rows=rows, secret_events=secrets)


def score_texts(records: list[dict[str, Any]], scrubbed: list[str], surrogates: bool = False) -> dict[str, dict[str, int]]:
    """Planted and caught canaries per label, counted by the same leak rule as the evaluation, or with
    `surrogates` (the policy writes fake values) by `surviving_words`."""
    if not surrogates:
        result = score(records, scrubbed)
        return {label: {"planted": s.spans, "caught": s.spans - s.leaked} for label, s in result.labels.items()}
    out: dict[str, dict[str, int]] = {}
    for record, text in zip(records, scrubbed, strict=True):
        for span in record["spans"]:
            entry = out.setdefault(span["label"], {"planted": 0, "caught": 0})
            entry["planted"] += 1
            entry["caught"] += not surviving_words(record["text"], span["start"], span["end"], text)
    return out


_PLACEHOLDER = re.compile(r"<[A-Z][A-Za-z_]*>")  # <STREET_ADDRESS>, <PERSON_p_...>: not words of the text


def surviving_words(text: str, start: int, end: int, scrubbed: str) -> set[str]:
    """The words (three letters or more, or holding a digit; casefolded) of text[start:end] that the scrubbed
    text holds more often than the rest of the text does. The evaluation's rule aligns characters, which fits
    placeholders but not a fake value of the same shape ("Lee" aligns into "Leslie Barrera", digits into any
    phone number), so with surrogates a canary is missed when a word of its value is still a word of the output."""

    def words(value: str) -> Counter[str]:
        return Counter(t for t in TOKEN.findall(value.casefold()) if len(t) >= 3 or any(c.isdigit() for c in t))

    outside, found = words(text[:start] + " " + text[end:]), words(_PLACEHOLDER.sub(" ", scrubbed))
    return {t for t in words(text[start:end]) if found[t] > outside[t]}


def score_typed(canary: TypedCanary, masked_rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """A typed secret is caught when every event that typed one of its characters is hidden."""
    hidden = {r["event_id"] for r in masked_rows if r["key_class"] in ("redacted", "masked")}
    caught = sum(all(e in hidden for e in events) for events in canary.secret_events.values())
    return {TYPED_SECRET: {"planted": len(canary.secret_events), "caught": caught}}


def merge(*scores: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for part in scores:
        for label, s in part.items():
            total = out.setdefault(label, {"planted": 0, "caught": 0})
            total["planted"] += s["planted"]
            total["caught"] += s["caught"]
    return out


def wilson_interval(caught: int, planted: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of caught/planted: unlike p ± z·se it stays inside [0, 1] and is not
    [1, 1] when every canary of a small class was caught. (0, 1) when nothing was planted."""
    if planted <= 0:
        return (0.0, 1.0)
    p = caught / planted
    centre = p + z * z / (2 * planted)
    spread = z * math.sqrt(p * (1 - p) / planted + z * z / (4 * planted * planted))
    denominator = 1 + z * z / planted
    return (max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator))


def is_canary(value: str | None) -> bool:
    return bool(value) and value.startswith(CANARY_PREFIX)
