"""Answers as JSON-ready dicts (the `POST /ask` body) and as terminal text."""

from __future__ import annotations

import textwrap

from qa.core.types import Answer, Citation


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
    return {
        "question": answer.question,
        "answer": answer.answer,
        "citations": [citation_to_dict(c) for c in answer.citations],
    }


def answer_to_text(answer: Answer, width: int = 100) -> str:
    """A readable reply: the answer, then each cited passage with its source."""
    lines = [textwrap.fill(answer.answer, width) if answer.answer else "The archive does not say."]
    for c in answer.citations:
        source = ", ".join(x for x in (c.title, c.date.isoformat() if c.date else None) if x)
        lines.append("")
        lines.append(f"[{c.n}] {c.article_id} ({source}) chars {c.start}-{c.end}, score {c.score:.2f}")
        lines.append(textwrap.indent(textwrap.fill(" ".join(c.text.split()), width - 4), "    "))
    return "\n".join(lines)
