"""Per-run canaries: synthetic records with known fake values, scrubbed beside the real rows, then removed.

They prove, every night, that the detectors the policy relies on are alive: a model that failed to load,
a recognizer switched off by mistake or a broken pattern lowers canary recall, and the run fails before
anything is published. Values come from Faker seeded by the night, so a re-run plants the same canaries.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker

from pipeline.evaluate import TOKEN, score
from pipeline.roster import Employee

CANARY_PREFIX = "__scrubline_canary__:"  # marks canary employees and sessions; never a real id
TYPED_SECRET = "TYPED_SECRET"


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


def canary_employees(ds: str, count: int = 4) -> tuple[Employee, ...]:
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


def _aws_key(rng: random.Random) -> str:
    return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def _github_token(rng: random.Random) -> str:
    return "ghp_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(36))


def _password(rng: random.Random) -> str:
    words = ["Maple", "Orbit", "Tundra", "Velvet", "Cobalt", "Harbor", "Quartz", "Saffron"]
    return f"{rng.choice(words)}{rng.randint(10, 99)}{rng.choice('!#$%&*')}{rng.choice(words).lower()}"


# Disclosures have no one shape, so each night's canaries for them are drawn from many phrasings: a frame ("{v}"
# is the disclosing phrase, the span to catch) and a phrase, both picked per canary by the night's seed. The
# phrasings are written here for the canaries, apart from the model's training corpus and every evaluation set.
DISCLOSURE_FRAMES: dict[str, tuple[str, ...]] = {
    "PERFORMANCE": (
        "between us, {v}", "{v}, keep it quiet", "heard that {v}", "fyi {v}", "Speaker 2: so um {v}",
        "{v} apparently", "Re: {v}",
    ),
    "HEALTH": (
        "sorry, {v} so I'm out", "between us, {v}", "{v}, back tomorrow", "fyi {v}",
        "Speaker 1: uh {v}", "{v} - can we move the 1:1?", "heads up, {v}",
    ),
    "PRIVATE": (
        "between us, {v}", "{v}, don't tell anyone", "fyi {v}", "Speaker 1: yeah so {v}",
        "{v}, so I need friday off", "heads up, {v}", "{v} tbh",
    ),
}
# In each phrase the part in [[...]] is the canary's value: what the detectors must remove. Canaries prove the
# detectors alive, not that they generalise (docs/detection.md measures that): each phrasing here is one the
# shipped rules and model catch, checked by tests/test_disclosures.py.
DISCLOSURE_PHRASES: dict[str, tuple[str, ...]] = {
    "PERFORMANCE": (
        "he is [[on a PIP]]", "my bonus was [[{pct}%]]", "my salary is [[${k},000]]",
        "she got a [[{r} out of 5]] on her review", "he was [[let go]] last week", "my raise was [[{pct}%]]",
        "I got a [[written warning]]", "her [[role was eliminated]]", "they [[calibrated him down]]",
        "my sign-on bonus is [[€{k},000]]", "I was rated [[Needs Improvement]]",
        "he was [[passed over for promotion]]",
    ),
    "HEALTH": (
        "I have [[type 1 diabetes]]", "I'm off [[sick with the flu]]", "I have a [[psychiatrist appointment]]",
        "I'm starting [[chemo]] next week", "I get [[migraines]]", "I'm on [[antidepressants]]",
        "I have [[asthma]]", "I'm recovering from [[covid]]", "I'm on [[medical leave for back surgery]]",
        "I have an [[oncologist appointment]]", "I need [[a private room for insulin injections]]",
        "I'm out with [[a kidney stone]]",
    ),
    "PRIVATE": (
        "my partner and I [[broke up]]", "I'm [[going through a divorce]]", "I'm [[pregnant]]",
        "I'm [[in a final round with another company]]", "I'm [[interviewing at a competitor]]",
        "I went to the [[union meeting]]", "[[my visa expires]] next month", "I'm [[fasting for Ramadan]]",
        "[[my mom passed away]]", "I'm [[drowning in credit card debt]]", "I [[signed a union card]]",
        "I'm [[waiting on my green card]]",
    ),
}


def disclosure_canary(label: str, rng: random.Random) -> tuple[str, str]:
    """A (template, value) pair for one disclosure canary: the template holds "{v}" where the value goes."""
    phrase = rng.choice(DISCLOSURE_PHRASES[label]).format(
        pct=rng.randint(3, 25), k=rng.randint(60, 190), r=rng.randint(1, 5)
    )
    head, rest = phrase.split("[[", 1)
    value, tail = rest.split("]]", 1)
    return rng.choice(DISCLOSURE_FRAMES[label]).replace("{v}", head.replace("{", "{{") + "{v}" + tail), value


def canary_records(ds: str, source: str, count: int, employees: tuple[Employee, ...]) -> list[dict[str, Any]]:
    """Labelled texts (the evaluation shape) covering every sensitive class, `count` of them."""
    fake, rng = _faker(ds, source)
    makers = [
        lambda: ("my new password is {v}, don't share it", "CREDENTIAL", _password(rng)),
        lambda: ("pw: {v}", "CREDENTIAL", _password(rng)),
        lambda: ("deploy with key {v} until rotation", "API_KEY", _aws_key(rng)),
        lambda: ("CI token is {v}", "API_KEY", _github_token(rng)),
        lambda: ("send it to {v} please", "EMAIL", fake.free_email()),
        lambda: ("call me on {v} after lunch", "PHONE", f"({rng.randint(201, 989)}) {rng.randint(201, 989)}-{rng.randint(1000, 9999)}"),
        lambda: ("card number {v} for the offsite", "CARD", fake.credit_card_number(card_type="visa16")),
        lambda: ("her SSN is {v}", "SSN", fake.ssn()),
        lambda: ("ask {v} about the rollout", "ROSTER_NAME", rng.choice(employees).full_name),
        lambda: ("ping {v} when it's merged", "ROSTER_NAME", "@" + rng.choice(employees).handle),
        *(_disclosure_maker(label, rng) for label in DISCLOSURE_FRAMES),
    ]
    records = []
    for i in range(count):
        template, label, value = makers[i % len(makers)]()
        start = template.index("{v}")
        text = template.replace("{v}", value)
        records.append({
            "id": f"{CANARY_PREFIX}{source}:{i}",
            "text": text,
            "spans": [{"start": start, "end": start + len(value), "label": label}],
        })
    return records


def _disclosure_maker(label: str, rng: random.Random) -> Callable[[], tuple[str, str, str]]:
    def make() -> tuple[str, str, str]:
        frame, phrase = disclosure_canary(label, rng)
        return frame, label, phrase

    return make


def typed_canary(ds: str, employee: Employee) -> TypedCanary:
    """A session that types a password into a password field and a key into a chat box, then deletes a card."""
    fake, rng = _faker(ds, "keystrokes")
    start = datetime.strptime(ds, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(hours=3)
    rows: list[dict[str, Any]] = []
    secrets: dict[str, list[str]] = {}

    def type_text(text: str, field: str, kind: str, secret: str | None = None, then_delete: bool = False) -> None:
        keys = list(text) + (["Backspace"] * len(text) if then_delete else []) + ["Enter"]
        secret_at = text.index(secret) if secret else -1
        for i, key in enumerate(keys):
            event_id = f"{CANARY_PREFIX}{field}:{i}"
            if secret and secret_at <= i < secret_at + len(secret):
                secrets.setdefault(field, []).append(event_id)
            rows.append({
                "event_id": event_id, "ts": start + timedelta(milliseconds=150 * len(rows)),
                "employee_id": employee.employee_id, "device_id": f"{CANARY_PREFIX}device",
                "session_id": f"{CANARY_PREFIX}session", "app": "Slack", "window_title": "Slack",
                "field_id": field, "field_kind": kind, "key": key, "action": "down", "modifiers": [], "text": None,
            })

    password = _password(rng)
    type_text(password, "login", "password", secret=password)
    token = _github_token(rng)
    type_text(f"the token is {token}", "composer", "text", secret=token)
    card = fake.credit_card_number(card_type="visa16")
    type_text(f"card {card}", "draft", "text", secret=card, then_delete=True)
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


def is_canary(value: str | None) -> bool:
    return bool(value) and value.startswith(CANARY_PREFIX)
