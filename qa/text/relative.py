"""Relative dates ("trois mois plus tard", "lundi", "l'an dernier"), resolved only against an anchor the text gives."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

# Counts written out, French and English ("moins de trois mois plus tard", "two days later").
_COUNTS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "quinze": 15, "vingt": 20, "trente": 30,
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
}  # fmt: skip
_UNITS = {
    "jour": "days", "jours": "days", "day": "days", "days": "days",
    "semaine": "weeks", "semaines": "weeks", "week": "weeks", "weeks": "weeks",
    "mois": "months", "month": "months", "months": "months",
    "an": "years", "ans": "years", "annee": "years", "annees": "years", "année": "years", "années": "years",
    "year": "years", "years": "years",
}  # fmt: skip
_WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip

# The count starts a number: not "huit" of "dix-huit", "un" of "vingt et un", "000" of "1 000".
_COUNT = r"(?<![\w-])(?<!\bet )(?<!\d[\s\u00a0\u202f])(?P<n>\d{1,3}|" + "|".join(sorted(_COUNTS, key=len, reverse=True)) + ")"
_UNIT = "(?P<unit>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + ")"
# "trois mois plus tard", "moins de trois mois après", "two days later", "six months earlier".
_SHIFT = re.compile(
    r"\b(?P<bound>(?:moins|plus) d['’]\s*|(?:moins|plus) de\s+|less than\s+|within\s+|more than\s+|about\s+|environ\s+)?"
    rf"{_COUNT}\s+{_UNIT}"
    # "avant", "après", "before" and "after" count from the previous date only when nothing follows them:
    # "trois jours avant l'élection" counts from the election.
    r"\s+(?P<dir>plus tard|plus tôt|plus tot|auparavant|later|earlier|(?:après|apres|avant|after|before)(?=\s*(?:[,.;:!?)]|$)))"
    r"(?![\w-])",
    re.IGNORECASE,
)
# "Il a vingt ans après tout", "âgé de trois ans": an age, not a shift.
_AGE = re.compile(r"\b(?:a|avait|aura|âgée?s? de|agee?s? de|aged)\s+$", re.IGNORECASE)
# "le lendemain", "la veille", "the next day", "the day before".
_NEXT_DAY = re.compile(
    r"\b(?P<next>le lendemain|the next day|the following day)\b"
    # "la veille" alone, not "la veille sanitaire" or "à la veille de Noël".
    r"|\b(?P<prev>la veille(?=\s*(?:[,.;:!?]|au soir|au matin|même|$))|the day before)\b",
    re.IGNORECASE,
)
# Dates told from the day of publication: the phrase (folded apostrophes), then (unit, shift, precision).
# "Aujourd'hui" is left out: in news it mostly means "nowadays".
_FROM_PUBLICATION = {
    "avant-hier": ("days", -2, 3), "hier": ("days", -1, 3), "yesterday": ("days", -1, 3),
    "l'an dernier": ("years", -1, 1), "l'année dernière": ("years", -1, 1), "l'annee derniere": ("years", -1, 1),
    "last year": ("years", -1, 1), "l'an prochain": ("years", 1, 1), "l'année prochaine": ("years", 1, 1),
    "next year": ("years", 1, 1), "cette année": ("years", 0, 1), "cette annee": ("years", 0, 1),
    "this year": ("years", 0, 1), "le mois dernier": ("months", -1, 2), "last month": ("months", -1, 2),
    "ce mois-ci": ("months", 0, 2), "this month": ("months", 0, 2),
}  # fmt: skip
_DEICTIC = re.compile(
    r"(?<![\w-])(?P<word>"
    + "|".join(re.escape(w).replace("'", "['’]") for w in sorted(_FROM_PUBLICATION, key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)
# A weekday alone ("lundi", "on Monday") is the last one before publication; after an article or "chaque"
# ("la prière du vendredi", "le lundi") it is a habit, not a date.
_WEEKDAY = re.compile(
    r"\b(?:(?P<prefix>last|on|this|next)\s+)?(?P<day>" + "|".join(_WEEKDAYS) + r")(?:\s+(?P<which>dernier|prochain))?\b",
    re.IGNORECASE,
)
_HABIT = re.compile(r"\b(?:le|les|du|des|au|aux|chaque|tous les|every|on)\s+$", re.IGNORECASE)
# Names that hold a weekday: "Black Friday", "The Mail on Sunday", "Super Tuesday".
_NAMED = re.compile(r"\b(?:black|cyber|super|mail|the|bloody|good|ash)\s+(?:on\s+)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RelativeDate:
    """A relative date resolved: [start, end) of its phrase, its ISO value, and what it was resolved from."""

    start: int
    end: int
    value: str  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    anchor: str  # "publication" or "previous" (the date of the previous dated sentence)
    anchor_value: str
    # "moins de trois mois plus tard": a period up to the shifted date rather than that date.
    value_end: str | None = None


def _parse(value: str) -> tuple[dt.date, int]:
    """An ISO value as its first day and its precision (1 year, 2 month, 3 day)."""
    parts = [int(p) for p in value.split("-")]
    return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1), len(parts)


def _format(day: dt.date, precision: int) -> str:
    return day.isoformat()[: {1: 4, 2: 7, 3: 10}[precision]]


def _shifted(previous: str, count: int, unit: str, forward: bool) -> str | None:
    """The previous date moved by count units, no more precise than the unit allows or the anchor was; None
    when that is not one date ("six mois plus tard" after "en 2019" may be 2019 or 2020) or is out of range."""
    first, precision = _parse(previous)
    last = first + relativedelta(**{{1: "years", 2: "months", 3: "days"}[precision]: 1}) - dt.timedelta(days=1)
    delta = relativedelta(**{unit: count if forward else -count})
    needed = min(precision, {"days": 3, "weeks": 3, "months": 2, "years": 1}[unit])
    try:
        ends = {_format(first + delta, needed), _format(last + delta, needed)}
    except (ValueError, OverflowError):
        return None
    value = ends.pop()
    return value if not ends and 1000 <= int(value[:4]) <= 9999 else None


def _from_previous(sentence: str, previous: str) -> RelativeDate | None:
    m = next((m for m in _SHIFT.finditer(sentence) if not _AGE.search(sentence[: m.start()])), None)
    if m:
        n = m.group("n").casefold()
        count = int(n) if n.isdigit() else _COUNTS.get(n)
        unit = _UNITS.get(m.group("unit").casefold())
        if count is None or unit is None:  # a look-alike letter matched under IGNORECASE ("troıs")
            return None
        forward = m.group("dir").casefold() in ("plus tard", "après", "apres", "later", "after")
        value = _shifted(previous, count, unit, forward)
        if value is None:
            return None
        if (m.group("bound") or "").casefold().startswith(("moins", "less", "within")):
            # Up to that date: from the anchor (after it) or to it (before it), as precise as the shift's unit.
            near = _shifted(previous, 0, unit, forward)
            if near is None:
                return None
            first, last = (near, value) if forward else (value, near)
            return RelativeDate(m.start(), m.end(), first, "previous", previous, last if last != first else None)
        return RelativeDate(m.start(), m.end(), value, "previous", previous)
    m = _NEXT_DAY.search(sentence)
    if m and _parse(previous)[1] == 3:
        value = _shifted(previous, 1, "days", forward=m.group("next") is not None)
        return RelativeDate(m.start(), m.end(), value, "previous", previous) if value else None
    return None


def _from_publication(sentence: str, published: dt.date) -> RelativeDate | None:
    """The first date of the sentence told from the publication: "hier", "l'an dernier", a weekday."""
    found = [r for r in (_deictic(sentence, published), _weekday(sentence, published)) if r is not None]
    return min(found, key=lambda r: r.start) if found else None


def _deictic(sentence: str, published: dt.date) -> RelativeDate | None:
    for m in _DEICTIC.finditer(sentence):
        entry = _FROM_PUBLICATION.get(m.group("word").casefold().replace("’", "'"))
        if entry is not None:
            unit, shift, precision = entry
            value = _format(published + relativedelta(**{unit: shift}), precision)
            return RelativeDate(m.start(), m.end(), value, "publication", published.isoformat())
    return None


def _weekday(sentence: str, published: dt.date) -> RelativeDate | None:
    for m in _WEEKDAY.finditer(sentence):
        prefix = (m.group("prefix") or "").casefold()
        before = sentence[: m.start()]
        if (not prefix and _HABIT.search(before)) or _NAMED.search(before + (m.group("prefix") or "") + " "):
            continue
        target = _WEEKDAYS.get(m.group("day").casefold())
        if target is None:
            continue
        # News tells of the last such day on or before the day it was published ("mardi" in Tuesday's paper is
        # that day), unless it says "prochain"/"next"; "dernier"/"last" is before the day itself.
        which = (m.group("which") or "").casefold()
        if which == "prochain" or prefix == "next":
            day = published + dt.timedelta(days=(target - published.weekday()) % 7 or 7)
        else:
            back = (published.weekday() - target) % 7 or (7 if which == "dernier" or prefix == "last" else 0)
            day = published - dt.timedelta(days=back)
        return RelativeDate(m.start(), m.end(), day.isoformat(), "publication", published.isoformat())
    return None


def relative_date(sentence: str, *, published: dt.date | None, previous: str | None) -> RelativeDate | None:
    """The first relative date of a sentence that holds no written date, resolved against the previous dated
    sentence (a shift: "trois mois plus tard") or the publication date ("lundi", "l'an dernier"); None when the
    sentence has none, or the anchor it needs is not given."""
    found = [r for r in (
        _from_previous(sentence, previous) if previous else None,
        _from_publication(sentence, published) if published else None,
    ) if r is not None]  # fmt: skip
    return min(found, key=lambda r: r.start) if found else None
