"""Turn order per person across replicas: message *n* goes to the dialogue after *n-1*.

The webhook gives every new message a per-person sequence number in the same database
transaction that records it for dedupe (``contacts.inbound_seq``, bot/channels/store.py):
the order in which the messages *reached the service*, whichever replica took them. A
replica may hand message *n* to Rasa only once every earlier message of that person is
answered (or was refused, or waited too long). What is answered is shared here:

- :class:`MemoryTurnOrder`: in the process (one replica, the embedded profile);
- :class:`RedisTurnOrder`: in Redis (several replicas), each step one Lua script, so two
  replicas never see half a change.

Per person the state is: ``served`` (every number up to it is answered), the numbers
answered out of order (``finished``) and the numbers waiting (``pending``). When there is
no state (a person's first message, state expired after ``STATE_TTL_S`` of silence, Redis
restarted), a message that comes *after a pause* (``fresh``: the first ever, or the one
before reached the service long ago, so it is answered) goes at once and starts the
state; otherwise the lowest waiting number goes, once it has waited ``grace`` seconds for
a lower one to show up (its replica may be slow to ask). A number never answered (its
replica died) is skipped after the caller's own timeout (:meth:`skip_to`). No Rasa import.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Order state of a silent person is forgotten after this long (Redis key expiry).
STATE_TTL_S = 7 * 24 * 3600
KEY_PREFIX = "prim:order:"
# Without state, how long a message waits for a lower number to show up. A replica under
# load may take a second or more between recording a message and asking for its turn.
GRACE_S = 2.0
# A message is "fresh" when the one before reached the service this long before it.
PAUSE_S = 60.0


class TurnOrder(Protocol):
    """Shared record of which of a person's messages are answered."""

    async def is_turn(self, sender: str, seq: int, waited: float, fresh: bool = False) -> bool:
        """Whether message ``seq`` may go now (registers it as waiting otherwise);
        ``fresh``: the person's earlier messages are surely answered (see above)."""
        ...

    async def done(self, sender: str, seq: int) -> None:
        """Message ``seq`` is answered (or refused): its successors may go."""
        ...

    async def skip_to(self, sender: str, seq: int) -> None:
        """Give up waiting for the messages before ``seq`` (their replica died or hangs)."""
        ...


# --- one process -------------------------------------------------------------------------
@dataclass
class _State:
    served: int | None = None
    finished: set[int] = field(default_factory=set)
    pending: set[int] = field(default_factory=set)
    touched: float = 0.0


@dataclass
class MemoryTurnOrder:
    """The order state in this process (one replica); forgotten after ``ttl`` of silence."""

    grace: float = GRACE_S
    ttl: float = STATE_TTL_S
    max_people: int = 100_000
    _people: dict[str, _State] = field(default_factory=dict)

    def _state(self, sender: str) -> _State:
        now = time.monotonic()
        state = self._people.get(sender)
        if state is None or now - state.touched > self.ttl:
            if len(self._people) >= self.max_people:
                self._forget_oldest()
            state = self._people[sender] = _State()
        state.touched = now
        return state

    def _forget_oldest(self) -> None:
        oldest = sorted(self._people.items(), key=lambda item: item[1].touched)
        for sender, _state in oldest[: max(1, len(oldest) // 10)]:
            del self._people[sender]

    async def is_turn(self, sender: str, seq: int, waited: float, fresh: bool = False) -> bool:
        state = self._state(sender)
        if state.served is None:
            state.pending.add(seq)
            if not (fresh or seq == 1) and (min(state.pending) != seq or waited < self.grace):
                return False
            state.served = seq - 1
        if state.served >= seq - 1:
            state.pending.discard(seq)
            return True
        state.pending.add(seq)
        return False

    async def done(self, sender: str, seq: int) -> None:
        state = self._state(sender)
        state.pending.discard(seq)
        if state.served is None or seq <= state.served:
            if state.served is None and seq == 1:
                state.served = 1
            return
        state.finished.add(seq)
        _advance(state)

    async def skip_to(self, sender: str, seq: int) -> None:
        state = self._state(sender)
        if state.served is None or state.served < seq - 1:
            state.served = seq - 1
        _advance(state)


def _advance(state: _State) -> None:
    assert state.served is not None
    while state.served + 1 in state.finished:
        state.served += 1
        state.finished.discard(state.served)
    state.finished = {n for n in state.finished if n > state.served}
    state.pending = {n for n in state.pending if n > state.served}


# --- several replicas ------------------------------------------------------------------------
# KEYS: served (string), finished (zset), pending (zset).
# ARGV: seq, ttl ms, "fresh" / "ready" (waited the grace) / "wait".
_IS_TURN = """
local seq = tonumber(ARGV[1])
local served = redis.call('GET', KEYS[1])
if not served then
  redis.call('ZADD', KEYS[3], seq, seq)
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  if seq > 1 and ARGV[3] ~= 'fresh' then
    local lowest = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
    if tonumber(lowest) ~= seq or ARGV[3] ~= 'ready' then return 0 end
  end
  served = seq - 1
  redis.call('SET', KEYS[1], served, 'PX', ARGV[2])
end
if tonumber(served) >= seq - 1 then
  redis.call('ZREM', KEYS[3], seq)
  return 1
end
redis.call('ZADD', KEYS[3], seq, seq)
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 0
"""

# Shared by done and skip_to: move `served` over the answered numbers that follow it.
_ADVANCE = """
local function advance(served)
  while redis.call('ZSCORE', KEYS[2], served + 1) do
    served = served + 1
  end
  redis.call('SET', KEYS[1], served, 'PX', ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', served)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', served)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return served
end
"""

_DONE = (
    _ADVANCE
    + """
local seq = tonumber(ARGV[1])
redis.call('ZREM', KEYS[3], seq)
local served = redis.call('GET', KEYS[1])
if not served then
  if seq == 1 then advance(1) end
  return 0
end
served = tonumber(served)
if seq <= served then return served end
redis.call('ZADD', KEYS[2], seq, seq)
return advance(served)
"""
)

_SKIP_TO = (
    _ADVANCE
    + """
local seq = tonumber(ARGV[1])
local served = tonumber(redis.call('GET', KEYS[1]) or '-1')
if served < seq - 1 then served = seq - 1 end
return advance(served)
"""
)


class RedisTurnOrder:
    """The order state in Redis, shared by every replica (keys ``prim:order:<pseudonym>*``)."""

    def __init__(
        self,
        redis_url: str,
        grace: float = GRACE_S,
        ttl: float = STATE_TTL_S,
        timeout: float = 2.0,
        client: Any | None = None,
    ) -> None:
        """A client from ``redis_url`` (short socket timeouts: Redis down must not hang)."""
        if client is None:
            from redis import asyncio as aioredis

            client = aioredis.Redis.from_url(
                redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self.red = client
        self.grace = grace
        self.ttl_ms = int(ttl * 1000)
        self._is_turn = self.red.register_script(_IS_TURN)
        self._done = self.red.register_script(_DONE)
        self._skip_to = self.red.register_script(_SKIP_TO)

    @staticmethod
    def keys(sender: str) -> list[str]:
        """The three keys of a person's order state."""
        base = KEY_PREFIX + sender
        return [base, base + ":finished", base + ":pending"]

    async def is_turn(self, sender: str, seq: int, waited: float, fresh: bool = False) -> bool:
        how = "fresh" if fresh else "ready" if waited >= self.grace else "wait"
        return bool(await self._is_turn(keys=self.keys(sender), args=[seq, self.ttl_ms, how]))

    async def done(self, sender: str, seq: int) -> None:
        await self._done(keys=self.keys(sender), args=[seq, self.ttl_ms])

    async def skip_to(self, sender: str, seq: int) -> None:
        await self._skip_to(keys=self.keys(sender), args=[seq, self.ttl_ms])

    async def close(self) -> None:
        """Close the connection pool."""
        await self.red.close()


_shared: dict[str, TurnOrder] = {}


def turn_order_for(profile: str, redis_url: str) -> TurnOrder:
    """The process's turn order: in Redis in the production profile (several replicas
    share it, like Rasa's lock store), else in the process."""
    key = redis_url if profile == "prod" and redis_url else "memory"
    order = _shared.get(key)
    if order is None:
        order = _shared[key] = MemoryTurnOrder() if key == "memory" else RedisTurnOrder(key)
    return order
