"""Token bucket and daily quota: the two counters API Gateway applies to every request.

Pure logic with the time passed in by the caller, so tests drive it with a fake clock. A bucket holds
at most ``burst`` tokens and refills at ``rate_per_second``; a request takes one token or is refused
with the number of seconds until a token is back (API Gateway's throttling model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.resources import Throttle

# Float clocks: 0.02 s at 50 tokens/s must give a whole token, not 0.9999999999999.
_EPSILON = 1e-9


@dataclass
class TokenBucket:
    rate_per_second: float
    burst: int
    tokens: float
    updated_at: float

    @classmethod
    def full(cls, throttle: Throttle, now: float) -> TokenBucket:
        return cls(
            rate_per_second=throttle.rate_per_second,
            burst=throttle.burst,
            tokens=throttle.burst,
            updated_at=now,
        )

    def _refill(self, now: float) -> None:
        # A clock that goes backwards (monotonic clocks do not, injected ones might) adds nothing.
        elapsed = max(0.0, now - self.updated_at)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate_per_second)
        self.updated_at = max(self.updated_at, now)

    def can_take(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0 - _EPSILON

    def take(self, now: float) -> None:
        """Take one token; callers check ``can_take`` first (several buckets are all-or-nothing)."""
        self._refill(now)
        if self.tokens < 1.0 - _EPSILON:
            raise ValueError("bucket is empty")
        self.tokens = max(0.0, self.tokens - 1.0)

    def seconds_until_token(self, now: float) -> float:
        self._refill(now)
        if self.tokens >= 1.0 - _EPSILON:
            return 0.0
        if self.rate_per_second <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate_per_second


SECONDS_PER_DAY = 86_400


@dataclass
class DailyQuota:
    """Requests allowed per UTC day (API Gateway usage-plan quota, period DAY, offset 0)."""

    limit: int
    used: int = 0
    day: int = -1  # days since the epoch, UTC

    def _roll(self, epoch_seconds: float) -> None:
        today = int(epoch_seconds // SECONDS_PER_DAY)
        if today != self.day:
            self.day = today
            self.used = 0

    def can_take(self, epoch_seconds: float) -> bool:
        self._roll(epoch_seconds)
        return self.used < self.limit

    def take(self, epoch_seconds: float) -> None:
        self._roll(epoch_seconds)
        if self.used >= self.limit:
            raise ValueError("quota is used up")
        self.used += 1

    def remaining(self, epoch_seconds: float) -> int:
        self._roll(epoch_seconds)
        return self.limit - self.used

    def seconds_until_reset(self, epoch_seconds: float) -> float:
        return (int(epoch_seconds // SECONDS_PER_DAY) + 1) * SECONDS_PER_DAY - epoch_seconds
