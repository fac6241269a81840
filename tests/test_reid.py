"""The re-identification evaluator (pipeline/reid.py), the published timing forms (pipeline/timing.py) and
their policy settings."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.behaviour import build_events
from pipeline.demo import generate_night
from pipeline.keystrokes import mask_events, replay
from pipeline.policy import PolicyError, check_policy, load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.read_columnar import read_columnar
from pipeline.reid import (
    ATTACKS,
    Protocol,
    equal_error_rate,
    format_risk,
    gate,
    identification_risk,
    mouse_features,
    session_features,
)

DS = "2026-11-26"
KEYS = Pseudonymizer(b"r" * 32)
CLASSES = ("letter", "letter", "letter", "letter", "space", "punct", "digit", "named:Backspace")


def typed_sessions(users: int, sessions: int, keys: int = 60, personal: bool = True, seed: int = 0) -> pd.DataFrame:
    """Published-looking keystroke events: each user holds and spaces keys of each class in their own way
    (or, with personal=False, everyone alike)."""
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        who = random.Random(f"user{u}" if personal else "everyone")
        hold = {c: who.uniform(60, 140) for c in sorted(set(CLASSES))}
        flight = {c: who.uniform(80, 260) for c in sorted(set(CLASSES))}
        for s in range(sessions):
            t, seq = 0.0, 0
            for _ in range(keys):
                c = rng.choice(CLASSES)
                t += max(5.0, rng.gauss(flight[c], flight[c] * 0.15))
                h = max(5.0, rng.gauss(hold[c], hold[c] * 0.15))
                for at, action in ((t, "down"), (t + h, "up")):
                    rows.append({"user_pid": f"u_{u:016x}", "session_pid": f"s_{u:08x}{s:08x}", "source": "keystrokes",
                                 "seq": seq, "t_ms": int(round(at / 10) * 10), "action": action, "key_class": c})
                    seq += 1
    return pd.DataFrame(rows)


def test_both_attacks_name_typists_with_persistent_rhythms_far_above_chance() -> None:
    risk = identification_risk(typed_sessions(10, 3))
    assert risk["measurable"] and risk["users"] == 10 and risk["sessions"] == 30 and risk["probes"] == 30
    assert risk["chance_top1"] == 0.1
    assert risk["scaled_manhattan"]["top1"] >= 0.8
    assert risk["gradient_boosting"]["top1"] >= 0.4
    assert risk["scaled_manhattan"]["eer"] <= 0.15
    assert gate(risk, 2.0)  # fails the gate
    assert all(risk[a]["p_chance"] < 1e-6 for a in ATTACKS)


def test_the_gate_needs_the_excess_to_be_beyond_luck() -> None:
    """Three hits of six probes among five users (60% against a chance of 20%) could be luck; 30 of 60 is not."""
    small = {"measurable": True, "users": 5, "probes": 6, "chance_top1": 0.2,
             **{a: {"top1": 0.5, "hits": 3, "p_chance": 0.099} for a in ATTACKS}}
    assert not gate(small, 2.0, 0.01)
    assert gate(small, 2.0, 0.2)
    big = {**small, "probes": 60, **{a: {"top1": 0.5, "hits": 30, "p_chance": 1e-7} for a in ATTACKS}}
    assert len(gate(big, 2.0, 0.01)) == 2
    at_limit = {**big, **{a: {"top1": 0.4, "hits": 24, "p_chance": 1e-4} for a in ATTACKS}}
    assert not gate(at_limit, 2.0, 0.01)  # at most twice chance passes


def test_without_personal_rhythm_the_attacks_stay_near_chance() -> None:
    risk = identification_risk(typed_sessions(10, 3, personal=False))
    for attack in ATTACKS:
        assert risk[attack]["top1"] <= 2 * risk["chance_top1"], attack
        assert risk[attack]["eer"] >= 0.3, attack
    assert not gate(risk, 2.0)


def test_too_few_users_or_sessions_is_not_measurable_and_never_fails() -> None:
    few = identification_risk(typed_sessions(4, 3))
    assert not few["measurable"] and "4 users" in few["why"] and not gate(few, 2.0)
    single = identification_risk(typed_sessions(10, 1))
    assert not single["measurable"] and single["users"] == 0
    short = identification_risk(typed_sessions(10, 3, keys=10), Protocol(min_keys=20))
    assert not short["measurable"]


def test_probes_are_never_enrolled() -> None:
    """A session that is its user's only one cannot be named: the users taking part need two."""
    events = typed_sessions(8, 2)
    lonely = typed_sessions(1, 1, seed=5).assign(user_pid="u_lonely", session_pid="s_lonely")
    risk = identification_risk(pd.concat([events, lonely]))
    assert risk["users"] == 8 and risk["sessions"] == 16


def test_the_figures_hold_no_pseudonym() -> None:
    risk = identification_risk(typed_sessions(6, 2))
    text = json.dumps(risk) + format_risk(risk, 2.0)
    assert "u_" not in text and "s_" not in text


def test_features_are_per_session_medians_by_key_class() -> None:
    events = pd.DataFrame({
        "user_pid": "u_a", "session_pid": "s_a", "source": "keystrokes", "seq": range(6),
        "t_ms": [0, 100, 300, 350, 500, 520], "action": ["down", "up", "down", "up", "down", "up"],
        "key_class": ["letter", "letter", "letter", "letter", "space", "space"],
    })
    row = session_features(events).iloc[0]
    assert row["keys"] == 3
    assert row["hold:letter"] == 75  # holds of 100 and 50
    assert row["hold:space"] == 20
    assert row["flight:letter"] == 300  # down to down
    assert row["flight:space"] == 200
    assert row["flight:letter>space"] == 200


def test_equal_error_rate() -> None:
    assert equal_error_rate(np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])) == 0.0
    assert equal_error_rate(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == pytest.approx(1 / 3, abs=0.2)
    assert equal_error_rate(np.array([5.0, 6.0]), np.array([1.0, 2.0])) == 1.0


@pytest.fixture(scope="module")
def masked(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    raw = tmp_path_factory.mktemp("raw")
    generate_night(raw, DS)
    events = read_columnar(raw, "keystrokes", DS).table
    return mask_events(events, replay(events), {}, {})


def _events(masked: pa.Table, night: str = DS, keys: Pseudonymizer = KEYS, **form: object) -> pa.Table:
    return build_events("keystrokes", masked, {**load_policy().events, **form}, keys, (0.1, 0.1), night=night)


def test_the_generator_night_fails_the_gate_at_10_ms_and_passes_it_under_the_default(masked: pa.Table) -> None:
    policy = load_policy()
    assert policy.events["timing"] == "population"
    old = identification_risk(_events(masked, timing="step"), Protocol.of(policy.reid))
    assert old["measurable"] and gate(old, policy.reid.max_top1_over_chance)
    new = identification_risk(_events(masked), Protocol.of(policy.reid))
    assert new["measurable"] and not gate(new, policy.reid.max_top1_over_chance, policy.reid.significance)
    for attack in ATTACKS:
        assert new[attack]["hits"] * new["users"] <= 2 * new["probes"], attack  # the target itself, not only the gate


def test_a_small_night_at_chance_does_not_stop_under_any_of_many_keys(tmp_path: Path) -> None:
    """Six typists, the night the Airflow tests scrub: the default form is at chance, so no key may make the
    gate stop it by luck (at the old significance of 0.001, 3 of 400 random keys did)."""
    generate_night(tmp_path, DS, employees=6, seed=11)
    events = read_columnar(tmp_path, "keystrokes", DS).table
    small = mask_events(events, replay(events), {}, {})
    policy = load_policy()
    for k in range(20):
        risk = identification_risk(_events(small, keys=Pseudonymizer(bytes([k + 1]) * 32)), Protocol.of(policy.reid))
        assert risk["measurable"] and risk["users"] == 6
        assert not gate(risk, policy.reid.max_top1_over_chance, policy.reid.significance), k


@pytest.mark.parametrize("form", ["population", "population_banded", "session_mean"])
def test_a_timing_form_keeps_order_classes_and_pauses_and_reruns_byte_identically(masked: pa.Table, form: str) -> None:
    raw = _events(masked, timing="step", time_step_ms=1)
    out = _events(masked, timing=form)
    for column in ("user_pid", "session_pid", "seq", "action", "key_class", "split"):
        assert out[column].equals(raw[column]), column
    assert out.equals(_events(masked, timing=form))
    t, r = out["t_ms"].to_numpy(), raw["t_ms"].to_numpy()
    same = out["session_pid"].to_numpy(zero_copy_only=False)
    inside = np.r_[False, same[1:] == same[:-1]]
    assert (np.diff(t)[inside[1:]] >= 0).all()  # time never runs backwards inside a session
    gaps_raw, gaps_out = np.diff(r)[inside[1:]], np.diff(t)[inside[1:]]
    pauses = gaps_raw >= 1000
    assert pauses.any()
    assert (np.abs(gaps_out[pauses] - gaps_raw[pauses]) <= 510).all()  # a pause keeps its length to the second
    assert not np.array_equal(gaps_out[~pauses], gaps_raw[~pauses] // 10 * 10)


def test_speed_bands_split_the_pool_by_each_sessions_own_mean_gap() -> None:
    from pipeline.timing import speed_banded

    # two sessions: one typing a key event every 80 ms, one every 200 ms, with a 2 s pause in the first
    ms = np.array([0, 80, 160, 2160, 2240, 0, 200, 400, 600], np.int64)
    first, of = np.array([0, 5]), np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    classes = np.array([0, 1, 1, 1, 1, 0, 1, 1, 1])
    banded = speed_banded(classes, ms, first, of, {"pause_ms": 1000, "speed_bands_ms": [115, 135]})
    assert banded.tolist() == [0, 3, 3, 3, 3, 2, 5, 5, 5]  # class * 3 + band: the pause does not slow the first


def test_banded_draws_keep_a_fast_session_faster_than_a_slow_one(masked: pa.Table) -> None:
    """Under population_banded a session's drawn gaps come from its band's pool, so the published speed of a
    session follows its measured speed far more closely than under population (docs/reidentification.md)."""
    raw, banded = _events(masked, timing="step", time_step_ms=1), _events(masked, timing="population_banded")
    plain = _events(masked, timing="population")

    def speeds(events: pa.Table) -> np.ndarray:
        sessions = events["session_pid"].to_numpy(zero_copy_only=False)
        t = events["t_ms"].to_numpy()
        return np.array([np.median(np.diff(t[sessions == s])) for s in sorted(set(sessions))])

    r = speeds(raw)
    assert np.corrcoef(r, speeds(banded))[0, 1] > np.corrcoef(r, speeds(plain))[0, 1]


def test_population_draws_are_keyed_by_night_and_key(masked: pa.Table) -> None:
    base = _events(masked)["t_ms"]
    assert not base.equals(_events(masked, night="2026-11-27")["t_ms"])
    assert not base.equals(_events(masked, keys=Pseudonymizer(b"o" * 32))["t_ms"])


def test_timing_policy_settings_are_strict() -> None:
    raw = load_policy().raw
    with pytest.raises(PolicyError, match="events.timing"):
        check_policy({**raw, "events": {**raw["events"], "timing": "shuffle"}})
    with pytest.raises(PolicyError, match="events.pause_ms"):
        check_policy({**raw, "events": {**raw["events"], "pause_ms": 0}})
    with pytest.raises(PolicyError, match="reid.max_top1_over_chance"):
        check_policy({**raw, "reid": {"max_top1_over_chance": 0.5}})
    with pytest.raises(PolicyError, match="reid.min_user: unknown key"):
        check_policy({**raw, "reid": {"min_user": 3}})
    assert check_policy(raw).reid.min_users == 5


def test_cli_reports_figures_and_exits_3_when_the_gate_fails(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pandas(typed_sessions(8, 3), preserve_index=False), path)
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "reid", str(path)], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "scaled_manhattan: top-1" in done.stdout and "FAILS" in done.stdout and "u_" not in done.stdout
    flat = tmp_path / "flat.parquet"
    pq.write_table(pa.Table.from_pandas(typed_sessions(8, 3, personal=False), preserve_index=False), flat)
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "reid", str(flat), "--json"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["measurable"]


def test_the_cmu_converter_rebuilds_holds_and_flights_as_raw_keystrokes() -> None:
    """bench/convert_cmu_keystrokes.py on two made-up rows in the benchmark's layout."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("convert_cmu", Path(__file__).parents[1] / "bench" / "convert_cmu_keystrokes.py")
    assert spec is not None and spec.loader is not None
    convert_cmu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert_cmu)
    names = [name for name, _ in convert_cmu.KEYS]
    row = {"subject": "s900", "sessionIndex": "1"}
    for k, name in enumerate(names):
        row[f"H.{name}"] = "0.1000"
        if k + 1 < len(names):
            row[f"DD.{name}.{names[k + 1]}"] = "0.2500"
            row[f"UD.{name}.{names[k + 1]}"] = "0.1500"
    events = convert_cmu.convert([{**row, "rep": "1"}, {**row, "rep": "2"}], reps_per_session=1, rep_gap_ms=1500)
    assert len(events) == 2 * 2 * len(names)
    assert {e["session_id"] for e in events} == {"cmu-s900-1-0", "cmu-s900-1-1"}
    first = sorted((e for e in events if e["session_id"] == "cmu-s900-1-0"), key=lambda e: e["ts"])
    downs = [e["ts"] for e in first if e["action"] == "down"]
    assert np.diff(downs).tolist() == [250] * (len(names) - 1)
    assert [e["key"] for e in first if e["action"] == "down"] == [".", "t", "i", "e", "5", "R", "o", "a", "n", "l", "Enter"]
    assert next(e for e in first if e["key"] == "R")["modifiers"] == ["Shift"]
    ups = {e["key"]: e["ts"] for e in first if e["action"] == "up"}
    assert ups["t"] - downs[1] == 100


@pytest.mark.parametrize("form", ["population", "population_banded", "session_mean", "step"])
@pytest.mark.parametrize("count", [2, 5])
def test_session_chunks_staged_apart_publish_the_whole_partitions_events(masked: pa.Table, form: str, count: int) -> None:
    """Chunks hold whole sessions; their staged events, combined, get the night's timing pool (issue 14)."""
    from pipeline.behaviour import STAGED_EVENTS_SCHEMA, finish_events
    from pipeline.chunks import session_chunks

    settings = {**load_policy().events, "timing": form}
    whole = build_events("keystrokes", masked, settings, KEYS, (0.1, 0.1), night=DS)
    bucket = session_chunks(masked, count)
    assert len(set(bucket.tolist())) == count, "the generated sessions spread over every chunk"
    staged = [build_events("keystrokes", masked.filter(pa.array(bucket == i)), settings, KEYS, (0.1, 0.1), night=DS, staged=True)
              for i in range(count)]
    assert all(t.schema.equals(STAGED_EVENTS_SCHEMA) for t in staged)
    combined = finish_events(pa.concat_tables(staged[::-1]), settings)  # in any chunk order
    keys = [("session_pid", "ascending"), ("seq", "ascending")]
    assert combined.sort_by(keys).equals(whole.sort_by(keys))
    if form == "population":
        apart = pa.concat_tables(finish_events(t, settings) for t in staged)
        assert not apart.sort_by(keys).equals(whole.sort_by(keys)), "a chunk's own pool is not the night's"


def mouse_sessions(users: int, sessions: int, moves: int = 60, personal: bool = True, seed: int = 0) -> pd.DataFrame:
    """Published-looking mouse events on the 1/100 grid: each user moves in steps of their own length and
    turning, at their own speed, and clicks and scrolls at their own rates (or, personal=False, all alike)."""
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        who = random.Random(f"mouser{u}" if personal else "everyone")
        step, bend, pace = who.uniform(0.01, 0.06), who.uniform(0.1, 1.2), who.uniform(8, 40)
        clicks, scrolls = who.uniform(0.05, 0.3), who.uniform(0.0, 0.2)
        for s in range(sessions):
            x, y, heading, t = rng.random(), rng.random(), rng.uniform(-3, 3), 0.0
            for seq in range(moves):
                roll = rng.random()
                action = "click" if roll < clicks else "scroll" if roll < clicks + scrolls else "move"
                if action == "move":
                    heading += rng.gauss(0, bend)
                    length = max(0.002, rng.gauss(step, step * 0.2))
                    x = min(max(x + length * np.cos(heading), 0.0), 1.0)
                    y = min(max(y + length * np.sin(heading), 0.0), 1.0)
                t += max(1.0, rng.gauss(pace, pace * 0.2))
                rows.append({"user_pid": f"u_{u:016x}", "session_pid": f"m_{u:08x}{s:08x}", "source": "mouse",
                             "seq": seq, "t_ms": int(round(t / 10) * 10), "action": action,
                             "x": round(x, 2), "y": round(y, 2), "key_class": None})
    return pd.DataFrame(rows)


def test_mouse_attacks_name_users_with_personal_movement_far_above_chance() -> None:
    risk = identification_risk(mouse_sessions(10, 3))
    mouse = risk["mouse"]
    assert mouse["measurable"] and mouse["users"] == 10 and mouse["sessions"] == 30 and mouse["chance_top1"] == 0.1
    assert mouse["scaled_manhattan"]["top1"] >= 0.6 and mouse["gradient_boosting"]["top1"] >= 0.4
    assert not risk["measurable"], "no keystrokes in these events"
    problems = gate(risk, 2.0)
    assert problems and all("on mouse" in p for p in problems)
    assert "mouse: 10 users" in format_risk(risk, 2.0) and "FAILS" in format_risk(risk, 2.0)


def test_mouse_attacks_stay_near_chance_when_everyone_moves_alike() -> None:
    mouse = identification_risk(mouse_sessions(10, 3, personal=False))["mouse"]
    for attack in ATTACKS:
        assert mouse[attack]["top1"] <= 2 * mouse["chance_top1"], attack
    assert not gate({"measurable": False, "mouse": mouse}, 2.0)


def test_mouse_needs_enough_moves_and_sessions_and_holds_no_pseudonym() -> None:
    short = identification_risk(mouse_sessions(10, 3, moves=10))["mouse"]
    assert not short["measurable"] and "20+ moves" in short["why"]
    both = identification_risk(pd.concat([typed_sessions(6, 2), mouse_sessions(6, 2)]))
    assert both["measurable"] and both["mouse"]["measurable"]
    text = json.dumps(both) + format_risk(both, 2.0)
    assert "u_" not in text and "m_" not in text and "s_" not in text


def test_mouse_features_follow_the_pointer() -> None:
    """Two moves right by 3 and 4 hundredths, 10 ms each, then a turn of 90 degrees up, then a click."""
    events = pd.DataFrame({
        "user_pid": "u", "session_pid": "m", "source": "mouse", "seq": range(5),
        "t_ms": [0, 10, 20, 30, 50], "action": ["move", "move", "move", "move", "click"],
        "x": [0.10, 0.13, 0.17, 0.17, 0.17], "y": [0.5, 0.5, 0.5, 0.55, 0.55],
    })
    row = mouse_features(events).iloc[0]
    assert row["moves"] == 4
    assert row["step"] == pytest.approx(4.0) and row["speed"] == pytest.approx(0.4)  # steps 3, 4, 5 per 10 ms
    assert row["turn"] == pytest.approx(np.pi / 4)  # 0 then pi/2: median of the two turns
    assert row["rest"] == pytest.approx(20.0) and row["click"] == pytest.approx(0.2)
