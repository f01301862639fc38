"""What kind of thing a question asks for (a number, a date, a name), and whether a sentence holds one."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Literal

from qa.text.analyzer import fold, words
from qa.text.dates import extract_dates

# Words that answer "how many" without digits ("vingt", "des dizaines de milliers", "plusieurs").
_NUMBER_TEXT = (
    "deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente quarante cinquante cent "
    "mille million millions milliard milliards dizaine dizaines douzaine douzaines quinzaine vingtaine "
    "centaine centaines millier milliers moitie tiers quart quarts plusieurs peu autant nombreux nombreuses beaucoup "
    "two three four five six seven eight nine ten twelve twenty hundred thousand billion several many few dozen "
    "dozens hundreds thousands millions billions half third thirds quarter quarters"
)
_NUMBER_WORDS = frozenset(fold(w) for w in _NUMBER_TEXT.split())

# Quantities that money does not give, named by the question ("Quelle est la population…", "Quel taux…").
_MEASURES = r"nombre|population|taux|pourcentage|proportion|superficie|effectifs?|age"

AnswerType = Literal["number", "date", "name"]
_TYPE_CUES: tuple[tuple[AnswerType, str], ...] = (
    (
        "number",
        r"combien(?! de temps)|how (many|much)|what (number|amount|percentage|share|proportion)|a? ?quel age"
        r"|(quel(le)?s?|what) (est |sont |etait |etaient |is |was |are )?(le |la |les |the )?"
        rf"({_MEASURES}|montant|somme|part|prix|cout|budget)\b",
    ),
    ("date", r"quand|when|quelle (annee|date|decennie|epoque)|en quelle|(what|which) (year|date|decade|month)"),
    ("name", r"qui|who|whom|ou|where|comment s appelle|(quel(le)?s?|what|which) (pays|ville|president\w*|country|city)"),
)


def is_number_word(word: str) -> bool:
    """Whether a word says a quantity without digits ("trente", "dozens")."""
    return fold(word) in _NUMBER_WORDS


def answer_type(question: str) -> AnswerType | None:
    """What kind of thing the question asks for, from its question words; None when it is open."""
    folded = " ".join(fold(w) for w in words(question))
    for kind, cue in _TYPE_CUES:
        if re.search(rf"\b({cue})\b", folded):
            return kind
    return None


# Questions after a quantity of something other than money (a population, a count, a rate): "46 milliards
# d'euros" does not answer "Quelle est la population…". "Combien…" alone and "how much" may be money.
_NOT_MONEY = re.compile(
    r"\b(how many|combien (y a-t-il |en )?d(e |es |['’])(?!argent|euros?|dollars?)"
    rf"|{_MEASURES}|habitants?|inhabitants|percentage)\b"
)
_CURRENCY = r"(euros?|dollars?|francs?|livres? sterling|roubles?|yuans?|yens?|tenges?|€|\$|USD|EUR)"
_SCALE = r"(millions?|milliards?|mille|billions?|thousands?|M|Md|Mds|k)"
# An amount of money: a currency sign then a number, or a number (or a word before a scale: "plusieurs
# millions") with its scale, then a currency.
_MONEY = re.compile(
    rf"(€|\$|US\$)\s*\d[\d.,]*(\s*{_SCALE}\b)?"
    rf"|((\d[\d\s.,  ]*|\b[^\W\d_]+\s+(?={_SCALE}\b))\s*)?({_SCALE}\s*)?(d['’]\s*|de\s+|of\s+)?{_CURRENCY}(?!\w)",
    re.IGNORECASE,
)


def money_excluded(question: str) -> bool:
    """Whether the question asks a quantity that an amount of money does not give."""
    return bool(_NOT_MONEY.search(fold(question)))


def holds_type(kind: AnswerType | None, text: str, question_words: AbstractSet[str], *, money: bool = True) -> bool:
    """Whether a sentence holds a number, a date or a name that the question does not already give
    (`money=False`: an amount of money is no number)."""
    if kind is None:
        return False
    tokens = words(text)
    if kind == "number":
        # Digits inside a date ("le 16 juin 2025") do not count: they answer "when", not "how many".
        skipped = [(m.start, m.end) for m in extract_dates(text)]
        if not money:
            skipped += [m.span() for m in _MONEY.finditer(text)]
        rest = "".join(ch if not any(a <= i < b for a, b in skipped) else " " for i, ch in enumerate(text))
        return any(any(ch.isdigit() for ch in t) or fold(t) in _NUMBER_WORDS for t in words(rest))
    if kind == "date":
        return bool(extract_dates(text)) or bool(re.search(r"\b(1[0-9]|20)\d0s?\b|\bann[ée]es \d", text))
    return any(t[0].isupper() and fold(t) not in question_words for t in tokens[1:])
