"""Connections to the primary and its read replicas: a read goes to a replica that is up and caught up, else the primary."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from qa.core.errors import IndexStateError, UnavailableError
from qa.postgres.schema import EF_SEARCH

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds a replica that failed is left out before it is tried again.
RETRY_AFTER = 5.0
# Seconds to open a connection: a replica that is down must not hold up the question that falls back.
CONNECT_TIMEOUT = 3


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit

    password = urlsplit(url).password
    return url if password is None else url.replace(f":{password}@", ":***@", 1)


def connect(url: str, *, autocommit: bool = True, ef_search: int = EF_SEARCH) -> psycopg.Connection[Any]:
    """A connection with pgvector's types registered (when the extension exists), or IndexStateError naming the server."""
    try:
        import psycopg
    except ImportError:
        raise IndexStateError("QA_DATABASE_URL needs the postgres extra: pip install -e '.[postgres]'") from None

    try:
        # The HNSW candidate list of every search on this connection (a custom setting, held until pgvector loads).
        options = f"-c hnsw.ef_search={ef_search}"
        con = psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT, options=options)
    except psycopg.OperationalError as exc:
        raise UnavailableError(f"cannot reach PostgreSQL at {redact(url)}: {str(exc).strip().splitlines()[-1]}") from None
    register_types(con)
    return con


def register_types(con: psycopg.Connection[Any]) -> None:
    """Numpy arrays in and out of `vector` columns, once the extension is there."""
    from pgvector.psycopg import register_vector

    try:
        register_vector(con)
    except Exception:  # psycopg.ProgrammingError: "vector type not found" before the schema exists
        if not con.autocommit:
            con.rollback()


class Connections:
    """One connection per thread and server; `read` runs a function on a replica and falls back to the primary.

    A replica is used only once it has replayed the generation the caller serves (`floor`): a question
    asked just after a write reads what that write committed. A replica that fails is left out for
    RETRY_AFTER seconds and the read runs again on the next one, then on the primary.
    """

    def __init__(self, url: str, read_urls: Sequence[str] = (), *, ef_search: int = EF_SEARCH) -> None:
        self.url = url
        self.read_urls = list(read_urls)
        self.ef_search = ef_search
        self.floor = 0
        self._local = threading.local()
        self._down: dict[str, float] = {}
        self._caught_up: dict[str, int] = {}
        self._next = itertools.count()
        # Reads answered per server (a benchmark shows where the reads went).
        self.served: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _con(self, url: str) -> psycopg.Connection[Any]:
        cons: dict[str, psycopg.Connection[Any]] = self._local.__dict__.setdefault("cons", {})
        con = cons.get(url)
        if con is None or con.closed:
            con = cons[url] = connect(url, ef_search=self.ef_search)
        return con

    def _drop(self, url: str) -> None:
        con = self._local.__dict__.get("cons", {}).pop(url, None)
        if con is not None:
            con.close()

    def primary(self) -> psycopg.Connection[Any]:
        """This thread's autocommit connection to the primary."""
        return self._con(self.url)

    def reset_types(self) -> None:
        """Register pgvector's types on this thread's connections again (after the schema is created)."""
        for con in self._local.__dict__.get("cons", {}).values():
            register_types(con)

    def _replicas(self) -> list[str]:
        now = time.monotonic()
        up = [u for u in self.read_urls if self._down.get(u, 0.0) <= now]
        if not up:
            return []
        start = next(self._next) % len(up)
        return up[start:] + up[:start]

    def _ready(self, url: str, con: psycopg.Connection[Any]) -> bool:
        """Whether this replica has replayed the generation served (asked again only while it is behind)."""
        if self._caught_up.get(url, -1) >= self.floor:
            return True
        row = con.execute("SELECT value FROM qa_meta WHERE key = 'generation'").fetchone()
        seen = int(row[0]) if row else 0
        self._caught_up[url] = seen
        return seen >= self.floor

    def read(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """fn on a replica that is up and caught up, else on the primary."""
        import psycopg

        for url in self._replicas():
            try:
                con = self._con(url)
                if not self._ready(url, con):
                    continue
                out = fn(con)
                self.served[url] += 1
                return out
            except (psycopg.OperationalError, psycopg.errors.UndefinedTable, IndexStateError) as exc:
                # Down, restarting, or a standby that has not replayed the schema yet: the primary answers.
                log.warning("replica %s left out for %.0f s: %s", redact(url), RETRY_AFTER, str(exc).strip()[:200])
                with self._lock:
                    self._down[url] = time.monotonic() + RETRY_AFTER
                self._drop(url)
        return self.on_primary(fn)

    def on_primary(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """fn on the primary; a connection cut under it (a restarted server) is opened again once."""
        import psycopg

        self.served[self.url] += 1
        try:
            return fn(self.primary())
        except psycopg.OperationalError:
            self._drop(self.url)
            try:
                return fn(self.primary())
            except psycopg.OperationalError as exc:
                raise UnavailableError(f"PostgreSQL at {redact(self.url)} failed: {str(exc).strip()[:300]}") from None

    def close(self) -> None:
        for url in list(self._local.__dict__.get("cons", {})):
            self._drop(url)
