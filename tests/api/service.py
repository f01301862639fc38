"""Running the service for tests: uvicorn in a thread, or `qa serve` in a subprocess, on a loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token-5d1c0a7e"  # never a real secret: only for the services these tests start
SEED_ARTICLE = "000_2ce4f8cb43b28473"
ASTANA_QUESTION = "What was signed in Astana in June 2025?"


def seed_corpus_source() -> Path:
    """The repo's corpus/ when it holds the seed articles, else the copy in shared/data."""
    own = REPO / "corpus"
    if own.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in own.iterdir()):
        return own
    return REPO.parent / "shared" / "data" / "seed-articles"


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".write.lock"))
    return dest


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def wait_healthy(url: str, deadline_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll GET /health until it answers 200 with status "ok" (started, synced); fail early if the process died."""
    end = time.monotonic() + deadline_s
    last: object = None
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service exited with status {proc.returncode} before answering")
        try:
            res = httpx.get(f"{url}/health", timeout=5)
            if res.status_code == 200 and res.json().get("status") == "ok":
                return
            last = (res.status_code, res.text[:200])
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url}/health did not answer 200 within {deadline_s} s (last: {last!r})")


class ThreadedServer:
    """uvicorn serving `app` from a thread on 127.0.0.1 (a free port), with start-up and shutdown."""

    def __init__(self, app: FastAPI, *, wait: bool = True) -> None:
        self.wait = wait
        self._sock = free_socket()
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        from qa.api.serve import server_config

        # The protocol, limits and timeouts `qa serve` runs with.
        config = server_config(app, app.state.settings, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, name=f"uvicorn-{self.port}", daemon=True
        )

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        end = time.monotonic() + 60
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        if self.wait:
            wait_healthy(self.url, 30)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()


@dataclass
class ServeProcess:
    """A `qa serve` subprocess; its stdout and stderr go to `log`."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_qa_serve(
    corpus: Path, index: Path, log: Path, *, token: str | None, extra_env: dict[str, str] | None = None
) -> ServeProcess:
    """Start `python -m qa serve` on a free loopback port (the model loads in that process)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()  # uvicorn binds it again at once; nothing else on this machine races for it in practice
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k in ("QA_CACHE_DIR", "QA_MODEL")}
    env["PYTHONUNBUFFERED"] = "1"
    if token is not None:
        env["QA_API_TOKEN"] = token
    env.update(extra_env or {})
    args = [sys.executable, "-m", "qa", "serve", "--corpus", str(corpus), "--index", str(index)]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    handle = log.open("wb")
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return ServeProcess(proc, f"http://127.0.0.1:{port}", log)
