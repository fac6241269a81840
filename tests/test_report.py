"""The privacy report: counts only, trends with flags, small groups suppressed, self-contained HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import CHROMIUM, lay_out
from offline_html import remote_resources

from pipeline.policy import CANARY_LABELS, ENTITIES
from pipeline.report import (
    build_report,
    chart,
    format_trend_table,
    render_html,
    sample_rows,
    trends,
)
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


def full_report(nights: int = 6) -> dict:
    """A report as wide as a real one gets: every entity type, five sources, long names, a week of history
    with a flagged night, a policy change, canary intervals, a sample and both Data Docs pages."""
    sources = {}
    for i, name in enumerate(("chat", "transcripts", "keystrokes", "mouse", "performance")):
        sources[name] = {**SOURCE, "entities": {e: 10 * (i + 1) + j for j, e in enumerate(ENTITIES)}}
    history = []
    for n in range(nights):
        night = build_report(f"2026-11-{20 + n:02d}", sources, {"text": MANIFEST}, GATES, RECONCILED, history[:])
        history.append(night)
    tonight = {**sources, "chat": {**sources["chat"], "entities": {**sources["chat"]["entities"], "PERSON": 2000}}}
    manifest = {**MANIFEST, "policy_sha256": "b" * 64,
                "files": [{"path": f"train-{i:05d}-of-00040.parquet", "rows": 25_000} for i in range(40)]}
    labels = {label: {"planted": 24, "caught": 24, "recall": 1.0, "threshold": 1.0, "ok": True, "interval": [0.862, 1.0]}
              for label in CANARY_LABELS}
    gates = {**GATES, "canaries": {"labels": labels, "success": True}}
    sample = sample_rows("2026-11-26", [{"record_pid": f"r{i}", "source": "chat", "split": "train",
                                         "text": "word " * 80 + "averyveryverylongtokenwithoutanyspace" * 12} for i in range(40)], 20)
    return build_report("2026-11-26", tonight, {"text": manifest}, gates, RECONCILED, history,
                        key={"key_id": "abc123def456", "replaces_key_id": None},
                        data_docs=["text.html", "text.suite.html"], sample=sample)


def test_trend_series_spans_history_and_tonight_with_flags() -> None:
    report = full_report()
    person = report["series"]["PERSON_per_1k_text_rows"]
    assert [p["ds"] for p in person] == [f"2026-11-{d}" for d in range(20, 27)]
    assert person[-1]["flag"] == "jumped" and not any(p["flag"] for p in person[:-1])
    html = render_html(report)
    assert html.count('aria-label="PERSON_per_1k_text_rows by night"') == 1
    assert html.count("<svg") == 1 + len(report["metrics"]), "the entity bars and one chart per trend figure"
    assert html.count('class="flagged"') == sum(1 for t in report["trends"] if t["flag"]) >= 1
    assert "<polyline" in html and "2026-11-20</text>" in html and "2026-11-26</text>" in html


def test_chart_puts_the_highest_night_at_the_top_and_a_flat_line_against_zero() -> None:
    points = [{"ds": f"d{i}", "value": v, "flag": None} for i, v in enumerate([2.0, 8.0, 5.0])]
    c = chart(points)
    ys = [m["y"] for m in c["marks"]]
    assert ys[1] == c["top"] and ys[0] == c["bottom_y"] and ys[0] > ys[2] > ys[1]
    assert [m["x"] for m in c["marks"]] == [c["left"], (c["left"] + c["width"] - c["right"]) / 2, c["width"] - c["right"]]
    assert (c["low"], c["high"]) == ("2", "8")
    flat = chart([{"ds": "d", "value": 0.0, "flag": None}] * 2)
    assert (flat["low"], flat["high"]) == ("0", "1") and {m["y"] for m in flat["marks"]} == {flat["bottom_y"]}


def test_a_single_night_draws_one_point_per_chart() -> None:
    html = render_html(report_for(400))
    assert html.count("<circle") == len(report_for(400)["metrics"]) and "<polyline" not in html


def test_policy_and_key_changes_are_flagged_at_the_top() -> None:
    report = full_report()
    assert report["policy_change"] == {"policy_sha256": "b" * 64, "last_night_policy_sha256": "a" * 64, "changed": True}
    html = render_html(report)
    assert html.index("The policy changed") < html.index("<h2>Sign-off")
    same = report_for(400, history=[report_for(400)])
    assert same["policy_change"]["changed"] is False and "The policy changed" not in render_html(same)
    assert report_for(400)["policy_change"] is None, "no earlier night, nothing to compare"
    moved = build_report("2026-11-26", {"chat": SOURCE}, {"text": {**MANIFEST, "key_id": "k2"}}, GATES, RECONCILED,
                         [report_for(400)], key={"key_id": "k2", "replaces_key_id": None})
    assert moved["key"]["changed"] and "The HMAC key changed" in render_html(moved)


def test_source_by_entity_table_has_entities_as_rows() -> None:
    html = render_html(full_report())
    table = html[html.index("<th>entity</th>"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == len(ENTITIES), "a row per entity type after the header"
    assert table.count('<th class="num">') == 5 + 1, "a column per source and the total"


def test_canary_recall_shows_its_interval_when_the_gate_gives_one() -> None:
    assert "1.00 (0.86–1.00)" in render_html(full_report())
    html = render_html(report_for(400))
    canaries = html[html.index("<h2>Canaries"):html.index("<h2>Residual")]
    assert ">1.00</td>" in canaries and "–" not in canaries and "interval" not in canaries


def test_data_docs_links_only_pages_that_exist() -> None:
    html = render_html(full_report())
    assert 'href="data_docs/text.html"' in html and 'href="data_docs/text.suite.html"' in html
    one = build_report("2026-11-26", {"chat": SOURCE}, {"text": MANIFEST}, GATES, RECONCILED, data_docs=["text.html"])
    html = render_html(one)
    assert 'href="data_docs/text.html"' in html and "text.suite.html" not in html
    assert "data_docs/" not in render_html(one, docs_links=False).split("Validation (Great Expectations)")[1].split("</p>", 1)[1]
    assert 'href="data_docs/' not in render_html(report_for(400)), "no page beside the report, no link"


def test_the_sample_is_keyed_by_night_not_the_first_rows_and_cut_short() -> None:
    rows = [{"record_pid": f"r{i:04d}", "source": "chat" if i % 2 else "transcripts", "split": "train", "text": f"row {i}"}
            for i in range(1000)]
    first = sample_rows("2026-11-26", iter(rows), 20)
    assert first == sample_rows("2026-11-26", list(reversed(rows)), 20), "the same rows whatever the order read"
    assert len(first) == 20 and {r["text"] for r in first} != {f"row {i}" for i in range(20)}
    assert {r["source"] for r in first} == {"chat", "transcripts"}
    assert first != sample_rows("2026-11-27", rows, 20), "another night shows other rows"
    long = sample_rows("d", [{"record_pid": "x", "source": "chat", "split": "test", "text": "spam " * 100}], 5)
    assert len(long) == 1 and len(long[0]["text"]) <= 240 and long[0]["text"].endswith("spam …")
    assert set(long[0]) == {"source", "split", "text"}, "the row's keyed id is not shown"


def test_the_sample_is_shown_and_said_to_be_the_only_text() -> None:
    report = full_report()
    html = render_html(report)
    section = html[html.index("A sample of published rows"):]
    assert "The only text in this report: 20 rows" in section and section.count('<td class="text">') == 20
    failed = build_report("2026-11-26", {"chat": SOURCE}, {"text": MANIFEST}, {**GATES, "success": False}, RECONCILED)
    assert "the night did not pass its gates, so none of its text is shown" in render_html(failed)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser installs it)")
def test_report_at_1280_px_in_chromium_fits_draws_its_charts_and_fetches_nothing(tmp_path: Path) -> None:
    report = full_report()
    page = tmp_path / "report.html"
    page.write_text(render_html(report))
    assert remote_resources(page) == []
    layout = lay_out(page, tmp_path / "chromium")
    assert layout.inner_width == 1280
    assert layout.scroll_width <= 1280, f"the page is {layout.scroll_width} px wide: {layout.wide}"
    assert layout.svgs == 1 + len(report["metrics"]), "every chart is in the laid-out page"
    assert layout.fetched == [], "the page loaded nothing"
    assert layout.drawn_share > 0.05 and layout.colours > 50, "the screenshot shows the page"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser installs it)")
def test_a_too_wide_or_fetching_page_is_caught(tmp_path: Path) -> None:
    """Control for the test above: a page wider than the viewport, or that loads anything, fails the measure
    (the host resolver is blocked, so a remote load fails, yet the browser still lists it)."""
    page = tmp_path / "wide.html"
    page.write_text('<!doctype html><html><body><img src="https://cdn.example.com/logo.png" alt="">'
                    '<table><tr><td style="white-space:nowrap">' + "wide " * 400 + "</td></tr></table></body></html>")
    layout = lay_out(page, tmp_path / "chromium")
    assert layout.scroll_width > 1280 and any(w.startswith("td") for w in layout.wide)
    assert layout.fetched == ["https://cdn.example.com/logo.png"]


def test_the_reid_section_shows_figures_against_chance_or_not_measurable() -> None:
    source = {"chat": SOURCE}
    risk = {"measurable": True, "users": 12, "sessions": 40, "probes": 40, "chance_top1": 0.0833, "chance_eer": 0.5,
            "max_top1_over_chance": 2.0, "significance": 0.01, "success": False,
            "scaled_manhattan": {"top1": 0.625, "hits": 25, "eer": 0.2, "p_chance": 1e-9},
            "gradient_boosting": {"top1": 0.1, "hits": 4, "eer": 0.45, "p_chance": 0.4}}
    html = render_html(build_report("2026-11-26", source, {"text": MANIFEST}, {**GATES, "reid": risk}, RECONCILED))
    section = html[html.index("Re-identification by typing rhythm"):html.index("Trends against earlier nights")]
    assert "62.5%" in section and "7.5" in section and "8.3%" in section and "fail" in section
    mouse = {**risk, "users": 10, "chance_top1": 0.1, "scaled_manhattan": {"top1": 0.733, "hits": 22, "eer": 0.133, "p_chance": 2.6e-16}}
    html = render_html(build_report("2026-11-26", source, {"text": MANIFEST}, {**GATES, "reid": {**risk, "mouse": mouse}}, RECONCILED))
    section = html[html.index("Re-identification by typing rhythm"):html.index("Trends against earlier nights")]
    mouse_part = section[section.index("Mouse events"):]
    assert "73.3%" in mouse_part and "7.3" in mouse_part and "10.0% top-1" in mouse_part and "62.5%" not in mouse_part
    quiet = {"measurable": False, "why": "3 users with 2+ sessions of 20+ keys; 5 needed", "users": 3, "sessions": 6}
    html = render_html(build_report("2026-11-26", source, {"text": MANIFEST}, {**GATES, "reid": quiet}, RECONCILED))
    assert "Not measurable tonight: 3 users" in html
    assert "The re-identification gate did not run" in render_html(report_for(400))


def test_reid_on_events_without_keystroke_sessions_is_not_measurable() -> None:
    from pipeline.contracts import EVENTS_SCHEMA
    from pipeline.reid import identification_risk

    assert identification_risk(EVENTS_SCHEMA.empty_table())["measurable"] is False
