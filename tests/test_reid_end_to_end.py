"""The re-identification gate in a real night: the generated typists have persistent rhythms, so a night
published in the old form (10 ms steps, stable user pseudonyms) must fail with nothing published, and the
default form must pass with the figures in the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipeline.policy import default_policy_path
from support import DS, Night, run_night, scrubline

pytestmark = pytest.mark.e2e

PSEUDONYM = re.compile(r"\b[urcps]_[0-9a-f]{16}\b")


def _policy(tmp_path: Path, **events: object) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text())
    policy["events"].update(events)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_a_night_in_the_old_timing_form_fails_the_gate_and_publishes_nothing(night: Night, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    result = run_night(night, clean, "--policy", str(_policy(tmp_path, timing="step", time_step_ms=10)))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "re-identification: scaled_manhattan on keystrokes names the typist" in result.stderr
    assert "nothing published" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    for dataset in ("events", "text", "_reports"):
        assert not (clean / dataset).exists()
    assert not list(clean.rglob("*.parquet"))
    attempt = clean / "_attempts" / f"ds={DS}"
    report = json.loads((attempt / "report.json").read_text())
    reid = report["reid"]
    assert report["published"] is False and reid["measurable"] and reid["success"] is False
    assert reid["scaled_manhattan"]["top1"] > 2 * reid["chance_top1"]
    html = (attempt / "report.html").read_text()
    assert "Re-identification by typing rhythm" in html and "scaled_manhattan" in html
    assert not PSEUDONYM.search(json.dumps(reid)) and not PSEUDONYM.search(html)


def test_the_default_form_passes_the_gate_and_the_report_shows_the_figures(night: Night, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    result = run_night(night, clean)
    assert result.returncode == 0, result.stderr[-2000:]
    folder = clean / "_reports" / f"ds={DS}"
    reid = json.loads((folder / "report.json").read_text())["reid"]
    assert reid["measurable"] and reid["success"] and reid["users"] >= 5
    for attack in ("scaled_manhattan", "gradient_boosting"):
        assert reid[attack]["hits"] * reid["users"] <= 2 * reid["probes"], attack
    assert not PSEUDONYM.search(json.dumps(reid))
    assert "Re-identification by typing rhythm" in (folder / "report.html").read_text()
    check = scrubline("reid", str(clean / "events"))
    assert check.returncode == 0 and "gradient_boosting: top-1" in check.stdout
