"""`python -m tests.fakeqa ARGS` runs the `qa` command with FakeEncoder as its model, for subprocess tests."""

from __future__ import annotations

from typing import Any

import qa.engine
from qa.cli import main
from tests.conftest import FakeEncoder


def _fake_model(settings: Any, *, progress: bool = True) -> FakeEncoder:
    del settings, progress
    return FakeEncoder()


if __name__ == "__main__":
    # The CLI and the service look load_model up on qa.engine when they run, so this replaces the model everywhere.
    qa.engine.load_model = _fake_model
    main()
