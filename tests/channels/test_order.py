"""Turn order per person across replicas (bot/channels/order.py, bot/channels/person_queues.py).

The same scenarios run against the in-process order and the Redis one (on the local Redis;
skipped with the reason without it). Two ``PersonQueues`` sharing one order stand for two
replicas. No Rasa.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from bot.app import services
from bot.channels.base import IncomingMessage
from bot.channels.order import MemoryTurnOrder, RedisTurnOrder, TurnOrder, turn_order
from bot.channels.person_queues import PersonQueues
from bot.settings import Settings


@pytest.fixture(params=["memory", "redis"])
async def order(request: pytest.FixtureRequest) -> AsyncIterator[TurnOrder]:
    """Each backend."""
    if request.param == "memory":
        yield MemoryTurnOrder()
        return
    url = request.getfixturevalue("redis_url")
    redis_order = RedisTurnOrder(url)
    yield redis_order
    await redis_order.close()


def _who() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


async def test_first_message_goes_at_once_and_the_next_waits_for_it(order: TurnOrder) -> None:
    who = _who()
    assert await order.is_turn(who, 1)
    assert not await order.is_turn(who, 2)
    assert not await order.is_turn(who, 2)  # waiting longer changes nothing
    await order.done(who, 1)
    assert await order.is_turn(who, 2)


async def test_answers_out_of_order_move_the_turn_only_when_the_gap_closes(
    order: TurnOrder,
) -> None:
    who = _who()
    assert await order.is_turn(who, 1)
    await order.done(who, 1)
    await order.done(who, 3)  # refused (queue full): its successors need not wait for it
    assert not await order.is_turn(who, 4)  # 2 is still being answered
    await order.done(who, 2)
    assert await order.is_turn(who, 4)


async def test_without_state_a_message_waits_for_its_predecessor_however_late(
    order: TurnOrder,
) -> None:
    # A new person's 2 asks before 1 does (1's replica is busy): 2 waits, even long.
    who = _who()
    assert not await order.is_turn(who, 2)
    await asyncio.sleep(0.3)
    assert not await order.is_turn(who, 2)
    assert await order.is_turn(who, 1, fresh=True)
    assert not await order.is_turn(who, 2)
    await order.done(who, 1)
    assert await order.is_turn(who, 2)


async def test_without_state_an_answered_predecessor_lets_the_next_go(order: TurnOrder) -> None:
    # 5 was refused (queue full) before anything else was recorded: 6 need not wait.
    who = _who()
    await order.done(who, 5)
    assert await order.is_turn(who, 6)
    assert not await order.is_turn(who, 7)


async def test_state_lost_with_redis_the_wait_ends_with_skip_to(order: TurnOrder) -> None:
    who = _who()
    assert not await order.is_turn(who, 9)  # 8 was answered before the state was lost
    await order.skip_to(who, 9)  # the queue does this after its wait (15 s)
    assert await order.is_turn(who, 9)
    assert not await order.is_turn(who, 10)


async def test_after_a_pause_a_message_goes_at_once_without_state(order: TurnOrder) -> None:
    # A person back after a week (state expired): the message before is long answered.
    who = _who()
    assert await order.is_turn(who, 7, fresh=True)
    assert not await order.is_turn(who, 8)  # sent right after 7: waits for it
    await order.done(who, 7)
    assert await order.is_turn(who, 8)


async def test_skip_to_gives_up_on_a_lost_message(order: TurnOrder) -> None:
    who = _who()
    assert await order.is_turn(who, 1)
    await order.done(who, 1)
    assert not await order.is_turn(who, 3)  # 2's replica died
    await order.skip_to(who, 3)
    assert await order.is_turn(who, 3)
    await order.done(who, 2)  # 2 comes back late: harmless
    assert not await order.is_turn(who, 4)  # 3 is still going
    await order.done(who, 3)
    assert await order.is_turn(who, 4)


async def test_redis_state_expires(redis_url: str) -> None:
    order = RedisTurnOrder(redis_url, ttl=60)
    who = _who()
    try:
        assert await order.is_turn(who, 1)
        await order.done(who, 1)
        await order.done(who, 3)  # answered out of order (refused)
        for key in RedisTurnOrder.keys(who):  # served and finished
            assert 0 < await order.red.pttl(key) <= 60_000
    finally:
        await order.close()


def test_the_production_profile_shares_the_order_in_redis(tmp_path) -> None:  # noqa: ANN001
    assert isinstance(turn_order("dev", "redis://127.0.0.1:6379/0"), MemoryTurnOrder)
    assert isinstance(turn_order("prod", "redis://127.0.0.1:6379/0"), RedisTurnOrder)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'order.db'}")
    assert services(settings).order is services(settings).order  # one per process


# --- the queues ------------------------------------------------------------------------------
def _msg(who: str, seq: int | None, text: str = "") -> IncomingMessage:
    return IncomingMessage(
        "whatsapp", "+2126", who, text=text or str(seq), seq=seq, external_id=f"{who}-{seq}"
    )


class Journal:
    """A handler that records when each message started and ended."""

    def __init__(self, slow: dict[str, float] | None = None) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.slow = slow or {}

    async def handle(self, message: IncomingMessage) -> None:
        self.events.append(("start", message.text, time.monotonic()))
        await asyncio.sleep(self.slow.get(message.text, 0.01))
        self.events.append(("end", message.text, time.monotonic()))

    @staticmethod
    async def on_error(message: IncomingMessage, exc: BaseException) -> None:
        raise AssertionError(exc)

    def order(self) -> list[str]:
        return [text for kind, text, _at in self.events if kind == "start"]

    def overlapping(self) -> bool:
        running = 0
        for kind, _text, _at in self.events:
            running += 1 if kind == "start" else -1
            if running > 1:
                return True
        return False


async def test_a_lower_number_that_reaches_the_replica_later_goes_first(order: TurnOrder) -> None:
    # Message 2's webhook finished its database step before message 1's (same replica).
    who = _who()
    journal = Journal()
    queues = PersonQueues(journal.handle, journal.on_error, order=order, order_poll=0.01)
    assert queues.submit(_msg(who, 2))
    await asyncio.sleep(0.05)  # its worker took 2 and waits for 1
    assert queues.submit(_msg(who, 1))
    assert queues.submit(_msg(who, 3))
    assert await queues.join(timeout=5)
    assert journal.order() == ["1", "2", "3"]


async def test_two_replicas_answer_one_person_in_order(order: TurnOrder) -> None:
    # Replica A gets 2 first; replica B gets 1 later and is slow to answer it: A waits.
    who = _who()
    journal = Journal(slow={"1": 0.3})
    replica_a = PersonQueues(journal.handle, journal.on_error, order=order, order_poll=0.01)
    replica_b = PersonQueues(journal.handle, journal.on_error, order=order, order_poll=0.01)
    assert replica_a.submit(_msg(who, 2))
    await asyncio.sleep(0.1)
    assert replica_b.submit(_msg(who, 1))
    await asyncio.sleep(0.05)
    assert replica_a.submit(_msg(who, 3))
    assert await replica_b.join(timeout=5) and await replica_a.join(timeout=5)
    assert journal.order() == ["1", "2", "3"]
    assert not journal.overlapping()


async def test_a_message_never_answered_holds_the_next_one_only_for_a_while(
    order: TurnOrder,
) -> None:
    who = _who()
    journal = Journal()
    queues = PersonQueues(
        journal.handle, journal.on_error, order=order, order_poll=0.01, order_wait=0.4
    )
    queues.submit(_msg(who, 1))
    assert await queues.join(timeout=5)
    started = time.monotonic()
    queues.submit(_msg(who, 3))  # 2 was taken by a replica that died
    queues.submit(_msg(who, 4))
    assert await queues.join(timeout=5)
    assert journal.order() == ["1", "3", "4"]
    assert 0.35 < time.monotonic() - started < 2  # 3 waited once; 4 did not wait again


async def test_redis_unreachable_the_message_is_still_answered() -> None:
    order = RedisTurnOrder("redis://127.0.0.1:9/0", timeout=0.3)
    journal = Journal()
    queues = PersonQueues(journal.handle, journal.on_error, order=order)
    queues.submit(_msg("p-down", 4))
    queues.submit(_msg("p-down", 5))
    assert await queues.join(timeout=5)
    assert journal.order() == ["4", "5"]
    await order.close()


async def test_messages_left_at_shutdown_do_not_hold_the_other_replica(
    order: TurnOrder,
) -> None:
    who = _who()
    journal = Journal(slow={"1": 60})
    stopping = PersonQueues(journal.handle, journal.on_error, order=order)
    stopping.submit(_msg(who, 1))
    stopping.submit(_msg(who, 2))
    left = await stopping.drain(timeout=0.2)
    assert [m.seq for m in left] == [2]
    # 1 (cancelled) and 2 (left) count as done: the other replica's 3 goes at once.
    assert await order.is_turn(who, 3)


async def test_without_numbers_messages_keep_their_arrival_order() -> None:
    journal = Journal()
    queues = PersonQueues(journal.handle, journal.on_error, order=MemoryTurnOrder())
    for text in ("a", "b", "c"):
        queues.submit(_msg("p-none", None, text))
    assert await queues.join(timeout=5)
    assert journal.order() == ["a", "b", "c"]
