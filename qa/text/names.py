"""Names and numbers in questions, and whether passages mention them, across French and English spellings."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from qa.text.analyzer import analyze, fold, stop_words, words

_MONTHS = {
    fold(m)
    for m in [
        *["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"],
        *["septembre", "octobre", "novembre", "décembre", "january", "february", "march", "april"],
        *["may", "june", "july", "august", "september", "october", "november", "december"],
    ]
}
QUESTION_WORDS = {
    fold(w)
    for w in [
        *["what", "who", "whom", "whose", "when", "where", "which", "why", "how", "quel", "quelle"],
        *["quels", "quelles", "qui", "que", "quoi", "quand", "où", "comment", "pourquoi", "combien"],
    ]
}


def _salient(pos: int, tok: str) -> bool:
    f = fold(tok)
    if f in stop_words() or f in _MONTHS or f in QUESTION_WORDS or len(f) < 2:
        return False
    return any(ch.isdigit() for ch in tok) or (pos > 0 and tok[0].isupper())


def name_units(question: str) -> list[tuple[str, ...]]:
    """The salient terms grouped into names: adjacent capitalised words are one name ("United States",
    "Central Asia"); each number stands alone."""
    units: list[list[str]] = []
    previous = -2
    for pos, tok in enumerate(words(question)):
        if not _salient(pos, tok):
            continue
        number = any(ch.isdigit() for ch in tok)
        if units and previous == pos - 1 and not number and not any(ch.isdigit() for ch in units[-1][-1]):
            units[-1].append(fold(tok))
        else:
            units.append([fold(tok)])
        previous = pos
    return [tuple(u) for u in units]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def spellings(term: str, vocabulary: Iterable[str]) -> list[str]:
    """The folded words that are this folded term, or a spelling of it in the other language.

    Names cross languages with a letter changed (Asia/Asie, Tokayev/Tokaïev), an ending changed
    (Moscow/Moscou) or added (Kazakh/Kazakhstan, Europe/européenne); short words must keep their length,
    so that "Paris" is not found in "pari".
    """
    if term.isdigit() or len(term) < 4:
        return [term] if term in vocabulary else []
    return [word for word in vocabulary if word == term or (not word.isdigit() and _spells(term, word))]


def _spells(term: str, word: str) -> bool:
    prefix = _common_prefix(term, word)
    if prefix >= 5 and prefix >= 0.6 * min(len(term), len(word)):
        return True
    if len(term) <= 5:
        return len(word) == len(term) and difflib.SequenceMatcher(None, term, word).ratio() >= 0.75
    return abs(len(word) - len(term)) <= 2 and difflib.SequenceMatcher(None, term, word).ratio() >= 0.8


def mentioned(term: str, vocabulary: set[str]) -> bool:
    """Whether a folded term, or a spelling of it in the other language, is among the folded words."""
    if term in vocabulary:
        return True
    if term.isdigit() or len(term) < 4:
        return False
    return any(not word.isdigit() and _spells(term, word) for word in vocabulary)


# English names whose French form no spelling rule reaches ("United States" / "États-Unis"): countries,
# regions, capitals and institutions that French news names often. Folded, as words; a name counts as
# mentioned when any word of its French form is.
NAME_FORMS: dict[str, tuple[str, ...]] = {
    en: tuple(fr.split())
    for en, fr in (
        ("united states", "etats unis"),
        ("america", "amerique"),
        ("united kingdom", "royaume uni"),
        ("britain", "bretagne"),
        ("england", "angleterre"),
        ("scotland", "ecosse"),
        ("wales", "galles"),
        ("ireland", "irlande"),
        ("germany", "allemagne"),
        ("spain", "espagne"),
        ("italy", "italie"),
        ("greece", "grece"),
        ("netherlands", "pays bas"),
        ("belgium", "belgique"),
        ("switzerland", "suisse"),
        ("sweden", "suede"),
        ("norway", "norvege"),
        ("denmark", "danemark"),
        ("finland", "finlande"),
        ("poland", "pologne"),
        ("austria", "autriche"),
        ("hungary", "hongrie"),
        ("czech", "tcheque tchequie"),
        ("turkey", "turquie"),
        ("egypt", "egypte"),
        ("morocco", "maroc"),
        ("algeria", "algerie"),
        ("tunisia", "tunisie"),
        ("south africa", "afrique sud"),
        ("japan", "japon"),
        ("india", "inde"),
        ("belarus", "bielorussie"),
        ("georgia", "georgie"),
        ("armenia", "armenie"),
        ("azerbaijan", "azerbaidjan"),
        ("kyrgyzstan", "kirghizistan"),
        ("tajikistan", "tadjikistan"),
        ("mongolia", "mongolie"),
        ("saudi arabia", "arabie saoudite"),
        ("syria", "syrie"),
        ("lebanon", "liban"),
        ("jordan", "jordanie"),
        ("iraq", "irak"),
        ("brazil", "bresil"),
        ("mexico", "mexique"),
        ("chile", "chili"),
        ("peru", "perou"),
        ("australia", "australie"),
        ("new zealand", "nouvelle zelande"),
        ("thailand", "thailande"),
        ("south korea", "coree sud"),
        ("north korea", "coree nord"),
        ("korea", "coree"),
        ("africa", "afrique"),
        ("middle east", "moyen orient"),
        ("european union", "union europeenne ue"),
        ("european commission", "commission europeenne"),
        ("european council", "conseil europeen"),
        ("european parliament", "parlement europeen"),
        ("united nations", "nations unies onu"),
        ("nato", "otan"),
        ("world bank", "banque mondiale"),
        ("white house", "maison blanche"),
        ("beijing", "pekin"),
        ("london", "londres"),
        ("brussels", "bruxelles"),
        ("geneva", "geneve"),
        ("vienna", "vienne"),
        ("warsaw", "varsovie"),
        ("athens", "athenes"),
        ("lisbon", "lisbonne"),
        ("venice", "venise"),
        ("tashkent", "tachkent"),
        ("pope", "pape"),
    )
}


def _known_names(unit: tuple[str, ...]) -> list[str]:
    """The English names of NAME_FORMS inside the unit, longest first."""
    spans = (" ".join(unit[start : start + size]) for size in range(len(unit), 0, -1) for start in range(len(unit) - size + 1))
    return [name for name in spans if name in NAME_FORMS]


def name_forms(unit: tuple[str, ...]) -> set[str]:
    """The unit's words plus the French words of any known English name inside it."""
    forms = set(unit)
    for name in _known_names(unit):
        forms.update(NAME_FORMS[name])
    return forms


def missing_names(units: Sequence[tuple[str, ...]], texts: Sequence[str]) -> list[tuple[str, ...]]:
    """The names and numbers (`name_units` of a question) that none of the texts mentions (a name counts if any
    word of it does)."""
    vocabulary = {fold(w) for text in texts for w in words(text)}
    return [unit for unit in units if not any(mentioned(t, vocabulary) for t in name_forms(unit))]


def is_known_name(unit: tuple[str, ...]) -> bool:
    """Whether the unit holds an English name whose French form is known: its absence is then certain."""
    return bool(_known_names(unit))


def name_terms(unit: tuple[str, ...]) -> list[str]:
    """The index terms of a name in all its known forms: what the lexical index holds where it is mentioned."""
    return analyze(" ".join(sorted(name_forms(unit))))
