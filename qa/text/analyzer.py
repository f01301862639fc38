"""French-first lexical analyzer: elisions, stop words, Snowball stemming, accent folding."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# Elided articles and pronouns glued to the next word by an apostrophe (straight or typographic).
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’]", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)
# Names what analyze() does to a text (elisions, stop words, French Snowball stems, accents folded), for the
# manifest: an index analysed otherwise would match no query term. Change it whenever analyze() changes.
ANALYZER = "fr-elision-stopwords-snowball-fold/1"


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Tokaïev" and "tokaiev" meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=2)
def _stemmer(language: str = "french") -> Any:
    import Stemmer  # PyStemmer: the Snowball stemmers compiled in C

    return Stemmer.Stemmer(language)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """French and English stop words, folded: questions come in both languages."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

    return frozenset(fold(w) for w in (*STOPWORDS_FRENCH, *STOPWORDS_EN_PLUS))


def words(text: str) -> list[str]:
    """Word tokens after elision removal, in their original case and accents."""
    return _WORD.findall(_ELISION.sub(" ", text))


def _content_words(text: str) -> list[str]:
    stops = stop_words()
    return [w for w in (w.casefold() for w in words(text)) if fold(w) not in stops]


def analyze(text: str) -> list[str]:
    """The index terms of a text, in order, duplicates kept (BM25 counts them)."""
    stems: list[str] = _stemmer("french").stemWords(_content_words(text))
    return [fold(s) for s in stems]


def stem(word: str) -> str:
    """One word's index term: its French Snowball stem, folded (as analyze() gives it)."""
    return fold(_stemmer("french").stemWord(word.casefold()))


def analyze_query(text: str) -> list[str]:
    """Distinct query terms: French stems, plus English stems so that "signed" meets "signé"."""
    content = _content_words(text)
    terms: list[str] = []
    for language in ("french", "english"):
        for stem in _stemmer(language).stemWords(content):
            term = fold(stem)
            if term not in terms:
                terms.append(term)
    return terms
