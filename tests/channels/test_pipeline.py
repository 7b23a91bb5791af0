"""The pipeline between an authenticated webhook and Rasa (Rasa replaced by a recorder)."""

from __future__ import annotations

import asyncio

from bot.channels.base import IncomingMessage, OutgoingMessage
from bot.channels.pipeline import BUSY, DUPLICATE, QUEUED, Pipeline
from bot.channels.store import ChannelStore


class Recorder:
    """Stands for a platform: records what would be delivered."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def deliver(self, message: OutgoingMessage) -> bool:
        self.sent.append(message)
        return True


class TakeAll:
    """An interceptor that consumes every message (like a live mediator chat)."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    async def intercept(self, message: IncomingMessage) -> bool:
        self.taken.append(message.text)
        return True


def _msg(text: str, sid: str, **fields: object) -> IncomingMessage:
    return IncomingMessage(
        "whatsapp", "+212600000000", "wa-p", text=text, external_id=sid, **fields
    )  # type: ignore[arg-type]


async def _settle(pipeline: Pipeline) -> None:
    assert await pipeline.queues.join(timeout=5)


async def test_duplicates_numbers_and_rasa_order(store: ChannelStore) -> None:
    seen: list[str] = []

    async def dispatch(message: IncomingMessage) -> None:
        seen.append(message.rasa_text())

    pipeline = Pipeline("whatsapp", store, Recorder(), dispatch)
    assert await pipeline.accept(_msg("bonjour", "SM1")) == QUEUED
    assert await pipeline.accept(_msg("bonjour", "SM1")) == DUPLICATE
    store.set_last_buttons("wa-p", ["/affirm", "/deny"])
    assert await pipeline.accept(_msg("2", "SM2")) == QUEUED
    assert await pipeline.accept(_msg("", "SM3", kind="voice")) == QUEUED
    await _settle(pipeline)
    assert seen == ["bonjour", "/deny", '/share_media{"media_type": "voice"}']
    contact = store.contact("wa-p")
    assert contact is not None and contact.address == "+212600000000"


async def test_rasa_failure_gets_an_apology_in_the_person_language(store: ChannelStore) -> None:
    async def dispatch(message: IncomingMessage) -> None:
        raise ConnectionError("rasa down")

    recorder = Recorder()
    pipeline = Pipeline("whatsapp", store, recorder, dispatch)
    await pipeline.accept(_msg("hello, I am looking for a doctor in Agadir", "SM9"))
    await _settle(pipeline)
    assert [m.text for m in recorder.sent] == [
        "Sorry, a technical problem stops me from answering right now. "
        'Please try again in a few minutes, or write "mediator".'
    ]


async def test_truncated_input_is_announced_before_the_answer(store: ChannelStore) -> None:
    order: list[str] = []
    recorder = Recorder()

    async def dispatch(message: IncomingMessage) -> None:
        order.append(f"rasa:{len(message.text)}")

    pipeline = Pipeline("whatsapp", store, recorder, dispatch)
    await pipeline.accept(_msg("Bonjour, je cherche un médecin. " * 10, "SM5", truncated=True))
    await _settle(pipeline)
    assert "très long" in recorder.sent[0].text
    assert order == ["rasa:320"]


async def test_interceptors_run_before_rasa(store: ChannelStore) -> None:
    seen: list[str] = []

    async def dispatch(message: IncomingMessage) -> None:
        seen.append(message.text)

    take = TakeAll()
    pipeline = Pipeline("whatsapp", store, Recorder(), dispatch, [take])
    await pipeline.accept(_msg("pour le médiateur", "SM6"))
    await _settle(pipeline)
    assert (take.taken, seen) == (["pour le médiateur"], [])


async def test_a_full_queue_refuses_and_forgets_so_the_retry_is_accepted(
    store: ChannelStore,
) -> None:
    gate = asyncio.Event()
    seen: list[str] = []

    async def dispatch(message: IncomingMessage) -> None:
        await gate.wait()
        seen.append(message.text)

    recorder = Recorder()
    pipeline = Pipeline("whatsapp", store, recorder, dispatch, max_per_person=1)
    assert await pipeline.accept(_msg("a", "SMa")) == QUEUED
    await asyncio.sleep(0.05)
    assert await pipeline.accept(_msg("b", "SMb")) == QUEUED
    assert await pipeline.accept(_msg("c", "SMc")) == BUSY
    assert not store.is_processed("whatsapp", "SMc")
    gate.set()
    await _settle(pipeline)
    await asyncio.sleep(0.05)
    assert any("beaucoup de messages" in m.text for m in recorder.sent)
    assert await pipeline.accept(_msg("c", "SMc")) == QUEUED
    # The refused message (number 3) counts as done: the retry (number 4) does not wait.
    await _settle(pipeline)
    assert seen == ["a", "b", "c"]
    assert await pipeline.drain(1) == 0


async def test_messages_are_numbered_and_answered_in_that_order(store: ChannelStore) -> None:
    seen: list[tuple[str, int | None, bool]] = []

    async def dispatch(message: IncomingMessage) -> None:
        seen.append((message.text, message.seq, message.fresh))

    pipeline = Pipeline("whatsapp", store, Recorder(), dispatch)
    for number, text in enumerate(("un", "deux", "trois"), start=1):
        assert await pipeline.accept(_msg(text, f"SMn{number}")) == QUEUED
    await pipeline.accept(_msg("un", "SMn1"))  # a retry: not numbered
    await _settle(pipeline)
    # Only the first is "fresh" (no message before it): the others follow it closely.
    assert seen == [("un", 1, True), ("deux", 2, False), ("trois", 3, False)]


async def test_old_webhook_ids_are_pruned_now_and_then(store: ChannelStore, monkeypatch) -> None:  # noqa: ANN001
    from datetime import timedelta

    from bot.channels import pipeline as module
    from bot.channels.base import utcnow

    monkeypatch.setattr(module, "PRUNE_EVERY", 2)
    # Off by default (a replayed MessageSid must stay refused: tests/security); when on:
    monkeypatch.setattr(module, "DEDUPE_KEEP", timedelta(days=7))
    store.mark_processed("whatsapp", "SMold", utcnow() - timedelta(days=30))

    async def dispatch(message: IncomingMessage) -> None:
        pass

    pipeline = Pipeline("whatsapp", store, Recorder(), dispatch)
    await pipeline.accept(_msg("a", "SMn1"))
    assert store.is_processed("whatsapp", "SMold")
    await pipeline.accept(_msg("b", "SMn2"))
    assert not store.is_processed("whatsapp", "SMold")
    assert store.is_processed("whatsapp", "SMn1")
    await _settle(pipeline)


async def test_one_persons_webhooks_are_numbered_in_the_order_they_reached_the_handler(
    store: ChannelStore,
) -> None:
    import time

    class SlowFirst(ChannelStore):
        """The database takes longer for the first message (a worker thread was late)."""

        def accept_inbound(self, channel, external_id, *args):  # type: ignore[no-untyped-def]
            if external_id == "SMslow":
                time.sleep(0.2)
            return super().accept_inbound(channel, external_id, *args)

    seen: list[tuple[str, int | None]] = []

    async def dispatch(message: IncomingMessage) -> None:
        seen.append((message.text, message.seq))

    pipeline = Pipeline("whatsapp", SlowFirst(store.engine), Recorder(), dispatch)
    first = asyncio.create_task(pipeline.accept(_msg("un", "SMslow")))
    await asyncio.sleep(0.01)  # the second webhook comes 10 ms later
    assert await asyncio.gather(first, pipeline.accept(_msg("deux", "SMfast"))) == [
        QUEUED,
        QUEUED,
    ]
    await _settle(pipeline)
    assert seen == [("un", 1), ("deux", 2)]
    assert pipeline._accepting == {}  # nothing kept per person once recorded
