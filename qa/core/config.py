"""Settings, read from QA_* environment variables and overridden by command-line flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# embeddinggemma-300m: PIAF test R@5 0.939 against e5-small's 0.898 in this pipeline, for about five times
# the embedding time (eval/reports/tuning.md); QA_MODEL=multilingual-e5-small-q4 picks the fast one.
DEFAULT_MODEL = "embeddinggemma-300m"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "qa"


class Settings(BaseSettings):
    """Everything configurable; built once by the entry point and passed in, never global."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", frozen=True)

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL
    api_token: SecretStr | None = None
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    # Origins allowed to call the API from a browser; closed unless configured.
    cors_origins: list[str] = []
    max_body_bytes: int = 1_000_000
    # Seconds a writer waits for another writer's lock before answering that the index is busy.
    lock_timeout: float = 30.0
    # Seconds between checks of the manifest for an index rebuilt by another process.
    reload_interval: float = 1.0

    def with_overrides(self, **values: object) -> Settings:
        """A copy with the given non-None values replaced (flags win over the environment)."""
        kept = {k: v for k, v in values.items() if v is not None}
        return self.model_copy(update=kept) if kept else self
