"""The Generator over a scripted LLM: pieces streamed then the checked outcome; errors, busy turns, abstentions."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence

import pytest

from qa.core.types import Answer, Citation
from qa.generation.generate import Generator, Outcome
from qa.generation.llm import LLMError, Message
from qa.generation.verify import Verifier

TEXT = "Le 16 juin 2025, à Astana, Tokaïev a accueilli Xi Jinping. Les deux chefs d'État ont signé 24 accords bilatéraux."
ANSWER = Answer(
    "What was signed in Astana?",
    "Les deux chefs d'État ont signé 24 accords bilatéraux.",
    (Citation(1, "a1", None, dt.date(2025, 11, 19), None, TEXT, 0, len(TEXT), 1.0),),
)


class Scripted:
    """Replies with the given pieces (or raises), recording the messages it was sent."""

    name = "scripted"

    def __init__(
        self,
        pieces: Sequence[str],
        *,
        local: bool = True,
        error: str | None = None,
        readings: dict[str, float] | None = None,
    ) -> None:
        self.pieces = pieces
        self.local = local
        self.error = error
        self.readings = readings or {}
        self.sent: list[Sequence[Message]] = []
        self.asked: list[Sequence[Message]] = []
        self.gate = threading.Event()
        self.gate.set()

    def stream(self, messages: Sequence[Message], *, max_tokens: int, timeout: float) -> Iterator[str]:
        self.sent.append(messages)
        self.gate.wait(5)
        yield from self.pieces
        if self.error:
            raise LLMError(self.error)

    def yes_log_odds(self, messages: Sequence[Message], *, timeout: float) -> float:
        """The reading scripted for the first sentence whose words the question holds; raises when none is."""
        self.asked.append(messages)
        for words, score in self.readings.items():
            if f"Sentence: {words}" in messages[1]["content"]:
                return score
        raise LLMError("the LLM server at http://x took longer than 3 s")


def test_pieces_stream_then_the_checked_answer() -> None:
    llm = Scripted(["They signed ", "24 bilateral agreements [1]. ", "They also signed 99 treaties [1]."])
    items = list(Generator(llm).stream(ANSWER))
    assert items[:3] == llm.pieces
    outcome = items[-1]
    assert isinstance(outcome, Outcome) and outcome.generated is not None
    assert outcome.generated.text == "They signed 24 bilateral agreements [1]."
    assert outcome.generated.citations == (1,) and outcome.generated.language == "en"
    assert [c.dropped_because for c in outcome.sentences] == [None, "'99' is not in [1]"]
    assert outcome.first_piece_s is not None and outcome.total_s >= outcome.first_piece_s


def test_nothing_that_passes_leaves_no_generated_answer() -> None:
    outcome = Generator(Scripted(["[1]"])).run(ANSWER)
    assert outcome.generated is None
    assert outcome.because == "no generated sentence passed the check (it says nothing but a citation or a number)"
    assert Generator(Scripted(["NO ANSWER"])).run(ANSWER).because == "the LLM found no answer in the passages"


def test_an_llm_error_is_the_reason_and_the_turn_is_given_back() -> None:
    generator = Generator(Scripted(["They signed"], error="the LLM server at http://x took longer than 1 s"))
    outcome = generator.run(ANSWER)
    assert outcome.generated is None and outcome.because == "the LLM server at http://x took longer than 1 s"
    assert outcome.reply == "They signed"
    assert generator._turn is not None and not generator._turn.locked()


def test_an_abstained_answer_is_not_generated_for() -> None:
    llm = Scripted(["anything [1]."])
    outcome = Generator(llm).run(Answer("Who won?", None, (), abstained_because="no article mentions football"))
    assert outcome.generated is None and outcome.because == "the archive does not say, so nothing was generated"
    assert llm.sent == []


@pytest.mark.parametrize("local", [True, False])
def test_a_local_llm_takes_one_question_at_a_time(local: bool) -> None:
    llm = Scripted(["They signed 24 bilateral agreements [1]."], local=local)
    generator = Generator(llm, wait=0.2)
    llm.gate.clear()
    first: list[Outcome] = []
    worker = threading.Thread(target=lambda: first.append(generator.run(ANSWER)))
    worker.start()
    try:
        while not llm.sent:
            threading.Event().wait(0.01)
        second = generator.run(ANSWER) if local else None
    finally:
        llm.gate.set()
        worker.join(5)
    assert first[0].generated is not None
    if local:
        assert second is not None and second.because == "the local LLM is busy with another question"
    else:
        assert generator._turn is None  # a server takes its own concurrency


def test_qa_llm_context_gives_the_llm_an_excerpt_and_the_check_still_reads_the_whole_passage() -> None:
    from dataclasses import replace

    from qa.core.config import Settings
    from qa.core.types import Span
    from qa.generation.generate import open_generator

    signed = TEXT.index("Les deux")
    answer = replace(ANSWER, citations=(replace(ANSWER.citations[0], highlight=Span(signed, len(TEXT))),))
    assert open_generator(Settings(llm="off")) is None
    with pytest.raises(ValueError, match="llm_context"):
        Settings(llm_context="all")
    llm = Scripted(["Xi Jinping came to Astana on June 16, 2025 [1]."])
    outcome = Generator(llm, context=0).run(answer)
    user = llm.sent[0][1]["content"]
    assert "… Les deux chefs d'État ont signé 24 accords bilatéraux." in user and "Xi Jinping" not in user
    # Its facts are in the passage cited, though not in what the LLM was shown: the check reads the citation.
    assert outcome.generated is not None and outcome.generated.citations == (1,)
    Generator(llm).run(answer)
    assert "Le 16 juin 2025, à Astana, Tokaïev a accueilli Xi Jinping." in llm.sent[1][1]["content"]


def test_a_second_reading_drops_what_its_passage_does_not_state_and_keeps_the_rest() -> None:
    kept, dropped = "They signed 24 bilateral agreements", "Xi Jinping signed them alone in Astana"
    llm = Scripted([f"{kept} [1]. {dropped} [1]. They also signed 99 treaties [1]."], readings={kept: 2.5, dropped: 0.4})
    outcome = Generator(llm, verifier=Verifier(1.0, fitted=True)).run(ANSWER)
    assert outcome.generated is not None and outcome.generated.text == f"{kept} [1]."
    assert [(s.dropped_because, s.log_odds) for s in outcome.sentences] == [
        (None, 2.5),
        ("read again, [1] does not state it (log-odds +0.40 < +1.00)", 0.4),
        ("'99' is not in [1]", None),  # what the rules drop is not read again
    ]
    # The second reading is asked with the sentence, without its marker, and the whole cited passage.
    assert len(llm.asked) == 2 and f"Sentence: {kept}.\n" in llm.asked[0][1]["content"] and TEXT in llm.asked[0][1]["content"]
    assert not Generator(Scripted(["They signed 24 bilateral agreements [1]."])).run(ANSWER).sentences[0].log_odds


def test_a_second_reading_that_fails_leaves_no_generated_answer_and_gives_the_turn_back() -> None:
    generator = Generator(Scripted(["They signed 24 bilateral agreements [1]."]), verifier=Verifier(0.0, fitted=False))
    outcome = generator.run(ANSWER)
    assert outcome.generated is None and outcome.reply == "They signed 24 bilateral agreements [1]."
    assert outcome.because == (
        "the generated answer could not be read again against its passages: the LLM server at http://x took longer than 3 s"
    )
    assert generator._turn is not None and not generator._turn.locked()
    rechecked = generator.recheck(ANSWER, outcome.reply, 1.0, 2.0, None)
    assert rechecked.generated is None and rechecked.because == outcome.because and rechecked.total_s == 2.0
