"""The PIAF benchmark: its paragraphs as articles, seeded dev/test question samples, our English translations."""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.evaluation.gold import Evidence, GoldError, GoldQuestion
from qa.evaluation.metrics import normalize_answer

if TYPE_CHECKING:
    from qa.core.model import Encoder, ModelInfo

# /work/shared/data/piaf next to the project folder, as the project's data README places it.
PIAF_PATH = Path(__file__).resolve().parents[3] / "shared" / "data" / "piaf" / "piaf-v1.1.json"
EN_PATH = Path(__file__).resolve().parents[2] / "eval" / "piaf_en.jsonl"
SEED = 20251121
SAMPLE = 1000
SPLITS = ("dev", "test")
# PIAF titles keep Wikipedia's markup ("<i>Looney Tunes</i>"); an article title is plain text.
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A PIAF paragraph, indexed as one article titled after its Wikipedia page."""

    id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class PiafQuestion:
    """A PIAF question with its paragraph and answer spans (offsets into the raw paragraph)."""

    id: str
    question: str
    paragraph_id: str
    title: str  # the page title as PIAF writes it (markup included): the key of the dev/test split
    answers: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Piaf:
    """The whole dataset, in file order."""

    paragraphs: tuple[Paragraph, ...]
    questions: tuple[PiafQuestion, ...]


def load_piaf(path: Path = PIAF_PATH) -> Piaf:
    """PIAF's SQuAD-format file as paragraphs and questions; ids are stable (file positions)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GoldError(f"cannot read PIAF from {path}: {exc}") from None
    paragraphs: list[Paragraph] = []
    questions: list[PiafQuestion] = []
    for d, doc in enumerate(raw["data"]):
        for p, par in enumerate(doc["paragraphs"]):
            pid = f"piaf-{d:03d}-{p:02d}"
            paragraphs.append(Paragraph(pid, plain_title(doc["title"]), par["context"]))
            for qa in par["qas"]:
                answers = tuple(dict.fromkeys((a["text"], int(a["answer_start"])) for a in qa["answers"] if a["text"].strip()))
                if qa["question"].strip() and answers:
                    questions.append(PiafQuestion(qa["id"], qa["question"].strip(), pid, doc["title"], answers))
    return Piaf(tuple(paragraphs), tuple(questions))


def plain_title(title: str) -> str:
    """A PIAF title without its HTML tags and entities."""
    return " ".join(html.unescape(_TAG.sub("", title)).split())


def model_tag(info: ModelInfo) -> str:
    """The model's name and, off torch, its runtime and build: torch fp32's vectors and the int8 variant's differ,
    so each gets a PIAF index of its own."""
    runtime = "" if info.runtime == "torch" else f"-{info.runtime}-{info.fingerprint[:8]}"
    return f"{Path(info.name).name}{runtime}"


def write_corpus(paragraphs: Sequence[Paragraph], folder: Path) -> Path:
    """The paragraphs as one .jsonl corpus file in `folder` (rewritten only when it changes)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "piaf.jsonl"
    body = "".join(
        json.dumps({"id": p.id, "title": p.title, "text": p.text, "lang": "fr"}, ensure_ascii=False) + "\n" for p in paragraphs
    )
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")
    return path


def split_of(title: str, seed: int = SEED) -> str:
    """ "dev" or "test", by Wikipedia page: questions on one page never fall on both sides of the split."""
    digest = hashlib.sha256(f"{seed}:{title}".encode()).digest()
    return SPLITS[digest[0] % 2]


def fit_split(title: str, seed: int = SEED) -> str | None:
    """For the reader: "train" or "calibrate" for a page of the dev half (7 pages in 10 train), None for the test half.

    The test half's pages, and so the test sample, are never seen while fitting.
    """
    if split_of(title, seed) != "dev":
        return None
    digest = hashlib.sha256(f"{seed}:fit:{title}".encode()).digest()
    return "train" if digest[0] % 10 < 7 else "calibrate"


def sample_questions(piaf: Piaf, split: str, n: int = SAMPLE, seed: int = SEED) -> list[PiafQuestion]:
    """A fixed seeded sample of n questions of one split (all of them when it has fewer)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    pool = [q for q in piaf.questions if split_of(q.title, seed) == split]
    return sorted(random.Random(seed).sample(pool, min(n, len(pool))), key=lambda q: q.id)


def to_gold(q: PiafQuestion, question: str | None = None, *, lang: str = "fr", suffix: str = "") -> GoldQuestion:
    """A PIAF question as a gold question: its paragraph is the article, its first answer span the evidence."""
    text, start = q.answers[0]
    evidence = Evidence(q.paragraph_id, unicodedata.normalize("NFC", text), start)
    answers = tuple(dict.fromkeys(a for a, _ in q.answers))
    return GoldQuestion(q.id + suffix, question or q.question, lang, True, (q.paragraph_id,), (evidence,), answers)


def load_translations(path: Path = EN_PATH) -> dict[str, str]:
    """Our English translations, by PIAF question id: {"id", "fr", "question"} per line."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            qid, question = record["id"], record["question"]
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldError(f"{path}:{lineno}: {exc}") from None
        if not isinstance(qid, str) or not isinstance(question, str) or not question.strip():
            raise GoldError(f"{path}:{lineno}: id and question must be non-empty strings")
        out[qid] = question.strip()
    return out


def english_questions(
    piaf: Piaf, translations: dict[str, str], split: str | None = None
) -> list[tuple[GoldQuestion, GoldQuestion]]:
    """(French original, English translation) pairs, optionally of one split only."""
    by_id = {q.id: q for q in piaf.questions}
    unknown = sorted(set(translations) - set(by_id))
    if unknown:
        raise GoldError(f"translations of unknown PIAF question(s): {unknown[:5]}")
    pairs = []
    for qid, english in translations.items():
        q = by_id[qid]
        if split is None or split_of(q.title) == split:
            pairs.append((to_gold(q), to_gold(q, english, lang="en", suffix="-en")))
    return pairs


def holdout(
    piaf: Piaf, questions: Sequence[PiafQuestion], share: float = 0.5, seed: int = SEED
) -> tuple[set[str], list[GoldQuestion]]:
    """Unanswerable questions made real: the paragraphs to drop from an index (a seeded share of those the
    questions ask about), and the questions as gold, unanswerable where their paragraph is dropped.

    A question whose answer still appears in a kept paragraph of the same page is left out: it may
    well be answerable there.
    """
    asked = sorted({q.paragraph_id for q in questions})
    removed = set(random.Random(seed).sample(asked, round(len(asked) * share)))
    kept_by_page: dict[str, list[str]] = {}
    for p in piaf.paragraphs:
        if p.id not in removed:
            kept_by_page.setdefault(p.id.rsplit("-", 1)[0], []).append(normalize_answer(p.text))
    out: list[GoldQuestion] = []
    for q in questions:
        if q.paragraph_id not in removed:
            out.append(to_gold(q))
            continue
        siblings = kept_by_page.get(q.paragraph_id.rsplit("-", 1)[0], [])
        if any(normalize_answer(a) in text for a, _ in q.answers for text in siblings):
            continue
        out.append(GoldQuestion(q.id, q.question, "fr", False, (), (), ()))
    return removed, out


def holdout_index(source: Path, target: Path, removed: set[str], encoder: Encoder) -> None:
    """A copy of the index at `source` without the `removed` articles (nothing is embedded again)."""
    import shutil

    from qa.index.writer import IndexWriter, writer_lock

    if target.exists():
        shutil.rmtree(target)
    # Copied under the source's writer lock, so the copy is one committed generation.
    with writer_lock(source, 60.0):
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".write.lock", "*.tmp"))
    with writer_lock(target, 60.0):
        writer = IndexWriter(target, encoder)
        try:
            present = set(writer.store.article_hashes())
            writer.apply((), sorted(removed & present))
            writer.commit()
        finally:
            writer.close()
