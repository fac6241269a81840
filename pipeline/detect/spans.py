"""SpanRecognizer: the small regex recognizer the text families share.

Unlike Presidio's PatternRecognizer it reports a named group's span (the secret, not the cue around it)
and lets each pattern veto a match with a check that sees the surrounding text. Each pattern also carries its
trigger (pipeline/detect/triggers.py), what every match of it holds: when the engine has scanned the text for
triggers, a pattern whose trigger the text lacks is not run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pipeline.detect.artifacts import TextArtifacts
from pipeline.detect.triggers import Trigger

# A check sees the match and the (trimmed) value span; returning False drops the match.
Check = Callable[[re.Match[str], int, int], bool]

# Sentence punctuation that follows a value in prose but is rarely the end of a plain password.
TRAILING = ".,;:!?"
SENTENCE_END = ".,;"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<", '"': '"', "'": "'", "`": "`"}


@dataclass(frozen=True)
class SpanPattern:
    """One regex of a SpanRecognizer.

    The reported span is the first participating group whose name starts with "value" (so one regex can
    offer quoted and bare alternatives), else the whole match. Only the bare group named exactly "value"
    is trimmed of the trailing marks in `strip` (see trim_value). `trigger` is derived from the regex: what every
    match holds, so a text without it is not searched.
    """

    name: str
    regex: re.Pattern[str]
    score: float
    check: Check | None = None
    strip: str = TRAILING
    trigger: Trigger = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", Trigger.of(self.regex))

    @classmethod
    def of(
        cls, name: str, regex: str, score: float, check: Check | None = None, flags: int = 0, strip: str = TRAILING
    ) -> SpanPattern:
        """A pattern from regex source, compiled once here."""
        return cls(name=name, regex=re.compile(regex, flags), score=score, check=check, strip=strip)


class SpanRecognizer(LocalRecognizer):
    """A regex recognizer for one entity whose spans come from a named group and whose matches can be vetoed."""

    def __init__(
        self, entity: str, patterns: Sequence[SpanPattern], name: str, supported_language: str = "en"
    ) -> None:
        self.patterns = tuple(patterns)
        super().__init__(supported_entities=[entity], name=name, supported_language=supported_language)

    def load(self) -> None:
        """Nothing to load: the patterns arrive compiled."""

    @property
    def trigger(self) -> Trigger:
        """What a text needs for any pattern to match (the engine skips the whole recognizer on texts without it)."""
        return Trigger.any_of(p.trigger for p in self.patterns)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        features = nlp_artifacts.features if isinstance(nlp_artifacts, TextArtifacts) else None
        results = []
        for pattern in self.patterns:
            if not pattern.trigger.may_match(features):
                continue
            for match in pattern.regex.finditer(text):
                span = self.span(match, pattern)
                if span is not None:
                    results.append(self.result(*span, pattern.score))
        return EntityRecognizer.remove_duplicates(results)

    def span(self, match: re.Match[str], pattern: SpanPattern) -> tuple[int, int] | None:
        """The value's (start, end) in a match, or None when the pattern's check vetoes it."""
        span = _value_span(match, pattern.strip)
        if span is None or (pattern.check is not None and not pattern.check(match, *span)):
            return None
        return span

    def result(self, start: int, end: int, score: float, **metadata: str | None) -> RecognizerResult:
        return tagged_result(self, self.supported_entities[0], start, end, score, **metadata)


def tagged_result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float, **metadata: str | None
) -> RecognizerResult:
    """A result carrying the metadata keys Presidio's engine reads (and keeps) downstream, plus ours."""
    return RecognizerResult(
        entity_type=entity,
        start=start,
        end=end,
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            **metadata,
        },
    )


def cue_check(cue: re.Pattern[str], before: int, after: int = 0) -> Check:
    """A check passing when `cue` occurs within `before` characters ahead of the span (or `after` behind it),
    on the same line."""

    def check(match: re.Match[str], start: int, end: int) -> bool:
        text = match.string
        ahead = text[max(0, start - before) : start].rsplit("\n", 1)[-1]
        behind = text[end : end + after].split("\n", 1)[0]
        return bool(cue.search(ahead) or (after and cue.search(behind)))

    return check


def _value_span(match: re.Match[str], strip: str) -> tuple[int, int] | None:
    for group in match.re.groupindex:
        if group.startswith("value") and match.start(group) >= 0:
            start, end = match.span(group)
            if group == "value":
                end = trim_value(match.string, start, end, strip)
            return (start, end) if end > start else None
    return match.span()


def trim_value(text: str, start: int, end: int, strip: str = TRAILING) -> int:
    """End of a bare value once trailing sentence punctuation (the marks in `strip`) and unbalanced closers go.

    "." "," and ";" at the end always belong to the sentence. "!" "?" and ":" do too, unless the value is
    symbol-rich before them ("P@ss!w0rd!"): then they are more likely part of the password. Key/value
    patterns pass strip=".,;": in "pw: Wint3r!" there is no sentence for the "!" to end.
    """
    value = text[start:end]
    core = value.rstrip(TRAILING + "".join(_CLOSERS))
    symbol_rich = any(not c.isalnum() for c in core)
    while value:
        last = value[-1]
        if (last in _CLOSERS and _unbalanced(value, last)) or (last in SENTENCE_END and last in strip):
            value = value[:-1]
        elif last in strip and not symbol_rich:
            value = value[:-1]
        else:
            break
    return start + len(value)


def _unbalanced(value: str, closer: str) -> bool:
    opener = _CLOSERS[closer]
    if opener == closer:
        return value.count(closer) % 2 == 1
    return value.count(opener) < value.count(closer)
