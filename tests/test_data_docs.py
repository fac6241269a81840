"""Great Expectations' Data Docs pages: self-contained offline, named after the night, status shown, links
that resolve, and never a data value, even for a failing night."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser import CHROMIUM, lay_out
from offline_html import broken_links, remote_resources
from test_validate import LEAKS, ROWS, _rows, _table, _with

from pipeline import validate
from pipeline.data_docs import suite_page_name

DS = "2026-12-06"
ALLOWED_FORMATS = (
    {"result_format": "SUMMARY", "partial_unexpected_count": 0},
    {"result_format": "BOOLEAN_ONLY"},
)


def _write(pages: dict[str, str], folder: Path) -> list[Path]:
    """The pages as a night writes them: report/data_docs/<page>, with the privacy report beside the folder."""
    docs = folder / "report" / "data_docs"
    docs.mkdir(parents=True)
    (folder / "report" / "report.html").write_text("<html></html>")
    for name, html in pages.items():
        (docs / name).write_text(html, encoding="utf-8")
    return sorted(docs.iterdir())


def _cells(html: str, label: str) -> list[str]:
    """The value cells of GE's info table row named `label` (Run Name, Run Time)."""
    pattern = rf"<div class=\"show-scrollbars\">{label}</div></td><td[^>]*><div class=\"show-scrollbars\">([^<]*)</div>"
    return re.findall(pattern, html)


@pytest.fixture(scope="module")
def passing() -> dict[str, str]:
    _, pages = validate.validate_with_docs(_table(_rows()), "text", {"expected_rows": ROWS}, DS)
    return pages


def test_pages_are_the_validation_and_the_suite(passing: dict[str, str]) -> None:
    assert set(passing) == {"text.html", suite_page_name("text")}


def test_no_remote_resource_and_every_link_resolves(passing: dict[str, str], tmp_path: Path) -> None:
    for page in _write(passing, tmp_path):
        assert remote_resources(page) == [], page.name
        assert broken_links(page) == [], page.name
        html = page.read_text()
        assert "<script" not in html, "GE's scripts need jQuery, which is not shipped: none may remain"
        assert 'href="../report.html"' in html, "the home link leads to the privacy report"
        assert "data:image/png;base64," in html, "GE's logo is inlined from the installed package"
        assert ".ge-section {" in html, "GE's own stylesheet is inline"
        assert "Scrubline's offline layout" in html, "and the layout rules for the classes GE's markup uses"
    assert f'href="{suite_page_name("text")}"' in passing["text.html"]


def test_run_name_and_time_are_the_night(passing: dict[str, str]) -> None:
    html = passing["text.html"]
    assert "__none__" not in html
    assert _cells(html, "Run Name") == [f"ds={DS} scrubline {validate.PIPELINE_VERSION}"]
    assert _cells(html, "Run Time") == [f"{DS}T00:00:00Z"]


def test_status_cells_show_pass_and_fail() -> None:
    _, pages = validate.validate_with_docs(_with("text", "mail jane.doe@globex.com"), "text", {"expected_rows": ROWS}, DS)
    html = pages["text.html"]
    expectations = len(validate.load_suite("text")["expectations"])
    passed = html.count('aria-label="succeeded">&#10004;</span>')
    failed = html.count('aria-label="failed">&#10008;</span>')
    # One status glyph per expectation in the results tables, and one for the whole run in the overview.
    assert failed == 1 + 1 and passed == expectations - 1
    assert 'class="fas' not in html, "Font Awesome is not shipped: no icon may stay blank"


def test_same_night_renders_the_same_pages(passing: dict[str, str]) -> None:
    _, again = validate.validate_with_docs(_table(_rows()), "text", {"expected_rows": ROWS}, DS)
    assert again == passing


@pytest.mark.parametrize(("family", "planted"), LEAKS)
def test_a_failing_page_never_shows_the_value(family: str, planted: str, tmp_path: Path) -> None:
    _, pages = validate.validate_with_docs(_with("text", f"fyi {planted} thanks"), "text", {"expected_rows": ROWS}, DS)
    suite = json.dumps(validate.load_suite("text"))
    for page in _write(pages, tmp_path):
        text = page.read_text()
        assert planted not in text
        # Nor a long piece of it, unless the reviewed suite itself spells that piece (a regex, a "why" example).
        for fragment in re.split(r"[\s\"=:]+", planted):
            if len(fragment) >= 8 and fragment not in suite:
                assert fragment not in text, fragment


def test_result_format_keeps_values_out() -> None:
    assert validate.RESULT_FORMAT in ALLOWED_FORMATS


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser installs it)")
def test_pages_at_1280_px_in_chromium_fit_and_fetch_nothing(passing: dict[str, str], tmp_path: Path) -> None:
    _, failing = validate.validate_with_docs(_with("text", "mail jane.doe@example.com"), "text", {"expected_rows": ROWS}, DS)
    for label, pages in (("passing", passing), ("failing", failing)):
        for page in _write(pages, tmp_path / label):
            layout = lay_out(page, tmp_path / label / "chromium")
            assert layout.inner_width == 1280
            assert layout.scroll_width <= 1280, f"{label} {page.name} is {layout.scroll_width} px wide: {layout.wide}"
            assert layout.fetched == [], f"{label} {page.name} loaded {layout.fetched}"
            assert layout.drawn_share > 0.05 and layout.colours > 50, "the screenshot shows GE's styled page"
