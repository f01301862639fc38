"""The ask gate: so many questions answered at once, a bounded queue for the rest, 503 past it."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

from qa.core.errors import BusyError


class AskGate:
    """At most `running` questions answered at once; up to `waiting` more wait their turn (in the event loop,
    holding no thread) for at most `wait_s` seconds. Any other is refused at once with BusyError (503).

    More questions than CPUs at once only make each slower; a bounded queue turns a flood into quick,
    honest refusals instead of a growing delay for everyone.
    """

    def __init__(self, running: int, waiting: int, wait_s: float) -> None:
        if running < 1 or waiting < 0 or wait_s <= 0:
            raise ValueError("running must be at least 1, waiting at least 0 and wait_s positive")
        self.running = running
        self.waiting = waiting
        self.wait_s = wait_s
        self._free = asyncio.Semaphore(running)
        self._queued = 0

    def _busy(self, why: str) -> BusyError:
        return BusyError(
            f"the service is busy: {why} ({self.running} answered at once, {self.waiting} waiting at most); retry in a moment",
            retry_after=max(1, math.ceil(self.wait_s / 4)),
        )

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the `running` places for the block; BusyError when none comes in time."""
        if self._free.locked():
            if self._queued >= self.waiting:
                raise self._busy("every place in the queue is taken")
            self._queued += 1
            try:
                await asyncio.wait_for(self._free.acquire(), self.wait_s)
            except TimeoutError:
                raise self._busy(f"no turn came within {self.wait_s:g} s") from None
            finally:
                self._queued -= 1
        else:
            await self._free.acquire()
        try:
            yield
        finally:
            self._free.release()
