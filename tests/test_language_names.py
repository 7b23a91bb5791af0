"""The requested language is found deterministically in five languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.language_names import find_requested_language


@pytest.mark.parametrize(
    ("text", "word", "value"),
    [
        ("parle moi en anglais stp", "anglais", "en"),
        ("reponds en Français", "Français", "fr"),
        ("speak english please", "english", "en"),
        ("can you answer in darija", "darija", "ary-Latn"),
        ("hablame en español", "español", "es"),
        ("en ingles por favor", "ingles", "en"),
        ("تكلم معايا بالفرنسية", "بالفرنسية", "fr"),
        ("جاوبني بالعربية عافاك", "بالعربية", "ar"),
        ("هضر معايا بالدارجة", "بالدارجة", "ar"),
        ("hder m3aya b darija", "darija", "ary-Latn"),
        ("jawbni bl3arbiya", "bl3arbiya", "ar"),
        ("pas en arabe, en francais", "francais", "fr"),
    ],
)
def test_language_words(text: str, word: str, value: str) -> None:
    found = find_requested_language(text)
    assert found is not None
    assert (found.text, found.value) == (word, value)
    assert text[found.start : found.end] == word


@pytest.mark.parametrize("text", ["ok", "en", "je suis en retard", "", "fr", "1", "👍"])
def test_no_language_word(text: str) -> None:
    assert find_requested_language(text) is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(text: str) -> None:
    found = find_requested_language(text)
    if found is not None:
        assert text[found.start : found.end] == found.text
