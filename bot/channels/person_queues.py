"""Per-person ordered processing: the webhook returns at once, one worker per person.

Messages of one person are handled one after the other, lowest sequence number first
(``IncomingMessage.seq``: the order they reached the service; arrival order without one);
different people are handled concurrently. With a :class:`~bot.channels.order.TurnOrder`,
a message also waits until the person's earlier messages are answered on *any* replica
(bounded by ``order_wait``). Bounded: a person cannot queue more than ``max_per_person``
messages, nor can more than ``max_people`` people wait at once. No Rasa import.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.channels.base import IncomingMessage
from bot.channels.order import TurnOrder

log = logging.getLogger(__name__)

Handler = Callable[[IncomingMessage], Awaitable[None]]
ErrorHandler = Callable[[IncomingMessage, BaseException], Awaitable[None]]

# A message waits at most this long for the person's earlier messages on other replicas.
ORDER_WAIT_S = 15.0
# How often a waiting message looks again (the earlier one may be on another replica).
ORDER_POLL_S = 0.02

_arrivals = itertools.count()


def _key(message: IncomingMessage) -> str:
    return message.order_key or message.sender


@dataclass
class _Lane:
    heap: list[tuple[int, int, IncomingMessage]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    busy: bool = False
    worker: asyncio.Task | None = None

    def push(self, message: IncomingMessage) -> None:
        heapq.heappush(self.heap, (message.seq or 0, next(_arrivals), message))
        self.idle.clear()
        self.arrived.set()

    def pop(self) -> IncomingMessage:
        return heapq.heappop(self.heap)[2]

    def settle(self) -> None:
        if not self.heap and not self.busy:
            self.idle.set()


@dataclass
class PersonQueues:
    """One ordered lane and worker per sender; a failing message gets ``on_error``."""

    handler: Handler
    on_error: ErrorHandler
    max_per_person: int = 20
    max_people: int = 2000
    # A worker with nothing to do for this long stops (a new message starts a new one).
    idle_seconds: float = 30.0
    order: TurnOrder | None = None
    order_wait: float = ORDER_WAIT_S
    order_poll: float = ORDER_POLL_S
    _lanes: dict[str, _Lane] = field(default_factory=dict)
    _closing: bool = False

    @property
    def pending(self) -> int:
        """Messages accepted but not yet taken by their worker."""
        return sum(len(lane.heap) for lane in self._lanes.values())

    def submit(self, message: IncomingMessage) -> bool:
        """Queue ``message`` with the sender's other ones; False when full or closing."""
        if self._closing:
            return False
        lane = self._lanes.get(message.sender)
        if lane is None:
            if len(self._lanes) >= self.max_people:
                log.warning(
                    "queue full (%d people waiting); refusing %s", len(self._lanes), message.sender
                )
                return False
            lane = self._lanes[message.sender] = _Lane()
        if len(lane.heap) >= self.max_per_person:
            log.warning(
                "%s has %d messages waiting; refusing one more", message.sender, self.max_per_person
            )
            return False
        lane.push(message)
        if lane.worker is None or lane.worker.done():
            lane.worker = asyncio.get_running_loop().create_task(
                self._work(message.sender, lane), name=f"channel-worker-{message.sender}"
            )
        return True

    async def _work(self, sender: str, lane: _Lane) -> None:
        while True:
            if not lane.heap:
                lane.arrived.clear()
                try:
                    await asyncio.wait_for(lane.arrived.wait(), timeout=self.idle_seconds)
                except asyncio.TimeoutError:
                    # Remove the lane only if nothing arrived meanwhile (same loop: no race).
                    if not lane.heap and self._lanes.get(sender) is lane:
                        del self._lanes[sender]
                        return
                continue
            lane.busy = True
            message = lane.pop()
            try:
                message = await self._wait_turn(lane, message)
                await self.handler(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (one bad message must not stop the lane)
                log.exception("processing a %s message of %s failed", message.kind, sender)
                try:
                    await self.on_error(message, exc)
                except Exception:  # noqa: BLE001
                    log.exception("could not tell %s about the failure", sender)
            finally:
                await self.finished(message)
                lane.busy = False
                lane.settle()

    async def _wait_turn(self, lane: _Lane, message: IncomingMessage) -> IncomingMessage:
        """``message``, or a lower-numbered one that arrived meanwhile, once it may go."""
        if self.order is None or message.seq is None:
            return message
        started = time.monotonic()
        while True:
            waited = time.monotonic() - started
            try:
                if await self.order.is_turn(_key(message), message.seq, message.fresh):
                    return message
            except Exception:  # noqa: BLE001 (order is best effort: never lose the message)
                log.exception("turn order unavailable; %s goes without waiting", message.sender)
                return message
            if lane.heap and (lane.heap[0][2].seq or 0) < message.seq:
                lane.push(message)  # an earlier message reached this replica: it goes first
                message = lane.pop()
                started = time.monotonic()
                continue
            if waited >= self.order_wait:
                log.warning(
                    "%s: message %d waited %.0f s for earlier ones; going on",
                    message.sender,
                    message.seq,
                    waited,
                )
                with contextlib.suppress(Exception):
                    await self.order.skip_to(_key(message), message.seq)
                return message
            lane.arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lane.arrived.wait(), timeout=self.order_poll)

    async def finished(self, message: IncomingMessage) -> None:
        """``message`` is answered, failed or refused: the person's next one may go."""
        if self.order is None or message.seq is None:
            return
        try:
            await self.order.done(_key(message), message.seq)
        except Exception:  # noqa: BLE001 (the next one goes after ``order_wait`` anyway)
            log.exception("could not record the turn of %s as done", message.sender)

    async def join(self, timeout: float) -> bool:
        """Wait (bounded) until every queued message is processed; False on timeout."""
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.settle()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(lane.idle.wait() for lane in lanes)), timeout=timeout
            )
        except asyncio.TimeoutError:
            return False
        return True

    async def drain(self, timeout: float = 20.0) -> list[IncomingMessage]:
        """Stop accepting, finish what is queued within ``timeout``, return what was left."""
        self._closing = True
        finished = await self.join(timeout)
        left: list[IncomingMessage] = []
        for sender, lane in list(self._lanes.items()):
            while lane.heap:
                left.append(lane.pop())
            if lane.worker is not None and not lane.worker.done():
                lane.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lane.worker
            del self._lanes[sender]
        for message in left:
            await self.finished(message)
        if not finished or left:
            log.warning(
                "shutdown: %d queued message(s) not processed (%s)",
                len(left),
                ", ".join(sorted({m.sender for m in left})),
            )
        return left
