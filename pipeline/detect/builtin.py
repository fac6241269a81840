"""Presidio's own recognizers: structured identifiers (pattern + checksum) and spaCy NER for names and places."""

from __future__ import annotations

import re

import phonenumbers
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MedicalLicenseRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsBankRecognizer,
    UsItinRecognizer,
    UsLicenseRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)

from pipeline.detect.registry import DetectContext, register, spoken_forms

# spaCy's organisation, nationality and date labels redact far more harmless text than they protect.
NER_ENTITIES = ["PERSON", "LOCATION"]


# Seven digits or more with at most a few separators between each: the shortest local numbers ("555-0134").
_PHONE_LIKE = re.compile(r"\d(?:[\s().-]{0,3}\d){6,}")


class DigitGatedPhoneRecognizer(PhoneRecognizer):
    """Presidio's PhoneRecognizer, skipped on texts with no run of digits long enough for a phone number.

    libphonenumber's matcher runs once per policy region on every text, a fifth of the whole text path's time,
    while most lines carry no such run. Keeps Presidio's name, so the policy switch stays the same.
    """

    def __init__(self, supported_regions: list[str]) -> None:
        super().__init__(supported_regions=supported_regions)
        self.name = "PhoneRecognizer"
        # libphonenumber compiles its metadata's regexes through re's own cache of 512 patterns, which eleven
        # regions and the rest of the text path overflow: without its cache they were compiled again and again.
        phonenumbers.enable_pattern_cache()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not _PHONE_LIKE.search(text):
            return []
        return super().analyze(text, entities, nlp_artifacts)


@register("presidio_builtin")
def builtin_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    # The shape recognizers also read numbers, symbols and e-mails spoken in words (pipeline/detect/spoken.py).
    spoken = [
        EmailRecognizer(),
        DigitGatedPhoneRecognizer(supported_regions=context.policy.phone_regions),
        CreditCardRecognizer(),
        UsSsnRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
    ]
    return [spoken_forms(r) for r in spoken] + [
        UrlRecognizer(),
        CryptoRecognizer(),
        UsBankRecognizer(),
        UsLicenseRecognizer(),
        UsPassportRecognizer(),
        UsItinRecognizer(),
        NhsRecognizer(),
        MedicalLicenseRecognizer(),
    ]


@register("spacy_ner")
def ner_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    return [SpacyRecognizer(supported_language=context.policy.language, supported_entities=NER_ENTITIES)]
