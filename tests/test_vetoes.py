"""Vetoes: ticket keys, workplace software and an id's cue words are never people or places, unless the roster
says so."""

from __future__ import annotations

import pytest

from pipeline.detect.engine import Finding
from pipeline.detect.vetoes import drop_vetoed, is_identifier_cue, is_vetoed


@pytest.mark.parametrize("value", ["PAY-743", "OPS-12", "K8S-1044", "Jira", "grafana", "Kubernetes's", "Datadog"])
def test_ticket_keys_and_workplace_software_are_vetoed(value: str) -> None:
    assert is_vetoed(value)


@pytest.mark.parametrize("value", ["Dana", "Pay", "PAY-", "pay-743", "Jira Smith", "A-1", "Ogasahara"])
def test_names_and_other_shapes_are_not(value: str) -> None:
    assert not is_vetoed(value)


def test_only_subjectless_people_and_places_are_dropped() -> None:
    text = "Jira PAY-7 Jira Jira"
    ner_person = Finding(0, 4, "PERSON", 0.85)
    ner_place = Finding(5, 10, "LOCATION", 0.85)
    roster = Finding(11, 15, "PERSON", 1.0, subject="E1")
    other = Finding(16, 20, "HOSTNAME", 0.6)
    assert drop_vetoed(text, [ner_person, ner_place, roster, other]) == [roster, other]


# (text, the words a model took for a name): the cue of an employee id, in the languages the cue covers.
ID_CUES = [
    ("mi número de empleado es 3321", "mi número de empleado"),
    ("Su número de empleado: 48213", "Su número"),
    ("Personalnummer 44518", "Personalnummer"),
    ("mijn personeelsnummer is 66210", "mijn personeelsnummer"),
    ("mon numéro d'employé est 77812", "mon numéro d'employé"),
    ("Meine Mitarbeiternummer lautet 5512", "Meine Mitarbeiternummer"),
    ("my employee number is 88213", "my employee number"),
]


@pytest.mark.parametrize(("text", "found"), ID_CUES)
def test_an_employee_ids_cue_is_never_a_person(text: str, found: str) -> None:
    start = text.index(found)
    assert is_identifier_cue(text, start, start + len(found))
    assert drop_vetoed(text, [Finding(start, start + len(found), "PERSON", 0.85)]) == []


@pytest.mark.parametrize(("text", "found"), [
    ("Ana García número de empleado 3321", "Ana García"),
    ("Ana número de empleado 3321", "Ana número"),  # a name beside the cue stays a name
    ("Personalnummer von Jens Albers: 4451", "Jens Albers"),
    ("mi número es el 3321", "mi número"),  # "número" alone is no employee id's cue
])
def test_names_beside_a_cue_are_kept(text: str, found: str) -> None:
    start = text.index(found)
    assert not is_identifier_cue(text, start, start + len(found))
