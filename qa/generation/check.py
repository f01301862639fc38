"""The check of a generated answer: each sentence must cite given passages that hold its facts and say what it says."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qa.core.types import Citation
from qa.generation.support import Support
from qa.text.analyzer import analyze, words
from qa.text.dates import DateMention, extract_dates, overlaps, value_range
from qa.text.names import missing_names, name_units
from qa.text.sentences import split_sentences

LANGUAGE_NAMES = {"en": "English", "fr": "French"}
_MARK = r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]"
_MARKS_RE = re.compile(_MARK)
_NUMBER_RE = re.compile(r"\d+")
# A citation written after the sentence's full stop ("... accords. [1]") belongs to that sentence.
_MARK_AFTER_STOP_RE = re.compile(rf"([.!?])((?:{_MARK})+)")


@dataclass(frozen=True, slots=True)
class Checked:
    """One generated sentence, the passages it cites, why it was dropped (None: kept), and the second reading's
    log-odds that its passages state it (None: not read a second time)."""

    text: str
    citations: tuple[int, ...]
    dropped_because: str | None
    log_odds: float | None = None


def strip_marks(text: str) -> str:
    """The text without its citation markers ("[1]", "[1, 3]")."""
    return _MARKS_RE.sub("", text).strip()


def sentence_language(text: str) -> str | None:
    """ "en" or "fr" from which language's function words the text uses more; None when neither wins."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

    toks = [w.casefold() for w in words(text)]
    en = sum(t in STOPWORDS_EN_PLUS and t not in STOPWORDS_FRENCH for t in toks)
    fr = sum(t in STOPWORDS_FRENCH and t not in STOPWORDS_EN_PLUS for t in toks)
    return None if en == fr else "en" if en > fr else "fr"


def generated_sentences(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The reply cut into sentences, each with the passage numbers it cites (in order, once each)."""
    text = _MARK_AFTER_STOP_RE.sub(r"\2\1", " ".join(text.split()))
    out: list[tuple[str, tuple[int, ...]]] = []
    for span in split_sentences(text):
        sentence = text[span.start : span.end].strip()
        numbers = [int(n) for mark in _MARKS_RE.findall(sentence) for n in _NUMBER_RE.findall(mark)]
        out.append((sentence, tuple(dict.fromkeys(numbers))))
    return out


def _dates_hold(said: Sequence[DateMention], passages: Sequence[Citation]) -> bool:
    """Every date the sentence writes shares a day with a date the cited passages write."""
    if not said:
        return True
    known = [m.value for c in passages for m in extract_dates(c.text, reference=c.date)]
    return all(any(overlaps(k, value_range(s.value)) for k in known) for s in said)


def check_sentence(
    sentence: str, cites: tuple[int, ...], by_n: Mapping[int, Citation], language: str, support: Support | None = None
) -> str | None:
    """Why the sentence cannot be shown (None when it holds)."""
    bare = strip_marks(sentence)
    if not any(ch.isalpha() for ch in bare):
        return "it says nothing but a citation or a number"
    if not cites:
        return "it cites no passage"
    unknown = [n for n in cites if n not in by_n]
    if unknown:
        return f"it cites [{unknown[0]}], which is not one of the passages given"
    written_in = sentence_language(bare)
    if written_in is not None and written_in != language:
        return f"it is in {LANGUAGE_NAMES.get(written_in, written_in)}, not {LANGUAGE_NAMES.get(language, language)}"
    cited = [by_n[n] for n in cites]
    marks = "".join(f"[{n}]" for n in cites)
    dates = extract_dates(bare)
    if not _dates_hold(dates, cited):
        return f"a date it gives is not in {marks}"
    units = name_units(bare)
    missing = missing_names(units, [c.text for c in cited] + [c.title or "" for c in cited])
    if missing:
        return f"{' '.join(missing[0])!r} is not in {marks}"
    # Nothing to check by name, number or date: it must at least share a content word with what it cites.
    unchecked = not units and not dates
    if unchecked and not set(analyze(bare)) & {t for c in cited for t in analyze(c.text)}:
        return f"none of its words is in {marks}"
    if support is not None and (score := support.score(bare, [c.text for c in cited])) < support.threshold:
        return f"it says nothing close enough to {marks} (cosine {score:.2f})"
    return None


def _cited_for(sentence: str, by_n: Mapping[int, Citation], language: str, support: Support | None) -> tuple[int, ...]:
    """For a sentence the LLM left uncited: the first passage that holds it, else the first two that do together
    (small models often forget the marker, most of all on a sentence that joins two passages); () when none do."""
    tries = [(n,) for n in by_n] + list(itertools.combinations(by_n, 2))
    return next((cites for cites in tries if check_sentence(sentence, cites, by_n, language, support) is None), ())


def check(text: str, citations: Sequence[Citation], language: str, support: Support | None = None) -> list[Checked]:
    """Every sentence of a generated reply, checked against the passages it cites. An uncited one, or one whose
    cited passage lacks one of its facts, is given the first given passage (or pair) that passes the same check,
    and its markers are written anew; the sentence itself is never changed."""
    by_n = {c.n: c for c in citations}
    verdicts = []
    for sentence, cites in generated_sentences(text):
        if not sentence:
            continue
        verdict = check_sentence(sentence, cites, by_n, language, support)
        if verdict is not None and _recitable(verdict) and (found := _cited_for(sentence, by_n, language, support)):
            # No citation, or a fact from another given passage than the one cited: the citation is written
            # anew, not the sentence.
            sentence, cites, verdict = _with_marks(strip_marks(sentence), found), found, None
        verdicts.append(Checked(sentence, cites, verdict))
    return verdicts


def _recitable(verdict: str) -> bool:
    """Whether a sentence failed on its citation or on what its cited passage holds (a name, a number, a date,
    any word), which another given passage may hold; not on its language or on saying nothing."""
    return " is not in [" in verdict or verdict.startswith(
        ("it cites no passage", "a date it gives", "none of its words", "it says nothing close")
    )


def _with_marks(sentence: str, cites: tuple[int, ...]) -> str:
    """The sentence with its citations written before its final stop."""
    marks = "".join(f"[{n}]" for n in cites)
    body, stop = (sentence[:-1], sentence[-1]) if sentence[-1:] in ".!?" else (sentence, "")
    return f"{body.rstrip()} {marks}{stop}"
