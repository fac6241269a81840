"""Scrubline: raw workforce interaction logs in, validated de-identified Parquet shards out.

Stages live in their own modules (read → utterances → detect → redact → validate → publish → report);
`pipeline.run` is the only module that knows their order.
"""

from pipeline.contracts import PIPELINE_VERSION as __version__

__all__ = ["__version__"]
