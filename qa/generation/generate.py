"""Generation over an extractive answer: the prompt from its citations, the LLM's reply streamed, then checked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.core.types import Answer, Generated
from qa.generation.check import Checked, check
from qa.generation.llm import ChatModel, LLMError
from qa.generation.prompt import NO_ANSWER, build_messages
from qa.generation.support import Support
from qa.retrieval.query import question_language

if TYPE_CHECKING:
    from qa.core.config import Settings

NOT_CONFIGURED = "no LLM is configured (QA_LLM=off)"
ABSTAINED = "the archive does not say, so nothing was generated"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a generation gave: the checked answer or why there is none, the reply as the LLM wrote it, each
    sentence's verdict, and its times in seconds."""

    generated: Generated | None
    because: str | None
    reply: str = ""
    sentences: tuple[Checked, ...] = ()
    first_piece_s: float | None = None
    total_s: float = 0.0


def skipped(because: str) -> Outcome:
    return Outcome(None, because)


class Generator:
    """Writes the answer to a question in its language from the answer's top citations, through one LLM.

    A local LLM runs one generation at a time per worker (it takes every core); a question that waits longer
    than `wait` seconds for its turn gets no generated answer, and its extractive answer is not held up."""

    def __init__(
        self,
        llm: ChatModel,
        *,
        passages: int = 3,
        context: int | None = None,
        max_tokens: int = 200,
        timeout: float = 120.0,
        wait: float = 5.0,
    ) -> None:
        self.llm = llm
        self.passages = passages
        self.context = context
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.wait = wait
        self._turn = threading.Lock() if llm.local else None

    def stream(self, answer: Answer, support: Support | None = None) -> Iterator[str | Outcome]:
        """The reply's pieces as the LLM writes them, then the Outcome (always last); `support` (the embedding
        model's, Engine.support) also holds each sentence to being close to what it cites."""
        if answer.answer is None:
            yield skipped(ABSTAINED)
            return
        cited = answer.citations[: self.passages]
        language = question_language(answer.question)
        if self._turn is not None and not self._turn.acquire(timeout=self.wait):
            yield skipped("the local LLM is busy with another question")
            return
        start = time.monotonic()
        first: float | None = None
        pieces: list[str] = []
        try:
            for piece in self.llm.stream(
                build_messages(answer.question, language, cited, around=self.context),
                max_tokens=self.max_tokens,
                timeout=self.timeout,
            ):
                if first is None:
                    first = time.monotonic() - start
                pieces.append(piece)
                yield piece
        except LLMError as e:
            yield Outcome(None, str(e), "".join(pieces), (), first, time.monotonic() - start)
            return
        finally:
            if self._turn is not None:
                self._turn.release()
        yield self._checked("".join(pieces), answer, language, first, time.monotonic() - start, support)

    def run(self, answer: Answer, support: Support | None = None) -> Outcome:
        """The Outcome alone, pieces discarded."""
        return outcome_of(self.stream(answer, support))

    def recheck(
        self,
        answer: Answer,
        reply: str,
        first: float | None,
        total: float | None,
        because: str | None,
        support: Support | None = None,
    ) -> Outcome:
        """The Outcome of a reply written before (temperature 0 writes it again the same way), checked anew: how an
        eval measures a change of the check without running the LLM again."""
        if answer.answer is None:
            return skipped(ABSTAINED)
        if not reply and because is not None:
            return Outcome(None, because, "", (), first, total or 0.0)
        return self._checked(reply, answer, question_language(answer.question), first, total or 0.0, support)

    def _checked(
        self, reply: str, answer: Answer, language: str, first: float | None, total: float, support: Support | None
    ) -> Outcome:
        if not reply.strip() or reply.strip().rstrip(".").upper() == NO_ANSWER:
            return Outcome(None, "the LLM found no answer in the passages", reply, (), first, total)
        verdicts = tuple(check(reply, answer.citations[: self.passages], language, support))
        kept = [v for v in verdicts if v.dropped_because is None]
        if not kept:
            reason = verdicts[0].dropped_because if verdicts else "it wrote nothing"
            return Outcome(None, f"no generated sentence passed the check ({reason})", reply, verdicts, first, total)
        citations = tuple(sorted({n for v in kept for n in v.citations}))
        generated = Generated(" ".join(v.text for v in kept), citations, language)
        return Outcome(generated, None, reply, verdicts, first, total)


def generation(generator: Generator | None, answer: Answer, support: Support | None = None) -> Iterator[str | Outcome]:
    """What /ask, /ask/stream and `qa ask` stream for "generate": the generator's pieces and Outcome, or, with no
    LLM configured, only the Outcome that says so."""
    if generator is None:
        yield skipped(NOT_CONFIGURED)
    else:
        yield from generator.stream(answer, support)


def outcome_of(items: Iterator[str | Outcome], on_piece: Callable[[str], object] | None = None) -> Outcome:
    """The Outcome that ends a stream of pieces, each piece given to `on_piece` on the way."""
    outcome: Outcome | None = None
    for item in items:
        if isinstance(item, Outcome):
            outcome = item
        elif on_piece is not None:
            on_piece(item)
    assert outcome is not None, "a generation stream always ends with its Outcome"
    return outcome


def open_generator(settings: Settings, *, progress: bool = True) -> Generator | None:
    """The Generator the settings ask for (None when QA_LLM=off); the local model is provisioned first."""
    from qa.generation.llm import open_llm

    llm = open_llm(settings, progress=progress)
    if llm is None:
        return None
    return Generator(
        llm,
        passages=settings.llm_passages,
        context=None if settings.llm_context == "passage" else int(settings.llm_context),
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        wait=settings.llm_wait,
    )
