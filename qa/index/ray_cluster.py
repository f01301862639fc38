"""A throwaway Ray cluster of two nodes on loopback, inside this process's own network namespace (tests, benchmarks).

Ray's daemons listen on every interface and it rewrites --node-ip-address=127.0.0.1 to the host's address, so
the cluster runs in a network namespace with only `lo` up (`unshare -n`), its nodes at 127.0.0.2 and 127.0.0.3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from qa.core.errors import QAError
from qa.index.ray_embed import RESOURCE

HEAD = "127.0.0.2"
PORT = 6379


def _ray() -> str:
    found = Path(sys.executable).with_name("ray")
    return str(found) if found.exists() else shutil.which("ray") or "ray"


def in_namespace(args: Sequence[str]) -> list[str]:
    """The command line that runs `args` in a new network namespace with loopback up (root, or user namespaces)."""
    return ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *args]


@contextmanager
def loopback_cluster(nodes: int = 2, *, cpus_per_node: int = 1, log_dir: Path | None = None) -> Iterator[str]:
    """Start `nodes` Ray nodes (a head and workers at 127.0.0.2, .3, ...), each offering one embedding actor
    slot; yields the head's address and stops them all. Must run inside a network namespace of its own."""
    env = os.environ | {"RAY_USAGE_STATS_ENABLED": "0"}
    log = open(log_dir / "ray.log", "ab") if log_dir is not None else subprocess.DEVNULL  # noqa: SIM115
    common = [f"--num-cpus={cpus_per_node}", f'--resources={{"{RESOURCE}": 1}}', "--disable-usage-stats"]
    try:
        for n in range(nodes):
            ip = f"127.0.0.{2 + n}"
            where = ["--head", f"--port={PORT}", "--include-dashboard=false"] if n == 0 else [f"--address={HEAD}:{PORT}"]
            done = subprocess.run([_ray(), "start", *where, f"--node-ip-address={ip}", *common], env=env, stdout=log, stderr=log)
            if done.returncode != 0:
                raise QAError(f"ray start for node {ip} failed ({done.returncode})")
        yield f"{HEAD}:{PORT}"
    finally:
        subprocess.run([_ray(), "stop", "--force"], env=env, stdout=log, stderr=log, check=False)
        if log_dir is not None:
            log.close()  # type: ignore[union-attr]
