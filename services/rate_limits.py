"""Rate limits by query cost (a token bucket per client, like Shopify's): each request takes
its calculated cost from the client's bucket, which refills at a steady rate. In Redis when
REDIS_URL is set — one bucket shared by every API process, updated atomically by a Lua script
on Redis's own clock — otherwise in process memory (one bucket per process). Redis is never
required: while it is down each process falls back to its own buckets (FallbackBuckets)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from typing import Protocol

from core.faults import Degradation


@dataclass(frozen=True)
class Decision:
    allowed: bool
    available: float  # points left after this request (or before it, when refused)
    retry_after: float  # seconds until the request would fit (0 when allowed)


class Limiter(Protocol):
    capacity: int
    rate: float

    async def take(self, client: str, cost: int) -> Decision: ...


def _decide(tokens: float, cost: int, rate: float) -> tuple[bool, float, float]:
    if tokens >= cost:
        return True, tokens - cost, 0.0
    return False, tokens, (cost - tokens) / rate


class LocalBuckets:
    def __init__(self, capacity: int, rate: float, clock: Any = time.monotonic) -> None:
        self.capacity, self.rate, self.clock = capacity, rate, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, at)

    async def take(self, client: str, cost: int) -> Decision:
        now = self.clock()
        tokens, at = self.buckets.get(client, (float(self.capacity), now))
        tokens = min(float(self.capacity), tokens + (now - at) * self.rate)
        allowed, left, wait = _decide(tokens, cost, self.rate)
        self.buckets[client] = (left, now)
        if len(self.buckets) > 100_000:  # forget the idlest half rather than grow forever
            for key in sorted(self.buckets, key=lambda k: self.buckets[k][1])[:50_000]:
                del self.buckets[key]
        return Decision(allowed, left, wait)


# KEYS[1] = bucket; ARGV = capacity, refill per second, cost. Returns {allowed, left, wait}.
TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(tokens), tostring(wait)}
"""


class RedisBuckets:
    def __init__(self, client: Any, capacity: int, rate: float, prefix: str = "zt:") -> None:
        self.capacity, self.rate = capacity, rate
        self.script = client.register_script(TAKE)
        self.prefix = f"{prefix}rl:"

    async def take(self, client: str, cost: int) -> Decision:
        allowed, left, wait = await self.script(
            keys=[self.prefix + client], args=[self.capacity, self.rate, cost]
        )
        return Decision(bool(int(allowed)), float(left), float(wait))


class FallbackBuckets:
    """The shared buckets, or this process's own while Redis is down: a limit that is
    per-process for a while beats refusing or letting through everyone."""

    USE = "rate_limit"

    def __init__(self, shared: Limiter, local: LocalBuckets, health: Degradation) -> None:
        self.shared, self.local, self.health = shared, local, health
        self.capacity, self.rate = shared.capacity, shared.rate

    async def take(self, client: str, cost: int) -> Decision:
        if self.health.usable:
            try:
                decision = await self.shared.take(client, cost)
            except Exception as exc:  # Redis down: one log line, a metric, local buckets
                self.health.failed(self.USE, exc)
            else:
                self.health.succeeded()
                return decision
        return await self.local.take(client, cost)
