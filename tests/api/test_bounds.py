"""What one anonymous client cannot do to the service: read files out of the corpus, pass a foreign Host,
frame /docs, stall others with long questions, many asks or idle connections.

The real app under uvicorn on a loopback port, over its own copy of the seed corpus (FakeEncoder: no model).
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from qa.index.sync import sync_corpus
from tests.api.fake_site import Site, open_site


def test_a_link_out_of_the_corpus_is_never_served(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:motsecret:/root:/bin/bash\n", encoding="utf-8")
    (site.corpus / "leak.txt").symlink_to(secret)
    report = sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    assert [e.file for e in report.errors] == ["leak.txt"] and "outside the corpus" in report.errors[0].error
    site.engine.refresh()
    assert site.client.get("/articles/leak").status_code == 404
    cited = site.client.post("/ask", json={"question": "motsecret root ?", "mode": "bm25"}).json()
    assert all("motsecret" not in c["text"] for c in cited["citations"])


def test_a_link_read_by_an_earlier_index_is_removed_from_it(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:motsecret\n", encoding="utf-8")
    (site.corpus / "leak.txt").symlink_to(secret)
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False, outside_links=True)
    site.engine.refresh()
    assert site.client.get("/articles/leak").status_code == 200  # what an index made before the fix held
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    site.engine.refresh()
    assert site.client.get("/articles/leak").status_code == 404  # not kept as if the file were merely damaged


# --- the Host header and /docs --------------------------------------------------------------------------------
def test_a_foreign_host_header_is_refused(tmp_path: Path) -> None:
    with open_site(tmp_path, allowed_hosts=["127.0.0.1", "localhost", "::1"]) as site:
        port = site.client.base_url.port
        refused = site.client.get("/articles", headers={"Host": f"rebound.example:{port}"})
        assert refused.status_code == 400 and "rebound.example" in refused.json()["detail"]
        assert "QA_ALLOWED_HOSTS" in refused.json()["detail"]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
            assert site.client.get("/articles", headers={"Host": host}).status_code == 200, host


def test_docs_cannot_be_framed_nor_run_inline_scripts(site: Site) -> None:
    res = site.client.get("/docs")
    assert res.status_code == 200 and "<script>" not in res.text  # Swagger UI starts from a file of ours
    csp = res.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert res.headers["x-frame-options"] == "DENY"
    assert site.client.get("/static/docs.js").status_code == 200


# --- bounded asks -------------------------------------------------------------------------------------------------
def test_asks_past_the_gate_get_503_with_retry_after(tmp_path: Path) -> None:
    with open_site(tmp_path, max_asks=1, max_waiting_asks=1, ask_wait=30) as site:
        answer = site.engine.ask

        def slow(*args: Any, **kwargs: Any) -> Any:
            time.sleep(0.5)  # one question at a time, each long enough for the others to arrive meanwhile
            return answer(*args, **kwargs)

        site.engine.ask = slow  # type: ignore[method-assign]
        with ThreadPoolExecutor(6) as pool:
            replies = list(
                pool.map(lambda _: httpx.post(f"{site.client.base_url}/ask", json={"question": "Astana ?"}, timeout=60), range(6))
            )
        statuses = sorted(r.status_code for r in replies)
        assert statuses == [200, 200, 503, 503, 503, 503], statuses  # one answered, one waited its turn
        busy = next(r for r in replies if r.status_code == 503)
        assert int(busy.headers["retry-after"]) >= 1 and "busy" in busy.json()["detail"]
        assert site.client.get("/health").status_code == 200  # other routes are not held up by the gate


# --- connections that send nothing, or too slowly -------------------------------------------------------------------
def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_a_connection_that_sends_nothing_or_trickles_is_closed(tmp_path: Path) -> None:
    with open_site(tmp_path, header_timeout=1, body_timeout=1) as site:
        address = (site.client.base_url.host, site.client.base_url.port)
        silent = socket.create_connection(address)
        trickling = socket.create_connection(address)
        trickling.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        half_body = socket.create_connection(address)
        half_body.sendall(
            b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        for sock in (silent, trickling, half_body):
            assert _closed_by_server(sock, within=30), "an idle connection was held open"
            sock.close()
        assert site.client.get("/health").status_code == 200


def test_idle_connections_past_the_cap_make_room_for_real_clients(tmp_path: Path) -> None:
    with open_site(tmp_path, max_connections=20) as site:
        address = (site.client.base_url.host, site.client.base_url.port)
        idle = [socket.create_connection(address) for _ in range(60)]
        try:
            with httpx.Client(base_url=site.client.base_url, timeout=30) as fresh:
                for _ in range(5):
                    assert fresh.get("/health").status_code == 200
            closed = sum(_closed_by_server(sock, within=5) for sock in idle)
            assert closed >= 40, closed  # the oldest idle ones were closed as others came
        finally:
            for sock in idle:
                sock.close()
