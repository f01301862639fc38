"""Generation over an extractive answer: the prompt from its citations, the LLM's reply streamed, then checked."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.core.types import Answer, Generated
from qa.generation.check import Checked, check, strip_marks
from qa.generation.llm import ChatModel, LLMError
from qa.generation.prompt import NO_ANSWER, build_messages
from qa.generation.support import Support
from qa.generation.verify import Verifier, passages_of, verifier_for, verify_messages
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
        verifier: Verifier | None = None,
    ) -> None:
        self.llm = llm
        self.verifier = verifier
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
            # Still this question's turn: the second reading asks the same LLM.
            outcome = self._checked("".join(pieces), answer, language, first, start, support)
        except LLMError as e:
            yield Outcome(None, str(e), "".join(pieces), (), first, time.monotonic() - start)
            return
        finally:
            if self._turn is not None:
                self._turn.release()
        yield outcome

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
        turn = self._turn if self._turn is not None else contextlib.nullcontext()
        with turn:
            try:
                # The times are the earlier run's; a second reading's would be this one's.
                outcome = self._checked(reply, answer, question_language(answer.question), first, time.monotonic(), support)
            except LLMError as e:
                return Outcome(None, str(e), reply, (), first, total or 0.0)
        return dataclasses.replace(outcome, total_s=total or 0.0)

    def _checked(
        self, reply: str, answer: Answer, language: str, first: float | None, start: float, support: Support | None
    ) -> Outcome:
        """The reply checked; raises LLMError when the second reading cannot be had."""
        if not reply.strip() or reply.strip().rstrip(".").upper() == NO_ANSWER:
            return Outcome(None, "the LLM found no answer in the passages", reply, (), first, time.monotonic() - start)
        cited = answer.citations[: self.passages]
        verdicts = self._verified(check(reply, cited, language, support), {c.n: c.text for c in cited}, start)
        kept = [v for v in verdicts if v.dropped_because is None]
        total = time.monotonic() - start
        if not kept:
            reason = verdicts[0].dropped_because if verdicts else "it wrote nothing"
            return Outcome(None, f"no generated sentence passed the check ({reason})", reply, verdicts, first, total)
        citations = tuple(sorted({n for v in kept for n in v.citations}))
        generated = Generated(" ".join(v.text for v in kept), citations, language)
        return Outcome(generated, None, reply, verdicts, first, total)

    def _verified(self, verdicts: Sequence[Checked], texts: dict[int, str], start: float) -> tuple[Checked, ...]:
        """Each sentence the rules kept, read again by the LLM against the passages it cites; dropped when its
        log-odds of YES fall below the verifier's threshold. Within what is left of the generation's timeout."""
        if self.verifier is None:
            return tuple(verdicts)
        out = []
        for v in verdicts:
            if v.dropped_because is None:
                left = self.timeout - (time.monotonic() - start)
                if left <= 0:
                    raise LLMError(f"the LLM took longer than {self.timeout:g} s, reading its answer again included")
                messages = verify_messages(strip_marks(v.text), passages_of(v.citations, texts))
                try:
                    score = self.llm.yes_log_odds(messages, timeout=left)
                except LLMError as e:
                    raise LLMError(f"the generated answer could not be read again against its passages: {e}") from e
                bar = self.verifier.min_log_odds
                marks = "".join(f"[{n}]" for n in v.citations)
                because = None if score >= bar else f"read again, {marks} does not state it (log-odds {score:+.2f} < {bar:+.2f})"
                v = dataclasses.replace(v, dropped_because=because, log_odds=score)
            out.append(v)
        return tuple(out)


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
        verifier=verifier_for(llm.name, settings.llm_verify),
    )
