"""JSON Lines archives: our fields and OrangeSum's, gzip, and one bad record spoiling only itself."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from itertools import islice
from pathlib import Path

import pytest

from qa.core.types import Article, FileError
from qa.ingest import iter_corpus, load_corpus

ORANGESUM = Path(__file__).resolve().parents[3] / "shared" / "data" / "orangesum" / "orangesum_articles.jsonl.gz"


def write_jsonl(path: Path, lines: list[object | str]) -> None:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


GOOD = {
    "id": "kz-1",
    "title": "Astana signe",
    "date": "2025-06-16",
    "url": "https://exemple.fr/kz-1",
    "text": "Les deux chefs d'État ont signé 24 accords.\r\nSuite.",
}


@pytest.mark.parametrize("name", ["records.jsonl", "records.jsonl.gz", "RECORDS.JSONL"])
def test_jsonl_records_become_articles(tmp_path: Path, name: str) -> None:
    write_jsonl(tmp_path / name, [GOOD, {"id": 7, "text": "Deuxième article sans titre. Fin."}])
    articles, errors = load_corpus(tmp_path)
    assert errors == []
    assert articles == [
        Article(
            id="kz-1",
            text="Les deux chefs d'État ont signé 24 accords.\nSuite.",
            title="Astana signe",
            date=dt.date(2025, 6, 16),
            url="https://exemple.fr/kz-1",
            source=name,
        ),
        Article(id="7", text="Deuxième article sans titre. Fin.", title="Deuxième article sans titre", source=name),
    ]


def test_orangesum_record_puts_the_heading_first(tmp_path: Path) -> None:
    record = {
        "id": 10,
        "title": "Pastoralisme et ours",
        "date": "2020-07-02",
        "heading": "L'État va mobiliser 10 millions d'euros.",
        "article": "Cette enveloppe inclut 8,5 millions du ministère.",
    }
    already = {**record, "id": 11, "article": "L'État va mobiliser 10 millions d'euros. Cette enveloppe..."}
    no_heading = {**record, "id": 12, "heading": ""}
    write_jsonl(tmp_path / "orangesum.jsonl", [record, already, no_heading])
    articles, errors = load_corpus(tmp_path)
    assert errors == []
    texts = {article.id: article.text for article in articles}
    assert texts["10"] == "L'État va mobiliser 10 millions d'euros.\n\nCette enveloppe inclut 8,5 millions du ministère."
    assert texts["11"] == "L'État va mobiliser 10 millions d'euros. Cette enveloppe..."
    assert texts["12"] == "Cette enveloppe inclut 8,5 millions du ministère."
    assert articles[0].date == dt.date(2020, 7, 2)


def test_bad_records_are_named_by_line_and_the_rest_loads(tmp_path: Path) -> None:
    lines: list[object | str] = [
        GOOD,
        "{not json",
        {"id": "e", "title": "Vide", "article": "", "heading": "Un chapeau seul"},
        ["a", "list"],
        {"text": "Sans id."},
        {"id": "bad id", "text": "x"},
        {"id": "d", "text": "x", "date": "2025-02-30"},
        "",
        {**GOOD, "title": "Même id"},
        {"id": "last", "text": "Le dernier se charge."},
    ]
    write_jsonl(tmp_path / "mix.jsonl", lines)
    with (tmp_path / "mix.jsonl").open("ab") as f:
        f.write(b'{"id": "latin", "text": "\xe9t\xe9"}\n')
    articles, errors = load_corpus(tmp_path)
    assert [article.id for article in articles] == ["kz-1", "last"]
    assert [(error.file, error.error.split(":")[0].split(" (")[0]) for error in errors] == [
        ("mix.jsonl:2", "invalid JSON"),
        ("mix.jsonl:3", "empty text"),
        ("mix.jsonl:4", "record is a JSON list, expected an object"),
        ("mix.jsonl:5", "record has no id"),
        ("mix.jsonl:6", "invalid article id 'bad id'"),
        ("mix.jsonl:7", "impossible date '2025-02-30'"),
        ("mix.jsonl:1", "duplicate id 'kz-1'"),
        ("mix.jsonl:9", "duplicate id 'kz-1'"),
        ("mix.jsonl:11", "not UTF-8 text"),
    ]
    assert errors[6].error == "duplicate id 'kz-1': also held by mix.jsonl:9"
    assert errors[7].error == "duplicate id 'kz-1': already held by mix.jsonl:1"


def test_truncated_gzip_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    records = [{"id": f"r{i}", "text": f"Article numéro {i}. " * 50} for i in range(300)]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    items = list(iter_corpus(tmp_path))
    assert isinstance(items[-1], FileError)
    assert items[-1].file == "cut.jsonl.gz"
    assert items[-1].error.startswith("cannot read")
    loaded = [item for item in items if isinstance(item, Article)]
    assert 0 < len(loaded) < 300
    assert [a.id for a in loaded] == [f"r{i}" for i in range(len(loaded))]


def test_not_a_gzip_file(tmp_path: Path) -> None:
    (tmp_path / "fake.jsonl.gz").write_bytes(b'{"id": "a", "text": "x"}\n')
    _, errors = load_corpus(tmp_path)
    assert [e.file for e in errors] == ["fake.jsonl.gz"]
    assert "cannot read" in errors[0].error


def test_an_empty_jsonl_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    assert load_corpus(tmp_path)[1] == [FileError("empty.jsonl", "empty file")]


def test_records_stream_one_at_a_time(tmp_path: Path) -> None:
    # The first article arrives before the damaged end of the file is even read.
    path = tmp_path / "big.jsonl"
    write_jsonl(path, [{"id": f"a{i}", "text": "x"} for i in range(5)] + ["{broken"])
    first = next(iter_corpus(tmp_path))
    assert isinstance(first, Article) and first.id == "a0"


@pytest.mark.skipif(not ORANGESUM.is_file(), reason="shared/data is not beside this checkout")
def test_the_real_orangesum_archive_streams(tmp_path: Path) -> None:
    (tmp_path / "orangesum.jsonl.gz").symlink_to(ORANGESUM)  # read in place: a link out, followed on request
    head = list(islice(iter_corpus(tmp_path, outside_links=True), 2000))
    articles = [item for item in head if isinstance(item, Article)]
    errors = [item for item in head if isinstance(item, FileError)]
    assert len(articles) > 1900
    assert all(error.error == "empty text" for error in errors)
    first = articles[0]
    assert first.id == "10"
    assert first.title == "Pastoralisme et ours: 10 millions d'euros en 2020 pour soutenir la cohabitation"
    assert first.date == dt.date(2020, 7, 2)
    assert first.text.startswith("L'État va mobiliser en 2020 environ 10 millions d'euros")
    assert first.source == "orangesum.jsonl.gz"


def test_a_huge_record_is_refused_unread_and_the_records_after_it_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.ingest import jsonl

    monkeypatch.setattr(jsonl, "MAX_RECORD_BYTES", 1000)  # 32 MiB in the product; the same code path
    huge = {"id": "huge", "text": "mot " * 20_000}  # 80 kB on one line, a few hundred bytes gzipped
    with gzip.open(tmp_path / "big.jsonl.gz", "wt", encoding="utf-8") as fh:
        for record in (GOOD, huge, {"id": "after", "text": "Le suivant se charge."}):
            fh.write(json.dumps(record) + "\n")
    articles, errors = load_corpus(tmp_path)
    assert [a.id for a in articles] == ["kz-1", "after"]
    assert [(e.file, e.error) for e in errors] == [("big.jsonl.gz:2", "record too large (over 1000 bytes): not read")]
