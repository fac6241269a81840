"""Performance: ratings, PIPs and discipline, pay figures, promotion and termination talk about a person.

Most of this vocabulary is also ordinary work English ("promote the build to prod", "the alert fired",
"sales were below expectations", "raise the limit to 5%"), so every pattern is anchored on a person-shaped
reading: a rating verb or review context, a pronoun or name as object, a possessive before a pay noun, a
subject that is not a process, instance or build. Spans cover the whole sensitive phrase, figure included.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import Check, SpanPattern, SpanRecognizer
from pipeline.detect.vocabulary import alternation, clause_parts, load_lexicon

ENTITY = "PERFORMANCE"
_I = re.IGNORECASE

_PRONOUN = r"(?:me|him|her|them|us|you)"
_POSSESSIVE = r"(?:my|his|her|their|your|our)"
# Tense, mood and negation all say the same about the person: "was promoted", "won't be promoted", "might be let go".
_AUX = (
    r"(?:being|been|was|were|got|get|gets|getting|is|are|am|to\s+be|'s|'re|'m|isn't|wasn't|aren't|weren't"
    r"|(?:will|won't|would|wouldn't|gonna|going\s+to|might|may|could|couldn't|should|shouldn't|can't|cannot|must"
    r"|'ll|'d)(?:\s+not)?\s+be)"
)
_ADVERB = r"(?:(?:just|finally|officially|quietly|not|never|also|already|actually)\s+)?"

# Subjects that make "was terminated", "got fired", "was promoted" about software or paperwork, not a person.
_NON_PERSON = frozenset(
    """alert alerts event events trigger triggers job jobs process processes pod pods instance instances container
    containers node nodes server servers session sessions task tasks thread threads connection connections request
    requests worker workers service services vm vms build builds run runs query queries script scripts callback
    hook webhook signal interrupt cron lambda function program app application daemon contract agreement lease
    subscription license deal project feature release artifact image replica branch commit deployment version
    candidate tag message ticket bug handler listener rule alarm timer loop it that this which what cluster
    machine box host database db transaction call stream shard account order change pr mr post""".split()
)
_SUBJECT_WINDOW = 3  # words before the phrase that are checked for a non-person subject


_PERSON_PRONOUNS = frozenset("i he she they we you who everyone someone somebody everybody".split())
_PERSON_POSSESSIVES = frozenset("my his her their your our".split())


def _person_subject(match: re.Match[str], start: int, end: int) -> bool:
    """A pronoun or a name right before the phrase is a person; otherwise no thing may be named just before it
    ("the instance was terminated")."""
    words = re.findall(r"[\w']+", match.string[max(0, start - 40) : start])
    last = words[-1] if words else ""
    if last.lower() in _PERSON_POSSESSIVES:  # "her role was eliminated"
        return True
    if last.lower() in _PERSON_PRONOUNS or (last[:1].isupper() and last.lower() not in _NON_PERSON):
        return True
    return not _NON_PERSON.intersection(w.lower() for w in words[-_SUBJECT_WINDOW:])


# Performance talk is case-free prose; the few case-sensitive parts ("PIP", "TC", names) say so inline.
_pattern = functools.partial(SpanPattern.of, flags=_I)


# --- ratings and calibration ---------------------------------------------------------------------------------------

_EXPECTATIONS = (
    r"(?:(?:strongly|partially|mostly|consistently|fully)\s+)?"
    r"(?:meets|met|meeting|exceeds|exceeded|exceeding|below|above|does\s+not\s+meet|doesn't\s+meet|did\s+not\s+meet"
    r"|didn't\s+meet|not\s+meeting)\s+(?:all\s+|most\s+|some\s+)?expectations"
)
_RATING_LABEL = (
    r"(?:" + _EXPECTATIONS + r"|needs\s+improvement|needs\s+development|unsatisfactory|top\s+performer"
    r"|low\s+performer|under-?performer|under-?performing)"
)
_RATING_LEAD = (
    r"\b(?:rated|rating(?:\s+(?:of|was|is))?\s*:?|got|get|gets|received|given|gave\s+" + _PRONOUN
    + r"|scored|landed|calibrated\s+(?:to|at))\s+(?:(?:a|an|as|at|with)\s+)?"
)
_QUOTE_OPEN = r"[\"'“‘]?"
_QUOTE_CLOSE = r"[\"'”’]?"
# Calibration scales name their levels short ("partially meets", "strongly exceeds"); short forms count in
# quotes or after a rating verb, where "meets" cannot be the verb of the sentence.
_SHORT_RATING = (
    r"(?:(?:strongly|partially|mostly|fully|consistently)\s+)?(?:meets|exceeds|below|does\s+not\s+meet)"
    r"(?:\s+(?:all\s+|most\s+|some\s+)?expectations)?"
)
_RATING_VERB = (
    r"(?:(?:was|is|were|are|got|been|be|being)\s+)?(?:rated|calibrated\s+(?:at|to)|landed(?:\s+at)?|got|received)"
    r"|(?:bumped|moved|knocked|dropped|pushed|calibrated)\s+" + _PRONOUN + r"\s+(?:down|up)\s+to|rating\s*:"
)
# Words near a bare rating label that place it in a review rather than a sales or project update.
_REVIEW_CONTEXT = re.compile(
    r"(?i)\b(?:rat(?:ed|ing)|review|calibrat\w*|perf|performance|cycle|manager|mid-?year|year-?end|annual"
    r"|promo(?:tion)?|feedback|self-?assessment|appraisal|1:1|one-on-one|scorecard|boss)\b"
)
_CONTEXT_WINDOW = 100
_RATED_VALUE = (
    r"(?:outstanding|exceptional|unsatisfactory|satisfactory|needs\s+improvement|below\s+average|above\s+average"
    r"|average|(?:a\s+|an\s+)?[1-5](?:\.\d)?+(?:\s*(?:/|out\s+of)\s*(?:5|10))?)"
)


def _rating_in_context(match: re.Match[str], start: int, end: int) -> bool:
    """A bare label counts when quoted, written as a title ("Meets Expectations"), or near review words."""
    label = match.group("label")
    if match.group("lead") or match.group("quote") or (label[:1].isupper() and label.split()[-1][:1].isupper()):
        return True
    text = match.string
    return bool(_REVIEW_CONTEXT.search(text[max(0, start - _CONTEXT_WINDOW) : end + _CONTEXT_WINDOW]))


def rating_recognizer(language: str = "en") -> SpanRecognizer:
    """Review ratings ("rated 'below expectations'", "got a 2 out of 5") and calibration outcomes."""
    patterns = [
        # The verb goes with the rating: "he <PERFORMANCE>" says less than "he was <PERFORMANCE>".
        _pattern(
            "rating_verb_short_label",
            r"\b(?:(?:he|she|they)\s+(?=was\b|is\b|got\b))?(?:" + _RATING_VERB + r")\s*"
            r"(?:[\"'“‘]" + _SHORT_RATING + r"[\"'”’]|" + _SHORT_RATING + r"\b(?!\s+(?:the|a|an|our|my|your)\b))",
            0.85,
        ),
        _pattern("not_rated", r"\bnot\s+rated\s+(?:this|last|for\s+the)\s+(?:cycle|half|year|period|review)\b", 0.8),
        _pattern(
            "rating_label",
            r"(?P<lead>" + _RATING_LEAD + r")?(?P<quote>[\"'“‘])?(?P<label>" + _RATING_LABEL + r")\b"
            + _QUOTE_CLOSE,
            0.85,
            _rating_in_context,
        ),
        # "rated 4.5 stars" is a product review.
        _pattern(
            "rated_value",
            r"\brated\s+(?:as\s+)?" + _QUOTE_OPEN + _RATED_VALUE + r"\b" + _QUOTE_CLOSE + r"(?!\s*stars?\b)",
            0.8,
        ),
        # "a 2 out of 5" needs its article: "got 3 out of 5 tickets done" is a count, not a rating.
        _pattern(
            "score_out_of",
            r"\b(?:got|get|gets|received|given|gave\s+" + _PRONOUN + r"|scored|landed)\s+(?:a|an)\s+[1-5](?:\.\d)?"
            r"\s*(?:out\s+of|/)\s*(?:5|10)\b(?!\s+[a-z]+s\b)",
            0.8,
        ),
        _pattern(
            "rating_figure",
            r"\b(?:perf(?:ormance)?\s+)?rating\s*(?:of|was|is|:|=)\s*(?:a\s+|an\s+)?[1-5](?:\.\d)?"
            r"(?:\s*(?:/|out\s+of)\s*(?:5|10))?\b|\b(?:a|an|my|his|her|their)\s+[1-5]\s+rating\b",
            0.75,
        ),
        _pattern(
            "calibration",
            r"\b(?:got\s+|was\s+|were\s+|been\s+|being\s+)?calibrated\s+(?:(?:me|him|her|them|us|[A-Z][a-z]+)\s+)?"
            r"(?:down|up|lower|higher)\b|\bcalibration\s+(?:moved|bumped|dropped|knocked|pushed)\s+"
            + _PRONOUN + r"\s+(?:down|up)\b",
            0.8,
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="PerformanceRatingRecognizer", supported_language=language)


# --- PIPs and discipline -----------------------------------------------------------------------------------------

_PIP_TOOL = r"package|packages|install|index|version|cache|config|freeze|list|upgrade|wheel|requirements?|mirror"


def disciplinary_recognizer(language: str = "en") -> SpanRecognizer:
    """Performance improvement plans, warnings, probation, suspension and disciplinary process."""
    patterns = [
        _pattern("pip_expanded", r"\bperformance\s+improvement\s+plan\b", 0.85),
        # Lowercase "pip" is Python's installer, so only "on a pip" style phrasing is taken in any case.
        # Who is on it goes with it when it is a pronoun: "she's on a PIP" -> "<PERFORMANCE>".
        _pattern(
            "on_a_pip",
            r"\b(?:(?:he|she|they|i)(?:'s|'re|'m|\s+is|\s+was|\s+are|\s+am)\s+|(?:is|was|been|being|got|are)\s+)?"
            r"(?:(?:put|placed)\s+)?(?:on|onto|off)\s+(?:a|the|" + _POSSESSIVE + r")\s+(?:formal\s+|\d+[- ]day\s+)?"
            r"(?:pip\b(?!\s+install)|performance\s+improvement\s+plan\b)",
            0.85,
        ),
        _pattern(
            "pip_acronym",
            r"\b(?:(?:a|the|his|her|their|my|your|formal|\d+[- ]day)\s+PIP\b(?!\s+(?:" + _PIP_TOOL + r")\b)"
            r"|PIP(?:'d|'ed|ed)\b"
            r"|PIP\s+(?:plan|meeting|process|period|document|paperwork|timeline|goals|conversation|review)\b)",
            0.85,
            flags=0,
        ),
        _pattern(
            "warning",
            r"\b(?:(?:final|first|second|last)\s+)?(?:written|verbal|formal)\s+warning\b|\bfinal\s+warning\b"
            r"|\b(?:got|get|getting|been|being)\s+written\s+up\b",
            0.85,
        ),
        _pattern(
            "disciplinary_process",
            r"\bdisciplinary\s+(?:action|hearing|meeting|process|procedure|record|letter|notice|review|measures?)\b",
            0.85,
        ),
        _pattern(
            "leave_or_probation",
            r"\b(?:placed|put|is|was|been|being)\s+on\s+(?:administrative\s+leave|(?:performance\s+)?probation)\b"
            r"|\bsuspended\s+(?:with|without)\s+pay\b",
            0.85,
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="DisciplinaryRecognizer", supported_language=language)


# --- compensation --------------------------------------------------------------------------------------------------

_MONEY = (
    r"(?:[$£€]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:[kKmM]\b|million|thousand|grand))?"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:[kK]\b|grand\b)|\d[\d,]*(?:\.\d+)?\s?(?:dollars|usd|eur|gbp|pounds|euros)\b)"
)
_PERCENT = r"\d+(?:\.\d+)?\s?(?:%|percent\b|per\s?cent\b)"
_FIGURE = r"(?:" + _MONEY + "|" + _PERCENT + r"|\d[\d,]*\s+(?:RSUs|shares|options))"
_PAY_NOUN = (
    r"(?:(?:annual|year-?end|signing|sign-on|retention|performance|spot|target|quarterly)\s+)?bonus(?:es)?"
    r"|raise|pay\s+(?:rise|raise|bump|increase|cut)|merit\s+(?:increase|raise|adjustment)|salary|base\s+(?:pay|salary)"
    r"|compensation|comp|(?-i:TC)|total\s+comp(?:ensation)?|equity\s+(?:refresh|grant)|RSUs?|stock\s+(?:grant|refresh)"
    r"|refresher|payout|hourly\s+rate|pay\s+rate|wages?|commission|severance"
)
_PAY_FILLER = (
    r"(?:was|is|are|were|will|be|been|would|came|comes|in|out|at|to|of|by|up|down|just|only|about|around|roughly"
    r"|like|went|got|increased|decreased|bumped|dropped|reduced|ended|being|this|last|next|year|cycle|now|a|an|the"
    r"|me|him|her|them|after|calibration|another|total|as|high|low)"
)
_PAY_TAIL = (
    r"(?:(?:annual|year-?end|signing|sign-on|retention|merit|performance|target|base|pay|salary)\s+)?"
    r"(?:bonus|raise|pay\s+(?:rise|raise|bump|cut|increase)|merit\s+increase|salary|base|refresh(?:er)?|RSUs"
    r"|(?-i:TC)|payout|severance|(?:comp|compensation|pay|salary)\s+(?:adjustment|increase|bump|change))"
)
# "raise" and "comp" are verbs and abbreviations too: a possessive or article before them makes them pay.
_NOUN_LEAD = frozenset({"a", "an", "my", "his", "her", "their", "your", "our", "the", "no", "any", "annual", "merit"})
_EARN_VERB = r"(?:make|makes|making|made|earn|earns|earning|earned|paid|pays|paying)"
_PERIOD = r"(?:\s*(?:a|an|per|/)\s*(?:year|yr|annum|month|mo|hour|hr|week|wk)\b|\s+annually\b)"


def _pay_noun_reads_as_pay(match: re.Match[str], start: int, end: int) -> bool:
    noun = match.group("noun").lower()
    if noun not in {"raise", "comp"}:
        return True
    previous = re.findall(r"[\w']+", match.string[max(0, start - 20) : start].lower())[-1:]
    return bool(previous) and previous[0] in _NOUN_LEAD


def _salary_sized(match: re.Match[str], start: int, end: int) -> bool:
    """An earnings figure is pay when it has a period ("a year") or is salary-sized and not about sales."""
    if match.group("period"):
        return True
    figure = match.group("figure").lower()
    digits = re.sub(r"\D", "", figure.split(".")[0])
    sized = figure.rstrip().endswith(("k", "grand", "million")) or (digits and int(digits) >= 20_000)
    following = match.string[end : end + 20].lower().split()[:1]
    return bool(sized) and not (following and following[0] in {"in", "from", "on", "off", "selling", "of", "for"})


def compensation_recognizer(language: str = "en") -> SpanRecognizer:
    """Pay figures tied to a pay noun ("bonus was 12%", "3% raise", "salary is $145k") and pay changes."""
    patterns = [
        _pattern(
            "pay_noun_figure",
            r"\b(?P<noun>" + _PAY_NOUN + r")\b(?:\s*" + _PAY_FILLER + r"\b){0,4}\s*[:=]?\s*" + _FIGURE,
            0.8,
            _pay_noun_reads_as_pay,
        ),
        # "got a 3% raise": who got it is elsewhere, the getting goes with the figure.
        _pattern(
            "figure_pay_noun",
            r"(?:\b(?:got|gets|getting|received|receiving|given|gave\s+" + _PRONOUN + r")\s+(?:a|an)\s+)?(?<![\w.])"
            + _FIGURE + r"\s+" + _PAY_TAIL + r"\b",
            0.8,
        ),
        _pattern(
            "no_pay_rise",
            r"\bno\s+(?:merit\s+(?:increase|raise)|raise|bonus|pay\s+(?:rise|raise|increase))"
            r"(?:\s+(?:this|last|next)\s+(?:cycle|year|half|time))?\b",
            0.75,
        ),
        _pattern(
            "pay_change",
            r"\b(?:comp|compensation|salary|pay)\s+(?:change|adjustment|increase|decrease|cut|bump|review|freeze"
            r"|discussion|conversation|band|letter)s?\b",
            0.7,
        ),
        _pattern(
            "earnings",
            r"\b" + _EARN_VERB
            + r"\s+(?:about|around|roughly|like|only|just|over|under|almost|nearly|close\s+to\s+)?\s*"
            r"(?P<figure>" + _MONEY + r")(?P<period>" + _PERIOD + r")?",
            0.75,
            _salary_sized,
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="CompensationRecognizer", supported_language=language)


# --- promotion -----------------------------------------------------------------------------------------------------

_LEVEL = (
    r"(?:senior|sr\.?|staff|principal|lead|manager|director|vp|svp|evp|head|chief|partner|fellow|distinguished"
    r"|architect|engineer|engineering\s+manager|team\s+lead|tech\s+lead|associate|analyst|supervisor|level\s+\d+"
    r"|(?:L|E|IC|M|P|T)\d+)"
)
_LEVEL_PHRASE = r"(?:\s+(?:to|as)\s+(?:a\s+|an\s+)?" + _LEVEL + r"(?:\s+" + _LEVEL + r")?\b)?"
_PROMO = r"promo(?:tion)?(?!\s*codes?)"


def promotion_recognizer(language: str = "en") -> SpanRecognizer:
    """Promotion and demotion decisions about a person ("got promoted to Staff", "passed over for promotion")."""
    patterns = [
        _pattern(
            "promoted",
            r"\b" + _AUX + r"\s+" + _ADVERB + r"(?:promoted|demoted|down-?leveled)" + _LEVEL_PHRASE
            + r"(?!\s+to\s+(?:prod|production|staging|main|master|release|stable|live|canary|beta|qa|dev|primary)\b)",
            0.8,
            _person_subject,
        ),
        _pattern(
            "promote_person",
            r"\b(?:promot|demot)(?:e|ed|ing)\s+(?:" + _PRONOUN + r"\b" + _LEVEL_PHRASE
            + r"|(?-i:[A-Z][a-z]+)\s+(?:to|as)\s+(?:a\s+|an\s+)?" + _LEVEL + r"\b)",
            0.8,
        ),
        _pattern(
            "promotion_outcome",
            r"\b(?:passed\s+over\s+for|denied|missed|didn't\s+get|did\s+not\s+get|up\s+for|put\s+" + _PRONOUN
            + r"\s+up\s+for|nominated\s+for|in\s+line\s+for|going\s+up\s+for|submitted\s+for|recommended\s+for)\s+"
            r"(?:a\s+|the\s+|" + _POSSESSIVE + r"\s+)?" + _PROMO + r"\b" + _LEVEL_PHRASE,
            0.8,
        ),
        _pattern(
            "promotion_decision",
            r"\b" + _POSSESSIVE + r"\s+" + _PROMO
            + r"\s+(?:was|got|is|has\s+been)\s+(?:denied|rejected|approved|blocked"
            r"|pushed|delayed|deferred|postponed|held|pulled|confirmed)\b"
            r"|\b" + _PROMO + r"\s+(?:packet|case|committee|nomination|decision|panel)\b",
            0.75,
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="PromotionRecognizer", supported_language=language)


# --- termination ---------------------------------------------------------------------------------------------------

_TERMINATED = r"(?:let\s+go|fired|sacked|laid\s+off|terminated|made\s+redundant|rif'?d|managed\s+out)"
# When it happens is part of the news: "let go next week", "fired today".
_WHEN = (
    r"(?:\s+(?:(?:next|this|last)\s+(?:week|month|quarter|year|monday|tuesday|wednesday|thursday|friday)"
    r"|today|tomorrow|yesterday|tonight))?"
)
# Who "let X go": a subject or an intention ("decided to"); a bare "let me go check" is not a dismissal.
_LET_GO_LEAD = (
    r"(?:they|he|she|we|you|i|company|management|manager|boss|hr|to|gonna|will|'ll|are|is|'re|'s|just|finally)"
)


def termination_recognizer(language: str = "en") -> SpanRecognizer:
    """Firing, layoff and termination of a person ("being let go", "got fired", "laid off")."""
    patterns = [
        _pattern(
            "terminated_passive",
            r"\b" + _AUX + r"\s+" + _ADVERB + _TERMINATED + r"\b(?!\s+(?:of|up|off)\b)" + _WHEN,
            0.85,
            _person_subject,
        ),
        _pattern("laid_off", r"\blaid\s+off\b|\blay(?:ing)?\s+" + _PRONOUN + r"\s+off\b", 0.85, _person_subject),
        _pattern(
            "fire_person",
            # "terminate them" is usually processes: only singular people are terminated here.
            r"\b(?:(?:fire|fired|firing|sack|sacked|sacking)\s+" + _PRONOUN
            + r"|(?:terminate|terminated|terminating)\s+(?:me|him|her|you|us))\b"
            r"(?!\s+(?:up|off|back|out|over|a|an|the)\b)",
            0.8,
        ),
        _pattern(
            "let_person_go",
            r"\b" + _LET_GO_LEAD + r"\s+(?P<value>(?:let|letting)\s+(?:" + _PRONOUN + r"|(?-i:[A-Z][a-z]+))\s+go)\b"
            r"(?!\s+(?:of|to|and|first|ahead|home|through|back|grab|get|see|look|check|early|for|on|out|now)\b)",
            0.8,
        ),
        _pattern(
            "layoff_impact",
            r"\b(?:affected|impacted|hit|caught)\s+(?:by|in)\s+(?:the\s+)?(?:layoffs?|rif|reduction\s+in\s+force"
            r"|redundanc(?:y|ies))\b|\bon\s+the\s+(?:layoff|rif|redundancy)\s+list\b",
            0.8,
        ),
        _pattern(
            "termination_noun",
            r"\b(?:" + _POSSESSIVE + r"|wrongful|involuntary)\s+termination\b"
            r"|\btermination\s+(?:meeting|letter|notice|paperwork|decision|for\s+cause)\b"
            r"|\bseverance\s+(?:package|agreement|pay|offer|deal)\b",
            0.8,
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="TerminationRecognizer", supported_language=language)




# --- concepts: values with a shape next to the words of their concept ---------------------------------------------
# The vocabularies are data (lexicons/performance.yaml); the shapes (amounts, rating tokens) are built here once.


def lexicon() -> dict[str, list[str]]:
    """The performance vocabularies, as a reviewer reads them in lexicons/performance.yaml."""
    return load_lexicon("performance.yaml")


def _words(key: str) -> str:
    """Alternation of a vocabulary, longest first, each entry whole words with any run of spaces between them."""
    return alternation(lexicon()[key])


@functools.cache
def _currency_symbols() -> tuple[list[str], list[str]]:
    """Currency symbols (every Unicode currency sign and Babel's local symbols such as "Rs", "R$", "zł", "kr")
    and ISO 4217 codes, from Babel's currency data."""
    from babel import Locale, localedata
    from babel.numbers import list_currencies

    codes = sorted(c for c in list_currencies() if c.isalpha() and len(c) == 3)
    symbols = {chr(c) for c in range(0x20, 0x2100) if unicodedata.category(chr(c)) == "Sc"}
    for name in ("en", "en_IN", "de", "fr", "es", "pt_BR", "pl", "sv", "da", "ja", "zh", "hi", "ru", "tr", "nl", "it"):
        if localedata.exists(name):
            symbols.update(s for s in Locale.parse(name).currency_symbols.values() if not s.isalpha() or len(s) <= 3)
    # A symbol that is an ISO code or plain letters of one or two characters ("R", "kr") needs a digit beside it.
    return sorted({s for s in symbols if s and s not in codes and not s.isdigit()}, key=len, reverse=True), codes


_NUMBER_WORD = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a|and|half|point)"
)
_NUMBER_START = _NUMBER_WORD.replace("|and|half|point)", ")")  # "and twenty k" starts at "twenty"
_TENS = r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)"
_SPOKEN_MULTIPLIER = r"(?:thousand|k|lakh|lakhs|lac|crore|crores|million|grand|mil|bucks)"


@functools.cache
def amount_regex() -> str:
    """An amount in any currency and number format: "$1,234.56", "1.234,56 €", "₹12,34,567", "95k", "1.2M",
    "EUR 80.000", "17 lakh"."""
    symbols, codes = _currency_symbols()
    symbol = "(?:" + "|".join(map(re.escape, symbols)) + ")"
    code = "(?-i:" + "|".join(codes) + r")\b"
    multiplier = r"(?:\s?" + _words("multipliers") + r"\b\.?)"
    currency_word = _words("currency_words")
    figure = r"(?:" + _NUMBER + r")" + multiplier + "?"
    return (
        r"(?<!\w)(?:(?:" + symbol + r"|" + code + r")\s?" + figure
        + r"|" + figure + r"\s?(?:" + symbol + r"|" + code + r"|" + currency_word + r"\b)"
        + r"|(?:" + _NUMBER + r")\s?" + _words("multipliers") + r"\b\.?)"
    )


@functools.cache
def spoken_amount_regex() -> str:
    """An amount in words: "seventeen lakh", "ninety five thousand dollars", "one twenty k"."""
    currency_word = _words("currency_words")
    return (
        r"\b" + _NUMBER_START + r"(?:[\s-]+" + _NUMBER_WORD + r")*\s+(?:" + _SPOKEN_MULTIPLIER + r"\b"
        r"(?:\s+" + currency_word + r"\b)?|" + currency_word + r"\b)"
    )


# Numbers in words with no multiplier ("my base is one forty two"): only right after a pay word.
SPOKEN_PLAIN = r"\b" + _NUMBER_START + r"(?:[\s-]+" + _NUMBER_WORD + r")+\b"


_NUMBER = r"(?<![\w.,])\d{1,3}(?:[,.'\u00a0\u202f ]\d{2,3})+(?:[.,]\d{1,2})?(?!\d)|(?<![\w.,])\d+(?:[.,]\d+)?"
PERCENT = r"(?:(?:" + _NUMBER + r")\s?(?:%|percent\b|per\s?cent\b|pc\b)|\b" + _NUMBER_WORD + r"(?:[\s-]+" \
    + _NUMBER_WORD + r")*\s(?:percent|per\s?cent)\b)"


_CLAUSE_BREAK = re.compile(r"[.!?;]\s|[\n|•]")
# A question is a rating's cue when an answer follows it ("Would you promote? Definitely Not").
_STATEMENT_BREAK = re.compile(r"[.!;]\s|[\n|•]")


def _near(
    cue: re.Pattern[str], block: re.Pattern[str], before: int, after: int, breaks: re.Pattern[str] = _CLAUSE_BREAK
) -> Check:
    """A check: a cue word in the value's clause, and no blocking word there."""

    def check(match: re.Match[str], start: int, end: int) -> bool:
        ahead, behind = clause_parts(match.string, start, end, before, after, breaks)
        return bool(cue.search(ahead) or cue.search(behind)) and not (block.search(ahead) or block.search(behind))

    return check


_PAY_LEAD = re.compile(
    r"\b(?:base|salary|comp|offer|package|bonus|pay|CTC|TC)\s+(?:is|was|will\s+be|of|at|(?:is\s+|was\s+)?going\s+to|went\s+to"
    r"|came\s+in\s+at|(?:is\s+|was\s+)?(?:like|about|around))(?:\s+(?:like|about|around|just|only))?\s+$", _I
)


def _after_pay_word(match: re.Match[str], start: int, end: int) -> bool:
    """A number in words right after a pay word and its verb ("base is one forty two"), and more than a digit's
    worth ("one forty", not "one")."""
    return bool(_PAY_LEAD.search(match.string[max(0, start - 40) : start])) and bool(
        re.search(_TENS + "|" + r"\s", match.group("value"), _I)
    )


def _either(first: Check, second: Check) -> Check:
    return lambda match, start, end: first(match, start, end) or second(match, start, end)


def _whole(words: str) -> re.Pattern[str]:
    """Any of the words (an alternation) as a whole word, or with a plain English ending ("bumped", "raises",
    "bonuses"), so a list names each concept once and never matches inside a longer word ("payroll")."""
    return re.compile(r"(?<![\w-])(?:" + words + r")(?:s|es|ed|d|ing)?(?![\w-])", re.IGNORECASE)


class FileNameSpanRecognizer(SpanRecognizer):
    """Reads underscores as spaces, so file names and window titles read like prose ("Review_Rating_Exceeds.pdf",
    "offer_95k_base.docx"); the replacement keeps every offset."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return super().analyze(text.replace("_", " "), entities, nlp_artifacts)


def pay_amount_recognizer(language: str = "en") -> SpanRecognizer:
    """Pay, bonus and equity amounts of a person: any amount beside a pay word in its clause, unless the clause
    is about a company-level figure ("the bonus pool is $2M", "a budget of 40k"). The span is the amount."""
    amount = amount_regex()
    company = _whole(_words("company_level_words"))
    any_pay = _near(_whole(_words("pay_words") + "|" + _words("pay_nouns")), company, 60, 40)
    pay_noun = _near(_whole(_words("pay_nouns")), company, 60, 30)
    earned = _near(re.compile(r"\b" + _EARN_VERB + r"\s+(?:\w+\s+)?$", _I), company, 25, 0)
    shares = r"(?<![\w.,])\d[\d,.]*\s?k?\s+(?:RSUs?|shares|options|units)\b"
    return FileNameSpanRecognizer(
        ENTITY,
        [
            SpanPattern.of("pay_amount", r"(?P<value>" + amount + r")", 0.8, any_pay, flags=_I),
            SpanPattern.of("equity_units", r"(?P<value>" + shares + r")", 0.8, any_pay, flags=_I),
            # The first figure of a range takes its currency from the second: "from 82,000 to 90,500 EUR",
            # "120 000 → 131 000 USD", "between 4.2 and 4.8 lakh".
            SpanPattern.of("pay_range_start", r"(?P<value>" + _NUMBER + r")(?=\s*(?:to|and|-|–|→|->)\s*(?:" + amount
                           + r"))", 0.8, any_pay, flags=_I),
            # A bare percentage or an amount in words needs a pay noun: "raise the limit to 5%" is a verb, and
            # "made a million subs" no pay.
            SpanPattern.of("pay_percent", r"(?P<value>" + PERCENT + r")", 0.8, pay_noun, flags=_I),
            SpanPattern.of("pay_spoken", r"(?P<value>" + spoken_amount_regex() + r")", 0.8, _either(pay_noun, earned),
                           flags=_I),
            SpanPattern.of("pay_spoken_plain", r"(?P<value>" + SPOKEN_PLAIN + r")", 0.75, _after_pay_word, flags=_I),
        ],
        name="PayAmountRecognizer",
        supported_language=language,
    )


_SCALE = (
    r"(?<![\w.,/])\d(?:[.,]\d{1,2})?\s?(?:/|out\s+of|of)\s?(?:3|4|5|6|7|10|100)\b(?![/.,]\d)"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten)(?:\s+(?:point|and\s+a)\s+(?:five|half))?"
    r"\s+out\s+of\s+(?:three|four|five|seven|ten)\b"
    r"|(?<![\w.,/])\d(?:[.,]\d)?\s+on\s+(?:a|the)\s+(?:\d|three|four|five|seven|ten)[- ]point\s+scale\b"
)
_RATING_CUE = (
    r"(?:rated|rating|score|scored|calibrated(?:\s+(?:at|to|as))?|landed(?:\s+(?:at|on))?|came\s+(?:in|out)\s+(?:at|as)"
    r"|(?:rating|score)\s+(?:came\s+(?:in|out)|was|is|ended\s+up)\s+(?:at|as))"
)


def _placed_label(near: Check) -> Check:
    """A capitalised word counts as a rating only when it is one of the scale's labels."""
    labels = {w.lower() for w in lexicon()["short_rating_labels"] + lexicon()["rating_labels"]}

    def check(match: re.Match[str], start: int, end: int) -> bool:
        value = match.group("value")
        return (value[0].isdigit() or value.lower() in labels) and near(match, start, end)

    return check


def rating_scale_recognizer(language: str = "en") -> SpanRecognizer:
    """Ratings on any scale tied to review talk: "4/5", "3 out of 5", "a 7 out of 10", "Meets Most",
    "Definitely Not" as a calibration answer. A bare digit or a short label ("Strong", "Solid") counts only right
    after a rating cue or a form label ("Rating: 3", "rated Strong", "Overall: Solid"), or in quotes; nothing
    counts in a clause about a thing ("ratings of the new café", "the app is 4/5"). The span is the rating."""
    cue = _whole(_words("rating_words"))
    block = _whole(_words("not_a_person_words"))
    near = _near(cue, block, 80, 40, _STATEMENT_BREAK)
    not_thing = _near(re.compile(r""), block, 80, 40, _STATEMENT_BREAK)
    label = _words("rating_labels")
    short = _words("short_rating_labels")
    lead = (
        r"(?:\b" + _RATING_CUE + r"\s*(?:[:=-]\s*)?(?:(?:was|is|of)\s+)?(?:(?:a|an|as|at)\s+)?"
        r"|\b(?:overall|final|rating|score|outcome|result|calibration)\s*[:=-]\s*)"
    )
    quote_open, quote_close = r"[\"'“‘]", r"[\"'”’]"
    patterns = [
        SpanPattern.of("scale_value", r"(?P<value>" + _SCALE + r")", 0.8, near, flags=_I),
        SpanPattern.of("rating_label", r"(?<![\w-])(?P<value>" + label + r")(?![\w-])", 0.8, near, flags=_I),
        SpanPattern.of(
            "cued_short_label",
            # a spelled number only after "a" ("came out as a three"), so "scored two goals" stays
            lead + r"(?:" + quote_open + r")?(?P<value>" + short + r"|[1-5](?:\.\d)?|(?-i:[A-E][+-]?)(?!\w)"
            r"|(?<=\ba )(?:one|two|three|four|five))"
            r"(?:" + quote_close + r")?(?![\w-])(?!\s+(?:of|on|for|with|in|at|stars?|to)\b)",
            0.75,
            not_thing,
            flags=_I,
        ),
        # "calibration moved her from Strong to Solid", "gave him a Below", "got a 4 in the mid-year review".
        SpanPattern.of(
            "placed_label",
            r"\b(?:from|to|as|a|an)\s+(?P<value>(?-i:[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)|[1-5](?:\.5)?)\b"
            r"(?!\s*(?:%|/|-|\.\d|out\b|of\b|on\b|stars?\b|[a-z]+s\b|hours?\b|day\b|week\b|month\b|year\b|minute\b|x\b|k\b|pm\b|am\b))",
            0.7,
            _placed_label(near),
        ),
        SpanPattern.of(
            "quoted_short_label",
            quote_open + r"(?P<value>" + short + r")" + quote_close,
            0.75,
            near,
            flags=_I,
        ),
    ]
    return FileNameSpanRecognizer(ENTITY, patterns, name="RatingScaleRecognizer", supported_language=language)


def outcome_recognizer(language: str = "en") -> SpanRecognizer:
    """Job outcomes of a person: roles eliminated, RIFs, layoffs, PIPs under other names, failed probation,
    promotions approved or denied, retention offers, warnings; the lexicon's phrases, with a person as their
    subject (no process, build or instance named just before them)."""
    phrases = "|".join(f"(?:{p})" for p in lexicon()["outcome_phrases"])
    return SpanRecognizer(
        ENTITY,
        [SpanPattern.of("outcome", r"(?<![\w-])(?P<value>" + phrases + r")(?![\w-])", 0.8, _person_subject, flags=_I)],
        name="OutcomeRecognizer",
        supported_language=language,
    )


@register("performance")
def performance_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    language = context.policy.language
    return [
        rating_recognizer(language),
        disciplinary_recognizer(language),
        compensation_recognizer(language),
        promotion_recognizer(language),
        termination_recognizer(language),
        pay_amount_recognizer(language),
        rating_scale_recognizer(language),
        outcome_recognizer(language),
    ]
