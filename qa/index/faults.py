"""Test hook: QA_TEST_PAUSE_AT=<phase> makes a writer print a marker and sleep there, to be killed."""

from __future__ import annotations

import functools
import os
import sys
import time

# The phases, in the order a `qa index` run meets them:
#   embedding    a batch's passages are being embedded (nothing of it is stored yet)
#   stored       a batch's vectors, chunks and lexical terms were just committed to the store
#   dense-write  the new dense file is written under its temporary name, not yet renamed
#   manifest     the dense files of the new generation are in place, the manifest not yet written
#   committed    the manifest was written, the files of older generations not yet deleted
PHASES = ("embedding", "stored", "dense-write", "manifest", "committed")
MARKER = "QA_PAUSED_AT"


@functools.cache
def _pause_phase() -> str | None:
    """The phase named by QA_TEST_PAUSE_AT, read once (tests set it for the child process they start)."""
    from qa.core.config import Settings

    return Settings().test_pause_at


def pause_point(phase: str) -> None:
    """Sleep (for a test to kill -9 this process) if QA_TEST_PAUSE_AT names this phase; else nothing."""
    if _pause_phase() == phase:
        print(f"{MARKER} {phase} pid={os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(3600)
