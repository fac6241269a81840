"""The surrogate action: realistic fake values chosen by the keyed HMAC of the subject, never a real value."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from importlib import resources

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import residual
from pipeline.detect import Finding
from pipeline.policy import Policy, PolicyError, load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.redact import redact_text
from pipeline.roster import Employee, Roster
from pipeline.surrogates import (
    FIRST_NAMES,
    LAST_NAMES,
    Surrogates,
    name_tokens,
    roster_tokens,
    seen_values,
)

KEY = Pseudonymizer(b"k" * 32)
OTHER_KEY = Pseudonymizer(b"o" * 32)
ANN = Employee("E1", "Ann Lee", handle="alee", email="ann.lee@haldensystems.com")
ROSTER = Roster((ANN, Employee("E2", "Marcus Chen", handle="mchen", email="marcus.chen@haldensystems.com")))


def surrogate_policy(**extra: str) -> Policy:
    raw = copy.deepcopy(load_policy().raw)
    raw["entities"].update(PERSON="surrogate", EMAIL_ADDRESS="surrogate", PHONE_NUMBER="surrogate", **extra)
    return Policy(raw=raw, sha256="test")


def big_roster(size: int = 3000) -> Roster:
    """Colleagues named from the very lists surrogates are drawn from: the worst case for refusals."""
    fake = Faker("en_US")
    fake.seed_instance(7)
    people = []
    for i in range(size):
        first, last = fake.first_name(), fake.last_name()
        people.append(Employee(f"B{i}", f"{first} {last}", handle=f"{first[0]}{last}".lower(),
                               email=f"{first}.{last}@haldensystems.com".lower()))
    return Roster(tuple(people))


BIG = big_roster()


def gate_patterns() -> dict[str, list[re.Pattern[str]]]:
    suite = json.loads((resources.files("pipeline") / "expectations" / "text.json").read_text())
    out: dict[str, list[re.Pattern[str]]] = {}
    for e in suite["expectations"]:
        if leak := e.get("meta", {}).get("leak"):
            out.setdefault(leak, []).append(re.compile(e["kwargs"]["regex"]))
    return out


# --- the policy ------------------------------------------------------------------------------------------------


def test_default_policy_keeps_placeholders_and_pseudonyms() -> None:
    policy = load_policy()
    assert not policy.uses_surrogates
    assert policy.action_for("PERSON") == "pseudonym" and policy.action_for("EMAIL_ADDRESS") == "replace"


@pytest.mark.parametrize("entity", ["CREDENTIAL", "LOCATION", "US_SSN"])
def test_surrogate_is_refused_where_no_fake_exists(entity: str) -> None:
    with pytest.raises(PolicyError, match=f"entities.{entity}: surrogate is only for"):
        surrogate_policy(**{entity: "surrogate"})


def test_surrogate_policy_is_accepted() -> None:
    assert surrogate_policy().uses_surrogates


def test_faker_lists_are_pinned() -> None:
    """A Faker upgrade that changes the name lists changes every surrogate (as a rekey would): say so in the release."""
    digest = hashlib.sha256("\n".join(FIRST_NAMES + ("",) + LAST_NAMES).encode()).hexdigest()[:16]
    assert (len(FIRST_NAMES), len(LAST_NAMES), digest) == (690, 1000, "ac535f2f6a5ad8e8")


# --- stable while the key holds, changed by a rekey, unrelated across keys -------------------------------------


def test_same_key_same_surrogates_in_any_batch_and_night() -> None:
    subjects = [f"E{i}" for i in range(500)] + ["dana whitfield", "j. doe"]
    one = Surrogates(KEY, BIG)
    other_batch = Surrogates(KEY, BIG)  # another batch, another night
    seen = frozenset({"nothing of interest", "bob"})
    assert [one.names(s) for s in subjects] == [other_batch.names(s, seen) for s in subjects]
    assert one.email("x@y.com", "x.y@y.com") == other_batch.email("x@y.com", "x.y@y.com")
    assert one.phone("4158675309", "(415) 867-5309") == other_batch.phone("4158675309", "(415) 867-5309")


def test_rekey_changes_surrogates_and_keys_are_unrelated() -> None:
    subjects = [f"E{i}" for i in range(2000)]
    a, b = Surrogates(KEY, Roster()), Surrogates(OTHER_KEY, Roster())
    same_first = sum(a.names(s)[0] == b.names(s)[0] for s in subjects) / len(subjects)
    same_last = sum(a.names(s)[1] == b.names(s)[1] for s in subjects) / len(subjects)
    same_name = sum(a.names(s) == b.names(s) for s in subjects)
    assert same_first < 0.01 and same_last < 0.01 and same_name <= 1  # chance: 1/690, 1/1000, 1/690,000
    # Nor does the fake name follow the subject without the key: neighbouring ids get unrelated names.
    firsts = [a.names(s)[0] for s in subjects]
    assert len(set(firsts)) > 600 and sum(x == y for x, y in itertools.pairwise(firsts)) < 10


def test_fake_names_cover_the_lists_evenly() -> None:
    firsts = [Surrogates(KEY, Roster()).names(f"s{i}")[0] for i in range(20000)]
    counts = {n: firsts.count(n) for n in set(firsts)}
    assert len(counts) == len(FIRST_NAMES) and max(counts.values()) < 3 * 20000 / len(FIRST_NAMES)


# --- never a roster name, never a value of the batch -----------------------------------------------------------


def test_no_surrogate_part_is_a_roster_name_over_many_subjects() -> None:
    refused = roster_tokens(BIG)
    assert len(refused & {n.casefold() for n in FIRST_NAMES}) > 300, "the roster refuses a good share of the list"
    book = Surrogates(KEY, BIG)
    for i in range(3000):
        for subject in (f"B{i}", f"someone {i}"):
            first, last = book.names(subject)
            assert not (name_tokens(first) | name_tokens(last)) & refused
            for mention in ("Ann", "Ann Lee", "@alee", "ann.lee@x.com", "alee7@x.com", "Dr. Lee"):
                fake = book.person(subject, mention) if "." not in mention[1:] or " " in mention else book.email(subject, mention)
                local = fake.split("@")[0].lstrip("@")
                assert not name_tokens(local) & refused, (subject, mention)
                assert local.casefold() not in refused


@settings(max_examples=300, deadline=None)
@given(subject=st.text(min_size=1, max_size=30), mention=st.sampled_from(["Bo", "Bo Li", "bo li", "BO LI", "Ms. Li", "@bli"]))
def test_property_any_subject_any_form_is_no_roster_name(subject: str, mention: str) -> None:
    fake = Surrogates(KEY, BIG).person(subject, mention)
    assert not name_tokens(fake.replace("Ms.", "")) & roster_tokens(BIG)
    assert residual.scan([f"thanks {fake}, see you"], BIG) == {}


def test_a_draw_equal_to_a_value_of_the_text_is_drawn_again_for_that_text_only() -> None:
    book = Surrogates(KEY, Roster())
    first, last = book.names("E9")
    for values in ({first}, {last}, {f"{first} {last}"}, {f"  {first.upper()}  {last} "}):
        seen = seen_values(values)
        again = book.names("E9", seen)
        assert again != (first, last) and not {again[0].casefold(), again[1].casefold(), " ".join(again).casefold()} & seen
        assert Surrogates(KEY, Roster()).names("E9", seen) == again, "the redraw is keyed too"
        assert book.names("E9") == (first, last), "other texts keep the subject's fake name"
    number = book.phone("4158675309", "415-867-5309")
    assert number and book.phone("4158675309", "415-867-5309", seen_values({number.replace("-", " ")})) != number


def test_a_surrogate_never_equals_a_value_detected_in_its_text() -> None:
    subjects = [f"E{i}" for i in range(300)]
    book = Surrogates(KEY, Roster())
    real = seen_values(" ".join(book.names(s)) for s in subjects[::2])  # the text's "real" names: others' draws
    assert all(" ".join(book.names(s, real)).casefold() not in real for s in subjects)
    text = "Ann Lee met Bo"
    findings = [Finding(0, 7, "PERSON", 1.0, subject="E1"), Finding(12, 14, "PERSON", 1.0)]
    out = redact_text(text, findings, surrogate_policy(), KEY, book)
    assert not {"ann", "lee", "bo"} & set(out.text.casefold().replace(" met ", " ").split())


# --- the form reads naturally ----------------------------------------------------------------------------------


def test_forms_follow_the_mention_and_stay_consistent_for_one_subject() -> None:
    book = Surrogates(KEY, ROSTER)
    first, last = book.names("E1")
    assert book.person("E1", "Ann Lee") == f"{first} {last}"
    assert book.person("E1", "Ann") == first, "a first name alone stays a first name, the same one"
    assert book.person("E1", "Lee") == last, "the roster knows Lee is a surname"
    assert book.person("E1", "Dr. Lee") == f"Dr. {last}"
    assert book.person("E1", "ann lee") == f"{first} {last}".casefold()
    assert book.person("E1", "ANN") == first.upper()
    assert book.person("E1", "Ann's") == f"{first}'s"
    assert book.person("E1", "@alee").startswith("@") and " " not in book.person("E1", "@alee")
    colleague = book.value("EMAIL_ADDRESS", None, "ann.lee@haldensystems.com")
    assert colleague and colleague.split("@")[0] == f"{first}.{last}".casefold(), "an address takes its owner's fake names"
    assert colleague.split("@")[1] in {"example.net", "example.org"}, "and no token of the real one (com)"
    assert book.email("E1", "ann.lee@x").split("@")[0] == f"{first}.{last}".casefold()


def test_redacted_text_reads_like_text() -> None:
    text = "Ann Lee said Ann can take it; mail ann.lee@haldensystems.com or call (415) 867-5309."
    findings = [
        Finding(0, 7, "PERSON", 1.0, subject="E1"), Finding(13, 16, "PERSON", 1.0, subject="E1"),
        Finding(35, 60, "EMAIL_ADDRESS", 1.0), Finding(69, 83, "PHONE_NUMBER", 1.0),
    ]
    out = redact_text(text, findings, surrogate_policy(), KEY, Surrogates(KEY, ROSTER))
    first, last = Surrogates(KEY, ROSTER).names("E1")
    assert out.text.startswith(f"{first} {last} said {first} can take it; mail {first.casefold()}.{last.casefold()}@example.")
    assert re.search(r"or call \(\d{3}\) 555-01\d\d\.$", out.text)
    assert "<" not in out.text and dict(out.counts) == {"PERSON": 2, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    assert not {"ann", "lee", "867", "5309"} & set(re.findall(r"\w+", out.text.casefold()))


def test_a_surrogate_keeps_no_token_of_what_it_replaces() -> None:
    """By the evaluation's leak rule (a word of three letters or more, any digit group), checked per mention."""
    book = Surrogates(KEY, Roster())
    placeholders = 0
    for i in range(2000):
        for entity, mention in (("PERSON", f"Ann Lee{i % 3 * ' '}"), ("EMAIL_ADDRESS", f"ann.lee{i}@gmail.com"),
                                ("EMAIL_ADDRESS", f"jo{i}@mail.org"), ("PHONE_NUMBER", f"(415) {200 + i % 700} {i:04d}")):
            fake = book.value(entity, f"s{i}", mention)  # an id subject: its fake names do not know the mention
            if fake is None:
                placeholders += 1
                continue
            kept = set(re.findall(r"[^\W_]+", fake.casefold())) & set(re.findall(r"[^\W_]+", mention.casefold()))
            assert not {t for t in kept if len(t) >= 3 or t.isdigit()}, (mention, fake)
    assert placeholders < 0.01 * 8000, "a draw that would keep a word falls back to the placeholder, rarely"
    assert all(book.value("PERSON", None, f"Ann Lee{i}") for i in range(500)), "a value subject refuses its own words"
    assert book.value("EMAIL_ADDRESS", "s1", "bob@example.com") is None, "every reserved domain would keep 'example'"
    assert book.value("PHONE_NUMBER", "s1", "(415) 555-1234") is None, "every fictional number keeps 555"
    last = book.names("E1")[1]
    assert book.value("PERSON", "E1", "Prof. Lee") == last and book.value("PERSON", "E1", "Mrs Lee") == f"Ms {last}"


def test_without_the_batch_a_surrogate_falls_back_to_a_placeholder() -> None:
    out = redact_text("hi Ann", [Finding(3, 6, "PERSON", 1.0, subject="E1")], surrogate_policy(), KEY)
    assert out.text == "hi <PERSON>"


@pytest.mark.parametrize(
    ("mention", "shape"),
    [
        ("(415) 867-5309", r"\(\d{3}\) 555-01\d\d"),
        ("415.867.5309", r"\d{3}\.555\.01\d\d"),
        ("+1 415-867-5309", r"\d{3}-555-01\d\d"),
        ("+14158675309", r"\d{3}55501\d\d"),
        ("1-415-867-5309", r"\d{3}-555-01\d\d"),
        ("+44 20 7946 0958", r"\(\d{3}\) 555-01\d\d"),
        ("020 7946 0958", r"\(\d{3}\) 555-01\d\d"),
    ],
)
def test_phones_keep_their_layout_in_the_fictional_range(mention: str, shape: str) -> None:
    fake = Surrogates(KEY, Roster()).value("PHONE_NUMBER", None, mention)
    assert fake is not None and re.fullmatch(shape, fake), fake
    area = re.sub(r"\D", "", fake)[-10:][:3]
    assert area[0] in "23456789" and area[1:] != "11"


def test_one_number_in_two_layouts_gets_one_surrogate() -> None:
    book = Surrogates(KEY, Roster())
    a = book.value("PHONE_NUMBER", None, "(415) 867-5309")
    b = book.value("PHONE_NUMBER", None, "+1 415-867-5309")
    assert a is not None and b is not None and re.sub(r"\D", "", a) == re.sub(r"\D", "", b)


# --- the gates: surrogates pass, real values beside them do not ------------------------------------------------


def test_every_surrogate_passes_the_gate_and_the_residual_scan() -> None:
    patterns = gate_patterns()
    book = Surrogates(KEY, BIG)
    texts = []
    for i in range(1500):
        s = f"B{i}"
        texts.append(f"{book.person(s, 'Ann Lee')} ({book.person(s, '@alee')}) wrote {book.email(s, 'ann.lee7@x.io')}, "
                     f"{book.email(s, 'alee@x.io')}; call {book.phone(s, '+1 415-867-5309')} or {book.phone(s, '415.867.5309')}.")
    assert residual.scan(texts, BIG) == {}
    for text in texts:
        assert not [k for k, ps in patterns.items() for p in ps if p.search(text)], text


def test_real_values_next_to_surrogates_are_still_caught() -> None:
    book = Surrogates(KEY, BIG)
    fake = f"{book.person('B1', 'Ann Lee')} at {book.email('B1', 'a.l@x.io')}, {book.phone('B1', '212-555-1234')}"
    colleague = BIG.employees[5]
    local = colleague.email.split("@")[0] if colleague.email else ""
    leaks = {
        "email": f"{fake}; real: jo.ng@gmail.com",
        "phone": f"{fake}; real: (415) 867-5309",
        "roster": f"{fake}; real: {colleague.full_name}",
    }
    for kind, text in leaks.items():
        assert residual.scan([text], BIG) == {kind: 1}, kind
        if kind != "roster":
            assert any(p.search(text) for p in gate_patterns()[kind]), kind
    # A reserved domain does not launder a colleague's name.
    assert residual.scan([f"{local}@example.com"], BIG) == {"email": 1}


# --- canaries: scored on surrogate output ----------------------------------------------------------------------


def test_canary_scoring_on_surrogate_output_counts_leaks_not_look_alikes() -> None:
    from pipeline.canaries import score_texts

    records = [
        {"text": "ask Ann Lee about the rollout", "spans": [{"start": 4, "end": 11, "label": "ROSTER_NAME"}]},
        {"text": "call me on (415) 867-5309 after lunch", "spans": [{"start": 11, "end": 25, "label": "PHONE"}]},
        {"text": "Speaker 2: so um she got a 2 out of 5", "spans": [{"start": 27, "end": 37, "label": "PERFORMANCE"}]},
    ]
    caught = ["ask Leslie Annabel about the rollout", "call me on (354) 555-0186 after lunch", "Speaker 2: so um she got a "]
    assert score_texts(records, caught, surrogates=False)["ROSTER_NAME"]["caught"] == 0, (
        "the evaluation's character alignment takes a look-alike fake for a leak")
    assert score_texts(records, caught, surrogates=True) == {
        "ROSTER_NAME": {"planted": 1, "caught": 1}, "PHONE": {"planted": 1, "caught": 1}, "PERFORMANCE": {"planted": 1, "caught": 1}}
    missed = [r["text"] for r in records]
    partial = ["ask Ann Barrera about the rollout", "call me on (354) 555-5309 after lunch", "Speaker 2: so um she got a 5"]
    for outputs in (missed, partial):
        scores = score_texts(records, outputs, surrogates=True)
        assert all(s["caught"] == 0 for s in scores.values()), outputs


def test_output_does_not_depend_on_how_texts_are_batched() -> None:
    """Per-text refusals only: one batch or one text at a time (any worker count) writes the same surrogates."""
    from pipeline.scrub import redact_batch

    names = [f"{f} {l}" for f, l in zip(FIRST_NAMES[:40], LAST_NAMES[:40], strict=True)]
    texts = [f"{a} and {b} met; {a.split()[0]} called {b.split()[1]}" for a, b in itertools.pairwise(names)]
    findings = []
    for text, (a, b) in zip(texts, itertools.pairwise(names), strict=True):
        spots = [(text.index(a), a), (text.index(b), b), (text.index(" met; ") + 6, a.split()[0]), (text.rindex(b.split()[1]), b.split()[1])]
        findings.append([Finding(i, i + len(v), "PERSON", 1.0) for i, v in spots])
    policy = surrogate_policy()
    whole = [r.text for r in redact_batch(texts, findings, policy, BIG, KEY)]
    alone = [redact_batch([t], [f], policy, BIG, KEY)[0].text for t, f in zip(texts, findings, strict=True)]
    assert whole == alone and all("<PERSON>" not in t for t in whole)
    for text, out in zip(texts, whole, strict=True):
        real = set(text.casefold().replace(";", "").split()) - {"and", "met", "called"}
        assert real and not real & set(out.casefold().replace(";", "").split()), (text, out)
