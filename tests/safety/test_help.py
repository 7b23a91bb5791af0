"""The help: every number a sourced directory entry, every text in five languages."""

from __future__ import annotations

import pytest

from bot.directory import DirectoryStore
from bot.directory.paths import default_directory_path
from bot.safety import KINDS, Danger
from bot.safety import help as safety_help

LANGS = ("fr", "en", "es", "ar", "ary-Latn")


@pytest.fixture(scope="module")
def directory():  # noqa: ANN201
    return DirectoryStore(default_directory_path()).current()


def test_every_number_is_a_sourced_directory_entry_with_a_phone(directory) -> None:  # noqa: ANN001
    numbers = safety_help.catalogue()["numbers"]
    assert set(numbers) == set(KINDS)
    for kind, ids in numbers.items():
        assert ids, kind
        for entry_id in ids:
            entry = directory.get(entry_id)
            assert entry is not None, f"{kind}: {entry_id} is not in the directory"
            assert entry.phones, entry_id
            assert entry.source and entry.verified, entry_id


def test_no_phone_number_is_written_in_the_texts() -> None:
    import re

    catalogue = safety_help.catalogue()
    for section in ("care", "texts"):
        for key, variants in catalogue[section].items():
            for lang, text in variants.items():
                # Arabizi writes letters as digits (kaywe93): a number stands alone.
                assert not re.search(r"(?<![a-z])\d{2,}(?![a-z])", text), f"{section}.{key}.{lang}"


def test_every_kind_and_text_exists_in_the_five_languages() -> None:
    catalogue = safety_help.catalogue()
    for kind in KINDS:
        assert set(catalogue["care"][kind]) == set(LANGS), kind
    for key, variants in catalogue["texts"].items():
        assert set(variants) == set(LANGS), key


@pytest.mark.parametrize("lang", LANGS)
def test_imminent_help_names_numbers_says_who_was_alerted_and_offers_to_decline(
    directory,
    lang: str,  # noqa: ANN001
) -> None:
    danger = Danger("medical", "imminent", lang)
    help_ = safety_help.compose(danger, lang, directory, alerted=True)
    assert "141" in help_.text and "15" in help_.text
    assert safety_help.text("alerted", lang) in help_.text
    assert help_.buttons == [(safety_help.text("button_decline", lang), safety_help.DECLINE)]


def test_the_numbers_fit_the_kind(directory) -> None:  # noqa: ANN001
    def numbers(kind: str) -> str:
        return safety_help.compose(Danger(kind, "urgent"), "fr", directory, alerted=False).text

    assert "8350" in numbers("violence")  # the women's line
    assert "2511" in numbers("child")
    assert "19" in numbers("threat") and "177" in numbers("threat")
    assert "141" in numbers("medical") and "15" in numbers("fire_accident")


def test_suicide_says_honestly_there_is_no_national_line(directory) -> None:  # noqa: ANN001
    help_ = safety_help.compose(Danger("suicide", "imminent"), "en", directory, alerted=True)
    assert safety_help.text("no_suicide_line", "en") in help_.text


def test_urgent_help_offers_a_person_with_one_tap_and_the_payload_fits_telegram(
    directory,  # noqa: ANN001
) -> None:
    for kind in KINDS:
        for lang in LANGS:
            help_ = safety_help.compose(Danger(kind, "urgent"), lang, directory, alerted=False)
            ((title, payload),) = help_.buttons
            assert len(payload.encode()) <= 64
            assert safety_help.parse_ask_mediator(payload) == (kind, lang)


def test_outside_hours_the_help_says_when_a_person_answers(directory) -> None:  # noqa: ANN001
    help_ = safety_help.compose(
        Danger("violence", "urgent"),
        "es",
        directory,
        alerted=False,
        on_duty=False,
        opens_at="09:00",
    )
    assert "09:00" in help_.text
    assert "8350" in help_.text


def test_a_malformed_payload_is_not_trusted() -> None:
    assert safety_help.parse_ask_mediator('/safety_mediator{"kind":"x","lang":"zz"}') == (
        None,
        "fr",
    )
    assert safety_help.parse_ask_mediator("/safety_mediator{oops") == (None, "fr")
