"""Keystroke and mouse streams end to end: rebuilt text is scrubbed, events are masked and carry no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from leaks import MUST_NOT_LEAK, parquet_strings, planted, roster_values, survivors
from support import DELETED_SECRET, DS, Night, run_night

from pipeline.policy import default_policy_path

pytestmark = pytest.mark.e2e


def _run(night: Night, root: Path, key_detail: str) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text())
    policy["events"]["key_detail"] = key_detail
    path = root / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    clean = root / "clean"
    result = run_night(night, clean, "--policy", str(path))
    assert result.returncode == 0, result.stderr
    return clean


@pytest.fixture(scope="module")
def chars(night: Night, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run that publishes typed characters wherever nothing sensitive touched them (the riskier mode)."""
    return _run(night, tmp_path_factory.mktemp("chars"), "char")


def typed_runs(events: pd.DataFrame) -> list[str]:
    """Per session, the published characters of consecutive key-downs glued together."""
    downs = events[(events["source"] == "keystrokes") & (events["action"] == "down")]
    runs = []
    for _, session in downs.sort_values(["session_pid", "seq"]).groupby("session_pid"):
        current = ""
        for key in session["key"]:
            if isinstance(key, str) and len(key) == 1:
                current += key
            elif key != "Shift":
                runs.append(current)
                current = ""
        runs.append(current)
    return [r for r in runs if r]


def test_no_planted_value_is_spelled_by_published_keys(night: Night, chars: Path) -> None:
    events = pd.read_parquet(chars / "events" / f"ds={DS}")
    runs = typed_runs(events)
    assert sum(map(len, runs)) > 200, "char mode publishes plenty of harmless typing"
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK | {"PERSON"}, {"keystrokes", "chat"})}
    values |= roster_values(night.roster) | {DELETED_SECRET.split()[-1]}
    blob = "\n".join(runs).casefold()
    assert [v for v in values if len(v) >= 4 and v.casefold() in blob] == []


def test_typed_then_deleted_is_not_recoverable(chars: Path) -> None:
    events = pd.read_parquet(chars / "events" / f"ds={DS}")
    blob = "".join(k for k in events["key"].dropna() if len(k) == 1)
    secret = DELETED_SECRET.split()[-1]
    assert secret[:8] not in blob and "example.org" not in blob
    assert (events["key"] == "<redacted>").sum() >= len(secret)


def test_typed_text_joins_the_text_dataset_scrubbed(night: Night, chars: Path) -> None:
    text = pd.read_parquet(chars / "text" / f"ds={DS}")
    typed = text[text["source"] == "keystrokes"]
    assert len(typed) > 0 and typed["context"].str.startswith("typed:").all()
    assert "nvm" in set(typed["text"]), "the message actually sent survives, the deleted draft does not"
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK, {"keystrokes"})} | roster_values(night.roster)
    assert survivors(parquet_strings(chars / "text"), values) == set()


def test_password_fields_never_yield_text_and_their_keys_are_masked(chars: Path) -> None:
    text = pd.read_parquet(chars / "text" / f"ds={DS}")
    assert not text["context"].eq("typed:password").any()
    events = pd.read_parquet(chars / "events" / f"ds={DS}")
    assert (events["key_class"] == "masked").sum() > 0
    report = json.loads((chars / "_reports" / f"ds={DS}" / "report.json").read_text())
    assert report["keystrokes"]["password"] > 0


def test_events_carry_no_absolute_time_and_normalised_mouse(chars: Path) -> None:
    events = pd.read_parquet(chars / "events" / f"ds={DS}")
    assert not any(pd.api.types.is_datetime64_any_dtype(t) for t in events.dtypes)
    assert (events["t_ms"] % 10 == 0).all() and (events["t_ms"] >= 0).all()
    mouse = events[events["source"] == "mouse"]
    assert len(mouse) > 0 and mouse["x"].between(0, 1).all() and mouse["y"].between(0, 1).all()
    assert ((mouse["x"] * 100).round(4) % 1 == 0).all(), "positions are quantised to 1/100"
    assert set(events["app_category"]) <= {"chat", "email", "browser", "ide", "terminal", "docs", "other"}
