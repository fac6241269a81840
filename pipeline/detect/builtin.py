"""Presidio's own recognizers: structured identifiers (pattern + checksum) and spaCy NER for names and places."""

from __future__ import annotations

import functools
import re
from importlib import resources

import phonenumbers
import tldextract
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


# Path segments after these name a person or an account ("/users/48213", "/in/jane-doe", "/~jdoe").
_PERSONAL_PATH = frozenset("u user users profile profiles people person employee employees member members account"
                           " accounts in author authors staff home".split())
_RANDOM_SEGMENT = re.compile(r"^(?=[^/]*\d)(?=[^/]*[A-Za-z])[A-Za-z0-9_-]{16,}$")


_RESERVED_SUFFIXES = ("example", "test", "invalid", "localhost", "example.com", "example.org", "example.net")
# File names that also parse as domains when written without a scheme: "setup.py", "README.md", "run.sh".
_FILE_SUFFIXES = frozenset("py md sh rs pl so db ps zip mov cc cs lo".split())


@functools.lru_cache(maxsize=1)
def public_hosts() -> frozenset[str]:
    """Registrable domains of public services (lexicons/public_hosts.txt)."""
    text = resources.files("pipeline.detect").joinpath("lexicons/public_hosts.txt").read_text(encoding="utf-8")
    return frozenset(w.lower() for line in text.splitlines() for w in line.split("#", 1)[0].split())


@functools.lru_cache(maxsize=4096)
def _public_host(host: str, has_scheme: bool) -> bool:
    host = host.lower().rsplit(":", 1)[0].rstrip(".")
    if host.endswith(_RESERVED_SUFFIXES) or host.rsplit(".", 1)[-1] in _RESERVED_SUFFIXES:
        return True
    parts = tldextract.extract(host)
    if not has_scheme and not parts.subdomain and parts.suffix in _FILE_SUFFIXES:
        return True  # a file name
    registrable = f"{parts.domain}.{parts.suffix}" if parts.suffix else parts.domain
    if registrable in public_hosts() or host in public_hosts():
        return True
    # A service's own subdomain ("api.", "hooks.", "auth.") is a vendor endpoint, not somebody's home page.
    return bool(parts.subdomain) and parts.subdomain.lower() not in ("www", "www2", "m", "blog", "home")


_SITE_SUFFIX_WORDS = frozenset("com org net edu gov info biz me co ac".split())


@functools.lru_cache(maxsize=4096)
def _site_like(host: str) -> bool:
    """A bare name that reads as a web site rather than code: "www." before it, or a generic or commercial
    suffix ("acme.com", "shop.co.uk"), not a two-letter country code alone after an identifier ("user.id")."""
    host = host.lower()
    if host.startswith("www."):
        return True
    return bool(_SITE_SUFFIX_WORDS & set(tldextract.extract(host).suffix.split(".")))


def personal_url_parts(url: str) -> list[tuple[int, int]]:
    """The spans of a URL that can identify a person or carry a secret: all of a bare link to a site of no
    public service (a personal home page), userinfo, query and fragment values, path segments after a personal word or starting with
    "~", and long random segments. Scheme, public host, ordinary path words and keys stay:
    "https://docs.python.org/3/library/re.html" has none."""
    parts: list[tuple[int, int]] = []
    scheme = re.match(r"(?i)[a-z][a-z0-9+.-]*://", url)
    position = scheme.end() if scheme else 0
    authority_end = next((i for i in range(position, len(url)) if url[i] in "/?#"), len(url))
    userinfo = url.rfind("@", position, authority_end)
    if userinfo > position:
        parts.append((position, userinfo))
    host_start = max(position, userinfo + 1)
    if not scheme and not _site_like(url[position:authority_end]):
        return []  # "self.name", "user.id", "app.py": code and file names that end in a country's domain
    has_path = url[authority_end:].strip("/") != ""
    if host_start < authority_end and not has_path and not _public_host(url[host_start:authority_end], bool(scheme)):
        return [(0, len(url))]  # a link to a home page of no public service: the whole link is about its owner
    cut = [i for i in (url.find("?", authority_end), url.find("#", authority_end)) if i >= 0]
    path_end = min(cut) if cut else len(url)
    previous = ""
    offset = authority_end
    for segment in url[authority_end:path_end].split("/"):
        start, end = offset, offset + len(segment)
        offset = end + 1
        if not segment:
            continue
        if previous.lower() in _PERSONAL_PATH or segment.startswith("~") or _RANDOM_SEGMENT.match(segment):
            parts.append((start, end))
        previous = segment
    for match in re.finditer(r"[?&#;]([^=&#;]*)=([^&#;]+)", url[path_end:]):
        parts.append((path_end + match.start(2), path_end + match.end(2)))
    return parts


class UrlPartsRecognizer(UrlRecognizer):
    """Presidio's URL matcher, reporting only the parts of each URL that identify someone (`personal_url_parts`):
    a whole link redacted took docs, dashboards and package pages out of technical chatter. Keeps Presidio's name."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found = []
        for result in super().analyze(text, entities, nlp_artifacts):
            for start, end in personal_url_parts(text[result.start : result.end]):
                found.append(
                    RecognizerResult(
                        result.entity_type,
                        result.start + start,
                        result.start + end,
                        result.score,
                        recognition_metadata=dict(result.recognition_metadata or {}),
                    )
                )
        return found


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
        UrlPartsRecognizer(),
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
