"""The OpenAI-compatible stream's lines: text pieces, lines that carry none, the end, and a line that is not JSON."""

from __future__ import annotations

import pytest

from qa.generation.llm import LLMError
from qa.generation.remote import _content


def test_stream_lines() -> None:
    assert _content('data: {"choices": [{"delta": {"content": "24 "}}]}') == "24 "
    assert _content('data: {"choices": [{"delta": {"role": "assistant"}}]}') == ""
    assert _content('data: {"choices": []}') == ""
    assert _content(": keep-alive") == ""
    assert _content("") == ""
    assert _content("data: [DONE]") is None
    with pytest.raises(LLMError, match="not a chat completion chunk"):
        _content("data: <html>")
