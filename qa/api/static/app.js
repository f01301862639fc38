// The page: ask POST /ask, show the answer and its cited passages, open an article with the passage marked.
// When the server has an LLM (GET /health's llm), it asks POST /ask/stream instead and shows the answer written
// in the question's language as it is generated, then as checked.
// Every piece of text goes in as a text node (append / textContent): nothing is ever parsed as HTML.
"use strict";

(() => {
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const button = document.getElementById("ask-button");
  const statusLine = document.getElementById("status");
  const results = document.getElementById("results");
  const answerBox = document.getElementById("answer");
  const list = document.getElementById("citations");
  const dialog = document.getElementById("article-view");
  const articleTitle = document.getElementById("article-title");
  const articleMeta = document.getElementById("article-meta");
  const articleText = document.getElementById("article-text");
  const articleClose = document.getElementById("article-close");

  const articles = new Map(); // id -> Promise of the article, fetched once per page
  let opener = null; // the button that opened the article view, to give focus back
  let pending = null; // the AbortController of the question in flight
  let current = null; // the last answer shown: its short answer is marked wherever its passage is
  let llm = null; // the server's LLM (from GET /health), or null: then nothing is generated

  /** An element with attributes and children (strings become text nodes: never parsed as HTML). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  /**
   * Offsets from the server count code points (Python); JavaScript strings count UTF-16 units.
   * Returns a function mapping a code-point offset in `text` to a UTF-16 index (identity when equal).
   */
  function unitIndex(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return (i) => Math.max(0, Math.min(i, text.length));
    const units = [0];
    let u = 0;
    for (const ch of text) {
      u += ch.length;
      units.push(u);
    }
    return (i) => units[Math.max(0, Math.min(i, units.length - 1))];
  }

  /**
   * `text` (whose first character is at code-point offset `base` of its article) with the ranges
   * `outer` and `inner` (article offsets, [start, end)) wrapped in <mark>s; inner lies inside outer.
   */
  function marked(text, base, outer, inner, short = null) {
    const at = unitIndex(text);
    const frag = document.createDocumentFragment();
    const cut = (s, e) => text.slice(at(s - base), at(e - base));
    const inside = (s, e, range) => range && range.start < e && range.end > s
      ? { start: Math.max(range.start, s), end: Math.min(range.end, e) } : null;
    const end = base + [...text].length;

    function withInner(s, e, parent) {
      const h = inside(s, e, inner);
      if (!h) {
        parent.append(cut(s, e));
        return;
      }
      parent.append(cut(s, h.start));
      const answer = el("mark", { class: "answer" });
      const k = inside(h.start, h.end, short);
      if (k) {
        answer.append(cut(h.start, k.start), el("strong", { class: "short" }, cut(k.start, k.end)), cut(k.end, h.end));
      } else {
        answer.append(cut(h.start, h.end));
      }
      parent.append(answer);
      parent.append(cut(h.end, e));
    }

    const o = inside(base, end, outer);
    if (!o) {
      withInner(base, end, frag);
      return frag;
    }
    frag.append(cut(base, o.start));
    const passage = el("mark", { class: "passage" });
    withInner(o.start, o.end, passage);
    frag.append(passage);
    frag.append(cut(o.end, end));
    return frag;
  }

  function setStatus(message, kind = "") {
    statusLine.textContent = message;
    statusLine.className = "status" + (kind ? " " + kind : "");
  }

  /** The message of an error body: FastAPI's list of issues or one sentence. */
  function describe(body, status) {
    const detail = body && body.detail;
    if (Array.isArray(detail)) return detail.map((d) => d.msg).join("; ");
    if (typeof detail === "string") return detail;
    return `the server answered ${status}`;
  }

  function sourceLine(c) {
    const meta = el("p", { class: "meta" });
    if (c.date) meta.append(el("time", { datetime: c.date }, c.date));
    else meta.append(el("span", { class: "muted" }, "date unknown"));
    meta.append(el("span", { class: "sep", "aria-hidden": "true" }, " · "));
    meta.append(el("span", { class: "article-id" }, c.article_id));
    if (c.url && /^https?:\/\//i.test(c.url)) {
      meta.append(el("span", { class: "sep", "aria-hidden": "true" }, " · "));
      meta.append(el("a", { href: c.url, rel: "noopener noreferrer", target: "_blank" }, "original"));
    }
    return meta;
  }

  /** The answer sentence, with its own [n] marker (the last one: a "[1]" inside the quote is the article's
   * text, not a citation) turned into a link to the cited passage. */
  function answerText(text, citations) {
    const p = el("p", { class: "answer-text" });
    const numbers = new Set(citations.map((c) => c.n));
    const m = text.match(/ \[(\d+)\]$/);
    if (!m || !numbers.has(Number(m[1]))) {
      p.append(text);
      return p;
    }
    const n = Number(m[1]);
    p.append(text.slice(0, m.index + 1));
    p.append(el("a", { href: `#cite-${n}`, class: "cite-ref", "aria-label": `source ${n}` }, `[${n}]`));
    return p;
  }

  /** The short answer, bold, linked to the passage it is quoted from. */
  function shortText(short) {
    return el("p", { class: "short-answer" }, el("strong", {}, short.text), " ",
      el("a", { href: `#cite-${short.citation}`, class: "cite-ref", "aria-label": `source ${short.citation}` },
        `[${short.citation}]`));
  }

  /** The short answer's range when it is quoted from citation c. */
  function shortIn(c) {
    return current && current.short && current.short.citation === c.n ? current.short : null;
  }

  function citationItem(c) {
    const title = c.title || c.article_id;
    const read = el("button", { type: "button", class: "read", "aria-label": `Read the whole article: ${title}` },
      "Read the whole article");
    read.addEventListener("click", () => openArticle(c, read));
    const passage = el("blockquote", { class: "passage-text", cite: c.url || null });
    passage.append(marked(c.text, c.start, null, c.highlight, shortIn(c)));
    return el("li", { class: c.highlight ? "citation holds-answer" : "citation", id: `cite-${c.n}` },
      el("div", { class: "cite-head" },
        el("span", { class: "cite-n", "aria-hidden": "true" }, String(c.n)),
        el("div", { class: "cite-titles" },
          el("h3", { class: "cite-title" }, el("span", { class: "visually-hidden" }, `Source ${c.n}: `), title),
          sourceLine(c))),
      passage,
      el("div", { class: "cite-actions" }, read));
  }

  function render(data) {
    answerBox.replaceChildren();
    list.replaceChildren();
    const cites = data.citations || [];
    current = data;
    if (data.answer) {
      if (data.short) answerBox.append(shortText(data.short));
      answerBox.append(answerText(data.answer, cites));
      const best = cites.find((c) => c.highlight) || cites[0];
      if (best) {
        answerBox.append(el("p", { class: "answer-source" }, "From ",
          el("a", { href: `#cite-${best.n}` }, best.title || best.article_id),
          best.date ? ", " : "", best.date ? el("time", { datetime: best.date }, best.date) : null));
      }
      setStatus(`Answer found, with ${cites.length} source${cites.length === 1 ? "" : "s"}.`);
    } else {
      answerBox.append(el("p", { class: "no-answer" }, "The archive does not say."));
      if (data.abstained_because) {
        answerBox.append(el("p", { class: "abstained-because" }, "Why: ", data.abstained_because, "."));
      }
      answerBox.append(el("p", { class: "answer-source" }, cites.length
        ? "No article answers this question. These passages came closest:"
        : "No article answers this question."));
      setStatus("The archive does not say.");
    }
    for (const c of cites) list.append(citationItem(c));
    document.getElementById("sources-heading").hidden = cites.length === 0;
    results.hidden = false;
    results.focus({ preventScroll: true });
    // On a small screen the answer would start below the fold: bring it up.
    if (results.getBoundingClientRect().top > window.innerHeight * 0.6) results.scrollIntoView({ block: "start" });
  }

  /** Text with its [n] markers turned into links to the cited passages (those that exist). */
  function withCiteLinks(text, numbers) {
    const p = el("p", { class: "generated-text" });
    let last = 0;
    for (const m of text.matchAll(/\[(\d+)\]/g)) {
      const n = Number(m[1]);
      if (!numbers.has(n)) continue;
      p.append(text.slice(last, m.index));
      p.append(el("a", { href: `#cite-${n}`, class: "cite-ref", "aria-label": `source ${n}` }, `[${n}]`));
      last = m.index + m[0].length;
    }
    p.append(text.slice(last));
    return p;
  }

  /** The box of the generated answer: the draft as it streams in, then the checked text or why there is none. */
  function generatedBox() {
    const box = el("section", { class: "generated", id: "generated", "aria-live": "polite" },
      el("h3", { class: "generated-title" }, "Written answer"),
      el("p", { class: "generated-draft" }));
    answerBox.append(box);
    return {
      piece(text) {
        box.querySelector(".generated-draft").append(text);
      },
      done(generated, because, citations) {
        box.querySelector(".generated-draft").remove();
        if (generated) {
          box.append(withCiteLinks(generated.text, new Set(citations.map((c) => c.n))));
          box.append(el("p", { class: "generated-note" },
            `Written by ${llm}. The names, numbers and dates of each sentence were checked against the passage it cites; ` +
            "the sentence quoted above is the archive's own words."));
        } else {
          box.append(el("p", { class: "generated-none" }, "No written answer: ", because || "none passed the check", "."));
        }
      },
    };
  }

  /** Server-sent events of a response body, as {event, data} objects, in order. */
  async function* events(res) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        yield { event, data: JSON.parse(data.join("\n") || "null") };
      }
    }
  }

  /** POST /ask/stream with generation: the answer at once, then the written answer as it comes. */
  async function askStreaming(question, signal) {
    const res = await fetch("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, k: 5, generate: true }),
      signal,
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      setStatus(`Could not ask: ${describe(body, res.status)}`, "error");
      return;
    }
    let box = null;
    let citations = [];
    for await (const { event, data } of events(res)) {
      if (event === "answer") {
        render(data);
        citations = data.citations || [];
        if (data.answer) {
          box = generatedBox();
          setStatus(`Answer found, with ${citations.length} source${citations.length === 1 ? "" : "s"}; writing it in your language…`, "busy");
        }
      } else if (event === "token" && box) {
        box.piece(data.text);
      } else if (event === "generated" && box) {
        box.done(data.generated, data.not_generated_because, citations);
        setStatus(data.generated ? "Answer found and written in your language." : "Answer found; no written answer passed the check.");
      }
    }
  }

  async function ask(question) {
    if (pending) pending.abort();
    pending = new AbortController();
    const mine = pending;
    button.disabled = true;
    button.textContent = "Asking…";
    results.setAttribute("aria-busy", "true");
    setStatus("Searching the archive…", "busy");
    try {
      if (llm) {
        await askStreaming(question, mine.signal);
        return;
      }
      const res = await fetch("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ question, k: 5 }),
        signal: mine.signal,
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        setStatus(`Could not ask: ${describe(body, res.status)}`, "error");
        return;
      }
      render(body);
    } catch (err) {
      if (err.name !== "AbortError") setStatus("Could not reach the service: is it still running?", "error");
    } finally {
      if (pending === mine) {
        pending = null;
        button.disabled = false;
        button.textContent = "Ask";
        results.setAttribute("aria-busy", "false");
      }
    }
  }

  function fetchArticle(id) {
    if (!articles.has(id)) {
      const p = fetch(`/articles/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } })
        .then(async (res) => {
          const body = await res.json().catch(() => null);
          if (!res.ok) throw new Error(describe(body, res.status));
          return body;
        });
      p.catch(() => articles.delete(id));
      articles.set(id, p);
    }
    return articles.get(id);
  }

  // `report` says what went wrong where the reader is looking (the timeline has a status line of its own).
  async function openArticle(c, from, report = setStatus) {
    opener = from;
    from.disabled = true;
    try {
      const article = await fetchArticle(c.article_id);
      articleTitle.textContent = article.title || article.id;
      articleMeta.replaceChildren(sourceLine({ ...c, date: article.date, url: article.url }));
      articleText.replaceChildren(marked(article.text, 0, { start: c.start, end: c.end }, c.highlight, shortIn(c)));
      if (!dialog.open) dialog.showModal();
      articleTitle.focus();
      const target = articleText.querySelector("mark.answer") || articleText.querySelector("mark.passage");
      if (target) target.scrollIntoView({ block: "center" });
    } catch (err) {
      report(`Could not open the article: ${err.message}`, "error");
    } finally {
      from.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) {
      setStatus("Type a question first.", "error");
      input.focus();
      return;
    }
    const url = new URL(window.location.href);
    url.searchParams.set("q", question);
    window.history.replaceState(null, "", url);
    health.then(() => ask(question));
  });

  for (const example of document.querySelectorAll("button.example")) {
    example.addEventListener("click", () => {
      input.value = example.textContent.trim();
      form.requestSubmit();
    });
  }

  articleClose.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  dialog.addEventListener("close", () => {
    if (opener) opener.focus();
  });

  // What the timeline view (timeline.js) shares of this page: building elements, errors, the article view.
  window.qaPage = { el, describe, openArticle };

  // Whether answers can be written by an LLM here; a service still starting has none to say yet.
  const health = fetch("/health", { headers: { Accept: "application/json" } })
    .then((res) => (res.ok ? res.json() : null))
    .then((body) => { llm = (body && body.llm) || null; })
    .catch(() => {});

  const initial = new URL(window.location.href).searchParams.get("q");
  if (initial) {
    input.value = initial;
    health.then(() => ask(initial.trim()));
  } else {
    input.focus();
  }
})();
