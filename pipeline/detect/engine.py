"""The analyzer factory: one Presidio engine per process over the policy's spaCy model and recognizers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider

from pipeline.detect.propagate import propagate_names
from pipeline.detect.registry import DetectContext, build_recognizers
from pipeline.offline import make_offline
from pipeline.policy import Policy
from pipeline.roster import Roster

NLP_BATCH_SIZE = 64
POSSESSIVES = ("'s", "’s")
# spaCy labels we use, and the ones we ignore on purpose (organisations, dates, amounts: not about a person).
NER_MAPPING = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}
NER_IGNORED = [
    "CARDINAL", "DATE", "EVENT", "LANGUAGE", "LAW", "MONEY", "NORP", "ORDINAL", "ORG", "PERCENT",
    "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
]
# Presidio logs each decision at INFO/DEBUG; those lines can quote text, so keep them off.
for _name in ("presidio-analyzer", "presidio-anonymizer"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class DeclaredContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer, handed only the results of recognizers that declare context words.

    The stock enhancer deep-copies every result of every text before skipping those without context; most of
    ours carry their context checks inside their patterns, so that copy is pure cost on every line.
    """

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        declared = {r.id for r in recognizers if r.context}
        key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
        wanted = [r for r in raw_results if (r.recognition_metadata or {}).get(key) in declared]
        others = [r for r in raw_results if (r.recognition_metadata or {}).get(key) not in declared]
        if not wanted:
            return others
        return super().enhance_using_context(text, wanted, nlp_artifacts, recognizers, context) + others


@dataclass(frozen=True)
class Finding:
    """One detected entity: where it is, what it is, and (for roster hits) whose it is."""

    start: int
    end: int
    entity: str
    score: float
    subject: str | None = None  # the employee_id behind a roster match, used for the pseudonym


class Detector:
    """Detect entities in batches of texts; build once per worker process and reuse."""

    def __init__(self, policy: Policy, roster: Roster | None = None) -> None:
        make_offline()
        self.policy = policy
        context = DetectContext(policy=policy, roster=roster or Roster())
        registry = RecognizerRegistry(supported_languages=[policy.language])
        for recognizer in build_recognizers(context):
            registry.add_recognizer(recognizer)
        if not registry.recognizers:
            raise ValueError("the policy enables no recognizer family")
        nlp_engine = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": policy.language, "model_name": policy.model}],
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": NER_MAPPING,
                    "labels_to_ignore": NER_IGNORED,
                },
            }
        ).create_engine()
        # Components nothing downstream reads (the dependency parser, by default) cost time on every text.
        nlp = nlp_engine.get_nlp(policy.language)
        for pipe in policy.raw["nlp"].get("pipes_disabled", []):
            if pipe in nlp.pipe_names:
                nlp.disable_pipe(pipe)
        self.analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp_engine,
            supported_languages=[policy.language],
            context_aware_enhancer=DeclaredContextEnhancer(),
        )

    def detect(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in input order; empty and repeated texts are analysed once."""
        unique = list(dict.fromkeys(t for t in texts if t and t.strip()))
        by_text: dict[str, list[Finding]] = {}
        artifacts = self.analyzer.nlp_engine.process_batch(
            unique, language=self.policy.language, batch_size=NLP_BATCH_SIZE
        )
        for text, nlp_artifacts in artifacts:
            results = self.analyzer.analyze(
                text=text,
                language=self.policy.language,
                nlp_artifacts=nlp_artifacts,
                score_threshold=self.policy.score_threshold,
            )
            by_text[text] = propagate_names(text, [_finding(text, r) for r in results])
        return [by_text.get(t, []) for t in texts]


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
