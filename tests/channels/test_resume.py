"""The bot resumes a conversation after a hand-off in the language the person wrote in."""

from __future__ import annotations

from rasa.shared.core.events import ConversationResumed, SlotSet

from bot.rasa.mediator_telegram import resume_events


def test_resume_sets_the_language_rasa_never_saw() -> None:
    assert resume_events(None, "ar") == [ConversationResumed(), SlotSet("language", "ar")]
    assert resume_events("fr", "ary-Latn") == [
        ConversationResumed(),
        SlotSet("language", "ary-Latn"),
    ]


def test_resume_keeps_the_language_when_nothing_new_or_unknown() -> None:
    assert resume_events("fr", "fr") == [ConversationResumed()]
    assert resume_events("fr", None) == [ConversationResumed()]
    assert resume_events("fr", "zgh") == [ConversationResumed()]
