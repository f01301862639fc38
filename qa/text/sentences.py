"""Sentence boundaries for French and English news text, as character spans."""

from __future__ import annotations

import re

from qa.core.types import Span

# pysbd (the obvious library) was measured on this corpus and rejected: ~240 kB/s, it splits
# "av. J.-C." and "Mr." (fr mode), keeps "« Bonjour. » Il part." whole and misses the glued
# "fin.Le début" boundaries that OrangeSum has about once per kB. One compiled regex does better
# here and runs at several MB/s.


def _char_class(first: int, last: int, *, upper: bool) -> str:
    """A regex class body listing every upper- (or lower-) case letter in [first, last)."""
    chars = [chr(c) for c in range(first, last)]
    wanted = [c for c in chars if (c.isupper() if upper else c.islower())]
    return "".join(re.escape(c) for c in wanted)


# Latin, Greek and Cyrillic cover the names French and English news quote; `re` has no \p{Lu}.
UPPER = _char_class(0x41, 0x530, upper=True)
LOWER = _char_class(0x61, 0x530, upper=False)

# Line breaks as str.splitlines() sees them; "\r\n" counts as one.
_LB_CHARS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
LINE_BREAK = rf"(?:\r\n|[{_LB_CHARS}])"
_HSPACE = rf"[^\S{_LB_CHARS}]"

_TERM = "[.!?…]"
_CLOSE = "[»”\"’')\\]]"
# The character before a sentence-final space: a terminator, or closers right after one
# (French sets a space before », so "non ! » Puis" ends a sentence too).
_AFTER_TERMINATOR = rf"(?:(?<={_TERM})|(?<={_TERM}{_CLOSE})|(?<={_TERM}\s[»”])|(?<={_TERM}{_CLOSE}{_CLOSE}))"

# A period after these does not end a sentence even before a capital ("M. Dupont", "av. J.-C.").
# "etc." is left out on purpose: before a capital it nearly always ends the sentence.
# Only those met before a capital matter; words that also end sentences ("vol", "art", "sept",
# "No") are left out, and so are abbreviations that precede numbers ("p. 12", "janv. 2025").
ABBREVIATIONS = frozenset(
    {
        "M",
        "MM",
        "Mme",
        "Mmes",
        "Mlle",
        "Mlles",
        "Me",
        "Mes",
        "Mgr",
        "Dr",
        "Drs",
        "Pr",
        "Prof",
        "St",
        "Ste",
        "Sts",
        "Gal",
        "Gén",
        "Col",
        "Cdt",
        "Cne",
        "Lt",
        "Sgt",
        "Capt",
        "Mr",
        "Mrs",
        "Ms",
        "Messrs",
        "Jr",
        "Sr",
        "Gen",
        "Gov",
        "Sen",
        "Rep",
        "Rev",
        "Hon",
        "Mt",
        "Ft",
        "av",
        "apr",
        "cf",
        "Cf",
        "vs",
        "Vs",
        "coll",
        "éd",
        "Éd",
    }
)
# One fixed-width lookbehind each: `re` rejects alternatives of different widths in one.
# A single capital before the period is an initial or part of an acronym ("J. K.", "U.S.", "J.-C.").
_NOT_ABBREVIATION = rf"(?<!\b[{UPPER}]\.)" + "".join(rf"(?<!\b{re.escape(a)}\.)" for a in sorted(ABBREVIATIONS))
# What a new sentence may open with before its capital: quotes, brackets, dashes, bullets.
_OPENERS = "«“‘\"'(\\[¿¡—–•·‣◦▪*-"
_SENTENCE_START = rf"(?=[{re.escape(_OPENERS)}\s]*[{UPPER}])"

# Whitespace that ends a sentence: after a terminator (and closers), before a capital.
SENTENCE_SPACE = rf"{_AFTER_TERMINATOR}{_NOT_ABBREVIATION}\s+{_SENTENCE_START}"
# A boundary with the space lost ("Pyrénées.Alors"): word, terminator, capitalised word.
# Two lower-case letters (or a digit/closer) before it keep "U.S.Army" and "M.Dupont" whole.
GLUED = rf"(?<=[{LOWER}0-9%)»”\"]{{2}}[.!?…])(?=[{UPPER}][{LOWER}])"

# Whitespace runs holding at least one line break; a single break before a lower-case letter is a
# soft wrap inside a sentence and is discarded by split_sentences.
LINE_RUN = rf"{_HSPACE}*+{LINE_BREAK}\s*+"

_BOUNDARY_RE = re.compile(rf"(?P<line>{LINE_RUN})|{SENTENCE_SPACE}|{GLUED}")
_LINE_BREAK_RE = re.compile(LINE_BREAK)
_LOWER_RE = re.compile(rf"[{LOWER}]")


def _is_soft_wrap(text: str, match: re.Match[str]) -> bool:
    """A lone line break inside a sentence: the next line goes on in lower case."""
    end = match.end()
    if end >= len(text) or not _LOWER_RE.match(text, end):
        return False
    return len(_LINE_BREAK_RE.findall(match.group())) == 1


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text`, in order, without surrounding whitespace; they cover every
    non-whitespace character. Lines (headings, bullets) are sentences of their own."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        if match.group("line") is not None and _is_soft_wrap(text, match):
            continue
        _append_stripped(text, start, match.start(), spans)
        start = match.end()
    _append_stripped(text, start, len(text), spans)
    return spans


def _append_stripped(text: str, start: int, end: int, spans: list[Span]) -> None:
    """Append [start, end) less its leading and trailing whitespace, unless nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append(Span(start, end))
