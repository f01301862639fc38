"""The `qa` command: each subcommand parses its flags, calls one core function and prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from qa.core.config import Settings
from qa.core.errors import QAError
from qa.core.limits import DEFAULT_K, DEFAULT_TIMELINE, MAX_K, MAX_TIMELINE

F = TypeVar("F", bound=Callable[..., Any])

corpus_option = click.option("--corpus", type=click.Path(path_type=Path), help="Corpus folder [env QA_CORPUS_DIR; ./corpus].")
index_option = click.option("--index", type=click.Path(path_type=Path), help="Index folder [env QA_INDEX_DIR; ./index].")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def _settings(**overrides: object) -> Settings:
    try:
        return Settings().with_overrides(**overrides)
    except Exception as exc:  # pydantic's ValidationError: a bad QA_* variable
        raise QAError(f"invalid QA_* environment setting: {' '.join(str(exc).split())}") from None


def _print_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa")
def cli() -> None:
    """Ask questions of a news archive and get answers cited to the exact passage."""


@cli.command()
@corpus_option
@index_option
@json_option
@click.option("--rebuild", is_flag=True, help="Drop the index and embed everything again (e.g. after changing QA_MODEL).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Embed the new passages on this Ray cluster (HOST:PORT), one model per node (see the README).",
)
def index(corpus: Path | None, index: Path | None, as_json: bool, rebuild: bool, quiet: bool, ray_address: str | None) -> None:
    """Bring the index in line with the corpus folder (only new and changed articles are embedded).

    Exit status: 0 when every file was indexed, 1 on an error that stopped indexing,
    3 when indexing completed but some files were skipped (each is listed with its reason).
    """
    from qa.engine import load_model, open_backend
    from qa.index.sync import sync_corpus

    settings = _settings(corpus_dir=corpus, index_dir=index)
    if not settings.corpus_dir.is_dir():
        raise QAError(f"corpus folder {settings.corpus_dir} does not exist")
    encoder = load_model(settings, progress=not quiet)
    embed_first = None
    if ray_address:
        import functools

        from qa.core.model import stamp_of
        from qa.index.ray_embed import ModelSpec, embed_on_ray

        # Each node runs the model as this process would: its name, runtime and cache folder (provisioned there).
        spec = ModelSpec(settings.model, str(settings.cache_dir), settings.runtime, settings.threads or 1, stamp_of(encoder))
        embed_first = functools.partial(embed_on_ray, ray_address, spec=spec, progress=not quiet)
    report = sync_corpus(
        settings.corpus_dir,
        open_backend(settings),
        encoder,
        lock_timeout=settings.lock_timeout,
        progress=not quiet,
        rebuild=rebuild,
        outside_links=settings.outside_links,
        embed_first=embed_first,
    )
    if as_json:
        _print_json(report.to_dict())
    else:
        click.echo(
            f"{report.added} added, {report.updated} updated, {report.removed} removed, {report.unchanged} unchanged; "
            f"{report.chunks_embedded} chunks embedded; {len(report.errors)} files skipped"
        )
        for err in report.errors:
            click.echo(f"skipped {err.file}: {err.error}", err=True)
    if report.errors:
        sys.exit(3)


@cli.command()
@index_option
@click.option("--k", type=click.IntRange(1, MAX_K), default=DEFAULT_K, show_default=True, help="Passages to cite.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@click.option("--from", "date_from", metavar="YYYY[-MM[-DD]]", help="Cite only passages about this period (its first day).")
@click.option("--to", "date_to", metavar="YYYY[-MM[-DD]]", help="The period's last day.")
@click.option("--generate", is_flag=True, help="Also write the answer in the question's language with the LLM of QA_LLM.")
@json_option
@click.argument("question")
def ask(
    index: Path | None,
    k: int,
    mode: str,
    date_from: str | None,
    date_to: str | None,
    generate: bool,
    as_json: bool,
    question: str,
) -> None:
    """Answer QUESTION from the index, with cited passages."""
    from qa.engine import Engine, check_question
    from qa.render import answer_to_dict, answer_to_text
    from qa.text.dates import parse_period

    settings = _settings(index_dir=index)
    check_question(question, k)
    parse_period(date_from, date_to)  # said before the model loads
    engine = Engine.open(settings, progress=True)
    answer = engine.ask(question, k, mode=mode, date_from=date_from, date_to=date_to)  # type: ignore[arg-type]
    reply = answer_to_dict(answer)
    if not generate:
        click.echo(json.dumps(reply, ensure_ascii=False, indent=2) if as_json else answer_to_text(answer))
        return
    if not as_json:
        click.echo(answer_to_text(answer) + "\n")
    _generate(settings, engine, answer, reply, as_json)


def _generate(settings: Settings, engine: Any, answer: Any, reply: dict[str, object], as_json: bool) -> None:
    """`qa ask --generate`: the reply as the LLM writes it on standard error (when it is a terminal), then the
    checked answer."""
    from qa.generation.generate import generation, open_generator, outcome_of
    from qa.render import generated_to_dict, generated_to_text

    generator = open_generator(settings, progress=True)
    live = sys.stderr.isatty() and not as_json
    echo = (lambda piece: click.echo(piece, nl=False, err=True)) if live else None
    outcome = outcome_of(generation(generator, answer, engine.support()), echo)
    if live and generator is not None:
        click.echo("", err=True)
    if as_json:
        _print_json({**reply, **generated_to_dict(outcome.generated, outcome.because)})
    else:
        click.echo(generated_to_text(outcome.generated, outcome.because))


@cli.command()
@index_option
@click.option("--from", "date_from", metavar="YYYY[-MM[-DD]]", help="First day of the period (event dates).")
@click.option("--to", "date_to", metavar="YYYY[-MM[-DD]]", help="Last day of the period (event dates).")
@click.option("--limit", type=click.IntRange(1, MAX_TIMELINE), default=DEFAULT_TIMELINE, show_default=True)
@json_option
@click.argument("query", required=False)
def timeline(
    index: Path | None, date_from: str | None, date_to: str | None, limit: int, as_json: bool, query: str | None
) -> None:
    """The events the archive reports, in date order, each dated by the text (not the publication) and cited
    to its sentence; with QUERY, only those about it. Needs no model."""
    from qa.engine import open_backend
    from qa.render import event_to_dict, timeline_to_text
    from qa.text.dates import parse_period
    from qa.timeline.events import index_events, select_events

    settings = _settings(index_dir=index)
    parse_period(date_from, date_to)  # a bad period is said before any reading
    chosen = select_events(index_events(open_backend(settings)), query=query, date_from=date_from, date_to=date_to, limit=limit)
    if as_json:
        _print_json({"events": [event_to_dict(e) for e in chosen]})
    else:
        click.echo(timeline_to_text(chosen))


@cli.command()
@corpus_option
@index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
def serve(corpus: Path | None, index: Path | None, host: str, port: int) -> None:
    """Start the HTTP service and its web page (indexes the corpus first if there is no index)."""
    from qa.api.serve import serve as run_server

    run_server(_settings(corpus_dir=corpus, index_dir=index), host=host, port=port)


@cli.command(name="eval")
@index_option
@click.option("--gold", type=click.Path(path_type=Path), help="Gold questions (JSON lines) [eval/gold.jsonl].")
@click.option(
    "--timeline",
    "timeline_gold",
    type=click.Path(path_type=Path),
    help="Instead, score the timeline against this gold timeline (e.g. eval/timeline_seeds.jsonl).",
)
@click.option(
    "--generate", is_flag=True, help="Also generate answers with QA_LLM's model and score them (eval/reports/<gold>-generate.*)."
)
@json_option
def eval_(index: Path | None, gold: Path | None, timeline_gold: Path | None, generate: bool, as_json: bool) -> None:
    """Run the gold questions and print retrieval, answer and latency metrics (or, with --timeline, the
    timeline's date and event precision, recall and F1)."""
    from qa.evaluation.cli import run_eval_command, run_timeline_eval

    if timeline_gold is not None:
        run_timeline_eval(_settings(index_dir=index), timeline_gold, as_json=as_json)
        return

    run_eval_command(_settings(index_dir=index), gold=gold, as_json=as_json, generate=generate)


@cli.command()
@json_option
def model(as_json: bool) -> None:
    """Make sure the embedding model is on this machine (provisioning it if not) and show it."""
    from qa.answering.span_reader import base_folder, span_reader_fitted
    from qa.engine import load_model, span_cache

    settings = _settings()
    info = load_model(settings, progress=True).info
    if span_cache(settings) is not None and span_reader_fitted():
        # The short answer's reader runs over another base model: provisioned now too, not at the first question.
        base_folder(settings.cache_dir, progress=True)
    if as_json:
        _print_json(
            {
                "name": info.name,
                "path": info.path,
                "dim": info.dim,
                "fingerprint": info.fingerprint,
                "runtime": info.runtime,
                "device": info.device,
            }
        )
    else:
        click.echo(
            f"{info.name}\n  path: {info.path}\n  dim: {info.dim}\n  fingerprint: {info.fingerprint}\n"
            f"  runtime: {info.runtime} on {info.device}"
        )


def main() -> None:
    """Entry point: user mistakes become one line on standard error, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except QAError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
