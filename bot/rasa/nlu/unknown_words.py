"""Rasa NLU adapter for bot.nlu.vocabulary: a message of unknown words is not understood.

Place it last in config.yml, after the FallbackClassifier, as
``bot.rasa.nlu.unknown_words.UnknownWordsFallback``. It learns the vocabulary of the training
data (examples, lookup tables, synonyms) and, when not one word of a message is familiar,
sets the intent to ``nlu_fallback`` (the dialogue's "I did not understand"), keeping the
classifier's ranking for inspection and adding ``"unknown_words": true`` to the output.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.vocabulary import Vocabulary
from bot.rasa.nlu.component import Component

logger = logging.getLogger(__name__)

FILE_NAME = "vocabulary.json"
OUTPUT_KEY = "unknown_words"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsFallback(Component):
    """Overrides the intent with nlu_fallback when no word of the message is familiar."""

    # The vocabulary once trained or loaded; without it, never override.
    _vocabulary: Vocabulary | None = None

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> UnknownWordsFallback:
        """Load the vocabulary saved by train() (Rasa's arguments are create's); without it,
        never override."""
        component = cls.create(*args, **kwargs)
        try:
            with component._model_storage.read_from(component._resource) as directory:
                data = json.loads((directory / FILE_NAME).read_text(encoding="utf-8"))
            component._vocabulary = Vocabulary.from_dict(data)
        except (ValueError, OSError):
            logger.warning("No vocabulary in the model: unknown words are not detected.")
        return component

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the words of the examples, lookup tables and synonyms; save them."""
        texts = [example.get(TEXT) or "" for example in training_data.training_examples]
        for table in training_data.lookup_tables:
            elements = table.get("elements")
            if isinstance(elements, list):
                texts.extend(str(element) for element in elements)
        texts.extend(training_data.entity_synonyms.keys())
        texts.extend(training_data.entity_synonyms.values())
        self._vocabulary = Vocabulary.from_texts(texts)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILE_NAME).write_text(
                json.dumps(self._vocabulary.to_dict(), ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Set nlu_fallback on messages made only of unknown words."""
        if self._vocabulary is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or text.startswith("/"):
                continue
            if not self._vocabulary.unknown(text):
                continue
            message.set(OUTPUT_KEY, True, add_to_output=True)
            message.set(
                INTENT,
                {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0},
                add_to_output=True,
            )
            ranking = [
                item
                for item in message.get(INTENT_RANKING_KEY) or []
                if item.get("name") != DEFAULT_NLU_FALLBACK_INTENT_NAME
            ]
            message.set(
                INTENT_RANKING_KEY,
                [{"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}, *ranking],
                add_to_output=True,
            )
        return messages
