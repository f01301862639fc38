"""The load script's own code, briefly: 8 clients for a few seconds against the test service, no errors."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.api.conftest import Service
from tests.api.service import REPO


def load_module() -> ModuleType:
    """eval/load.py, imported by path (eval/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("qa_eval_load", REPO / "eval" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


load = load_module()


def test_percentiles_and_summary() -> None:
    assert math.isnan(load.percentile([], 50))
    values = [float(v) for v in range(1, 101)]
    assert (load.percentile(values, 50), load.percentile(values, 95), load.percentile(values, 100)) == (50.0, 95.0, 100.0)
    phase = load.Phase("p", start=0.0, end=2.0)
    phase.samples = [load.Sample(0.1, 0.2, 200, None), load.Sample(0.2, 0.4, 0, "ConnectError: refused")]
    summary = phase.summary()
    assert (summary["requests"], summary["errors"], summary["throughput_rps"]) == (2, 1, 1.0)
    assert summary["error_kinds"] == {"ConnectError: refused": 1} and summary["p50_ms"] == 200.0


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:8000", "http://example.org", "ftp://127.0.0.1", "http://127.0.0.1.evil.example"]
)
def test_only_loopback_urls(url: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        load.check_loopback(url)
    assert load.check_loopback("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"


def test_questions_come_from_the_gold_file_or_the_builtin_list(tmp_path: Path) -> None:
    assert load.load_questions(tmp_path / "absent.jsonl") == list(load.BUILTIN_QUESTIONS)
    assert any(q.startswith(("Qu", "Où", "Combien")) for q in load.BUILTIN_QUESTIONS)
    assert any(q.startswith(("What", "Who", "When")) for q in load.BUILTIN_QUESTIONS)
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"question": "Où ?"}\n\n{"question": "  "}\n{"id": 3}\n{"question": "Why?"}\n', encoding="utf-8")
    assert load.load_questions(gold) == ["Où ?", "Why?"]


@pytest.mark.model
@pytest.mark.load
def test_eight_clients_for_a_few_seconds_get_no_errors(service: Service) -> None:
    questions = load.load_questions(load.GOLD)
    phase = load.run_phase("short", service.url, questions, clients=8, seconds=4.0, timeout=60.0)
    summary = phase.summary()
    assert summary["requests"] >= 8, summary
    assert summary["errors"] == 0, summary["error_kinds"]
    assert {s.status for s in phase.samples} == {200}
