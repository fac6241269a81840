"""Name propagation: every other mention of a found name's words in the same text is the same person."""

from __future__ import annotations

from pipeline.detect.engine import Finding
from pipeline.detect.propagate import PROPAGATED_SCORE, propagate_names


def person(text: str, name: str, subject: str | None = None) -> Finding:
    start = text.index(name)
    return Finding(start, start + len(name), "PERSON", 0.85, subject=subject)


def spans(text: str, findings: list[Finding]) -> list[str]:
    return [text[f.start : f.end] for f in findings]


def test_other_mentions_of_a_found_name_are_added_with_its_subject() -> None:
    text = "directed by Joakim Westgård and starring Westgård; Joakim said so"
    found = [person(text, "Joakim Westgård", subject="E7")]
    out = propagate_names(text, found)
    assert spans(text, out) == ["Joakim Westgård", "Westgård", "Joakim"]
    assert all(f.subject == "E7" for f in out)
    assert [f.score for f in out[1:]] == [PROPAGATED_SCORE, PROPAGATED_SCORE]


def test_a_name_without_subject_lends_its_full_form_as_subject() -> None:
    text = "Asya spent a year as the assistant to Asya Godina"
    out = propagate_names(text, [person(text, "Asya Godina")])
    assert spans(text, out) == ["Asya Godina", "Asya"]
    assert out[1].subject == "asya godina"


def test_common_words_particles_titles_other_case_and_parts_of_words_are_not_followed() -> None:
    text = "Brad L Key and Dr van Dijk: the key is in the Keynote by dr Dijkstra, and DIJK"
    found = [person(text, "Brad L Key"), person(text, "Dr van Dijk")]
    out = propagate_names(text, found)
    assert spans(text, out) == ["Brad L Key", "Dr van Dijk"]


def test_other_entities_are_left_alone_and_nothing_found_changes_nothing() -> None:
    text = "mail ann@example.com and ann"
    email = Finding(5, 20, "EMAIL_ADDRESS", 1.0)
    assert propagate_names(text, [email]) == [email]
    assert propagate_names(text, []) == []


def test_mentions_inside_a_handle_are_not_split_out() -> None:
    text = "Ogasahara said hi to @Ogasahara and Ogasahara's band"
    out = propagate_names(text, [person(text, "Ogasahara")])
    assert spans(text, out) == ["Ogasahara", "Ogasahara"]
    assert out[1].start == text.index("Ogasahara's")
