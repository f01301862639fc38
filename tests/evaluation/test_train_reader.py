"""eval/train_reader.py end to end on a tiny PIAF sample, with the real model: it writes a reader the product loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qa.answering.reader import READER_FILE, SENTENCE_MODEL, SPAN_MODEL, Reader
from qa.evaluation.piaf import PIAF_PATH

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.model, pytest.mark.skipif(not PIAF_PATH.exists(), reason="PIAF data not present")]


def test_training_runs_end_to_end_and_writes_a_loadable_reader(tmp_path: Path, encoder: Any) -> None:
    out = tmp_path / "params"
    cmd = [
        sys.executable,
        str(ROOT / "eval" / "train_reader.py"),
        "--limit",
        "12",
        "--cache",
        str(tmp_path / "cache"),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in (READER_FILE, SENTENCE_MODEL, SPAN_MODEL):
        assert (out / name).is_file(), name
    meta = json.loads((out / READER_FILE).read_text(encoding="utf-8"))
    assert meta["fit"]["train_questions"] == 12 and meta["fit"]["calibration_questions"] == 12
    assert 0.0 <= meta["abstention"]["threshold"] <= 1.0
    reader = Reader.load(out)
    assert reader.abstention is not None
    # Seeded and deterministic: the same run writes the same models.
    again = subprocess.run([*cmd[:-1], str(tmp_path / "again")], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "again" / SENTENCE_MODEL).read_text() == (out / SENTENCE_MODEL).read_text()
