"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp's server, a hosted API), streamed over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from qa.generation.llm import LLMError, Message
from qa.generation.verify import PLAIN_REPLY_LOG_ODDS, is_yes, log_odds

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

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def yes_log_odds(self, messages: Sequence[Message], *, timeout: float) -> float:
        """From the first token's top logprobs where the server gives them (OpenAI, vLLM), else from the plain
        reply, asked again without logprobs if they were refused: YES or NO at PLAIN_REPLY_LOG_ODDS."""
        import httpx

        body = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": 20,
        }
        limits = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout))
        url = f"{self.base_url}/chat/completions"
        try:
            with httpx.Client(timeout=limits) as client:
                reply = client.post(url, json=body, headers=self._headers())
                if reply.status_code >= 400:
                    # Some servers refuse logprobs (llama.cpp's without logits for every token): the plain reply.
                    plain = {k: v for k, v in body.items() if k not in ("logprobs", "top_logprobs")}
                    reply = client.post(url, json=plain, headers=self._headers())
        except httpx.TimeoutException:
            raise LLMError(f"the LLM server at {self.base_url} took longer than {timeout:g} s") from None
        except httpx.HTTPError as e:
            raise LLMError(f"the LLM server at {self.base_url} cannot be reached: {e}") from None
        if reply.status_code >= 400:
            detail = reply.text.strip().replace("\n", " ")[:200]
            raise LLMError(f"the LLM server at {self.base_url} answered {reply.status_code}: {detail}")
        try:
            return _yes_log_odds(reply.json())
        except (ValueError, AttributeError, TypeError, KeyError, IndexError) as e:
            raise LLMError(f"the LLM server at {self.base_url} sent a reply that is not a chat completion: {e}") from e

    def stream(self, messages: Sequence[Message], *, max_tokens: int, timeout: float) -> Iterator[str]:
        import httpx

        headers = self._headers()
        body = {"model": self.model, "messages": list(messages), "max_tokens": max_tokens, "temperature": 0, "stream": True}
        deadline = time.monotonic() + timeout
        limits = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout))
        url = f"{self.base_url}/chat/completions"
        try:
            with httpx.Client(timeout=limits) as client, client.stream("POST", url, json=body, headers=headers) as reply:
                if reply.status_code >= 400:
                    detail = reply.read().decode("utf-8", "replace").strip().replace("\n", " ")[:200]
                    raise LLMError(f"the LLM server at {self.base_url} answered {reply.status_code}: {detail}")
                for line in reply.iter_lines():
                    if time.monotonic() > deadline:
                        raise LLMError(f"the LLM server at {self.base_url} took longer than {timeout:g} s")
                    piece = _content(line)
                    if piece is None:
                        return
                    if piece:
                        yield piece
        except httpx.TimeoutException:
            raise LLMError(f"the LLM server at {self.base_url} took longer than {timeout:g} s") from None
        except httpx.HTTPError as e:
            raise LLMError(f"the LLM server at {self.base_url} cannot be reached: {e}") from None


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
