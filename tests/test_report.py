"""The privacy report: counts only, trends with flags, small groups suppressed, self-contained HTML."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.report import build_report, format_trend_table, render_html, trends
from pipeline.summarize import SUPPRESSED, summarize_performance

SOURCE = {
    "input_rows": 1000, "quarantined": {"invalid_json": 2}, "dropped": {}, "primary": "text",
    "published": {"text": 998}, "rows_touched": 300, "entities": {"PERSON": 400, "EMAIL_ADDRESS": 50},
}
GATES = {
    "success": True,
    "datasets": {"text": {"suite": "text", "success": True, "evaluated": 1, "failed": 0, "results": []}},
    "canaries": {"labels": {"PHONE": {"planted": 2, "caught": 2, "recall": 1.0, "threshold": 1.0, "ok": True}}, "success": True},
    "residual": {"hits": {}, "success": True},
}
MANIFEST = {"rows": 998, "splits": {"train": 900, "validation": 98}, "files": [{"path": "train-00000-of-00001.parquet", "rows": 900}, {"path": "validation-00000-of-00001.parquet", "rows": 98}],
            "policy_sha256": "a" * 64, "key_id": "abc123def456"}
RECONCILED = {"input_rows": 1000, "published": 998, "quarantined": 2, "dropped": 0, "balanced": True}


def report_for(person: int, quarantined: int = 2, history: list | None = None) -> dict:
    source = {**SOURCE, "entities": {**SOURCE["entities"], "PERSON": person}, "quarantined": {"invalid_json": quarantined}}
    return build_report("2026-11-26", {"chat": source}, {"text": MANIFEST}, GATES, RECONCILED, history)


def test_a_halved_person_rate_and_a_quarantine_jump_are_flagged() -> None:
    history = [report_for(400) for _ in range(7)]
    flags = {t["metric"]: t["flag"] for t in report_for(190, quarantined=80, history=history)["trends"]}
    assert flags["PERSON_per_1k_text_rows"] == "dropped"
    assert flags["quarantine_share"] == "jumped"
    assert flags["EMAIL_ADDRESS_per_1k_text_rows"] is None
    steady = {t["metric"]: t["flag"] for t in report_for(380, history=history)["trends"]}
    assert not any(steady.values())


def test_trends_without_history_have_no_baseline() -> None:
    assert all(t["baseline"] is None and t["flag"] is None for t in trends({"rows_in": 5}, [], 2.0))


def test_small_performance_groups_are_suppressed() -> None:
    rows = [{"rating": "meets", "calibrated_rating": "meets", "pip": False}] * 12
    rows += [{"rating": "below expectations", "calibrated_rating": "below", "pip": True}] * 3
    summary = summarize_performance(rows, k=10)
    assert summary["ratings"] == {"meets": 12, SUPPRESSED: 3}
    assert summary["on_pip"] == SUPPRESSED and summary["records"] == 15


def test_trend_table_lists_nights_and_flags() -> None:
    history = [report_for(400) for _ in range(3)]
    table = format_trend_table([*history, report_for(100, history=history)])
    assert table.count("2026-11-26") == 4 and "PERSON_per_1k_text_rows dropped" in table


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.IGNORECASE)


def test_report_html_references_nothing_external() -> None:
    html = render_html(report_for(400, history=[report_for(400)]))
    assert "<svg" in html and "<script" not in html
    assert not EXTERNAL.search(html)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (make test installs it)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report_for(400, history=[report_for(400)])))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Privacy report for 2026-11-26" in dom.stdout
    assert dom.stdout.count("<rect") >= 2, "the entity chart rendered its bars"
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", *flags, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


def test_the_reid_section_shows_figures_against_chance_or_not_measurable() -> None:
    source = {"chat": SOURCE}
    risk = {"measurable": True, "users": 12, "sessions": 40, "probes": 40, "chance_top1": 0.0833, "chance_eer": 0.5,
            "max_top1_over_chance": 2.0, "significance": 0.01, "success": False,
            "scaled_manhattan": {"top1": 0.625, "hits": 25, "eer": 0.2, "p_chance": 1e-9},
            "gradient_boosting": {"top1": 0.1, "hits": 4, "eer": 0.45, "p_chance": 0.4}}
    html = render_html(build_report("2026-11-26", source, {"text": MANIFEST}, {**GATES, "reid": risk}, RECONCILED))
    section = html[html.index("Re-identification by typing rhythm"):html.index("Trends against earlier nights")]
    assert "62.5%" in section and "7.5" in section and "8.3%" in section and "fail" in section
    quiet = {"measurable": False, "why": "3 users with 2+ sessions of 20+ keys; 5 needed", "users": 3, "sessions": 6}
    html = render_html(build_report("2026-11-26", source, {"text": MANIFEST}, {**GATES, "reid": quiet}, RECONCILED))
    assert "Not measurable tonight: 3 users" in html
    assert "The re-identification gate did not run" in render_html(report_for(400))


def test_reid_on_events_without_keystroke_sessions_is_not_measurable() -> None:
    from pipeline.contracts import EVENTS_SCHEMA
    from pipeline.reid import identification_risk

    assert identification_risk(EVENTS_SCHEMA.empty_table())["measurable"] is False
