"""The citations of a fused ranking: no repeated or mostly overlapping passage, and not all from one article."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa.core.types import Passage
from qa.retrieval.candidates import Candidate
from qa.retrieval.fusion import spread, zscores

# Two passages of one article sharing more than this share of the shorter one are one citation.
MAX_SHARED = 0.5
# The first citations hold at most this many passages of one article while another article has a passage
# scoring above the candidates' mean to offer: one long article does not crowd out the others (a question
# spanning two articles needs both), and no weak passage is pulled up just for coming from elsewhere.
PER_ARTICLE = 3
FIRST_CITATIONS = 5


def overlapping(a: Passage, b: Passage) -> bool:
    """Whether two passages are mostly the same text: more than MAX_SHARED of the shorter one is shared.

    Neighbouring chunks share a sentence of lead-in (chunking's overlap); refusing any overlap at all
    would hide the passage after a cited one, which is often the one that answers.
    """
    if a.chunk.article_id != b.chunk.article_id:
        return False
    shared = min(a.chunk.end, b.chunk.end) - max(a.chunk.start, b.chunk.start)
    shorter = min(a.chunk.end - a.chunk.start, b.chunk.end - b.chunk.start)
    return shared > MAX_SHARED * shorter


def distinct(
    fused: Sequence[tuple[int, float]], passages: Mapping[int, Passage], cosines: Mapping[int, float], k: int
) -> list[Candidate]:
    """The first k passages of a fused ranking that neither repeat a text nor overlap one already taken,
    spread so that the first citations do not all come from one article."""
    picked: list[Candidate] = []
    by_article: dict[str, list[Passage]] = {}
    seen_hashes: set[str] = set()
    for chunk_id, score in fused:
        passage = passages.get(chunk_id)
        if passage is None or passage.hash in seen_hashes:
            continue  # deleted since the dense snapshot was taken, or the same text already cited
        same_article = by_article.setdefault(passage.chunk.article_id, [])
        if any(overlapping(passage, other) for other in same_article):
            continue
        seen_hashes.add(passage.hash)
        same_article.append(passage)
        picked.append(Candidate(passage, score, cosines.get(chunk_id, 0.0)))
    z = zscores({n: c.score for n, c in enumerate(picked)}, range(len(picked)))
    order = spread(
        range(len(picked)),
        lambda n: picked[n].passage.chunk.article_id,
        per_group=PER_ARTICLE,
        head=min(k, FIRST_CITATIONS),
        promotable=lambda n: z[n] >= 0.0,
    )
    return [picked[n] for n in order][:k]
