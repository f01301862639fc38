"""Answers as JSON-ready dicts (the `POST /ask` body) and as terminal text."""

from __future__ import annotations

import textwrap

from qa.core.types import Answer, Citation, Event, Generated


def citation_to_dict(c: Citation) -> dict[str, object]:
    return {
        "n": c.n,
        "article_id": c.article_id,
        "title": c.title,
        "date": c.date.isoformat() if c.date else None,
        "url": c.url,
        "text": c.text,
        "start": c.start,
        "end": c.end,
        "score": c.score,
        "highlight": None if c.highlight is None else {"start": c.highlight.start, "end": c.highlight.end},
    }


def answer_to_dict(answer: Answer) -> dict[str, object]:
    """Exactly the `POST /ask` response body."""
    short = answer.short
    return {
        "question": answer.question,
        "answer": answer.answer,
        "short": None
        if short is None
        else {"text": short.text, "citation": short.citation, "start": short.start, "end": short.end},
        "abstained_because": answer.abstained_because,
        "citations": [citation_to_dict(c) for c in answer.citations],
    }


def generated_to_dict(generated: Generated | None, because: str | None) -> dict[str, object]:
    """The generation fields of the `POST /ask` body (with "generate": true)."""
    return {
        "generated": None
        if generated is None
        else {"text": generated.text, "citations": list(generated.citations), "language": generated.language},
        "not_generated_because": because,
    }


def generated_to_text(generated: Generated | None, because: str | None, width: int = 100) -> str:
    """The generated answer for a terminal, or why there is none."""
    if generated is None:
        return f"No generated answer: {because}."
    return textwrap.fill(f"Generated ({generated.language}): {generated.text}", width)


def answer_to_text(answer: Answer, width: int = 100) -> str:
    """A readable reply: the answer, then each cited passage with its source."""
    if answer.answer is None:
        lines = ["The archive does not say" + (f": {answer.abstained_because}." if answer.abstained_because else ".")]
    else:
        lines = [f"{answer.short.text} [{answer.short.citation}]", ""] if answer.short is not None else []
        lines.append(textwrap.fill(answer.answer, width))
    for c in answer.citations:
        source = ", ".join(x for x in (c.title, c.date.isoformat() if c.date else None) if x)
        lines.append("")
        lines.append(f"[{c.n}] {c.article_id} ({source}) chars {c.start}-{c.end}, score {c.score:.2f}")
        lines.append(textwrap.indent(textwrap.fill(" ".join(c.text.split()), width - 4), "    "))
    return "\n".join(lines)


def event_to_dict(event: Event) -> dict[str, object]:
    """An event as GET /timeline and `qa timeline --json` give it (../shared/API.md): its date, the sentence of
    the first article reporting it, `also_in` the others; `date_end` and `sources` (every one whole) extend it."""
    first = event.sources[0]
    return {
        "date": event.date,
        "date_end": event.date_end,
        "precision": event.precision,
        "text": first.text,
        "article_id": first.article_id,
        "title": first.title,
        "published": first.published.isoformat() if first.published else None,
        "start": first.start,
        "end": first.end,
        "also_in": [{"article_id": s.article_id, "start": s.start, "end": s.end} for s in event.sources[1:]],
        "resolved": None
        if event.resolved is None
        else {"phrase": event.resolved.phrase, "anchor": event.resolved.anchor, "anchor_date": event.resolved.anchor_date},
        "sources": [
            {
                "article_id": s.article_id,
                "title": s.title,
                "published": s.published.isoformat() if s.published else None,
                "start": s.start,
                "end": s.end,
                "text": s.text,
            }
            for s in event.sources
        ],
    }


def timeline_to_text(events: list[Event], width: int = 100) -> str:
    """The events for a terminal: date, sentence, and the articles reporting it."""
    if not events:
        return "The archive reports no dated event here."
    lines = []
    for e in events:
        when = f"{e.date} to {e.date_end}" if e.date_end else e.date
        if e.resolved is not None:
            when += f" (from «{e.resolved.phrase}», {e.resolved.anchor} {e.resolved.anchor_date})"
        lines.append(textwrap.fill(e.sources[0].text, width, initial_indent=f"{when}  ", subsequent_indent="    "))
        lines.extend(f"    [{s.article_id} {s.start}-{s.end}]" for s in e.sources)
    return "\n".join(lines)
