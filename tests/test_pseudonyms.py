"""Pseudonyms are stable, keyed and reveal nothing; log masking hides numbers."""

import pytest

from bot.pseudonyms import mask_numbers, pseudonym


def test_pseudonym_is_stable_and_keyed() -> None:
    a = pseudonym("whatsapp", "+212612345678", "k1")
    assert a == pseudonym("whatsapp", "+212612345678", "k1")
    assert a != pseudonym("whatsapp", "+212612345678", "k2")
    assert a != pseudonym("telegram", "+212612345678", "k1")
    assert a.startswith("wa-") and "612345678" not in a


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="PSEUDONYM_KEY"):
        pseudonym("telegram", "12345", "")


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("from whatsapp:+212612345678 ok", "612345678"),
        ("telegram user 987654321 wrote", "987654321"),
        ("call 06 61 07 60 60 now", "61 07 60"),
    ],
)
def test_mask_numbers(line: str, hidden: str) -> None:
    masked = mask_numbers(line)
    assert hidden not in masked
    assert "…" in masked


def test_short_numbers_stay() -> None:
    assert mask_numbers("dial 19 or 150 then 1") == "dial 19 or 150 then 1"


def test_dev_key_is_created_once_and_private(tmp_path) -> None:
    import stat

    from bot.pseudonyms import key_for

    first = key_for("", tmp_path)
    assert first == key_for("", tmp_path)
    assert stat.S_IMODE((tmp_path / "pseudonym.key").stat().st_mode) == 0o600
    assert key_for("configured", tmp_path) == "configured"
    with pytest.raises(ValueError, match="production"):
        key_for("", tmp_path, profile="prod")
