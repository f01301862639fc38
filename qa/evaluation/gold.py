"""Gold question files (JSON lines): loading, validation, and evidence resolved to article offsets."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.core.errors import QAError

LANGS = ("fr", "en")
_KEYS = {"id", "question", "lang", "answerable", "articles", "evidence", "answers", "tags", "note"}


class GoldError(QAError):
    """A gold file, or one of its records, is malformed or does not fit the index."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Text of an article that answers the question; `start` picks one occurrence when it repeats."""

    article_id: str
    text: str
    start: int | None = None


@dataclass(frozen=True, slots=True)
class GoldQuestion:
    """One gold question: what is asked, whether the archive answers it, where, and what counts as right."""

    id: str
    question: str
    lang: str
    answerable: bool
    articles: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answers: tuple[str, ...]
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Span:
    """Evidence located in the index: article id and [start, end) in its stored text."""

    article_id: str
    start: int
    end: int


def _strings(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{field} must be a list of non-empty strings")
    return tuple(value)


def _evidence(value: object) -> tuple[Evidence, ...]:
    if not isinstance(value, list):
        raise ValueError("evidence must be a list of {article_id, text[, start]} objects")
    out: list[Evidence] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("article_id"), str) or not isinstance(item.get("text"), str):
            raise ValueError("each evidence needs a string article_id and a string text")
        if not item["text"].strip():
            raise ValueError("evidence text is empty")
        start = item.get("start")
        if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
            raise ValueError("evidence start must be a non-negative integer")
        # Stored article text is NFC (qa.ingest.normalize_text): compare like with like.
        out.append(Evidence(item["article_id"], unicodedata.normalize("NFC", item["text"]), start))
    return tuple(out)


def parse_gold_record(record: dict[str, Any]) -> GoldQuestion:
    """One gold question from its JSON object; ValueError saying what is wrong."""
    unknown = set(record) - _KEYS
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    qid, question, lang, answerable = (record.get(k) for k in ("id", "question", "lang", "answerable"))
    if not isinstance(qid, str) or not qid:
        raise ValueError("id must be a non-empty string")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must be a non-empty string")
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}")
    if not isinstance(answerable, bool):
        raise ValueError("answerable must be true or false")
    articles = _strings(record.get("articles", []), "articles")
    evidence = _evidence(record.get("evidence", []))
    answers = _strings(record.get("answers", []), "answers")
    tags = _strings(record.get("tags", []), "tags")
    if answerable:
        if not articles or not evidence:
            raise ValueError("an answerable question needs its article(s) and evidence")
        stray = {e.article_id for e in evidence} - set(articles)
        if stray:
            raise ValueError(f"evidence from article(s) {sorted(stray)} not listed in articles")
    elif evidence or answers:
        raise ValueError("an unanswerable question has no evidence and no answers")
    return GoldQuestion(qid, question.strip(), lang, answerable, articles, evidence, answers, tags)


def parse_gold_lines(lines: Iterable[str], source: str = "<gold>") -> list[GoldQuestion]:
    """Gold questions from JSON lines (blank lines skipped); GoldError naming the first bad line."""
    out: list[GoldQuestion] = []
    ids: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a record must be a JSON object")
            gq = parse_gold_record(record)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise GoldError(f"{source}:{lineno}: {exc}") from None
        if gq.id in ids:
            raise GoldError(f"{source}:{lineno}: duplicate id {gq.id!r}")
        ids.add(gq.id)
        out.append(gq)
    if not out:
        raise GoldError(f"{source}: no gold questions")
    return out


def load_gold(path: Path) -> list[GoldQuestion]:
    """The gold questions of a JSON-lines file; GoldError when it is missing or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from None
    return parse_gold_lines(text.splitlines(), str(path))


def locate(evidence: Evidence, text: str) -> Span:
    """Where the evidence is in the article text; ValueError if absent or ambiguous without a start."""
    starts: list[int] = []
    pos = text.find(evidence.text)
    while pos >= 0:
        starts.append(pos)
        pos = text.find(evidence.text, pos + 1)
    if not starts:
        raise ValueError(f"evidence {evidence.text[:60]!r} is not in article {evidence.article_id}")
    if evidence.start is not None:
        hint = evidence.start
        best = min(starts, key=lambda s: abs(s - hint))
    elif len(starts) > 1:
        raise ValueError(
            f"evidence {evidence.text[:60]!r} occurs {len(starts)} times in article {evidence.article_id}: lengthen it"
        )
    else:
        best = starts[0]
    return Span(evidence.article_id, best, best + len(evidence.text))


def resolve_evidence(questions: Sequence[GoldQuestion], article_text: Callable[[str], str | None]) -> dict[str, tuple[Span, ...]]:
    """Each question's evidence as spans of the indexed text; GoldError listing what the index lacks."""
    problems: list[str] = []
    out: dict[str, tuple[Span, ...]] = {}
    texts: dict[str, str | None] = {}
    for q in questions:
        spans: list[Span] = []
        for aid in q.articles:
            if aid not in texts:
                texts[aid] = article_text(aid)
            if texts[aid] is None:
                problems.append(f"{q.id}: article {aid} is not in the index")
        for ev in q.evidence:
            text = texts.get(ev.article_id)
            if text is None:
                continue
            try:
                spans.append(locate(ev, text))
            except ValueError as exc:
                problems.append(f"{q.id}: {exc}")
        out[q.id] = tuple(spans)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise GoldError("gold questions do not fit the index: " + "; ".join(problems[:3]) + more)
    return out
