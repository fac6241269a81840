"""The surrogate action end to end over the real CLI: a generated night with PERSON, EMAIL_ADDRESS and
PHONE_NUMBER set to `surrogate` publishes text that reads like text, every gate still works on it, and the
same key gives the same fake values on two runs and two nights while a rekey changes them."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from leaks import MUST_NOT_LEAK, parquet_strings, planted, roster_values, survivors
from support import DS, Night, run_night, scrubline

from pipeline import residual
from pipeline.canaries import canary_employees
from pipeline.demo import generate_night
from pipeline.policy import default_policy_path
from pipeline.pseudonym import Pseudonymizer
from pipeline.read import read_roster
from pipeline.roster import Roster
from pipeline.surrogates import Surrogates

pytestmark = pytest.mark.e2e

SECOND_DS = "2026-11-27"
SURROGATE = {"PERSON": "surrogate", "EMAIL_ADDRESS": "surrogate", "PHONE_NUMBER": "surrogate"}
PLACEHOLDERS = re.compile(r"<(?:PERSON|EMAIL_ADDRESS|PHONE_NUMBER)[>_]")
FAKE_EMAIL = re.compile(r"\b[a-z]+(?:[._-][a-z]+)?\d*@example\.(?:com|net|org)\b")
FAKE_PHONE = re.compile(r"555[ .-]?01\d\d(?!\d)")


def surrogate_policy(folder: Path, disabled: list[str] | None = None) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text())
    policy["entities"].update(SURROGATE)
    policy["recognizers_disabled"] = disabled or []
    path = folder / ("surrogate.yaml" if not disabled else "surrogate-blind.yaml")
    path.write_text(yaml.safe_dump(policy))
    return path


def texts(clean: Path, ds: str = DS) -> list[str]:
    return pd.read_parquet(clean / "text" / f"ds={ds}")["text"].tolist()


def other_key(folder: Path) -> Path:
    path = folder / "rekeyed.key"
    path.write_text("fedcba9876543210" * 4)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return surrogate_policy(tmp_path_factory.mktemp("policy"))


@pytest.fixture(scope="module")
def clean(night: Night, policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("surrogate-run") / "clean"
    result = run_night(night, root, "--policy", str(policy))
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def test_every_gate_passes_on_surrogate_output(clean: Path) -> None:
    gates = json.loads((clean / "_reports" / f"ds={DS}" / "inputs.json").read_text())["gates"]
    assert gates["residual"] == {"hits": {}, "success": True}, "surrogates themselves never fail the residual scan"
    assert all(d["success"] for d in gates["datasets"].values()), "nor the Great Expectations leak patterns"
    labels = gates["canaries"]["labels"]
    assert {"EMAIL", "PHONE", "ROSTER_NAME"} <= set(labels)
    assert all(c["ok"] and c["recall"] == 1.0 for name, c in labels.items() if name in {"EMAIL", "PHONE", "ROSTER_NAME"})


def test_published_text_reads_like_text_and_leaks_nothing(night: Night, clean: Path) -> None:
    published = texts(clean)
    blob = "\n".join(published)
    assert not PLACEHOLDERS.search(blob), "no typed placeholder or pseudonym for the surrogate entities"
    assert len(FAKE_EMAIL.findall(blob)) >= 5 and len(FAKE_PHONE.findall(blob)) >= 5
    redactions = pd.read_parquet(clean / "text" / f"ds={DS}")["redactions"]
    entities: Counter[str] = Counter()
    for row in redactions:
        entities.update({r["entity"]: r["count"] for r in row})
    assert entities["PERSON"] > 50 and entities["EMAIL_ADDRESS"] >= 5, "plenty of names and addresses were replaced"
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK, {"chat", "transcripts"})} | roster_values(night.roster)
    assert survivors(parquet_strings(clean / "text" / f"ds={DS}"), values) == set()
    roster = read_roster(night.raw / "roster.jsonl")
    assert residual.scan(published, roster) == {}


def test_each_colleague_has_one_fake_name_that_follows_the_key(night: Night, clean: Path, tmp_path: Path) -> None:
    """Two runs and two nights under one key write the same fake names; a rekey writes others."""
    roster = read_roster(night.raw / "roster.jsonl")
    full = Roster(roster.employees + canary_employees(DS))
    key = Pseudonymizer(night.key_file.read_bytes().strip())
    fakes = {e.employee_id: " ".join(Surrogates(key, full).names(e.employee_id)) for e in roster.employees}
    blob = "\n".join(texts(clean))
    seen = {i for i, name in fakes.items() if name in blob}
    assert len(seen) >= len(fakes) // 2, "most colleagues are named in full somewhere, under their fake name"

    second = tmp_path / "second"
    generate_night(second / "raw", SECOND_DS, employees=12, seed=7)
    assert (second / "raw" / "roster.jsonl").read_text() == (night.raw / "roster.jsonl").read_text()
    policy = surrogate_policy(tmp_path)
    result = scrubline("run", "--ds", SECOND_DS, "--raw", str(second / "raw"), "--clean", str(second / "clean"),
                       "--key-file", str(night.key_file), "--quarantine", str(second / "quarantine"), "--policy", str(policy))
    assert result.returncode == 0, result.stderr[-3000:]
    blob2 = "\n".join(texts(second / "clean", SECOND_DS))
    again = {i for i, name in fakes.items() if name in blob2}
    assert len(again & seen) >= len(seen) // 2, "the next night names the same colleagues by the same fake names"

    rekeyed = tmp_path / "rekeyed"
    result = run_night(Night(raw=night.raw, key_file=other_key(tmp_path)), rekeyed, "--policy", str(policy))
    assert result.returncode == 0, result.stderr[-3000:]
    blob3 = "\n".join(texts(rekeyed))
    assert not {i for i, name in fakes.items() if name in blob3}, "after a rekey no colleague keeps a fake name"
    new = Pseudonymizer(other_key(tmp_path).read_bytes().strip())
    assert sum(" ".join(Surrogates(new, full).names(i)) in blob3 for i in fakes) >= len(fakes) // 2


def test_same_key_rerun_gives_the_same_text(night: Night, clean: Path, policy: Path, tmp_path: Path) -> None:
    other = tmp_path / "clean"
    assert run_night(night, other, "--policy", str(policy)).returncode == 0
    assert sorted(texts(clean)) == sorted(texts(other))


def test_real_leaks_next_to_surrogates_fail_the_residual_scan_and_the_canaries(night: Night, tmp_path: Path) -> None:
    """With every phone recognizer off, real numbers and the phone canaries leak while names and e-mails are
    surrogates: the residual scan counts phones only (never the fake names and addresses beside them), the
    leaked canaries count as misses, and nothing is published."""
    from pipeline.detect.registry import DetectContext, build_recognizers
    from pipeline.policy import load_policy

    phone = [r.name for r in build_recognizers(DetectContext(load_policy(), Roster())) if "PHONE_NUMBER" in r.supported_entities]
    clean = tmp_path / "clean"
    result = run_night(night, clean, "--policy", str(surrogate_policy(tmp_path, phone)))
    assert result.returncode != 0
    assert "canary recall for PHONE" in result.stderr and re.search(r"residual scan found \d+ phone match", result.stderr)
    assert "email match" not in result.stderr and "roster match" not in result.stderr
    assert not (clean / "text").exists()
    report = json.loads((clean / "_attempts" / f"ds={DS}" / "report.json").read_text())
    assert report["canaries"]["labels"]["PHONE"]["ok"] is False
    assert report["canaries"]["labels"]["EMAIL"]["ok"] is True and report["canaries"]["labels"]["ROSTER_NAME"]["ok"] is True
