"""GET /timeline over the seed articles on a real app on loopback: date order, periods, queries, 422s, offsets."""

from __future__ import annotations

from tests.api.fake_site import Site

SEED_DATES = ["2024", "2025-04-04", "2025-06-16", "2025-08-30", "2025-11-06", "2025-11-11"]


def test_the_seed_timeline_in_date_order_cited_to_exact_sentences(site: Site) -> None:
    res = site.client.get("/timeline")
    assert res.status_code == 200, res.text
    events = res.json()["events"]
    assert [e["date"] for e in events] == SEED_DATES
    moscow = events[-1]
    assert (moscow["date_end"], moscow["precision"]) == ("2025-11-12", "day") and "Moscou" in moscow["text"]
    for event in events:
        # The fields of ../shared/API.md: the first report flat, the others in also_in.
        text = site.client.get(f"/articles/{event['article_id']}").json()["text"]
        assert text[event["start"] : event["end"]] == event["text"]
        assert {"title", "published"} <= event.keys() and event["also_in"] == []
        for source in event["sources"]:
            text = site.client.get(f"/articles/{source['article_id']}").json()["text"]
            assert text[source["start"] : source["end"]] == source["text"]


def test_periods_and_queries(site: Site) -> None:
    summer = site.client.get("/timeline", params={"from": "2025-06", "to": "2025-08"}).json()["events"]
    assert [e["date"] for e in summer] == ["2025-06-16", "2025-08-30"]
    tianjin = site.client.get("/timeline", params={"q": "Tianjin"}).json()["events"]
    assert [e["date"] for e in tianjin] == ["2025-08-30"]
    assert len(site.client.get("/timeline", params={"limit": 2}).json()["events"]) == 2


def test_bad_periods_and_limits_are_422_naming_them(site: Site) -> None:
    for params, says in (({"from": "2025-13"}, "not a real date"), ({"to": "juin"}, "not YYYY"),
                         ({"from": "2025-09", "to": "2025-01"}, "reversed"), ({"limit": 0}, "limit")):  # fmt: skip
        res = site.client.get("/timeline", params=params)
        assert res.status_code == 422 and says in res.text, (params, res.text)


def _dated_in(text: str, first: str, last: str) -> bool:
    from qa.text.dates import extract_dates, overlaps, parse_period

    period = parse_period(first, last)
    assert period is not None
    return any(overlaps(m.value, period) for m in extract_dates(text))


def test_ask_within_a_period_cites_only_passages_about_it(site: Site) -> None:
    question = {"question": "Quels accords Tokaïev a-t-il signés ?", "k": 5, "mode": "bm25"}
    anywhere = site.client.post("/ask", json=question).json()["citations"]
    assert any(not _dated_in(c["text"], "2025-11", "2025-11") for c in anywhere)  # the filter has work to do
    november = site.client.post("/ask", json={**question, "date_from": "2025-11", "date_to": "2025-11"}).json()
    assert november["citations"] and all(_dated_in(c["text"], "2025-11", "2025-11") for c in november["citations"])
    later = site.client.post("/ask", json={**question, "date_from": "2026"}).json()
    assert later["answer"] is None and later["citations"] == []  # the archive says nothing of that period


def test_ask_refuses_a_bad_period_naming_it(site: Site) -> None:
    for period, says in (
        ({"date_from": "2025-13"}, "not a real date"),
        ({"date_from": "2025-09", "date_to": "2025-01"}, "reversed"),
    ):
        res = site.client.post("/ask", json={"question": "Astana ?", **period})
        assert res.status_code == 422 and says in res.text, res.text
