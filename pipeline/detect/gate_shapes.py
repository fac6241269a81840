"""The shapes the published-text gate (expectations/text.json) treats as leaks, redacted even when nothing more
specific claims them.

The gate fails a whole night if any published row still matches one of its leak patterns: an e-mail shape, a
US or international phone shape, a 13-19 digit run, an SSN shape, or a credential format. The specific
recognizers deliberately pass some of these ("build 123-456-7890" is no phone to them, "AKIAIOSFODNN7EXAMPLE"
is a documentation key, a 13-digit timestamp is no card), so without this family such a row would stop the
night instead of being published scrubbed. Scores sit just above the threshold, so whenever a specific
recognizer also matches, its entity names the redaction.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer

from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import SpanPattern, SpanRecognizer

SCORE = 0.45
LONG_NUMBER = "LONG_NUMBER"
_pattern = SpanPattern.of


def email_shape_recognizer(language: str = "en") -> SpanRecognizer:
    """Anything shaped like an e-mail address, valid top-level domain or not ("ops@build.internal")."""
    pattern = _pattern("email_shape", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", SCORE)
    return SpanRecognizer("EMAIL_ADDRESS", [pattern], name="EmailShapeRecognizer", supported_language=language)


def phone_shape_recognizer(language: str = "en") -> SpanRecognizer:
    """US 3-3-4 shapes with separators and "+" numbers of 8 to 15 digits, whatever their area code."""
    patterns = [
        _pattern("us_shape", r"(?<!\d)(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)", SCORE),
        _pattern("international_shape", r"(?<![\w+])\+\d(?:[ .()-]{0,2}\d){7,14}(?!\d)", SCORE),
    ]
    return SpanRecognizer("PHONE_NUMBER", patterns, name="PhoneShapeRecognizer", supported_language=language)


def long_number_recognizer(language: str = "en") -> SpanRecognizer:
    """Runs of 13 to 19 digits, optionally split by spaces or dashes: card-like, whatever else they are."""
    pattern = _pattern("digit_run", r"(?<![0-9A-Za-z_])\d(?:[ -]?\d){12,18}(?!\d)", SCORE)
    return SpanRecognizer(LONG_NUMBER, [pattern], name="LongNumberRecognizer", supported_language=language)


def ssn_shape_recognizer(language: str = "en") -> SpanRecognizer:
    """123-45-6789 shapes, including the ranges the SSA never issues that Presidio's recognizer skips."""
    pattern = _pattern("ssn_shape", r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)", SCORE)
    return SpanRecognizer("US_SSN", [pattern], name="SsnShapeRecognizer", supported_language=language)


def credential_shape_recognizer(language: str = "en") -> SpanRecognizer:
    """Credential formats by prefix alone, documentation examples included, and any value after "password:"."""
    patterns = [
        _pattern("aws_key_id_shape", r"(?:AKIA|ASIA)[0-9A-Z]{16}", SCORE),
        _pattern("github_shape", r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}", SCORE),
        _pattern("slack_shape", r"xox[abeprs]-[A-Za-z0-9][A-Za-z0-9-]*", SCORE),
        _pattern("stripe_live_shape", r"[rs]k_live_[A-Za-z0-9]+", SCORE),
        _pattern("jwt_shape", r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?", SCORE),
        _pattern(
            "pem_header_shape",
            r"-----BEGIN [A-Z ]*PRIVATE KEY(?:-----)?(?:[\s\\n]*(?:[A-Za-z0-9+/=]{16,}|-----END [A-Z ]*-----))*",
            SCORE,
        ),
        _pattern(
            "password_value_shape",
            r"(?i:pass(?:word|wd)|pwd)[\"']?\s*[:=]\s*(?:\"(?P<value_dq>[^\"\n]+)\"|'(?P<value_sq>[^'\n]+)'"
            r"|(?P<value>[^\s\"'][^\s\"']*))",
            SCORE,
            strip="",  # "password: ..." must lose its dots too, or the gate still reads a value
        ),
    ]
    return SpanRecognizer("CREDENTIAL", patterns, name="CredentialShapeRecognizer", supported_language=language)


@register("gate_shapes")
def gate_shape_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    language = context.policy.language
    return [
        email_shape_recognizer(language),
        phone_shape_recognizer(language),
        long_number_recognizer(language),
        ssn_shape_recognizer(language),
        credential_shape_recognizer(language),
    ]
