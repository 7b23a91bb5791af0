"""Every response speaks every reply language; buttons are the same in each."""

from __future__ import annotations

import re

import pytest

from tests.domain_texts import REPLY_LANGUAGES, domain, variation_language


def responses() -> dict:
    return domain()["responses"]


@pytest.mark.parametrize("name", sorted(domain()["responses"]))
def test_response_has_every_language(name: str) -> None:
    langs = [variation_language(v) for v in responses()[name]]
    missing = [lang for lang in REPLY_LANGUAGES if lang not in langs]
    assert not missing, f"{name} lacks {missing}"
    assert None in langs, f"{name} has no default variation for an unknown language"


@pytest.mark.parametrize("name", sorted(domain()["responses"]))
def test_variations_agree_on_variables_and_buttons(name: str) -> None:
    variations = responses()[name]
    variables = {frozenset(re.findall(r"{(\w+)}", v["text"])) for v in variations}
    assert len(variables) == 1, f"{name}: variations use different variables {variables}"
    payloads = {tuple(b["payload"] for b in v.get("buttons", [])) for v in variations}
    assert len(payloads) == 1, f"{name}: buttons differ between languages"


def test_language_slot_is_filled_by_our_action() -> None:
    slot = domain()["slots"]["language"]
    assert slot["mappings"] == [{"type": "custom"}]
    assert "action_validate_slot_mappings" in domain()["actions"]
