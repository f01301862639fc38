"""The load script's own code, briefly: 8 clients for a few seconds against the test service, no errors."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.api.conftest import Service
from tests.api.fake_site import Site
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


def test_the_hostile_verdict_holds_only_within_the_bound_with_no_error_and_nothing_lost() -> None:
    def phase(name: str, latency: float, error: str | None = None, problems: list[str] | None = None) -> object:
        p = load.Phase(name, start=0.0, end=1.0)
        p.samples = [load.Sample(0.1, latency, 200 if error is None else 500, error)]
        p.extra.update(articles={"problems": problems or []}, hostile_traffic={})
        return p

    alone = phase("steady", 1.0)
    assert load.hostile_verdict(alone, phase("hostile", 2.9))["held"]
    assert not load.hostile_verdict(alone, phase("hostile", 3.1))["held"]
    assert not load.hostile_verdict(alone, phase("hostile", 1.0, error="HTTP 500"))["held"]
    assert not load.hostile_verdict(alone, phase("hostile", 1.0, problems=["x: lost"]))["held"]


def test_the_article_check_finds_a_lost_or_foreign_version(site: Site) -> None:
    from hostile import article_texts, check_articles

    before = article_texts(str(site.client.base_url))
    assert site.put("hostile-0", "Version écrite, mothostile-0.").status_code == 201
    ids, url = ["hostile-0", "hostile-1"], str(site.client.base_url)
    assert check_articles(url, site.corpus, ids, {"Version écrite, mothostile-0."}, before)["problems"] == []
    assert check_articles(url, site.corpus, ids, {"Une autre version."}, before)["problems"]  # no client wrote it
    (site.corpus / "hostile-0.md").unlink()  # the file gone, the index still holding it: the next `qa index` loses it
    lost = check_articles(url, site.corpus, ids, {"Version écrite, mothostile-0."}, before)["problems"]
    assert lost == ["hostile-0: the corpus file and the index disagree"]
