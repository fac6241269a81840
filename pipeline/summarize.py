"""Aggregate-only summaries of data that is never published row by row (performance records)."""

from __future__ import annotations

from collections import Counter
from typing import Any

SUPPRESSED = "suppressed"


def suppress_small(counts: Counter[str], k: int) -> dict[str, Any]:
    """Counts per group, with every group smaller than k folded into one suppressed bucket."""
    shown = {g: n for g, n in sorted(counts.items()) if n >= k}
    hidden = sum(n for n in counts.values() if n < k)
    if hidden:
        shown[SUPPRESSED] = hidden
    return shown


def summarize_performance(rows: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """How many records, PIPs and rating bands, never who; too-small groups are suppressed."""
    pips = sum(1 for r in rows if r.get("pip"))
    return {
        "records": len(rows),
        "on_pip": pips if pips >= k or pips == 0 else SUPPRESSED,
        "ratings": suppress_small(Counter(_band(r.get("rating")) for r in rows), k),
        "calibrated_ratings": suppress_small(Counter(_band(r.get("calibrated_rating")) for r in rows), k),
        "k_anonymity": k,
    }


def _band(rating: str | None) -> str:
    # Ratings are free-form strings from HR tools; normalise the spelling so groups add up.
    return " ".join((rating or "unrated").casefold().replace("_", " ").split())
