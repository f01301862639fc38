"""Fitted parameter files shipped as package data (written by the eval/ scripts that fit them), read once per process."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=16)
def fitted_file(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; {} when there is none (nothing fitted yet) or it is not an object."""
    try:
        fitted = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return fitted if isinstance(fitted, dict) else {}
