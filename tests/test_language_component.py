"""Tests for the Rasa adapter bot.rasa.nlu.language_component (issue 4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("rasa")

from rasa.engine.graph import ExecutionContext  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from bot.language import ALL_CODES  # noqa: E402
from bot.rasa.nlu.language_component import LanguageDetector  # noqa: E402


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> LanguageDetector:
    storage = LocalModelStorage(tmp_path_factory.mktemp("models"))
    return LanguageDetector.create(
        LanguageDetector.get_default_config(),
        storage,
        Resource("language_detector"),
        ExecutionContext(graph_schema=None),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("je veux un medecin", "fr"),
        ("where is the hospital", "en"),
        ("necesito un medico", "es"),
        ("بغيت طبيب", "ar"),
        ("bghit nmchi l'hopital f agadir", "ary-Latn"),
        ("ⴰⵣⵓⵍ", "zgh"),
        ("👍", "und"),
    ],
)
def test_process_sets_language(component: LanguageDetector, text: str, code: str) -> None:
    message = Message(data={"text": text})
    returned = component.process([message])
    assert returned == [message]
    language = message.get("language")
    assert language["code"] == code
    assert 0.0 <= language["confidence"] <= 1.0
    # add_to_output: the value shows up in /model/parse results.
    assert message.as_dict(only_output_properties=True)["language"] == language


def test_message_without_text(component: LanguageDetector) -> None:
    message = Message(data={"intent": {"name": "greet"}})
    component.process([message])
    assert message.get("language") == {"code": "und", "confidence": 0.0}


def test_process_training_data_is_unchanged(component: LanguageDetector) -> None:
    data = TrainingData([Message(data={"text": "salam", "intent": "greet"})])
    assert component.process_training_data(data) is data
    assert data.training_examples[0].get("language") is None


def test_registered_as_message_featurizer() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    registered = DefaultV1Recipe._from_registry("bot.rasa.nlu.language_component.LanguageDetector")
    assert registered.clazz is LanguageDetector
    assert DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER in registered.types
    assert registered.is_trainable is False


def test_required_packages_are_installed_distributions() -> None:
    from importlib import import_module
    from importlib.metadata import version

    for package in LanguageDetector.required_packages():
        import_module(package)
        assert version(package)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
        st.text(min_size=1000, max_size=3000),
    )
)
def test_process_never_raises(text: str) -> None:
    detector = LanguageDetector({})
    message = Message(data={"text": text})
    detector.process([message])
    language = message.get("language")
    assert language["code"] in ALL_CODES
    assert 0.0 <= language["confidence"] <= 1.0
