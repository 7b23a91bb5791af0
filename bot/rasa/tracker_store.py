"""Rasa adapter: the SQL tracker store, made to survive a database blip.

Rasa wraps every tracker store in a ``FailSafeTrackerStore``: when reading a conversation
fails it logs an error and carries on with an **empty** conversation, held in memory. After
a few seconds without PostgreSQL, Rasa's pooled connections are dead, so the first read
after the database is back fails too, and the person who was in the middle of a
conversation (consent given, city known, hand-off requested) is greeted as a stranger. The
fault test ``tests/resilience/test_faults.py`` showed it.

This subclass of Rasa's ``SQLTrackerStore`` (configured in endpoints.prod.yml as
``type: bot.rasa.tracker_store.ResilientSQLTrackerStore``, same keys as ``type: SQL``):

- checks a pooled connection before using it (``pool_pre_ping``), so dead connections are
  replaced instead of failing the request;
- retries a read or a write that fails with a connection error, for ``retry_seconds``
  (default 10 s) with growing pauses, before letting Rasa's fail-safe take over;
- runs the reads and writes in a worker thread. Rasa's methods are ``async`` but their
  bodies are synchronous SQLAlchemy calls, so every database round trip (pre-ping, query,
  count, inserts, commit) blocked the event loop, and with it every other conversation of
  the replica: about a quarter of the loop's time under the load benchmark, measured with
  py-spy (bench/results/load.json). The conversation lock still orders the turns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_RETRY_SECONDS = 10.0
FIRST_PAUSE = 0.2
MAX_PAUSE = 2.0


def _to_completion(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run, in the calling thread, a coroutine whose body never waits (Rasa's SQL tracker
    store: synchronous database code declared ``async``)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("the tracker store waited on the event loop from a worker thread")


def _is_connection_error(exc: BaseException) -> bool:
    """A lost or refused connection (worth retrying), not a bug in a query."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class ResilientSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store with connection checks and bounded retries."""

    def __init__(self, *args: Any, retry_seconds: float = DEFAULT_RETRY_SECONDS, **kwargs: Any):
        """Same arguments as Rasa's SQLTrackerStore, plus ``retry_seconds``."""
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        # hide_parameters: a database error must not log the events (people's messages).
        options = {**create_engine_kwargs(url), "hide_parameters": True}
        self.engine = sa.create_engine(url, pool_pre_ping=True, **options)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.retry_seconds = max(0.0, float(retry_seconds))

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_seconds
        pause = FIRST_PAUSE
        while True:
            try:
                return await call()
            except Exception as exc:
                if not _is_connection_error(exc) or loop.time() + pause > deadline:
                    raise
                log.warning(
                    "tracker store: %s failed (%s); retrying in %.1f s",
                    what,
                    exc.__class__.__name__,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)

    async def _off_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await one of Rasa's SQL methods, its synchronous body in a worker thread."""
        if self.event_broker is not None:
            # Streaming to a broker reads the tracker back on the event loop: Rasa's way.
            return await coroutine
        return await asyncio.to_thread(_to_completion, coroutine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """Read a conversation (its current session), retrying on connection errors."""
        parent = super().retrieve
        return await self._retrying(
            "reading a conversation", lambda: self._off_loop(parent(sender_id))
        )

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Read a whole conversation, retrying on connection errors."""
        parent = super().retrieve_full_tracker
        return await self._retrying(
            "reading a whole conversation", lambda: self._off_loop(parent(conversation_id))
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append a conversation's new events, retrying on connection errors.

        Rasa's save writes the events the database does not have yet, in one transaction,
        so doing it again after a failure neither loses nor duplicates events.
        """
        parent = super().save
        await self._retrying("saving a conversation", lambda: self._off_loop(parent(tracker)))
