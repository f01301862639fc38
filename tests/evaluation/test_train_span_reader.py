"""eval/train_span_reader.py end to end on a tiny PIAF sample, both stages: it writes adapters the product loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.answering.span_reader import ADAPTER_FILE, META_FILE, SpanReader
from qa.core.config import Settings
from qa.evaluation.piaf import PIAF_PATH
from tests.evaluation.scripts import ORANGESUM

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.model, pytest.mark.skipif(not PIAF_PATH.exists(), reason="PIAF data not present")]


def test_training_runs_end_to_end_and_writes_a_loadable_reader(tmp_path: Path) -> None:
    out = tmp_path / "span-reader"
    cmd = [
        sys.executable,
        str(ROOT / "eval" / "train_span_reader.py"),
        *("--limit", "6", "--epochs", "1", "--batch-size", "4", "--out", str(out), "--cache", str(tmp_path / "cache")),
        # The news stage reads OrangeSum articles; without them the PIAF stages are still tested.
        *(("--news-epochs", "1") if ORANGESUM.exists() else ()),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / ADAPTER_FILE).is_file()
    meta = json.loads((out / META_FILE).read_text(encoding="utf-8"))
    fit = meta["fit"]
    assert fit["train_questions"] == 6 and fit["epochs"] == 1 and fit["hard_epochs"] == 1
    # Every stage ran: the answers' own windows, those the real pipeline retrieved over a tiny index, then the
    # news questions' over their own articles (with as many PIAF windows again).
    news = ["news windows"] if ORANGESUM.exists() else []
    assert [h["stage"] for h in fit["history"]] == ["answer windows", "retrieved windows", *news]
    assert fit["hard_windows"] >= 6
    if news:
        assert fit["news_questions"] == 6 and fit["news_windows"] >= 6
        assert 0.0 <= fit["news_calibration"]["span_f1"] <= 1.0
    assert 0.0 <= fit["calibration"]["span_f1"] <= 1.0
    reader = SpanReader.load(out, Settings().cache_dir)
    text = "La ligne mesure 800 kilomètres."
    found = reader.read(["Combien de kilomètres ?"], [text])[0]
    assert 0 <= found.start <= found.end <= len(text)
