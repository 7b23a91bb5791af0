"""Splitting, truncation, numbered menus and payloads (no Rasa, no network)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.base import (
    TELEGRAM_MAX_UNITS,
    WHATSAPP_MAX_UNITS,
    Button,
    IncomingMessage,
    catalogue_text,
    numbered_menu,
    payload_for_reply,
    split_message,
    truncate_input,
    typed_text,
    utf16_units,
)


def test_short_text_is_one_message_even_with_blank_lines() -> None:
    text = "Voici :\n\n1. *Hôpital*\n\n2. *Centre*"
    assert split_message(text, WHATSAPP_MAX_UNITS) == [text]


def test_long_text_splits_at_paragraphs_in_order() -> None:
    paragraphs = [f"{i}. " + "mot " * 90 for i in range(1, 11)]
    parts = split_message("\n\n".join(paragraphs), WHATSAPP_MAX_UNITS)
    assert len(parts) > 1
    assert all(utf16_units(p) <= WHATSAPP_MAX_UNITS for p in parts)
    joined = "\n\n".join(parts)
    assert [p.split(".")[0] for p in joined.split("\n\n")] == [str(i) for i in range(1, 11)]
    assert all(p.startswith(tuple(f"{i}." for i in range(1, 11))) for p in parts)


def test_emoji_count_as_two_units_and_are_never_cut() -> None:
    text = "😀" * 1000  # 2000 UTF-16 units, no boundary at all
    parts = split_message(text, WHATSAPP_MAX_UNITS)
    assert [utf16_units(p) for p in parts] == [1600, 400]
    assert "".join(parts) == text


def test_words_are_kept_whole_when_there_is_no_line_break() -> None:
    text = " ".join(f"mot{i}" for i in range(2000))
    parts = split_message(text, TELEGRAM_MAX_UNITS)
    assert " ".join(parts) == text


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=6000), st.integers(min_value=10, max_value=2000))
def test_split_never_exceeds_the_limit_and_loses_only_whitespace(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    assert all(0 < utf16_units(p) <= limit for p in parts)
    squeeze = lambda s: "".join(s.split())  # noqa: E731
    assert squeeze("".join(parts)) == squeeze(text)


def test_truncation_keeps_the_beginning() -> None:
    text, cut = truncate_input("a" * 10_000, 2000)
    assert (len(text), cut) == (2000, True)
    assert truncate_input("court", 2000) == ("court", False)


def test_numbered_menu_and_the_number_maps_back() -> None:
    buttons = [Button("Oui", "/affirm"), Button("Non", "/deny")]
    assert numbered_menu("Un médiateur ?", buttons) == "Un médiateur ?\n\n1. Oui\n2. Non"
    payloads = [b.payload for b in buttons]
    assert payload_for_reply("2", payloads) == "/deny"
    assert payload_for_reply(" 1. ", payloads) == "/affirm"
    assert payload_for_reply("3", payloads) is None
    assert payload_for_reply("0", payloads) is None
    assert payload_for_reply("١", payloads) is None  # Arabic-Indic digit: left to the NLU
    assert payload_for_reply("2 enfants", payloads) is None
    assert payload_for_reply("1", []) is None


def test_media_and_location_become_intent_payloads() -> None:
    voice = IncomingMessage("whatsapp", "+2126", "wa-x", kind="voice")
    assert voice.rasa_text() == '/share_media{"media_type": "voice"}'
    here = IncomingMessage("telegram", "1", "tg-x", kind="location", latitude=30.42, longitude=-9.6)
    name, entities = here.rasa_text().split("{", 1)
    assert name == "/share_location"
    assert json.loads("{" + entities) == {"latitude": 30.42, "longitude": -9.6}


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("mse7", "ary-Latn"),
        ("delete", "en"),
        ("Supprimer !", "fr"),
        ("borrar", "es"),
        ("امسح", "ar"),
    ],
)
def test_an_erase_command_reaches_rasa_as_the_delete_intent(typed: str, language: str) -> None:
    """The NLU took "mse7" or "delete" alone for a misunderstood message: never confirmed."""
    message = IncomingMessage("whatsapp", "+2126", "wa-x", text=typed_text(typed))
    assert message.rasa_text() == "/delete"
    # The words' language goes with it (the NLU only sees the payload).
    assert message.language_hint()["code"] == language


def test_other_texts_keep_their_words_and_no_hint() -> None:
    for text in ("supprimer mon rendez-vous chez le médecin", "bghit tbib", "1"):
        message = IncomingMessage("whatsapp", "+2126", "wa-x", text=text)
        assert message.rasa_text() == text and message.language_hint() is None
    button = IncomingMessage("whatsapp", "+2126", "wa-x", text="/delete")  # a menu's payload
    assert button.rasa_text() == "/delete" and button.language_hint() is None


def test_typed_payloads_are_not_taken_as_intents() -> None:
    assert typed_text('/share_location{"latitude": 1}') == 'share_location{"latitude": 1}'
    assert typed_text("/start") == "/greet"
    assert typed_text("bonjour") == "bonjour"


@pytest.mark.parametrize("key", ["technical_problem", "input_truncated", "busy"])
def test_catalogue_has_the_five_languages(key: str) -> None:
    texts = {lang: catalogue_text(key, lang) for lang in ("fr", "en", "es", "ar", "ary-Latn")}
    assert len(set(texts.values())) == 5
    assert catalogue_text(key, "zgh") == texts["fr"]
