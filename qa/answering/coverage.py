"""What the whole archive holds of a question's words: names it never mentions, words it never uses."""

from __future__ import annotations

import math
from collections.abc import Sequence

from qa.index.backend import Reader
from qa.text.names import name_terms


class ArchiveTerms:
    """Looks a question's words up in the lexical index of every passage, not just the retrieved ones."""

    def __init__(self, store: Reader, passages: int) -> None:
        self.store = store
        self.passages = passages  # how many the index holds (the manifest's count): IDF's N

    def unheard(self, units: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """The names that no passage mentions in any of their known forms (one read for all of them)."""
        if not units:
            return []
        found = self.store.mentioned([name_terms(unit) for unit in units])
        return [unit for unit, seen in zip(units, found, strict=True) if not seen]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Each term's IDF over every passage of the archive (one read)."""
        if not terms:
            return {}
        counts = self.store.term_counts(list(dict.fromkeys(terms)))
        return {t: math.log(1 + self.passages / (n + 1)) for t, n in counts.items()}

    def absent_share(self, terms: Sequence[str]) -> float:
        """The share of these content terms, weighted by rarity (IDF), that no passage uses.

        A question hinging on a word the archive never uses ("population") asks about something it does
        not cover, however close its other words come.
        """
        if not terms:
            return 0.0
        counts = self.store.term_counts(terms)
        idf = {t: math.log(1 + self.passages / (counts[t] + 1)) for t in terms}
        return sum(v for t, v in idf.items() if counts[t] == 0) / sum(idf.values())
