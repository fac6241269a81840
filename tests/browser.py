"""A page as headless Chromium lays it out at a laptop's width: how wide the document is (and which elements
stick out), how many charts it draws, what the browser fetched, and a screenshot with how much of it is drawn."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium")

# Measured in the page itself once it is laid out; the result is written into the DOM that --dump-dom prints.
PROBE = """<script>(function () {
  var width = window.innerWidth, wide = [];
  document.querySelectorAll("body *").forEach(function (e) {
    var box = e.getBoundingClientRect();
    if (box.right > width + 0.5 && wide.length < 12) wide.push(e.tagName.toLowerCase() + " " + (e.getAttribute("class") || ""));
  });
  var out = document.createElement("pre");
  out.id = "sl-probe";
  out.textContent = JSON.stringify({
    scroll_width: document.documentElement.scrollWidth, inner_width: width, wide: wide,
    svgs: document.querySelectorAll("svg").length,
    fetched: performance.getEntriesByType("resource").map(function (r) { return r.name; })
  });
  document.body.appendChild(out);
})();</script>"""


@dataclass(frozen=True)
class Layout:
    scroll_width: int
    inner_width: int
    wide: list[str]  # elements whose right edge is past the viewport (outside a scrolling box or not)
    svgs: int
    fetched: list[str]  # every resource the page loaded or tried to: resource timing and the browser's net log
    screenshot: Path
    drawn_share: float  # share of the screenshot's pixels not of its background colour
    colours: int


def _flags(work: Path, width: int, height: int) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={work / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--window-size={width},{height}"]


def lay_out(page: Path, work: Path, width: int = 1280, height: int = 1600) -> Layout:
    """Open a copy of `page` (with the probe script added) and the page itself in Chromium at `width` px."""
    assert CHROMIUM, "chromium is not installed"
    work.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    assert "</body>" in html
    probed = work / f"probed-{page.name}"
    probed.write_text(html.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    net_log = work / f"net-{page.stem}.json"
    dom = subprocess.run([CHROMIUM, *_flags(work, width, height), f"--log-net-log={net_log}", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r'<pre id="sl-probe">(.*?)</pre>', dom.stdout, re.DOTALL)
    assert found, f"the probe did not run in Chromium: {dom.stderr[-400:]}"
    measured = json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    measured["fetched"] = sorted(set(measured["fetched"]) | page_requests(net_log))
    shot = work / f"{page.stem}.png"
    subprocess.run([CHROMIUM, *_flags(work, width, height), f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=180, check=False)
    assert shot.exists(), "Chromium wrote no screenshot"
    pixels = png_pixels(shot)
    assert pixels.shape[1] == width
    flat = pixels.reshape(-1, pixels.shape[2])
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    return Layout(**measured, screenshot=shot, drawn_share=1 - counts.max() / len(flat), colours=len(colours))


def page_requests(net_log: Path) -> set[str]:
    """URLs the page asked the network for, from Chromium's net log. Resource timing alone misses a failed load
    still in flight when the probe runs; the net log records each request as it starts. The browser's own
    background requests are told apart by their isolation key, which for the page's requests is its file:// site."""
    text = net_log.read_text(encoding="utf-8")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # written until the browser exits; a cut-off log lacks its closing brackets
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return {event["params"]["url"] for event in log["events"]
            if event["type"] == start and event.get("params", {}).get("network_isolation_key", "").startswith("file://")}


def png_pixels(path: Path) -> np.ndarray:
    """An 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) as a height × width × channels array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (size,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            row = (np.cumsum(line.reshape(-1, bpp).astype(np.int64), axis=0) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average or Paeth: each byte needs the one left of it, so byte by byte
            row = np.zeros(stride, np.uint8)
            for x in range(stride):
                left = int(row[x - bpp]) if x >= bpp else 0
                up = int(previous[x])
                if kind == 3:
                    row[x] = (int(line[x]) + (left + up) // 2) % 256
                    continue
                corner = int(previous[x - bpp]) if x >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[x] = (int(line[x]) + guess) % 256
        out[y] = row
        previous = row
    return out.reshape(height, width, bpp)
