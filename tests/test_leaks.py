"""A unique canary in every raw field of every source (ids, timestamps, app and window names, field kinds,
numbers, roster fields; secrets in the free-text fields) reaches nothing under the clean root: not a Parquet
cell, column statistic or metadata, not a manifest, report, Data Docs page or file name; nor the DEBUG logs of a
CLI run, nor Airflow's database and logs after `airflow dags test`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import CanaryNight
from leaks import canary_hits
from support import DS
from support import manifest as manifest_of

pytestmark = pytest.mark.e2e


def test_the_search_finds_canaries_where_they_are(canary_night: CanaryNight) -> None:
    """Control: every canary is in the raw night as planted, so a clean result below means something."""
    raw = canary_hits(canary_night.raw, set(canary_night.canaries))
    found = {v for values in raw.values() for v in values}
    typed = {"cnry.typed.secret@example.org"}  # typed key by key: in no raw file as one string
    assert set(canary_night.canaries) - found == typed


def test_the_canary_rows_were_published_not_quarantined(cli_debug_run: tuple[Path, str]) -> None:
    clean, _ = cli_debug_run
    text = pd.read_parquet(clean / "text" / f"ds={DS}")
    assert (text["text"].str.contains("<EMAIL_ADDRESS>") & text["text"].str.contains("ping <PERSON_")).sum() >= 2
    events = manifest_of(clean, "events")
    assert events["sources"]["keystrokes"]["unknown_values"]["field_kind"] >= 30
    assert events["sources"]["mouse"]["unknown_values"] == {"action": 1, "button": 1}
    assert (pd.read_parquet(clean / "text")["ts"].dt.second == 0).all()


def test_no_canary_under_the_clean_root(canary_night: CanaryNight, cli_debug_run: tuple[Path, str]) -> None:
    clean, _ = cli_debug_run
    assert canary_hits(clean, set(canary_night.canaries)) == {}


def test_no_canary_in_debug_logs(canary_night: CanaryNight, cli_debug_run: tuple[Path, str]) -> None:
    _, logged = cli_debug_run
    assert "published" in logged and "scrubbed chat" in logged, "the DEBUG run logged its steps"
    assert sorted(v for v in canary_night.canaries if v in logged) == []


def test_no_canary_in_the_airflow_db_logs_or_published_tree(
    canary_night: CanaryNight, dag_run: tuple[Path, Path]
) -> None:
    clean, home = dag_run
    assert (home / "airflow.db").stat().st_size > 0
    assert canary_hits(home, set(canary_night.canaries)) == {}
    assert canary_hits(clean, set(canary_night.canaries)) == {}


def test_no_disclosure_is_published_at_phrase_level(canary_night: CanaryNight, cli_debug_run: tuple[Path, str]) -> None:
    """PERFORMANCE, HEALTH and PRIVATE phrases planted in chat: each row is published, and its disclosing phrase is
    not in it, searched as a phrase (its words in order), not as an exact string."""
    from leaks import CANARY_TS, phrase_survivors

    clean, _ = cli_debug_run
    published = pd.read_parquet(clean / "text" / f"ds={DS}")
    # The planted rows carry the canary timestamp, published cut to its minute.
    minute = pd.Timestamp(CANARY_TS).floor("min")
    texts = published.loc[published["ts"] == minute, "text"].tolist()
    assert canary_night.disclosures
    assert len(texts) >= sum(len(p) for p in canary_night.disclosures.values()), "the planted rows were published"
    for label, planted in canary_night.disclosures.items():
        phrases = [phrase for _, phrase in planted]
        assert phrase_survivors([text for text, _ in planted], phrases) == phrases, "control: the search finds them"
        assert phrase_survivors(texts, phrases) == [], label
