"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp's server, a hosted API), streamed over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence

from qa.generation.llm import LLMError, Message

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

    def stream(self, messages: Sequence[Message], *, max_tokens: int, timeout: float) -> Iterator[str]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
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
