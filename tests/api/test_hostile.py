"""Hostile input over real HTTP, past what tests/api/routes covers: limits counted in characters, ids at
and past their bounds, traversal and symlinks that must never reach a file outside the corpus folder,
request lines and headers no client library would send, odd bodies, and the constant-time token check."""

from __future__ import annotations

import gzip
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.api.conftest import Service
from tests.api.own_service import own_service
from tests.api.raw import raw_request
from tests.api.service import TOKEN

pytestmark = pytest.mark.model

JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, seed_index: tuple[Path, Path], encoder: Any) -> Iterator[Service]:
    """A service of this module's own, over a throwaway copy: these tests write, and try to write elsewhere."""
    with own_service(tmp_path_factory.mktemp("hostile") / "root", seed_index, encoder) as service:
        yield service


def messages(res: httpx.Response) -> str:
    detail = res.json()["detail"]
    return " ".join(d["msg"] for d in detail) if isinstance(detail, list) else str(detail)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- questions ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("char", "what"),
    [("é", "2-byte UTF-8"), ("€", "3-byte UTF-8"), ("😀", "4-byte UTF-8, 2 UTF-16 units"), ("e\u0301"[1], "combining")],
)
def test_the_question_limit_counts_characters_not_bytes(hostile: Service, char: str, what: str) -> None:
    at_limit = hostile.client.post("/ask", json={"question": "Astana " + char * 1993})
    assert at_limit.status_code == 200, (what, at_limit.text)
    over = hostile.client.post("/ask", json={"question": "Astana " + char * 1994})
    assert over.status_code == 422, what
    assert "2001 characters" in messages(over) and "2000" in messages(over)


@pytest.mark.parametrize("blank", ["\u3000", "\u2003\u2009\u00a0", "\ufeff", "\u0085\u2028\u2029", "\r\n\t\v\f", "\u1680 \u205f"])
def test_questions_of_unicode_whitespace_are_blank(hostile: Service, blank: str) -> None:
    res = hostile.client.post("/ask", json={"question": blank})
    assert res.status_code == 422
    assert "empty or blank" in messages(res)


@pytest.mark.parametrize("k", [0, 51, -(2**63), 2**64, 1e308, "1", [5], {"k": 5}, 5.5])
def test_k_out_of_range_or_not_a_number(hostile: Service, k: object) -> None:
    res = hostile.client.post("/ask", json={"question": "Astana", "k": k})
    assert res.status_code == 422
    assert "k must be a whole number from 1 to 50" in messages(res)


# --- article ids -------------------------------------------------------------------------------------------
def test_ids_at_their_limits(hostile: Service) -> None:
    corpus = hostile.settings.corpus_dir
    longest = "a" + "-._" * 42 + "z"  # 128 characters: letters, digits, '.', '_', '-'
    assert len(longest) == 128
    for article_id in (longest, "a..b", "x.md", "0", "_", "-"):
        res = hostile.client.put(f"/articles/{article_id}", json={"text": "Un texte court."}, headers=AUTH)
        assert res.status_code == 201, (article_id, res.text)
        assert (corpus / f"{article_id}.md").is_file()
        assert hostile.client.get(f"/articles/{article_id}").json()["id"] == article_id
        assert hostile.client.delete(f"/articles/{article_id}", headers=AUTH).status_code == 204
        assert not (corpus / f"{article_id}.md").exists()
    res = hostile.client.put(f"/articles/{longest}b", json={"text": "Un texte."}, headers=AUTH)
    assert res.status_code == 422 and "128" in res.json()["detail"]


TRAVERSALS = [
    "../evil",
    "../../evil",
    "../../../../../../tmp/evil",
    "..%2fevil",
    "..%2F..%2Fevil",
    "%2e%2e%2fevil",
    "%2e%2e/%2e%2e/evil",
    "%252e%252e%252fevil",
    "..%5cevil",
    "..\\evil",
    "....//evil",
    "..;/evil",
    "a/../../evil",
    "/etc/evil",
    "//evil",
    "%ef%bc%8e%ef%bc%8e%ef%bc%8fevil",  # fullwidth "．．／"
    "%c0%ae%c0%ae%c0%afevil",  # overlong UTF-8 for "../"
    "evil%00",
    "evil%00.md",
    "~%2fevil",
    ".evil",
    "evil%0d%0a",
    "evil%20",
    "%20evil",
]


@pytest.mark.parametrize("payload", TRAVERSALS)
def test_traversal_never_writes_outside_the_corpus(hostile: Service, payload: str) -> None:
    corpus = hostile.settings.corpus_dir
    root = corpus.parent
    before = tree(root)
    for method, body in (("PUT", b'{"text": "Pwned."}'), ("GET", None), ("DELETE", None)):
        res = raw_request(hostile.url, method, f"/articles/{payload}", headers={**AUTH, **JSON}, body=body)
        assert res.status == 422, (method, payload, res.status, res.body)
        assert b"invalid article id" in res.body
    assert tree(root) == before, "nothing written in the corpus folder nor beside it"
    # Where a naive join of the folder and the id would have written: nothing there either.
    for decoded in {payload, payload.replace("%2f", "/").replace("%2F", "/").replace("%2e", ".")}:
        naive = os.path.normpath(corpus / f"{decoded}.md")
        if not naive.startswith(str(corpus) + os.sep):
            assert not os.path.lexists(naive), naive


def test_a_symlink_in_the_corpus_is_replaced_never_followed(hostile: Service, tmp_path: Path) -> None:
    """A write to an id whose file is a link to somewhere else replaces the link, not what it points to."""
    outside = tmp_path / "outside.md"
    outside.write_text("Ne pas toucher.", encoding="utf-8")
    link = hostile.settings.corpus_dir / "linked.md"
    link.symlink_to(outside)
    try:
        res = hostile.client.put("/articles/linked", json={"text": "Écrit par l'API."}, headers=AUTH)
        assert res.status_code == 201, res.text
        assert outside.read_text(encoding="utf-8") == "Ne pas toucher."
        assert not link.is_symlink() and "Écrit par l'API." in link.read_text(encoding="utf-8")
        assert hostile.client.delete("/articles/linked", headers=AUTH).status_code == 204
        assert outside.read_text(encoding="utf-8") == "Ne pas toucher."
    finally:
        link.unlink(missing_ok=True)


# --- dates and texts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("date", "says"),
    [
        ("2023-02-29", "impossible date"),  # not a leap year
        ("1900-02-29", "impossible date"),  # divisible by 100, not by 400
        ("2025-04-31", "impossible date"),
        ("2025-00-10", "impossible date"),
        ("0000-01-01", "impossible date"),  # there is no year 0
        ("9999-12-32", "impossible date"),
        ("2025-11-19 ", "YYYY-MM-DD"),
        ("2025-11-19\n", "YYYY-MM-DD"),
        ("+2025-11-19", "YYYY-MM-DD"),
        ("20251119", "YYYY-MM-DD"),
        ("2025-W47-3", "YYYY-MM-DD"),
        ("\uff12\uff10\uff12\uff15-11-19", "YYYY-MM-DD"),  # fullwidth digits
        ("\u0662\u0660\u0662\u0665-11-19", "YYYY-MM-DD"),  # Arabic-Indic digits
        ("", "YYYY-MM-DD"),
    ],
)
def test_impossible_or_malformed_dates_are_422(hostile: Service, date: str, says: str) -> None:
    res = hostile.client.put("/articles/dated", json={"text": "Un texte daté.", "date": date}, headers=AUTH)
    assert res.status_code == 422, (date, res.text)
    assert says in messages(res)
    assert hostile.client.get("/articles/dated").status_code == 404


def test_real_calendar_edges_are_accepted(hostile: Service) -> None:
    for date in ("2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"):
        res = hostile.client.put("/articles/dated-ok", json={"text": "Un texte daté.", "date": date}, headers=AUTH)
        assert res.status_code in (200, 201) and res.json()["date"] == date, res.text
    assert hostile.client.delete("/articles/dated-ok", headers=AUTH).status_code == 204


@pytest.mark.parametrize("text", ["\ufeff", "\u0085", "\r\n\r\n", "\u3000\u2028\u00a0", " \ufeff \t"])
def test_texts_of_nothing_but_whitespace_are_empty(hostile: Service, text: str) -> None:
    res = hostile.client.put("/articles/empty-text", json={"text": text}, headers=AUTH)
    assert res.status_code == 422, res.text
    assert "empty or blank" in messages(res)
    assert not (hostile.settings.corpus_dir / "empty-text.md").exists()


# --- bodies --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "raw", "headers"),
    [
        ("/ask", b"[" * 100_000, JSON),  # nested past any recursion limit
        ("/ask", b'{"question": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON),
        ("/ask", gzip.compress(b'{"question": "Astana"}'), {**JSON, "Content-Encoding": "gzip"}),
        ("/ask", '{"question": "Été"}'.encode("latin-1"), {"Content-Type": "application/json; charset=latin-1"}),
        ("/ask", '{"question": "Astana"}'.encode("utf-16"), JSON),
        ("/ask", b'{"question": "Astana", "k": 1' + b"0" * 5000 + b"}", JSON),
        ("/articles/body", b'{"text": "' + b"\\u0000" * 10 + b'"}', JSON),
        ("/articles/body", b'{"text": "a", "text": ""}', JSON),
        ("/articles/body", b"{}", JSON),
        ("/articles/body", b"", JSON),
        ("/articles/body", b'{"text": "Un texte."}', {"Content-Type": "text/plain"}),
        ("/articles/body", b'{"text": "Un \xff texte."}', JSON),
    ],
)
def test_odd_bodies_are_4xx(hostile: Service, path: str, raw: bytes, headers: dict[str, str]) -> None:
    method = "POST" if path == "/ask" else "PUT"
    res = raw_request(hostile.url, method, path, headers={**AUTH, **headers}, body=raw)
    assert 400 <= res.status < 500, (res.status, res.body[:300])
    detail = res.json()["detail"]  # type: ignore[index]
    assert detail and "error parsing the body" not in str(detail), "says what is wrong"
    if raw.startswith(b"[[[") or b"[[[" in raw:
        assert "nested too deeply" in detail
    assert hostile.client.get("/articles/body").status_code == 404


def test_over_large_writes_are_413_saying_the_limit_and_write_nothing(hostile: Service) -> None:
    limit = hostile.settings.max_body_bytes
    before = tree(hostile.settings.corpus_dir)
    headers = {**AUTH, **JSON}
    declared = raw_request(hostile.url, "PUT", "/articles/huge", headers={**headers, "Content-Length": str(limit + 1)})
    assert declared.status == 413 and f"{limit} bytes" in declared.body.decode()
    chunks = [b'{"text": "'] + [b"a" * 16_384] * (limit // 16_384 + 2) + [b'"}']
    streamed = raw_request(hostile.url, "PUT", "/articles/huge", headers=headers, chunks=chunks)
    assert streamed.status == 413 and f"{limit} bytes" in streamed.body.decode()
    exact = b'{"text": "' + b"a" * (limit - 12) + b'"}'
    assert len(exact) == limit  # the limit itself is allowed: only bytes past it are refused
    res = raw_request(hostile.url, "PUT", "/articles/huge", headers=headers, body=exact)
    assert res.status == 201, res.body[:300]
    assert hostile.client.delete("/articles/huge", headers=AUTH).status_code == 204
    assert tree(hostile.settings.corpus_dir) == before


# --- request lines and headers no client library sends ---------------------------------------------------------
def send_raw(url: str, data: bytes) -> bytes:
    """Write bytes on a fresh connection and read the reply until the server closes it."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@pytest.mark.parametrize(
    "head",
    [
        b"GET /articles/\xff\xfe HTTP/1.1",
        b"GET /articles/caf\xc3\xa9 HTTP/1.1",
        b"GET /articles/%FF%FE HTTP/1.1",
        b"GET /articles?limit=\xff HTTP/1.1",
        b"GET /articles?limit=%FF HTTP/1.1",
        b"GET /articles/a%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1",
        b"GET /static/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1",
        b"GET /../../etc/passwd HTTP/1.1",
        b"GET * HTTP/1.1",
        b"BREW /ask HTTP/1.1",
        b"POST /ask HTTP/1.1\r\nContent-Length: abc",
        b"POST /ask HTTP/1.1\r\nContent-Length: -1",
        b"POST /ask HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 7",
        b"PUT /articles/x HTTP/1.1\r\nAuthorization: Bearer \xff\xfe\xfd\r\nContent-Length: 2",
        b"PUT /articles/x HTTP/1.1\r\nAuthorization: Bearer " + b"t" * 20_000 + b"\r\nContent-Length: 2",
        b"PUT /articles/x HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode() + b"\x00\r\nContent-Length: 2",
    ],
)
def test_raw_requests_are_4xx_never_5xx(hostile: Service, head: bytes) -> None:
    reply = send_raw(hostile.url, head + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n{}")
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 4"), (head[:80], reply[:300])
    assert not (hostile.settings.corpus_dir / "x.md").exists()


# --- the token ---------------------------------------------------------------------------------------------------
class SpyHmac:
    """Stands in for the hmac module in qa.api.deps and records every comparison made."""

    def __init__(self) -> None:
        import hmac

        self.calls: list[tuple[bytes, bytes]] = []
        self._real = hmac.compare_digest

    def compare_digest(self, a: bytes, b: bytes) -> bool:
        self.calls.append((a, b))
        return self._real(a, b)


@pytest.mark.parametrize(
    "given",
    ["x", TOKEN[:1], TOKEN[:-1], TOKEN + "x", "X" + TOKEN[1:], TOKEN[:-1] + "X", TOKEN.upper(), "é" * 40, TOKEN],
)
def test_every_token_is_compared_in_constant_time(hostile: Service, monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    """Whatever its length or where it first differs, a token goes through hmac.compare_digest, whose time
    does not depend on where the bytes differ; nothing else decides (no ==, no early return on length)."""
    import inspect

    import qa.api.deps as deps

    spy = SpyHmac()
    monkeypatch.setattr(deps, "hmac", spy)
    header = f"Bearer {given}".encode()  # sent as bytes: "é" travels as UTF-8
    res = hostile.client.put("/articles/timing", json={"text": "Un texte."}, headers={b"Authorization": header})
    right = given == TOKEN
    assert res.status_code == (201 if right else 401), res.text
    assert spy.calls == [(given.encode(), TOKEN.encode())]
    if right:
        assert hostile.client.delete("/articles/timing", headers=AUTH).status_code == 204
    source = inspect.getsource(deps.require_writer)
    assert "compare_digest" in source
    assert "== expected" not in source and "token ==" not in source and "len(token)" not in source


def test_a_token_configured_with_non_utf8_bytes_works(tmp_path: Path, seed_index: tuple[Path, Path], encoder: Any) -> None:
    """QA_API_TOKEN set to bytes that are not UTF-8 reaches Python as lone surrogates: the same bytes in the
    header must open writes, other bytes must not, and neither may be a 500."""
    with own_service(tmp_path, seed_index, encoder, api_token=SecretStr("s3cret-\udcff\udcfe")) as svc:
        right = {b"Authorization": b"Bearer s3cret-\xff\xfe"}
        for headers, status in (
            ({b"Authorization": b"Bearer s3cret-"}, 401),
            ({b"Authorization": b"Bearer s3cret-\xff"}, 401),
            (right, 201),
        ):
            res = svc.client.put("/articles/bytes-token", json={"text": "Un texte."}, headers=headers)
            assert res.status_code == status, res.text
        assert svc.client.delete("/articles/bytes-token", headers=right).status_code == 204
