"""Reconnect pacing (docs/protocol.md, "Reconnecting: guidance for client authors")."""

from __future__ import annotations

import random
from typing import Callable, Optional

from .close_codes import RECONNECT_AFTER_HINT, RECONNECT_NOW


class Backoff:
    """Full-jitter exponential backoff: before attempt n wait U[min, min(max, min * 2^n)] seconds."""

    def __init__(
        self,
        min_delay: float = 0.5,
        max_delay: float = 30.0,
        factor: float = 2.0,
        retry_after_spread: float = 1.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not (min_delay > 0 and max_delay >= min_delay):
            raise ValueError("Backoff: expected 0 < min_delay <= max_delay")
        if factor < 1:
            raise ValueError("Backoff: factor must be >= 1")
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.factor = factor
        self.retry_after_spread = retry_after_spread
        self._rand = rand

    def ceiling(self, attempt: int) -> float:
        # min(max, min * factor^n) without overflowing for large n.
        if attempt >= 64:
            return self.max_delay
        return min(self.max_delay, self.min_delay * (self.factor ** attempt))

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt` (0-based, consecutive failed attempts)."""
        low = self.min_delay
        high = self.ceiling(attempt)
        return low + (high - low) * self._rand()

    def plan(self, attempt: int, action: str, retry_after_ms: Optional[int]) -> float:
        """Seconds before the next attempt after a close whose table action is `action`."""
        if action == RECONNECT_NOW and attempt == 0:
            return 0.0
        if action == RECONNECT_AFTER_HINT and retry_after_ms is not None:
            hint = retry_after_ms / 1000.0
            spread = max(self.min_delay, hint * self.retry_after_spread)
            return hint + spread * self._rand()
        return self.delay(attempt)


class CircuitBreaker:
    """Opens after `threshold` consecutive failed attempts for `cooldown` seconds, then lets one probe through.

    `threshold` 0 disables it.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"

    def __init__(self, threshold: int = 5, cooldown: float = 60.0) -> None:
        if threshold < 0:
            raise ValueError("CircuitBreaker: threshold must be >= 0")
        if cooldown <= 0:
            raise ValueError("CircuitBreaker: cooldown must be > 0")
        self.threshold = threshold
        self.cooldown = cooldown
        self.state = self.CLOSED
        self.failures = 0
        self.opened_at: Optional[float] = None

    def record_failure(self, now: float) -> bool:
        """Counts a failed attempt; returns True when this opened the circuit."""
        self.failures += 1
        if self.threshold == 0:
            return False
        if self.state == self.HALF_OPEN or (self.state == self.CLOSED and self.failures >= self.threshold):
            self.state = self.OPEN
            self.opened_at = now
            return True
        return False

    def record_connected(self) -> None:
        """An attempt got its welcome: a probing breaker closes (the count stays until stable)."""
        if self.state != self.CLOSED:
            self.state = self.CLOSED
            self.opened_at = None

    def reset(self) -> None:
        """A connection stayed up for the minimum uptime: forget past failures."""
        self.failures = 0
        self.state = self.CLOSED
        self.opened_at = None

    def remaining(self, now: float) -> float:
        """Seconds until the probe is allowed (0 when not open)."""
        if self.state != self.OPEN or self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown - now)

    def start_probe(self) -> None:
        if self.state == self.OPEN:
            self.state = self.HALF_OPEN
            self.opened_at = None
