"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp's server, a hosted API), streamed over HTTP."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qa.generation.llm import LLMError, Message
from qa.generation.verify import PLAIN_REPLY_LOG_ODDS, is_yes, log_odds

if TYPE_CHECKING:
    import httpx

# Seconds to connect: a server that is down answers at once, one that is unreachable should not hold /ask.
CONNECT_TIMEOUT_S = 5.0


class RemoteModel:
    """A client of `base_url`'s /chat/completions (the URL up to and including /v1)."""

    local = False

    def __init__(self, base_url: str, *, model: str | None = None, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model or "default"
        self.name = f"{self.model} at {self.base_url}"
        self.api_key = api_key

    @contextlib.contextmanager
    def _client(self, timeout: float) -> Iterator[httpx.Client]:
        """An HTTP client of the server whose timeouts and failures to connect come out as LLMErrors naming it."""
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limits = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout))
        try:
            with httpx.Client(timeout=limits, headers=headers) as client:
                yield client
        except httpx.TimeoutException:
            raise self._too_slow(timeout) from None
        except httpx.HTTPError as e:
            raise LLMError(f"the LLM server at {self.base_url} cannot be reached: {e}") from None

    def _too_slow(self, timeout: float) -> LLMError:
        return LLMError(f"the LLM server at {self.base_url} took longer than {timeout:g} s")

    def _refused(self, status: int, text: str) -> LLMError:
        detail = text.strip().replace("\n", " ")[:200]
        return LLMError(f"the LLM server at {self.base_url} answered {status}: {detail}")

    def yes_log_odds(self, messages: Sequence[Message], *, timeout: float) -> float:
        """From the first token's top logprobs where the server gives them (OpenAI, vLLM), else from the plain
        reply, asked again without logprobs if they were refused: YES or NO at PLAIN_REPLY_LOG_ODDS."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": 20,
        }
        url = f"{self.base_url}/chat/completions"
        with self._client(timeout) as client:
            reply = client.post(url, json=body)
            if reply.status_code >= 400:
                # Some servers refuse logprobs (llama.cpp's without logits for every token): the plain reply.
                plain = {k: v for k, v in body.items() if k not in ("logprobs", "top_logprobs")}
                reply = client.post(url, json=plain)
        if reply.status_code >= 400:
            raise self._refused(reply.status_code, reply.text)
        try:
            return _yes_log_odds(reply.json())
        except (ValueError, AttributeError, TypeError, KeyError, IndexError) as e:
            raise LLMError(f"the LLM server at {self.base_url} sent a reply that is not a chat completion: {e}") from e

    def stream(self, messages: Sequence[Message], *, max_tokens: int, timeout: float) -> Iterator[str]:
        body = {"model": self.model, "messages": list(messages), "max_tokens": max_tokens, "temperature": 0, "stream": True}
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/chat/completions"
        with self._client(timeout) as client, client.stream("POST", url, json=body) as reply:
            if reply.status_code >= 400:
                raise self._refused(reply.status_code, reply.read().decode("utf-8", "replace"))
            for line in reply.iter_lines():
                if time.monotonic() > deadline:
                    raise self._too_slow(timeout)
                piece = _content(line)
                if piece is None:
                    return
                if piece:
                    yield piece


def _content(line: str) -> str | None:
    """The text a server-sent event line carries; "" for lines without any, None at the end of the stream."""
    if not line.startswith("data:"):
        return ""
    data = line[len("data:") :].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
        choices = event.get("choices") or []
        if not choices:
            return ""
        return str((choices[0].get("delta") or {}).get("content") or "")
    except (ValueError, AttributeError, TypeError) as e:
        raise LLMError(f"the LLM server sent a line that is not a chat completion chunk: {data[:80]!r}") from e


def _yes_log_odds(completion: dict[str, Any]) -> float:
    """The log-odds of YES in a chat completion of one token: from its top logprobs, else from its text."""
    choice = completion["choices"][0]
    content = ((choice.get("logprobs") or {}).get("content")) or []
    if content:
        top = content[0].get("top_logprobs") or [content[0]]
        verdicts = [(is_yes(str(t["token"])), float(t["logprob"])) for t in top]
        if any(v is not None for v, _ in verdicts):
            return log_odds([lp for v, lp in verdicts if v is True], [lp for v, lp in verdicts if v is False])
    verdict = is_yes(str((choice.get("message") or {}).get("content") or ""))
    if verdict is None:
        raise LLMError("the LLM replied neither YES nor NO when asked whether a sentence is supported")
    return PLAIN_REPLY_LOG_ODDS if verdict else -PLAIN_REPLY_LOG_ODDS
