"""Request and response bodies of the HTTP API, documented field by field for /docs and /openapi.json."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qa.core.errors import InputError
from qa.core.limits import DEFAULT_K, MAX_K, MAX_QUESTION_CHARS, MAX_QUESTION_TOKENS, MAX_TITLE_CHARS, MAX_URL_CHARS
from qa.text.dates import parse_period

ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")

# Whitespace as JSON Schema's patterns (ECMA-262 \s) and Python (str.isspace) see it, spelled out so that
# the patterns documented in /openapi.json and the checks made here agree character for character.
_SPACE = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = f"[^{_SPACE}]"
TEXT_PATTERN = f"^[^\\x00]*[^\\x00{_SPACE}][^\\x00]*$"
URL_PATTERN = f"^[^\\x00-\\x1f\\x7f-\\x9f{_SPACE}]*$"
_NOT_BLANK_RE = re.compile(NOT_BLANK)
_URL_RE = re.compile(URL_PATTERN)


def is_blank(text: str) -> bool:
    """Empty, or nothing but whitespace (as both Python and JSON Schema count it)."""
    return _NOT_BLANK_RE.search(text) is None


ArticleId = Annotated[
    str,
    Field(
        description="Article id: 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'.",
        examples=["000_2ce4f8cb43b28473"],
    ),
]
# Checked by ArticleWrite's validator (with a message saying what is wrong); documented as a date.
DateText = Annotated[str, Field(json_schema_extra={"format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})]
IsoDate = Annotated[
    dt.date | None,
    Field(description="Publication date as YYYY-MM-DD, or null when unknown.", examples=["2025-11-19"]),
]


# A year, a month or a real calendar day (checked again, with a message, by parse_period).
PERIOD_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^[1-9][0-9]{3}$"},
        {"type": "string", "pattern": r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"},
        {"type": "string", "format": "date"},
        {"type": "null"},
    ]
}


# --- requests -----------------------------------------------------------------------------------------------
class AskRequest(BaseModel):
    """A question to answer from the archive."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "What was signed in Astana in June 2025?", "k": 5}]},
    )

    question: str = Field(
        description=(
            f"The question, in French or English: not blank, at most {MAX_QUESTION_CHARS} characters. Its first "
            f"{MAX_QUESTION_TOKENS} tokens (some 500 characters) are embedded; keyword search reads all of it."
        ),
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": NOT_BLANK},
    )
    k: int = Field(
        DEFAULT_K,
        ge=1,
        le=MAX_K,
        description=f"How many passages to retrieve and cite, 1 to {MAX_K}.",
    )
    mode: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid",
        description="Retrieval: 'hybrid' (dense and lexical, fused; the default), 'dense' or 'bm25' alone.",
    )

    # strict: JSON's true or false only; 0, 1 or "yes" are refused (422), as the schema says.
    generate: bool = Field(
        False,
        strict=True,
        description="Also generate an answer in the question's language from the top citations (`generated`), when the "
        "server has an LLM (QA_LLM); each generated sentence is checked against the passage it cites.",
    )

    date_from: str | None = Field(
        None,
        description="Only passages about this period are cited: its first day, YYYY, YYYY-MM or YYYY-MM-DD (event dates).",
        examples=["2025-06"],
        json_schema_extra=PERIOD_SCHEMA,
    )
    date_to: str | None = Field(
        None, description="The period's last day, same forms.", examples=["2025-08"], json_schema_extra=PERIOD_SCHEMA
    )

    @model_validator(mode="after")
    def _period_is_real(self) -> AskRequest:
        try:
            parse_period(self.date_from, self.date_to)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return self

    @field_validator("k", mode="before")
    @classmethod
    def _k_is_a_number(cls, value: object) -> object:
        # JSON's 5 and 5.0 are the same integer; true and "5" are not numbers at all.
        if isinstance(value, bool | str):
            raise ValueError(f"k must be a whole number from 1 to {MAX_K}, not {type(value).__name__} {value!r}"[:120])
        return value

    @field_validator("question")
    @classmethod
    def _question_is_usable(cls, value: str) -> str:
        if is_blank(value):
            raise ValueError("the question is empty or blank: type a question")
        if len(value) > MAX_QUESTION_CHARS:
            raise ValueError(f"the question is {len(value)} characters long; the limit is {MAX_QUESTION_CHARS}")
        if _SURROGATE_RE.search(value):
            raise ValueError("the question contains invalid Unicode (a lone surrogate)")
        return value


class ArticleWrite(BaseModel):
    """An article to create or replace: its text is what citation offsets will refer to."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Le 16 juin 2025, à Astana, les deux présidents ont signé 24 accords bilatéraux.",
                    "title": "Astana, juin 2025",
                    "date": "2025-06-17",
                    "url": "https://example.org/astana",
                }
            ]
        },
    )

    text: str = Field(
        description=(
            "The article's text: not blank, no NUL character. It is stored normalised (Unicode NFC, \\n line "
            "ends, outer whitespace removed); GET /articles/{id} returns the stored form."
        ),
        json_schema_extra={"minLength": 1, "pattern": TEXT_PATTERN},
    )
    title: str | None = Field(
        None,
        max_length=MAX_TITLE_CHARS,
        description="Title (one line); when absent, one is made from the text's first sentence.",
    )
    date: DateText | None = Field(
        None, description="Publication date, YYYY-MM-DD (a real calendar day).", examples=["2025-11-19"]
    )
    url: str | None = Field(
        None,
        max_length=MAX_URL_CHARS,
        description="Where the article was published: no whitespace or control character.",
        json_schema_extra={"pattern": URL_PATTERN},
    )

    @field_validator("text")
    @classmethod
    def _text_is_usable(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("the text contains NUL characters")
        if is_blank(value):
            raise ValueError("the text is empty or blank")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_usable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _URL_RE.fullmatch(value):
            raise ValueError("the url must not contain whitespace or control characters")
        # Other characters a URL cannot show as they are (format, private, unassigned) are percent-encoded.
        return "".join(ch if ch.isprintable() else quote(ch, safe="") for ch in value)

    @field_validator("date")
    @classmethod
    def _date_is_a_day(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not ISO_DATE_RE.fullmatch(value):
            raise ValueError(f"the date must be written YYYY-MM-DD, e.g. 2025-11-19; got {value[:40]!r}")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"impossible date {value!r}: no such day") from None
        return value


# --- responses ----------------------------------------------------------------------------------------------
class Highlight(BaseModel):
    """The answering sentence inside a cited passage."""

    start: int = Field(description="Offset of the sentence's first character in the article's text.")
    end: int = Field(description="Offset just past the sentence's last character in the article's text.")


class CitationOut(BaseModel):
    """A passage the answer rests on, quoted exactly from its article."""

    n: int = Field(description="Number used to cite this passage in the answer, as [n]; 1 is the best.")
    article_id: ArticleId
    title: str | None = Field(description="The article's title, or null.")
    date: IsoDate
    url: str | None = Field(description="The article's URL, or null.")
    text: str = Field(description="The passage: exactly article.text[start:end] of GET /articles/{id}.")
    start: int = Field(description="Offset of the passage's first character in the article's text.")
    end: int = Field(description="Offset just past the passage's last character in the article's text.")
    score: float = Field(
        description="Cosine similarity of the passage to the question; citations are ordered by the fused "
        "(dense, lexical and date) ranking, so this number need not decrease along the list."
    )
    highlight: Highlight | None = Field(
        description=(
            "The answering sentence inside this passage, as offsets in the article's text (start <= "
            "highlight.start < highlight.end <= end); null when the answer's sentence is not in this passage."
        ),
    )


class ShortOut(BaseModel):
    """The answer itself, a few words of a cited passage."""

    text: str = Field(description="Exactly article.text[start:end] of the article of citation `citation`.")
    citation: int = Field(description="The n of the citation it is quoted from.")
    start: int = Field(description="Offset of its first character in that article's text.")
    end: int = Field(description="Offset just past its last character in that article's text.")


class GeneratedOut(BaseModel):
    """An answer generated in the question's language; every sentence cites a passage holding its names,
    numbers and dates."""

    text: str = Field(description="One to three sentences, each ending with its citations as [n].")
    citations: list[int] = Field(description="The `n` of the citations it cites, in order.")
    language: Literal["en", "fr"] = Field(description="The question's language, which the text is written in.")


class AskResponse(BaseModel):
    """The answer to a question, with the passages it cites."""

    question: str = Field(description="The question as asked.")
    answer: str | None = Field(description="The answering sentence, quoted from the archive; null when the archive does not say.")
    short: ShortOut | None = Field(
        description='The answer itself ("24 accords bilatéraux", "Xi Jinping"), chosen by the fitted reader inside the '
        "answering sentence; null when the archive does not say, or when the index's model has no fitted reader."
    )
    abstained_because: str | None = Field(
        description='When `answer` is null, why, in a few words ("no article mentions Tokyo"); otherwise null.'
    )
    citations: list[CitationOut] = Field(description="Cited passages, best first (may be empty if answer is null).")
    generated: GeneratedOut | None = Field(
        None,
        description='Only with "generate": true: the answer written in the question\'s language, its `[n]` referring to '
        "`citations`; null when no LLM is configured, when the archive does not say, or when no generated sentence "
        "passed the check (the extractive `answer` then stands alone).",
    )
    not_generated_because: str | None = Field(
        None, description='With "generate": true and `generated` null, why in a few words; otherwise null.'
    )


class HealthResponse(BaseModel):
    """The service is up and its index is loaded."""

    status: Literal["ok", "syncing"] = Field(
        description="'ok'; or 'syncing' while `qa serve` brings the index in line with the corpus folder at start-up: "
        "questions are answered from the last committed index meanwhile, writes answer 503."
    )
    articles: int = Field(description="Articles in the index.")
    chunks: int = Field(description="Passages (chunks) in the index.")
    model: str = Field(description="Name of the embedding model the index was built with.")
    generation: int | None = Field(None, description="Index generation being served: it grows with each commit.")
    llm: str | None = Field(None, description='The LLM that generates answers ("generate": true), or null when QA_LLM is off.')


class StartingResponse(BaseModel):
    """The service is starting and cannot answer yet (503)."""

    status: Literal["starting"] = Field(description="Always 'starting'.")
    phase: str = Field(description="What it is doing, e.g. 'loading the model'.")
    detail: str = Field(description="The same, said for a person, with when to retry.")


class ArticleSummaryOut(BaseModel):
    """An article's metadata, without its text."""

    id: ArticleId
    title: str | None = Field(description="Title, or null.")
    date: IsoDate
    url: str | None = Field(description="URL, or null.")
    chunks: int = Field(description="Passages the article is split into in the index.")


class ArticleOut(ArticleSummaryOut):
    """An article with its full text: every citation offset refers to this text."""

    text: str = Field(description="The article's text as stored; citation offsets (code points) index into it.")


class ErrorResponse(BaseModel):
    """An error: what is wrong, in one sentence."""

    detail: str = Field(description="What went wrong and, where it helps, how to fix it.")


class ValidationIssue(BaseModel):
    """One thing wrong with the request."""

    loc: list[str | int] = Field(description="Where: e.g. ['body', 'question'] or ['path', 'article_id'].")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A machine-readable kind of error, e.g. 'value_error' or 'json_invalid'.")


class ValidationErrorResponse(BaseModel):
    """The request is well-formed HTTP but its content is invalid."""

    detail: list[ValidationIssue] | str = Field(
        description="Each problem found (list), or one sentence for a problem found past the request's shape."
    )


class EventSourceOut(BaseModel):
    """An article reporting the event, and the sentence that does: `text == article.text[start:end]`."""

    article_id: str
    title: str | None
    published: dt.date | None = Field(description="The article's publication date, or null.")
    start: int
    end: int
    text: str


class EventPlace(BaseModel):
    """Another article reporting the event: its sentence is `article.text[start:end]`."""

    article_id: str
    start: int
    end: int


class ResolutionOut(BaseModel):
    """How a date given relatively was read."""

    phrase: str = Field(description="The words that give it: 'moins de trois mois plus tard', 'lundi', \"l'an dernier\".")
    anchor: Literal["publication", "previous"] = Field(
        description="What it counts from: the article's publication date, or the previous dated sentence's date."
    )
    anchor_date: str = Field(description="That anchor, YYYY[-MM[-DD]].")


class EventOut(BaseModel):
    """Something the archive reports happening at a date written in the text."""

    date: str = Field(description="YYYY, YYYY-MM or YYYY-MM-DD, as precise as the text: the event's, not the publication's.")
    date_end: str | None = Field(description="The last day of a span of days ('les 11 et 12 novembre'), or null.")
    precision: Literal["year", "month", "day"]
    text: str = Field(description="The sentence reporting it: `article.text[start:end]` of `article_id`.")
    article_id: str
    title: str | None
    published: dt.date | None = Field(description="That article's publication date, or null.")
    start: int
    end: int
    also_in: list[EventPlace] = Field(description="The other articles reporting the same event.")
    sources: list[EventSourceOut] = Field(description="Every article reporting it, the first one included.")
    resolved: ResolutionOut | None = Field(
        description="Set when the text gives the date relatively and it was resolved from an anchor; null when written out."
    )


class TimelineResponse(BaseModel):
    """The events, in date order."""

    events: list[EventOut]
