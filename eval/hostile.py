"""Hostile traffic for eval/load.py: long questions, idle connections and concurrent writes beside normal clients.

Each kind runs in its own threads until stopped, and counts what it got; `check_articles` then says whether
the writes lost or corrupted anything (the index, the corpus file and /ask must agree on every id).
"""

from __future__ import annotations

import random
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


def long_questions(count: int = 4, chars: int = 2000) -> list[str]:
    """Questions at the character limit, made of what costs the model most: CJK, rare words, punctuation."""
    rng = random.Random(13)
    cjk = "".join(chr(0x4E00 + rng.randrange(20000)) for _ in range(chars))
    words = " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7)) for _ in range(chars // 8))[:chars]
    mixed = ("Qu'a-t-on signé à Astana ? " * 100)[:chars]
    marks = "".join(rng.choice("?!.,;:()[]{}«»") for _ in range(chars))
    return [cjk, words, mixed, marks][:count]


@dataclass
class Tally:
    """What one kind of hostile traffic sent and got back."""

    statuses: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self.lock:
            self.statuses[outcome] += 1


def _outcome(call: Any, *args: Any, **kwargs: Any) -> str:
    """The status of call(*args, **kwargs), or the kind of error that stopped it."""
    try:
        return str(call(*args, **kwargs).status_code)
    except httpx.HTTPError as exc:
        return type(exc).__name__


class Hostile:
    """Long-question clients, a crowd of idle connections and writers racing on a few ids, against `url`."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        long_clients: int = 3,
        idle_connections: int = 2000,
        writers: int = 4,
        ids: int = 3,
        timeout: float = 120.0,
    ) -> None:
        self.url = url
        self.token = token
        self.long_clients = long_clients
        self.idle_connections = idle_connections
        self.writers = writers if token else 0
        self.ids = [f"hostile-{n}" for n in range(ids)]
        self.timeout = timeout
        self.stop = threading.Event()
        self.tallies = {"long_questions": Tally(), "idle": Tally(), "writes": Tally()}
        self.versions: set[str] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        jobs = [(self._ask_long, n) for n in range(self.long_clients)] + [(self._write, n) for n in range(self.writers)]
        if self.idle_connections:
            jobs.append((self._hold_idle, 0))
        for target, n in jobs:
            thread = threading.Thread(target=target, args=(n,), daemon=True, name=f"hostile-{target.__name__}-{n}")
            thread.start()
            self._threads.append(thread)

    def finish(self) -> dict[str, Any]:
        """Stop every thread; what each kind got."""
        self.stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 10)
        return {name: dict(t.statuses) for name, t in self.tallies.items()}

    # --- the kinds ---------------------------------------------------------------------------------------------
    def _ask_long(self, n: int) -> None:
        questions = long_questions()
        with httpx.Client(base_url=self.url, timeout=self.timeout) as client:
            while not self.stop.is_set():
                question = questions[n % len(questions)]
                n += 1
                self.tallies["long_questions"].add(_outcome(client.post, "/ask", json={"question": question}))

    def _write(self, n: int) -> None:
        rng = random.Random(n)
        auth = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=self.timeout, headers=auth) as client:
            while not self.stop.is_set():
                article_id = rng.choice(self.ids)
                if rng.random() < 0.3:
                    self.tallies["writes"].add("DELETE " + _outcome(client.delete, f"/articles/{article_id}"))
                    continue
                text = f"Version {n}-{rng.randrange(10**9)} de {article_id}, écrite par un client pressé, mot{article_id}."
                with self.tallies["writes"].lock:
                    self.versions.add(text)
                self.tallies["writes"].add("PUT " + _outcome(client.put, f"/articles/{article_id}", json={"text": text}))

    def _hold_idle(self, _: int) -> None:
        """Keep `idle_connections` sockets open and silent, opening new ones as the server closes old ones."""
        parts = urlsplit(self.url)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        held: list[socket.socket] = []
        tally = self.tallies["idle"]
        try:
            while not self.stop.is_set():
                alive = []
                for sock in held:
                    try:
                        gone = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                    except BlockingIOError:
                        gone = False
                    except OSError:
                        gone = True
                    if gone:
                        tally.add("closed by the server")
                        sock.close()
                    else:
                        alive.append(sock)
                held = alive
                # At most 200 new ones a pass: a flood, but one that leaves the load script's own CPU to the clients.
                for _ in range(min(200, self.idle_connections - len(held))):
                    try:
                        held.append(socket.create_connection(address, timeout=5))
                        tally.add("opened")
                    except OSError as exc:
                        tally.add(f"refused: {type(exc).__name__}")
                        break
                self.stop.wait(0.5)
        finally:
            for sock in held:
                sock.close()


def check_articles(url: str, corpus: Path | None, ids: list[str], versions: set[str], before: dict[str, str]) -> dict[str, Any]:
    """After the writes: every hostile id is one whole version (or gone) alike in the index, the corpus file
    and /ask; every article that was there before is still there, unchanged. Counts of what is not."""
    problems: list[str] = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for article_id in ids:
            got = client.get(f"/articles/{article_id}")
            path = corpus / f"{article_id}.md" if corpus is not None else None
            if got.status_code == 404:
                if path is not None and path.exists():
                    problems.append(f"{article_id}: in the corpus, not in the index")
                continue
            text = got.json()["text"]
            if text not in versions:
                problems.append(f"{article_id}: the index holds a text no client wrote")
            if path is not None and (not path.exists() or text not in path.read_text(encoding="utf-8")):
                problems.append(f"{article_id}: the corpus file and the index disagree")
            cited = client.post("/ask", json={"question": f"mot{article_id} ?", "mode": "bm25"}).json()
            if not any(c["article_id"] == article_id for c in cited.get("citations", [])):
                problems.append(f"{article_id}: indexed but never cited")
        for article_id, text in before.items():
            got = client.get(f"/articles/{article_id}")
            if got.status_code != 200 or got.json()["text"] != text:
                problems.append(f"{article_id}: an article of the corpus was lost or changed")
    return {"checked": len(ids) + len(before), "problems": problems}


def article_texts(url: str) -> dict[str, str]:
    """Every article's text, by id."""
    with httpx.Client(base_url=url, timeout=120) as client:
        listed = client.get("/articles").json()
        return {a["id"]: client.get(f"/articles/{a['id']}").json()["text"] for a in listed}
