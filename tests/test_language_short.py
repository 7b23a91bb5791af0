"""Two-word messages in their own language (issue 15, point 7).

Written for this project (not from any public set); several were taken for another
language before short texts leaned on lingua (OURS_WEIGHT_SHORT) and the short training
phrases were added.
"""

from __future__ import annotations

import pytest

from bot import language
from bot.language import detect


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("rendez-vous médecin", "fr"),
        ("date limite", "fr"),
        ("job offer", "en"),
        ("send message", "en"),
        ("invalid value", "en"),
        ("cita médico", "es"),
        ("fecha límite", "es"),
        ("telefono movil", "es"),
        ("bghit tbib", "ary-Latn"),
        ("fin kayn", "ary-Latn"),
        ("3afak 3awni", "ary-Latn"),
    ],
)
def test_short_messages(text: str, code: str) -> None:
    assert detect(text).code == code


def test_short_texts_lean_more_on_lingua() -> None:
    assert language.OURS_WEIGHT_SHORT < language.OURS_WEIGHT
    assert language.SHORT_WORDS == 2
