"""The mock's clock: real time plus an offset that tests move, kept in the state store.

Rate-limit windows, `X-RateLimit-Reset` and `Retry-After` read this clock, so a test of a client's
wait-and-retry advances it instead of sleeping: `POST /__harness/clock {"advance": 3600}`, or
`harness_mock.clock.sleep` injected as the client's sleep function.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.state import StateStore

_OFFSET = "clock:offset"


class Clock:
    """Epoch seconds as the mock sees them; every process sharing the store shares the offset."""

    def __init__(self, store: StateStore, source: Callable[[], float] = time.time):
        self._store = store
        self._source = source

    @property
    def offset(self) -> float:
        return float(self._store.get(_OFFSET) or 0.0)

    def now(self) -> float:
        return self._source() + self.offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative number); returns the new time."""
        return self._source() + self._store.incr_float(_OFFSET, float(seconds))

    def set(self, epoch: float) -> float:
        """Jump to `epoch` seconds; returns it."""
        self._store.set(_OFFSET, repr(float(epoch) - self._source()))
        return self.now()

    def sleep(self, seconds: float) -> None:
        """A stand-in for `time.sleep` to inject into clients: it advances the clock instead of waiting."""
        if seconds > 0:
            self.advance(seconds)
