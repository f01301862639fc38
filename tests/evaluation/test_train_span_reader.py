"""eval/train_span_reader.py end to end on a tiny PIAF sample: it writes adapters the product loads and reads with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.answering.span_reader import ADAPTER_FILE, META_FILE, SpanReader
from qa.core.config import Settings
from qa.evaluation.piaf import PIAF_PATH

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.model, pytest.mark.skipif(not PIAF_PATH.exists(), reason="PIAF data not present")]


def test_training_runs_end_to_end_and_writes_a_loadable_reader(tmp_path: Path) -> None:
    out = tmp_path / "span-reader"
    cmd = [
        sys.executable,
        str(ROOT / "eval" / "train_span_reader.py"),
        *("--limit", "6", "--epochs", "1", "--batch-size", "4", "--out", str(out)),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / ADAPTER_FILE).is_file()
    meta = json.loads((out / META_FILE).read_text(encoding="utf-8"))
    assert meta["fit"]["train_questions"] == 6 and meta["fit"]["epochs_done"] == 1
    assert 0.0 <= meta["fit"]["calibration"]["span_f1"] <= 1.0
    assert [h["epoch"] for h in meta["fit"]["history"]] == [1]
    reader = SpanReader.load(out, Settings().cache_dir)
    text = "La ligne mesure 800 kilomètres."
    found = reader.read(["Combien de kilomètres ?"], [text])[0]
    assert 0 <= found.start <= found.end <= len(text)
