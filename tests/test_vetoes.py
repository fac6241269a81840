"""Vetoes: ticket keys and workplace software are never people or places, unless the roster says so."""

from __future__ import annotations

import pytest

from pipeline.detect.engine import Finding
from pipeline.detect.vetoes import drop_vetoed, is_vetoed


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
