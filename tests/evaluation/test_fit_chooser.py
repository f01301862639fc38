"""eval/fit_chooser.py end to end on a tiny PIAF sample: it reads the questions, fits, and writes a sentence
chooser the product loads; --refit fits again from the kept rows alone."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from qa.answering.chooser import CHOOSER_FEATURES, CHOOSER_MODEL, load_chooser
from qa.answering.span_reader import DEFAULT_DIR, META_FILE
from qa.evaluation.piaf import PIAF_PATH
from tests.evaluation.scripts import ORANGESUM, smoke_fit

pytestmark = [pytest.mark.model, pytest.mark.skipif(not PIAF_PATH.exists(), reason="PIAF data not present")]


def _fit(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return smoke_fit("fit_chooser", tmp_path, *extra)


def test_fitting_runs_end_to_end_and_writes_a_chooser_the_product_loads(tmp_path: Path) -> None:
    out = tmp_path / "span-reader"
    shutil.copytree(DEFAULT_DIR, out)
    done = _fit(tmp_path, "--write", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "chooser-fit-12.json").read_text(encoding="utf-8"))
    assert set(report["on_calibration"]) == {"rules_first", "margin_rule", "chooser", "any_of_k"}
    assert report["train"]["questions"] > 0 and report["calibration"]["questions"] > 0
    assert (tmp_path / "reports" / "chooser-fit-12.png").is_file()
    assert (out / CHOOSER_MODEL).is_file()
    meta = json.loads((out / META_FILE).read_text(encoding="utf-8"))
    chooser = load_chooser(out, meta)
    assert chooser is not None and chooser.features == CHOOSER_FEATURES and chooser.k == report["k"]

    # The rows are kept: a refit reads nothing again and gives the same figures.
    refit = _fit(tmp_path, "--refit", "--write", "--out", str(out))
    assert refit.returncode == 0, refit.stderr[-3000:]
    assert "reading" not in refit.stderr
    again = json.loads((out / META_FILE).read_text(encoding="utf-8"))["chooser"]
    assert again["fit"]["on_calibration"] == meta["chooser"]["fit"]["on_calibration"]


def test_a_smoke_run_never_writes_over_the_shipped_reader(tmp_path: Path) -> None:
    done = _fit(tmp_path, "--write")
    assert done.returncode == 2 and "--limit" in done.stderr
    refit = _fit(tmp_path, "--refit")
    assert refit.returncode == 2 and "run once without --refit" in refit.stderr


@pytest.mark.skipif(not ORANGESUM.exists(), reason="OrangeSum data not present")
def test_fitting_on_the_news_questions_too_reports_their_held_out_articles_apart(tmp_path: Path) -> None:
    done = _fit(tmp_path, "--news", "--k", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "chooser-fit-12-k2-news.json").read_text(encoding="utf-8"))
    assert report["k"] == 2 and report["news"] is True
    held_out = report["news_on_calibration"]
    assert set(held_out) == {"rules_first", "margin_rule", "chooser", "any_of_k"}
    # Only the answerable news questions are read; their rows are kept apart from PIAF's.
    assert 0 < held_out["chooser"]["questions"] <= 12
    assert (tmp_path / "cache" / "chooser-rows-news-12-k2.npz").is_file()
