"""Load test: concurrent clients ask `qa serve` questions for 60 s, then again while `qa index` adds 200 articles.

    python3 eval/load.py                  # throwaway copy of ./corpus (and ./index), its own `qa serve`
    python3 eval/load.py --url http://127.0.0.1:8000 --no-reindex
    python3 eval/load.py --hostile --no-reindex   # steady, then the same clients beside hostile traffic

With --hostile a phase runs the same normal clients beside long questions (2,000 characters), 2,000 idle
connections and writers racing on three ids (eval/hostile.py); it reports the normal clients' p50/p95 and
errors with and without them (target: p95 at most 3 times, no error) and checks that no article was lost
or corrupted.

Loopback only, bounded in time (every phase has a hard cap, every request a timeout) and in count
(--max-requests per phase); it stops by itself. Prints, per phase, the requests, errors (any non-2xx answer
or connection error; must be 0), p50/p95 latency and throughput; writes eval/reports/load.json and a chart,
eval/reports/load.png (latency over time, the reindex window shaded). Exit status 0 when no request failed
and the index run succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # eval/hostile.py beside it, also when imported by path
from hostile import Hostile, article_texts, check_articles

REPO = Path(__file__).resolve().parent.parent
REPORTS = REPO / "eval" / "reports"
GOLD = REPO / "eval" / "gold.jsonl"
ORANGESUM = REPO.parent / "shared" / "data" / "orangesum" / "orangesum_articles.jsonl.gz"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Used when eval/gold.jsonl is absent: French and English, answerable from the seed articles or not at all.
BUILTIN_QUESTIONS = (
    "What was signed in Astana in June 2025?",
    "Qu'est-ce qui a été signé à Astana en juin 2025 ?",
    "Combien d'accords bilatéraux Tokaïev et Xi Jinping ont-ils signés ?",
    "Où s'est tenu le premier sommet UE-Asie centrale ?",
    "When did the first EU–Central Asia summit take place?",
    "Qui a reçu Tokaïev à Washington ?",
    "Which countries took part in the China–Central Asia summit?",
    "Quelle est la position du Kazakhstan sur le nucléaire civil ?",
    "Combien de bergers seront embauchés dans les Pyrénées ?",
    "What did the French government announce about bears in the Pyrenees?",
    "Who won the 1998 football World Cup final?",
    "Quelle est la recette de la tarte tatin ?",
)
K_VALUES = (5, 3, 10)


# --- measuring -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One request: when it started (seconds since the run began), how long it took, and how it ended."""

    t: float
    latency: float
    status: int  # 0: no HTTP answer (connection error, timeout)
    error: str | None  # None when the answer was a 2xx


@dataclass
class Phase:
    """A phase's requests and its wall-clock window, in seconds since the run began."""

    name: str
    start: float
    end: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        latencies = sorted(s.latency for s in self.samples)
        errors = [s for s in self.samples if s.error is not None]
        duration = max(self.end - self.start, 1e-9)
        kinds: dict[str, int] = {}
        for s in errors:
            kinds[s.error or ""] = kinds.get(s.error or "", 0) + 1
        return {
            "requests": len(self.samples),
            "errors": len(errors),
            "error_kinds": kinds,
            "p50_ms": _ms(percentile(latencies, 50)),
            "p95_ms": _ms(percentile(latencies, 95)),
            "p99_ms": _ms(percentile(latencies, 99)),
            "max_ms": _ms(latencies[-1] if latencies else math.nan),
            "mean_ms": _ms(sum(latencies) / len(latencies) if latencies else math.nan),
            "throughput_rps": round(len(self.samples) / duration, 2),
            "duration_s": round(duration, 1),
            **self.extra,
        }


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(seconds: float) -> float | None:
    return None if math.isnan(seconds) else round(seconds * 1000, 1)


def describe(phase: Phase) -> str:
    s = phase.summary()
    return (
        f"{phase.name}: {s['requests']} requests, {s['errors']} errors, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
        f"p99 {s['p99_ms']} ms, max {s['max_ms']} ms, {s['throughput_rps']} req/s over {s['duration_s']} s"
    )


def _client_loop(
    url: str,
    questions: Sequence[str],
    index: int,
    t0: float,
    stop: threading.Event,
    out: list[Sample],
    budget: _Budget,
    timeout: float,
) -> None:
    n = index * 7  # clients start at different questions, so that they do not ask in lockstep
    with httpx.Client(base_url=url, timeout=timeout) as client:
        while not stop.is_set() and budget.take():
            body = {"question": questions[n % len(questions)], "k": K_VALUES[n % len(K_VALUES)]}
            n += 1
            start = time.perf_counter()
            try:
                res = client.post("/ask", json=body)
                status = res.status_code
                error = None if 200 <= status < 300 else f"HTTP {status}: {res.text[:200]}"
                if error is None:
                    res.json()  # a 2xx that is not JSON is an error too
            except (httpx.HTTPError, ValueError) as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"[:200]
            out.append(Sample(start - t0, time.perf_counter() - start, status, error))


class _Budget:
    """At most `limit` requests in a phase, shared by its clients."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            self._left -= 1
            return self._left >= 0


def run_phase(
    name: str,
    url: str,
    questions: Sequence[str],
    *,
    clients: int = 8,
    seconds: float = 60.0,
    t0: float | None = None,
    until: Callable[[], bool] | None = None,
    max_seconds: float | None = None,
    max_requests: int = 1_000_000,
    timeout: float = 60.0,
) -> Phase:
    """`clients` threads ask questions in a loop, each on its own keep-alive connection, for `seconds`,
    and then for as long as `until()` is false, never past `max_seconds`; in-flight requests finish."""
    if not questions:
        raise ValueError("no questions to ask")
    t0 = time.perf_counter() if t0 is None else t0
    phase = Phase(name, time.perf_counter() - t0)
    stop = threading.Event()
    budget = _Budget(max_requests)
    outs: list[list[Sample]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(target=_client_loop, args=(url, questions, i, t0, stop, outs[i], budget, timeout), daemon=True)
        for i in range(clients)
    ]
    began = time.perf_counter()
    cap = max(seconds, max_seconds if max_seconds is not None else seconds)
    for thread in threads:
        thread.start()
    capped = False
    while any(t.is_alive() for t in threads):  # all gone only when --max-requests is spent
        elapsed = time.perf_counter() - began
        if elapsed >= seconds and (until is None or until()):
            break
        if elapsed >= cap:
            capped = True
            break
        time.sleep(0.25)
    stop.set()
    for thread in threads:
        thread.join(timeout + 5)
    phase.end = time.perf_counter() - t0
    phase.samples = sorted((s for out in outs for s in out), key=lambda s: s.t)
    phase.extra["capped"] = capped
    return phase


# --- the service and the corpus ----------------------------------------------------------------------------------
def check_loopback(url: str) -> str:
    """The URL without a trailing slash, if it points at this machine's loopback; else ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"{url!r} is not a loopback http URL (127.0.0.1, localhost or ::1): this script only loads this machine")
    return url.rstrip("/")


def load_questions(gold: Path) -> list[str]:
    """Every question of the gold file (French and English), or the built-in list without one."""
    if not gold.is_file():
        return list(BUILTIN_QUESTIONS)
    questions = []
    for line in gold.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if isinstance(record, dict) and isinstance(record.get("question"), str) and record["question"].strip():
                questions.append(record["question"])
    return questions or list(BUILTIN_QUESTIONS)


def orangesum_records(source: Path, count: int, skip: int = 0) -> list[dict[str, Any]]:
    """The first `count` OrangeSum records with a body and an id not seen before (after `skip` of them)."""
    from qa.core.errors import InputError
    from qa.ingest import parse_record

    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    with gzip.open(source, "rt", encoding="utf-8") as stream:
        for line in stream:
            record = {**json.loads(line)}
            record["id"] = f"orangesum-{record.get('id')}"
            if record["id"] in seen:
                continue
            try:
                parse_record(json.dumps(record))  # 165 have an empty body: `qa index` would skip them, exit 3
            except InputError:
                continue
            seen.add(record["id"])
            if len(seen) <= skip:
                continue
            records.append(record)
            if len(records) == count:
                break
    return records


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The token of the service this script starts (writes of the hostile phase): never a real secret.
LOAD_TOKEN = "load-test-token-" + os.urandom(8).hex()


def _child_env() -> dict[str, str]:
    # The service and `qa index` get their folders from flags, not from whatever QA_* the caller has set.
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k in ("QA_CACHE_DIR", "QA_MODEL")}
    env["PYTHONUNBUFFERED"] = "1"
    env["QA_API_TOKEN"] = LOAD_TOKEN
    return env


def health(url: str) -> dict[str, Any] | None:
    try:
        res = httpx.get(f"{url}/health", timeout=10)
    except httpx.HTTPError:
        return None
    body: dict[str, Any] = res.json() if res.status_code == 200 else {}
    return body or None


@contextlib.contextmanager
def serve(corpus: Path, index: Path, log: Path, start_timeout: float) -> Iterator[str]:
    """`qa serve` on a free loopback port over these folders; stopped (SIGINT, then SIGKILL) on exit."""
    url = f"http://127.0.0.1:{free_port()}"
    port = url.rsplit(":", 1)[1]
    args = [
        sys.executable,
        "-m",
        "qa",
        "serve",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
        "--host",
        "127.0.0.1",
        "--port",
        port,
    ]
    with log.open("wb") as handle:
        proc = subprocess.Popen(args, cwd=REPO, env=_child_env(), stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + start_timeout
        while health(url) is None:
            if proc.poll() is not None:
                raise RuntimeError(f"qa serve exited with status {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"qa serve did not answer within {start_timeout:.0f} s; see {log}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc, 30)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reindex_phase(
    url: str,
    questions: Sequence[str],
    corpus: Path,
    index: Path,
    records: Sequence[dict[str, Any]],
    *,
    t0: float,
    clients: int,
    seconds: float,
    max_seconds: float,
    max_requests: int,
    timeout: float,
    log: Path,
) -> Phase:
    """Ask while `qa index` (a subprocess) embeds `records`, written as a .jsonl into the corpus: at least
    `seconds`, and on until the index run has ended and the service answers from the new generation."""
    before = (health(url) or {}).get("articles", 0)
    target = corpus / "load-orangesum.jsonl"
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    args = [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index", str(index), "--json", "-q"]
    out = log.with_suffix(".json")
    with out.open("wb") as stdout, log.open("wb") as stderr:
        proc = subprocess.Popen(args, cwd=REPO, env=_child_env(), stdout=stdout, stderr=stderr)
    index_start = time.perf_counter() - t0
    timing: dict[str, float] = {}
    expected = before + len(records)

    def done() -> bool:
        if proc.poll() is None:
            return False
        if "index_end" not in timing:
            timing["index_end"] = time.perf_counter() - t0
        # Until the service has loaded the new generation (it polls the manifest), or 60 s past the run.
        if "loaded" not in timing and (health(url) or {}).get("articles", 0) >= expected:
            timing["loaded"] = time.perf_counter() - t0
        return "loaded" in timing or time.perf_counter() - t0 - timing["index_end"] > 60

    try:
        phase = run_phase(
            "reindex",
            url,
            questions,
            clients=clients,
            seconds=seconds,
            t0=t0,
            until=done,
            max_seconds=max_seconds,
            max_requests=max_requests,
            timeout=timeout,
        )
    finally:
        killed = proc.poll() is None
        _stop(proc, 30)  # past the cap: the run is stopped, and reported as such
    after = (health(url) or {}).get("articles", 0)
    report: Any = None
    with contextlib.suppress(OSError, ValueError):
        report = json.loads(out.read_text(encoding="utf-8"))
    index_end = timing.get("index_end", phase.end)
    phase.extra["index"] = {
        "articles_added": len(records),
        "start_s": round(index_start, 1),
        "end_s": round(index_end, 1),
        "seconds": round(index_end - index_start, 1),
        "service_loaded_at_s": round(timing["loaded"], 1) if "loaded" in timing else None,
        "returncode": proc.returncode,
        "stopped_at_cap": killed,
        "report": report,
        "articles_before": before,
        "articles_after": after,
    }
    return phase


# --- reporting ---------------------------------------------------------------------------------------------------
BIN_SECONDS = 5


def timeline(phase: Phase) -> list[dict[str, Any]]:
    """The phase in 5-second bins by request start: count, errors, p50/p95/max latency (ms)."""
    bins: dict[int, list[Sample]] = {}
    for s in phase.samples:
        bins.setdefault(int(s.t // BIN_SECONDS), []).append(s)
    rows = []
    for key in sorted(bins):
        latencies = sorted(s.latency for s in bins[key])
        rows.append(
            {
                "t": key * BIN_SECONDS,
                "requests": len(latencies),
                "errors": sum(1 for s in bins[key] if s.error is not None),
                "p50_ms": _ms(percentile(latencies, 50)),
                "p95_ms": _ms(percentile(latencies, 95)),
                "max_ms": _ms(latencies[-1]),
            }
        )
    return rows


def write_report(path: Path, meta: dict[str, Any], phases: Sequence[Phase]) -> dict[str, Any]:
    report = {
        **meta,
        "phases": {
            p.name: {**p.summary(), "window_s": [round(p.start, 1), round(p.end, 1)], "timeline": timeline(p)} for p in phases
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return report


def write_chart(path: Path, phases: Sequence[Phase], title: str) -> None:
    """Latency of every request over time, a rolling p50/p95 per 5 s, the reindex window shaded."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to a file
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    colours = {"steady": "#1f77b4", "reindex": "#d62728", "hostile": "#9467bd"}
    for phase in phases:
        ok = [s for s in phase.samples if s.error is None]
        bad = [s for s in phase.samples if s.error is not None]
        ax.scatter(
            [s.t for s in ok],
            [s.latency * 1000 for s in ok],
            s=6,
            alpha=0.35,
            color=colours.get(phase.name, "grey"),
            label=f"{phase.name}: {len(phase.samples)} requests, {len(bad)} errors",
        )
        if bad:
            ax.scatter([s.t for s in bad], [s.latency * 1000 for s in bad], s=30, marker="x", color="black", label="errors")
        index = phase.extra.get("index")
        if index:
            ax.axvspan(
                index["start_s"],
                index["end_s"],
                color="orange",
                alpha=0.15,
                label=f"qa index adding {index['articles_added']} articles ({index['seconds']:.0f} s)",
            )
    rows = [row for p in phases for row in timeline(p)]
    for pct, style in ((50, "-"), (95, "--")):
        ax.plot(
            [row["t"] + BIN_SECONDS / 2 for row in rows],
            [row[f"p{pct}_ms"] for row in rows],
            style,
            color="black",
            linewidth=1.2,
            label=f"p{pct} per {BIN_SECONDS} s",
        )
    for phase in phases[1:]:
        ax.axvline(phase.start, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("seconds since the start of the run")
    ax.set_ylabel("POST /ask latency (ms)")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --- the hostile phase --------------------------------------------------------------------------------------------
P95_BOUND = 3.0  # the normal clients' p95 beside hostile traffic, at most this many times their p95 alone


def hostile_phase(url: str, questions: Sequence[str], args: argparse.Namespace, t0: float, corpus: Path | None) -> Phase:
    """The normal clients for --seconds beside long questions, idle connections and racing writers; then the check."""
    token = args.token if args.url else LOAD_TOKEN
    before = article_texts(url)
    hostile = Hostile(url, token, idle_connections=args.idle, timeout=args.timeout)
    print(
        f"hostile: {hostile.long_clients} long-question clients, {hostile.idle_connections} idle connections, "
        f"{hostile.writers} writers on {len(hostile.ids)} ids, beside {args.clients} normal clients ...",
        flush=True,
    )
    hostile.start()
    try:
        phase = run_phase(
            "hostile", url, questions, clients=args.clients, seconds=args.seconds, t0=t0,
            max_requests=args.max_requests, timeout=args.timeout,
        )  # fmt: skip
    finally:
        traffic = hostile.finish()
    phase.extra["hostile_traffic"] = traffic
    phase.extra["articles"] = check_articles(url, corpus, hostile.ids, hostile.versions, before)
    return phase


def hostile_verdict(alone: Phase, beside: Phase) -> dict[str, Any]:
    """Whether the target held: normal p95 beside hostile traffic within P95_BOUND times alone, no error, nothing lost."""
    a, b = alone.summary(), beside.summary()
    ratio = (b["p95_ms"] or math.inf) / max(a["p95_ms"] or math.inf, 1e-9)
    problems = beside.extra["articles"]["problems"]
    held = ratio <= P95_BOUND and b["errors"] == 0 and not problems
    said = (
        f"normal clients: p95 {a['p95_ms']} ms alone, {b['p95_ms']} ms beside hostile traffic ({ratio:.2f}x, bound "
        f"{P95_BOUND:g}x); {b['errors']} errors; {len(problems)} articles lost or corrupted"
        + (f" ({'; '.join(problems[:3])})" if problems else "")
        + f"; hostile traffic got {beside.extra['hostile_traffic']}"
    )
    beside.extra["verdict"] = {"p95_ratio": round(ratio, 2), "bound": P95_BOUND, "held": held}
    return {"held": held, "said": said}


# --- the command ---------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running service on loopback (default: start `qa serve` on a throwaway copy)")
    p.add_argument(
        "--corpus", type=Path, default=REPO / "corpus", help="corpus folder to copy (or, with --url, the service's own)"
    )
    p.add_argument(
        "--index", type=Path, default=REPO / "index", help="index folder to copy if it exists (or, with --url, the service's own)"
    )
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    p.add_argument("--articles", type=int, default=200, help="OrangeSum articles `qa index` adds in the second phase")
    p.add_argument("--orangesum", type=Path, default=ORANGESUM)
    p.add_argument("--max-reindex-seconds", type=float, default=900.0, help="hard cap on the second phase")
    p.add_argument("--max-requests", type=int, default=200_000, help="hard cap on requests per phase")
    p.add_argument("--timeout", type=float, default=60.0, help="per request: slower counts as an error")
    p.add_argument("--start-timeout", type=float, default=900.0, help="for `qa serve` to answer (model load, first index)")
    p.add_argument("--gold", type=Path, default=GOLD, help="questions (JSON lines with 'question'); built-in list if absent")
    p.add_argument("--no-reindex", action="store_true", help="no phase with `qa index` running")
    p.add_argument("--hostile", action="store_true", help="a phase beside hostile traffic (eval/hostile.py)")
    p.add_argument("--token", help="with --url and --hostile: the service's QA_API_TOKEN, for the hostile writes")
    p.add_argument("--idle", type=int, default=2000, help="idle connections held in the hostile phase")
    p.add_argument("--out", type=Path, default=REPORTS, help="where load.json and load.png go")
    p.add_argument("--keep", action="store_true", help="keep the throwaway folder (its path is printed)")
    args = p.parse_args(argv)
    if args.url:
        args.url = check_loopback(args.url)
    if not 1 <= args.clients <= 64:
        p.error("--clients must be 1..64")
    if not 0 < args.seconds <= 600 or not 0 < args.max_reindex_seconds <= 3600:
        p.error("--seconds must be in (0, 600] and --max-reindex-seconds in (0, 3600]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    questions = load_questions(args.gold)
    records = [] if args.no_reindex else orangesum_records(args.orangesum, args.articles)
    if not args.no_reindex and len(records) < args.articles:
        print(f"error: only {len(records)} usable OrangeSum articles in {args.orangesum}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    try:
        with contextlib.ExitStack() as stack:
            if args.url:
                url, corpus, index = args.url, args.corpus, args.index
                if not args.no_reindex and not (index / "manifest.json").is_file():
                    print(
                        "error: with --url, --corpus and --index must be that service's folders (or pass --no-reindex)",
                        file=sys.stderr,
                    )
                    return 1
            else:
                corpus, index = work / "corpus", work / "index"
                shutil.copytree(args.corpus, corpus)
                if (args.index / "manifest.json").is_file():
                    shutil.copytree(args.index, index, ignore=shutil.ignore_patterns(".write.lock"))
                print(f"starting qa serve over a copy in {work} ...", flush=True)
                url = stack.enter_context(serve(corpus, index, work / "serve.log", args.start_timeout))
            state = health(url) or {}
            print(
                f"{url}: {state.get('articles')} articles, {state.get('chunks')} passages, model {state.get('model')}; "
                f"{args.clients} clients, {len(questions)} questions",
                flush=True,
            )
            meta: dict[str, Any] = {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "url": url,
                "clients": args.clients,
                "questions": len(questions),
                "phase_seconds": args.seconds,
                "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
                "index_at_start": state,
            }
            t0 = time.perf_counter()
            phases = [
                run_phase(
                    "steady",
                    url,
                    questions,
                    clients=args.clients,
                    seconds=args.seconds,
                    t0=t0,
                    max_requests=args.max_requests,
                    timeout=args.timeout,
                )
            ]
            print(describe(phases[0]), flush=True)
            if args.hostile:
                hostile = hostile_phase(url, questions, args, t0, None if args.url else corpus)
                phases.append(hostile)
                print(describe(hostile), flush=True)
                print(hostile_verdict(phases[0], hostile)["said"], flush=True)
            if not args.no_reindex:
                print(f"qa index is adding {len(records)} OrangeSum articles while the clients ask ...", flush=True)
                phases.append(
                    reindex_phase(
                        url,
                        questions,
                        corpus,
                        index,
                        records,
                        t0=t0,
                        clients=args.clients,
                        seconds=args.seconds,
                        max_seconds=args.max_reindex_seconds,
                        max_requests=args.max_requests,
                        timeout=args.timeout,
                        log=work / "index.log",
                    )
                )
                print(describe(phases[-1]), flush=True)
                ix = phases[-1].extra["index"]
                print(
                    f"qa index: {ix['seconds']} s, exit {ix['returncode']}, articles {ix['articles_before']} -> "
                    f"{ix['articles_after']}, service on the new index at {ix['service_loaded_at_s']} s"
                    + (" (stopped at the cap)" if ix["stopped_at_cap"] else ""),
                    flush=True,
                )
            meta["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        stem = "load-hostile" if args.hostile else "load"
        json_path, png_path = args.out / f"{stem}.json", args.out / f"{stem}.png"
        write_report(json_path, meta, phases)
        summaries = [p.summary() for p in phases]
        title = " | ".join(
            f"{p.name}: {s['requests']} req, {s['errors']} err, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms"
            for p, s in zip(phases, summaries, strict=True)
        )
        write_chart(png_path, phases, f"{args.clients} clients on {os.cpu_count()} CPUs — {title}")
        print(f"wrote {json_path} and {png_path}")
        failed = sum(s["errors"] for s in summaries) > 0
        if args.hostile:
            failed = failed or not hostile_verdict(phases[0], phases[1])["held"]
        if not args.no_reindex:
            ix = phases[-1].extra["index"]
            failed = (
                failed
                or ix["returncode"] != 0
                or ix["stopped_at_cap"]
                or ix["articles_after"] < ix["articles_before"] + len(records)
            )
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
