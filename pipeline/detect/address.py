"""Street addresses: US and UK street lines, continental "Name 12" streets, units, PO and military boxes, and the
city, region, postcode and country lines that follow them.

An address is found in two steps. Cores are the parts that say "address" on their own: a house number with a
street suffix ("12 Main St"), a street type of another language ("Rua Diadema 1903", "Puruntie 82",
"Erzsébet tér 19."), a unit ("Apt. 595"), a box ("PSC 0413, Box 8144"). Words-and-number shapes that are
only sometimes streets ("Allika 46", "5100 Quadra 104") count after an address cue or with a unit or region
beside them. Then each core grows over the block around it: a bare number just before it (the house number
or postcode of "5049 Harjukuja 54"), and after it units, cities, region codes, postcodes and countries,
separated by commas or line breaks. A city is only taken when a region, postcode or country follows it:
"12 Main St, Thanks for asking" keeps "Thanks".
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from enum import Enum

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pipeline.detect.spans import SpanPattern, SpanRecognizer, cue_check, tagged_result

ADDRESS = "STREET_ADDRESS"


def _faker_street_words(attribute: str, locales: tuple[str, ...]) -> list[str]:
    """Street-type words from Faker's address providers (its curated per-country conventions)."""
    words: set[str] = set()
    for locale in locales:
        provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
        for name, value in vars(provider).items():
            if name.startswith(attribute) and isinstance(value, (list, tuple)):
                words.update(str(v) for v in value if str(v).replace(".", "").replace(" ", "").isalpha())
    return sorted(words, key=len, reverse=True)


# The USPS and Australian suffixes ("Knolls", "Ports", "Inlet"), and street types written before the name in
# Spanish, Portuguese, French, Italian and Polish ("Callejón", "Travessa", "Vicolo", "aleja").
_ENGLISH_SUFFIXES = _faker_street_words("street_suffix", ("en_US", "en_GB", "en_AU"))
_FOREIGN_PREFIXES = _faker_street_words("street_prefix", ("es_MX", "es_ES", "pt_BR", "fr_FR", "pl_PL")) + [
    w.title() for w in _faker_street_words("street_suffix", ("it_IT",))
]
# An address block is surer than NER calling part of it a name, and its placeholder should say so: a score above
# spaCy's 0.85 makes the merged redaction an address.
SCORE = 0.9
_I = re.IGNORECASE
_pattern = SpanPattern.of

# Suffixes that are rarely anything but a street; the others ("Court", "Way", "Park", the long tail of USPS
# suffixes) need a unit, a region or an address cue around them.
_STRONG_SUFFIX = (
    r"Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Dr|Ct|Pl|Parkway|Pkwy|Highway|Hwy|Terrace|Ter"
    r"|Crescent|Cres|Mews|Expressway|Expy|Freeway|Fwy|Turnpike|Tpke"
)
_WEAK_SUFFIX = (
    r"Drive|Court|Way|Place|Circle|Cir|Square|Sq|Close|Grove|Gardens?|Row|Walk|Trail|Trl|Loop|Plaza|Hills?|Park"
    r"|Green|Rise|View|Parade|Wharf|Yard|Run|Junction|Jct|Crossing|Xing|Point|Pt|Ridge|Heights|Hts|Path|Pike"
    r"|Alley|Aly|Creek|Village|Vista|Islands?|Club|Mall|Keys?|Orchard|Harbou?rs?|Coves?|Burgs?|Wall|Station|Fort"
    r"|Fords?|Ferry|Fields?|Flats?|Forest|Forge|Gateway|Glen|Haven|Hollow|Inlet|Knoll|Lakes?|Landing|Lodge|Manor"
    r"|Meadows?|Mills?|Mission|Mount|Mountain|Oval|Pass|Pines|Plains|Port|Prairie|Ranch|Rapids|River|Shores?"
    r"|Springs?|Spur|Stream|Summit|Trace|Track|Valley|Ville|Wells?|Estates?|Bypass|Causeway|Center|Centre|Common"
    r"|Corners?|Course|Crest|Dale|Falls|Bridge|Brook|Bluff|Branch|Bend|Beach|Canyon|Cape|Cliffs?|Curve|Greens"
    r"|Motorway|Shoal|Tunnel|Union|Underpass|Viaduct|Views|Ways|Nagar|Marg|Chowk|Ganj|Path|"
    + "|".join(re.escape(w) for w in _ENGLISH_SUFFIXES)
)
_REGION_CODES = (
    # US states and territories, military post codes, Canadian provinces and territories.
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP PW MH FM AA AE AP "
    "AB BC MB NB NL NS NT NU ON PE QC SK YT"
).split()
_POSTCODE = r"(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)"  # UK, Canada
_HOUSE_NUMBER = r"\b\d{1,6}[A-Za-z]?(?:-\d{1,4})?"
_DIRECTION = r"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
_NAME_WORD = r"(?:[A-Z][A-Za-z'’.-]*|\d{1,3}(?:st|nd|rd|th))"
_UNIT = r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Flat|#)\.?\s*#?[A-Za-z0-9-]{1,6}\b)?"
_COUNTRY = (
    r"(?:USA|U\.S\.A?\.?|United\s+States|United\s+Kingdom|UK|Canada|Australia|New\s+Zealand|Ireland|India|Germany"
    r"|France|Netherlands|Spain|Italy)"
)
_CITY = r"[A-Z][\w.'’-]*(?:[ \t]+[A-Z][\w.'’-]*){0,2}"
# The city is only taken when a state, ZIP, postcode or country follows it: "12 Main St, Thanks" keeps "Thanks".
_REGION = (
    r"(?:(?:,\s*|[ \t]*\n\s*)" + _CITY + r"(?=,?\s+(?:[A-Z]{2}\b|\d{5}|" + _POSTCODE + "|" + _COUNTRY + r")))?"
    r"(?:,?\s+(?:" + "|".join(_REGION_CODES) + r")\b)?(?:,?\s+\d{5}(?:-\d{4})?\b)?(?:,?\s+" + _POSTCODE + r"\b)?"
    r"(?:,?\s+" + _COUNTRY + r"\b(?:\s+\d{5}\b)?)?"
)
_FULL_REGION = (
    r",\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2},?\s+"
    r"(?:(?:" + "|".join(_REGION_CODES) + r")\s+(?:\d{5}(?:-\d{4})?|" + _POSTCODE + r")|" + _POSTCODE + r")\b"
)
_FLAT = r"\b(?:Flat|Studio|Apartment|Apt|Unit)\s+\d{1,4}[A-Za-z]?,\s+(?:\d{1,5}[A-Za-z]?\s+)?"


def _street(name_word: str, suffix: str, lead: str = _HOUSE_NUMBER + r"\s+") -> str:
    """Number, street name words, a suffix in any case, then the optional unit and region as group `tail`."""
    return (
        lead
        + _DIRECTION
        + name_word
        + r"(?:\s+"
        + name_word
        + r"){0,3}\s+"
        + r"(?i:"
        + suffix
        + r")\b\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?(?P<tail>"
        + _UNIT
        + _REGION
        + ")"
    )


_ADDRESS_CUE = re.compile(
    r"(?i)\b(?:address(?:es)?|live[sd]?\s+(?:at|on|in)|living\s+(?:at|on|in)|located\s+at|ship(?:ped)?\s+to"
    r"|send\s+(?:it\s+|them\s+|a\s+new\s+one\s+)?to|sent\s+to|deliver(?:ed)?\s+to|mail(?:ed)?\s+(?:it\s+)?to"
    r"|return(?:ed)?\s+to|moved\s+to|staying\s+at|enter\s+on|drops?\s+(?:you\s+)?off\s+at|corner\s+of"
    r"|meet\s+(?:me|you|us)\s+at|arrived\s+at|taxi\s+to|stop\s+at|side\s+of|(?:is|are)\s+(?:located\s+)?(?:at|on)"
    r"|(?:my|our|his|her|their|parents'?)\s+(?:place|house|home|apartment|flat)\b"
    r"|pick\s+(?:me|you|us|her|him|them)\s+up\s+(?:at|from))"
)
_after_address_cue = cue_check(_ADDRESS_CUE, before=30)


def _near_cue(text: str, start: int) -> bool:
    """An address cue on the same line within 50 characters, or an "Address:" label on the line before."""
    ahead = text[max(0, start - 50) : start]
    lines = ahead.split("\n")
    if _ADDRESS_CUE.search(lines[-1]):
        return True
    return len(lines) >= 2 and bool(re.search(r"(?i)\baddress\s*:?\s*$", lines[-2]))


def _weak_street(match: re.Match[str], start: int, end: int) -> bool:
    """ "9 Supreme Court" or "2 Large Drive" only count with a unit or region after them, an address cue before, or
    a house number of three digits or more ("14132 Levy Ferry")."""
    if match.group("tail").strip(" ,") or _after_address_cue(match, start, end):
        return True
    if re.match(r"\d{3,}", match.string[start:end]):
        return True
    # "the deposit for 9 Mathew Ports": a capitalised street closing the sentence, as an address line does.
    return bool(re.match(r"[ \t]*(?:[.!?;]|$)", match.string[end:])) and _TITLED_WORDS.fullmatch(
        match.string[start:end].split(maxsplit=1)[1]
    ) is not None


_LOWER_UNIT = r"(?P<unit>,?\s+(?:apt|apartment|suite|ste|unit|flat|floor|fl)\.?\s*#?[a-z0-9-]{1,6}\b(?:\s[a-z]\b)?)?"
_TITLED_WORDS = re.compile(r"(?:[A-Z][a-z'’]+\.?[ \t]+){1,3}[A-Z][a-z]+\.?")
_LOWERCASE_WORD = r"(?:[a-z][a-z'’.-]*|\d{1,3}(?:st|nd|rd|th))"
_US_UK_CORES = (
    _pattern("street", _street(_NAME_WORD, _STRONG_SUFFIX), SCORE),
    _pattern("street_weak_suffix", _street(_NAME_WORD, _WEAK_SUFFIX), SCORE, _weak_street),
    # Chat and transcripts are often all lowercase: "i live at 12 oak street" counts after an address cue, and
    # "123 main street apartment 4b" with a unit after it.
    _pattern(
        "street_lowercase", _street(_LOWERCASE_WORD, _STRONG_SUFFIX + "|" + _WEAK_SUFFIX) + _LOWER_UNIT, SCORE,
        lambda match, start, end: bool(match.group("unit")) or _after_address_cue(match, start, end),
    ),
    # Any street name at all when a full region follows: ", City, ST 12345" or a postcode.
    _pattern(
        "street_with_region",
        r"(?:"
        + _FLAT
        + "|"
        + _HOUSE_NUMBER
        + r"\s+)"
        + _DIRECTION
        + _NAME_WORD
        + r"(?:\s+"
        + _NAME_WORD
        + r"){0,3}"
        + _UNIT
        + _FULL_REGION,
        SCORE,
    ),
    # UK flats often give no house number: "Flat 4, Wright Wells, Edwardschester, SS9 5EB".
    _pattern("flat_street", _street(_NAME_WORD, _STRONG_SUFFIX + "|" + _WEAK_SUFFIX, lead=_FLAT), SCORE),
)


# --- streets of other languages ------------------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-ÞĀ-ŽΆ-ΏΑ-ΩА-Я"
_WORD = r"[" + _UPPER + r"][\w'’.-]*"
_LINK = (
    r"(?:de|do|da|dos|das|del|della|delle|dei|degli|di|dal|dalla|du|des|la|le|les|los|las|von|van|der|den|het|y|e|i)"
)
_NUMBER = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?\b"  # "12", "12a", "32/94", "1-3"
# Street types written before the name: Rue de Virton 38, Rua Diadema 1903, ul. Narewska 94, Via Franscini 71.
_PREFIX_TYPE = (
    r"(?:Rue|Rua|R\.|Av\.|Via|Viale|Vicolo|Corso|Piazza|Piazzetta|Largo|Strada|Avenida|Avda\.?|Calle|Carrer|Camino|Paseo"
    r"|Plaza|Praça|Travessa|Estrada|Rodovia|Alameda|ul\.|Ul\.|ulica|Ulica|al\.|Aleja|trg|Trg|Plac|Chemin|Allée|Quai"
    r"|Impasse|Rambla|Avinguda|Passeig|Odos|Leoforos|Rúa|C/|Λ\.|Οδός|Λεωφόρος|Πλατεία|"
    + "|".join(re.escape(w[:1].upper() + w[1:]) for w in _FOREIGN_PREFIXES)
    + ")"
)
# The same types in lowercase chat ("rue du centre 320"), minus those that are English words ("via", "plaza").
_PREFIX_TYPE_LOWER = (
    r"(?:rue|rua|rúa|ul\.|ulica|aleja|al\.|plac|calle|avenida|strada|piazza|praça|travessa|carrer|trg|callejón"
    r"|calzada|cerrada|circuito|privada|viela|vicolo|chemin)"
)
# Street types that end the street's own word: Puruntie, Nybyvägen, Populierenstraat, Wingertweg, Höfðagata.
_SUFFIX_TYPE = (
    r"(?:stra(?:ß|ss)e|gasse|weg|allee|platz|damm|ufer|steig|laan|straat|plein|gracht|kade|dreef|singel|steeg|hof"
    r"|vej|gade|vænget|stræde|vägen|gatan|gata|gränd|veien|vegen|veg|vegur|braut|stígur|tie|katu|kuja|polku|tori"
    r"|väylä|rinne|utca|körút)"
)
# Street types written as their own word after the name: Luite tee 87, Erzsébet tér 19., Kálmán Imre u. 12.
_AFTER_TYPE = (
    r"(?:tee|út|útja|utca|u\.|tér|tere|körút|kapu|rkp\.|sor|sétány|köz|[Ss]tr\.?|iela|cesta|ulica|terrasse|allé|vei"
    r"|gate|gata|vej|(?i:straße|strasse|weg))"
)
_NAME_WORDS = _WORD + r"(?:\s+(?:" + _LINK + r"\s+)?" + _WORD + r"){0,3}"

_STREET_CORES = (
    # "Rua Diadema 1903", "Vicolo Ferrucci, 44", "Continuación Durango 877 614".
    _pattern(
        "prefix_type",
        r"(?<![\w.])"
        + _PREFIX_TYPE
        + r"\s+(?:"
        + _LINK
        + r"\s+)?"
        + _NAME_WORDS
        + r",?\s+"
        + _NUMBER
        + r"(?:[ \t]+\d{1,5}\b)?",
        SCORE,
    ),
    # "27/412, Pingle Path", "46, Barad Street": the house number first, then a comma (India, France).
    _pattern(
        "number_comma_street",
        r"\b\d{1,5}(?:/\d{1,5})?,[ \t]+(?:"
        + _NAME_WORD
        + r"[ \t]+){1,3}(?:"
        + _STRONG_SUFFIX
        + "|"
        + _WEAK_SUFFIX
        + r")\b\.?",
        SCORE,
    ),
    _pattern(
        "prefix_type_lower",
        r"(?<![\w.])" + _PREFIX_TYPE_LOWER + r"(?:\s+[^\W\d_]+){1,4}\s+" + _NUMBER + r"(?![\w.,:/-]?\d)",
        SCORE,
    ),
    # "Höfðagata 39", and hyphenated German names: "Hans Josef-Wieloch-Platz 1-3".
    _pattern(
        "suffix_type",
        r"\b(?:" + _WORD + r"\s+)?" + r"[" + _UPPER + r"][\w'’-]*(?i:" + _SUFFIX_TYPE + r")\s+" + _NUMBER,
        SCORE,
    ),
    _pattern("suffix_type_lower", r"\b[^\W\d_]{3,}" + _SUFFIX_TYPE + r"\s+" + _NUMBER + r"(?![\w.,:/-]?\d)", SCORE),
    # After a house number the street's words may be in any case: "31 Rue tachkent", "36 rue de pologne".
    _pattern(
        "number_prefix_type",
        r"\b\d{1,5}(?:[ \t]+(?i:bis|ter|quater))?[ \t]+(?i:" + _PREFIX_TYPE + "|" + _PREFIX_TYPE_LOWER + r")"
        r"(?:[ \t]+[^\W\d_][\w'’-]*){1,4}",
        SCORE,
    ),
    # After a type word the name may hold lowercase words: "Árpád fejedelem útja 62.", "hegyalja út 98.".
    _pattern(
        "after_type",
        r"\b[^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*){0,3}\s+" + _AFTER_TYPE + r"\s+" + _NUMBER + r"(?:\.(?!\w))?",
        SCORE,
    ),
    # "at the corner of 5th and Main", "the corner of Alšova 408 and Vedzizhev Greens": the phrase is the address.
    _pattern(
        "corner",
        r"(?i:\b(?:the\s+)?corner\s+of)\s+[^\n,;?!]{2,60}?\s+and\s+(?:[" + _UPPER + r"\d][\w'’.-]*)"
        r"(?:[ \t]+(?:" + _LINK + r"[ \t]+)?[" + _UPPER + r"][\w'’.-]*){0,3}",
        SCORE,
    ),
)

# --- units and boxes -----------------------------------------------------------------------------------------------

_UNIT_CORE = _pattern("unit", r"\b(?:Apt|Apartment|Suite|Ste|Flat)\.?\s?#?\d{1,5}[A-Za-z]?\b", SCORE)
_BOX_CORES = (
    _pattern("po_box", r"\bP\.?\s?O\.?\s*Box\s+\d{1,6}\b|\bPostbox\s+\d{1,6}\b", SCORE, flags=_I),
    _pattern("military_box", r"\b(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{3,5}\b", SCORE, flags=_I),
    _pattern("military_post", r"\b(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5}\b", SCORE, flags=_I),
    _pattern(
        "military_ship", r"\b(?:USNS|USNV|USS|USCGC)\s+" + _WORD + r"(?=\s*\n\s*(?:FPO|APO|DPO)\b)", SCORE, flags=_I
    ),
)

# --- shapes that are streets only in context -----------------------------------------------------------------------

# "9816 214 Pavlou Drandaki": a postcode or building number, a house number, then street words.
_NUMBER_NUMBER_WORDS = r"(?<![\w.,-])\d{3,6}\s+\d{1,5}\s+" + _NAME_WORDS + r"\b"
# "5100 Quadra 104", "28245 Puruntie 82": a house number or postcode, street words, a house number.
_NUMBER_WORDS_NUMBER = r"(?<![\w.,-])\d{3,6}\s+" + _NAME_WORDS + r"\s+\d{1,5}[A-Za-z]?\b(?![\w.,]\d)"
# "Allika 46", "Dunajska 56": street words and a house number.
_WORDS_NUMBER = r"(?<![\w.-])" + _NAME_WORDS + r"\s+\d{1,5}[A-Za-z]?\b(?![\w.,:/-]?\d)"

# --- what may follow a street --------------------------------------------------------------------------------------

_SEPARATOR = re.compile(r"[ \t]*(?:,[ \t]*(?:\n[ \t>?]*)?|(?:\n[ \t>?]*){1,2}(?:,[ \t]*)?|/[ \t]*|[ \t]+)")
_UNIT_NEXT = re.compile(
    r"(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Flat|Box|Interior|Int|Depto|Apto|Piso|Bloco|Casa|Lote|Sala)"
    r"\.?\s?#?[A-Za-z]?\d{1,5}[A-Za-z]?\b",
    _I,
)
_POSTCODE_NEXT = re.compile(
    r"(?:\d{5}-\d{3,4}|\d{2}-\d{3}|\d{4,8}|\d{4}\s?[A-Z]{2}|" + _POSTCODE + r"|\d{3}\s\d{2})(?![\w-])"
)
# "Hazaribagh-683155", "Jorhat-259150": a city with its PIN code hyphenated on.
_CITY_POSTCODE_NEXT = re.compile(
    r"[" + _UPPER + r"][\w'’.]{2,}(?:[ \t][" + _UPPER + r"][\w'’.]{2,}){0,2}-\d{5,6}(?![\w-])"
)
_REGION_NEXT = re.compile(
    r"(?:[A-Z]{2}|NSW|VIC|QLD|TAS|ACT|(?:[A-Z]{3,4}|\d{1,2})(?=[ \t,]*\n?[ \t]*\d{4,6}\b))\b\.?(?![\w-])"
)
# City words have three letters or more, so a following "PR" or "NO" is read as a region code.
_CITY_WORD = r"[" + _UPPER + r"][\w'’∆-]{2,}\.?"
# "Stratford upon Avon", "Nossa Senhora Da Aparecida", "Chomutice u Horic v Podkrkonoší". One-letter links only
# in lowercase: a capital "I" starts prose.
_CITY_LINK = r"(?:(?i:(?!(?:i|e|y)\b)" + _LINK + r"|nad|pod|na|am|an|im|sur|sous|upon|on)|[eiyuvz])"
_CITY_NEXT = re.compile(
    r"(?:(?:St|Ste|Mt|Ft)\.?[ \t]+)?"  # "St Georges", "Mt. Vernon"
    + _CITY_WORD
    + r"(?:[ \t-]+(?:(?:"
    + _CITY_LINK
    + r"[ \t]+){1,2}[^\W\d_]{3,}|"
    + _CITY_WORD
    + r")){0,3}"  # "San Gonzalo los bajos"
    + r"(?:[ \t][A-ZÆØÅ]\b)?"  # a postal district: "KØBENHAVN K", "KRISTIANSUND N"
    + r"(?:[ \t]*\([^)\n]{1,30}\))?"
)


@functools.lru_cache(maxsize=1)
def _countries() -> re.Pattern[str]:
    """Country names (Faker's English list, plus short forms), longest first so "United States" beats "United"."""
    from faker.providers.address.en import Provider

    names = {re.sub(r"\s*\(.*\)", "", c) for c in Provider.countries} | {"USA", "U.S.A.", "U.S.", "UK", "U.K."}
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True) if n)
    return re.compile(r"(?:" + alternation + r")(?:\s*\([^)\n]{1,20}\))?(?![\w-])", _I)


# An empty field rendered as text inside an address block ("KNIVSTA, nan 18237", "Gossau, N/A, 65662").
_FILLER_NEXT = re.compile(r"(?i:nan|n/a|none|null|-{1,2})(?![\w/-])")


def _next_part(text: str, pos: int) -> tuple[str, int] | None:
    """The kind and end of the address part that starts right at `pos`, if any."""
    parts = (
        ("filler", _FILLER_NEXT),
        ("unit", _UNIT_NEXT),
        ("postcode", _CITY_POSTCODE_NEXT),
        ("postcode", _POSTCODE_NEXT),
        ("country", _countries()),
    )
    for kind, pattern in parts:
        match = pattern.match(text, pos)
        if match:
            return kind, match.end()
    match = _REGION_NEXT.match(text, pos)
    if match:
        return "region", match.end()
    match = _CITY_NEXT.match(text, pos)
    if match and not _CALENDAR.search(match.group()):
        # "Soloi Cyprus": the city stops where a country starts.
        for word in re.finditer(r"\s+(?=\S)", match.group()):
            if _countries().match(text, pos + word.end()):
                return "city", pos + word.start()
        return "city", match.end()
    return None


def _grow_right(text: str, end: int) -> tuple[int, bool]:
    """The end of the block after a street: units, then cities, regions, postcodes and countries. A city counts
    only when a region, postcode or country comes after it, or a postcode right before it ("08-638 Nysa").
    Also says whether anything but a city was taken."""
    confirmed = False
    after_postcode = after_unit = False
    pending: int | None = None  # end of cities not yet confirmed
    pos = end
    while True:
        separator = _SEPARATOR.match(text, pos)
        start = separator.end() if separator else pos
        if start == pos and pos != end:
            break
        part = _next_part(text, start)
        if part is None:
            break
        kind, part_end = part
        same_segment = "\n" not in text[pos:start] and "," not in text[pos:start]
        if kind == "filler":
            pos = part_end  # taken only if a confirmed part follows it
            continue
        city_line = kind == "city" and _city_line(text, start, part_end, after_unit, same_segment)
        if kind == "city" and not (after_postcode and same_segment) and not city_line:
            pending = pos = part_end
            after_postcode = after_unit = False
            continue
        if kind == "region" and pending is None and not confirmed and same_segment:
            break  # "12 Main St NOW" is shouting, not a state
        end = pos = part_end
        pending = None
        confirmed = True
        after_postcode = kind == "postcode"
        after_unit = kind == "unit"
    return end, confirmed


def _city_line(text: str, start: int, end: int, after_unit: bool, same_segment: bool) -> bool:
    """A city written the way address blocks write it, which needs nothing after it to count: in capitals after a
    comma, a line break or a unit ("\nKRISTIANSUND N", "Apt. 085 BODØ"); alone on its line below the street; or
    ending the line or sentence right after a unit ("Suite 980 Reichenbach Rheinland-Pfalz."). Prose after an
    address has none of these shapes ("12 Main St NOW", "12 Main St, Thanks for asking")."""
    city = text[start:end]
    if _SIGN_OFF.fullmatch(city):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    rest = _FILLER_REST.sub("", text[end : line_end if line_end >= 0 else len(text)])
    ends_line = not rest.strip(" \t,.")
    ends_clause = ends_line or bool(re.match(r"[ \t]*[,;.?!](?:\s|$)", rest))  # not "..., DOB 03/14/1988"
    own_line = not text[line_start:start].strip(" \t,>?")
    words = re.findall(r"[^\W\d_]+", city)
    capitals = bool(words) and all(w.isupper() for w in words) and len(max(words, key=len)) >= 3
    return (own_line and ends_line) or (ends_clause and (after_unit or (capitals and not same_segment)))


_FILLER_REST = re.compile(r"^(?:[ \t,]*(?i:nan|n/a|none|null))+")
_SIGN_OFF = re.compile(r"(?i)thanks|thank\s+you|regards|best|cheers|sincerely|love|bye|hello|hi|ok(?:ay)?|yes|no")


def _grow_left(text: str, start: int) -> int:
    """Take a bare number just before the street on the same line: "5049 Harjukuja 54", "7873 216 Menzies St"."""
    match = re.search(r"(?<![\w.,:/+-])\d{1,6}[ \t]+$", text[max(0, start - 12) : start])
    return start - len(match.group()) if match else start


class Support(Enum):
    """What a core needs besides itself to count as an address."""

    NONE = 0
    CONTEXT = 1  # an address cue, or a unit, region, postcode or country after it
    CONTEXT_OR_NUMBER = 2  # that, or a bare number before it ("73111 31 Seneca Place")


class StreetAddressRecognizer(LocalRecognizer):
    """Street addresses as whole blocks: cores found by pattern, grown over the lines of the block around them."""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entities=[ADDRESS], name="StreetAddressRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """Nothing to load: the patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if entities and ADDRESS not in entities:
            return []
        blocks: list[tuple[int, int, float, bool]] = []
        for start, end, score, support in self._cores(text):
            left = _grow_left(text, start)
            right, confirmed = _grow_right(text, end)
            kept = (
                support is Support.NONE
                or confirmed
                or _near_cue(text, left)
                or (support is Support.CONTEXT_OR_NUMBER and left < start)
            )
            blocks.append((left, right, score, kept))
        return [self._result(start, end, score) for start, end, score, kept in _merge(text, blocks) if kept]

    def _cores(self, text: str) -> Iterator[tuple[int, int, float, Support]]:
        """(start, end, score, what else it needs) of every core."""
        for pattern in _US_UK_CORES + _STREET_CORES + _BOX_CORES + (_UNIT_CORE,):
            for match in pattern.regex.finditer(text):
                if pattern.check is None or pattern.check(match, *match.span()):
                    yield match.start(), match.end(), pattern.score, Support.NONE
                elif pattern.check is _weak_street:
                    yield match.start(), match.end(), pattern.score, Support.CONTEXT_OR_NUMBER
        for regex in (_NUMBER_NUMBER_WORDS_RE, _NUMBER_WORDS_NUMBER_RE, _WORDS_NUMBER_RE):
            for match in regex.finditer(text):
                if not _CALENDAR.search(match.group()):
                    yield match.start(), match.end(), SCORE, Support.CONTEXT

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return tagged_result(self, ADDRESS, start, end, score)


def _merge(text: str, blocks: list[tuple[int, int, float, bool]]) -> list[tuple[int, int, float, bool]]:
    """Overlapping blocks, and blocks with only spaces, commas or line breaks between them, become one; the
    merged block is kept when any of its parts is (a unit beside "Bygget 91" vouches for it)."""
    merged: list[tuple[int, int, float, bool]] = []
    for start, end, score, kept in sorted(blocks):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1] : start].strip(" \t\n,>?")):
            last_start, last_end, last_score, last_kept = merged[-1]
            merged[-1] = (last_start, max(last_end, end), max(last_score, score), last_kept or kept)
        else:
            merged.append((start, end, score, kept))
    return merged


# Dates have the same words-and-numbers shape: "September 17, 2010", "Sat 11 Apr 2015".
_CALENDAR = re.compile(
    r"(?i)\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs?(?:day)?)?"
    r"|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\b"
)
_NUMBER_NUMBER_WORDS_RE = re.compile(_NUMBER_NUMBER_WORDS)
_NUMBER_WORDS_NUMBER_RE = re.compile(_NUMBER_WORDS_NUMBER)
_WORDS_NUMBER_RE = re.compile(_WORDS_NUMBER)


def address_recognizer(language: str = "en") -> StreetAddressRecognizer:
    """The street-address recognizer of the contact family."""
    return StreetAddressRecognizer(supported_language=language)


# --- postal codes on their own -------------------------------------------------------------------------------------

POSTAL_CODE = "POSTAL_CODE"
# The formats of _POSTCODE_NEXT plus short codes (3 digits: Iceland, Faroe) that only a cue makes safe to take.
_POSTAL_VALUE = (
    r"(?P<value>\d{5}-\d{3,4}|\d{2}-\d{3}|\d{3}[ \t]\d{2}|\d{4}[ \t]?[A-Z]{2}|" + _POSTCODE + r"|\d{3,8})(?![\w-])"
)
_YEAR = re.compile(r"(?:19|20)\d\d")


# Words that number things other than places: "in Room 3021", "in Release 4410", "from Ticket 5512".
_NUMBERED_THING = re.compile(
    r"(?i)(?:room|building|bldg|floor|level|version|release|build|sprint|ticket|issue|case|order|invoice|gate"
    r"|terminal|platform|bay|pr|step|phase|batch|run|job|line|row|page|chapter|section|table|figure|model|series)"
)


def _place_postcode(match: re.Match[str], start: int, end: int) -> bool:
    """Not a year, and not the number of a room, a ticket or a release."""
    before = match.string[match.start() : start].split()
    return not _YEAR.fullmatch(match.string[start:end]) and not _NUMBERED_THING.fullmatch(before[-1])


def postal_code_recognizer(language: str = "en") -> SpanRecognizer:
    """A postcode outside a street block: after a zip/postal-code cue ("My zip code is 2200", "ZIP: 7412 SL"), or
    right after a place name in prose ("support Slashdb in ARENDAL 4844 in its mission"). With a street before it,
    the address recognizer takes it as part of the block instead."""
    patterns = [
        _pattern(
            "cue",
            r"(?i:\b(?:zip|post(?:al)?)[ \t]*(?:code|no\.?|number)?s?\b|\bzipcode\b|\bpostcode\b)"
            r"[ \t]*(?::|#|=|-|is|was|of)?[ \t]*(?:(?:is|was|=|:)[ \t]*)?" + _POSTAL_VALUE,
            SCORE,
        ),
        _pattern(
            "after_place",
            r"\b(?:in|from|near)[ \t]+(?:[" + _UPPER + r"][\w'’.-]+[ \t]+(?:" + _LINK + r"[ \t]+)?){1,3}"
            r"(?P<value>\d{4,5}|\d{3}[ \t]\d{2}|\d{4}-\d{3})(?=[ \t]*(?:[,.;:!?)]|$|\n|[ \t]+(?:in|on|at|and|for|to)\b))",
            0.6,
            _place_postcode,
        ),
    ]
    return SpanRecognizer(POSTAL_CODE, patterns, name="PostalCodeRecognizer", supported_language=language)
