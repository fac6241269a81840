"""Contact and internal identifiers: phone numbers with extensions, e-mail addresses written to dodge scrapers,
street addresses, dates of birth, employee ids and internal hostnames.

Presidio's PhoneRecognizer scores every phone-shaped number at 0.4 and drops extensions; these patterns
keep the extension in the span and score formatted numbers higher. Dates and bare numbers are everywhere
in work chat, so a date only becomes a DATE_OF_BIRTH next to a birth cue, and a bare number only an
EMPLOYEE_ID or a phone number next to its cue.
"""

from __future__ import annotations

import re
from datetime import date

import ahocorasick
import tldextract
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pipeline.detect import address
from pipeline.detect.registry import DetectContext, register, spoken_forms
from pipeline.detect.spans import Check, SpanPattern, SpanRecognizer, cue_check
from pipeline.roster import Roster

PHONE = "PHONE_NUMBER"
ADDRESS = "STREET_ADDRESS"
DOB = "DATE_OF_BIRTH"
EMPLOYEE_ID = "EMPLOYEE_ID"
HOSTNAME = "HOSTNAME"
_I = re.IGNORECASE
_pattern = SpanPattern.of


# --- phone numbers -------------------------------------------------------------------------------------------------

_EXTENSION = r"(?:\s*,?\s*(?i:ext\.?|extension|x|#)\s*\d{1,6}\b)?"
_PHONE_START = r"(?<![\w+.-])"
_PHONE_END = r"(?![\d]|-\d|\.\d)"  # "815-Fax" ends the number; "815-2" does not
_PHONE_CUE = re.compile(
    r"(?i)\b(?:call|calling|called|phone|ph|tel|telephone|cell|mobile|mob|text|txt|sms|whatsapp|signal|fax|dial"
    r"|number|reach|contact|ring|extension|ext|desk|landline|hotline|answering|voicemail|messages?|registered|whatsapp)\b"
)
# Labels written after a number in signatures and address blocks: "416 60 039 office", "815-Fax".
_PHONE_LABEL_AFTER = re.compile(r"(?i)^[\s,:()-]{0,3}(?:office|fax|mobile|cell|home|work|desk|tel|phone|direct|main)\b")
_PHONE_LABEL_LINE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|fax|desk|contact)\s*(?:number|no\.?|#)?\s*:?\s*$"
)
_NANP = r"(?:(?:\+?1|001)[\s.-]?)?(?:\(\s*[2-9]\d{2}\s*\)\s?|[2-9]\d{2}[\s.-])[2-9]\d{2}[\s.-]\d{4}"
# E.164 allows at most 15 digits; at least 8 keeps "+1 2" or "+33 1" fragments out.
_INTERNATIONAL = r"\+[1-9]\d{0,2}(?:[\s.-]?\(?\d{1,4}+\)?){2,6}"
# UK national numbers: a 0-prefixed area code (often in parentheses) and a grouped subscriber number.
_UK_NATIONAL = r"(?:\(0\d{2,4}\)\s?|0\d{2,4}[\s-]?)\d{3,4}[\s-]?\d{3,4}"


def _digit_count(low: int, high: int) -> Check:
    """A check on how many digits the number has before any extension."""

    def check(match: re.Match[str], start: int, end: int) -> bool:
        number = re.split(r"(?i)\s*,?\s*(?:ext|extension|x|#)", match.string[start:end])[0]
        return low <= sum(c.isdigit() for c in number) <= high

    return check


_GROUPED = r"(?:\(\d{1,4}\)[ \t]?)?\d{2,6}(?:[ \t.-]\d{2,8}){1,4}"  # groups on one line
_DATE_OR_TIME = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^\d{1,2}[.:]\d{2}$")


_grouped_length = _digit_count(7, 13)
_after_phone_cue = cue_check(_PHONE_CUE, before=30)


def _phone_context(match: re.Match[str], start: int, end: int) -> bool:
    """A phone cue before the number on its line, a "Phone:" label ending the line above, or a label after it."""
    text = match.string
    if _after_phone_cue(match, start, end) or _PHONE_LABEL_AFTER.match(text[end : end + 12]):
        return True
    lines = text[max(0, start - 60) : start].split("\n")
    return len(lines) >= 2 and not lines[-1].strip() and bool(_PHONE_LABEL_LINE.search(lines[-2]))


def _cued_grouped(match: re.Match[str], start: int, end: int) -> bool:
    return (
        not _DATE_OR_TIME.match(match.string[start:end])
        and _grouped_length(match, start, end)
        and _phone_context(match, start, end)
    )


def phone_recognizer(language: str = "en") -> SpanRecognizer:
    """NANP, international and UK numbers with extensions; bare digit runs and extensions only after a phone cue."""
    cue = cue_check(_PHONE_CUE, before=40)
    patterns = [
        _pattern("nanp", _PHONE_START + _NANP + _EXTENSION + _PHONE_END, 0.7),
        _pattern("international", _PHONE_START + _INTERNATIONAL + _EXTENSION + _PHONE_END, 0.7, _digit_count(8, 15)),
        _pattern("uk_national", _PHONE_START + _UK_NATIONAL + _EXTENSION + _PHONE_END, 0.6, _digit_count(10, 11)),
        _pattern("bare_ten_digits", _PHONE_START + r"(?:\+?1)?[2-9]\d{2}[2-9]\d{6}" + _PHONE_END, 0.6, _phone_context),
        # Any 9-12 digit run with a phone cue before it or a label after it ("3660170548-Fax").
        _pattern("bare_digits_in_context", _PHONE_START + r"\d{9,12}" + _PHONE_END, 0.5, _phone_context),
        # European national numbers: a trunk 0 and grouped digits ("0688 872 49 99", "024 971 50 30").
        _pattern(
            "national_trunk",
            _PHONE_START + r"0\d{1,4}(?:[ .-]\d{2,4}){2,4}" + _EXTENSION + _PHONE_END,
            0.5,
            _digit_count(9, 11),
        ),
        _pattern("local_seven_digits", _PHONE_START + r"[2-9]\d{2}-\d{4}" + _EXTENSION + _PHONE_END, 0.5, cue),
        # Other countries' national formats ("0490 75 40 81", "(37) 788-063") only right after a phone cue.
        _pattern("grouped_digits_after_cue", _PHONE_START + _GROUPED + _EXTENSION + _PHONE_END, 0.5, _cued_grouped),
        _pattern("extension_only", r"\b(?:ext\.?|extension|x)\s?\d{2,6}\b", 0.5, cue, flags=_I),
    ]
    return SpanRecognizer(PHONE, patterns, name="PhoneExtensionRecognizer", supported_language=language)


# --- dates of birth ------------------------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
# Month names in German, French, Spanish, Portuguese and Dutch, for "12. März 1984", "3 de mayo de 1990".
_FOREIGN_MONTH = (
    r"(?:januar|jänner|februar|märz|mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août"
    r"|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre"
    r"|octubre|noviembre|diciembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro"
    r"|januari|februari|maart|mei|augustus)"
)
_YEAR = r"(?:\d{4}|'?\d{2})"
_DATE = (
    r"(?<![^\W_]|[/.-])(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|\d{1,2}/\d{1,2}"
    r"|\d{1,2}\.\d{1,2}\.(?!\d)|\d{1,2} \d{1,2} (?:\d{4}|\d{2})|(?:19|20)\d{6}|\d{4}(?:19|20)\d{2}|\d{3}(?:19|20)\d{2}"
    r"|\d{6}"
    r"|\d{1,2}[/.-]" + _MONTH + r"\.?[/.-]" + _YEAR + r"|" + _MONTH + r"[/.-]\d{1,2}[/.-]" + _YEAR
    + r"|" + _MONTH + r"\.?\s+(?:the\s+)?\d{1,2}" + _ORDINAL + r"(?:\s?,?\s+" + _YEAR + r")?|\d{1,2}" + _ORDINAL
    + r"\s+(?:of\s+)?" + _MONTH + r"\.?(?:\s?,?\s+" + _YEAR + r")?|" + _MONTH + r"\.?\s+\d{4}"
    r"|\d{1,2}\.?\s+(?:de\s+)?" + _FOREIGN_MONTH + r"(?:\s+(?:de\s+)?\d{4})?)(?![^\W_]|[/-]|\.\d)"
)
_BIRTH_CUE = re.compile(
    r"(?i)(?<![^\W_])(?:born|birth|dob|d\.o\.b|birthday|bday|b-day|b'day|birthdate|date\s+of\s+birth"
    # German, French, Spanish, Portuguese, Dutch, Italian
    r"|geboren|geburtsdatum|geburtstag|geb\.|né|née|naissance|anniversaire|nacid[oa]|nacimiento|cumpleaños"
    r"|nascid[oa]|nascimento|aniversário|geboortedatum|verjaardag|jarig|nato|nata|compleanno"
    # past tenses: "nació el 3 de mayo", "nasceu em", "naquit le", "nacque il"
    r"|naci[óo]|nací|nasceu|nasci|naquit|nacque)(?![^\W_])"
)
# A year of birth alone is a date of birth to the policy: after a cue that says so ("YOB: 1979", "Jahrgang 1972"),
# after "born in" and its translations ("born in 1987", "nacida en 1990", "geboren in 1975"), or before "born"
# in the languages that put it first ("er ist 1987 geboren").
_BIRTH_YEAR_CUE = (
    r"(?:year\s+of\s+birth|birth\s*year|yob|jahrgang|geburtsjahr|geboortejaar|année\s+de\s+naissance"
    r"|año\s+de\s+nacimiento|ano\s+de\s+nascimento|anno\s+di\s+nascita)\s*[:=-]?\s*"
)
_BORN_IN = (
    r"(?:born\s+(?:back\s+)?in|n[ée]e?\s+en|nacid[oa]\s+en|naci[óo]\s+en|nasc(?:id[oa]|eu)\s+em"
    r"|geboren\s+in|nat[oa]\s+nel)\s+"
)
_BIRTH_YEAR = (
    r"(?<![^\W_])(?:(?P<cue>" + _BIRTH_YEAR_CUE + r")|" + _BORN_IN + r")(?P<value>(?:19|20)\d{2})(?![\d/.-]\d)"
    r"|(?<![\d/.-])(?P<value_before>(?:19|20)\d{2})\s+(?:geboren|née?|nacid[oa]|nascid[oa])(?![^\W_])"
)
# Things that are "born in" a year too: products, projects, companies.
_NOT_A_BIRTH = re.compile(
    r"(?i)\b(?:project|product|company|startup|firm|business|app|service|tool|idea|repo|brand|band|album|team"
    r"|feature|platform|initiative|program|programme|movement|tradition|festival|club)s?\b"
)


def _plausible_date(text: str) -> bool:
    """Some reading of the numeric parts is a real calendar date in a birth-year range."""
    if any(c.isalpha() for c in text):
        return True  # a month name: the regex already bounds the day
    if re.fullmatch(r"\d{6,8}", text):
        return any(_plausible_date(reading) for reading in _compact_readings(text))
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) == 2:  # a yearless 3/14
        return any(1 <= month <= 12 and 1 <= day <= 31 for month, day in (numbers, numbers[::-1]))
    first, second, third = numbers
    if first > 31:  # year first
        year, candidates = first, [(second, third)]
    else:
        year = third + (1900 if 30 < third < 100 else 2000 if third < 100 else 0)
        candidates = [(first, second), (second, first)]
    if not 1900 <= year <= date.today().year:
        return False
    return any(1 <= month <= 12 and 1 <= day <= 31 for month, day in candidates)


def _compact_readings(digits: str) -> list[str]:
    """A date written without separators, as a transcript's spoken digits become ("oh three fourteen eighty
    eight" reads 031488), cut every way a date can be: year first (8 digits) or last, with a one- or two-digit
    month and day."""
    readings = [f"{digits[:4]}/{digits[4:6]}/{digits[6:]}"] if len(digits) == 8 and digits[:2] in ("19", "20") else []
    year_digits = 4 if len(digits) > 6 else 2
    head, year = digits[:-year_digits], digits[-year_digits:]
    for cut in range(1, len(head)):
        first, second = head[:cut], head[cut:]
        if len(first) <= 2 and len(second) <= 2:
            readings.append(f"{first}/{second}/{year}")
    return readings


def _birth_year(match: re.Match[str], start: int, end: int) -> bool:
    """A past year (a colleague's, or their child's), and a clause not about a thing born that year."""
    if not 1900 <= int(match.string[start:end]) <= date.today().year:
        return False
    if match.group("cue"):
        return True
    return not _NOT_A_BIRTH.search(match.string[max(0, start - 50) : start].rsplit("\n", 1)[-1])


def _dated_abbreviation(match: re.Match[str], start: int, end: int) -> bool:
    """"(b. 1987-03-14)": the abbreviation counts only before a whole date with its year."""
    value = match.string[start:end]
    return bool(re.search(r"(?:19|20)\d{2}|'\d{2}$|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$", value)) and _plausible_date(value)


def dob_recognizer(language: str = "en") -> SpanRecognizer:
    """A date with a birth cue ("born", "DOB", "birthday") just before it, or right after it; a year of birth
    after or before its cue; a date after the abbreviation "b."."""
    near_birth = cue_check(_BIRTH_CUE, before=60, after=15)

    def check(match: re.Match[str], start: int, end: int) -> bool:
        return _plausible_date(match.string[start:end]) and near_birth(match, start, end)

    patterns = [
        _pattern("dob", _DATE, 0.85, check, _I),
        _pattern("birth_year", _BIRTH_YEAR, 0.85, _birth_year, _I),
        _pattern("dob_abbreviated", r"(?<![^\W_.])b\.\s?(?P<value>" + _DATE + r")", 0.85, _dated_abbreviation, _I),
    ]
    return SpanRecognizer(DOB, patterns, name="DateOfBirthRecognizer", supported_language=language)


# --- employee ids --------------------------------------------------------------------------------------------------

EMPLOYEE_CUE = (
    r"(?:(?:employee|emp|staff|worker|personnel|payroll|badge|associate|hr|contractor|colleague|member|case|hr\s+case"
    r"|grievance|investigation|er\s+case|personal|mitarbeiter|personal|medewerker|empleado|funcionário|employé)"
    r"[\s_-]*(?:id|number|no\.?|num|nr\.?|#|nummer|número|numéro)|eid|employee|badge|personalnummer|matricule|legajo"
    # the number word first, as French, Spanish, Portuguese and Italian say it; Dutch and German compounds
    r"|(?:número|numéro|numero|n[º°o]\.?)\s*(?:de\s+|d['’]\s*|del\s+)?(?:l['’])?(?:empleado|employée?|funcionári[oa]"
    r"|funcionario|colaborador(?:a)?|trabajador(?:a)?|salariée?|dipendente|matrícula|matricola)"
    r"|matr[ií]cula|matricola|personeelsnummer|medewerkers?nummer|mitarbeiter(?:nummer|-nr\.?))"
)
_ERROR_CUE = re.compile(r"(?i)\b(?:error|errno|err|code|exception|fail\w*|warn\w*)\b")


def _not_an_error_code(match: re.Match[str], start: int, end: int) -> bool:
    """"E11000 duplicate key error": the E+5 digits shape is also a common error-code shape."""
    text = match.string
    return not _ERROR_CUE.search(text[max(0, start - 30) : end + 30])


def _cued_employee_id(match: re.Match[str], start: int, end: int) -> bool:
    """After the bare word "employee" a plain number ("employee 2024 survey") needs a prefix or five digits."""
    value = match.string[start:end]
    if match.group("cue").lower() != "employee":
        return True
    return not value.isdigit() or len(value) >= 5


def _known_ids(roster: Roster) -> ahocorasick.Automaton | None:
    """The roster's ids specific enough to match verbatim anywhere (four characters or more, with a digit),
    in one automaton: a roster can hold tens of thousands of them."""
    ids = {e.employee_id for e in roster.employees if len(e.employee_id) >= 4 and any(map(str.isdigit, e.employee_id))}
    if not ids:
        return None
    automaton = ahocorasick.Automaton()
    for employee_id in ids:
        for form in _id_forms(employee_id):
            automaton.add_word(form, (len(form), employee_id))
    automaton.make_automaton()
    return automaton


def _id_forms(employee_id: str) -> set[str]:
    """How an id is written by hand: any case, and a letter prefix split from its digits ("e10234", "E-10234")."""
    forms = {employee_id, employee_id.lower(), employee_id.upper()}
    split = re.fullmatch(r"([A-Za-z]{1,4})(\d{3,})", employee_id)
    if split:
        for sep in ("-", " ", "_"):
            forms |= {f"{split[1]}{sep}{split[2]}", f"{split[1].lower()}{sep}{split[2]}"}
    return forms


def _id_boundary(text: str, start: int, end: int) -> bool:
    """No letter or digit on either side; "_" and "-" may join it to a file name ("E10234_review.pdf")."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())


class EmployeeIdRecognizer(SpanRecognizer):
    """Internal employee ids: the roster's own ids anywhere (with their subject), id formats and cued numbers."""

    def __init__(self, roster: Roster, supported_language: str = "en") -> None:
        patterns = [
            _pattern("e_five_digits", r"\bE-?\d{5}\b", 0.6, _not_an_error_code),
            _pattern("emp_prefixed", r"\bEMP[-_]?\d{3,8}\b", 0.85, flags=_I),
            _pattern(
                "cued_id",
                r"\b(?P<cue>" + EMPLOYEE_CUE + r")\s*(?:(?:is|ist|est|es|é|è)(?!\w)|:|=|#)?\s*#?\s*"
                # a letter prefix may stand apart after a cue ("employee id is E 20451", as speech is written)
                r"(?P<value>(?:[A-Z]{0,4}[-_]?|(?!(?:is|on|of|at|in|to|an|as|or|no|my)\b)[A-Z]{1,2} )"
                r"(?:\d{2,10}(?:[-_/]\d{2,8}){1,2}|\d{3,10}))\b",
                0.85,
                _cued_employee_id,
                flags=_I,
            ),
        ]
        super().__init__(EMPLOYEE_ID, patterns, name="EmployeeIdRecognizer", supported_language=supported_language)
        self._known = _known_ids(roster)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        if self._known is None or (entities and EMPLOYEE_ID not in entities):
            return results
        known = [
            self.result(end + 1 - length, end + 1, 0.95, subject=employee_id)
            for end, (length, employee_id) in self._known.iter(text)
            if _id_boundary(text, end + 1 - length, end + 1)
        ]
        return EntityRecognizer.remove_duplicates(results + known)


# --- internal hostnames --------------------------------------------------------------------------------------------

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_START = r"(?:(?<=//)|(?<![\w.@/-]))"
_HOST_END = r"(?![\w-]|\.\w)"
_INTERNAL_TLD = r"(?:internal|corp|local|lan|intranet|intra|private|localdomain|localnet|home\.arpa)"
_INTERNAL_LABEL = r"(?:corp|internal|intra|intranet|int|lan|ad|office|vpn|priv|private|prod|stg|staging|dev|qa|uat)"
# First labels of reverse-domain package names ("com.acme.internal"), which share the internal suffixes.
_PACKAGE_ROOTS = frozenset("com org net io java javax android androidx kotlin scala sun".split())
_FILE_LIKE_TLDS = frozenset({"local", "private"})  # settings.local, .env.local, key.private
_HOST_CUE = re.compile(
    r"(?i)\b(?:ssh|host(?:name)?|server|node|box|machine|vm|instance|ping|rdp|connect(?:ed)?\s+to|logged\s+into)\b"
)
_IMPORT = re.compile(r"\b(?:import|from|package)\s+$")


def _internal_host(match: re.Match[str], start: int, end: int) -> bool:
    """Not a code module ("from app.core.internal import x", "com.acme.internal") or a settings file."""
    labels = match.string[start:end].lower().split(".")
    if labels[0] in _PACKAGE_ROOTS or _IMPORT.search(match.string[max(0, start - 10) : start]):
        return False
    first, tld = labels[0], labels[-1]
    if len(labels) == 2 and tld in _FILE_LIKE_TLDS:
        return any(c.isdigit() or c == "-" for c in first)  # "nas-01.local" yes, "settings.local" no
    return True


def _valid_octets(match: re.Match[str], start: int, end: int) -> bool:
    octets = re.match(r"ip-(\d+)-(\d+)-(\d+)-(\d+)", match.string[start:end], _I)
    return octets is not None and all(int(o) <= 255 for o in octets.groups())


def hostname_recognizer(language: str = "en") -> SpanRecognizer:
    """Internal hostnames: internal TLDs (.internal, .corp, .local), corp subdomains, EC2 names, UNC hosts."""
    patterns = [
        _pattern(
            "ec2_private_dns",
            r"\bip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}(?:\." + _LABEL + r")*?(?:\.(?:ec2|compute)\.internal)?" + _HOST_END,
            0.85,
            _valid_octets,
            _I,
        ),
        _pattern(
            "internal_tld",
            _HOST_START + r"(?:" + _LABEL + r"\.)+" + _INTERNAL_TLD + _HOST_END,
            0.75,
            _internal_host,
            _I,
        ),
        _pattern(
            "internal_subdomain",
            _HOST_START + r"(?:" + _LABEL + r"\.)+" + _INTERNAL_LABEL + r"\.(?:" + _LABEL + r"\.)*[a-z]{2,24}"
            + _HOST_END,
            0.75,
            _internal_host,
            _I,
        ),
        _pattern("unc_host", r"(?<!\\)\\\\(?P<value_host>[A-Za-z0-9][A-Za-z0-9-]{0,62})\\", 0.7),
        _pattern(
            "env_host",
            r"\b[a-z][a-z0-9]{0,30}(?:-[a-z0-9]{1,30}){0,3}-(?:prod|prd|stg|stage|staging|dev|qa|uat)"
            r"(?:-[a-z0-9]{1,30}){0,3}-?\d{1,3}\b",
            0.6,
            cue_check(_HOST_CUE, before=25),
        ),
    ]
    return SpanRecognizer(HOSTNAME, patterns, name="InternalHostnameRecognizer", supported_language=language)


# --- e-mail addresses written to dodge scrapers ---------------------------------------------------------------------

EMAIL = "EMAIL_ADDRESS"
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT = r"\s*" + _OPEN + r"\s*(?:at|@)\s*" + _CLOSE + r"\s*"
_DOT = r"(?:\s*" + _OPEN + r"\s*(?:dot|\.)\s*" + _CLOSE + r"\s*|\.)"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OBFUSCATED_EMAIL = (
    r"(?<![\w.+-])[\w.+-]{1,64}" + _AT + _LABEL + r"(?:" + _DOT + _LABEL + r")*" + _DOT + r"[A-Za-z]{2,12}(?![\w-])"
)


def _real_domain(match: re.Match[str], start: int, end: int) -> bool:
    """The host ends in a public suffix (tldextract's bundled list): "arr[at]i.length" is code."""
    host = re.split(_AT, match.string[start:end], maxsplit=1, flags=_I)[-1]
    host = re.sub(_DOT, ".", host, flags=_I)
    return bool(tldextract.extract(host).suffix)


def obfuscated_email_recognizer(language: str = "en") -> SpanRecognizer:
    """"paul[at]initech[dot]com", "bob (at) hooli (dot) com": the @ in brackets, the dots bracketed or plain."""
    return SpanRecognizer(
        EMAIL, [_pattern("bracketed_at", _OBFUSCATED_EMAIL, 0.85, _real_domain, flags=_I)],
        name="ObfuscatedEmailRecognizer", supported_language=language,
    )


@register("contact")
def contact_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    language = context.policy.language
    return [
        spoken_forms(phone_recognizer(language)),
        obfuscated_email_recognizer(language),
        spoken_forms(address.address_recognizer(language)),
        address.postal_code_recognizer(language),
        spoken_forms(dob_recognizer(language)),
        spoken_forms(EmployeeIdRecognizer(context.roster, supported_language=language)),
        hostname_recognizer(language),
    ]
