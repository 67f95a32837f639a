"""Pacing calls to a channel: a token bucket per (account, operation group), and backoff.

    orders = TokenBucket(rate=0.0056, burst=20)   # Amazon searchOrders, from the usage plan
    orders.take()                                 # waits until a token is there
    orders.correct(rate=0.0167)                   # the x-amzn-RateLimit-Limit header said so
    orders.hold(2.0)                              # Retry-After: nobody calls for 2 s

Buckets are seeded from each API's documented limits and corrected from what its responses
say (Shopify's throttleStatus, Amazon's rate header). They are shared by every thread that
calls the same account, so the poller and the dispatcher never add up past the limit.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping

__all__ = ["TokenBucket", "backoff", "seeded"]


class TokenBucket:
    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("a token bucket needs a positive rate and burst")
        self.rate, self.burst = float(rate), float(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._at = clock()
        self._hold_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for benchmarks and heartbeats

    def _fill(self, now: float) -> None:
        if now <= self._at:  # still inside a hold
            return
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def delay(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens would be there (0 when they are)."""
        with self._lock:
            now = self._clock()
            self._fill(now)
            return self._delay(now, min(cost, self.burst))

    def _delay(self, now: float, cost: float) -> float:
        wait = max(0.0, self._hold_until - now)
        short = cost - self._tokens
        if short > 0:
            wait = max(wait, short / self.rate)
        return wait

    def take(self, cost: float = 1.0) -> float:
        """Wait until `cost` tokens are there and take them; returns the seconds waited. A cost
        above the burst waits for a full bucket (Shopify refunds the difference afterwards)."""
        cost = min(cost, self.burst)
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._fill(now)
                wait = self._delay(now, cost)
                if wait <= 0:
                    self._tokens -= cost
                    self.waited += waited
                    return waited
            self._sleep(wait)
            waited += wait

    def refund(self, tokens: float) -> None:
        with self._lock:
            self._fill(self._clock())
            self._tokens = min(self.burst, self._tokens + tokens)

    def correct(self, *, available: float | None = None, rate: float | None = None, burst: float | None = None) -> None:
        """What the server says wins over what we counted."""
        with self._lock:
            self._fill(self._clock())
            if burst is not None and burst > 0:
                self.burst = float(burst)
            if rate is not None and rate > 0:
                self.rate = float(rate)
            if available is not None:
                self._tokens = max(0.0, min(self.burst, float(available)))

    def hold(self, seconds: float) -> None:
        """Nobody takes a token for `seconds` (a Retry-After), and the bucket starts empty after."""
        with self._lock:
            now = self._clock()
            self._fill(now)
            self._tokens = 0.0
            self._hold_until = max(self._hold_until, now + max(0.0, seconds))
            self._at = max(self._at, self._hold_until)


def seeded(
    limits: Mapping[str, Mapping[str, float]] | None, seeds: Mapping[str, tuple[float, float]], *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, TokenBucket]:
    """A bucket per operation group: the documented (rate, burst) in `seeds`, unless the channel's
    `limits` setting ({group: {"rate": r, "burst": b}}) says otherwise."""
    given = limits or {}
    return {group: TokenBucket(float((given.get(group) or {}).get("rate", rate)),
                               float((given.get(group) or {}).get("burst", burst)), sleep=sleep)
            for group, (rate, burst) in seeds.items()}


def backoff(attempt: int, *, base: float = 1.0, cap: float = 60.0, rand: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff: a random wait in [0, min(cap, base * 2**attempt))."""
    return rand() * min(cap, base * 2 ** max(0, attempt))
