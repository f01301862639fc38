"""uvicorn's HTTP/1.1 protocol with the timeouts it lacks: headers, a silent body, and a cap on open connections.

uvicorn times out an idle keep-alive connection only after a first response: a client that connects and
sends nothing, or one byte every few seconds, holds its socket (and a file descriptor) forever, and some
20,000 of them stop the service. Here every connection must finish its request headers within
`header_timeout` seconds of opening (or of its previous response), may not go silent for `body_timeout`
seconds inside a body, and past `max_connections` the longest-waiting connection without a request is
closed to make room: a client that sends its request at once (every real one) is never the one closed.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# File descriptors kept for everything but client sockets: the index, the model's files, logs.
_RESERVED_FDS = 64


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(wanted: int, open_files: int) -> int:
    """The connections to allow: as many as wanted, within what the open-files limit leaves for sockets."""
    return max(1, min(wanted, open_files - _RESERVED_FDS))


class GuardedH11Protocol(H11Protocol):
    """H11Protocol with a header deadline, a body idle timeout and a connection cap (class attributes,
    set by `guarded_protocol`)."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self.waiting_since = time.monotonic()

    # --- the protocol's events -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = time.monotonic()
        self._arm(self.header_timeout)
        if len(self.connections) > self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._arm(self.body_timeout)  # silence inside a body: counted from the last bytes that came
        elif state is not h11.IDLE:
            self._disarm()  # the request is in: how long the answer takes is the app's business

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            # Waiting for the next request: uvicorn's keep-alive timer closes a silent connection; this
            # deadline closes one that trickles its headers in.
            self.waiting_since = time.monotonic()
            self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- timers ------------------------------------------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    @property
    def idle(self) -> bool:
        """No request in: between requests, or before the first one."""
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _make_room(self) -> None:
        """Close the connection that has waited longest without sending a request (this one, if no other)."""
        idle = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and c.idle and c is not self]
        victim = min(idle, key=lambda c: c.waiting_since, default=self)
        if victim.transport is not None and not victim.transport.is_closing():
            victim.transport.close()


def guarded_protocol(*, header_timeout: float, body_timeout: float, max_connections: int) -> type[GuardedH11Protocol]:
    """GuardedH11Protocol with these limits, as uvicorn's `http` protocol class."""
    return type(
        "QAHttpProtocol",
        (GuardedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout, "max_connections": max_connections},
    )
