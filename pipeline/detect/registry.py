"""The recognizer registry: each family module registers a factory; the policy switches families on or off.

A family factory takes the run's context (policy and roster) and returns Presidio recognizers.
Adding a family means: write a module under pipeline/detect/, decorate its factory with @register,
import it in `_load_families`, and name it in policy.RECOGNIZER_FAMILIES and the default policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from presidio_analyzer import EntityRecognizer

from pipeline.policy import Policy
from pipeline.roster import Roster


@dataclass(frozen=True)
class DetectContext:
    policy: Policy
    roster: Roster


RecognizerFactory = Callable[[DetectContext], list[EntityRecognizer]]
_REGISTRY: dict[str, RecognizerFactory] = {}
R = TypeVar("R", bound=EntityRecognizer)
_SPOKEN_FLAG = "spoken_forms"


def spoken_forms(recognizer: R) -> R:
    """Opt a shape recognizer in to the spoken shadow (pipeline/detect/spoken.py): it also runs on the text with
    spoken numbers, symbols and e-mails written out, and its findings there are mapped back to the spoken words."""
    setattr(recognizer, _SPOKEN_FLAG, True)
    return recognizer


def reads_spoken_forms(recognizer: EntityRecognizer) -> bool:
    return bool(getattr(recognizer, _SPOKEN_FLAG, False))


def register(family: str) -> Callable[[RecognizerFactory], RecognizerFactory]:
    def decorate(factory: RecognizerFactory) -> RecognizerFactory:
        _REGISTRY[family] = factory
        return factory

    return decorate


def _load_families() -> None:
    # Importing a family module runs its @register decorator.
    from pipeline.detect import (  # noqa: F401
        builtin,
        casual_ner,
        contact,
        credentials,
        disclosures,
        gate_shapes,
        health,
        identifiers,
        names,
        payment,
        performance,
        private_life,
        roster,
    )


def registered_families() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def build_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    """Every recognizer of every family the policy enables, less those it switches off by name."""
    _load_families()
    disabled = context.policy.disabled_recognizers
    recognizers: list[EntityRecognizer] = []
    for family, factory in sorted(_REGISTRY.items()):
        if context.policy.recognizer_enabled(family):
            recognizers.extend(r for r in factory(context) if r.name not in disabled)
    return recognizers
