"""Re-identification risk of published key timing: can typing rhythm tell which person typed a session?

Why: typing rhythm is a biometric. Whoever holds a labelled typing sample of an employee (an employer does)
could link a user_pid to a person through it, and through user_pid every scrubbed line of theirs. So every
night attacks its own published events the way keystroke-dynamics studies do, and the gate fails the night
when an attack does much better than chance.

Protocol: each session (session_pid) with at least `min_keys` key-downs is one sample, labelled by its
user_pid; users with at least `min_sessions` such sessions take part. In round r, every taking part user's
r-th session (if any) is a probe and all other sessions are enrolled; so no probe is ever enrolled. Two
attacks name the typist of each probe among the enrolled users:

- `scaled_manhattan`: Killourhy and Maxion's best classical detector, over per-session medians of hold
  times and key-down-to-key-down (flight) times by key class and by pair of key classes: the distance to a
  user's mean enrolled vector, each feature divided by its mean absolute deviation within users;
- `gradient_boosting`: scikit-learn's gradient boosting over the same features (log milliseconds).

Mouse dynamics likewise: each mouse session with at least `min_moves` moves is a sample, described by how the
pointer moves (step length, speed, how sharply it turns, how long it rests before a click) and what it does
(shares of clicks, scrolls and drags); the same two attacks run on those features, under `mouse` in the result.

Figures: top-1 identification accuracy (the user with the best score is the true one) against chance
(1 / users), and the equal error rate of verification (genuine: a probe's score for its own user; impostor:
for every other user) against chance 0.5. Only these aggregates leave this module, never a pseudonym.
Gaps of `IDLE_MS` or more are pauses, not rhythm, and are left out, as those studies do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import binom

IDLE_MS = 1_500
KEY_CLASSES = ("letter", "digit", "space", "punct", "named:Backspace", "named:Shift", "named:Enter", "named")
PAIRS = (
    ("letter", "letter"), ("letter", "space"), ("space", "letter"), ("letter", "punct"), ("punct", "space"),
    ("letter", "named:Backspace"), ("named:Backspace", "letter"), ("named:Shift", "letter"),
)
ATTACKS = ("scaled_manhattan", "gradient_boosting")


@dataclass(frozen=True)
class Protocol:
    """How much data a figure needs to mean something (the policy's `reid` section)."""

    min_users: int = 5
    min_sessions: int = 2
    min_keys: int = 20
    min_moves: int = 20
    max_rounds: int = 4
    # Above this many users, the first ones by user_pid (a keyed hash: an unbiased sample) take part, so the
    # learned attack's cost stays bounded on a large night; chance is then 1 / max_users.
    max_users: int = 50

    @classmethod
    def of(cls, settings: Any) -> Protocol:
        """From the policy's `reid` section (pipeline.policy.Reid)."""
        return cls(settings.min_users, settings.min_sessions_per_user, settings.min_keys_per_session,
                   settings.min_moves_per_session)


def session_features(events: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """One row per keystroke session (index: user_pid, session_pid): key-downs, then median hold and flight
    times by key class and median flight by pair of classes (NaN where the session has none)."""
    frame = events.to_pandas() if isinstance(events, pa.Table) else events
    frame = frame.loc[frame["source"] == "keystrokes", ["user_pid", "session_pid", "seq", "t_ms", "action", "key_class"]]
    frame = frame.sort_values(["session_pid", "seq"], kind="stable").reset_index(drop=True)
    cls = frame["key_class"].where(frame["key_class"].isin(KEY_CLASSES), None)
    named = frame["key_class"].fillna("").str.startswith("named:") & cls.isna()
    frame["cls"] = cls.mask(named, "named")
    t = frame["t_ms"].to_numpy(np.float64)
    down = (frame["action"] == "down").to_numpy()
    # a key-up's hold: from the last event of its session and class, when that is a key-down
    by_class = frame.sort_values(["session_pid", "cls", "seq"], kind="stable")
    same = (by_class["session_pid"].to_numpy()[1:] == by_class["session_pid"].to_numpy()[:-1]) & (
        by_class["cls"].to_numpy()[1:] == by_class["cls"].to_numpy()[:-1])
    rows = by_class.index.to_numpy()
    hold = np.full(len(frame), np.nan)
    pairs = np.flatnonzero(same & down[rows[:-1]] & ~down[rows[1:]])
    hold[rows[pairs + 1]] = t[rows[pairs + 1]] - t[rows[pairs]]
    frame["hold"] = np.where(hold < IDLE_MS, hold, np.nan)
    downs = frame.loc[down].copy()
    same_session = downs["session_pid"].to_numpy()[1:] == downs["session_pid"].to_numpy()[:-1]
    flight = np.r_[np.nan, np.where(same_session, np.diff(downs["t_ms"].to_numpy(np.float64)), np.nan)]
    downs["flight"] = np.where(flight < IDLE_MS, flight, np.nan)
    downs["pair"] = np.r_[None, np.where(same_session, downs["cls"].to_numpy()[:-1], None)]
    keys = ["user_pid", "session_pid"]
    parts = [downs.groupby(keys).size().rename("keys")]
    for value, frame_ in (("hold", frame), ("flight", downs)):
        medians = frame_.dropna(subset=["cls"]).groupby([*keys, "cls"])[value].median().unstack("cls")
        parts.append(medians.reindex(columns=list(KEY_CLASSES)).add_prefix(f"{value}:"))
    digraph = downs.dropna(subset=["cls", "pair"]).assign(pair=lambda d: d["pair"] + ">" + d["cls"])
    medians = digraph.groupby([*keys, "pair"])["flight"].median().unstack("pair")
    parts.append(medians.reindex(columns=[f"{a}>{b}" for a, b in PAIRS]).add_prefix("flight:"))
    return pd.concat(parts, axis=1).astype(np.float64)


def mouse_features(events: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """One row per mouse session (index: user_pid, session_pid): moves, then medians of step length (in
    hundredths of the screen), speed and turning angle between moves, the median rest before a click, and the
    shares of clicks, scrolls and drags among the session's events. Gaps of IDLE_MS or more are left out."""
    frame = events.to_pandas() if isinstance(events, pa.Table) else events
    frame = frame.loc[frame["source"] == "mouse"].reindex(columns=["user_pid", "session_pid", "seq", "t_ms", "action", "x", "y"])
    frame = frame.sort_values(["session_pid", "seq"], kind="stable").reset_index(drop=True)
    same = frame["session_pid"].eq(frame["session_pid"].shift())
    gap = frame["t_ms"].diff().where(same)
    gap = gap.where(gap < IDLE_MS)
    move = frame["action"].eq("move")
    xy = frame[["x", "y"]].astype(np.float64) * 100
    step_x, step_y = xy["x"].diff().where(same & move), xy["y"].diff().where(same & move)
    step = np.hypot(step_x, step_y)
    heading = np.arctan2(step_y, step_x).where(step > 0)
    turn = np.abs((heading.diff() + np.pi) % (2 * np.pi) - np.pi).where(same & same.shift(fill_value=False))
    frame = frame.assign(
        step=step, speed=(step / gap).where(gap > 0), turn=turn,
        rest=gap.where(frame["action"].eq("click") & frame["action"].shift().eq("move") & same),
        click=frame["action"].eq("click").astype(float), scroll=frame["action"].eq("scroll").astype(float),
        drag=frame["action"].eq("drag").astype(float), moves=move.astype(int),
    )
    grouped = frame.groupby(["user_pid", "session_pid"], sort=True)
    out = grouped[["step", "speed", "turn", "rest"]].median()
    out[["click", "scroll", "drag"]] = grouped[["click", "scroll", "drag"]].mean()
    out.insert(0, "moves", grouped["moves"].sum())
    return out


def identification_risk(events: pa.Table | pd.DataFrame, protocol: Protocol = Protocol()) -> dict[str, Any]:
    """Both attacks' figures on a night's key timing (see the module's docstring) and, under `mouse`, on its
    mouse movements; each `measurable: false` with why when the night is too small. Counts and rates only."""
    frame = events.to_pandas() if isinstance(events, pa.Table) else events
    risk = _risk(session_features(frame), "keys", protocol.min_keys, protocol)
    risk["mouse"] = _risk(mouse_features(frame), "moves", protocol.min_moves, protocol)
    return risk


def _risk(features: pd.DataFrame, count: str, minimum: int, protocol: Protocol) -> dict[str, Any]:
    """Both attacks on one kind of sample (rows: sessions; `count` its size, at least `minimum`)."""
    features = features[features[count] >= minimum]
    users = features.index.get_level_values("user_pid")
    per_user = pd.Series(users).value_counts()
    taking_part = per_user[per_user >= protocol.min_sessions].index.sort_values()[: protocol.max_users]
    features = features[users.isin(taking_part)].sort_index()
    out: dict[str, Any] = {
        "users": len(taking_part),
        "sessions": len(features),
        "chance_top1": round(1 / len(taking_part), 4) if len(taking_part) else None,
        "chance_eer": 0.5,
    }
    if len(taking_part) < protocol.min_users:
        why = (f"{len(taking_part)} users with {protocol.min_sessions}+ sessions of {minimum}+ {count}; "
               f"{protocol.min_users} needed")
        return {**out, "measurable": False, "why": why}
    label = features.index.get_level_values("user_pid").to_numpy()
    matrix = features.drop(columns=count).to_numpy()
    rank = features.groupby(level="user_pid").cumcount().to_numpy()
    results = {a: {"hits": 0, "probes": 0, "genuine": [], "impostor": []} for a in ATTACKS}
    for r in range(min(protocol.max_rounds, int(per_user.max()))):
        probe = rank == r
        if not probe.any():
            continue
        train, test = ~probe, probe
        names, y = np.unique(label[train], return_inverse=True)
        truth = np.searchsorted(names, label[test])
        with warnings.catch_warnings():  # all-NaN features (a class nobody typed) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            attacks = (("scaled_manhattan", _scaled_manhattan(matrix[train], y, len(names), matrix[test])),
                       ("gradient_boosting", _gradient_boosting(matrix[train], y, len(names), matrix[test])))
        for attack, scores in attacks:
            res = results[attack]
            res["hits"] += int((np.argmin(scores, axis=1) == truth).sum())
            res["probes"] += len(truth)
            own = np.zeros_like(scores, bool)
            own[np.arange(len(truth)), truth] = True
            res["genuine"].append(scores[own])
            res["impostor"].append(scores[~own])
    for attack, res in results.items():
        out[attack] = {
            "top1": round(res["hits"] / res["probes"], 4),
            "hits": res["hits"],
            "eer": round(equal_error_rate(np.concatenate(res["genuine"]), np.concatenate(res["impostor"])), 4),
            # how likely so many hits are by guessing: small means the attack really does better than chance
            "p_chance": float(f"{binom.sf(res['hits'] - 1, res['probes'], 1 / len(taking_part)):.3g}"),
        }
    out["probes"] = results[ATTACKS[0]]["probes"]
    return {**out, "measurable": True}


def _scaled_manhattan(train: np.ndarray, y: np.ndarray, users: int, probes: np.ndarray) -> np.ndarray:
    """Distances (probes x users); a feature missing on either side counts as the mean of those present."""
    means = np.stack([np.nanmean(train[y == u], axis=0) if (y == u).any() else np.full(train.shape[1], np.nan)
                      for u in range(users)]) if len(train) else np.zeros((users, 0))
    spread = np.nanmean(np.abs(train - means[y]), axis=0)
    overall = np.nanmean(np.abs(train - np.nanmean(train, axis=0)), axis=0)
    scale = np.where(np.isfinite(spread) & (spread > 0), spread, overall)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    diff = np.abs(probes[:, None, :] - means[None, :, :]) / scale
    present = np.isfinite(diff)
    counted = present.sum(axis=2)
    total = np.where(present, diff, 0.0).sum(axis=2)
    return np.where(counted > 0, total / np.maximum(counted, 1), np.inf)


def _gradient_boosting(train: np.ndarray, y: np.ndarray, users: int, probes: np.ndarray) -> np.ndarray:
    """Minus the class probabilities of a gradient-boosted classifier (lower is more likely, as distances)."""
    from sklearn.ensemble import GradientBoostingClassifier

    logs = np.log1p(np.maximum(np.vstack([train, probes]), 0.0))  # NaN stays NaN
    fill = np.nan_to_num(np.nanmedian(logs[: len(train)], axis=0), nan=0.0)
    logs = np.where(np.isnan(logs), fill, logs)
    model = GradientBoostingClassifier(n_estimators=40, max_depth=2, learning_rate=0.2, random_state=0)
    model.fit(logs[: len(train)], y)
    scores = np.zeros((len(probes), users))
    scores[:, model.classes_] = model.predict_proba(logs[len(train):])
    return -scores


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """The rate at which false rejects equal false accepts, over all thresholds (scores: lower = same person)."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    thresholds = np.unique(np.r_[genuine, impostor])
    false_reject = 1.0 - np.searchsorted(genuine, thresholds, side="right") / len(genuine)
    false_accept = np.searchsorted(impostor, thresholds, side="right") / len(impostor)
    i = int(np.argmin(np.abs(false_reject - false_accept)))
    return float((false_reject[i] + false_accept[i]) / 2)


def gate(risk: dict[str, Any], max_ratio: float, significance: float = 1e-6) -> list[str]:
    """Problems that fail the night: an attack naming the typist of more than `max_ratio` times chance of
    the probes, where so many hits are unlikely (below `significance`) to come from guessing. The second
    condition keeps a small night whose timing is at chance from failing on a lucky draw; on a larger
    night any top-1 above twice chance is far beyond luck."""
    problems = []
    for kind, figures, who in (("keystrokes", risk, "typist"), ("mouse", risk.get("mouse") or {}, "user")):
        if not figures.get("measurable"):
            continue
        limit = max_ratio * figures["chance_top1"]
        problems += [
            f"re-identification: {attack} on {kind} names the {who} of {figures[attack]['top1']:.0%} of held-apart "
            f"sessions, above {max_ratio:g} x chance ({limit:.0%})"
            for attack in ATTACKS
            if figures[attack]["hits"] * figures["users"] > max_ratio * figures["probes"]
            and figures[attack]["p_chance"] < significance
        ]
    return problems


def format_risk(risk: dict[str, Any], max_ratio: float, significance: float = 1e-6) -> str:
    """Lines for a terminal: each attack's figures against chance and the gate's limit, keys then mouse."""
    failing = gate(risk, max_ratio, significance)
    lines = []
    for kind, figures, unit in (("keystrokes", risk, "sessions"), ("mouse", risk.get("mouse"), "sessions")):
        if figures is None:
            continue
        head = f"{kind}: {figures['users']} users, {figures['sessions']} {unit}"
        if not figures["measurable"]:
            lines.append(f"{head}: not measurable ({figures['why']})")
            continue
        lines.append(f"{head}, {figures['probes']} held-apart probes; chance top-1 {figures['chance_top1']:.1%}, "
                     f"gate at {max_ratio:g} x chance ({max_ratio * figures['chance_top1']:.1%})")
        for attack in ATTACKS:
            top1 = figures[attack]["top1"]
            verdict = "FAILS" if any(f"{attack} on {kind}" in p for p in failing) else "ok"
            lines.append(f"  {attack}: top-1 {top1:.1%} ({top1 / figures['chance_top1']:.1f} x chance, "
                         f"p {figures[attack]['p_chance']:.2g} by guessing), EER {figures[attack]['eer']:.1%} "
                         f"(chance 50%)  {verdict}")
    return "\n".join(lines)
