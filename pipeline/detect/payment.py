"""Payment identifiers Presidio misses: card numbers of every length the networks issue, and IBANs in any case.

Presidio's CreditCardRecognizer knows the common 13-16 digit formats. Maestro cards run from 12 digits, JCB's
and Diners' older ranges are 14-15 digits, and Visa issues 19; all of them carry a Luhn check digit, so the
check keeps precision. A 12-digit Luhn-valid run is only a card next to a card word: one in ten random numbers
passes Luhn. Chat writes IBANs in lowercase ("my iban is gb42nawi0445..."), which Presidio's pattern does not
take; the ISO 13616 mod-97 check makes a lowercase match as certain as an uppercase one.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer

from pipeline.detect.registry import DetectContext, register, spoken_forms
from pipeline.detect.spans import SpanPattern, SpanRecognizer, cue_check

CARD = "CREDIT_CARD"
IBAN = "IBAN_CODE"
_pattern = SpanPattern.of

_CARD_CUE = re.compile(r"(?i)\b(?:card|cards|cc|credit|debit|visa|mastercard|maestro|amex|jcb|diners|discover|pan)\b")
# 12 to 19 digits, as one run or in groups of 3 to 6 split by single spaces or dashes.
_CARD_DIGITS = r"(?<![\d.,-])(?:\d{12,19}|\d{4}(?:[ -]\d{3,6}){2,4})(?![\d]|[.,-]\d)"


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(cued: bool) -> SpanPattern:
    """Luhn-valid numbers of 13-19 digits anywhere; with `cued`, also 12 digits after a card word."""
    near_card_word = cue_check(_CARD_CUE, before=30)

    def check(match: re.Match[str], start: int, end: int) -> bool:
        digits = re.sub(r"\D", "", match.string[start:end])
        if not 12 <= len(digits) <= 19 or len(set(digits)) < 3 or not luhn_valid(digits):
            return False
        if len(digits) == 12:
            return cued and near_card_word(match, start, end)
        return True

    return _pattern("card_luhn", _CARD_DIGITS, 0.8, check)


def card_recognizer(language: str = "en") -> SpanRecognizer:
    """Card numbers of 12 to 19 digits that pass the Luhn check (12-digit ones only after a card word)."""
    return SpanRecognizer(CARD, [_card(cued=True)], name="PaymentCardRecognizer", supported_language=language)


def iban_valid(value: str) -> bool:
    """ISO 13616: move the country code and check digits to the end, read letters as 10..35, mod 97 is 1."""
    compact = re.sub(r"[\s-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def iban_recognizer(language: str = "en") -> SpanRecognizer:
    """IBANs in any case, compact or grouped by fours, proven by their mod-97 check digits."""
    regex = r"(?<![\w-])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?(?![\w-])"
    pattern = _pattern("iban_any_case", regex, 0.9, lambda m, s, e: iban_valid(m.string[s:e]))
    return SpanRecognizer(IBAN, [pattern], name="IbanAnyCaseRecognizer", supported_language=language)


@register("payment")
def payment_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    language = context.policy.language
    return [spoken_forms(card_recognizer(language)), spoken_forms(iban_recognizer(language))]
