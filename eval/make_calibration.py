"""Writes qa/embedding/calibration.json: the texts the OpenVINO int8 variant is calibrated and verified on.

    python eval/make_calibration.py

News passages are cut by the index's own chunker from OrangeSum records far past the benchmark slices
(records 35,000 on; the benchmarks read the first 30,000), and questions come from PIAF pages that the
reader trains on (the dev half's "train" pages): nothing of either test set is in it. Seeded, so a rerun
writes the same file.
"""

from __future__ import annotations

import json
import random
import sys

from benchlib import ROOT, orangesum_lines

from qa.core.errors import InputError
from qa.evaluation.piaf import fit_split, load_piaf
from qa.index.chunking import chunk_article
from qa.ingest import parse_record

OUT = ROOT / "qa" / "embedding" / "calibration.json"
SEED = 20261201
FIRST_RECORD = 35_000
CALIBRATE = {"passage": 240, "query": 16}
VERIFY = {"passage": 16, "query": 8}


def passages(n: int, rng: random.Random) -> list[str]:
    """n passages of distinct articles, one drawn at random from each article's chunks."""
    found: list[str] = []
    for line in orangesum_lines(FIRST_RECORD):
        try:
            article = parse_record(line)
        except InputError:
            continue
        chunks = chunk_article(article)
        if chunks:
            found.append(rng.choice(chunks).text)
    return rng.sample(found, n)


def questions(n: int, rng: random.Random) -> list[str]:
    pool = [q.question for q in load_piaf().questions if fit_split(q.title) == "train"]
    return rng.sample(sorted(pool), n)


def _texts(news: list[str], asked: list[str]) -> list[dict[str, str]]:
    return [{"kind": "passage", "text": t} for t in news] + [{"kind": "query", "text": t} for t in asked]


def main() -> None:
    rng = random.Random(SEED)
    news = passages(CALIBRATE["passage"] + VERIFY["passage"], rng)
    asked = questions(CALIBRATE["query"] + VERIFY["query"], rng)
    cut_p, cut_q = CALIBRATE["passage"], CALIBRATE["query"]
    doc = {
        "about": "Texts the OpenVINO int8 variant of an embedding model is calibrated on, and verified against torch on.",
        "made_by": "eval/make_calibration.py",
        "sources": {
            "passage": "OrangeSum (CC BY-SA 4.0), records 35,000 on, cut by qa's chunker",
            "query": "PIAF v1.1 (MIT), questions of the reader's training pages",
        },
        "calibrate": _texts(news[:cut_p], asked[:cut_q]),
        "verify": _texts(news[cut_p:], asked[cut_q:]),
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    n, m = len(doc["calibrate"]), len(doc["verify"])
    print(f"wrote {OUT.relative_to(ROOT)}: {n} texts to calibrate, {m} to verify", file=sys.stderr)


if __name__ == "__main__":
    main()
