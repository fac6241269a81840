"""The detector: the policy's spaCy model and recognizers over batches of texts, as cheaply as the findings allow.

Per batch of distinct texts, spaCy runs NER (and whatever NER listens to) on every text; the components that
only give POS tags and lemmas (`nlp.pipes_on_demand`) run later, in batches, on the few docs whose recognizers
ask for them (see artifacts.py). Each text is folded and scanned once for the trigger literals of every regex
(triggers.py): a pattern, or a whole Presidio pattern recognizer, none of whose literals occurs is not run.
The recognizers are called directly, as Presidio's AnalyzerEngine would call them, then results after a context
word score higher (cues.py, in place of Presidio's lemma-based enhancer), results below the policy's threshold go,
and Presidio's duplicate removal merges the rest.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import spacy
from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult
from spacy.tokens import Doc, Span

from pipeline.detect.artifacts import UNTAGGED, TagsNeeded, TextArtifacts
from pipeline.detect.cues import ContextBoost
from pipeline.detect.grow import grow_addresses
from pipeline.detect.names import name_lexicon
from pipeline.detect.propagate import propagate_names
from pipeline.detect.registry import DetectContext, build_recognizers, reads_spoken_forms
from pipeline.detect.spans import SpanRecognizer
from pipeline.detect.spoken import shadows
from pipeline.detect.triggers import Trigger, TriggerIndex
from pipeline.detect.vetoes import drop_vetoed
from pipeline.offline import make_offline
from pipeline.policy import Policy
from pipeline.roster import Roster

NLP_BATCH_SIZE = 64
# Findings of the most recent distinct texts, kept across batches: a streamed partition repeats its short texts
# in every batch. Bounded, so memory stays flat; about 20 MB at this size for chat-length texts.
RECENT_TEXTS = 50_000
NER_SCORE = 0.85  # Presidio's default score for a spaCy entity
POSSESSIVES = ("'s", "’s")
# spaCy labels we use, and the ones we ignore on purpose (organisations, dates, amounts: not about a person).
NER_MAPPING = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}
NER_IGNORED = [
    "CARDINAL", "DATE", "EVENT", "LANGUAGE", "LAW", "MONEY", "NORP", "ORDINAL", "ORG", "PERCENT",
    "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
]
# Presidio logs each decision at INFO/DEBUG; those lines can quote text, so keep them off.
logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)


@runtime_checkable
class PreparesBatches(Protocol):
    """A recognizer that runs a model of its own, batched: it sees each batch's texts before `analyze`."""

    def prepare(self, texts: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class Finding:
    """One detected entity: where it is, what it is, and (for roster hits) whose it is."""

    start: int
    end: int
    entity: str
    score: float
    subject: str | None = None  # the employee_id behind a roster match, used for the pseudonym


@dataclass
class _Analysis:
    """One text on its way through the recognizers: results so far, per recognizer, and who waits for tags."""

    text: str
    artifacts: TextArtifacts
    results: list[list[RecognizerResult]]
    waiting: list[int] = field(default_factory=list)


class Detector:
    """Detect entities in batches of texts; build once per worker process and reuse."""

    def __init__(self, policy: Policy, roster: Roster | None = None) -> None:
        make_offline()
        self.policy = policy
        context = DetectContext(policy=policy, roster=roster or Roster())
        self.recognizers = [r for r in build_recognizers(context) if r.supported_language == policy.language]
        if not self.recognizers:
            raise ValueError("the policy enables no recognizer family")
        for recognizer in self.recognizers:
            if not recognizer.is_loaded:
                recognizer.load()
                recognizer.is_loaded = True
        self.entities = sorted({e for r in self.recognizers for e in r.supported_entities})
        self.nlp, self.on_demand = _load_spacy(policy)
        self._gates = [recognizer_trigger(r) for r in self.recognizers]
        pattern_triggers = [p.trigger for r in self.recognizers if isinstance(r, SpanRecognizer) for p in r.patterns]
        self._triggers = TriggerIndex(self._gates + pattern_triggers)
        self._context = ContextBoost(self.recognizers)
        self._recent: OrderedDict[str, list[Finding]] = OrderedDict()  # findings are immutable, so safe to share
        self._preparing = [r for r in self.recognizers if isinstance(r, PreparesBatches)]
        self._spoken = [i for i, r in enumerate(self.recognizers) if reads_spoken_forms(r)]
        lexicon = name_lexicon(policy.model)
        self._is_name = lambda word: word in lexicon.names and word not in lexicon.words  # keeps names in code

    def detect(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in input order; empty and repeated texts are analysed once, and texts seen in
        recent batches ("ok", "thanks", "lgtm") are not analysed again."""
        by_text: dict[str, list[Finding]] = {}
        for text in texts:
            if text in self._recent:
                by_text[text] = self._recent[text]
                self._recent.move_to_end(text)
        unique = list(dict.fromkeys(t for t in texts if t and t.strip() and t not in by_text))
        for recognizer in self._preparing:
            recognizer.prepare(unique)
        waiting: list[_Analysis] = []
        for text, doc in zip(unique, self.nlp.pipe(unique, batch_size=NLP_BATCH_SIZE), strict=True):
            if self.on_demand:
                doc.user_data[UNTAGGED] = True
            artifacts = TextArtifacts(doc, _entities(doc), self.policy.language, self._triggers.features(text), NER_SCORE)
            analysis = _Analysis(text, artifacts, [[] for _ in self.recognizers])
            self._run(analysis, range(len(self.recognizers)))
            if analysis.waiting:
                waiting.append(analysis)
                if len(waiting) >= NLP_BATCH_SIZE:
                    self._tag_and_finish(waiting, by_text)
                    waiting = []
            else:
                by_text[text] = self._findings(analysis)
        if waiting:
            self._tag_and_finish(waiting, by_text)
        for text in unique:
            self._recent[text] = by_text[text]
        while len(self._recent) > RECENT_TEXTS:
            self._recent.popitem(last=False)
        return [by_text.get(t, []) for t in texts]

    def _run(self, analysis: _Analysis, indexes: Sequence[int]) -> None:
        """Run the recognizers at `indexes` whose triggers the text holds; note those that need tags first."""
        features = analysis.artifacts.features
        for i in indexes:
            if not self._gates[i].may_match(features):
                continue
            recognizer = self.recognizers[i]
            try:
                found = recognizer.analyze(text=analysis.text, entities=self.entities, nlp_artifacts=analysis.artifacts)
            except TagsNeeded:
                if analysis.artifacts.tokens.user_data.get(UNTAGGED) is None:
                    raise RuntimeError(f"{recognizer.name} asked for tags of a tagged doc") from None
                analysis.waiting.append(i)
                continue
            analysis.results[i] = found or []

    def _tag_and_finish(self, waiting: list[_Analysis], by_text: dict[str, list[Finding]]) -> None:
        """Tag the waiting docs in one batch, then run the recognizers that asked for tags."""
        docs: list[Doc] = [a.artifacts.tokens for a in waiting]
        for _, component in self.on_demand:
            docs = list(component.pipe(docs, batch_size=NLP_BATCH_SIZE))
        for analysis, doc in zip(waiting, docs, strict=True):
            doc.user_data.pop(UNTAGGED, None)
            indexes, analysis.waiting = analysis.waiting, []
            self._run(analysis, indexes)
            by_text[analysis.text] = self._findings(analysis)

    def _findings(self, analysis: _Analysis) -> list[Finding]:
        """What AnalyzerEngine.analyze does after the recognizers: context, threshold, duplicates."""
        self._run_spoken(analysis)
        text, results = analysis.text, []
        for recognizer, found in zip(self.recognizers, analysis.results, strict=True):
            if not found:
                continue
            for result in found:
                metadata = result.recognition_metadata = result.recognition_metadata or {}
                metadata.setdefault(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, recognizer.id)
                metadata.setdefault(RecognizerResult.RECOGNIZER_NAME_KEY, recognizer.name)
            self._context.apply(analysis.artifacts.tokens, recognizer, found)
            results.extend(found)
        threshold = self.policy.score_threshold
        kept = EntityRecognizer.remove_duplicates([r for r in results if r.score >= threshold])
        findings = drop_vetoed(text, [_finding(text, r) for r in kept], self._is_name)
        return propagate_names(text, grow_addresses(text, findings))


    def _run_spoken(self, analysis: _Analysis) -> None:
        """Run the recognizers that read spoken forms on the text's written shadow; keep what they find in its
        rewritten parts, mapped back onto the spoken words (the rest the original text already showed them)."""
        for written in shadows(analysis.text) if self._spoken else []:
            for i in self._spoken:
                found = self.recognizers[i].analyze(text=written.text, entities=self.entities, nlp_artifacts=None)
                for result in found or []:
                    if written.touches_change(result.start, result.end):
                        result.start, result.end = written.to_original(result.start, result.end)
                        analysis.results[i].append(result)


def recognizer_trigger(recognizer: EntityRecognizer) -> Trigger:
    """What a text needs for the recognizer to find anything in it (Trigger(): run it on every text).

    A Presidio PatternRecognizer finds only what its regexes match, and so does a SpanRecognizer that adds no
    logic of its own; NER, names, the roster, addresses and Presidio's phone matcher always run.
    """
    if isinstance(recognizer, SpanRecognizer) and type(recognizer).analyze is SpanRecognizer.analyze:
        return recognizer.trigger
    if isinstance(recognizer, PatternRecognizer) and recognizer.patterns:
        return Trigger.any_of(Trigger.of(p.regex, recognizer.global_regex_flags) for p in recognizer.patterns)
    return Trigger()


def _load_spacy(policy: Policy) -> tuple[spacy.Language, list[tuple[str, object]]]:
    """The model without `nlp.pipes_disabled`, and the `nlp.pipes_on_demand` components, in pipeline order,
    switched off for nlp.pipe and kept to run on the docs that need them."""
    settings = policy.raw["nlp"]
    nlp = spacy.load(policy.model, exclude=list(settings.get("pipes_disabled", [])))
    wanted = set(settings.get("pipes_on_demand", []))
    needed = _needed_by_ner(nlp)
    if wanted & needed:
        raise ValueError(f"nlp.pipes_on_demand: NER reads {sorted(wanted & needed)} on every text")
    on_demand = [(name, nlp.get_pipe(name)) for name in nlp.component_names if name in wanted]
    if on_demand:
        nlp.select_pipes(disable=[name for name, _ in on_demand])
    return nlp, on_demand


def _needed_by_ner(nlp: spacy.Language) -> set[str]:
    """Components whose output NER listens to (a shared tok2vec); en_core_web_sm's NER has its own."""
    if "ner" not in nlp.component_names:
        return set()
    needed = set()
    for node in nlp.get_pipe("ner").model.walk():
        upstream = getattr(node, "upstream_name", None)
        if upstream == "*":
            needed.update(name for name, pipe in nlp.components if type(pipe).__name__ in ("Tok2Vec", "Transformer"))
        elif upstream:
            needed.add(upstream)
    return needed


def _entities(doc: Doc) -> list[Span]:
    """spaCy's entities as Presidio's SpacyNlpEngine hands them on: ignored labels out, the rest renamed."""
    entities = []
    for ent in doc.ents:
        if ent.label_ in NER_IGNORED:
            continue
        if ent.label_ in NER_MAPPING:
            ent.label_ = NER_MAPPING[ent.label_]
        else:
            logger.warning("spaCy entity label %s is not mapped to a policy entity; kept as it is", ent.label_)
        entities.append(ent)
    return entities


def _finding(text: str, result: RecognizerResult) -> Finding:
    metadata = result.recognition_metadata or {}
    end = result.end
    # spaCy takes the possessive into a name ("Ann Ford's"); the "'s" says nothing about who it is.
    if result.entity_type == "PERSON" and text[result.start : end].endswith(POSSESSIVES):
        end -= 2
    return Finding(
        start=result.start,
        end=end,
        entity=result.entity_type,
        score=float(result.score),
        subject=metadata.get("subject"),
    )
