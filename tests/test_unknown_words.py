"""A message made only of unknown words is not understood (bot/nlu/vocabulary.py and its
Rasa adapter bot/rasa/nlu/unknown_words.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.vocabulary import Vocabulary, words

TRAINING = [
    "je cherche un medecin a nador",
    "bghit tbib f agadir",
    "بغيت طبيب فوجدة",
    "hello where can i renew my residence card",
    "hola necesito un medico en berkane",
    "ok merci",
]


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_texts(TRAINING)


def test_words_skip_numbers_emoji_and_single_letters() -> None:
    assert words("Bghit n9ayed 1 f 0612345678 👍 l'école") == ["bghit", "n9ayed", "ecole"]


@pytest.mark.parametrize(
    "text",
    [
        "qsdkjh zzkq wxcv",  # a keyboard mash DIET once called ask_work at 0.97
        "kjhkjh",
        "obrigado senhor",  # Portuguese: not a language the assistant speaks
    ],
)
def test_unknown_words_are_flagged(vocabulary: Vocabulary, text: str) -> None:
    assert vocabulary.unknown(text)


@pytest.mark.parametrize(
    "text",
    [
        "medcin",  # one letter missing
        "tbiib",  # one letter added
        "nadro",  # two letters swapped
        "MÉDECIN",  # case and accents
        "فالناظور وجدة",  # Arabic prefixes glued to a known word
        "qsdkjh medecin",  # one familiar word is enough
        "👍",  # no word at all: the classifier decides
        "1",
        "+212 6 12 34 56 78",
        "",
    ],
)
def test_familiar_or_wordless_text_is_not_flagged(vocabulary: Vocabulary, text: str) -> None:
    assert not vocabulary.unknown(text)


def test_short_words_must_match_exactly(vocabulary: Vocabulary) -> None:
    assert vocabulary.familiar("ok")
    assert not vocabulary.familiar("oj")  # one typo from a two-letter word is anything


def test_round_trip(vocabulary: Vocabulary) -> None:
    again = Vocabulary.from_dict(vocabulary.to_dict())
    assert again == vocabulary


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gets_an_answer(text: str) -> None:
    assert isinstance(Vocabulary.from_texts(TRAINING).unknown(text), bool)


# --- the Rasa adapter -------------------------------------------------------------------


def test_component_trains_persists_loads_and_overrides(tmp_path: Path) -> None:
    pytest.importorskip("rasa")
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.rasa.nlu.unknown_words import UnknownWordsFallback

    storage = LocalModelStorage(tmp_path)
    resource = Resource("unknown_words")
    context = ExecutionContext(graph_schema=None)  # type: ignore[arg-type]
    trained = UnknownWordsFallback.create({}, storage, resource, context)
    examples = [Message(data={"text": t, "intent": "ask_health"}) for t in TRAINING]
    trained.train(
        TrainingData(
            examples, lookup_tables=[{"name": "city", "elements": ["Taroudant", "Tiznit"]}]
        )
    )
    loaded = UnknownWordsFallback.load({}, storage, resource, context)

    def parse(text: str) -> Message:
        message = Message(data={"text": text})
        message.set("intent", {"name": "ask_work", "confidence": 0.97}, add_to_output=True)
        message.set("intent_ranking", [{"name": "ask_work", "confidence": 0.97}])
        return loaded.process([message])[0]

    gibberish = parse("qsdkjh zzkq wxcv")
    assert gibberish.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert [i["name"] for i in gibberish.get("intent_ranking")] == ["nlu_fallback", "ask_work"]
    assert gibberish.get("unknown_words") is True
    for text in ("bghit tbib", "taroudant", "/request_mediator", "👍"):
        assert parse(text).get("intent")["name"] == "ask_work", text


def test_component_without_vocabulary_changes_nothing(tmp_path: Path) -> None:
    pytest.importorskip("rasa")
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message

    from bot.rasa.nlu.unknown_words import UnknownWordsFallback

    component = UnknownWordsFallback.load(
        {},
        LocalModelStorage(tmp_path),
        Resource("missing"),
        ExecutionContext(graph_schema=None),  # type: ignore[arg-type]
    )
    message = Message(data={"text": "qsdkjh"})
    message.set("intent", {"name": "greet", "confidence": 0.9})
    assert component.process([message])[0].get("intent")["name"] == "greet"
