"""Privacy end to end through Rasa's REST channel (real Rasa server and action server).

Needs a model trained with the privacy intents and rules (TEST_MODEL_PATH or make train).
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from sqlalchemy import select, text

from bot import analytics, privacy
from bot.db import make_engine
from tests.conftest import RestClient
from tests.domain_texts import prefix

pytestmark = pytest.mark.e2e

GREETINGS = {
    "fr": "bonjour",
    "en": "hello there",
    "es": "hola, buenos días",
    "ar": "السلام عليكم",
    "ary-Latn": "salam labas 3lik",
}
DELETE_REQUESTS = {  # none of them is a training example
    "fr": "effacez toutes mes données svp",
    "en": "please erase all my data now",
    "es": "por favor borra todos mis datos ya",
    "ar": "من فضلك امسح كل بياناتي",
    "ary-Latn": "3afak mse7 ga3 data dyali",
}


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text", "") for r in replies]


def notice_in(replies: list[dict], lang: str) -> dict | None:
    start = prefix("utter_privacy_notice", lang)
    return next((r for r in replies if r.get("text", "").startswith(start)), None)


def our_db(assistant):
    return make_engine(assistant.settings.effective_database_url)


def tracker_db(assistant):
    return make_engine(f"sqlite:///{assistant.settings.var_dir / 'tracker.db'}")


def count_events(assistant, sender: str) -> int:
    engine = tracker_db(assistant)
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender}
        ).scalar()
    engine.dispose()
    return int(n)


def wait_until(check, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


# A request answered without a menu, in each language.
DOCTOR = {
    "fr": "je cherche un medecin a oujda",
    "en": "I need a doctor in oujda",
    "es": "necesito un medico en oujda",
    "ar": "أحتاج طبيبا في وجدة",
    "ary-Latn": "bghit tbib f oujda",
}


@pytest.mark.parametrize("lang", list(GREETINGS))
def test_notice_at_first_contact_in_the_person_language(assistant, lang) -> None:
    person = RestClient(assistant.rasa_url, f"notice-{lang}-{time.time_ns()}")
    replies = person.say(GREETINGS[lang])
    # The greeting is answered first; its topic menu is this turn's numbered menu, so the
    # notice waits for the next answer without one (one numbered menu per turn, issue 15.2).
    assert texts(replies)[0].startswith(prefix("utter_greet", lang)), texts(replies)
    assert notice_in(replies, lang) is None, texts(replies)
    replies = person.say(DOCTOR[lang])
    notice = notice_in(replies, lang)
    assert notice is not None, texts(replies)
    assert str(assistant.settings.retention_days) in notice["text"]
    assert [b["payload"] for b in notice["buttons"]] == ["/privacy_accept", "/privacy_decline"]
    # Only once.
    again = person.say(DOCTOR[lang])
    assert texts(again), texts(again)
    assert notice_in(again, lang) is None


def test_first_question_is_answered_then_the_notice(person: RestClient) -> None:
    replies = person.say("bonjour je cherche un medecin a oujda")
    assert texts(replies)[0].startswith(prefix("utter_directory_results", "fr")) or texts(replies)[
        0
    ].startswith(prefix("utter_directory_results_wider", "fr")), texts(replies)
    assert notice_in(replies, "fr") is not None


def test_declining_still_answers_and_keeps_nothing(assistant, person: RestClient) -> None:
    person.say("bonjour")
    assert texts(person.say("/privacy_decline"))[0].startswith(
        prefix("utter_privacy_declined", "fr")
    )
    replies = person.say("je cherche un medecin a oujda")
    assert texts(replies)[0].startswith(prefix("utter_directory_results", "fr")) or texts(replies)[
        0
    ].startswith(prefix("utter_directory_results_wider", "fr")), texts(replies)
    engine = our_db(assistant)
    assert privacy.has_declined(engine, person.sender)
    key = analytics.person_key(person.sender, privacy.analytics_key(assistant.settings))
    with engine.connect() as conn:
        linked = conn.execute(
            select(analytics.analytics_events.c.kind).where(
                analytics.analytics_events.c.person_key == key
            )
        ).all()
        questions = (
            conn.execute(
                select(analytics.analytics_events.c.topic).where(
                    analytics.analytics_events.c.kind == "question"
                )
            )
            .scalars()
            .all()
        )
    assert linked == []  # nothing linkable to them...
    assert "health" in questions  # ...but the question is counted
    engine.dispose()


def test_accept_then_optional_sex_question(assistant, person: RestClient) -> None:
    person.say("hello there")
    replies = person.say("/privacy_accept")
    ask = replies[0]
    assert ask["text"].startswith(prefix("utter_ask_sex", "en"))
    assert [b["payload"] for b in ask["buttons"]][-1] == '/inform_sex{"sex": "skip"}'
    person.say("I need a doctor in agadir")
    replies = person.say('/inform_sex{"sex": "female"}')
    assert texts(replies)[0].startswith(prefix("utter_thanks_sex", "en"))
    engine = our_db(assistant)
    assert privacy.consent_of(engine, person.sender) == "accepted"
    key = analytics.person_key(person.sender, privacy.analytics_key(assistant.settings))
    with engine.connect() as conn:
        sexes = (
            conn.execute(
                select(analytics.analytics_events.c.sex).where(
                    analytics.analytics_events.c.person_key == key
                )
            )
            .scalars()
            .all()
        )
    assert sexes and set(sexes) == {"female"}
    engine.dispose()


@pytest.mark.parametrize(
    ("lang", "greeting", "request_text"),
    [
        ("fr", "bonjour", DELETE_REQUESTS["fr"]),
        ("en", "hello there", DELETE_REQUESTS["en"]),
        ("fr", "bonjour", "/delete"),
    ],
)
def test_delete_my_data_erases_the_conversation(assistant, lang, greeting, request_text) -> None:
    sender = f"delete-{lang}-{time.time_ns()}"
    person = RestClient(assistant.rasa_url, sender)
    person.say(greeting)
    person.say("/privacy_accept")
    assert count_events(assistant, sender) > 0
    replies = person.say(request_text)
    assert texts(replies)[0].startswith(prefix("utter_data_deleted", lang)), texts(replies)
    # Rasa writes the turn after the action: the pending erasure runs again right after.
    assert wait_until(lambda: count_events(assistant, sender) == 0), count_events(assistant, sender)
    assert privacy.consent_of(our_db(assistant), sender) is None


@pytest.mark.parametrize("lang", list(DELETE_REQUESTS))
def test_delete_is_understood_in_five_languages(assistant, lang) -> None:
    req = urllib.request.Request(
        f"{assistant.rasa_url}/model/parse",
        data=json.dumps({"text": DELETE_REQUESTS[lang]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        parsed = json.loads(resp.read())
    assert parsed["intent"]["name"] in ("delete_data", "delete"), parsed["intent"]
