"""End to end through Rasa's REST channel of a real Rasa server and action server.

Proves the wiring: NLU (with our language component), rules, conditional responses, the
action server (the language slot is set by action_validate_slot_mappings) and the
SQLite tracker store under var/.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import RestClient
from tests.domain_texts import prefix

pytestmark = pytest.mark.e2e


def first_text(replies: list[dict]) -> str:
    assert replies, "the bot answered nothing"
    return replies[0].get("text", "")


def test_bonjour_is_answered_in_french_with_buttons(person: RestClient) -> None:
    replies = person.say("bonjour")
    assert first_text(replies).startswith(prefix("utter_greet", "fr"))
    assert [b["payload"] for b in replies[0]["buttons"]][0] == "/ask_health"


def test_hello_is_answered_in_english(person: RestClient) -> None:
    # English needs the action server: it sets the language slot after detection.
    assert first_text(person.say("hello there")).startswith(prefix("utter_greet", "en"))


def test_goodbye_in_french_and_english(assistant) -> None:
    fr = RestClient(assistant.rasa_url, "goodbye-fr")
    fr.say("bonjour")
    assert first_text(fr.say("au revoir")).startswith(prefix("utter_goodbye", "fr"))
    en = RestClient(assistant.rasa_url, "goodbye-en")
    en.say("hello")
    assert first_text(en.say("goodbye, see you")).startswith(prefix("utter_goodbye", "en"))


def test_anything_else_gets_the_fallback(person: RestClient) -> None:
    person.say("bonjour")
    text = first_text(person.say("qsdkjh zzkq wxcv"))
    assert text.startswith(prefix("utter_default", "fr")) or text.startswith(
        prefix("utter_out_of_scope", "fr")
    )


def test_custom_action_answers_from_the_directory(person: RestClient) -> None:
    replies = person.say("bonjour je cherche un medecin a oujda")
    text = first_text(replies)
    assert text.startswith(prefix("utter_directory_results", "fr")) or text.startswith(
        prefix("utter_directory_results_wider", "fr")
    ), text


def test_parse_result_carries_the_language(assistant) -> None:
    req = urllib.request.Request(
        f"{assistant.rasa_url}/model/parse",
        data=json.dumps({"text": "salam bghit tbib f nador"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        parsed = json.loads(resp.read())
    assert parsed["language"]["code"] == "ary-Latn"
    assert 0.0 <= parsed["language"]["confidence"] <= 1.0


def test_conversation_is_kept_in_the_sqlite_tracker_store(assistant, person) -> None:
    person.say("bonjour")
    db = assistant.settings.var_dir / "tracker.db"
    assert db.is_file() and db.stat().st_size > 0
