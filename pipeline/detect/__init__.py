"""Detection: text in, findings (character spans with an entity type) out. No redaction happens here."""

from pipeline.detect.engine import Detector, Finding

__all__ = ["Detector", "Finding"]
