"""What one anonymous client cannot do to the service: read files out of the corpus, pass a foreign Host,
frame /docs, stall others with long questions, many asks or idle connections.

The real app under uvicorn on a loopback port, over its own copy of the seed corpus (FakeEncoder: no model).
"""

from __future__ import annotations

from pathlib import Path

from qa.index.sync import sync_corpus
from tests.api.fake_site import Site


def test_a_link_out_of_the_corpus_is_never_served(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:motsecret:/root:/bin/bash\n", encoding="utf-8")
    (site.corpus / "leak.txt").symlink_to(secret)
    report = sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    assert [e.file for e in report.errors] == ["leak.txt"] and "outside the corpus" in report.errors[0].error
    site.engine.refresh()
    assert site.client.get("/articles/leak").status_code == 404
    cited = site.client.post("/ask", json={"question": "motsecret root ?", "mode": "bm25"}).json()
    assert all("motsecret" not in c["text"] for c in cited["citations"])


def test_a_link_read_by_an_earlier_index_is_removed_from_it(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:motsecret\n", encoding="utf-8")
    (site.corpus / "leak.txt").symlink_to(secret)
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False, outside_links=True)
    site.engine.refresh()
    assert site.client.get("/articles/leak").status_code == 200  # what an index made before the fix held
    sync_corpus(site.corpus, site.index, site.engine.encoder, progress=False)
    site.engine.refresh()
    assert site.client.get("/articles/leak").status_code == 404  # not kept as if the file were merely damaged
