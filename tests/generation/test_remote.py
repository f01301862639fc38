"""The OpenAI-compatible server's replies: the stream's lines (text pieces, lines that carry none, the end, a line that
is not JSON) and the YES or NO of a second reading."""

from __future__ import annotations

import math

import pytest

from qa.generation.llm import LLMError
from qa.generation.remote import _content, _yes_log_odds
from qa.generation.verify import PLAIN_REPLY_LOG_ODDS


def test_stream_lines() -> None:
    assert _content('data: {"choices": [{"delta": {"content": "24 "}}]}') == "24 "
    assert _content('data: {"choices": [{"delta": {"role": "assistant"}}]}') == ""
    assert _content('data: {"choices": []}') == ""
    assert _content(": keep-alive") == ""
    assert _content("") == ""
    assert _content("data: [DONE]") is None
    with pytest.raises(LLMError, match="not a chat completion chunk"):
        _content("data: <html>")


def test_the_log_odds_of_yes_from_top_logprobs_or_a_plain_reply() -> None:
    top = [
        {"token": "YES", "logprob": math.log(0.6)},
        {"token": " Yes", "logprob": math.log(0.2)},
        {"token": "NO", "logprob": math.log(0.1)},
    ]
    with_logprobs = {
        "choices": [{"message": {"content": "YES"}, "logprobs": {"content": [{"token": "YES", "top_logprobs": top}]}}]
    }
    assert _yes_log_odds(with_logprobs) == pytest.approx(math.log(8.0))
    assert _yes_log_odds({"choices": [{"message": {"content": "No."}}]}) == -PLAIN_REPLY_LOG_ODDS
    assert _yes_log_odds({"choices": [{"message": {"content": "Yes"}, "logprobs": None}]}) == PLAIN_REPLY_LOG_ODDS
    with pytest.raises(LLMError, match="neither YES nor NO"):
        _yes_log_odds({"choices": [{"message": {"content": "The passage says so."}}]})
