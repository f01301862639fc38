"""`unshare -n python -m tests.index.ray_inside OUT.json WORK`: `qa index --ray` on a real two-node cluster, into the
local backend and into PostgreSQL, its vectors compared with the same model run here; the findings go to OUT.json."""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from qa.core.config import Settings
from qa.core.model import stamp_of
from qa.engine import Engine, load_model
from qa.index.local import LocalBackend
from qa.index.prepare import embedded_spans, prepare
from qa.index.ray_cluster import loopback_cluster
from qa.index.ray_embed import ModelSpec, embed_on_ray
from qa.index.sync import sync_corpus
from qa.postgres.backend import PostgresBackend
from qa.postgres.server import LocalPostgres
from tests.conftest import SEEDS, SHARED_DATA

ORANGESUM = SHARED_DATA / "orangesum" / "orangesum_articles.jsonl.gz"


def _corpus(work: Path, extra: int) -> Path:
    """The seed articles and the first `extra` OrangeSum articles."""
    corpus = work / "corpus"
    shutil.copytree(SEEDS, corpus)
    with gzip.open(ORANGESUM, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(itertools.islice(fh, extra)):
            rec = json.loads(line)
            (corpus / f"orangesum-{i:03d}.txt").write_text(f"{rec['title']}\n\n{rec['article']}", encoding="utf-8")
    return corpus


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=-1)))


def main(out: Path, work: Path) -> None:
    settings = Settings(threads=1)
    encoder = load_model(settings, progress=False)
    spec = ModelSpec(settings.model, str(settings.cache_dir), settings.runtime, 1, stamp_of(encoder))
    corpus = _corpus(work, 24)
    found: dict[str, object] = {}
    with loopback_cluster(2, log_dir=work) as address:
        pg = LocalPostgres.primary(work / "pg")
        try:
            nodes: Counter[str] = Counter()
            embed = functools.partial(embed_on_ray, address, spec=spec, progress=False, per_node=nodes)
            report = sync_corpus(corpus, LocalBackend(work / "index"), encoder, progress=False, embed_first=embed)
            found["local"] = {"report": report.to_dict(), "nodes": dict(nodes)}
            # The command itself, into PostgreSQL.
            env = os.environ | {"QA_DATABASE_URL": pg.url(), "QA_THREADS": "1"}
            cli = [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--ray", address, "--json", "-q"]
            done = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr[-2000:]
            found["postgres"] = {"report": json.loads(done.stdout)}
            # The vectors stored, against the same passages embedded here, in one process.
            chunks = [c for a in LocalBackend(work / "index").store.iter_articles() for c in prepare(a).chunks]
            local_vecs, local_spans = encoder.embed_passages_with_spans(
                [c.text for c in chunks], [embedded_spans(c) for c in chunks]
            )
            for name, backend in (("local", LocalBackend(work / "index")), ("postgres", PostgresBackend(pg.url()))):
                backend.load()
                dim = stamp_of(encoder).dim
                hashes = [c.content_hash for c in chunks]
                vecs = backend.store.vectors_for(hashes)
                spans = backend.store.span_vectors(hashes, dim)
                found[name] |= {  # type: ignore[operator]
                    "passages": len(chunks),
                    "stored": len(vecs),
                    "min_cosine": _min_cosine(np.stack([vecs[h] for h in hashes]), np.asarray(local_vecs)),
                    "min_span_cosine": min(
                        _min_cosine(np.concatenate([spans[0][c.content_hash], spans[1][c.content_hash]]), np.asarray(s))
                        for c, s in zip(chunks, local_spans, strict=True)
                    ),
                }
            pg_settings = Settings(database_url=pg.url(), threads=1)
            answer = Engine.open(pg_settings, encoder).ask("What was signed in Astana in June 2025?")
            found["answer"] = answer.answer
        finally:
            pg.stop()
    out.write_text(json.dumps(found, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
