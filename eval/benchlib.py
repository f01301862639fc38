"""Shared pieces of the indexing and scale benchmarks: OrangeSum slices, vectors, stand-in encoder, reports."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sqlite3
import statistics
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
ORANGESUM = ROOT.parent / "shared" / "data" / "orangesum" / "orangesum_articles.jsonl.gz"
# Benchmark indexes (git-ignored; several GB at full scale): QA_BENCH_CACHE moves them elsewhere.
CACHE = Path(os.environ.get("QA_BENCH_CACHE", ROOT / "eval" / "cache" / "bench"))
REPORTS = ROOT / "eval" / "reports"


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def orangesum_lines(start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Raw JSON lines of OrangeSum records [start, stop), streamed from the shared copy."""
    with gzip.open(ORANGESUM, "rb") as fh:
        for i, line in enumerate(fh):
            if stop is not None and i >= stop:
                return
            if i >= start:
                yield line


def write_slice(dest: Path, start: int, stop: int | None) -> Path:
    """A corpus file holding OrangeSum records [start, stop) (outside the repo's corpus, never committed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(dest, "wb", compresslevel=1) as out:
        for line in orangesum_lines(start, stop):
            out.write(line)
    return dest


def real_vectors(*stores: Path) -> NDArray[np.float32]:
    """Every cached passage vector of these index stores (real e5 vectors when a real model built them)."""
    parts: list[NDArray[np.float32]] = []
    for path in stores:
        if not path.exists():
            continue
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = con.execute("SELECT vec FROM vectors").fetchall()
        con.close()
        if rows:
            parts.append(np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows]))
    return np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)


class GaussianEncoder:
    """Stand-in for the model when only the pipeline's cost or scale is measured: each passage (and each
    sentence) gets a vector drawn, deterministically from its text, from a Gaussian fitted to real e5
    passage vectors (their mean and covariance), then normalised. It claims the real model's identity
    (`info`) so that the real model can query the index; such an index is a benchmark artefact only."""

    def __init__(self, info: Any, real: NDArray[np.float32]) -> None:
        self.info = info
        self.mean = real.mean(axis=0).astype(np.float64)
        cov = np.cov(real.astype(np.float64), rowvar=False) + 1e-6 * np.eye(real.shape[1])
        self.chol = np.linalg.cholesky(cov)
        self.calls = 0

    def sample(self, seeds: Sequence[str]) -> NDArray[np.float32]:
        g = np.stack(
            [
                np.random.default_rng(int(hashlib.md5(s.encode()).hexdigest()[:16], 16)).standard_normal(len(self.mean))
                for s in seeds
            ]
        )
        v = self.mean + g @ self.chol.T
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def embed_passages(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> NDArray[np.float32]:
        self.calls += len(texts)
        return self.sample(texts) if texts else np.zeros((0, len(self.mean)), np.float32)

    def embed_passages_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], **_: Any
    ) -> tuple[NDArray[np.float32], list[NDArray[np.float32]]]:
        vecs = self.embed_passages(texts)
        sent = [
            self.sample([f"{t[a:b]}#{j}" for j, (a, b) in enumerate(s)]) if s else np.zeros((0, len(self.mean)), np.float32)
            for t, s in zip(texts, spans, strict=True)
        ]
        return vecs, sent


def rss_mb(pid: int | None = None) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MiB, from /proc."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    values = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))}
    return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of the values, by linear interpolation."""
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def save_report(name: str, report: dict[str, Any], folder: Path | None = None) -> Path:
    folder = folder or REPORTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"wrote {path}")
    return path


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def restamp(index_dir: Path, info: Any) -> None:
    """Record `info` as the model of a benchmark index built by the stand-in under an earlier fingerprint of the
    same model (the provisioned folder changed version); only for indexes whose vectors are stand-ins anyway."""
    import dataclasses

    from qa.core.model import ModelStamp
    from qa.index.manifest import read_manifest, write_manifest
    from qa.index.store import Store

    stamp = ModelStamp(info.name, info.dim, info.fingerprint)
    manifest = read_manifest(index_dir)
    if manifest.model == stamp:
        return
    store = Store(index_dir / "store.sqlite")
    with store.transaction() as con:
        store.set_meta(con, "model_fingerprint", info.fingerprint)
    store.close()
    write_manifest(index_dir, dataclasses.replace(manifest, model=stamp))


def scale_questions(n: int) -> list[str]:
    """n real questions for latency at scale: the gold questions, then OrangeSum titles past the indexed slices."""
    lines = (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["question"] for line in lines if line.strip()]
    for line in orangesum_lines(35_500, None):
        title = json.loads(line).get("title")
        if title:
            texts.append(f"{title} ?")
        if len(texts) >= n:
            break
    return texts[:n]


def piaf_engine(paragraphs: Sequence[Any], cache: Path = ROOT / "eval" / "cache", tag: str = "") -> Any:
    """An Engine over PIAF paragraphs, indexed once in `cache` for the default model: all of them is the index
    bench_piaf.py builds and keeps; a few, with a `tag` of their own, a smoke run's."""
    from qa.core.config import Settings
    from qa.engine import Engine, load_model
    from qa.evaluation.piaf import model_tag, write_corpus
    from qa.index.sync import sync_corpus

    corpus = write_corpus(paragraphs, cache / f"piaf-corpus{tag}").parent
    encoder = load_model(Settings(), progress=True)
    index = cache / f"piaf-index{tag}-{model_tag(encoder.info)}"
    settings = Settings().with_overrides(index_dir=index, corpus_dir=corpus)
    sync_corpus(corpus, index, encoder, progress=True)
    return Engine.open(settings, encoder)


def reader_ranked(engine: Any, query: Any, qvec: NDArray[np.float32], k: int) -> tuple[Any, list[Any], list[str]]:
    """What the span reader reads for a question, as the answer step takes it: the retrieved candidates, the
    rules' best `k` sentences over them (evidence.Ranked), and the text of each with what completes it."""
    from qa.answering.abstention import chosen_text
    from qa.answering.evidence import pool_sentences, rules_ranked

    retrieved = engine.retrieve(query, qvec)
    sentence_vectors, window_vectors = engine.pool_vectors(retrieved)
    sentences = pool_sentences(retrieved.candidates, sentence_vectors, qvec, window_vectors)
    ranked = rules_ranked(query, retrieved.candidates, sentences, k)
    return retrieved.candidates, ranked, [chosen_text(retrieved.candidates, r.choice) for r in ranked]


def reader_windows(engine: Any, question: str, qvec: NDArray[np.float32], k: int) -> list[str]:
    """The texts the span reader reads for a question: the rules' best `k` sentences over the retrieved passages,
    each with what completes it, as the answer step takes them."""
    from qa.retrieval.query import analyse

    return reader_ranked(engine, analyse(question), qvec, k)[2]


def fit_parser(description: str, what: str) -> argparse.ArgumentParser:
    """The options of every script that fits a step beside the span reader (`what` it writes); the script adds
    its own, then parses with parse_fit_args."""
    from qa.answering.span_reader import DEFAULT_DIR
    from qa.evaluation.piaf import PIAF_PATH

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH)
    ap.add_argument("--limit", type=int, default=0, help="only this many questions of each side (a smoke run)")
    ap.add_argument("--cache", type=Path, default=ROOT / "eval" / "cache", help="indexes, question vectors, rows [%(default)s]")
    ap.add_argument("--refit", action="store_true", help="fit again from the rows the last run with these options kept")
    ap.add_argument("--reports", type=Path, default=REPORTS, help="where the report and chart go [eval/reports]")
    ap.add_argument("--write", action="store_true", help=f"write the fitted {what} beside the span reader (--out)")
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR, help="the span reader's folder [%(default)s]")
    return ap


def parse_fit_args(ap: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The options parsed; a usage error for a smoke run that would write over the shipped span reader."""
    from qa.answering.span_reader import DEFAULT_DIR

    args = ap.parse_args(argv)
    if args.write and args.limit and args.out == DEFAULT_DIR:
        ap.error("a smoke run (--limit) writes only to another --out than the shipped span reader")
    return args


def fit_sides(args: argparse.Namespace, tag: str) -> tuple[Any, list[Any], list[Any], Any]:
    """PIAF's dev-half questions a fitting script reads (the "train" pages' and the "calibrate" pages'; the test
    half is never read) and an Engine over the paragraphs: all of them, or for a smoke run (--limit) a few
    questions of each side over their own paragraphs, indexed apart. Returns (piaf, train, calib, engine)."""
    from dataclasses import replace

    from qa.evaluation.piaf import fit_split, load_piaf

    piaf = load_piaf(args.piaf)
    train = [q for q in piaf.questions if fit_split(q.title) == "train"]
    calib = [q for q in piaf.questions if fit_split(q.title) == "calibrate"]
    if args.limit:
        train, calib = train[: args.limit], calib[: args.limit]
        asked = {q.paragraph_id for q in (*train, *calib)}
        piaf = replace(piaf, paragraphs=tuple(p for p in piaf.paragraphs if p.id in asked))
    return piaf, train, calib, piaf_engine(piaf.paragraphs, cache=args.cache, tag=tag)
