"""What an HTML page written by a night may reference: nothing remote, and only links that resolve."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]+)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import\s+[\"']([^\"']+)", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "srcset", "poster", "data", "action", "formaction", "background", "xlink:href"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []  # (where, url)
        self.ids: set[str] = set()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in URL_ATTRIBUTES:
                self.urls.append((f"<{tag} {name}>", value))
            elif name == "style":
                self.urls += [(f"<{tag} style>", u) for u in CSS_URL.findall(value)]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += [("<style> url()", u) for u in CSS_URL.findall(data)]
            self.urls += [("<style> @import", u) for u in CSS_IMPORT.findall(data)]


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def remote_resources(path: Path) -> list[str]:
    """Every remote reference of the page (a link, script, image, stylesheet, CSS url() or @import), and any
    http(s) address left anywhere in its text."""
    found = [f"{where} {url}" for where, url in parse(path).urls if REMOTE.match(url)]
    text = path.read_text(encoding="utf-8")
    found += [f"text {m.group(0)}" for m in re.finditer(r"https?://\S{0,40}", text, re.IGNORECASE)]
    return found


def broken_links(path: Path) -> list[str]:
    """Relative links and in-page anchors of the page that lead nowhere."""
    page = parse(path)
    broken = []
    for where, url in page.urls:
        if REMOTE.match(url) or url.startswith(("data:", "mailto:")):
            continue
        target, _, fragment = url.partition("#")
        if not target:
            if fragment and fragment not in page.ids:
                broken.append(f"{where} #{fragment}")
            continue
        if not (path.parent / target).exists():
            broken.append(f"{where} {url}")
    return broken
