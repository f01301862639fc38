"""`qa index --ray` on a real two-node Ray cluster in a network namespace of its own, with the real model: the
function into the local backend, the command into PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.index.ray_cluster import in_namespace
from tests.conftest import ROOT

pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")
pytestmark = pytest.mark.model


def test_ray_embeds_on_both_nodes_the_vectors_local_embedding_gives(tmp_path: Path) -> None:
    out = tmp_path / "found.json"
    args = in_namespace([sys.executable, "-m", "tests.index.ray_inside", str(out), str(tmp_path)])
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(out.read_text(encoding="utf-8"))
    for name in ("local", "postgres"):
        got = found[name]
        assert got["report"]["errors"] == [] and got["report"]["added"] == 26
        assert got["report"]["chunks_embedded"] == got["passages"] == got["stored"]
        assert got["min_cosine"] >= 0.9999 and got["min_span_cosine"] >= 0.9999, got
    assert set(found["local"]["nodes"]) == {"127.0.0.2", "127.0.0.3"}, "both nodes embedded"
    assert "24" in found["answer"]
