"""Great Expectations' Data Docs pages made self-contained, so a reviewer can open them offline.

GE's page templates pull Bootstrap, jQuery, Font Awesome and its logo from remote servers, and link to a site
index and suite pages that a one-off render does not write. A reviewer's browser must not call out when it
opens a privacy report, so each page is rewritten: every remote stylesheet, script and link goes; GE's own
stylesheet (already inline), its logo and favicon (from the installed package, as data URIs) and a small
stylesheet of ours for the layout classes GE's markup uses are inlined; the status icons become plain glyphs;
the "Failed only" filter and the collapsible details work with CSS alone (no script runs at all); the home
link goes to the privacy report beside the pages and the suite link to the suite's own page.
"""

from __future__ import annotations

import base64
import re
from importlib import resources

STYLES = resources.files("pipeline") / "templates" / "data_docs.css"
_GE_STATIC = ("render", "view", "static", "images")
HOME = "../report.html"  # pages live in report/data_docs/, the privacy report in report/


def suite_page_name(dataset: str) -> str:
    """The file name of a dataset's suite page beside its validation page (`<dataset>.html`)."""
    return f"{dataset}.suite.html"


def _ge_image(name: str) -> bytes:
    folder = resources.files("great_expectations")
    for part in _GE_STATIC:
        folder = folder / part
    return (folder / name).read_bytes()


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


_REMOTE_TAG = re.compile(
    r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>|<link[^>]*\bhref=[\"']https?://[^>]*>", re.IGNORECASE
)
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_REMOTE_CSS_URL = re.compile(r"url\(\s*[\"']?https?://[^)]*\)", re.IGNORECASE)
_REMOTE_ANCHOR = re.compile(r"<a\b[^>]*\bhref=[\"']https?://[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_LOGO = re.compile(r"(<img\b[^>]*\bsrc=)[\"']https?://[^\"']*logo[^\"']*[\"']", re.IGNORECASE)
_FAVICON = re.compile(r"<link rel=\"shortcut icon\"[^>]*>", re.IGNORECASE)
_FOOTER = re.compile(r"<footer>.*?</footer>", re.IGNORECASE | re.DOTALL)
_HOME = re.compile(r"href=\"(?:\.\./)*index\.html\"")
_SUITE_LINK = re.compile(r"href=\"(?:\.\./)*expectations/([a-z][a-z0-9_]*)\.html\"")
_ONCLICK = re.compile(r"\s+onclick=\"[^\"]*\"", re.IGNORECASE)
_PASS_ICON = re.compile(r"<i class=\"fas fa-check-circle text-success\"[^>]*></i>")
_FAIL_ICON = re.compile(r"<i class=\"fas fa-times text-danger\"[^>]*></i>")
_OTHER_ICON = re.compile(r"<i class=\"fas [^\"]*\"[^>]*></i>")


def self_contained(html: str) -> str:
    """GE's rendered page with nothing left to fetch from anywhere: see the module docstring."""
    html = _REMOTE_TAG.sub("", html)
    html = _INLINE_SCRIPT.sub("", html)  # GE's inline scripts all need jQuery, which is not shipped
    html = _ONCLICK.sub("", html)
    html = _FOOTER.sub("", html)  # GE's newsletter footer
    html = _REMOTE_ANCHOR.sub(r"\1", html)  # a link out becomes its text
    html = _REMOTE_CSS_URL.sub("none", html)  # the dark-mode logo from GE's web server
    html = _LOGO.sub(lambda m: f'{m.group(1)}"{_data_uri("image/png", _ge_image("logo-long.png"))}"', html)
    favicon = f'<link rel="shortcut icon" href="{_data_uri("image/x-icon", _ge_image("favicon.ico"))}" type="image/x-icon"/>'
    html = _FAVICON.sub(lambda _: favicon, html)
    html = _HOME.sub(f'href="{HOME}"', html)
    html = _SUITE_LINK.sub(lambda m: f'href="{suite_page_name(m.group(1))}"', html)
    html = _PASS_ICON.sub('<span class="sl-status text-success" title="succeeded" role="img" aria-label="succeeded">&#10004;</span>', html)
    html = _FAIL_ICON.sub('<span class="sl-status text-danger" title="failed" role="img" aria-label="failed">&#10008;</span>', html)
    html = _OTHER_ICON.sub("", html)
    styles = STYLES.read_text(encoding="utf-8")
    return html.replace("</head>", f"<style>{styles}</style>\n</head>", 1)
