"""Dates written in French and English text, and the periods that questions name."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from qa.core.errors import InputError

# dateparser's search_dates was measured on OrangeSum and rejected: ~80x slower than this (60 kB/s),
# noisy on news text (it reads "8,5", "10%", "sa", "page 2025", "il y a 24" as dates) and without
# offsets. A compiled regex over month names and cue words, then datetime.date validation, does both.


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date written in a text: [start, end) and its ISO value, as precise as the text is."""

    start: int
    end: int
    value: str  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"


class DateRange(NamedTuple):
    """An inclusive range of days."""

    first_day: dt.date
    last_day: dt.date


def _fold(word: str) -> str:
    """Lower case, no accents, no trailing period: the key of the month table."""
    decomposed = unicodedata.normalize("NFKD", word.casefold().rstrip("."))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_MONTH_NUMBERS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "janvier janv january jan",
        "fevrier fevr fev february feb",
        "mars march mar",
        "avril avr april apr",
        "mai may",
        "juin june jun",
        "juillet juil july jul",
        "aout august aug",
        "septembre sept september sep",
        "octobre oct october",
        "novembre nov november",
        "decembre dec december",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTH_NUMBERS[_name] = _number


def _alternation(words: list[str]) -> str:
    """Longest first, so that "Mar" never cuts "March" short."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_FR_MONTHS = "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre"
_FR_ABBREVIATIONS = "janv févr fevr fév fev avr juil sept oct nov déc dec"
_EN_MONTHS = "January February March April May June July August September October November December"
_EN_ABBREVIATIONS = "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"
# French month names are unambiguous in any case. English ones must be capitalised ("may", "march")
# and French abbreviations need their period ("sept" is also "seven").
_EN_FORMS = [w for m in _EN_MONTHS.split() for w in (m, m.upper())]
MONTH = (
    rf"(?<!\w)(?:(?i:{_alternation(_FR_MONTHS.split())})"
    rf"|(?i:(?:{_alternation(_FR_ABBREVIATIONS.split())})\.)"
    rf"|{_alternation(_EN_FORMS)}"
    rf"|(?:{_alternation(_EN_ABBREVIATIONS.split())})\.?)(?!\w)"
)
_EN_MONTH = rf"(?<!\w)(?:{_alternation(_EN_FORMS)}|(?:{_alternation(_EN_ABBREVIATIONS.split())})\.?)(?!\w)"

# Any one or two digits: "31 février" and "32 mai" are read as days and then found impossible,
# rather than leaving "février 2025" behind as a month.
_DAY = r"\d{1,2}(?:er|ᵉʳ|st|nd|rd|th)?(?!\d)"
# Bounded spaces: a date does not run across a paragraph, and _matches relies on a bounded start.
_SP = r"\s{1,3}"
_SP0 = r"\s{0,3}"
_RANGE_WORDS = r"au|à|to|through|until|-|–|—"
_LIST_WORDS = r"et|and|&|,|ou|or"
_CONNECTOR = rf"{_SP0}(?i:{_RANGE_WORDS}|{_LIST_WORDS}){_SP0}(?i:le{_SP}|the{_SP})?"
# Several days of one month: "11 et 12", "11–12", "du 11 au 14", "the 11th and 12th".
_DAYS = rf"(?<![\w.,-]){_DAY}(?:{_CONNECTOR}{_DAY})*"
_YEAR = r"(?:1\d{3}|2\d{3})(?!\d)"
# A year standing alone must also not be part of a bigger number ("2025,5", "2 025 000").
_LONE_YEAR = r"(?<![\d.,])(?<!\d[\s.,])(?:1\d{3}|2[01]\d{2})(?![\w'’]|[.,]\d|\s\d{3}(?!\d))"

# Words after which a four-digit number is a year ("en 2024", "depuis 2019", "by 2030").
_YEAR_CUES = (
    "en|dès|depuis|jusqu['’]en|jusqu['’]à|avant|après|d['’]ici(?:\\s{1,3}à)?|à\\s{1,3}partir\\s{1,3}de|fin|début"
    "|courant|l['’]an|l['’]année|année|printemps|l['’]été|automne|hiver|saison|exercice|budget"
    "|in|since|by|until|till|before|after|during|early|late|year|spring|summer|autumn|winter"
    "|season|fiscal|through"
)
_CUE = rf"(?<![\w-])(?:(?i:{_YEAR_CUES}){_SP}|(?i:mi|mid)-)"
_RANGE_CUE = r"(?<![\w-])(?i:de|du|from|entre|between|en|in|depuis|since)\s{1,3}"

_PATTERNS = {
    "iso": r"(?<![\d-])(?P<iso_y>\d{4})-(?P<iso_m>\d{2})-(?P<iso_d>\d{2})(?!\d)",
    # Day first, as French and British write it: 19/11/2025, 19.11.2025.
    "num": r"(?<![\d/.])(?P<num_d>\d{1,2})(?P<num_sep>[/.])(?P<num_m>\d{1,2})(?P=num_sep)"
    r"(?P<num_y>\d{4})(?![/.]?\d)",
    # "du 30 juin au 2 juillet 2025"
    "dmdmy": rf"(?<![\w.,-])(?P<dmdmy_d1>{_DAY}){_SP}(?P<dmdmy_m1>{MONTH}){_SP0}(?P<dmdmy_c>(?i:{_RANGE_WORDS}"
    rf"|{_LIST_WORDS})){_SP0}(?i:le{_SP}|the{_SP})?(?P<dmdmy_d2>{_DAY}){_SP}(?:of{_SP})?(?P<dmdmy_m2>{MONTH})"
    rf",?{_SP}(?P<dmdmy_y>{_YEAR})",
    # "16 juin 2025", "les 11 et 12 novembre 2025", "the 11th and 12th of November 2025"
    "dmy": rf"(?P<dmy_d>{_DAYS}){_SP}(?:of{_SP})?(?P<dmy_m>{MONTH}),?{_SP}(?P<dmy_y>{_YEAR})",
    # "June 16, 2025", "June 16-17, 2025"
    "mdy": rf"(?P<mdy_m>{MONTH}){_SP}(?P<mdy_d>{_DAY}(?:{_CONNECTOR}{_DAY})*),?{_SP}(?P<mdy_y>{_YEAR})",
    # "juin-juillet 2025", "entre juin et août 2025"
    "mmy": rf"(?P<mmy_m1>{MONTH}){_SP0}(?P<mmy_c>(?i:{_RANGE_WORDS}|{_LIST_WORDS})){_SP0}(?P<mmy_m2>{MONTH}),?"
    rf"{_SP}(?P<mmy_y>{_YEAR})",
    "my": rf"(?P<my_m>{MONTH}),?{_SP}(?:(?i:of|de{_SP}l['’]année){_SP})?(?P<my_y>{_YEAR})",
    # "de 2019 à 2022", "2019-2022", "en 2019 et 2020"
    "yy": rf"(?:(?P<yy_cue>{_RANGE_CUE}))?(?P<yy_y1>{_LONE_YEAR}){_SP0}(?P<yy_c>(?i:{_RANGE_WORDS}|/|et|and|ou|or))"
    rf"{_SP0}(?P<yy_y2>{_LONE_YEAR})",
    "cy": rf"{_CUE}(?P<cy_y>{_LONE_YEAR})|\((?P<cy_p>{_LONE_YEAR})\)",
    # Without a year: only resolved against a reference date (the article's).
    "dm": rf"(?P<dm_d>{_DAYS}){_SP}(?:of{_SP})?(?P<dm_m>{MONTH})",
    "md": rf"(?P<md_m>{_EN_MONTH}){_SP}(?P<md_d>{_DAY})(?![\w,]|{_SP0}[-–]{_SP0}\d)",
    # A bare four-digit number: a year in a question, too loose for article text.
    "y": rf"(?<![\w-])(?P<y_y>{_LONE_YEAR})",
}
_DATE_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS.items()))

# Patterns bound their spaces (\s{1,3}) so that no date starts further than this before a digit.
_LOOKBACK = 48
_DIGITS_RE = re.compile(r"\d+")
_START_RE = re.compile(r"\(|(?<!\w)[^\W\d_]")
_RANGE_RE = re.compile(rf"(?i:{_RANGE_WORDS})|/")
_DAY_TOKENS_RE = re.compile(rf"\d{{1,2}}|(?i:{_RANGE_WORDS})(?=\s|\d|$)")
_BETWEEN_RE = re.compile(r"(?i:entre|between)\s+$")
# "les années 1990/2000" names decades, which a year value would misstate.
_DECADES_RE = re.compile(r"(?i:ann[ée]es)\s+$")
# After a number these make it a quantity, not a year: "en 2000 exemplaires", "depuis 1500 ans".
_QUANTITY_RE = re.compile(
    r"\s*(?:[%‰€$£¥]|(?i:ans?|années?|mois|jours?|semaines?|heures?|minutes?|secondes?|fois|euros?"
    r"|dollars?|francs?|livres?|yens?|mètres?|km|kilomètres?|kg|kilos?|tonnes?|litres?|hectares?|ha"
    r"|points?|voix|votes?|personnes?|habitants?|salariés?|employés?|emplois?|postes?|élèves?"
    r"|étudiants?|enfants?|hommes?|femmes?|morts?|décès|blessés?|victimes?|cas|patients?|lits?"
    r"|exemplaires?|logements?|entreprises?|communes?|participants?|manifestants?|soldats?|policiers?"
    r"|candidats?|spectateurs?|visiteurs?|people|persons?|years?|months?|days?|weeks?|hours?|times"
    r"|pounds?|miles?|metres?|meters?|feet|tons?|troops|soldiers|workers|jobs|cases|deaths|copies"
    r"|homes|students|residents|visitors|members|m|cm|mm)(?!\w))"
)
# A number after these is not a year even in a question: "page 2025", "n° 1984".
_NUMBER_LABEL_RE = re.compile(
    r"(?i:page|pages|p\.|pp\.|n°|no\.?|nos\.?|num[ée]ro|number|#|art\.|article|route|vol\.|chapitre"
    r"|chapter|ligne|line|code|bus|vol|flight|tome|km)\s*$"
)

_MAX_LISTED_DAYS = 31
_MAX_LISTED_YEARS = 10


def _day(text: str) -> int:
    """The number of "1er", "12th", "16"."""
    return int(re.sub(r"\D.*", "", text))


def _month(text: str) -> int:
    return _MONTH_NUMBERS[_fold(text)]


def _valid_day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _days_in(text: str) -> list[int]:
    """The days a list or range of days names: "11 et 12" -> [11, 12], "11–13" -> [11, 12, 13]."""
    days: list[int] = []
    is_range = False
    for token in _DAY_TOKENS_RE.findall(text):
        if not token.isdigit():
            is_range = True
            continue
        day = int(token)
        if is_range and days and days[-1] < day <= days[-1] + _MAX_LISTED_DAYS:
            days.extend(range(days[-1] + 1, day + 1))
        else:
            days.append(day)
        is_range = False
    return days


def _closest_year(month: int, day: int, reference: dt.date) -> dt.date | None:
    """The date with this month and day nearest `reference` (a news article's own date)."""
    candidates = [_valid_day(reference.year + k, month, day) for k in (-1, 0, 1)]
    dates = [d for d in candidates if d is not None]
    return min(dates, key=lambda d: abs((d - reference).days)) if dates else None


def _month_values(year: int, first: int, last: int, *, is_range: bool) -> list[str]:
    if not is_range:
        return [f"{year:04d}-{first:02d}", f"{year:04d}-{last:02d}"]
    if first <= last:
        return [f"{year:04d}-{m:02d}" for m in range(first, last + 1)]
    # "décembre-janvier 2025": the winter that ends in the year named.
    return [f"{year - 1:04d}-{m:02d}" for m in range(first, 13)] + [f"{year:04d}-{m:02d}" for m in range(1, last + 1)]


def _values(match: re.Match[str], text: str, *, reference: dt.date | None, bare_years: bool) -> Iterator[str]:
    """The ISO values one match names; nothing when it is not a date after all."""
    kind = match.lastgroup
    g = match.group
    if kind in ("iso", "num"):
        y, m, d = (int(g(f"{kind}_{p}")) for p in "ymd")
        date = _valid_day(y, m, d)
        if date is not None:
            yield date.isoformat()
    elif kind in ("dmy", "mdy"):
        year, month = int(g(f"{kind}_y")), _month(g(f"{kind}_m"))
        for day in _days_in(g(f"{kind}_d")):
            date = _valid_day(year, month, day)
            if date is not None:
                yield date.isoformat()
    elif kind == "dmdmy":
        year = int(g("dmdmy_y"))
        m1, m2 = _month(g("dmdmy_m1")), _month(g("dmdmy_m2"))
        last = _valid_day(year, m2, _day(g("dmdmy_d2")))
        first = _valid_day(year - 1 if m1 > m2 else year, m1, _day(g("dmdmy_d1")))
        if first is None or last is None or first > last:
            return
        span = (last - first).days
        if _RANGE_RE.fullmatch(g("dmdmy_c")) and span <= _MAX_LISTED_DAYS:
            for k in range(span + 1):
                yield (first + dt.timedelta(days=k)).isoformat()
        else:
            yield first.isoformat()
            yield last.isoformat()
    elif kind == "mmy":
        is_range = bool(_RANGE_RE.fullmatch(g("mmy_c")) or _BETWEEN_RE.search(text, 0, match.start()))
        yield from _month_values(int(g("mmy_y")), _month(g("mmy_m1")), _month(g("mmy_m2")), is_range=is_range)
    elif kind == "my":
        yield f"{int(g('my_y')):04d}-{_month(g('my_m')):02d}"
    elif kind == "yy":
        y1, y2 = int(g("yy_y1")), int(g("yy_y2"))
        is_range = bool(_RANGE_RE.fullmatch(g("yy_c")) or (g("yy_cue") or "").lower().startswith(("entre", "betw")))
        if not (g("yy_cue") or bare_years or (is_range and y1 < y2 <= y1 + 50)):
            return  # "2019 et 2020" with nothing saying they are years
        if _QUANTITY_RE.match(text, match.end()) or _DECADES_RE.search(text, max(0, match.start() - 8), match.start()):
            return
        if is_range and y1 < y2 and y2 - y1 <= _MAX_LISTED_YEARS:
            yield from (f"{y:04d}" for y in range(y1, y2 + 1))
        else:
            yield f"{y1:04d}"
            yield f"{y2:04d}"
    elif kind == "cy":
        if not _QUANTITY_RE.match(text, match.end()):
            yield f"{int(g('cy_y') or g('cy_p')):04d}"
    elif kind in ("dm", "md"):
        if reference is None:
            return
        month = _month(g(f"{kind}_m"))
        for day in _days_in(g(f"{kind}_d")):
            date = _closest_year(month, day, reference)
            if date is not None:
                yield date.isoformat()
    elif kind == "y" and bare_years:
        before = max(0, match.start() - 12)
        if not (
            _QUANTITY_RE.match(text, match.end())
            or _NUMBER_LABEL_RE.search(text, before, match.start())
            or _DECADES_RE.search(text, before, match.start())
        ):
            yield g("y_y")


def _matches(text: str) -> Iterator[re.Match[str]]:
    """What _DATE_RE.finditer(text) yields, ~50x faster: every date holds a digit at most
    _LOOKBACK chars after its start, which is a digit, a "(" or a word's first letter, so only
    those few positions before each run of digits are tried."""
    pos = 0
    for digits in _DIGITS_RE.finditer(text):
        first_digit = digits.start()
        if first_digit < pos:
            continue
        starts = [m.start() for m in _START_RE.finditer(text, max(pos, first_digit - _LOOKBACK), first_digit)]
        for start in [*starts, first_digit]:
            match = _DATE_RE.match(text, start)
            if match:
                yield match
                pos = match.end()
                break


def _scan(text: str, *, reference: dt.date | None, bare_years: bool) -> list[DateMention]:
    mentions: list[DateMention] = []
    for match in _matches(text):
        values = dict.fromkeys(_values(match, text, reference=reference, bare_years=bare_years))
        mentions.extend(DateMention(match.start(), match.end(), value) for value in values)
    return mentions


def extract_dates(text: str, *, reference: dt.date | None = None) -> list[DateMention]:
    """Dates written in `text`, in order; a list of days ("les 11 et 12 novembre 2025") gives one
    mention per day, all with the span of the whole expression. A four-digit number counts as a
    year only after a cue ("en 2024", "since 2019", "fin 2025", "(2019)"). Day and month without a
    year ("le 9 juin") are resolved to the year nearest `reference` when one is given."""
    return _scan(text, reference=reference, bare_years=False)


def value_range(value: str) -> DateRange:
    """The days an ISO value of year, month or day precision covers."""
    return _value_range(value)


@functools.lru_cache(maxsize=4096)
def _value_range(value: str) -> DateRange:
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 1:
        return DateRange(dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31))
    if len(parts) == 2:
        year, month = parts
        return DateRange(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
    day = dt.date(*parts)
    return DateRange(day, day)


def query_dates(question: str) -> list[DateRange]:
    """The periods a question names, sorted, with touching or overlapping ones merged. Bare years
    count here ("Euro 2016"); relative periods ("last autumn", "l'an dernier") are ignored."""
    ranges = sorted(value_range(m.value) for m in _scan(question, reference=None, bare_years=True))
    merged: list[DateRange] = []
    for rng in ranges:
        if merged and rng.first_day <= merged[-1].last_day + dt.timedelta(days=1):
            if rng.last_day > merged[-1].last_day:
                merged[-1] = DateRange(merged[-1].first_day, rng.last_day)
        else:
            merged.append(rng)
    return merged


_PERIOD_VALUE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")


def parse_period(date_from: str | None, date_to: str | None) -> DateRange | None:
    """The days from the first of `date_from` to the last of `date_to` (YYYY, YYYY-MM or YYYY-MM-DD; either
    may be None for an open end); InputError naming a malformed or impossible date, or a reversed range."""
    if date_from is None and date_to is None:
        return None
    bounds: list[DateRange | None] = []
    for name, value in (("from", date_from), ("to", date_to)):
        if value is None:
            bounds.append(None)
            continue
        if not _PERIOD_VALUE.match(value.strip()):
            raise InputError(f"{name} date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        try:
            bounds.append(value_range(value.strip()))
        except ValueError:
            raise InputError(f"{name} date {value!r} is not a real date") from None
    first = bounds[0].first_day if bounds[0] else dt.date.min
    last = bounds[1].last_day if bounds[1] else dt.date.max
    if first > last:
        raise InputError(f"the period is reversed: from {date_from} is after to {date_to}")
    return DateRange(first, last)


def overlaps(mention_value: str, rng: DateRange) -> bool:
    """Whether a mention ("2025", "2025-06", "2025-06-16") and a range of days share a day."""
    return ranges_overlap(value_range(mention_value), rng)


def ranges_overlap(a: DateRange, b: DateRange) -> bool:
    """Whether two ranges of days share a day."""
    return a.first_day <= b.last_day and b.first_day <= a.last_day
