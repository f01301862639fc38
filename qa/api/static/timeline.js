// The timeline view: GET /timeline over a period and an optional query, the events as a vertical list,
// each source opening its article at the sentence that reports the event.
(() => {
  "use strict";

  const form = document.getElementById("timeline-form");
  const from = document.getElementById("timeline-from");
  const to = document.getElementById("timeline-to");
  const query = document.getElementById("timeline-q");
  const button = document.getElementById("timeline-button");
  const status = document.getElementById("timeline-status");
  const list = document.getElementById("events");
  const PERIOD = /^\d{4}(-\d{2}(-\d{2})?)?$/;

  function setStatus(message, kind = "") {
    status.textContent = message;
    status.className = "status" + (kind ? " " + kind : "");
  }

  function when(e) {
    const { el } = window.qaPage;
    const span = el("span", { class: "event-date" }, el("time", { datetime: e.date }, e.date));
    if (e.date_end) span.append(" – ", el("time", { datetime: e.date_end }, e.date_end));
    return span;
  }

  function sourceButton(s) {
    const { el, openArticle } = window.qaPage;
    const name = s.title || s.article_id;
    const open = el("button", { type: "button", class: "event-source",
      "aria-label": `Open ${name} at this sentence` }, name, s.published ? ` (${s.published})` : "");
    // The sentence is both the passage and the marked sentence of the article view.
    const cited = { article_id: s.article_id, title: s.title, date: s.published, url: null,
      start: s.start, end: s.end, highlight: { start: s.start, end: s.end } };
    open.addEventListener("click", () => openArticle(cited, open, setStatus));
    return el("li", {}, open);
  }

  function eventItem(e) {
    const { el } = window.qaPage;
    const item = el("li", { class: "event" },
      el("p", { class: "event-when" }, when(e), el("span", { class: "event-precision" }, ` ${e.precision}`)),
      el("blockquote", { class: "event-text" }, e.text));
    if (e.resolved) {
      const anchor = e.resolved.anchor === "publication" ? "the publication date" : "the previous dated sentence";
      item.append(el("p", { class: "event-resolved" },
        `Dated from «${e.resolved.phrase}», counted from ${anchor} (${e.resolved.anchor_date}).`));
    }
    item.append(el("ul", { class: "event-sources", "aria-label": "Reported by" }, ...e.sources.map(sourceButton)));
    return item;
  }

  async function show() {
    const { describe } = window.qaPage;
    const params = new URLSearchParams();
    for (const [name, input] of [["from", from], ["to", to]]) {
      const value = input.value.trim();
      if (value && !PERIOD.test(value)) {
        setStatus(`“${value}” is no date: write YYYY, YYYY-MM or YYYY-MM-DD.`, "error");
        input.focus();
        return;
      }
      if (value) params.set(name, value);
    }
    if (query.value.trim()) params.set("q", query.value.trim());
    params.set("limit", "100");
    button.disabled = true;
    setStatus("Reading the archive’s dates…", "busy");
    try {
      const res = await fetch(`/timeline?${params}`, { headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        setStatus(`Could not show the timeline: ${describe(body, res.status)}`, "error");
        return;
      }
      list.replaceChildren(...body.events.map(eventItem));
      const n = body.events.length;
      setStatus(n ? `${n} event${n === 1 ? "" : "s"}, oldest first.` : "The archive reports no dated event here.");
    } catch (err) {
      setStatus("Could not reach the service: is it still running?", "error");
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
})();
