"""Walking a corpus folder: what is read, what is skipped, and how bad files are reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa.core.errors import CorpusError
from qa.core.types import FileError
from qa.ingest import iter_corpus, load_corpus


def write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def test_recursive_walk_skips_hidden_entries_and_other_extensions(tmp_path: Path) -> None:
    write(tmp_path, "b.txt", "Article B.")
    write(tmp_path, "a.md", "---\ntitle: A\n---\nArticle A.")
    write(tmp_path, "2025/06/c.TXT", "Article C.")
    write(tmp_path, ".git/config.txt", "not an article")
    write(tmp_path, ".hidden.md", "not an article")
    write(tmp_path, "drafts/.DS_Store", b"\x00\x01")
    write(tmp_path, "notes.docx", b"PK\x03\x04\x00")
    write(tmp_path, "image.png", b"\x89PNG\x00")
    write(tmp_path, "README", "no extension")
    write(tmp_path, "a.md~", "editor backup")
    articles, errors = load_corpus(tmp_path)
    assert errors == []
    assert [(a.id, a.source) for a in articles] == [("c", "2025/06/c.TXT"), ("a", "a.md"), ("b", "b.txt")]


def test_bad_files_are_reported_and_the_good_ones_still_load(tmp_path: Path) -> None:
    write(tmp_path, "good.txt", "Un bon article.")
    write(tmp_path, "empty.txt", b"")
    write(tmp_path, "blank.md", "---\ntitle: Rien\n---\n")
    write(tmp_path, "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(tmp_path, "latin1.txt", "Été à Astana".encode("latin-1"))
    write(tmp_path, "yaml.md", "---\ntitle: 'non fermé\n---\nTexte.")
    write(tmp_path, "date.md", "---\ndate: 2025-02-30\n---\nTexte.")
    write(tmp_path, "mon article.txt", "Un nom de fichier avec une espace.")
    write(tmp_path, "sub/good.md", "Même id que good.txt.")
    articles, errors = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["good"]
    reasons = {error.file: error.error for error in errors}
    assert reasons == {
        "binary.txt": "binary file (contains NUL bytes), not text",
        "blank.md": "empty text",
        "date.md": "impossible date '2025-02-30': no such day",
        "empty.txt": "empty file",
        "latin1.txt": "not UTF-8 text (byte 0xC9 at offset 0); save the file as UTF-8",
        "mon article.txt": reasons["mon article.txt"],
        # Two files claiming one id are both reported: which one is the article is the user's call.
        "good.txt": "duplicate id 'good': also held by sub/good.md",
        "sub/good.md": "duplicate id 'good': already held by good.txt",
        "yaml.md": reasons["yaml.md"],
    }
    assert reasons["mon article.txt"].startswith("invalid article id 'mon article'")
    assert reasons["yaml.md"].startswith("broken YAML front matter")
    assert all("\n" not in error for error in reasons.values())


def test_duplicate_ids_across_formats(tmp_path: Path) -> None:
    write(tmp_path, "a.jsonl", '{"id": "kz", "text": "Depuis un jsonl."}\n')
    write(tmp_path, "kz.md", "Depuis un fichier.")
    articles, errors = load_corpus(tmp_path)
    assert [a.source for a in articles] == ["a.jsonl"]
    assert errors == [
        FileError("a.jsonl:1", "duplicate id 'kz': also held by kz.md", "kz"),
        FileError("kz.md", "duplicate id 'kz': already held by a.jsonl:1", "kz"),
    ]


def test_missing_or_unusable_corpus_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        iter_corpus(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(CorpusError, match="is not a folder"):
        load_corpus(tmp_path / "file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(CorpusError, match="cannot read"):
            load_corpus(locked)
    finally:
        locked.chmod(0o755)


def test_empty_corpus(tmp_path: Path) -> None:
    assert load_corpus(tmp_path) == ([], [])


def test_links_to_files_outside_the_corpus_are_errors_never_read(tmp_path: Path) -> None:
    corpus, secret = tmp_path / "corpus", tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret", encoding="utf-8")
    write(corpus, "a.txt", "Un article.")
    (corpus / "leak.txt").symlink_to(secret)
    (corpus / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    (corpus / "alias.txt").symlink_to(corpus / "a.txt")  # inside: followed, and a second claim on nothing new
    articles, errors = load_corpus(corpus)
    assert sorted(a.id for a in articles) == ["a", "alias"]
    assert all("secret" not in a.text for a in articles)
    refused = {e.file: e for e in errors}
    assert set(refused) == {"dangling.md", "leak.txt"}
    assert all("outside the corpus folder" in e.error and not e.keeps_indexed for e in refused.values())
    # On request (an archive linked in rather than copied), the link is read.
    followed, _ = load_corpus(corpus, outside_links=True)
    assert "leak" in {a.id for a in followed}


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Un article.")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    articles, errors = load_corpus(tmp_path)
    assert ([a.id for a in articles], errors) == (["a"], [])
