"""The local LLM: the provisioned GGUF file run by llama-cpp-python on this machine's CPU."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.core.config import cpu_count
from qa.generation.llm import INSTALL_LLM, LLMError, Message
from qa.generation.verify import is_yes, log_odds
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
        self._answer_tokens: tuple[list[int], list[int]] | None = None

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

    def _yes_no_tokens(self, llama: Any) -> tuple[list[int], list[int]]:
        """The vocabulary's tokens that spell YES and NO (" YES", "Yes", "yes", ...)."""
        if self._answer_tokens is None:
            yes: set[int] = set()
            no: set[int] = set()
            for word in ("yes", "no"):
                for form in (word, word.capitalize(), word.upper()):
                    for spelled in (form, " " + form):
                        ids = llama.tokenize(spelled.encode(), add_bos=False, special=False)
                        if len(ids) == 1 and (verdict := is_yes(spelled)) is not None:
                            (yes if verdict else no).add(ids[0])
            self._answer_tokens = (sorted(yes), sorted(no))
        return self._answer_tokens

    def yes_log_odds(self, messages: Sequence[Message], *, timeout: float) -> float:
        """Read from the logits of the first reply token, which llama.cpp hands to a logits processor: the model
        needs no logits for every prompt token (logits_all), and a prompt sharing its start with the last one
        (the same passages, another sentence) reads only the rest."""
        llama = self._model()
        yes, no = self._yes_no_tokens(llama)
        seen: list[tuple[list[float], list[float]]] = []

        def keep(_ids: Any, scores: Any) -> Any:
            seen.append(([float(scores[i]) for i in yes], [float(scores[i]) for i in no]))
            return scores

        start = time.monotonic()
        try:
            llama.create_chat_completion(messages=list(messages), max_tokens=1, temperature=0.0, logits_processor=[keep])
        except (ValueError, RuntimeError) as e:
            raise LLMError(f"the local LLM failed: {e}") from e
        if time.monotonic() - start > timeout:
            raise LLMError(f"the local LLM took longer than {timeout:g} s")
        if not seen:
            raise LLMError("the local LLM gave no logits to read a YES or NO from")
        # Raw logits will do: the softmax's normaliser is the same on both sides and cancels.
        return log_odds(*seen[0])

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
