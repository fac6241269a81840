"""Scrubline: raw workforce interaction logs in, validated de-identified Parquet shards out.

Stages live in their own modules (read → utterances → detect → redact → validate → publish → report);
`pipeline.run` is the only module that knows their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.contracts import PIPELINE_VERSION as __version__

if TYPE_CHECKING:
    from pipeline.policy import Policy
    from pipeline.roster import Roster


def scrub_texts(
    texts: Sequence[str], roster: Roster | str | Path | None = None, policy: Policy | str | Path | None = None
) -> list[str]:
    """Scrub texts exactly as the nightly run does; imported lazily so `import pipeline` stays light."""
    from pipeline.scrub import scrub_texts as _scrub_texts

    return _scrub_texts(texts, roster=roster, policy=policy)


__all__ = ["__version__", "scrub_texts"]
