"""Generated answers through the real service on loopback: /ask with "generate", /ask/stream's events, the page
streaming them, and a service whose LLM is off, down or slow still answering."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.engine import Engine
from qa.generation.generate import NOT_CONFIGURED, Generator
from qa.generation.remote import RemoteModel
from tests.api.browser import CHROMIUM, launch_browser, service_page
from tests.api.conftest import Service, fresh_copy, make_settings
from tests.api.service import ASTANA_QUESTION, REPO, ThreadedServer, free_socket

pytestmark = pytest.mark.model
GENERATED_KEYS = {"text", "citations", "language"}


def serve_with(tmp: Path, seed_index: tuple[Path, Path], encoder: Any, generator: Generator | None) -> Any:
    from qa.api.app import create_app

    corpus, index = fresh_copy(seed_index, tmp)
    settings = make_settings(corpus, index, token=None)
    return settings, ThreadedServer(create_app(settings, Engine.open(settings, encoder), generator=generator))


@pytest.fixture(scope="module")
def llm_service(
    tmp_path_factory: pytest.TempPathFactory, seed_index: tuple[Path, Path], encoder: Any, local_llm: Any
) -> Iterator[Service]:
    """The service over a copy of the seed index, generating with the real local LLM."""
    settings, server = serve_with(tmp_path_factory.mktemp("llm"), seed_index, encoder, Generator(local_llm))
    with server, httpx.Client(base_url=server.url, timeout=300) as client:
        yield Service(server.url, settings, client, None)


def sse(res: httpx.Response) -> list[tuple[str, Any]]:
    out = []
    for block in res.text.split("\n\n"):
        if block.strip():
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.llm
def test_ask_generates_an_english_answer_whose_citations_are_the_response_s(llm_service: Service) -> None:
    body = llm_service.client.post("/ask", json={"question": ASTANA_QUESTION, "generate": True}).json()
    generated = body["generated"]
    assert generated is not None, body["not_generated_because"]
    assert set(generated) == GENERATED_KEYS and generated["language"] == "en"
    assert "24" in generated["text"] and body["not_generated_because"] is None
    numbers = {c["n"] for c in body["citations"]}
    assert generated["citations"] and set(generated["citations"]) <= numbers
    assert all(f"[{n}]" in generated["text"] for n in generated["citations"])
    assert llm_service.client.get("/health").json()["llm"] == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    # Without "generate", nothing is generated and the body is the one it always was.
    plain = llm_service.client.post("/ask", json={"question": ASTANA_QUESTION}).json()
    assert "generated" not in plain and plain["answer"] == body["answer"]


@pytest.mark.llm
def test_ask_stream_sends_the_answer_then_the_pieces_then_the_checked_answer(llm_service: Service) -> None:
    res = llm_service.client.post("/ask/stream", json={"question": ASTANA_QUESTION, "generate": True})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
    events = sse(res)
    names = [name for name, _ in events]
    assert names[0] == "answer" and names[-2:] == ["generated", "end"]
    assert set(names[1:-2]) == {"token"} and len(names) > 4
    assert "24 accords bilatéraux" in events[0][1]["answer"]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert "24" in streamed
    final = events[-2][1]
    assert final["generated"] is not None and final["generated"]["language"] == "en"
    # A bad request is refused before any stream starts.
    assert llm_service.client.post("/ask/stream", json={"question": " ", "generate": True}).status_code == 422


@pytest.mark.llm
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed")
def test_the_page_streams_the_written_answer_then_shows_it_checked(llm_service: Service) -> None:
    from playwright.sync_api import expect

    with launch_browser() as browser, service_page(browser, llm_service.url) as page:
        page.goto(f"{llm_service.url}/?q=" + ASTANA_QUESTION.replace(" ", "+"))
        expect(page.locator("#answer")).to_contain_text("24 accords bilatéraux")
        box = page.locator("#generated")
        expect(box).to_be_visible()
        expect(box.locator(".generated-text")).to_contain_text("24", timeout=240_000)
        expect(box.locator(".generated-text a.cite-ref").first).to_have_attribute("href", "#cite-1")
        expect(page.locator("#status")).to_contain_text("written in your language")
        # The README shows it: the quoted answer, then the one written in the question's language.
        box.scroll_into_view_if_needed()
        page.screenshot(path=str(REPO / "eval" / "reports" / "screenshot-generated.png"), full_page=False)


def test_with_the_llm_off_the_answer_says_why_nothing_was_generated(client: httpx.Client) -> None:
    body = client.post("/ask", json={"question": ASTANA_QUESTION, "generate": True}).json()
    assert body["generated"] is None and body["not_generated_because"] == NOT_CONFIGURED
    assert body["answer"] is not None
    events = sse(client.post("/ask/stream", json={"question": ASTANA_QUESTION, "generate": True}))
    assert [name for name, _ in events] == ["answer", "generated", "end"]
    assert events[1][1] == {"generated": None, "not_generated_because": NOT_CONFIGURED}
    assert [name for name, _ in sse(client.post("/ask/stream", json={"question": ASTANA_QUESTION}))] == ["answer", "end"]


def test_an_llm_server_that_is_down_never_breaks_ask(tmp_path: Path, seed_index: tuple[Path, Path], encoder: Any) -> None:
    sock = free_socket()  # bound, never listening
    down = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    try:
        _, server = serve_with(tmp_path, seed_index, encoder, Generator(RemoteModel(down)))
        with server, httpx.Client(base_url=server.url, timeout=60) as client:
            plain = client.post("/ask", json={"question": ASTANA_QUESTION})
            assert plain.status_code == 200 and "24 accords bilatéraux" in plain.json()["answer"]
            body = client.post("/ask", json={"question": ASTANA_QUESTION, "generate": True}).json()
            assert body["generated"] is None and body["answer"] == plain.json()["answer"]
            assert body["not_generated_because"].startswith(f"the LLM server at {down} cannot be reached")
            events = sse(client.post("/ask/stream", json={"question": ASTANA_QUESTION, "generate": True}))
            assert [name for name, _ in events] == ["answer", "generated", "end"]
    finally:
        sock.close()
