"""The reader's plain files: the shipped one loads and fits the code; a broken one is refused naming its folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.answering.features import SENTENCE_FEATURES
from qa.answering.reader import PARAMS, QUESTION_FEATURES, READER_FILE, SENTENCE_MODEL, Policy, reader_for
from qa.answering.spans import SPAN_FEATURES
from qa.core.errors import ModelError

SHIPPED = "embeddinggemma-300m"


def test_the_shipped_reader_fits_this_code_and_says_its_policy() -> None:
    reader = reader_for(SHIPPED)
    assert reader is not None and reader.abstention is not None
    meta = json.loads((PARAMS / SHIPPED / READER_FILE).read_text(encoding="utf-8"))
    assert meta["sentence_features"] == list(SENTENCE_FEATURES)
    assert meta["span_features"] == list(SPAN_FEATURES)
    assert meta["abstention"]["features"] == list(QUESTION_FEATURES)
    assert reader.policy == Policy(**meta["policy"])
    assert 0.0 < reader.abstention.threshold < 1.0


def test_a_model_nobody_fitted_has_no_reader(tmp_path: Path) -> None:
    assert reader_for("some-other-model", tmp_path) is None


@pytest.mark.parametrize("damage", ["features", "model", "policy"])
def test_a_broken_reader_is_refused_naming_its_folder(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / SHIPPED
    shutil.copytree(PARAMS / SHIPPED, folder)
    meta = json.loads((folder / READER_FILE).read_text(encoding="utf-8"))
    if damage == "features":
        meta["sentence_features"] = meta["sentence_features"][:-1]
    elif damage == "policy":
        meta["policy"] = {"sentence": "guess", "abstention": "rules"}
    else:
        (folder / SENTENCE_MODEL).write_text("not a model\n", encoding="utf-8")
    (folder / READER_FILE).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match=str(folder)):
        reader_for(SHIPPED, tmp_path)
