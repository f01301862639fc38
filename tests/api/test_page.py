"""The page in a real headless browser (Debian's chromium, driven by Playwright): ask, read, see the marks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.browser import CHROMIUM, launch_browser, service_page
from tests.api.conftest import Service
from tests.api.service import ASTANA_QUESTION, REPO, SEED_ARTICLE

SCREENSHOT = REPO / "eval" / "reports" / "screenshot.png"
ARTICLE_SCREENSHOT = REPO / "eval" / "reports" / "screenshot-article.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.model,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install -y chromium); in CI this test must run",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_browser() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, service: Service) -> Iterator[Any]:
    """A fresh page that may load nothing but the service itself (any outside request fails the test)."""
    with service_page(browser, service.url) as opened:
        yield opened


def test_ask_see_the_highlighted_answer_and_read_the_article(page: Any, service: Service) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/")
    question = page.get_by_label("Your question")
    expect(question).to_be_focused()
    question.fill(ASTANA_QUESTION)
    question.press("Enter")  # the keyboard is enough: Enter submits the form

    card = page.locator("li.citation").filter(has=page.locator("mark.answer", has_text="24 accords bilatéraux")).first
    expect(card.locator("mark.answer")).to_be_visible()
    expect(card.locator("time")).to_have_text("2025-11-19")
    expect(card.locator(".article-id")).to_have_text(SEED_ARTICLE)
    expect(page.locator("#answer")).to_contain_text("24 accords bilatéraux")
    expect(page.locator("#status")).to_contain_text("Answer found")
    assert page.evaluate("document.activeElement.id") == "results", "focus moves to the results"
    # The short answer comes first, bold, and is marked inside the answering sentence of its passage.
    short = service.client.post("/ask", json={"question": ASTANA_QUESTION}).json()["short"]
    assert short is not None
    first = page.locator("#answer > p").first
    expect(first).to_have_class("short-answer")
    expect(first.locator("strong")).to_have_text(short["text"])
    expect(page.locator(f"#cite-{short['citation']} mark.answer strong.short")).to_have_text(short["text"])

    # The screenshot the README shows: from the top of the page down to the highlighted passage.
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    box = card.bounding_box()
    bottom = box["y"] + box["height"] + page.evaluate("window.scrollY") + 32
    page.screenshot(path=str(SCREENSHOT), full_page=True, clip={"x": 0, "y": 0, "width": 1100, "height": min(bottom, 2400)})

    # The whole article, opened from the keyboard, with the cited passage and its sentence marked.
    read = card.get_by_role("button", name=re.compile("Read the whole article"))
    read.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#article-view")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#article-title")).to_be_focused()
    passage = dialog.locator("#article-text mark.passage")
    expect(passage).to_have_count(1)
    expect(passage.locator("mark.answer")).to_contain_text("24 accords bilatéraux")
    expect(dialog.locator("time")).to_have_text("2025-11-19")
    expect(passage.locator("mark.answer")).to_be_in_viewport()

    # The marked text is exactly the citation's text: the offsets line up in the browser too.
    answer = service.client.post("/ask", json={"question": ASTANA_QUESTION, "k": 5}).json()
    cited = {c["text"] for c in answer["citations"] if c["article_id"] == SEED_ARTICLE}
    assert passage.text_content() in cited
    page.screenshot(path=str(ARTICLE_SCREENSHOT))

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(read).to_be_focused()


def test_the_page_says_when_the_archive_does_not_say(page: Any, service: Service) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/?q=Who+won+the+1998+football+World+Cup+final%3F")
    expect(page.get_by_label("Your question")).to_have_value("Who won the 1998 football World Cup final?")
    expect(page.locator("#answer")).to_contain_text("The archive does not say")
    expect(page.locator("#status")).to_have_text("The archive does not say.")
    why = service.client.post("/ask", json={"question": "Who won the 1998 football World Cup final?"}).json()["abstained_because"]
    expect(page.locator("#answer .abstained-because")).to_have_text(f"Why: {why}.")

    page.get_by_label("Your question").fill("   ")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#status")).to_contain_text("Type a question first")


def test_the_timeline_view_lists_the_events_of_a_period_and_opens_their_sentence(page: Any, service: Service) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/")
    page.get_by_label("From").fill("2025-06")
    page.get_by_label("To").fill("2025-08")
    page.get_by_role("button", name="Show the timeline").click()
    events = page.locator("#events li.event")
    expected = service.client.get("/timeline", params={"from": "2025-06", "to": "2025-08", "limit": 100}).json()["events"]
    assert expected, "the seeds report events in summer 2025"
    expect(events).to_have_count(len(expected))
    expect(events.first.locator(".event-date time").first).to_have_text(expected[0]["date"])
    # Oldest first, each inside the period.
    dates = page.locator("#events .event-date > time:first-child").all_text_contents()
    assert all("2025-06" <= d[:7] <= "2025-08" for d in dates)
    tianjin = events.filter(has_text="Tianjin").first
    expect(tianjin).to_contain_text("2025-08-30")
    # An article that cannot be read is said in the timeline's status line, not in the question's.
    page.route("**/articles/**", lambda route: route.fulfill(status=503, json={"detail": "the index is busy"}))
    page.expected_errors.append("status of 503")
    tianjin.locator("button.event-source").first.click()
    expect(page.locator("#timeline-status")).to_contain_text("Could not open the article")
    expect(page.locator("#status")).not_to_contain_text("Could not open the article")
    page.unroute("**/articles/**")
    # A source opens its article with the event's sentence marked.
    tianjin.locator("button.event-source").first.click()
    dialog = page.locator("#article-view")
    expect(dialog).to_be_visible()
    event = next(e for e in expected if "Tianjin" in e["text"])
    expect(dialog.locator("#article-text mark.answer")).to_have_text(event["text"])
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # A bad date is said, and nothing is asked.
    page.get_by_label("From").fill("juin")
    page.get_by_role("button", name="Show the timeline").click()
    expect(page.locator("#timeline-status")).to_contain_text("is no date")


def test_article_text_is_shown_as_text_never_as_html(page: Any, service: Service) -> None:
    from playwright.sync_api import expect

    evil = '<img src=x onerror="document.body.dataset.pwned=1"><script>document.body.dataset.pwned=1</script>'
    text = f"Le 5 mai 2024, la commune de Trifouilly a voté un budget de 3 millions d'euros {evil} pour sa piscine."
    res = service.client.put("/articles/xss-check", json={"text": text, "title": f"Trifouilly {evil}"}, headers=service.auth())
    assert res.status_code == 201
    try:
        page.goto(f"{service.url}/")
        page.get_by_label("Your question").fill("Quel budget Trifouilly a-t-elle voté pour sa piscine ?")
        page.keyboard.press("Enter")
        card = page.locator("li.citation").filter(has_text="Trifouilly").first
        expect(card.locator(".cite-title")).to_contain_text("<img src=x")
        card.get_by_role("button", name=re.compile("Read the whole article")).click()
        expect(page.locator("#article-text")).to_contain_text("<script>")
        assert page.locator("img, #article-text script, #citations script").count() == 0
        assert page.evaluate("document.body.dataset.pwned") is None
    finally:
        service.client.delete("/articles/xss-check", headers=service.auth())


def test_a_citation_marker_inside_the_article_text_is_not_linked(page: Any, service: Service) -> None:
    from playwright.sync_api import expect

    text = "Le 5 mai 2024, la commune de Marcillac a inauguré sept ponts [1] sur la rivière Dourdou."
    res = service.client.put("/articles/marker-check", json={"text": text, "title": "Marcillac"}, headers=service.auth())
    assert res.status_code == 201
    try:
        page.goto(f"{service.url}/")
        page.get_by_label("Your question").fill("Combien de ponts la commune de Marcillac a-t-elle inaugurés ?")
        page.keyboard.press("Enter")
        expect(page.locator("#answer")).to_contain_text("sept ponts [1] sur la rivière")
        links = page.locator("#answer .answer-text a.cite-ref")
        expect(links).to_have_count(1)  # the answer's own marker only: the article's "[1]" stays text
        target = links.first.get_attribute("href")
        assert target is not None
        expect(page.locator(target)).to_contain_text("Marcillac")
    finally:
        service.client.delete("/articles/marker-check", headers=service.auth())


def test_the_page_fits_a_phone(browser: Any, service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{service.url}/?q={ASTANA_QUESTION}")
        expect(page.locator("#citations mark.answer").first).to_be_visible(timeout=60_000)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways on a phone ({width} px)"
        size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.passage-text')).fontSize)")
        assert size >= 14
        page.screenshot(path=str(tmp_path / "phone.png"))
    finally:
        context.close()


def test_docs_work_under_their_csp(page: Any, service: Service) -> None:
    """Swagger UI renders every endpoint with no script inline: the fixture fails on any CSP violation."""
    from playwright.sync_api import expect

    response = page.goto(f"{service.url}/docs")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.locator(".opblock-summary-path", has_text="/ask").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/articles/{article_id}").first).to_be_visible()
