"""What the terminal shows of a night: a bar per stage with its total, then a one-screen summary of counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CanaryNight

from pipeline.progress import night_summary

REPORT = {
    "ds": "2026-12-06",
    "reconciliation": {"input_rows": 1200, "published": 1150, "quarantined": 10, "dropped": 40, "balanced": True},
    "sources": {
        "chat": {"input_rows": 1000, "published": 990, "quarantined": {"bad_type:ts": 10}, "dropped": {}},
        "performance": {"input_rows": 200, "published": 160, "quarantined": {}, "dropped": {"not_published": 40}},
    },
    "entities": {"PERSON": 321, "EMAIL_ADDRESS": 12},
    "datasets": {"text": {"rows": 990, "splits": {"train": 800, "validation": 100, "test": 90}}, "events": {"rows": 160}},
    "split_notes": [{"dataset": "text", "split": "test", "users": 2, "rows": 90, "min_users": 5}],
    "reid": {"success": True},
    "validation": {"text": {"evaluated": 31, "failed": 0, "success": True}},
    "canaries": {"labels": {"PERSON": {"planted": 20, "caught": 20}, "US_SSN": {"planted": 20, "caught": 19}}, "success": True},
    "residual": {"hits": {}, "success": True},
}


def test_summary_is_one_screen_of_counts() -> None:
    text = night_summary(REPORT, {"text": "/c/text/ds=2026-12-06", "events": "/c/events/ds=2026-12-06"}, "v-abc", "/c/r.html")
    lines = text.splitlines()
    assert len(lines) <= 24, "one screen"
    assert lines[0] == "ds=2026-12-06 published as version v-abc"
    assert lines[1] == "rows: 1,200 in, 1,150 published, 10 quarantined, 40 dropped by policy (reconciled)"
    assert re.match(r"^  chat\s+1,000 in\s+990 published\s+10 quarantined\s+0 dropped$", lines[2])
    assert "entities replaced: PERSON 321, EMAIL_ADDRESS 12" in lines
    assert ("gates: Great Expectations text 31/31 passed; canaries 39/40 caught over 2 labels passed; "
            "residual scan clean; re-identification passed") in lines
    assert lines[-4:] == [
        "published text: 990 rows in /c/text/ds=2026-12-06 (test 90, train 800, validation 100)",
        "published events: 160 rows in /c/events/ds=2026-12-06",
        "note: text test has 2 users tonight (fewer than 5), 90 rows",
        "report: /c/r.html",
    ]


def test_summary_says_when_a_gate_or_the_balance_failed() -> None:
    report = {**REPORT, "reconciliation": {**REPORT["reconciliation"], "balanced": False},
              "residual": {"hits": {"email": 2}, "success": False}}
    text = night_summary(report, {}, "v-abc", "/c/r.html")
    assert "(NOT reconciled)" in text and "residual scan FAILED (2 matches)" in text


@pytest.mark.e2e
def test_a_real_run_shows_every_stage_and_the_summary_without_values(
    canary_night: CanaryNight, cli_debug_run: tuple[Path, str]
) -> None:
    clean, printed = cli_debug_run
    bars = printed.replace("\r", "\n")
    chunks = re.findall(r"read \+ scrub 100%\|[^|]*\| (\d+)/(\d+) chunks", bars)
    assert chunks and chunks[-1][0] == chunks[-1][1] and int(chunks[-1][0]) >= 4
    assert re.search(r"read \+ scrub 100%.*, [\d,]+ rows", bars), "rows done beside the chunks"
    assert re.search(r"validate\s+100%\|[^|]*\| 2/2 datasets \[[\d:]+<00:00\]", bars), "a total and an ETA"
    assert re.search(r"report\s+100%\|[^|]*\| 1/1 step", bars) and re.search(r"publish\s+100%\|[^|]*\| 1/1 step", bars)
    assert re.search(r"^rows: [\d,]+ in, [\d,]+ published, [\d,]+ quarantined, [\d,]+ dropped by policy \(reconciled\)$", printed, re.M)
    assert re.search(r"^gates: Great Expectations .* passed; .*canaries \d+/\d+ caught .*; residual scan clean; re-identification passed$", printed, re.M)
    assert f"report: {clean}/_reports/" in printed
    assert sorted(v for v in canary_night.canaries if v in printed) == []
