"""eval/fit_answerable.py end to end on a tiny PIAF sample: it reads the questions, fits, and writes a calibrated
abstention the product loads; --refit fits again from the kept rows alone."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from qa.answering.answerable import ANSWERABLE_FEATURES, ANSWERABLE_MODEL, VETOES, load_answerable
from qa.answering.span_reader import DEFAULT_DIR, META_FILE
from qa.evaluation.piaf import PIAF_PATH
from tests.evaluation.scripts import ORANGESUM, smoke_fit

pytestmark = [pytest.mark.model, pytest.mark.skipif(not PIAF_PATH.exists(), reason="PIAF data not present")]


def _fit(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return smoke_fit("fit_answerable", tmp_path, *extra)


def test_fitting_runs_end_to_end_and_writes_an_abstention_the_product_loads(tmp_path: Path) -> None:
    out = tmp_path / "span-reader"
    shutil.copytree(DEFAULT_DIR, out)
    done = _fit(tmp_path, "--write", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "answerable-fit-12.json").read_text(encoding="utf-8"))
    assert set(report["on_calibration"]) == {"rules", "rules_or_low_margin", "fitted"}
    assert (tmp_path / "reports" / "answerable-fit-12.png").is_file()
    assert (out / ANSWERABLE_MODEL).is_file()
    meta = json.loads((out / META_FILE).read_text(encoding="utf-8"))
    model = load_answerable(out, meta)
    assert model is not None and model.features == ANSWERABLE_FEATURES
    # By default the rules of fact abstain alone, whatever PIAF's few questions measure of them.
    assert set(model.vetoes) == set(VETOES) and meta["answerable"]["fit"]["veto_choice"] == "facts"
    assert 0.0 <= model.probability([0.0] * len(ANSWERABLE_FEATURES)) <= 1.0

    # The rows are kept: a refit reads nothing again and gives the same model.
    refit = _fit(tmp_path, "--refit", "--write", "--out", str(out))
    assert refit.returncode == 0, refit.stderr[-3000:]
    assert "reading" not in refit.stderr
    again = json.loads((out / META_FILE).read_text(encoding="utf-8"))["answerable"]
    assert again["threshold"] == meta["answerable"]["threshold"]


def test_a_smoke_run_never_writes_over_the_shipped_reader(tmp_path: Path) -> None:
    done = _fit(tmp_path, "--write")
    assert done.returncode == 2 and "--limit" in done.stderr
    refit = _fit(tmp_path, "--refit")
    assert refit.returncode == 2 and "run once without --refit" in refit.stderr


@pytest.mark.skipif(not ORANGESUM.exists(), reason="OrangeSum data not present")
def test_fitting_on_the_news_questions_too_reports_each_side_apart(tmp_path: Path) -> None:
    done = _fit(tmp_path, "--news")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "answerable-fit-12-news.json").read_text(encoding="utf-8"))
    assert set(report["news_on_calibration"]) == {"rules", "rules_or_low_margin", "fitted"}
    # 12 news questions of each side joined PIAF's: their own archive, their rows kept apart.
    assert report["news_on_calibration"]["fitted"]["questions"] == 12
    assert (tmp_path / "cache" / "answerable-rows-news-12.npz").is_file()
