"""Government ids and bank details of the countries a multinational employs in.

A national id, tax id or passport number is a number or a short code, and work text is full of those, so an id
counts in one of two ways. After its cue ("passport", "NINO", "Steuer-ID", "numéro de sécurité sociale", "CPF",
"Aadhaar", ... in the languages of those countries) any id-shaped value is taken: passports carry no check digit.
With no cue, only the shapes that prove themselves: the formats whose check digits python-stdnum validates
(Italy's codice fiscale, Mexico's CURP, Spain's DNI and NIE, Brazil's CPF, China's resident id, France's NIR,
Sweden's personnummer, India's Aadhaar) and the UK's National Insurance number's letter pattern.

Bank details other than the IBAN (payment.py) are each their own span: US routing numbers with their ABA
checksum (python-stdnum), UK sort codes, Indian IFSC codes, SWIFT/BIC codes, Australian BSBs and account numbers,
all after their cue except the IFSC (its shape is its proof).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from presidio_analyzer import EntityRecognizer
from stdnum import exceptions as stdnum_errors
from stdnum.br import cpf
from stdnum.cn import ric
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.mx import curp
from stdnum.se import personnummer
from stdnum.us import rtn

from pipeline.detect.registry import DetectContext, register, spoken_forms
from pipeline.detect.spans import Check, SpanPattern, SpanRecognizer

NATIONAL_ID = "NATIONAL_ID"
BANK = "BANK_ACCOUNT"
_pattern = SpanPattern.of
_I = re.IGNORECASE

_GOV_CUE = (
    r"(?:passport|national\s+(?:id|identity|insurance)(?:\s+(?:number|no\.?|card))?|ni\s+(?:number|no\.?)|nino"
    r"|social\s+(?:security|insurance)(?:\s+(?:number|no\.?))?|ssn|sin\s+(?:number|no\.?)|tax\s+(?:id|number|file\s+number|code)|tin|tfn"
    r"|itin|id\s+(?:number|no\.?|card)|identity\s+(?:number|card)|driver'?s?\s+licen[cs]e(?:\s+(?:number|no\.?))?"
    r"|licen[cs]e\s+(?:number|no\.?)|medicare(?:\s+(?:number|no\.?))?|ird(?:\s+number)?|nric|my\s*number"
    r"|personnummer|fødselsnummer|henkilötunnus|hetu|bsn|burgerservicenummer|sofinummer|steuer-?id|steuer-?nummer"
    r"|steueridentifikationsnummer|sozialversicherungsnummer|personalausweis(?:nummer)?|ausweis(?:nummer)?"
    r"|reisepass(?:nummer)?|num[ée]ro\s+(?:de\s+)?(?:s[ée]curit[ée]\s+sociale|fiscal|d'identit[ée]|de\s+passeport)"
    r"|insee|nir|carte\s+(?:d'identit[ée]|vitale)|passeport|dni|nif|nuss|n[úu]mero\s+de\s+(?:identidad|pasaporte"
    r"|seguridad\s+social|documento)|c[ée]dula|pasaporte|curp|rut|cpf|cnpj|pesel|codice\s+fiscale"
    r"|carta\s+d'identit[àa]|aadhaar|aadhar|pan(?:\s+(?:card|number))?|emirates\s+id|cnp|egn|oib|amka|afm|tc\s+kimlik"
    r"|kimlik|hkid|resident\s+id|id\s+card)"
)
# An id after its cue: letters and digits, maybe grouped by spaces, dots, dashes or slashes; digits must dominate.
_GOV_VALUE = r"(?P<value>[A-Z0-9](?:[A-Z0-9]|[./-](?=[A-Z0-9])|[ ](?=\d)|[ ](?=[A-Z]\b)){4,24})"
_CUED_GOV = (
    r"\b" + _GOV_CUE + r"\b(?:'s)?(?:\s+(?!\d)[\w'’]{1,12}){0,3}?[^\n\w]{0,4}"
    r"(?:(?:is|was|are|ist|est|es|é|:|#|no\.?|number|nr\.?)\W{0,3}){0,2}" + _GOV_VALUE
)


def _compact(value: str) -> str:
    return re.sub(r"[\s./-]", "", value)


def _cued_id(match: re.Match[str], start: int, end: int) -> bool:
    """An id-shaped value: 5-20 characters, mostly digits or a passport's letters-and-digits, not a date or year."""
    compact = _compact(match.string[start:end])
    digits = sum(c.isdigit() for c in compact)
    if not 5 <= len(compact) <= 20 or digits < 4 or digits < len(compact) / 2:
        return False
    return not re.fullmatch(r"(?:19|20)\d\d|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2}", match.string[start:end])


def _stdnum(*validators: Callable[[str], bool]) -> Check:
    def check(match: re.Match[str], start: int, end: int) -> bool:
        value = match.string[start:end]
        for validate in validators:
            try:
                if validate(value):
                    return True
            except (stdnum_errors.ValidationError, ValueError):
                continue
        return False

    return check


_B = r"(?<![\w-])"
_E = r"(?![\w-])"


def government_id_recognizer(language: str = "en") -> SpanRecognizer:
    """National, tax and passport ids: any id shape after its cue; self-proving formats anywhere."""
    patterns = [
        _pattern("cued_government_id", _CUED_GOV, 0.85, _cued_id, _I),
        _pattern("it_codice_fiscale", _B + r"[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]" + _E, 0.9,
                 _stdnum(codicefiscale.is_valid), _I),
        _pattern("mx_curp", _B + r"[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d" + _E, 0.9, _stdnum(curp.is_valid)),
        _pattern("es_dni_nie", _B + r"(?:\d{8}|[XYZ]-?\d{7})-?[A-Z]" + _E, 0.85, _stdnum(dni.is_valid, nie.is_valid)),
        _pattern("br_cpf", _B + r"\d{3}\.\d{3}\.\d{3}-\d{2}" + _E, 0.9, _stdnum(cpf.is_valid)),
        _pattern("cn_resident_id", _B + r"\d{17}[\dX]" + _E, 0.85, _stdnum(ric.is_valid)),
        _pattern("fr_nir", _B + r"[12]\s?\d{2}\s?(?:0[1-9]|1[0-2])\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}" + _E, 0.85,
                 _stdnum(nir.is_valid)),
        _pattern("se_personnummer", _B + r"(?:19|20)?\d{6}[-+]\d{4}" + _E, 0.8, _stdnum(personnummer.is_valid)),
        _pattern("in_aadhaar", _B + r"[2-9]\d{3}\s\d{4}\s\d{4}" + _E, 0.8, _stdnum(aadhaar.is_valid)),
        _pattern("gb_nino", _B + r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]"
                 + _E, 0.85),
    ]
    return SpanRecognizer(NATIONAL_ID, patterns, name="GovernmentIdRecognizer", supported_language=language)


_ACCOUNT_CUE = (
    r"(?:account|acct|a/c|acc)\.?\s*(?:number|no\.?|num|#)?|kontonummer|konto|num[ée]ro\s+de\s+compte|compte"
    r"|n[úu]mero\s+de\s+(?:cuenta|conta)|cuenta|conta|rekeningnummer|rekening|numero\s+di\s+conto|conto"
)
_ROUTING_CUE = r"(?:routing|aba|rtn|transit)(?:\s+(?:number|no\.?|#|code))?"


def bank_recognizer(language: str = "en") -> SpanRecognizer:
    """Routing numbers (ABA checksum), sort codes, IFSC, SWIFT/BIC, BSB and account numbers, each its own span."""
    is_value = r"[^\n\w]{0,4}(?:(?:is|was|ist|est|es|é|:|#|number|no\.?)\W{0,3}){0,2}"
    patterns = [
        _pattern("us_routing", r"\b" + _ROUTING_CUE + r"\b" + is_value + r"(?P<value>\d{9})\b", 0.9,
                 _stdnum(rtn.is_valid), _I),
        _pattern("uk_sort_code", r"\bsort\s*code\b" + is_value + r"(?P<value>\d{2}[- ]?\d{2}[- ]?\d{2})\b", 0.9,
                 flags=_I),
        _pattern("in_ifsc", _B + r"[A-Z]{4}0[A-Z0-9]{6}" + _E, 0.85,
                 lambda m, s, e: any(c.isdigit() for c in m.string[s + 5 : e])),
        _pattern("swift_bic", r"\b(?:swift|bic)(?:\s+code)?\b" + is_value + r"(?P<value>[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b",
                 0.85, flags=_I),
        _pattern("au_bsb", r"\bbsb\b" + is_value + r"(?P<value>\d{3}[- ]?\d{3})\b", 0.85, flags=_I),
        _pattern("account_number", r"\b(?:" + _ACCOUNT_CUE + r")\b" + is_value + r"(?P<value>\d[\d -]{4,20}\d)\b", 0.85,
                 lambda m, s, e: 6 <= len(_compact(m.string[s:e])) <= 18, _I),
    ]
    return SpanRecognizer(BANK, patterns, name="BankDetailsRecognizer", supported_language=language)


@register("identifiers")
def identifier_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    language = context.policy.language
    return [spoken_forms(government_id_recognizer(language)), spoken_forms(bank_recognizer(language))]
