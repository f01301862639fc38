"""The articles: list and read them; write and delete them with the API token (the corpus folder follows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.convertors import Convertor, register_url_convertor

from qa.api.deps import ArticleIdDep, EngineDep, WritableEngineDep, WriterDep
from qa.api.schemas import ArticleOut, ArticleSummaryOut, ArticleWrite, ErrorResponse, ValidationErrorResponse
from qa.core.errors import NotFoundError
from qa.core.types import Article
from qa.index.store import ArticleSummary
from qa.ingest import build_article

router = APIRouter(prefix="/articles", tags=["articles"])


class _WholeSegment(Convertor[str]):
    """Like Starlette's "path" convertor, newlines included: every id, however malformed, reaches the check."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("whole", _WholeSegment())

# The id is captured whole (slashes and control characters included) so that every malformed id, "../x"
# or "a/b", is answered by the id check with 422 rather than by the router; it never reaches a file unchecked.
ITEM = "/{article_id:whole}"

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No article with this id."}}
_BAD_ID: dict[int | str, dict[str, Any]] = {422: {"model": ValidationErrorResponse, "description": "Invalid article id or body."}}
_WRITE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not UTF-8."},
    401: {"model": ErrorResponse, "description": "Missing or wrong `Authorization: Bearer <QA_API_TOKEN>`."},
    403: {"model": ErrorResponse, "description": "The server has no QA_API_TOKEN: writes are disabled."},
    409: {
        "model": ErrorResponse,
        "description": "The index is busy with another writer (try again), or the id is held by another corpus file "
        "or record: the detail names it.",
    },
    413: {"model": ErrorResponse, "description": "The body is over the size limit."},
    503: {"model": ErrorResponse, "description": "The service is starting: retry after `Retry-After` seconds."},
    507: {"model": ErrorResponse, "description": "The disk is full (or cannot be written): nothing was changed."},
}


def _summary(s: ArticleSummary) -> ArticleSummaryOut:
    return ArticleSummaryOut(id=s.id, title=s.title, date=s.date, url=s.url, chunks=s.chunks)


def _full(article: Article, chunks: int) -> ArticleOut:
    a = article
    return ArticleOut(id=a.id, title=a.title, date=a.date, url=a.url, chunks=chunks, text=a.text)


@router.get("", response_model=list[ArticleSummaryOut], summary="List the articles")
def list_articles(
    engine: EngineDep,
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="At most this many (default: all).")] = None,
    offset: Annotated[int, Query(ge=0, description="Skip this many first (newest first, then by id).")] = 0,
) -> list[ArticleSummaryOut]:
    """Every article in the index, newest first, without its text."""
    rows = engine.list_articles()
    rows = rows[offset:] if limit is None else rows[offset : offset + limit]
    return [_summary(s) for s in rows]


@router.get(ITEM, response_model=ArticleOut, summary="Read one article", responses={**_NOT_FOUND, **_BAD_ID})
def get_article(article_id: ArticleIdDep, engine: EngineDep) -> ArticleOut:
    """The article with its full text: citation offsets index into `text`."""
    article, chunks = engine.get_article(article_id)
    return _full(article, chunks)


@router.put(
    ITEM,
    response_model=ArticleOut,
    summary="Create or replace an article",
    dependencies=[WriterDep],
    responses={
        200: {"description": "The article replaced one with the same id; it is indexed."},
        201: {"model": ArticleOut, "description": "The article is new; it is indexed."},
        **_BAD_ID,
        **_WRITE,
    },
)
def put_article(article_id: ArticleIdDep, body: ArticleWrite, engine: WritableEngineDep, response: Response) -> ArticleOut:
    """Store the article in the corpus folder (as `<id>.md`) and index it before answering, so that
    `POST /ask` can cite it at once; it survives restarts and later `qa index` runs. Needs the token."""
    article = build_article(article_id, body.text, title=body.title, date=body.date, url=body.url)
    created = engine.put_article(article)
    response.status_code = 201 if created else 200
    try:
        stored, chunks = engine.get_article(article_id)
    except NotFoundError:  # deleted by a concurrent request in between: this write still succeeded
        stored, chunks = article, 0
    return _full(stored, chunks)


@router.delete(
    ITEM,
    status_code=204,
    response_class=Response,
    summary="Delete an article",
    dependencies=[WriterDep],
    responses={**_NOT_FOUND, **_BAD_ID, **_WRITE},
)
def delete_article(article_id: ArticleIdDep, engine: WritableEngineDep) -> Response:
    """Remove the article from the corpus folder and from the index: `POST /ask` never cites it again."""
    engine.delete_article(article_id)
    return Response(status_code=204)
