"""Per-person ordered processing (no Rasa)."""

from __future__ import annotations

import asyncio

from bot.channels.base import IncomingMessage
from bot.channels.person_queues import PersonQueues


def _msg(sender: str, text: str) -> IncomingMessage:
    return IncomingMessage("telegram", "1", sender, text=text, external_id=text)


async def test_one_person_in_order_several_people_concurrently() -> None:
    log: list[tuple[str, str, str]] = []

    async def handler(message: IncomingMessage) -> None:
        log.append(("start", message.sender, message.text))
        # The first message of a is slow: b must not wait for it, a's second must.
        await asyncio.sleep(0.2 if message.text == "a1" else 0.01)
        log.append(("end", message.sender, message.text))

    async def on_error(message: IncomingMessage, exc: BaseException) -> None:
        raise AssertionError(exc)

    queues = PersonQueues(handler, on_error)
    for message in (_msg("a", "a1"), _msg("a", "a2"), _msg("b", "b1")):
        assert queues.submit(message)
    assert await queues.join(timeout=5)
    a_events = [(kind, text) for kind, sender, text in log if sender == "a"]
    assert a_events == [("start", "a1"), ("end", "a1"), ("start", "a2"), ("end", "a2")]
    assert log.index(("end", "b", "b1")) < log.index(("end", "a", "a1"))


async def test_a_failure_gets_on_error_and_the_next_message_still_runs() -> None:
    done: list[str] = []
    failed: list[str] = []

    async def handler(message: IncomingMessage) -> None:
        if message.text == "bad":
            raise RuntimeError("boom")
        done.append(message.text)

    async def on_error(message: IncomingMessage, exc: BaseException) -> None:
        failed.append(message.text)

    queues = PersonQueues(handler, on_error)
    queues.submit(_msg("a", "bad"))
    queues.submit(_msg("a", "good"))
    assert await queues.join(timeout=5)
    assert (failed, done) == (["bad"], ["good"])


async def test_bounded_per_person_and_in_total() -> None:
    gate = asyncio.Event()

    async def handler(message: IncomingMessage) -> None:
        await gate.wait()

    async def on_error(message: IncomingMessage, exc: BaseException) -> None:
        pass

    queues = PersonQueues(handler, on_error, max_per_person=2, max_people=2)
    try:
        assert queues.submit(_msg("a", "1"))
        await asyncio.sleep(0.05)  # the worker takes message 1
        assert queues.submit(_msg("a", "2")) and queues.submit(_msg("a", "3"))
        assert not queues.submit(_msg("a", "4"))
        assert queues.submit(_msg("b", "1"))
        assert not queues.submit(_msg("c", "1"))
    finally:
        gate.set()
    assert await queues.join(timeout=5)


async def test_drain_finishes_queued_work_and_reports_what_is_left() -> None:
    done: list[str] = []

    async def handler(message: IncomingMessage) -> None:
        await asyncio.sleep(0.05 if message.text != "stuck" else 60)
        done.append(message.text)

    async def on_error(message: IncomingMessage, exc: BaseException) -> None:
        pass

    queues = PersonQueues(handler, on_error)
    queues.submit(_msg("a", "1"))
    queues.submit(_msg("a", "2"))
    queues.submit(_msg("b", "stuck"))
    queues.submit(_msg("b", "after"))
    left = await queues.drain(timeout=0.5)
    assert done == ["1", "2"]
    assert [m.text for m in left] == ["after"]
    assert not queues.submit(_msg("a", "late"))  # closed
