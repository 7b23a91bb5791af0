"""Issue 15's conversations, played through the real pipeline with Rasa in the loop.

Each failed on the code before the fix; sequences the simulator finds broken are added here
(``python -m tests.simulator.bench`` prints them shrunk, ready to paste).
"""

from __future__ import annotations

import itertools

import pytest

from tests.simulator.conversations import Step, is_response, response_of, run_conversation

pytestmark = pytest.mark.e2e
_people = itertools.count()


def play(simulated, language: str, steps: list[Step]):  # noqa: ANN001, ANN201
    """Play ``steps`` for a new person; (violations, what the person received)."""
    person = f"wa-regression-{next(_people)}"
    violations = simulated.run(run_conversation(simulated.harness, steps, person, language))
    return violations, simulated.harness.inboxes[person].messages


def test_a_shared_location_answers_the_question_about_the_town(simulated) -> None:
    """(1) "J'ai besoin d'un médecin", a shared location: services, never the question again."""
    violations, received = play(
        simulated, "fr", [Step("topic", 0), Step("location", "agadir"), Step("topic", 1)]
    )
    assert violations == []
    asked = [m for m in received if is_response(m, "utter_ask_city")]
    assert len(asked) == 1  # the first time only; the town is known after the location


def test_a_greeting_never_carries_the_menu_and_the_notice_together(simulated) -> None:
    """(2) "1" after a greeting means Health, not consent."""
    violations, received = play(simulated, "fr", [Step("greet"), Step("number", 1)])
    assert violations == []
    assert is_response(received[0], "utter_greet")
    assert is_response(received[1], "utter_ask_city")  # "1" was Health: where are you?
    assert not any(is_response(m, "utter_privacy_notice") for m in received[:2])


def test_delete_while_the_notice_is_pending_is_confirmed(simulated) -> None:
    """(3) "Please delete all my data" while the notice is due: confirmed, then nothing left."""
    violations, received = play(simulated, "en", [Step("topic_town", "oujda"), Step("delete")])
    assert violations == []
    assert is_response(received[-1], "utter_data_deleted") and received[-1].delivered


def test_a_request_for_a_person_shows_the_notice_first(simulated) -> None:
    """(4) Mediators read the messages: the notice comes before the hand-off."""
    violations, received = play(
        simulated, "ary-Latn", [Step("mediator"), Step("number", 1), Step("desk_reply")]
    )
    assert violations == []
    assert is_response(received[0], "utter_privacy_notice")
    assert is_response(received[1], "utter_handoff_requested")


def test_a_misunderstood_topic_while_asked_for_the_town_is_answered_once(simulated) -> None:
    """Found by the simulator: a second topic while the form asked "where?" made Rasa
    alternate the form and the fallback ten times in one turn."""
    violations, received = play(simulated, "ar", [Step("topic", 2), Step("topic", 4)])
    assert violations == []
    assert len(received) == 2


def test_delete_during_a_handoff_is_confirmed_and_erases_everything(simulated) -> None:
    """During a hand-off "supprimer" went to the mediator: never confirmed, nothing erased."""
    violations, received = play(
        simulated,
        "fr",
        [Step("mediator"), Step("number", 1), Step("desk_reply"), Step("delete", "command")],
    )
    assert violations == []
    assert is_response(received[-1], "utter_data_deleted")


def test_delete_after_a_mediator_request_and_two_stray_numbers_is_confirmed(simulated) -> None:
    """Found by the simulator: the notice pending (after the request for a person), two
    numbers of no menu handed off five times in one turn (the fallback's FollowupAction
    brought the fallback back) until Rasa's circuit breaker, and "/delete", which the NLU
    took for a misunderstood message, handed off five times again: never confirmed."""
    violations, received = play(
        simulated,
        "en",
        [Step("mediator"), Step("number", 8), Step("number", 8), Step("delete", "command")],
    )
    assert violations == []
    assert is_response(received[0], "utter_privacy_notice")
    assert sum(is_response(m, "utter_handoff_requested") for m in received) == 1
    assert is_response(received[-1], "utter_data_deleted") and received[-1].delivered


def test_a_one_word_erase_command_is_confirmed_in_the_persons_language(simulated) -> None:
    """The word "mse7" alone went to the NLU, which took it for a misunderstood message."""
    violations, received = play(
        simulated,
        "ary-Latn",
        [Step("mediator"), Step("number", 3), Step("number", 7), Step("delete", "command")],
    )
    assert violations == []
    assert ("utter_data_deleted", "ary-Latn") in response_of(received[-1])


def test_after_a_decline_and_a_handoff_in_arabic_the_bot_answers_in_arabic(simulated) -> None:
    """Found by the bench (seed 15): the decline forgets the language; the person then writes
    Arabic to the mediator only (Rasa never sees it); after the close a shared location was
    answered in French. Now the hand-off follows their language and hands it back."""
    steps = [
        Step("decline"),
        Step("number", 7),
        Step("number", 7),
        Step("topic_town", "oujda"),
        Step("desk_close"),
        Step("location", "tiznit"),
    ]
    violations, received = play(simulated, "ar", steps)
    assert violations == []
    assert any(is_response(m, "utter_handoff_requested") for m in received)
    assert is_response(received[-1], "utter_location_results")
    assert {lang for _, lang in response_of(received[-1])} <= {"ar", None}
    assert ("utter_location_results", "ar") in response_of(received[-1])
