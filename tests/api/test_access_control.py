"""Who may write and from where, checked on `qa serve` itself (a subprocess configured from the environment):
the token is never logged, whatever the request did with it, CORS opens to the configured origin only, only
loopback Host names are answered; and the port answers "starting" before the service is ready."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import fresh_copy
from tests.api.raw import raw_request
from tests.api.service import ServeProcess, start_qa_serve, wait_healthy

pytestmark = pytest.mark.model

# Distinctive strings, so that finding any of them in the service's output can only mean it was logged.
SECRET = "tok-9f3b1c77e2a54d08-never-logged"
WRONG = "wrong-4c1d9e2b-never-logged-either"
ALLOWED = "https://allowed.example"
OTHER = "https://elsewhere.example"
# What /health answered while `qa serve` started, in order (a connection refused is "refused").
STARTING: list[str] = []


def watch_start(url: str, proc: ServeProcess, deadline_s: float) -> None:
    """Poll /health from the moment `qa serve` is launched until it says ok, noting each answer."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and proc.proc.poll() is None:
        try:
            res = httpx.get(f"{url}/health", timeout=5)
            seen = f"{res.status_code} {res.json().get('status')}"
        except httpx.HTTPError:
            seen = "refused"
        if not STARTING or STARTING[-1] != seen:
            STARTING.append(seen)
        if seen == "200 ok":
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, seed_index: tuple[Path, Path]) -> Iterator[ServeProcess]:
    """`qa serve` with QA_API_TOKEN and QA_CORS_ORIGINS in its environment, over a throwaway copy."""
    base = tmp_path_factory.mktemp("access")
    corpus, index = fresh_copy(seed_index, base)
    proc = start_qa_serve(corpus, index, base / "serve.log", token=SECRET, extra_env={"QA_CORS_ORIGINS": f'["{ALLOWED}"]'})
    try:
        watch_start(proc.url, proc, 600)
        wait_healthy(proc.url, 600, proc.proc)
        yield proc
    finally:
        proc.stop()


def test_cors_opens_to_the_configured_origin_only(served: ServeProcess) -> None:
    url = served.url
    preflight = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, content-type"}
    with httpx.Client(base_url=url, timeout=120) as client:
        allowed = client.options("/articles/x", headers={**preflight, "Origin": ALLOWED})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED
        assert "PUT" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in allowed.headers
        other = client.options("/articles/x", headers={**preflight, "Origin": OTHER})
        assert "access-control-allow-origin" not in other.headers and other.status_code >= 400
        # Simple requests: the browser lets the page read the answer only with the header.
        simple = client.post("/ask", json={"question": "Astana"}, headers={"Origin": ALLOWED})
        assert simple.status_code == 200 and simple.headers["access-control-allow-origin"] == ALLOWED
        simple = client.post("/ask", json={"question": "Astana"}, headers={"Origin": OTHER})
        assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
        for origin in ("null", ALLOWED + ".evil.example", ALLOWED.replace("https", "http"), ALLOWED + ":443"):
            res = client.options("/ask", headers={"Access-Control-Request-Method": "POST", "Origin": origin})
            assert "access-control-allow-origin" not in res.headers, origin


def test_health_answers_head_as_monitors_send_it(served: ServeProcess) -> None:
    res = httpx.head(f"{served.url}/health", timeout=60)
    assert res.status_code == 200 and res.content == b""


def test_the_port_answers_starting_while_the_model_loads(served: ServeProcess) -> None:
    # It used to open only after loading the model and syncing the corpus: "refused" until "200 ok".
    assert "503 starting" in STARTING and STARTING[-1] == "200 ok", STARTING


def test_only_loopback_host_names_are_answered(served: ServeProcess) -> None:
    port = httpx.URL(served.url).port
    rebound = httpx.get(f"{served.url}/articles", headers={"Host": f"rebound.example:{port}"}, timeout=30)
    assert rebound.status_code == 400 and "QA_ALLOWED_HOSTS" in rebound.json()["detail"]
    assert httpx.get(f"{served.url}/articles", headers={"Host": f"localhost:{port}"}, timeout=30).status_code == 200


def test_a_question_of_2000_cjk_characters_is_answered(served: ServeProcess) -> None:
    question = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000))
    res = httpx.post(f"{served.url}/ask", json={"question": question}, timeout=120)
    assert res.status_code == 200, res.text


def test_the_token_is_never_logged(served: ServeProcess) -> None:  # last: it stops the service to read its log
    """Runs last in this module: it stops the service to read everything it wrote."""
    url = served.url
    good = {"Authorization": f"Bearer {SECRET}"}
    text = {"text": "Un texte."}
    with httpx.Client(base_url=url, timeout=120) as client:

        def put(body: dict[str, str], authorization: str) -> int:
            return client.put("/articles/log-check", json=body, headers={"Authorization": authorization}).status_code

        # Every way a request can carry the token, or a wrong one, and succeed or fail.
        assert put(text, f"Bearer {SECRET}") == 201
        assert put({"text": ""}, f"Bearer {SECRET}") == 422
        assert put({"text": "a" * 2_000_000}, f"Bearer {SECRET}") == 413
        assert put(text, f"Bearer {WRONG}") == 401
        assert put(text, f"Basic {SECRET}") == 401
        assert put(text, SECRET) == 401
        assert client.put("/articles/..%2Fx", json=text, headers=good).status_code == 422
        assert client.delete("/articles/log-check", headers={"Authorization": f"Bearer {SECRET}x"}).status_code == 401
        assert client.delete("/articles/log-check", headers=good).status_code == 204
        assert client.delete("/articles/log-check", headers=good).status_code == 404
        assert client.post("/ask", json={"question": "Astana"}, headers=good).status_code == 200
        assert client.post("/ask", json={"question": ""}, headers=good).status_code == 422
        # A token in the query string is not how the API takes it, but a client may send it so: not logged either.
        assert client.get("/health", params={"token": SECRET}).status_code == 200
        assert client.post("/ask", params={"access_token": WRONG}, json={"question": "Astana"}).status_code == 200
    bad_bytes = b'{"text": "\xff"}'
    res = raw_request(url, "PUT", "/articles/log-check", headers={**good, "Content-Type": "application/json"}, body=bad_bytes)
    assert res.status == 400
    code = served.stop()
    output = served.output()
    assert code == 0, output
    assert '"PUT /articles/log-check HTTP/1.1" 201' in output and '"PUT /articles/log-check HTTP/1.1" 401' in output, (
        "the access log is on: the absence below means something"
    )
    for secret in (SECRET, WRONG, SECRET[:12], SECRET[-12:], WRONG[:12]):
        assert secret not in output, f"{secret!r} was logged"
    assert "Traceback" not in output
