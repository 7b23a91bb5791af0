"""Per-person ordered processing: the webhook returns at once, one worker per person.

Messages of one person are handled one after the other, in arrival order; different people
are handled concurrently. Bounded: a person cannot queue more than ``max_per_person``
messages, nor can more than ``max_people`` people wait at once. No Rasa import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.channels.base import IncomingMessage

log = logging.getLogger(__name__)

Handler = Callable[[IncomingMessage], Awaitable[None]]
ErrorHandler = Callable[[IncomingMessage, BaseException], Awaitable[None]]


@dataclass
class _Lane:
    queue: asyncio.Queue
    worker: asyncio.Task | None = None


@dataclass
class PersonQueues:
    """One asyncio queue and worker per sender; a failing message gets ``on_error``."""

    handler: Handler
    on_error: ErrorHandler
    max_per_person: int = 20
    max_people: int = 2000
    # A worker with nothing to do for this long stops (a new message starts a new one).
    idle_seconds: float = 30.0
    _lanes: dict[str, _Lane] = field(default_factory=dict)
    _closing: bool = False

    @property
    def pending(self) -> int:
        """Messages accepted but not yet fully processed."""
        return sum(lane.queue.qsize() for lane in self._lanes.values())

    def submit(self, message: IncomingMessage) -> bool:
        """Queue ``message`` behind the sender's earlier ones; False when full or closing."""
        if self._closing:
            return False
        lane = self._lanes.get(message.sender)
        if lane is None:
            if len(self._lanes) >= self.max_people:
                log.warning(
                    "queue full (%d people waiting); refusing %s", len(self._lanes), message.sender
                )
                return False
            lane = self._lanes[message.sender] = _Lane(asyncio.Queue(self.max_per_person))
        try:
            lane.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning(
                "%s has %d messages waiting; refusing one more", message.sender, self.max_per_person
            )
            return False
        if lane.worker is None or lane.worker.done():
            lane.worker = asyncio.get_running_loop().create_task(
                self._work(message.sender, lane), name=f"channel-worker-{message.sender}"
            )
        return True

    async def _work(self, sender: str, lane: _Lane) -> None:
        while True:
            try:
                message = await asyncio.wait_for(lane.queue.get(), timeout=self.idle_seconds)
            except asyncio.TimeoutError:
                # Remove the lane only if nothing arrived meanwhile (same loop: no race).
                if lane.queue.empty() and self._lanes.get(sender) is lane:
                    del self._lanes[sender]
                    return
                continue
            try:
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
                lane.queue.task_done()

    async def join(self, timeout: float) -> bool:
        """Wait (bounded) until every queued message is processed; False on timeout."""
        lanes = list(self._lanes.values())
        try:
            await asyncio.wait_for(
                asyncio.gather(*(lane.queue.join() for lane in lanes)), timeout=timeout
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
            while not lane.queue.empty():
                left.append(lane.queue.get_nowait())
                lane.queue.task_done()
            if lane.worker is not None and not lane.worker.done():
                lane.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lane.worker
            del self._lanes[sender]
        if not finished or left:
            log.warning(
                "shutdown: %d queued message(s) not processed (%s)",
                len(left),
                ", ".join(sorted({m.sender for m in left})),
            )
        return left
