"""How a generated typist types: a persistent personal rhythm per employee (what makes typing a biometric, and
what the re-identification gate measures), and the keys a character takes."""

from __future__ import annotations

import random
from dataclasses import dataclass

QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
SHIFTED = set('~!@#$%^&*()_+{}|:"<>?')

TYPISTS = 12  # employees per night who type on a logged device (each in up to 4 sessions)
KEY_CLASSES = ("letter", "digit", "space", "punct", "named")
# Population means (ms) of how long a key of each class is held, and of the gap before the next key.
HOLD_MS = {"letter": 95.0, "digit": 100.0, "space": 88.0, "punct": 105.0, "named": 110.0}
FLIGHT_MS = {"letter": 135.0, "digit": 185.0, "space": 125.0, "punct": 210.0, "named": 240.0}


def key_class(key: str) -> str:
    if len(key) != 1:
        return "named"
    return "letter" if key.isalpha() else "digit" if key.isdigit() else "space" if key.isspace() else "punct"


@dataclass(frozen=True)
class Rhythm:
    """A typist's persistent keystroke rhythm: per key class, personal means and spreads of hold and flight
    times, and how often they pause. Drawn from the employee id alone, so an employee types alike in every
    session and every night (what makes typing a biometric, and what the re-identification gate measures)."""

    hold_ms: dict[str, float]
    hold_cv: float
    flight_ms: dict[str, float]
    flight_cv: float
    pause_rate: float

    @classmethod
    def of(cls, employee_id: str) -> Rhythm:
        rng = random.Random(f"rhythm:{employee_id}")
        hold_scale, speed = rng.lognormvariate(0, 0.18), rng.lognormvariate(0, 0.22)
        return cls(
            hold_ms={c: m * hold_scale * rng.lognormvariate(0, 0.15) for c, m in HOLD_MS.items()},
            hold_cv=rng.uniform(0.12, 0.3),
            flight_ms={c: m * speed * rng.lognormvariate(0, 0.15) for c, m in FLIGHT_MS.items()},
            flight_cv=rng.uniform(0.2, 0.45),
            pause_rate=rng.uniform(0.02, 0.07),
        )

    @staticmethod
    def session_pace(rng: random.Random) -> float:
        """How much faster or slower than usual the typist is in one session (a small drift)."""
        return rng.lognormvariate(0, 0.06)

    def hold(self, key_class: str, rng: random.Random) -> float:
        mean = self.hold_ms[key_class]
        return max(25.0, rng.gauss(mean, mean * self.hold_cv))

    def flight(self, key_class: str, rng: random.Random, pace: float) -> float:
        """Time from releasing a key to pressing the next; now and then a pause to think."""
        if rng.random() < self.pause_rate:
            return rng.uniform(800, 3000)
        mean = self.flight_ms[key_class] * pace
        return max(15.0, rng.gauss(mean, mean * self.flight_cv))


def press(ch: str) -> tuple[str, list[str], str | None]:
    if ch == "\n":
        return "Enter", ["Shift"], None  # a line break in a chat composer
    shifted = ch.isupper() or ch in SHIFTED
    return ch, ["Shift"] if shifted else [], None


def neighbour(ch: str, rng: random.Random) -> str:
    """A key next to `ch` on a QWERTY keyboard: the typo a hurried typist makes."""
    lower = ch.lower()
    for row in QWERTY:
        if lower in row:
            i = row.index(lower)
            wrong = rng.choice([row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)])
            return wrong.upper() if ch.isupper() else wrong
    return ch
