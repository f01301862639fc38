"""The article routes over real HTTP: read, write, delete, the token, bad ids and bodies, live reloads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Service
from tests.api.raw import raw_request
from tests.api.service import ASTANA_QUESTION, SEED_ARTICLE, TOKEN

pytestmark = pytest.mark.model

SUMMARY_KEYS = {"id", "title", "date", "url", "chunks"}
TELEPHERIQUE = (
    "Le 3 mars 2024, la métropole de Lyon a inauguré le téléphérique de Fourvière, long de 12 kilomètres. "
    "La ligne relie le quartier de Saint-Just à la gare de Perrache en neuf minutes."
)
TELEPHERIQUE_Q = "Quelle ville a inauguré un téléphérique en mars 2024 ?"


def cited_ids(client: httpx.Client, question: str, k: int = 10) -> list[str]:
    res = client.post("/ask", json={"question": question, "k": k})
    assert res.status_code == 200
    return [c["article_id"] for c in res.json()["citations"]]


def test_list_articles(client: httpx.Client) -> None:
    res = client.get("/articles")
    assert res.status_code == 200
    rows = res.json()
    ids = {r["id"] for r in rows}
    assert {SEED_ARTICLE, "003_f24ee3bdac4f2389"} <= ids
    for r in rows:
        assert set(r) == SUMMARY_KEYS
        assert r["chunks"] >= 1
    seed = next(r for r in rows if r["id"] == SEED_ARTICLE)
    assert seed["date"] == "2025-11-19"
    page = client.get("/articles", params={"limit": 1, "offset": 1}).json()
    assert page == rows[1:2]
    assert client.get("/articles", params={"limit": 0}).status_code == 422
    assert client.get("/articles", params={"offset": -1}).status_code == 422


def test_get_article(client: httpx.Client) -> None:
    res = client.get(f"/articles/{SEED_ARTICLE}")
    assert res.status_code == 200
    body = res.json()
    assert set(body) == SUMMARY_KEYS | {"text"}
    assert body["id"] == SEED_ARTICLE
    assert body["date"] == "2025-11-19"
    assert "24 accords bilatéraux" in body["text"]
    assert body["chunks"] >= 1


def test_unknown_article_is_404(service: Service) -> None:
    res = service.client.get("/articles/no-such-article")
    assert res.status_code == 404
    assert "no-such-article" in res.json()["detail"]
    res = service.client.delete("/articles/no-such-article", headers=service.auth())
    assert res.status_code == 404


BAD_IDS = [
    "..",
    ".",
    "../../etc/passwd",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2f..%2fetc%2fpasswd",
    "%2E%2E%5Cwindows",
    "a%2fb",
    "a/b",
    ".hidden",
    "a%20b",
    "%C3%A9t%C3%A9",
    "a%00b",
    "a%0Ab",
    "x" * 129,
    "",
]


@pytest.mark.parametrize("raw_id", BAD_IDS)
def test_bad_ids_are_422_for_every_method(service: Service, raw_id: str) -> None:
    path = f"/articles/{raw_id}"
    outside = service.settings.corpus_dir.parent
    before = sorted(p.name for p in outside.iterdir())
    for method, body in (("GET", None), ("DELETE", None), ("PUT", b'{"text": "Un texte."}')):
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        res = raw_request(service.url, method, path, headers=headers, body=body)
        assert res.status == 422, (method, path, res.body)
        assert b"invalid article id" in res.body
    assert sorted(p.name for p in outside.iterdir()) == before, "nothing written outside the corpus folder"


def test_put_ask_replace_delete(service: Service) -> None:
    client, corpus = service.client, service.settings.corpus_dir
    article_id = "lyon-telepherique-2024"
    assert article_id not in cited_ids(client, TELEPHERIQUE_Q)

    res = client.put(
        f"/articles/{article_id}",
        json={
            "text": TELEPHERIQUE,
            "title": "Lyon inaugure son téléphérique",
            "date": "2024-03-04",
            "url": "https://example.org/lyon",
        },
        headers=service.auth(),
    )
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["id"] == article_id and body["text"] == TELEPHERIQUE and body["chunks"] >= 1
    assert body["date"] == "2024-03-04" and body["title"] == "Lyon inaugure son téléphérique"
    assert (corpus / f"{article_id}.md").is_file(), "stored in the corpus folder, where `qa index` finds it"

    # Cited by the very next question, with exact offsets into the stored text.
    answer = client.post("/ask", json={"question": TELEPHERIQUE_Q}).json()
    assert answer["citations"][0]["article_id"] == article_id
    c = answer["citations"][0]
    assert c["text"] == TELEPHERIQUE[c["start"] : c["end"]]
    assert answer["answer"] is not None and "téléphérique" in answer["answer"]
    assert article_id in {r["id"] for r in client.get("/articles").json()}

    # Replaced: 200, and the new text is what gets cited.
    new_text = TELEPHERIQUE.replace("neuf minutes", "sept minutes")
    res = client.put(f"/articles/{article_id}", json={"text": new_text}, headers=service.auth())
    assert res.status_code == 200, res.text
    assert client.get(f"/articles/{article_id}").json()["text"] == new_text
    cites = client.post("/ask", json={"question": "En combien de minutes le téléphérique relie-t-il Perrache ?"}).json()
    mine = [c for c in cites["citations"] if c["article_id"] == article_id]
    assert mine and "sept minutes" in mine[0]["text"]

    # Deleted: 204, gone from the corpus folder, the list, and every answer.
    res = client.delete(f"/articles/{article_id}", headers=service.auth())
    assert res.status_code == 204 and res.content == b""
    assert not (corpus / f"{article_id}.md").exists()
    assert client.get(f"/articles/{article_id}").status_code == 404
    assert article_id not in {r["id"] for r in client.get("/articles").json()}
    for question in (TELEPHERIQUE_Q, "téléphérique de Fourvière", "Lyon Perrache Saint-Just", ASTANA_QUESTION):
        assert article_id not in cited_ids(client, question, k=50)
    assert client.delete(f"/articles/{article_id}", headers=service.auth()).status_code == 404


def test_put_normalises_and_derives_a_title(service: Service) -> None:
    article_id = "normalised.article_1"
    text = "  Première phrase de l'article, assez longue pour un titre.\r\nSeconde ligne.  "
    res = service.client.put(f"/articles/{article_id}", json={"text": text}, headers=service.auth())
    try:
        assert res.status_code == 201, res.text
        body = res.json()
        assert body["text"] == "Première phrase de l'article, assez longue pour un titre.\nSeconde ligne."
        assert body["title"] and body["title"].startswith("Première phrase")
        assert body["date"] is None and body["url"] is None
        assert service.client.get(f"/articles/{article_id}").json()["text"] == body["text"]
    finally:
        service.client.delete(f"/articles/{article_id}", headers=service.auth())


BAD_ARTICLES: list[tuple[str, object, str]] = [
    ("missing text", {"title": "Titre"}, "'text' is required"),
    ("empty text", {"text": ""}, "text"),
    ("blank text", {"text": " \n\t "}, "text"),
    ("text null", {"text": None}, "string"),
    ("text a number", {"text": 12}, "string"),
    ("NUL in text", {"text": "Un\u0000texte"}, "NUL"),
    ("impossible date", {"text": "Un texte.", "date": "2025-02-30"}, "impossible date"),
    ("month 13", {"text": "Un texte.", "date": "2025-13-01"}, "impossible date"),
    ("day zero", {"text": "Un texte.", "date": "2025-01-00"}, "impossible date"),
    ("french date", {"text": "Un texte.", "date": "19/11/2025"}, "YYYY-MM-DD"),
    ("date with time", {"text": "Un texte.", "date": "2025-11-19T10:00:00"}, "YYYY-MM-DD"),
    ("date a number", {"text": "Un texte.", "date": 20251119}, "string"),
    ("title too long", {"text": "Un texte.", "title": "t" * 1001}, "1000"),
    ("url with spaces", {"text": "Un texte.", "url": "https://exa mple.org"}, "url"),
    ("unknown field", {"text": "Un texte.", "author": "Moi"}, "unknown field 'author'"),
    ("array body", [{"text": "Un texte."}], "JSON object"),
]


@pytest.mark.parametrize(("case", "body", "says"), BAD_ARTICLES, ids=[c for c, _, _ in BAD_ARTICLES])
def test_bad_articles_are_422_saying_why(service: Service, case: str, body: object, says: str) -> None:
    res = service.client.put("/articles/bad-article", json=body, headers=service.auth())
    assert res.status_code == 422, (case, res.text)
    detail = res.json()["detail"]
    messages = " ".join(d["msg"] for d in detail) if isinstance(detail, list) else detail
    assert says in messages, (case, messages)
    assert service.client.get("/articles/bad-article").status_code == 404
    assert not (service.settings.corpus_dir / "bad-article.md").exists()


def test_bad_write_bodies_are_4xx(service: Service) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    res = raw_request(service.url, "PUT", "/articles/bad-bytes", headers=headers, body=b'{"text": "caf\xe9"}')
    assert res.status == 400 and b"not UTF-8" in res.body
    res = raw_request(service.url, "PUT", "/articles/bad-json", headers=headers, body=b'{"text": ')
    assert res.status == 422 and b"not valid JSON" in res.body
    limit = service.settings.max_body_bytes
    big = service.client.put("/articles/too-big", json={"text": "a " * limit}, headers=service.auth())
    assert big.status_code == 413 and str(limit) in big.json()["detail"]
    assert service.client.get("/articles/too-big").status_code == 404


# --- the token ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"X-API-Token": TOKEN},
    ],
)
def test_writes_without_the_right_token_are_401(service: Service, headers: dict[str, str]) -> None:
    res = service.client.put("/articles/unauthorised", json={"text": "Un texte."}, headers=headers)
    assert res.status_code == 401, res.text
    assert res.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in res.text
    res = service.client.delete(f"/articles/{SEED_ARTICLE}", headers=headers)
    assert res.status_code == 401
    assert service.client.get("/articles/unauthorised").status_code == 404
    assert service.client.get(f"/articles/{SEED_ARTICLE}").status_code == 200


def test_the_bearer_scheme_is_case_insensitive(service: Service) -> None:
    res = service.client.put(
        "/articles/lowercase-bearer", json={"text": "Un texte."}, headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert res.status_code == 201
    assert service.client.delete("/articles/lowercase-bearer", headers={"Authorization": f"BEARER {TOKEN}"}).status_code == 204


def test_a_server_without_a_token_refuses_writes_with_403(readonly_service: Service) -> None:
    client = readonly_service.client
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer wrong"}):
        res = client.put("/articles/readonly", json={"text": "Un texte."}, headers=headers)
        assert res.status_code == 403
        assert "QA_API_TOKEN" in res.json()["detail"]
        res = client.delete(f"/articles/{SEED_ARTICLE}", headers=headers)
        assert res.status_code == 403 and "QA_API_TOKEN" in res.json()["detail"]
    # Reads need no token.
    assert client.get(f"/articles/{SEED_ARTICLE}").status_code == 200
    assert client.post("/ask", json={"question": ASTANA_QUESTION}).status_code == 200


# --- an index changed by another process ------------------------------------------------------------------
def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "the service did not pick up the new index generation"
        time.sleep(0.1)


def test_an_index_run_from_the_shell_is_picked_up_live(service: Service, encoder: Any) -> None:
    """What `qa index` does from another process: the service reloads the new generation by itself."""
    from qa.index.sync import sync_corpus

    client, settings = service.client, service.settings
    before = client.get("/health").json()["articles"]
    path: Path = settings.corpus_dir / "shell-added.md"
    path.write_text("---\ntitle: Ajouté depuis le shell\ndate: 2024-05-02\n---\n" + TELEPHERIQUE, encoding="utf-8")
    try:
        report = sync_corpus(settings.corpus_dir, settings.index_dir, encoder, progress=False)
        assert report.added == 1
        wait_for(lambda: client.get("/health").json()["articles"] == before + 1)
        assert "shell-added" in cited_ids(client, TELEPHERIQUE_Q)
    finally:
        path.unlink(missing_ok=True)
        sync_corpus(settings.corpus_dir, settings.index_dir, encoder, progress=False)
    wait_for(lambda: client.get("/health").json()["articles"] == before)
    assert "shell-added" not in cited_ids(client, TELEPHERIQUE_Q)
