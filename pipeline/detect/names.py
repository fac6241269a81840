"""Names of people the roster does not know: a given-name and surname lexicon read with the words around it,
and spaCy entities of other types that are really names.

en_core_web_sm misses many names: unfamiliar ones ("Kristensen"), lowercase ones ("emma", "amy schumer"), and
ones it files as an organisation or a nationality ("Magnus Poulsen" as ORG). A lexicon (Faker's name lists for
all its locales plus the 1990 US census lists) finds them, but many names are also words ("Will", "Grace",
"Brown", "Story"), so every hit is classed against the everyday words of English (the model's WordNet-derived
lemma index and wordfreq frequencies):

- distinctive: no everyday word, or a name first ("George", "Rogers"): enough on its own when capitalised;
- word-like: also a word: needs evidence (a distinctive name beside it, a cue such as "Mr", "with", "ask"
  before it, a phrase such as "my name is", or a list of names around it);
- lowercase or shouted: an English given name that is no word ("justin", "ELLEN"), a rare name no dictionary
  holds ("gaby", "IDRIS"), or a distinctive name beside another one ("monika žilková").

An unknown capitalised word counts after a title ("Mr Radebe", "thanks Jessum") or a naming phrase, in a list of
names, as a speaker label ("Vsevolod: ..."), or when the tagger calls it a proper noun and English has next to no
use for it ("Shovda", "Ogasahara"), also when it opens a sentence, unless it is workplace software
(`lexicons/workplace_terms.txt`), written like a product ("PagerDuty"), or used as a thing ("the Quasar rollout",
"a role at Initech"). Project code names used like names are still taken, a small loss next to a leaked name.
Chat writes names in ways of its own, each of which counts as evidence for a word-like name: spoken to ("Lily I
love your videos", "where are you, Summer?"), possessive ("Trump's"), after a title whose full stop the tokenizer
split off ("Dr . Cox"), or lowercase but rare and tagged a proper noun ("salute to kunjana").
A found name grows over neighbouring capitalised words that are names or no word ("Justin Bieber", "Ferko van
Dijk", "Julieta S Almeida"), any word no dictionary knows ("Mauro renallo"), a lowercase surname after a given
name ("Donald trump"), a stage-name prefix ("lil wayne") and a family ("the Coen brothers"), so the surname the
lexicon lacks goes with the given name it has.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources

import spacy
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc, Span, Token
from wordfreq import get_frequency_dict, zipf_frequency

from pipeline.detect.artifacts import LemmaForms, lemma, pos
from pipeline.detect.registry import DetectContext, register
from pipeline.detect.roster import PARTICLES, WORD_NAMES
from pipeline.detect.spans import tagged_result

PERSON = "PERSON"
DISTINCT_SCORE = 0.6
EVIDENCED_SCORE = 0.55
RELABEL_SCORE = 0.6
MAX_NAME_TOKENS = 4
# Zipf frequencies (log10 per billion words, wordfreq): from WORD_ZIPF a WordNet word is an everyday word
# ("lohan", a WordNet noun at 3.0, stays a name); from COMMON_ZIPF any token is ("hey", "yo" are not in WordNet).
# Chosen on wnut17_train.
WORD_ZIPF = 3.5
COMMON_ZIPF = 4.0
SURNAME_ZIPF = 4.5
# Below RARE_ZIPF (once per million words) a capitalised proper noun is taken for a name with no other evidence.
RARE_ZIPF = 3.0

# Faker's curated English-speaking locales (not "en", whose long tail holds "Friend" and "Tea"): a WordNet noun
# that is one of their given names is a name first ("george").
_ENGLISH_LOCALES = ("en_GB", "en_IE", "en_NZ", "en_US")
_CALENDAR = frozenset(
    """january february march april may june july august september october november december jan feb mar apr jun
    jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu
    thur thurs fri sat sun""".split()
)
# A word before a name that says a person follows.
CUES = frozenset(
    """mr mrs ms miss mx dr prof sir madam dame lord lady uncle aunt auntie cousin grandma grandpa dear hi hey hello
    thanks thank thx ty with told tell tells telling ask asked asking asks ping pinged cc met meet meeting call
    called named name via cc'd and said says saw love loves miss missed congrats congratulations bye
    """.split()
)
# Cue words after which a lowercase word that is no everyday word is a name ("thanks obama", "salute to kunjana").
LOWERCASE_CUES = frozenset(
    """mr mrs ms miss dr thanks thank thx ty hi hey hello dear with ask asked tell told ping cc met meet love loves
    miss missed congrats bye""".split()
)
# Titles and address words after which an unknown capitalised word is a name ("Mr Radebe", "thanks Jessum").
TITLE_CUES = frozenset(
    """mr mrs ms miss mx dr prof sir madam dame lord lady uncle aunt auntie cousin dear hi hey hello thanks thank
    thx ty coach president senator sen governor gov mayor judge justice officer sgt captain capt rev pastor father
    fr pope king queen prince princess dj mc""".split()
)
# Titles often written with a full stop, which the tokenizer may split off: "Dr . Cox".
_ABBREVIATED_TITLES = frozenset("mr mrs ms mx dr prof sen gov sgt capt rev fr".split())
# Words that follow a name the writer speaks to ("Lily I love your videos"), and interjections that may precede it.
_ADDRESSEE = frozenset("i i'm im you you're youre your u ur ya yall".split())
_INTERJECTIONS = frozenset("wow yo oh omg lol haha hey hi".split())
_MONIKERS = frozenset("lil big young".split())
_SIBLINGS = frozenset("brothers sisters twins".split())
# Phrases that introduce a name: "my name is Rubija", "call me Csanád", "my kid Tadzio", "maiden name is Key".
_NAMING = re.compile(
    r"(?i)(?:\bname\s+is|\bname\s*[?:]|\bcalls?\s+me|\bcalled|\bnamed|\bi'?m|\bthis\s+is|\bmy\s+(?:kid|son|daughter|child"
    r"|wife|husband|partner|boss|manager|friend|mom|mum|dad|brother|sister|colleague|coworker|landlord|neighbou?r))\s*$"
)
# spaCy labels whose spans are sometimes people: "Trump" as ORG, "Adamska" as NORP, "Kanye West" as PRODUCT.
RELABELLED = frozenset({"ORG", "NORP", "PRODUCT", "WORK_OF_ART", "EVENT", "FAC", "LAW", "LANGUAGE"})


# Suffixes to strip (and what to put back) to find the word under an inflected form.
_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("er", ""))


class Kind(Enum):
    NONE = 0
    WORDLIKE = 1
    DISTINCT = 2


@dataclass(frozen=True)
class NameLexicon:
    """Lowercased given names and surnames, and the everyday words a name must not be taken for alone."""

    names: frozenset[str]
    words: frozenset[str]
    lowercase_ok: frozenset[str] = frozenset()  # English given names that are no word: "justin", "emma"
    dictionary: frozenset[str] = frozenset()  # every WordNet lemma, however rare: "mandolin", "coda"
    given: frozenset[str] = frozenset()  # given names only: "donald", not "christiansen"
    # The lemmas the model could give a word: a token whose possible lemmas hold no everyday word needs no tagger.
    lemma_forms: LemmaForms | None = field(default=None, compare=False)

    def kind(self, token: Token) -> Kind:
        lower = token.lower_
        if lower not in self.names or len(lower) < 2 or not token.is_alpha:
            return Kind.NONE
        if lower in self.words or token.is_stop:
            return Kind.WORDLIKE
        if self._lemma_may_be_word(lower):
            lemma_lower = lemma(token).lower()  # read last: it may need the tagger
            if lemma_lower != lower and lemma_lower in self.words:
                return Kind.WORDLIKE
        return Kind.DISTINCT

    def is_word(self, token: Token) -> bool:
        """An everyday word, inflected or not: spaCy leaves capitalised words unlemmatised ("Launches")."""
        lower = token.lower_
        if lower in self.words or token.is_stop:
            return True
        if any(lower.endswith(end) and lower[: -len(end)] + add in self.words for end, add in _INFLECTIONS):
            return True
        return self._lemma_may_be_word(lower) and lemma(token).lower() in self.words  # may need the tagger

    def in_dictionary(self, lower: str) -> bool:
        """A WordNet lemma, however rare, or an inflection of one ("enlists")."""
        return lower in self.dictionary or any(
            lower.endswith(end) and lower[: -len(end)] + add in self.dictionary for end, add in _INFLECTIONS
        )

    def unheard_of(self, lower: str) -> bool:
        """No dictionary holds it and English has next to no use for it: "kishan", "renallo", not "mandolin"."""
        return zipf_frequency(lower, "en") < RARE_ZIPF and not self.in_dictionary(lower)

    def _lemma_may_be_word(self, lower: str) -> bool:
        """Whether some POS tag could give the word an everyday word as its lemma ("hopes" -> "hope")."""
        forms = self.lemma_forms.of(lower) if self.lemma_forms is not None else None
        return forms is None or any(form != lower and form in self.words for form in forms)


def _faker_names(locales: Iterable[str] | None = None) -> tuple[set[str], set[str]]:
    """(given names, surnames) of Faker's person providers, lowercased and split into words."""
    import faker.providers.person as person

    given: set[str] = set()
    family: set[str] = set()
    wanted = set(locales) if locales is not None else None
    for module in pkgutil.iter_modules(person.__path__):
        if wanted is not None and module.name not in wanted:
            continue
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute, value in vars(provider).items():
            target = (
                given if attribute.startswith("first_names") else family if attribute.startswith("last_names") else None
            )
            if target is None or not isinstance(value, (dict, list, tuple, set, frozenset)):
                continue
            target.update(part.lower() for name in value for part in str(name).replace("-", " ").split())
    return given, family


def _census_names() -> tuple[set[str], set[str]]:
    """(given names, surnames) of the 1990 US census files that the `names` package ships (public domain):
    5,494 given names and 88,799 surnames, "Trump", "Lohan" and "Hendrix" among them."""
    files = resources.files("names")
    given: set[str] = set()
    for name in ("dist.male.first", "dist.female.first"):
        given.update(line.split()[0].lower() for line in files.joinpath(name).read_text().splitlines() if line.strip())
    lines = [line for line in files.joinpath("dist.all.last").read_text().splitlines() if line.strip()]
    family = {line.split()[0].lower() for line in lines}
    return given, family


@functools.lru_cache(maxsize=4)
def name_lexicon(model: str) -> NameLexicon:
    """The lexicon for a spaCy model: its lemma index (WordNet's words), thinned to the words common enough
    in English (wordfreq) to be meant as words, says which names are also words."""
    nlp = spacy.load(model, exclude=["tok2vec", "tagger", "parser", "ner", "senter"])
    given, family = _faker_names()
    census_given, census_family = _census_names()
    curated_given, curated_family = _faker_names(_ENGLISH_LOCALES)
    long_given, _ = _faker_names(("en",))
    frequency = get_frequency_dict("en", wordlist="best")

    def zipf_below(limit: float) -> Callable[[str], bool]:
        return lambda w: frequency.get(w, 0.0) < 10 ** (limit - 9)

    # Names first, though WordNet lists them as nouns: English given names ("george"), and English surnames and
    # names of the long US given-name list below SURNAME_ZIPF ("rogers", "bruno"; not "king", "price").
    names_first = curated_given | set(filter(zipf_below(SURNAME_ZIPF), curated_family | long_given))
    wordnet: set[str] = set()
    dictionary: set[str] = set()
    if "lemmatizer" in nlp.pipe_names:
        index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index", {})
        for pos in ("verb", "adj", "adv", "noun"):
            dictionary.update(index.get(pos, ()))
            wordnet |= {w for w in index.get(pos, ()) if not zipf_below(WORD_ZIPF)(w)}
    nouns_only = wordnet - _non_nouns(nlp)  # a verb or adjective ("grace", "brown") stays a word
    words = set(nlp.Defaults.stop_words) | WORD_NAMES | _CALENDAR | (wordnet - (nouns_only & names_first))
    # Frequent tokens outside WordNet ("hey", "yo", "goodnight") are words too, unless names first.
    words |= {
        w for w, f in frequency.items() if w.isalpha() and not zipf_below(COMMON_ZIPF)(w) and w not in names_first
    }
    lexicon_names = {n for n in given | family | census_given | census_family if len(n) >= 2 and n not in PARTICLES}
    # Lowercase, only given names that are no WordNet word at all, or English given names: "justin", not "babe".
    lowercase_ok = {
        n for n in long_given | curated_given if n not in words and (n not in wordnet or n in curated_given)
    }
    return NameLexicon(
        names=frozenset(lexicon_names),
        words=frozenset(words),
        lowercase_ok=frozenset(lowercase_ok),
        dictionary=frozenset(dictionary),
        given=frozenset(n for n in given | census_given if n not in words),
        lemma_forms=LemmaForms(nlp),
    )


def _non_nouns(nlp: spacy.Language) -> set[str]:
    """Lemmas WordNet lists as verbs, adjectives or adverbs."""
    if "lemmatizer" not in nlp.pipe_names:
        return set()
    index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index", {})
    return {w for pos in ("verb", "adj", "adv") for w in index.get(pos, ())}


# A capital inside a word makes it a product ("GitHub", "PagerDuty"), except in names' own prefixes ("McKenzie").
_PRODUCT_CASE = re.compile(r"(?!(?:Mc|Mac|O'|O’|D'|D’|De|Di|Da|Du|La|Le|Van|Von)[A-Z])\w+[A-Z]")


# Words before a rare proper noun that make it a thing, a company or a place rather than a person.
_THING_CUES = frozenset("the a an this that these those our their your its at on in into project team codename".split())
_TIME_WORDS = frozenset("today yesterday tomorrow tonight now later again".split())  # tagged NOUN, not things
_ORG_WORDS = frozenset("industries inc inc. corp corporation co llc ltd gmbh labs group holdings systems".split())


@functools.lru_cache(maxsize=1)
def workplace_terms() -> frozenset[str]:
    """Software and tech words of workplace chat that are rare in English but are never people (data file)."""
    text = resources.files("pipeline.detect").joinpath("lexicons/workplace_terms.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return frozenset(word.lower() for line in lines for word in line.split())


class Shape(Enum):
    TITLED = 0  # "Justin", "McDonald", "O'Neil"
    LOWER = 1  # "justin"
    UPPER = 2  # "JUSTIN"
    OTHER = 3  # "iPhone", "R2D2"


def _shape(token: Token) -> Shape:
    text = token.text
    if not token.is_alpha and "'" not in text:
        return Shape.OTHER
    if text.islower():
        return Shape.LOWER
    if len(text) > 1 and text.isupper():
        return Shape.UPPER
    return Shape.TITLED if text[:1].isupper() else Shape.OTHER


def _initial(token: Token) -> bool:
    """A middle initial: "S" or "P." inside "Julieta S Almeida"."""
    text = token.text.rstrip(".")
    return len(text) == 1 and text.isupper()


def _breaks(token: Token) -> bool:
    """No name runs past this token: punctuation, or a line break after it."""
    return "\n" in token.whitespace_ or token.is_punct or token.is_space


def _introduced(doc: Doc, token: Token) -> bool:
    """A phrase that introduces a name right before the token: "my name is", "call me", "my kid"."""
    pieces, length, i = [], 0, token.i - 1
    while i >= 0 and length < 30:  # the 30 characters before the token, without building the whole doc.text
        pieces.append(doc[i].text_with_ws)
        length += len(pieces[-1])
        i -= 1
    return bool(_NAMING.search("".join(reversed(pieces))[-30:]))


def _speaker_label(doc: Doc, token: Token) -> bool:
    """A name heading a line of a chat log or transcript: "Vsevolod: Who are you?"."""
    if len(token) < 3:  # "Re:", "PS:"
        return False
    line_start = token.i == 0 or "\n" in doc[token.i - 1].whitespace_ or doc[token.i - 1].text == "\n"
    return line_start and token.i + 1 < len(doc) and doc[token.i + 1].text == ":"


def _after(doc: Doc, token: Token, cues: frozenset[str]) -> bool:
    """The token right before this one, on the same line, is one of the cue words."""
    if token.i == 0:
        return False
    previous = doc[token.i - 1]
    if previous.text == "." and token.i >= 2 and doc[token.i - 2].lower_ in _ABBREVIATED_TITLES:
        previous = doc[token.i - 2]  # "Dr . Cox": the title's full stop split off
    elif previous.lower_ == "you" and token.i >= 2 and doc[token.i - 2].lower_ == "thank":
        previous = doc[token.i - 2]  # "thank you Grace"
    return previous.lower_.rstrip(".") in cues and "\n" not in previous.whitespace_


def _possessive(doc: Doc, token: Token) -> bool:
    """Followed by a possessive "'s", whole or split ("Trump's", "Beauty ' s mother")."""
    i = token.i
    if i + 1 < len(doc) and doc[i + 1].lower_ in {"'s", "’s"}:
        return True
    return i + 2 < len(doc) and doc[i + 1].text in {"'", "’"} and doc[i + 2].lower_ == "s"


def _vocative(doc: Doc, token: Token) -> bool:
    """A name the writer speaks to: "Lily I love your videos", "wow edubes, your video", "where are you, Summer?"."""
    i = token.i
    before = doc[i - 1] if i > 0 else None
    opens = before is None or token.is_sent_start or before.is_punct or "\n" in before.whitespace_
    opens = opens or before.lower_ in _INTERJECTIONS
    j = i + 1 if i + 1 < len(doc) and doc[i + 1].text == "," else i
    if opens and j + 1 < len(doc) and doc[j + 1].lower_ in _ADDRESSEE and "\n" not in doc[j].whitespace_:
        return True
    closes = i + 1 == len(doc) or doc[i + 1].text in {"?", "!", "."} or "\n" in token.whitespace_
    return closes and before is not None and before.text == ","


class NameLexiconRecognizer(LocalRecognizer):
    """Given names and surnames from the lexicon, with the evidence each kind needs, grown to the full name."""

    def __init__(self, lexicon: NameLexicon, supported_language: str = "en") -> None:
        self.lexicon = lexicon
        super().__init__(
            supported_entities=[PERSON], name="NameLexiconRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """The lexicon arrives built."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if (entities and PERSON not in entities) or nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        doc: Doc = nlp_artifacts.tokens
        kinds = [self.lexicon.kind(t) for t in doc]
        results: list[RecognizerResult] = []
        taken_until = -1
        for token in doc:
            if token.i < taken_until:
                continue
            score = self._seed_score(doc, token, kinds)
            if score is None:
                continue
            start, end = self._grow(doc, token, kinds)
            taken_until = end
            results.append(self._result(doc[start:end], score))
        return results

    def _seed_score(self, doc: Doc, token: Token, kinds: list[Kind]) -> float | None:
        """The score of a token that starts a name here, or None."""
        kind, shape = kinds[token.i], _shape(token)
        if shape is Shape.TITLED:
            if kind is Kind.DISTINCT:
                return DISTINCT_SCORE
            if kind is Kind.WORDLIKE:
                evidenced = (
                    self._evidence(doc, token, kinds)
                    or _introduced(doc, token)
                    or _speaker_label(doc, token)
                    or self._listed_with_names(doc, token, kinds)
                    or self._proper_mid_sentence(doc, token)
                    or (
                        (_vocative(doc, token) or _possessive(doc, token))
                        and not token.is_stop
                        and token.lower_ not in _CALENDAR
                    )
                )
                return EVIDENCED_SCORE if evidenced else None
            if len(token) < 3 or self.lexicon.is_word(token):
                return None
            if _after(doc, token, TITLE_CUES) or _introduced(doc, token) or _speaker_label(doc, token):
                return EVIDENCED_SCORE  # "ms. Quinzia", "my name is Rubija", "Vsevolod: who are you?"
            evidenced = self._listed_with_names(doc, token, kinds) or self._rare_proper(token)
            if evidenced and (token.i == 0 or token.is_sent_start) and token.is_alpha:
                return EVIDENCED_SCORE  # the tagger reads a sentence's first word as anything: "Themba is obsessed"
            return EVIDENCED_SCORE if evidenced and pos(token) == "PROPN" else None  # the tag last: it may cost one
        if shape is Shape.LOWER and len(token) >= 3 and not self._common(token) and token.lower_ not in workplace_terms():
            if _introduced(doc, token) or _after(doc, token, LOWERCASE_CUES) or _vocative(doc, token):
                return EVIDENCED_SCORE  # "my name is vitoria", "call me višeslav", "thanks obama"
            if self._rare_lower_proper(doc, token) or self._rare_name(token):
                return EVIDENCED_SCORE  # "salute to kunjana", "where's kishan"
        if shape is Shape.OTHER or kind is not Kind.DISTINCT or len(token) < 3:
            return None
        if (
            token.lower_ in self.lexicon.lowercase_ok
            or self._rare_name(token)
            or self._distinct_neighbour(doc, token, kinds)
        ):
            return EVIDENCED_SCORE
        if _speaker_label(doc, token):  # "mika: who are you?"
            return EVIDENCED_SCORE
        return EVIDENCED_SCORE if self._evidence(doc, token, kinds) and pos(token) == "PROPN" else None

    def _rare_proper(self, token: Token) -> bool:
        """A proper noun English has no use for ("Shovda", "Tomomi", "Ogasahara"): mostly names of people, unless
        it is workplace software ("Grafana") or written like a product ("GitHub", "DevOps")."""
        text = token.text
        if _PRODUCT_CASE.match(text) or token.lower_ in workplace_terms():
            return False
        if zipf_frequency(token.lower_, "en") >= RARE_ZIPF:
            return False
        doc = token.doc
        # "the Quasar rollout", "a role at Initech", "from Wonka Industries": a thing or a place, not a person.
        before = doc[token.i - 1].lower_ if token.i > 0 else ""
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if before in _THING_CUES or (after is not None and (after.lower_ in _ORG_WORDS or pos(after) == "NOUN")):
            return False
        return True

    def _rare_lower_proper(self, doc: Doc, token: Token) -> bool:
        """A lowercase word English has next to no use for, that the tagger still reads as a proper noun."""
        if not self.lexicon.unheard_of(token.lower_):
            return False
        before = doc[token.i - 1].lower_ if token.i > 0 else ""
        return before not in _THING_CUES and pos(token) == "PROPN"

    def _unknown_word(self, token: Token) -> bool:
        """A word no dictionary or list knows and English has next to no use for: "renallo", "Padikall"."""
        lower = token.lower_
        return (
            token.is_alpha
            and len(lower) >= 3
            and self.lexicon.unheard_of(lower)
            and not _PRODUCT_CASE.match(token.text)
            and lower not in workplace_terms()
            and not self.lexicon.is_word(token)
        )

    def _rare_name(self, token: Token) -> bool:
        """A name from the lexicon that English has next to no use for, lowercase or shouted: "gaby", "IDRIS"."""
        return token.lower_ in self.lexicon.names and self.lexicon.unheard_of(token.lower_)

    def _proper_mid_sentence(self, doc: Doc, token: Token) -> bool:
        """A name that is also a word, capitalised where a word would not be and tagged a proper noun: "talking
        about Trump today", "a Grace song". Not at the start of a sentence or line, and not used as a thing."""
        if token.i == 0 or token.is_sent_start:
            return False
        before = doc[token.i - 1]
        if before.is_punct or "\n" in before.whitespace_ or before.lower_ in _THING_CUES or before.is_title:
            return False
        if pos(token) != "PROPN":  # read after the cheap checks: it may need the tagger
            return False
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        return after is None or after.lower_ in _TIME_WORDS or (after.lower_ not in _ORG_WORDS and pos(after) != "NOUN")

    def _common(self, token: Token) -> bool:
        """An everyday word or any frequent token ("tired", "glad", "lol"): not a name even after "I'm"."""
        return self.lexicon.is_word(token) or zipf_frequency(token.lower_, "en") >= COMMON_ZIPF

    def _distinct_neighbour(self, doc: Doc, token: Token, kinds: list[Kind]) -> bool:
        """Another distinctive name right next to it, written the same way: "monika žilková", "LEONE MAZZI"."""
        shape = _shape(token)
        return any(
            0 <= i < len(doc)
            and kinds[i] is Kind.DISTINCT
            and _shape(doc[i]) is shape
            and not _breaks(doc[min(i, token.i)])
            for i in (token.i - 1, token.i + 1)
        )

    def _listed_with_names(self, doc: Doc, token: Token, kinds: list[Kind]) -> bool:
        """In a list with a distinctive capitalised name: "Romi, Erik, Amy", "Morrison, Rogers and Torres"."""
        for step in (-1, 1):
            i = token.i + step
            if not (0 <= i < len(doc)) or doc[i].text not in {",", "and", "&"}:
                continue
            j = i + step
            if 0 <= j < len(doc) and doc[j].text in {",", "and", "&"}:
                j += step  # "Amy, and Romi"
            if 0 <= j < len(doc) and kinds[j] is Kind.DISTINCT and _shape(doc[j]) is Shape.TITLED:
                return True
        return False

    def _evidence(self, doc: Doc, token: Token, kinds: list[Kind]) -> bool:
        """A distinctive name right next to it, written the same way, or a cue word right before it."""
        return self._distinct_neighbour(doc, token, kinds) or _after(doc, token, CUES)

    def _grow(self, doc: Doc, token: Token, kinds: list[Kind]) -> tuple[int, int]:
        """Token bounds of the whole name around a seed: neighbouring names and words that are no everyday
        word, written the same way, initials, and particles between capitalised words."""
        shape = _shape(token)

        def joins(t: Token) -> bool:
            if shape is Shape.TITLED and _initial(t):
                return True
            if self._unknown_word(t):
                return True  # the other half of a name, however written: "Mauro renallo", "aleena Padikall"
            if _shape(t) is not shape or t.is_stop:
                return False
            if kinds[t.i] is not Kind.NONE:
                return kinds[t.i] is Kind.DISTINCT
            if shape is Shape.TITLED:
                return not self.lexicon.is_word(t)
            return shape is Shape.LOWER and not self.lexicon.is_word(t) and pos(t) == "PROPN"

        start, end = token.i, token.i + 1
        while end < len(doc) and end - start < MAX_NAME_TOKENS and not _breaks(doc[end - 1]):
            nxt = doc[end]
            if joins(nxt):
                end += 1
            elif (
                shape is Shape.TITLED
                and nxt.lower_ in PARTICLES
                and end + 1 < len(doc)
                and not _breaks(nxt)
                and _shape(doc[end + 1]) is Shape.TITLED
            ):
                end += 2
            else:
                break
        # A surname that is also a word may still close the name: "Kristen Bell", "Thomas A Edison".
        if (
            end < len(doc)
            and end - start < MAX_NAME_TOKENS
            and not _breaks(doc[end - 1])
            and kinds[end] is Kind.WORDLIKE
            and shape is not Shape.LOWER  # lowercase, the word is most often just a word: "asano speak"
            and _shape(doc[end]) is shape
            and not doc[end].is_stop
        ):
            end += 1
        elif (
            shape is Shape.TITLED
            and end == token.i + 1
            and end < len(doc)
            and not _breaks(doc[end - 1])
            and token.lower_ in self.lexicon.given
            and (token.i == 0 or doc[token.i - 1].lower_ not in _THING_CUES)  # "the Jensen novel"
            and _shape(doc[end]) is Shape.LOWER
            and kinds[end] is not Kind.NONE
            and not doc[end].is_stop
            and pos(doc[end]) in ("PROPN", "NOUN")
        ):
            end += 1  # a surname typed in lowercase after a given name: "Kylie minogue", "Donald trump"
        while start > 0 and end - start < MAX_NAME_TOKENS and not _breaks(doc[start - 1]) and joins(doc[start - 1]):
            start -= 1
        while _initial(doc[start]) and start < token.i:
            start += 1
        while _initial(doc[end - 1]) and end - 1 > token.i:
            end -= 1
        # A stage-name prefix before it ("lil wayne", "Big Sean") and a family after it ("the Coen brothers").
        if start > 0 and doc[start - 1].lower_ in _MONIKERS and not _breaks(doc[start - 1]):
            start -= 1
        if end < len(doc) and doc[end].lower_ in _SIBLINGS and not _breaks(doc[end - 1]):
            end += 1
        return start, end

    def _result(self, span: Span, score: float) -> RecognizerResult:
        return tagged_result(self, PERSON, span.start_char, span.end_char, score)


class NameEntityRelabelRecognizer(LocalRecognizer):
    """spaCy ORG, NORP, PRODUCT ... spans that are names: short, capitalised, and holding a lexicon name."""

    def __init__(self, lexicon: NameLexicon, supported_language: str = "en") -> None:
        self.lexicon = lexicon
        super().__init__(
            supported_entities=[PERSON], name="NameEntityRelabelRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """Nothing to load: it reads the entities spaCy already found."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if (entities and PERSON not in entities) or nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        results = []
        for ent in nlp_artifacts.tokens.ents:
            if ent.label_ in RELABELLED and self._name_like(ent):
                results.append(tagged_result(self, PERSON, ent.start_char, ent.end_char, RELABEL_SCORE))
        return results

    def _name_like(self, ent: Span) -> bool:
        words = [t for t in ent if t.is_alpha]
        if not words or len(words) > 3 or not all(_shape(t) is Shape.TITLED or t.lower_ in PARTICLES for t in words):
            return False
        if any(self.lexicon.kind(t) is Kind.DISTINCT for t in words):
            return True
        # One word that is also a name, which the model took for a group: "Trump supporters" (ORG).
        only = words[0]
        return (
            len(ent) == 1
            and ent.label_ == "ORG"
            and self.lexicon.kind(only) is Kind.WORDLIKE
            and not only.is_stop
            and only.lower_ not in _CALENDAR
        )


@register("names")
def name_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    lexicon = name_lexicon(context.policy.model)
    language = context.policy.language
    return [
        NameLexiconRecognizer(lexicon, supported_language=language),
        NameEntityRelabelRecognizer(lexicon, supported_language=language),
    ]
