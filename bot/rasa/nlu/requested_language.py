"""Rasa NLU adapter: the ``requested_language`` entity from bot.language_names.

Runs after the intent classifier and only adds the entity to ``change_language`` messages,
so "cours d'arabe" (a schooling question) does not ask to switch language.
"""

from __future__ import annotations

import logging

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language_names import find_requested_language
from bot.rasa.nlu.component import Component

logger = logging.getLogger(__name__)

ENTITY = "requested_language"
INTENT_NAME = "change_language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class RequestedLanguageExtractor(Component, EntityExtractorMixin):
    """Adds {"entity": "requested_language", "value": "en", ...} to change_language messages.

    Nothing to train or load.
    """

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes through unchanged."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the entity where the intent is change_language; never raises."""
        for message in messages:
            try:
                intent = (message.get(INTENT) or {}).get("name")
                if intent != INTENT_NAME:
                    continue
                found = find_requested_language(message.get(TEXT) or "")
                if found is None:
                    continue
                entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != ENTITY]
                entities.append(
                    {
                        "entity": ENTITY,
                        "start": found.start,
                        "end": found.end,
                        "value": found.value,
                        "confidence": 1.0,
                        "extractor": self.__class__.__name__,
                    }
                )
                message.set(ENTITIES, entities, add_to_output=True)
            except Exception:  # noqa: BLE001 - an entity is a hint; parsing must go on
                logger.exception("requested-language extraction failed")
        return messages
