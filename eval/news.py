"""News-like fitting questions: helper-written questions over OrangeSum articles, and the archive they are asked of.

PIAF's Wikipedia questions made unanswerable by removing their paragraph are not what a newsroom asks of its
archive (session 17's note), so eval/news_train/ holds questions written by helper agents over 160 OrangeSum
articles (records 10,000-30,000), each article with answerable and unanswerable ones in French and English,
written from the articles alone, before anything answered them. They are a TRAINING set: they fit, they never
score what ships. The gold sets over the seed articles stay apart.

The archive is the articles asked about plus DISTRACTORS other articles of the same records, chosen by a seeded
draw, indexed once in the eval cache (never the repo's corpus). Questions are split by article, so one article's
questions never fall on both sides: "train" fits, "calibrate" stops the boosting and sets the threshold.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path
from typing import Any

EVAL = Path(__file__).resolve().parent
QUESTIONS = EVAL / "news_train"
RECORDS = (10_000, 30_000)  # the OrangeSum records the articles were drawn from
DISTRACTORS = 840
SEED = 19


def load_news(folder: Path = QUESTIONS) -> list[Any]:
    """Every question of the news training files, in file order."""
    from qa.evaluation.gold import parse_gold_lines

    out: list[Any] = []
    for path in sorted(folder.glob("*.jsonl")):
        out.extend(parse_gold_lines(path.read_text(encoding="utf-8").splitlines(), source=str(path)))
    return out


def news_split(question: Any, seed: int = SEED) -> str:
    """ "train" or "calibrate" (3 articles in 10), by the article the question is about."""
    digest = hashlib.sha256(f"{seed}:news:{question.articles[0]}".encode()).digest()
    return "calibrate" if digest[0] % 10 < 3 else "train"


def write_archive(asked: set[str], dest: Path, distractors: int = DISTRACTORS) -> Path:
    """The articles asked about and `distractors` others from the same records, as one .jsonl.gz corpus file
    (rewritten only when missing: the draw is seeded)."""
    from benchlib import orangesum_lines  # type: ignore[import-not-found]

    path = dest / "orangesum-news.jsonl.gz"
    if path.exists():
        return path
    kept: list[bytes] = []
    others: list[bytes] = []
    for line in orangesum_lines(*RECORDS):
        record = json.loads(line)
        if not record.get("article"):
            continue
        (kept if str(record["id"]) in asked else others).append(line)
    missing = asked - {str(json.loads(line)["id"]) for line in kept}
    if missing:
        raise SystemExit(f"articles asked about but not in OrangeSum records {RECORDS}: {sorted(missing)[:5]}")
    kept += random.Random(SEED).sample(others, distractors)
    dest.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for line in kept:
            out.write(line if line.endswith(b"\n") else line + b"\n")
    return path


def news_engine(questions: list[Any], cache: Path, distractors: int = DISTRACTORS) -> Any:
    """An Engine over the news archive, indexed once in `cache` for the default model (a smoke run gives fewer
    questions and no distractors: an archive of their own articles)."""
    from qa.core.config import Settings
    from qa.engine import Engine, load_model
    from qa.evaluation.piaf import model_tag
    from qa.index.sync import sync_corpus

    asked = {a for q in questions for a in q.articles}
    # Named by the articles asked about, not their count: two smoke runs asking of as many articles differ.
    ids = hashlib.sha256(" ".join(sorted(asked)).encode()).hexdigest()[:8]
    tag = f"{len(asked)}-{ids}" + ("" if distractors == DISTRACTORS else f"-{distractors}")
    corpus = write_archive(asked, cache / f"news-corpus-{tag}", distractors).parent
    encoder = load_model(Settings(), progress=True)
    index = cache / f"news-index-{tag}-{model_tag(encoder.info)}"
    sync_corpus(corpus, index, encoder, progress=True)
    return Engine.open(Settings().with_overrides(index_dir=index, corpus_dir=corpus), encoder)


def news_vectors(engine: Any, questions: list[Any], cache: Path) -> Any:
    """The news questions' vectors, embedded once per model and question and kept in `cache` beside PIAF's."""
    from train_reader import embed_cached  # type: ignore[import-not-found]

    return embed_cached(engine, questions, cache / f"news-question-vectors-{engine.manifest.model.name}.npz")


def news_sides(cache: Path, limit: int = 0) -> tuple[dict[str, list[Any]], Any]:
    """The news questions of each side ("train", "calibrate"; a smoke run's first `limit` of each) and an Engine
    over the archive they are asked of (a smoke run's without distractors)."""
    questions = load_news()
    sides = {side: [q for q in questions if news_split(q) == side] for side in ("train", "calibrate")}
    if limit:
        sides = {side: qs[:limit] for side, qs in sides.items()}
    return sides, news_engine([*sides["train"], *sides["calibrate"]], cache, 0 if limit else DISTRACTORS)
