"""Turn order per person across replicas: message *n* goes to the dialogue after *n-1*.

The webhook gives every new message a per-person sequence number in the same database
transaction that records it for dedupe (``contacts.inbound_seq``, bot/channels/store.py):
the order in which the messages *reached the service*, whichever replica took them. A
replica may hand message *n* to Rasa only once every earlier message of that person is
answered (or was refused, or waited too long). What is answered is shared here:

- :class:`MemoryTurnOrder`: in the process (one replica, the embedded profile);
- :class:`RedisTurnOrder`: in Redis (several replicas), each step one Lua script, so two
  replicas never see half a change.

Per person the state is ``served`` (every number up to it is answered) and the numbers
answered out of order (``finished``). When there is no state yet (a person's first
message, state expired after ``STATE_TTL_S`` of silence, Redis restarted), a message goes
at once and starts the state if it comes *after a pause* (``fresh``: the first ever, or
the one before reached the service more than ``PAUSE_S`` earlier, so it is answered) or
if its predecessor is recorded as answered; otherwise it waits for its predecessor, which
reached the service moments before and will ask for its turn (however late its busy
replica gets to it). A number never answered (its replica died, or the state was lost
with Redis) is skipped after the caller's own timeout (:meth:`skip_to`). No Rasa import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

# Order state of a silent person is forgotten after this long (Redis key expiry).
STATE_TTL_S = 7 * 24 * 3600
KEY_PREFIX = "prim:order:"
# A message is "fresh" when the one before reached the service this long before it.
PAUSE_S = 60.0


class TurnOrder(Protocol):
    """Shared record of which of a person's messages are answered."""

    async def is_turn(self, sender: str, seq: int, fresh: bool = False) -> bool:
        """Whether message ``seq`` may go now; ``fresh``: the person's earlier messages
        are surely answered (see above)."""
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
    touched: float = 0.0


@dataclass
class MemoryTurnOrder:
    """The order state in this process (one replica); forgotten after ``ttl`` of silence."""

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

    async def is_turn(self, sender: str, seq: int, fresh: bool = False) -> bool:
        state = self._state(sender)
        if state.served is None:
            if not (fresh or seq == 1 or seq - 1 in state.finished):
                return False
            state.served = seq - 1
            _advance(state)
        return state.served >= seq - 1

    async def done(self, sender: str, seq: int) -> None:
        state = self._state(sender)
        if state.served is not None and seq <= state.served:
            return
        state.finished.add(seq)
        if state.served is None and seq == 1:
            state.served = 0
        if state.served is not None:
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
    state.finished = {n for n in state.finished if n > state.served}


# --- several replicas ------------------------------------------------------------------------
# KEYS: served (string), finished (zset). ARGV: seq, ttl ms, and for is_turn "fresh" or "".
# Shared by the three scripts: move `served` over the answered numbers that follow it.
_ADVANCE = """
local function advance(served)
  while redis.call('ZSCORE', KEYS[2], served + 1) do
    served = served + 1
  end
  redis.call('SET', KEYS[1], served, 'PX', ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', served)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return served
end
"""

_IS_TURN = (
    _ADVANCE
    + """
local seq = tonumber(ARGV[1])
local served = redis.call('GET', KEYS[1])
if not served then
  if ARGV[3] ~= 'fresh' and seq > 1 and not redis.call('ZSCORE', KEYS[2], seq - 1) then
    return 0
  end
  served = advance(seq - 1)
end
if tonumber(served) >= seq - 1 then return 1 end
return 0
"""
)

_DONE = (
    _ADVANCE
    + """
local seq = tonumber(ARGV[1])
local served = redis.call('GET', KEYS[1])
if served and seq <= tonumber(served) then return served end
redis.call('ZADD', KEYS[2], seq, seq)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
if not served then
  if seq ~= 1 then return -1 end
  served = 0
end
return advance(tonumber(served))
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
        ttl: float = STATE_TTL_S,
        timeout: float = 2.0,
    ) -> None:
        """A client from ``redis_url`` (short socket timeouts: Redis down must not hang)."""
        from redis import asyncio as aioredis

        self.red = aioredis.Redis.from_url(
            redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.ttl_ms = int(ttl * 1000)
        self._is_turn = self.red.register_script(_IS_TURN)
        self._done = self.red.register_script(_DONE)
        self._skip_to = self.red.register_script(_SKIP_TO)

    @staticmethod
    def keys(sender: str) -> list[str]:
        """The two keys of a person's order state."""
        base = KEY_PREFIX + sender
        return [base, base + ":finished"]

    async def is_turn(self, sender: str, seq: int, fresh: bool = False) -> bool:
        how = "fresh" if fresh else ""
        return bool(await self._is_turn(keys=self.keys(sender), args=[seq, self.ttl_ms, how]))

    async def done(self, sender: str, seq: int) -> None:
        await self._done(keys=self.keys(sender), args=[seq, self.ttl_ms])

    async def skip_to(self, sender: str, seq: int) -> None:
        await self._skip_to(keys=self.keys(sender), args=[seq, self.ttl_ms])

    async def close(self) -> None:
        """Close the connection pool."""
        await self.red.close()


def turn_order(profile: str, redis_url: str) -> TurnOrder:
    """A turn order: in Redis in the production profile (several replicas share it, like
    Rasa's lock store), else in the process. ``bot.app.Services`` holds the process's."""
    return RedisTurnOrder(redis_url) if profile == "prod" and redis_url else MemoryTurnOrder()
