"""HEALTH and PRIVATE as policy entities, the shipped disclosure model (pipeline/detect/disclosures.py) on phrasings
written for these tests (none from its training corpus's templates), and the nightly canaries for them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.canaries import DISCLOSURE_FRAMES, canary_employees, night_canaries
from pipeline.detect import Finding
from pipeline.detect.disclosures import SHIPPED_MODEL, DisclosureRecognizer, worth_reading
from pipeline.detect.casual_ner import load_casual_model
from pipeline.policy import ENTITIES, Policy, PolicyError, default_policy_path, load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.redact import redact_text

KEYS = Pseudonymizer(b"k" * 32)


@pytest.fixture(scope="module")
def recognizer() -> DisclosureRecognizer:
    return DisclosureRecognizer(load_casual_model(SHIPPED_MODEL))


def found(recognizer: DisclosureRecognizer, text: str) -> list[tuple[str, str]]:
    recognizer.prepare([text])
    return [(r.entity_type, text[r.start : r.end]) for r in recognizer.analyze(text, [])]


def test_health_and_private_are_entities_whose_default_removes_the_phrase() -> None:
    policy = load_policy()
    assert {"HEALTH", "PRIVATE"} <= set(ENTITIES)
    assert policy.action_for("HEALTH") == "remove" and policy.action_for("PRIVATE") == "remove"
    assert policy.recognizer_enabled("disclosures")
    text = "sorry, I have a migraine so I'm out"
    out = redact_text(text, [Finding(16, 24, "HEALTH", 0.6)], policy, KEYS)
    assert out.text == "sorry, I have a  so I'm out" and dict(out.counts) == {"HEALTH": 1}


def test_a_policy_may_drop_rows_that_disclose(tmp_path: Path) -> None:
    raw = copy.deepcopy(load_policy().raw)
    raw["entities"].update(HEALTH="drop_row", PRIVATE="drop_row")
    out = redact_text("we broke up", [Finding(3, 11, "PRIVATE", 0.6)], Policy(raw=raw, sha256="t"), KEYS)
    assert out.drop_row
    raw["entities"]["HEALTH"] = "blur"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError, match="entities.HEALTH"):
        load_policy(path)
    raw["entities"]["HEALTH"] = "remove"
    raw["nlp"]["disclosure_modle"] = "x"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError, match="nlp.disclosure_modle: unknown key"):
        load_policy(path)


def test_the_default_policy_names_the_shipped_model() -> None:
    raw = yaml.safe_load(default_policy_path().read_text())
    assert raw["nlp"]["disclosure_model"] == SHIPPED_MODEL
    assert raw["canaries"]["min_recall"]["HEALTH"] <= 1.0


@pytest.mark.parametrize(
    ("text", "label", "word"),
    [
        ("heads up, I was diagnosed with diabetes in May", "HEALTH", "diabetes"),
        ("can't make the 2pm, I have chemo", "HEALTH", "chemo"),
        ("im out today, got the flu", "HEALTH", "flu"),
        pytest.param("Elena is on sick leave after her surgery", "HEALTH", "surgery",
                     marks=pytest.mark.xfail(strict=True, reason="the shipped model misses this wording")),
        ("my girlfriend and I split up last weekend", "PRIVATE", "split"),
        ("I'm pregnant and due in april", "PRIVATE", "pregnant"),
        ("i've got an interview at Canva on thursday", "PRIVATE", "interview"),
        pytest.param("there's a union meeting tonight at 7", "PRIVATE", "union",
                     marks=pytest.mark.xfail(strict=True, reason="the shipped model misses this wording")),
    ],
)
def test_the_model_finds_disclosures_in_new_wordings(recognizer, text: str, label: str, word: str) -> None:
    assert any(lab == label and word in phrase for lab, phrase in found(recognizer, text)), found(recognizer, text)


@pytest.mark.parametrize(
    "text",
    [
        "the doctor in that TV show is hilarious",
        "there is a 30 day grace period on the invoice",
        "that build is sick",
        "the union of two sets is a set",
        "terminated the process and restarted it",
        "promote to production after the smoke test",
        "ratings of the new café are great",
        "merged the hotfix, pls review",
    ],
)
def test_the_model_leaves_look_alikes(recognizer, text: str) -> None:
    assert found(recognizer, text) == []


def test_the_text_path_removes_the_disclosing_phrase() -> None:
    from pipeline import scrub_texts

    text = "heads up, I was diagnosed with diabetes in May. my bonus was $12,500 btw"
    out = scrub_texts([text])[0]
    assert "diabetes" not in out and "12,500" not in out
    assert out.startswith("heads up, I was diagnosed with")


def test_short_texts_are_not_read() -> None:
    assert not worth_reading("ok thanks")
    assert worth_reading("I have the flu")


def test_canaries_draw_disclosures_from_many_phrasings() -> None:
    """Each night plants PERFORMANCE, HEALTH and PRIVATE canaries, and different nights different phrasings."""
    texts: dict[str, set[str]] = {label: set() for label in DISCLOSURE_FRAMES}
    for day in range(1, 29):
        ds = f"2026-02-{day:02d}"
        for record in night_canaries(ds, 20, canary_employees(ds)):
            label = record["spans"][0]["label"]
            if label in texts:
                span = record["spans"][0]
                assert record["text"][span["start"] : span["end"]].strip()
                texts[label].add(record["text"])
    assert all(len(v) >= 15 for v in texts.values()), {k: len(v) for k, v in texts.items()}


def test_the_nightly_disclosure_canaries_clear_their_thresholds() -> None:
    """Four nights' PERFORMANCE, HEALTH and PRIVATE canaries (20 a class a night) through the real text path: each class's
    recall reaches the default policy's min_recall, so a healthy night passes and a dead model would not."""
    from pipeline import scrub_texts
    from pipeline.canaries import score_texts

    records = []
    for day in range(1, 5):
        ds = f"2026-03-{day:02d}"
        records += [r for r in night_canaries(ds, 20, canary_employees(ds))
                    if r["spans"][0]["label"] in DISCLOSURE_FRAMES]
    scores = score_texts(records, scrub_texts([r["text"] for r in records]))
    thresholds = load_policy().canaries["min_recall"]
    for label in DISCLOSURE_FRAMES:
        assert scores[label]["caught"] / scores[label]["planted"] >= thresholds[label], (label, scores[label])
