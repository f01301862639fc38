"""The local LLM: the provisioned GGUF file run by llama-cpp-python on this machine's CPU."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.core.config import cpu_count
from qa.generation.llm import INSTALL_LLM, LLMError, Message
from qa.generation.weights import LOCAL_MODEL

# Room for the prompt's passages and question (about 1,000 tokens for three passages) and the answer.
CONTEXT_TOKENS = 4096


class LocalModel:
    """Loads the model on first use (about a second, 1.1 GB mapped), then streams greedy replies."""

    local = True

    def __init__(self, path: Path, *, threads: int | None = None, name: str = LOCAL_MODEL) -> None:
        self.path = path
        self.name = name
        self.threads = threads or cpu_count()
        self._llama: Any = None
        self._load_lock = threading.Lock()

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError:
                    raise LLMError(f"QA_LLM=local needs llama-cpp-python: {INSTALL_LLM}") from None
                try:
                    self._llama = Llama(
                        model_path=str(self.path), n_ctx=CONTEXT_TOKENS, n_threads=self.threads, seed=0, verbose=False
                    )
                except (ValueError, RuntimeError, OSError) as e:
                    raise LLMError(f"could not load the local LLM from {self.path}: {e}") from e
            return self._llama

    def stream(self, messages: Sequence[Message], *, max_tokens: int, timeout: float) -> Iterator[str]:
        llama = self._model()
        deadline = time.monotonic() + timeout
        chunks = llama.create_chat_completion(messages=list(messages), max_tokens=max_tokens, temperature=0.0, stream=True)
        try:
            for chunk in chunks:
                piece = chunk["choices"][0].get("delta", {}).get("content")
                if piece:
                    yield piece
                # The prompt is read before the first piece; a timeout can only be noticed between pieces.
                if time.monotonic() > deadline:
                    raise LLMError(f"the local LLM took longer than {timeout:g} s")
        except (ValueError, RuntimeError) as e:  # llama.cpp's own errors: a prompt past the context, a failed decode
            raise LLMError(f"the local LLM failed: {e}") from e
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
