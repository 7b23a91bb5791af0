"""Rasa NLU adapter for bot.language: adds the detected language to every parse result.

Reference it in config.yml as ``bot.rasa.nlu.language_component.LanguageDetector``. The result
appears in ``/model/parse`` output and in ``tracker.latest_message`` as
``{"language": {"code": "fr", "confidence": 0.97}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import detect
from bot.rasa.nlu.component import Component

logger = logging.getLogger(__name__)

LANGUAGE_KEY = "language"
_UNDETERMINED = {"code": "und", "confidence": 0.0}


# A message featurizer runs on every message at inference (and on training data), before
# the classifiers; it needs no training, so it is not trainable.
@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class LanguageDetector(Component):
    """Sets message["language"] = {"code", "confidence"} from bot.language.detect.

    No options (detection is fully data-driven) and nothing to load: bot.language loads
    lazily.
    """

    @staticmethod
    def required_packages() -> list[str]:
        """Packages the detector needs (module and distribution names must match:
        Rasa imports them to validate and looks up their versions to fingerprint)."""
        return ["langdetect"]

    @staticmethod
    def _language_of(message: Message) -> dict[str, Any]:
        """Detection for one message as a plain dict; never raises."""
        try:
            text = message.get(TEXT)
            if not isinstance(text, str):
                return dict(_UNDETERMINED)
            result = detect(text)
            return {"code": result.code, "confidence": float(result.confidence)}
        except Exception:  # noqa: BLE001 - language is a hint; parsing must go on
            logger.exception("Language detection failed; using 'und'.")
            return dict(_UNDETERMINED)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the detected language to each message's parse output."""
        for message in messages:
            message.set(LANGUAGE_KEY, self._language_of(message), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leave training data unchanged: classifiers must not depend on the language."""
        return training_data
