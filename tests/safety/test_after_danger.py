"""After the help, only the answer to the person's own request follows (Rasa adapter)."""

from __future__ import annotations

from bot.channels.base import IncomingMessage
from bot.rasa.common import AfterDangerOutput, DeliveryOutput, rasa_dispatch
from tests.channels.test_pipeline import Recorder


async def test_only_directory_answers_follow_with_a_first_line_in_the_persons_language() -> None:
    collect = Recorder()
    output = AfterDangerOutput(DeliveryOutput(collect), "es")
    menu = [{"title": "Salud", "payload": "/ask_health"}]
    await output.send_response(
        "p", {"text": "¿Qué necesita?", "utter_action": "utter_greet", "buttons": menu}
    )
    await output.send_response("p", {"text": "No he entendido.", "utter_action": "utter_default"})
    await output.send_response("p", {"text": "19, 15", "utter_action": "utter_emergency"})
    await output.send_response(
        "p", {"text": "ANAPEC Agadir", "utter_action": "utter_directory_results"}
    )
    await output.send_response("p", {"text": "Aviso", "utter_action": "utter_privacy_notice"})
    assert [m.text for m in collect.sent] == ["Y sobre su solicitud:\nANAPEC Agadir"]
    # Without a second numbered menu, and the help's button still meaning "1".
    assert collect.sent[0].buttons == [] and collect.sent[0].keep_menu


async def test_the_answer_after_the_help_drops_its_own_menu() -> None:
    collect = Recorder()
    output = AfterDangerOutput(DeliveryOutput(collect), "fr")
    towns = [{"title": "Agadir", "payload": "Agadir"}]
    question = {"text": "Dans quelle ville ?", "utter_action": "utter_ask_city", "buttons": towns}
    await output.send_response("p", question)
    (sent,) = collect.sent
    assert sent.text.startswith("Et pour votre demande :") and sent.buttons == []
    assert sent.keep_menu


async def test_the_dispatch_marks_a_danger_turn_for_rasa() -> None:
    seen = []

    async def on_new_message(message) -> None:  # noqa: ANN001
        seen.append(message)

    collect = Recorder()
    dispatch = rasa_dispatch(on_new_message, DeliveryOutput(collect), "telegram")
    danger = IncomingMessage("telegram", "1", "p", text="mi jefe me pega, busco trabajo")
    danger.danger = "violence"
    await dispatch(danger)
    await dispatch(IncomingMessage("telegram", "1", "p", text="busco trabajo"))
    assert seen[0].metadata == {"kind": "text", "danger": "violence"}
    assert isinstance(seen[0].output_channel, AfterDangerOutput)
    assert seen[1].metadata == {"kind": "text"}
    assert isinstance(seen[1].output_channel, DeliveryOutput)


async def test_the_privacy_notice_waits_for_the_turn_after_a_danger() -> None:
    """The help was this turn's message: the notice comes with the next answer, never
    before the help, and never as a second numbered menu."""
    from rasa_sdk import Tracker
    from rasa_sdk.events import FollowupAction
    from rasa_sdk.executor import CollectingDispatcher

    from actions import privacy as ap

    latest = {
        "text": "x",
        "intent": {"name": "ask_work"},
        "entities": [],
        "metadata": {"kind": "text", "danger": "violence"},
    }
    events = [{"event": "user", "text": "x", "parse_data": latest, "input_channel": "whatsapp"}]
    tracker = Tracker(
        "wa-p1", {"privacy_notice_due": True}, latest, events, False, None, None, "whatsapp"
    )
    dispatcher = CollectingDispatcher()
    result = await ap.ActionPrivacyNotice().run(dispatcher, tracker, {})
    assert dispatcher.messages == []
    assert result == [FollowupAction("action_listen")]  # still due
