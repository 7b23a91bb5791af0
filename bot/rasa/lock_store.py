"""Rasa adapter: Rasa's Redis lock store with atomic tickets, off the event loop.

Rasa serialises the turns of one conversation with a *ticket lock* kept in Redis
(``rasa/core/lock_store.py``, Rasa 3.6): a turn takes the next ticket, waits until it is
served, and removes its ticket when it ends. Rasa's ``RedisLockStore`` does each of those
steps as separate ``GET`` and ``SET``/``DEL`` calls, so with several replicas:

- two replicas changing the same lock at once lose one update. Seen in the load benchmark
  with two replicas: a person's next message reaches the other replica while the first
  is ending the previous turn (on WhatsApp the replies leave *before* the turn ends); the
  ending turn wrote back or deleted the lock without the new ticket, and the new turn
  failed with ``LockError: Could not acquire lock`` (the person got an apology instead of
  the answer);
- a turn waiting for another replica polls once a second;
- every call blocks the event loop, and all the replica's conversations with it.

This subclass (configured in endpoints.prod.yml as ``type: bot.rasa.lock_store.
AtomicRedisLockStore``, same keys as ``type: redis``) keeps Rasa's tickets and data format
but makes each read-modify-write a Redis transaction (``WATCH``/``MULTI``/``EXEC``,
retried on conflict), runs the Redis calls in a worker thread, and polls every
``poll_seconds`` (0.1 s). It does not change which turn goes first: tickets are still
issued in the order the replicas reach Redis (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 0.1


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis ticket lock, each change of a lock one Redis transaction."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        **kwargs: Any,
    ) -> None:
        """From endpoints.yml (``endpoint_config``) or from RedisLockStore's arguments."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
            poll_seconds = float(kwargs.pop("poll_seconds", poll_seconds))
        super().__init__(**kwargs)
        self.poll_seconds = max(0.01, float(poll_seconds))

    # --- atomic read-modify-write -----------------------------------------------------------
    def _change(
        self, conversation_id: str, change: Callable[[TicketLock | None], TicketLock | None]
    ) -> None:
        """Apply ``change`` to the stored lock (None: absent / delete it), atomically."""
        key = self.key_prefix + conversation_id

        def transaction(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            changed = change(lock)
            pipe.multi()
            if changed is not None:
                pipe.set(key, changed.dumps())
            elif lock is not None:
                pipe.delete(key)

        self.red.transaction(transaction, key)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket of the conversation's lock (created when absent)."""
        issued: list[int] = []

        def add(lock: TicketLock | None) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        try:
            self._change(conversation_id, add)
        except Exception as exc:  # as Rasa: any failure to take a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return issued[0]

    def update_lock(self, conversation_id: str) -> None:
        """Remove the expired tickets of the lock."""

        def prune(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, prune)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ``ticket_number`` from the lock."""
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ``ticket_number``; delete the lock when no other ticket waits, atomically."""

        def remove(lock: TicketLock | None) -> TicketLock | None:
            if lock is None:
                return None
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change(conversation_id, remove)

    # --- the same ticket lock, its Redis calls in a worker thread -------------------------
    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """As Rasa's ``LockStore.lock``, polling every ``poll_seconds`` by default."""
        wait = self.poll_seconds if wait_time_in_seconds is None else wait_time_in_seconds
        ticket = await asyncio.to_thread(self.issue_ticket, conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait)
        finally:
            await asyncio.to_thread(self.cleanup, conversation_id, ticket)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        while True:
            lock = await asyncio.to_thread(self.get_lock, conversation_id)
            if not lock:
                break  # expired (a turn over the ticket lifetime)
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            await asyncio.to_thread(self.update_lock, conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
