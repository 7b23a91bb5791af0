"""Every turn of Rasa ends listening, so one failed turn never silences the next ones
(bot/rasa/turns.py, issue 16).

Rasa's own prediction loop and action runner, with the policies replaced by a script and
a custom action whose server is not there (nothing listens on port 9): no model needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa import turns as rasa_turns

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, ask]
actions: [action_search]
responses:
  utter_greet:
  - text: "Hello!"
  utter_default:
  - text: "Sorry?"
"""
)
Policy = Callable[[DialogueStateTracker], str]


def _processor(policy: Policy) -> MessageProcessor:
    """Rasa's processor without a model: ``policy`` names the next action."""
    rasa_turns.install()
    processor = object.__new__(MessageProcessor)
    processor.domain = DOMAIN
    processor.action_endpoint = EndpointConfig("http://127.0.0.1:9/webhook")  # nobody there
    processor.max_number_of_predictions = 10
    processor.on_circuit_break = None
    processor.nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    processor._predict_next_with_tracker = lambda tracker: PolicyPrediction.for_action_name(  # type: ignore[method-assign]
        DOMAIN, policy(tracker), "script"
    )
    return processor


def _turn(processor: MessageProcessor, tracker: DialogueStateTracker, intent: str) -> list[str]:
    """One message of the person; the texts Rasa sent."""
    tracker.update(UserUttered(intent, {"name": intent, "confidence": 1.0}))
    output = CollectingOutputChannel()
    asyncio.run(processor._run_prediction_loop(output, tracker))
    return [m["text"] for m in output.messages]


def _executed(tracker: DialogueStateTracker) -> list[str]:
    return [e.action_name for e in tracker.events if isinstance(e, ActionExecuted)]


def _answer_or_listen(tracker: DialogueStateTracker) -> str:
    """Like the rules: the user's intent gets its answer, then the bot listens."""
    if tracker.latest_action_name != ACTION_LISTEN_NAME:
        return ACTION_LISTEN_NAME
    return "utter_greet" if tracker.latest_message.intent["name"] == "greet" else "action_search"


def _lost_without_the_search_events(tracker: DialogueStateTracker) -> str:
    """As with the action server down: without the action's events the policies go round
    in circles (the search, the fallback, the search...)."""
    if tracker.latest_action_name == ACTION_LISTEN_NAME:
        return _answer_or_listen(tracker)
    if tracker.latest_action_name == "utter_greet":
        return ACTION_LISTEN_NAME
    return "utter_default" if tracker.latest_action_name == "action_search" else "action_search"


@pytest.fixture
def tracker() -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "person", [ActionExecuted(ACTION_LISTEN_NAME)], slots=DOMAIN.slots
    )


def test_a_failed_custom_action_ends_its_turn_listening(tracker: DialogueStateTracker) -> None:
    processor = _processor(_lost_without_the_search_events)
    sent = _turn(processor, tracker, "ask")
    # One call of the dead action server, not ten predictions in circles.
    assert _executed(tracker) == [ACTION_LISTEN_NAME, "action_search", ACTION_LISTEN_NAME]
    assert sent == []  # the channel apologises (bot/channels/action_errors.py)
    # The action server is back: the next message is answered.
    assert _turn(processor, tracker, "greet") == ["Hello!"]


def test_the_turn_after_the_circuit_breaker_is_answered(tracker: DialogueStateTracker) -> None:
    looping = True

    def policy(t: DialogueStateTracker) -> str:
        # A first turn that never listens (a loop in the dialogue), then ordinary turns.
        return "utter_default" if looping else _answer_or_listen(t)

    processor = _processor(policy)
    assert len(_turn(processor, tracker, "ask")) == 10  # stopped by the circuit breaker
    assert tracker.latest_action_name == ACTION_LISTEN_NAME
    looping = False
    assert _turn(processor, tracker, "greet") == ["Hello!"]
    assert _turn(processor, tracker, "greet") == ["Hello!"]


def test_a_paused_conversation_is_left_as_rasa_leaves_it(tracker: DialogueStateTracker) -> None:
    from rasa.shared.core.events import ConversationPaused

    tracker.update(ConversationPaused())
    processor = _processor(_answer_or_listen)
    assert _turn(processor, tracker, "greet") == []
    assert _executed(tracker) == [ACTION_LISTEN_NAME]


def test_the_fixes_are_installed_once() -> None:
    rasa_turns.install()
    run_action = MessageProcessor._run_action
    loop = MessageProcessor._run_prediction_loop
    assert run_action.__module__ == loop.__module__ == rasa_turns.__name__
    rasa_turns.install()
    assert MessageProcessor._run_action is run_action
    assert MessageProcessor._run_prediction_loop is loop
