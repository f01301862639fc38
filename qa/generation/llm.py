"""What a generated answer needs of an LLM: a chat that streams text, local or behind an OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, TypedDict

from qa.core.errors import QAError

if TYPE_CHECKING:
    from qa.core.config import Settings


class Message(TypedDict):
    """One chat message, as OpenAI's chat API and llama.cpp take it."""

    role: str
    content: str


INSTALL_LLM = "install the project with its llm extra (pip install -e '.[llm]', or make llm)"


class LLMError(QAError):
    """The LLM could not be reached, answered an error, or took too long: the extractive answer stands alone."""


class ChatModel(Protocol):
    """Streams the reply to a chat, piece by piece; raises LLMError past `timeout` seconds in all."""

    name: str
    # Whether it runs on this machine's CPU: then one generation runs at a time per worker.
    local: bool

    def stream(self, messages: Sequence[Message], *, max_tokens: int, timeout: float) -> Iterator[str]: ...

    def yes_log_odds(self, messages: Sequence[Message], *, timeout: float) -> float:
        """log P(YES) - log P(NO) for the reply's first token (qa.generation.verify asks it)."""
        ...


def open_llm(settings: Settings, *, progress: bool = True) -> ChatModel | None:
    """The LLM QA_LLM names: None when off, the provisioned local model, or a client of the server at that URL."""
    choice = settings.llm.strip()
    if choice.lower() in ("", "off"):
        return None
    if choice.lower() == "local":
        import importlib.util

        from qa.generation.local import LocalModel
        from qa.generation.weights import provision_local_llm

        if importlib.util.find_spec("llama_cpp") is None:
            raise LLMError(f"QA_LLM=local needs llama-cpp-python: {INSTALL_LLM}")
        return LocalModel(provision_local_llm(settings.cache_dir, progress), threads=settings.threads)
    from qa.generation.remote import RemoteModel

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None
    return RemoteModel(choice, model=settings.llm_model, api_key=key)
