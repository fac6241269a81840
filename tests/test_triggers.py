"""The pre-checks of the text path are supersets of what they guard, and skipping work changes no finding.

- every trigger (pipeline/detect/triggers.py) holds for every match of its regex: on matches generated from each
  regex (Hypothesis), and on every match in the labelled sets;
- fold() maps every character a case-insensitive regex matches to an ASCII letter onto that letter;
- the possible lemmas (artifacts.LemmaForms) hold every lemma spaCy gives;
- tagging only the docs that ask for tags gives the same findings as tagging every doc, and the name recognizers
  read tags and lemmas only through the accessors that ask for them.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import regex
import spacy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from presidio_analyzer import PatternRecognizer

from pipeline.detect import Detector
from pipeline.detect.artifacts import LemmaForms
from pipeline.detect.engine import recognizer_trigger
from pipeline.detect.registry import DetectContext, build_recognizers
from pipeline.detect.spans import SpanRecognizer
from pipeline.detect.triggers import Trigger, TriggerIndex, fold, required_literals
from pipeline.policy import Policy, load_policy
from pipeline.roster import Employee, Roster

REPO = Path(__file__).resolve().parents[1]
SETS = [REPO / "bench" / "data" / "workforce_eval.jsonl", REPO.parent / "shared" / "data" / "presidio_v2.jsonl"]
ROSTER = Roster((Employee("E10023", "Priya Raman", handle="praman", email="priya.raman@corp.example.com"),))


def _patterns() -> list[tuple[str, re.Pattern[str], int, Trigger]]:
    """(id, regex as `re` compiles it, flags, trigger) of every pattern the default policy's recognizers use."""
    out = []
    for recognizer in build_recognizers(DetectContext(load_policy(), ROSTER)):
        if isinstance(recognizer, SpanRecognizer):
            for p in recognizer.patterns:
                out.append((f"{recognizer.name}:{p.name}", p.regex, p.regex.flags, p.trigger))
        elif isinstance(recognizer, PatternRecognizer):
            flags = recognizer.global_regex_flags
            for p in recognizer.patterns:
                out.append((f"{recognizer.name}:{p.name}", re.compile(p.regex, flags), flags, Trigger.of(p.regex, flags)))
    return out


PATTERNS = _patterns()
INDEX = TriggerIndex(t for *_, t in PATTERNS)


def test_every_guarded_pattern_is_listed() -> None:
    assert len(PATTERNS) > 100
    assert sum(not t.always for *_, t in PATTERNS) > 0.9 * len(PATTERNS)  # nearly every pattern has a pre-check


@pytest.mark.parametrize(("name", "compiled", "flags", "trigger"), PATTERNS, ids=[p[0] for p in PATTERNS])
# Derandomized: the same 40 examples every run. With a fresh seed, from_regex on the spelled-out password pattern
# (up to 40 alternated units) now and then draws for many minutes; one CI run sat on it for over 10.
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_trigger_holds_for_generated_matches(name: str, compiled: re.Pattern[str], flags: int, trigger: Trigger,
                                             data: st.DataObject) -> None:
    text = data.draw(st.from_regex(compiled))
    match = compiled.search(text)
    assume(match is not None and match.group())
    assert trigger.may_match(INDEX.features(match.group())), (name, match.group())


def _set_texts() -> list[str]:
    texts = []
    for path in SETS:
        if path.exists():
            with open(path, encoding="utf-8") as handle:
                texts += [json.loads(line)["text"] for line in handle if line.strip()]
    return texts


def test_trigger_holds_for_every_match_in_the_labelled_sets() -> None:
    """As the recognizers match: Presidio's patterns with the `regex` module and its flags, ours with `re`."""
    texts = _set_texts()
    assert texts
    for recognizer in build_recognizers(DetectContext(load_policy(), ROSTER)):
        gate = recognizer_trigger(recognizer)
        if isinstance(recognizer, PatternRecognizer):
            regexes = [(regex.compile(p.regex, recognizer.global_regex_flags), gate) for p in recognizer.patterns]
        elif isinstance(recognizer, SpanRecognizer):
            regexes = [(p.regex, p.trigger) for p in recognizer.patterns]
        else:
            continue
        for text in texts:
            features = INDEX.features(text)
            for compiled, trigger in regexes:
                if compiled.search(text):
                    assert trigger.may_match(features), (recognizer.name, compiled.pattern[:60])
                    assert gate.may_match(features), recognizer.name


@pytest.mark.parametrize(
    ("pattern", "literals", "digits"),
    [
        (r"(?i)\bpass(?:word|wd)\s*[:=]", {"password", "passwd"}, 0),
        (r"\b\d{3}-\d{2}-\d{4}\b", {f"{n:03d}-" for n in range(1000)}, 9),
        (r"[\w.]+@[\w.]+", {"@"}, 0),
        (r"(?:https?://)?[a-z]+\.(?:com|org)", {".com", ".org"}, 0),
        (r"\b(?:ext|x)\s?\d{2,6}\b", set("0123456789"), 2),  # digits beat "x", which is in nearly every text
        (r"[a-z]+", None, 0),
        (r"(?:ab|a)c?", None, 0),
    ],
)
def test_trigger_derivation(pattern: str, literals: set[str] | None, digits: int) -> None:
    assert Trigger.of(pattern) == Trigger(None if literals is None else frozenset(literals), digits)


def test_unparsable_regex_has_no_pre_check() -> None:
    assert required_literals(r"\p{Lu}+") is None  # `regex`-module syntax
    assert Trigger.of(r"\p{Lu}+").always


def test_fold_maps_every_case_insensitive_ascii_equivalent_and_every_digit() -> None:
    ascii_letter = re.compile(r"(?i)[a-z]")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if not char.isascii() and ascii_letter.fullmatch(char):
            folded = fold(char)
            assert len(folded) == 1 and re.fullmatch("(?i)" + re.escape(folded), char), hex(code)
    assert fold("٣３3") == "333"
    assert fold("PASSWORD İſ") == "password is"


def test_lemma_forms_hold_every_lemma_spacy_gives() -> None:
    policy = load_policy()
    nlp = spacy.load(policy.model, exclude=["parser"])
    forms = LemmaForms(spacy.load(policy.model, exclude=["tok2vec", "tagger", "parser", "ner", "senter"]))
    assert forms.known
    texts = _set_texts()[:800] + ["He hopes the hires were running; Barnes' bills, y'all n't"]
    for doc in nlp.pipe(texts, batch_size=64):
        for token in doc:
            possible = forms.of(token.lower_)
            assert possible is not None and token.lemma_.lower() in possible, (token.text, token.lemma_)


def _policy_tagging_every_doc(policy: Policy) -> Policy:
    raw = dict(policy.raw)
    raw["nlp"] = {**raw["nlp"], "pipes_on_demand": []}
    return replace(policy, raw=raw, sha256=policy.sha256 + "-eager")


def test_tagging_on_demand_finds_exactly_what_tagging_every_doc_finds() -> None:
    policy = load_policy()
    assert policy.raw["nlp"]["pipes_on_demand"]
    lazy, eager = Detector(policy, ROSTER), Detector(_policy_tagging_every_doc(policy), ROSTER)
    assert not eager.on_demand and lazy.on_demand
    texts = _set_texts()[:1200] + [
        "i was talking about Trump today with Shovda",
        "the Quasar rollout is blocked; ask Will, Grace and Kristensen",
        "lol look at justin now, he hires people named hopes",
        "Vsevolod: who are you?\nmika: a friend of Priya Raman",
    ]
    assert lazy.detect(texts) == eager.detect(texts)


def test_name_recognizers_read_tags_and_lemmas_only_through_the_accessors() -> None:
    """A direct token.pos_ on an untagged doc reads "", silently: names.py must ask artifacts.pos()/lemma()."""
    source = (REPO / "pipeline" / "detect" / "names.py").read_text(encoding="utf-8")
    direct = [line.strip() for line in source.splitlines() if re.search(r"\.(pos_|tag_|lemma_|morph)\b", line)]
    assert direct == []
