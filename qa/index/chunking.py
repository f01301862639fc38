"""Split an article into overlapping passages with exact offsets, sentences and dates."""

from __future__ import annotations

import bisect
import functools
import re
from typing import TYPE_CHECKING

from qa.core.types import Article, Chunk, Span
from qa.text.dates import extract_dates
from qa.text.sentences import GLUED, LINE_BREAK, SENTENCE_SPACE, split_sentences

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# multilingual-e5-small reads at most 512 XLM-R tokens; French news runs ~4.3 chars/token, so 900
# chars is ~210 tokens, and still under 512 for dense text (figures, names, non-Latin scripts at
# ~2 chars/token): a passage is never truncated. Retrieval wants a passage to be about one thing,
# so a few sentences (news sentences average ~160 chars here) rather than the model's maximum.
CHUNK_SIZE = 900
# Up to ~one sentence of lead-in from the passage before, so a sentence cut by a boundary (or a
# heading just before one) is whole in the next passage. Sentences here average ~160 chars.
CHUNK_OVERLAP = 200
# A long sentence is also read in windows of this many words, every WINDOW_STEP words: the part of it that
# answers ("tenu à Samarcande, en Ouzbékistan") is drowned by the rest in the whole sentence's vector.
WINDOW_WORDS = 10
WINDOW_STEP = 5
_TOKEN = re.compile(r"\S+")

# Cut points from the strongest to the weakest; each regex's match stays with the piece before it,
# so pieces start on a word. Sentence cuts use the very rule split_sentences uses.
_SEPARATORS = [
    rf"{LINE_BREAK}[^\S\r\n]*{LINE_BREAK}\s*",  # paragraph (blank line)
    rf"{LINE_BREAK}\s*",  # line: heading, bullet
    rf"{SENTENCE_SPACE}|{GLUED}",  # sentence
    r"(?<=[,;:—–])\s+",  # clause
    r"\s+",  # word
    "",  # character: a word longer than a passage
]


@functools.lru_cache(maxsize=8)
def _splitter(size: int) -> RecursiveCharacterTextSplitter:
    """langchain's recursive splitter, set to tile the text exactly (no overlap, no stripping)."""
    # Imported here: langchain_core makes it ~0.3 s, which `qa --help` should not pay.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # Overlap and stripping are done below instead: with them langchain's pieces no longer tile the
    # text, and finding them again by search is ambiguous in repetitive text.
    return RecursiveCharacterTextSplitter(
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=size,
        chunk_overlap=0,
        strip_whitespace=False,
    )


def _tiles(text: str, size: int) -> list[Span]:
    """Consecutive non-blank pieces of at most `size` chars covering `text`'s non-whitespace."""
    pieces = _splitter(size).split_text(text)
    if "".join(pieces) != text:  # the exact-offset guarantee rests on this
        raise AssertionError("text splitter did not tile the text")
    tiles: list[Span] = []
    pos = 0
    for piece in pieces:
        start, end = pos, pos + len(piece)
        pos = end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        # langchain flushes its buffer before splitting an oversized paragraph, which leaves short
        # pieces (a heading, a paragraph's last sentence); join neighbours that still fit.
        if tiles and end - tiles[-1].start <= size:
            tiles[-1] = Span(tiles[-1].start, end)
        else:
            tiles.append(Span(start, end))
    return tiles


def _lead_in(text: str, lo: int, start: int, sentence_starts: list[int]) -> int:
    """Where a passage whose own text begins at `start` should begin, reaching back to `lo` at most.

    Whole sentences only, when `start` begins a sentence: a fragment of the one before would be
    noise. Inside a sentence cut for length, the first word start in [lo, start), so that the cut
    sentence is read from as early as the overlap allows; inside a word longer than a passage, `lo`.
    """
    i = bisect.bisect_left(sentence_starts, lo)
    if i < len(sentence_starts) and sentence_starts[i] <= start:
        return sentence_starts[i]
    for j in range(lo, start):
        if not text[j].isspace() and (j == 0 or text[j - 1].isspace()):
            return j
    if any(c.isspace() for c in text[lo:start]):
        return start  # only a word's tail and spaces
    return lo


def chunk_spans(text: str, *, size: int, overlap: int, sentences: list[Span]) -> list[Span]:
    """Passage ranges of `text`: increasing starts, each at most `size` chars, non-blank at both
    ends, together covering every non-whitespace character."""
    if size < 1 or overlap < 0 or overlap >= size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size, got size={size} overlap={overlap}")
    sentence_starts = [s.start for s in sentences]
    spans: list[Span] = []
    for tile in _tiles(text, size - overlap):
        start = tile.start
        if spans and overlap:
            # Reach back no further than the previous passage's start, so starts keep increasing.
            lo = max(tile.start - overlap, spans[-1].start)
            start = _lead_in(text, lo, tile.start, sentence_starts)
            if start <= spans[-1].start:  # this passage contains the previous one: keep only it
                spans.pop()
        spans.append(Span(start, tile.end))
    return spans


def chunk_article(article: Article, *, size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP) -> list[Chunk]:
    """The article's passages in order (ordinal 0..n-1), with the sentences and dates in each."""
    text = article.text
    sentences = split_sentences(text)
    mentions = extract_dates(text, reference=article.date)
    sentence_ends = [s.end for s in sentences]
    # Mentions come from one left-to-right scan, so their starts and ends are both sorted.
    mention_ends = [m.end for m in mentions]
    chunks: list[Chunk] = []
    for ordinal, span in enumerate(chunk_spans(text, size=size, overlap=overlap, sentences=sentences)):
        inside: list[Span] = []
        # Sentences are sorted and disjoint: start at the first one ending after the passage starts.
        for sentence in sentences[bisect.bisect_right(sentence_ends, span.start) :]:
            if sentence.start >= span.end:
                break
            inside.append(Span(max(sentence.start, span.start), min(sentence.end, span.end)))
        dates: dict[str, None] = {}
        for mention in mentions[bisect.bisect_right(mention_ends, span.start) :]:
            if mention.start >= span.end:
                break
            dates[mention.value] = None
        chunk = Chunk(
            article_id=article.id,
            ordinal=ordinal,
            start=span.start,
            end=span.end,
            text=text[span.start : span.end],
            sentences=tuple(inside),
            dates=tuple(dates),
        )
        chunks.append(chunk)
    return chunks


def sentence_windows(chunk: Chunk) -> list[tuple[int, Span]]:
    """The word windows of the chunk's sentences longer than WINDOW_WORDS: (sentence position, article span).

    Consecutive windows overlap by half; the last one ends with the sentence's last word and may be shorter.
    """
    out: list[tuple[int, Span]] = []
    for position, sentence in enumerate(chunk.sentences):
        found = _TOKEN.finditer(chunk.text, sentence.start - chunk.start, sentence.end - chunk.start)
        tokens = [(m.start(), m.end()) for m in found]
        if len(tokens) <= WINDOW_WORDS:
            continue
        for i in range(0, len(tokens), WINDOW_STEP):
            window = tokens[i : i + WINDOW_WORDS]
            out.append((position, Span(chunk.start + window[0][0], chunk.start + window[-1][1])))
            if i + WINDOW_WORDS >= len(tokens):
                break
    return out
