"""The app as a whole: OpenAPI, the page's files, CORS, error mapping, `qa serve`, and restarts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.core.config import Settings
from tests.api.conftest import Service, fresh_copy, make_settings
from tests.api.service import (
    ASTANA_QUESTION,
    REPO,
    SEED_ARTICLE,
    TOKEN,
    ThreadedServer,
    start_qa_serve,
    wait_healthy,
)

STATIC = REPO / "qa" / "api" / "static"


# --- without the model ----------------------------------------------------------------------------------------
def test_importing_the_app_does_not_load_torch() -> None:
    code = "import sys, qa.api.app; bad = [m for m in ('torch', 'sentence_transformers') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class BrokenEngine:
    """Answers health, and fails in a way no client can cause: the 500 path of the app."""

    def health(self) -> dict[str, object]:
        return {"status": "ok", "articles": 0, "chunks": 0, "model": "none"}

    def refresh(self) -> bool:
        return False

    def warm_timeline(self) -> None:
        pass

    def ask(self, question: str, k: int = 5, **options: Any) -> Any:
        raise RuntimeError("simulated bug")


def test_a_bug_is_a_logged_500_with_a_plain_detail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from qa.api.app import create_app

    settings = make_settings(tmp_path, tmp_path, token=None)
    with ThreadedServer(create_app(settings, BrokenEngine())) as server:  # type: ignore[arg-type]
        res = httpx.post(f"{server.url}/ask", json={"question": "anything"})
    assert res.status_code == 500
    assert res.json() == {"detail": "internal error"}
    assert any("simulated bug" in r.getMessage() and "POST /ask" in r.getMessage() for r in caplog.records)


def test_the_page_uses_no_outside_asset() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    assert '<meta name="viewport"' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"@import|url\((?!data:)", css)
    assert not re.search(r"""fetch\(\s*[`"']https?:""", js)
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js


# --- with the model -------------------------------------------------------------------------------------------
@pytest.mark.model
def test_docs_work_offline(client: httpx.Client) -> None:
    html = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert assets and all(a.startswith(("/docs-assets/", "/static/")) for a in assets), assets  # all served here
    assert "//cdn" not in html and "https://" not in html.split("</head>")[0]
    for asset in assets:
        assert client.get(asset).status_code == 200


@pytest.mark.model
def test_openapi_describes_the_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/ask"]) == {"post"}
    assert set(paths["/health"]) == {"get"}
    assert set(paths["/articles"]) == {"get"}
    assert set(paths["/articles/{article_id}"]) == {"get", "put", "delete"}
    schemas = spec["components"]["schemas"]
    ask = schemas["AskRequest"]["properties"]
    assert ask["question"]["maxLength"] == 2000 and ask["question"]["minLength"] == 1
    assert ask["k"]["minimum"] == 1 and ask["k"]["maximum"] == 50
    citation = schemas["CitationOut"]
    assert set(citation["properties"]) == {
        "n",
        "article_id",
        "title",
        "date",
        "url",
        "text",
        "start",
        "end",
        "score",
        "highlight",
    }
    assert all(citation["properties"][name].get("description") for name in citation["properties"])
    assert set(schemas["Highlight"]["properties"]) == {"start", "end"}
    put = paths["/articles/{article_id}"]["put"]
    assert {"200", "201", "401", "403", "413", "422"} <= set(put["responses"])
    assert {"204", "401", "403", "404"} <= set(paths["/articles/{article_id}"]["delete"]["responses"])
    assert client.get("/docs").status_code == 200


@pytest.mark.model
def test_the_page_and_its_assets_are_served(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        res = client.get(f"/static/{asset}")
        assert res.status_code == 200 and kind in res.headers["content-type"]
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404


@pytest.mark.model
def test_cors_is_closed_unless_configured(service: Service) -> None:
    from qa.api.app import create_app

    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    res = service.client.options("/ask", headers=preflight)
    assert "access-control-allow-origin" not in res.headers
    res = service.client.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in res.headers

    settings = service.settings.model_copy(update={"cors_origins": ["https://allowed.example"]})
    with ThreadedServer(create_app(settings, service.engine)) as server:
        allowed = {**preflight, "Origin": "https://allowed.example", "Access-Control-Request-Headers": "content-type"}
        res = httpx.options(f"{server.url}/ask", headers=allowed)
        assert res.status_code == 200
        assert res.headers["access-control-allow-origin"] == "https://allowed.example"
        res = httpx.options(f"{server.url}/ask", headers=preflight)
        assert res.headers.get("access-control-allow-origin") != "https://elsewhere.example"
        res = httpx.get(f"{server.url}/health", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in res.headers


@pytest.mark.model
def test_serve_builds_the_index_when_there_is_none(tmp_path: Path, encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty corpus folder gives an empty index: the service answers that the archive does not say,
    and an article written through the API is cited at once."""
    from qa.api.app import create_app
    from qa.api.startup import open_or_build
    from qa.core.errors import QAError

    with pytest.raises(QAError, match="no corpus folder"):
        open_or_build(make_settings(tmp_path / "missing", tmp_path / "index0", token=TOKEN), encoder)

    (tmp_path / "corpus").mkdir()
    settings = make_settings(tmp_path / "corpus", tmp_path / "index", token=TOKEN)
    engine = open_or_build(settings, encoder)
    assert "in line with" in capsys.readouterr().err
    assert (settings.index_dir / "manifest.json").is_file()
    with ThreadedServer(create_app(settings, engine)) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        assert client.get("/health").json()["articles"] == 0
        assert client.get("/articles").json() == []
        empty = client.post("/ask", json={"question": ASTANA_QUESTION}).json()
        assert empty["answer"] is None and empty["citations"] == []
        text = "Le 16 juin 2025, à Astana, Tokaïev et Xi Jinping ont signé 24 accords bilatéraux."
        res = client.put("/articles/only-one", json={"text": text}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert res.status_code == 201
        body = client.post("/ask", json={"question": ASTANA_QUESTION}).json()
        assert [c["article_id"] for c in body["citations"]] == ["only-one"]


@pytest.mark.model
def test_writes_survive_a_restart_of_the_service(tmp_path: Path, seed_index: tuple[Path, Path], encoder: Any) -> None:
    """Write and delete through one service, stop it, start `qa serve` (a new process) on the same folders."""
    from qa.api.app import create_app
    from qa.engine import Engine

    corpus, index = fresh_copy(seed_index, tmp_path)
    settings: Settings = make_settings(corpus, index, token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    kept = "Le 2 février 2026, la bibliothèque municipale de Nantes a rouvert après trois ans de travaux."
    question = "Quand la bibliothèque de Nantes a-t-elle rouvert ?"
    first = ThreadedServer(create_app(settings, Engine.open(settings, encoder)))
    with first as server, httpx.Client(base_url=server.url, timeout=120) as client:
        assert client.put("/articles/kept", json={"text": kept, "date": "2026-02-02"}, headers=auth).status_code == 201
        assert client.put("/articles/gone", json={"text": kept + " Bis."}, headers=auth).status_code == 201
        assert client.delete("/articles/gone", headers=auth).status_code == 204
        assert client.delete("/articles/003_f24ee3bdac4f2389", headers=auth).status_code == 204

    log = tmp_path / "serve.log"
    proc = start_qa_serve(corpus, index, log, token=TOKEN)
    try:
        wait_healthy(proc.url, 600, proc.proc)
        with httpx.Client(base_url=proc.url, timeout=120) as client:
            assert client.get("/articles/kept").json()["date"] == "2026-02-02"
            assert client.get("/articles/gone").status_code == 404
            assert client.get("/articles/003_f24ee3bdac4f2389").status_code == 404
            ids = {a["id"] for a in client.get("/articles").json()}
            assert ids == {SEED_ARTICLE, "kept"}
            body = client.post("/ask", json={"question": question}).json()
            assert body["citations"][0]["article_id"] == "kept"
            for q in (question, "Samarcande sommet UE-Asie centrale", ASTANA_QUESTION):
                cited = {c["article_id"] for c in client.post("/ask", json={"question": q, "k": 50}).json()["citations"]}
                assert not cited & {"gone", "003_f24ee3bdac4f2389"}
            # The token comes from QA_API_TOKEN; a wrong one is refused, the right one works.
            assert client.delete("/articles/kept", headers={"Authorization": "Bearer nope"}).status_code == 401
            assert client.delete("/articles/kept", headers=auth).status_code == 204
    finally:
        code = proc.stop()
    output = proc.output()
    assert code == 0, output
    assert '"POST /ask HTTP/1.1" 200' in output, "uvicorn's access log is on"
    assert TOKEN not in output and "nope" not in output, "the token is never logged"
    assert "Traceback" not in output
