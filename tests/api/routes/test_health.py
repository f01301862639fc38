"""GET /health over real HTTP: the counts and the model of the loaded index."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.conftest import Service

pytestmark = pytest.mark.model


def test_health_reports_the_loaded_index(service: Service, client: httpx.Client) -> None:
    res = client.get("/health")
    assert res.status_code == 200
    body = res.json()
    assert set(body) == {"status", "articles", "chunks", "model", "generation", "llm"}
    assert body["llm"] is None  # QA_LLM is off
    manifest = json.loads((service.settings.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert body["status"] == "ok"
    assert body["model"] == manifest["model"]["name"]
    assert body["articles"] == len(client.get("/articles").json())
    assert body["chunks"] == sum(a["chunks"] for a in client.get("/articles").json())
