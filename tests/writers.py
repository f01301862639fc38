"""Helpers for tests that run `qa index` as a separate process, pause it at a phase and kill it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from qa.index.faults import MARKER

REPO = Path(__file__).resolve().parent.parent
# A guard against a hung child, never a measure of speed: the model alone can take a minute to load here.
DEADLINE_S = 300.0
_started: list[subprocess.Popen[bytes]] = []


def reap() -> None:
    """Kill the writers a test started and left running (a paused one sleeps for an hour otherwise)."""
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@dataclass
class Writer:
    """A `qa index` process and the file its standard error goes to."""

    proc: subprocess.Popen[bytes]
    stderr: Path
    stdout: Path

    def wait_paused(self, phase: str) -> None:
        """Block until the process says it is paused at `phase`; fail if it exits first."""
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            if f"{MARKER} {phase}" in self.stderr.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"qa index exited ({self.proc.returncode}) before pausing at {phase}: {self.err()}")
            time.sleep(0.05)
        raise AssertionError(f"qa index never paused at {phase}: {self.err()}")

    def kill9(self) -> None:
        self.proc.kill()  # SIGKILL: no handler, no cleanup, no flush
        self.proc.wait()

    def finish(self) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) once it ends."""
        self.proc.wait(timeout=DEADLINE_S)
        return self.proc.returncode, self.stdout.read_text(), self.err()

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")


def start_index(
    corpus: Path, index: Path, logs: Path, *, fake: bool = True, pause_at: str | None = None, env: dict[str, str] | None = None
) -> Writer:
    """Start `qa index --json -q` (with the fake model unless fake=False), optionally pausing at a phase."""
    logs.mkdir(parents=True, exist_ok=True)
    n = len(list(logs.glob("*.err")))
    out, err = logs / f"run{n}.out", logs / f"run{n}.err"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k in ("QA_CACHE_DIR", "QA_MODEL")}
    child_env["PYTHONUNBUFFERED"] = "1"
    if pause_at:
        child_env["QA_TEST_PAUSE_AT"] = pause_at
    child_env.update(env or {})
    module = "tests.fakeqa" if fake else "qa"
    args = [sys.executable, "-m", module, "index", "--corpus", str(corpus), "--index", str(index), "--json", "-q"]
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(args, cwd=REPO, env=child_env, stdout=o, stderr=e)
    _started.append(proc)
    return Writer(proc, err, out)
