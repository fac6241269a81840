"""Presidio's own recognizers: structured identifiers (pattern + checksum) and spaCy NER for names and places."""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer
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

from pipeline.detect.registry import DetectContext, register

# spaCy's organisation, nationality and date labels redact far more harmless text than they protect.
NER_ENTITIES = ["PERSON", "LOCATION"]


@register("presidio_builtin")
def builtin_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    return [
        EmailRecognizer(),
        PhoneRecognizer(supported_regions=context.policy.phone_regions),
        CreditCardRecognizer(),
        UsSsnRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
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
