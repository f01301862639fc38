"""`qa index` (the real command, the real model) on a corpus folder full of broken files: good articles are
indexed, each bad file is named with its reason, the exit status is 3, and nothing indexed before is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]

NANTES = "Le 2 février 2026, la bibliothèque municipale de Nantes a rouvert après trois ans de travaux."
LYON = "Le 3 mars 2024, la métropole de Lyon a inauguré le téléphérique de Fourvière, long de 12 kilomètres."
MARSEILLE = "Le 5 mai 2023, le port de Marseille a accueilli le plus long paquebot jamais construit, l'Icon of the Seas."
BORDEAUX = "Le 12 septembre 2022, Bordeaux a ouvert le pont levant Simone-Veil, qui relie les deux rives de la Garonne."
RENNES = "Le 20 septembre 2022, la deuxième ligne du métro de Rennes a été mise en service après dix ans de chantier."
BREST = "Le 14 juillet 2024, la ville de Brest a accueilli les Tonnerres de Brest, une fête maritime de huit jours."


def qa(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m qa ARGS` as a user would, with none of the developer's own QA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k in ("QA_CACHE_DIR", "QA_MODEL")}
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def record(article_id: str, text: str) -> str:
    return json.dumps({"id": article_id, "text": text}, ensure_ascii=False)


def test_bad_files_are_skipped_named_and_lose_nothing(tmp_path: Path, encoder: Any) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "nantes.md").write_text(f"---\ntitle: Nantes\ndate: 2026-02-02\n---\n{NANTES}\n", encoding="utf-8")
    (corpus / "lyon.txt").write_text(LYON, encoding="utf-8")
    (corpus / "archive.jsonl").write_text(f"{record('rec-1', MARSEILLE)}\n{record('rec-2', BORDEAUX)}\n", encoding="utf-8")
    index_args = ("index", "--corpus", str(corpus), "--index", str(index), "-q")

    first = qa(*index_args, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == 4

    # Files that went bad after they were indexed: cut while being written, overwritten with binary.
    (corpus / "nantes.md").write_text("---\ntitle: Nantes\ndate: 2026-02-02\nLe 2 fév", encoding="utf-8")
    (corpus / "lyon.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (corpus / "archive.jsonl").write_text(f"{record('rec-1', MARSEILLE)}\n{record('rec-2', BORDEAUX)[:40]}", encoding="utf-8")
    # New bad files, and new good articles next to them.
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "latin1.txt").write_bytes("Été à Astana, un texte en Latin-1.".encode("latin-1"))
    (corpus / "broken.md").write_text("---\ntitle: [non fermé\n---\nTexte.", encoding="utf-8")
    (corpus / "no-text.md").write_text("---\ntitle: Rien\n---\n\n", encoding="utf-8")
    (corpus / "new.jsonl").write_text(f'{record("rec-3", RENNES)}\n{{"id": "rec-4", "text": "Le 1', encoding="utf-8")
    (corpus / "brest.md").write_text(f"---\ntitle: Brest\n---\n{BREST}", encoding="utf-8")

    second = qa(*index_args, "--json")
    assert second.returncode == 3, (second.stdout, second.stderr)  # the status the README documents
    report = json.loads(second.stdout)
    reasons = {e["file"]: e["error"] for e in report["errors"]}
    assert set(reasons) == {
        "nantes.md",
        "lyon.txt",
        "archive.jsonl:2",
        "empty.txt",
        "latin1.txt",
        "broken.md",
        "no-text.md",
        "new.jsonl:2",
    }, reasons
    assert "unterminated front matter" in reasons["nantes.md"]
    assert "binary" in reasons["lyon.txt"]
    assert "invalid JSON" in reasons["archive.jsonl:2"] and "invalid JSON" in reasons["new.jsonl:2"]
    assert reasons["empty.txt"] == "empty file"
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "broken YAML front matter" in reasons["broken.md"]
    assert reasons["no-text.md"] == "empty text"
    # Every good article indexed; the ones whose file went bad kept as they were, none dropped.
    assert (report["added"], report["updated"], report["removed"], report["unchanged"]) == (2, 0, 0, 1), report

    # The text summary says the same: the count on stdout, each file and its reason on stderr.
    plain = qa(*index_args)
    assert plain.returncode == 3, plain.stderr
    assert "8 files skipped" in plain.stdout
    for file, reason in reasons.items():
        assert f"skipped {file}: {reason}" in plain.stderr
    assert "Traceback" not in plain.stderr

    # Still answerable from what was indexed before the files went bad, and the new ones too. (Asked in this
    # process, with the model already loaded: a `qa ask` per question would load it five more times.)
    from qa.core.config import Settings
    from qa.engine import Engine

    engine = Engine.open(Settings(corpus_dir=corpus, index_dir=index), encoder)

    def cited(question: str) -> list[str]:
        return [c.article_id for c in engine.ask(question, 5).citations]

    for article_id, text in (("nantes", NANTES), ("lyon", LYON), ("rec-2", BORDEAUX)):
        assert engine.get_article(article_id)[0].text == text, "the last good version, not the broken one"
    assert "nantes" in cited("Quand la bibliothèque de Nantes a-t-elle rouvert ?")
    assert "lyon" in cited("Quelle ville a inauguré un téléphérique en mars 2024 ?")
    assert "rec-2" in cited("Quel pont levant a ouvert à Bordeaux ?")
    assert "rec-3" in cited("Quand la deuxième ligne du métro de Rennes a-t-elle été mise en service ?")
    assert "brest" in cited("What maritime festival took place in Brest in July 2024?")
