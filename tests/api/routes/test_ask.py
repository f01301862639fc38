"""POST /ask over real HTTP: the answer, exact citation offsets, abstention, and every bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Service
from tests.api.raw import raw_request
from tests.api.service import ASTANA_QUESTION, SEED_ARTICLE

pytestmark = pytest.mark.model

CITATION_KEYS = {"n", "article_id", "title", "date", "url", "text", "start", "end", "score", "highlight"}


def check_citations(client: httpx.Client, body: dict[str, Any], *, may_vanish: frozenset[str] = frozenset()) -> None:
    """Each citation quotes its article exactly, and its highlight lies inside the passage.

    Articles in `may_vanish` are being deleted concurrently: one cited just before its deletion may be gone
    by the time it is read back, which is no error of the answer.
    """
    texts: dict[str, str] = {}
    for i, c in enumerate(body["citations"], 1):
        assert set(c) == CITATION_KEYS
        assert c["n"] == i
        if c["article_id"] not in texts:
            res = client.get(f"/articles/{c['article_id']}")
            if res.status_code == 404 and c["article_id"] in may_vanish:
                continue
            assert res.status_code == 200
            texts[c["article_id"]] = res.json()["text"]
        text = texts[c["article_id"]]
        assert 0 <= c["start"] < c["end"] <= len(text)
        assert c["text"] == text[c["start"] : c["end"]]
        if c["highlight"] is not None:
            h = c["highlight"]
            assert set(h) == {"start", "end"}
            assert c["start"] <= h["start"] < h["end"] <= c["end"]


def test_ask_answers_with_the_sentence_and_its_source(client: httpx.Client) -> None:
    res = client.post("/ask", json={"question": ASTANA_QUESTION, "k": 5})
    assert res.status_code == 200
    body = res.json()
    assert set(body) == {"question", "answer", "short", "abstained_because", "citations"}
    assert body["question"] == ASTANA_QUESTION
    assert body["answer"] is not None and "24 accords bilatéraux" in body["answer"]
    assert body["abstained_because"] is None
    # The short answer is quoted exactly from the article of the citation it names, inside the answering sentence.
    short = body["short"]
    assert short is not None and set(short) == {"text", "citation", "start", "end"}
    cited = next(c for c in body["citations"] if c["n"] == short["citation"])
    article = client.get(f"/articles/{cited['article_id']}").json()
    assert article["text"][short["start"] : short["end"]] == short["text"]
    assert cited["highlight"]["start"] <= short["start"] < short["end"] <= cited["highlight"]["end"]
    assert 1 <= len(body["citations"]) <= 5
    highlighted = [c for c in body["citations"] if c["highlight"]]
    assert highlighted, "the answering sentence is marked in its passage"
    best = highlighted[0]
    assert best["article_id"] == SEED_ARTICLE
    assert best["date"] == "2025-11-19"
    h = best["highlight"]
    sentence = best["text"][h["start"] - best["start"] : h["end"] - best["start"]]
    assert "24 accords bilatéraux" in sentence
    assert all(0.0 <= c["score"] <= 1.0 for c in body["citations"])
    check_citations(client, body)


@pytest.mark.parametrize(
    "question",
    [
        ASTANA_QUESTION,
        "Qu'ont signé Tokaïev et Xi Jinping à Astana ?",
        "Où s'est tenu le premier sommet UE-Asie centrale ?",
        "Quelle est la recette de la tarte tatin ?",
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_citation_offsets_quote_the_article_exactly(client: httpx.Client, question: str, mode: str) -> None:
    res = client.post("/ask", json={"question": question, "k": 8, "mode": mode})
    assert res.status_code == 200
    body = res.json()
    assert len(body["citations"]) <= 8
    check_citations(client, body)


def test_k_bounds_the_citations(client: httpx.Client) -> None:
    for k in (1, 2, 50):
        body = client.post("/ask", json={"question": ASTANA_QUESTION, "k": k}).json()
        assert len(body["citations"]) <= k
    default = client.post("/ask", json={"question": ASTANA_QUESTION}).json()
    assert len(default["citations"]) <= 5


def test_the_archive_does_not_say(client: httpx.Client) -> None:
    res = client.post("/ask", json={"question": "Who won the 1998 football World Cup final?"})
    assert res.status_code == 200
    body = res.json()
    assert body["answer"] is None and body["short"] is None
    assert isinstance(body["abstained_because"], str) and body["abstained_because"]
    check_citations(client, body)


@pytest.mark.parametrize(
    "question",
    [
        "???",
        "\u0000",
        pytest.param("a" * 2000, id="2000-chars"),
        '"signé" OR NEAR( accords*',
        "SELECT * FROM articles; --",
        "<script>alert(1)</script>",
        "🇰🇿 Astana 🤝 24 accords ?",
        "阿斯塔纳签署了什么？",
        "ما الذي وُقّع في أستانا؟",
        "2025",
        "  What was signed in Astana?  ",
        "\u200b\u200bAstana",
    ],
)
def test_odd_questions_get_an_answer_not_an_error(client: httpx.Client, question: str) -> None:
    res = client.post("/ask", json={"question": question})
    assert res.status_code == 200, res.text
    check_citations(client, res.json())


BAD_BODIES: list[tuple[str, object, str]] = [
    ("missing question", {}, "'question' is required"),
    ("missing question with k", {"k": 3}, "'question' is required"),
    ("empty question", {"question": ""}, "empty"),
    ("blank question", {"question": " \t\n "}, "blank"),
    ("over-long question", {"question": "a" * 2001}, "2000"),
    ("question null", {"question": None}, "string"),
    ("question a number", {"question": 42}, "string"),
    ("question a list", {"question": ["a"]}, "string"),
    ("k zero", {"question": "Astana", "k": 0}, "k must be"),
    ("k negative", {"question": "Astana", "k": -1}, "k must be"),
    ("k over 50", {"question": "Astana", "k": 51}, "k must be"),
    ("k huge", {"question": "Astana", "k": 10**30}, "k must be"),
    ("k a string", {"question": "Astana", "k": "5"}, "k must be"),
    ("k a float", {"question": "Astana", "k": 2.5}, "k must be"),
    ("k a bool", {"question": "Astana", "k": True}, "k must be"),
    ("k null", {"question": "Astana", "k": None}, "k must be"),
    ("generate a number", {"question": "Astana", "generate": 0}, "valid boolean"),
    ("generate a string", {"question": "Astana", "generate": "yes"}, "valid boolean"),
    ("unknown mode", {"question": "Astana", "mode": "magic"}, "hybrid"),
    ("unknown field", {"question": "Astana", "K": 3}, "unknown field 'K'"),
    ("array body", [{"question": "Astana"}], "JSON object"),
    ("string body", "Astana", "JSON object"),
    ("null body", None, "JSON body"),
]


@pytest.mark.parametrize(("case", "body", "says"), BAD_BODIES, ids=[c for c, _, _ in BAD_BODIES])
def test_bad_bodies_get_422_saying_why(client: httpx.Client, case: str, body: object, says: str) -> None:
    res = client.post("/ask", json=body)
    assert res.status_code == 422, (case, res.text)
    detail = res.json()["detail"]
    messages = " ".join(d["msg"] for d in detail) if isinstance(detail, list) else detail
    assert says in messages, (case, messages)


@pytest.mark.parametrize(
    ("raw", "status", "says"),
    [
        (b'{"question": "Astana"', 422, "not valid JSON"),
        (b"{question: 'Astana'}", 422, "not valid JSON"),
        (b'{"question": "Astana",}', 422, "not valid JSON"),
        (b"", 422, "JSON body"),
        (b'{"question": "Ast\xe0na"}', 400, "not UTF-8"),
        (b"\xff\xfe{\x00}\x00", 400, "not UTF-8"),
        (b'{"question": "Astana"} trailing', 422, "not valid JSON"),
        (b"NaN", 422, "JSON object"),
        (b'{"question": "\\ud800 Astana"}', 422, "surrogate"),
        (b'{"question": "Astana", "k": NaN}', 422, "k must be"),
        (b'{"question": "Astana", "question": ""}', 422, "empty"),
    ],
)
def test_malformed_bodies_are_4xx_saying_why(service: Service, raw: bytes, status: int, says: str) -> None:
    res = raw_request(service.url, "POST", "/ask", headers={"Content-Type": "application/json"}, body=raw)
    assert res.status == status, res.body
    assert says in res.body.decode()


def test_a_body_without_json_content_type_is_refused(client: httpx.Client) -> None:
    res = client.post("/ask", content=b'{"question": "Astana"}', headers={"Content-Type": "text/plain"})
    assert res.status_code == 422
    assert "application/json" in res.text
    res = client.post("/ask", content=b'{"question": "Astana"}')  # no Content-Type at all
    assert res.status_code == 422


def test_over_large_bodies_get_413_with_the_limit(service: Service) -> None:
    limit = service.settings.max_body_bytes
    big = b'{"question": "' + b"a" * limit + b'"}'
    res = service.client.post("/ask", content=big, headers={"Content-Type": "application/json"})
    assert res.status_code == 413
    assert str(limit) in res.json()["detail"]
    # Declared too large: refused on the header alone, before any byte of the body is read.
    declared = raw_request(
        service.url, "POST", "/ask", headers={"Content-Type": "application/json", "Content-Length": str(10**9)}
    )
    assert declared.status == 413 and str(limit) in declared.body.decode()
    # Streamed (chunked, no Content-Length): refused once the bytes received pass the limit.
    chunks = (b"a" * 16_384 for _ in range(limit // 16_384 + 4))
    streamed = raw_request(service.url, "POST", "/ask", headers={"Content-Type": "application/json"}, chunks=chunks)
    assert streamed.status == 413 and str(limit) in streamed.body.decode()
    # A chunked body under the limit goes through.
    ok = raw_request(
        service.url,
        "POST",
        "/ask",
        headers={"Content-Type": "application/json"},
        chunks=[b'{"question": ', b'"Astana"}'],
    )
    assert ok.status == 200


def test_wrong_methods_are_405(client: httpx.Client) -> None:
    assert client.get("/ask").status_code == 405
    assert client.put("/ask", json={"question": "x"}).status_code == 405


def test_parallel_questions_while_writing(service: Service) -> None:
    """Eight clients at once, while an article is written and deleted: every answer is a 200 with exact offsets."""
    import concurrent.futures

    questions = [ASTANA_QUESTION, "Qu'a signé le Kazakhstan ?", "Samarcande sommet UE-Asie centrale", "Tokaïev Washington"]

    def one_client(i: int) -> int:
        with httpx.Client(base_url=service.url, timeout=120) as c:
            for j in range(4):
                res = c.post("/ask", json={"question": questions[(i + j) % len(questions)], "k": 3})
                assert res.status_code == 200, res.text
                check_citations(c, res.json(), may_vanish=frozenset({"parallel-write"}))
        return i

    with concurrent.futures.ThreadPoolExecutor(max_workers=9) as pool:
        futures = [pool.submit(one_client, i) for i in range(8)]
        text = "Le 9 juin 2025, Astana a accueilli un forum parallèle sur la logistique eurasienne."
        put = service.client.put("/articles/parallel-write", json={"text": text}, headers=service.auth())
        assert put.status_code == 201
        assert service.client.delete("/articles/parallel-write", headers=service.auth()).status_code == 204
        assert sorted(f.result() for f in futures) == list(range(8))
