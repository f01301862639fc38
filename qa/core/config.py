"""Settings, read from QA_* environment variables and overridden by command-line flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# embeddinggemma-300m: PIAF test R@5 0.939 against e5-small's 0.898 in this pipeline, for about five times
# the embedding time (eval/reports/tuning.md); QA_MODEL=multilingual-e5-small-q4 picks the fast one.
DEFAULT_MODEL = "embeddinggemma-300m"
# pgvector's HNSW candidate list per search (QA_HNSW_EF_SEARCH): recall@10 0.993 against exact search on the
# real 10k-article index (eval/reports/backends_scale.json).
HNSW_EF_SEARCH = 200


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_cache_dir() -> Path:
    """Where provisioned models live unless QA_CACHE_DIR says otherwise."""
    return Path.home() / ".cache" / "qa"


class Settings(BaseSettings):
    """Everything configurable; built once by the entry point and passed in, never global."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", frozen=True)

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL
    api_token: SecretStr | None = None
    cache_dir: Path = Field(default_factory=default_cache_dir)
    # Origins allowed to call the API from a browser; closed unless configured.
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = 1_000_000
    # Host header names the service answers to (QA_ALLOWED_HOSTS=a.example,b.example; "*" for any): a page of
    # another site that rebinds its DNS name to this machine is refused. None: the loopback names when
    # `qa serve` is bound to loopback, any host otherwise.
    allowed_hosts: Annotated[list[str] | None, NoDecode] = None
    # CPU turns (None: one per CPU): questions answered, and articles embedded or committed, at once. Past
    # them max_waiting_asks questions wait a turn for at most ask_wait seconds; any other gets 503 with
    # Retry-After instead of slowing everyone down.
    max_asks: int | None = Field(default=None, ge=1)
    max_waiting_asks: int = Field(default=32, ge=0)
    ask_wait: float = Field(default=10.0, gt=0)
    # Seconds a connection may take to send a request's headers, and may stay silent inside its body;
    # connections held open at once (the longest-idle one without a request is closed to make room).
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    # Follow symbolic links to files outside the corpus folder (an archive linked in rather than copied).
    # Off: a link such as corpus/leak.txt -> /etc/passwd must never be indexed and served.
    outside_links: bool = False
    # Seconds a writer waits for another writer's lock before answering that the index is busy.
    lock_timeout: float = 30.0
    # Seconds between checks of the manifest for an index rebuilt by another process.
    reload_interval: float = 1.0
    # torch threads; None: one per CPU this process may use (unless OMP_NUM_THREADS says). On a busy shared
    # 2-core machine 1 is fastest: spinning OpenMP workers starve the thread they wait for.
    threads: int | None = Field(default=None, ge=1)
    # FAISS threads for a search: one query gains little from more, and on a busy machine OpenMP's spinning
    # threads made a flat search 3x slower (eval/bench_scale.py).
    faiss_threads: int = Field(default=1, ge=1)
    # Where embedding runs: auto takes a CUDA GPU when torch sees one (a CUDA build of torch), else the CPU.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # What runs the model on a CPU: auto is the default model's OpenVINO int8 variant (built on first use,
    # verified against torch; torch fp32 if it cannot be built), torch fp32 for any other model.
    runtime: Literal["auto", "openvino", "torch"] = "auto"
    # bf16 autocast (torch), on request only: for embeddinggemma on this AMX CPU it doubles torch fp32's
    # passages/s (8.9 against 4.0) but slows a question (132 against 99 ms); the int8 variant beats both.
    bf16: bool = False
    # Generated answers (POST /ask with "generate": true): "off", "local" (the bundled Qwen2.5-Coder-1.5B,
    # provisioned on first use) or the base URL of an OpenAI-compatible server ("http://127.0.0.1:8080/v1").
    llm: str = "off"
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    # Seconds one generation may take in all; the local model reads a prompt of three passages in about 15 s here.
    llm_timeout: float = Field(default=120.0, gt=0)
    # Top citations given to the LLM, and the longest reply.
    llm_passages: int = Field(default=3, ge=1, le=10)
    # What the LLM reads of each: the whole "passage", or N sentences either side of its focus sentence
    # (qa/generation/prompt.excerpt): less to read, the first word sooner.
    llm_context: Literal["passage"] | Annotated[int, Field(ge=0, le=20)] = "passage"
    llm_max_tokens: int = Field(default=200, ge=16, le=2000)
    # Seconds a question waits for the local LLM's one turn before it gets no generated answer.
    llm_wait: float = Field(default=5.0, ge=0)
    # A second reading of each sentence the rules keep: the LLM asked whether its cited passages state it, kept
    # at the log-odds of YES fitted for the local model (eval/fit_verifier.py; 0, the LLM's own YES, for any
    # other), "off", or the least log-odds as a number. It costs one short reply per sentence.
    llm_verify: Literal["on", "off"] | float = "on"
    # The short answer by the fine-tuned span reader (qa/answering/span_reader.py, when its adapters are there),
    # or "off": by the LightGBM span model over hand-named features, which needs no second model in memory.
    span_reader: Literal["on", "off"] = "on"
    # Whether the passages answer, with the span reader: "fitted", its calibrated probability (when one is fitted
    # beside it; fewer wrong abstentions on PIAF), or "rules": the rules' bars plus the reader's low margin (more
    # abstentions on the news gold sets; README, "The abstention as a calibrated probability").
    abstention: Literal["fitted", "rules"] = "fitted"
    # The index in PostgreSQL with pgvector (postgresql://user:password@host:port/db) instead of the folder
    # index_dir, and the replicas that answer its reads (a JSON list of URLs; the primary when none is up).
    database_url: SecretStr | None = None
    database_read_urls: list[SecretStr] = []
    # HNSW's candidate list per dense search in PostgreSQL (pgvector's hnsw.ef_search, at most 1000): higher
    # finds more of the exact nearest passages on a large index, and costs time (eval/bench_backends.py recall).
    # At least the dense candidates one question takes (qa.retrieval.candidates.CANDIDATES), or HNSW would
    # return fewer than asked.
    hnsw_ef_search: int = Field(default=HNSW_EF_SEARCH, ge=50, le=1000)
    # Test hook: a writer pauses at this phase for a test to kill it (qa/index/faults.py).
    test_pause_at: str | None = None

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """QA_ALLOWED_HOSTS=a,b (or a JSON list): names, spaces around them dropped."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("llm")
    @classmethod
    def _llm_choice(cls, value: str) -> str:
        """off, local, or an http(s) URL: anything else is said at once, not at the first question."""
        text = value.strip()
        if text.lower() in ("off", "local", ""):
            return text.lower() or "off"
        if not text.startswith(("http://", "https://")):
            raise ValueError(f"QA_LLM must be off, local or the http(s) URL of an OpenAI-compatible server, not {text!r}")
        return text

    @field_validator("database_url", "database_read_urls", mode="before")
    @classmethod
    def _postgres_urls(cls, value: object) -> object:
        """A postgresql:// URL (or a list of them): anything else is said at start, naming the variable."""
        if isinstance(value, str) and not value.strip():
            return None
        for url in value if isinstance(value, list) else [value]:
            text = url.get_secret_value() if isinstance(url, SecretStr) else url
            if text is not None and not (isinstance(text, str) and text.startswith(("postgresql://", "postgres://"))):
                shown = text.split("@")[-1] if isinstance(text, str) else text
                raise ValueError(f"a database URL must start with postgresql://, not {shown!r}")
        return value

    @field_validator("threads", "test_pause_at", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """QA_THREADS= (set but empty) means the default, as it always has."""
        return None if isinstance(value, str) and not value.strip() else value

    def cpu_turns(self) -> int:
        """CPU-heavy tasks at once (questions answered, writes embedded): max_asks, or one per CPU."""
        return self.max_asks or cpu_count()

    def with_overrides(self, **values: object) -> Settings:
        """A copy with the given non-None values replaced (flags win over the environment)."""
        kept = {k: v for k, v in values.items() if v is not None}
        return self.model_copy(update=kept) if kept else self
