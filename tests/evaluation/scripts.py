"""Runs the scripts of eval/: loaded as a module whose ROOT and REPORTS point into a test's folder, or as a
smoke run of a fitting script in a subprocess."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
# The news training questions (eval/news.py) are asked of OrangeSum articles: their tests run only where it is.
ORANGESUM = REPO.parent / "shared" / "data" / "orangesum" / "orangesum_articles.jsonl.gz"


def eval_script(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    """eval/<name>.py, its ROOT the test's folder and REPORTS a reports/ folder in it."""
    spec = importlib.util.spec_from_file_location(name, REPO / "eval" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "reports").mkdir()
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "REPORTS", tmp_path / "reports")
    return module


def smoke_fit(script: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """eval/<script>.py on 12 PIAF questions of each side, its cache and reports in the test's folder."""
    cmd = [
        sys.executable,
        str(REPO / "eval" / f"{script}.py"),
        *("--limit", "12", "--cache", str(tmp_path / "cache"), "--reports", str(tmp_path / "reports")),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
