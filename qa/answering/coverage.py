"""What the whole archive holds of a question's words: names it never mentions, words it never uses."""

from __future__ import annotations

import math

from qa.index.store import Store
from qa.text.analyzer import analyze, fold, words
from qa.text.names import QUESTION_WORDS, name_terms


class ArchiveTerms:
    """Looks a question's words up in the lexical index of every passage, not just the retrieved ones."""

    def __init__(self, store: Store, passages: int) -> None:
        self.store = store
        self.passages = passages  # how many the index holds (the manifest's count): IDF's N

    def mentions(self, unit: tuple[str, ...]) -> bool:
        """Whether any passage mentions the name, in any of its known forms."""
        return self.store.mentions_any(name_terms(unit))

    def absent_share(self, question: str) -> float:
        """The share of the question's content words, weighted by rarity (IDF), that no passage uses.

        A question hinging on a word the archive never uses ("population") asks about something it does
        not cover, however close its other words come.
        """
        # analyze drops stop words itself; question words ("comment", "combien") are not content either.
        terms = list(dict.fromkeys(analyze(" ".join(w for w in words(question) if fold(w) not in QUESTION_WORDS))))
        if not terms:
            return 0.0
        counts = self.store.term_counts(terms)
        idf = {t: math.log(1 + self.passages / (counts[t] + 1)) for t in terms}
        return sum(v for t, v in idf.items() if counts[t] == 0) / sum(idf.values())
