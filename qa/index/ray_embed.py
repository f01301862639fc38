"""`qa index --ray ADDRESS`: a sync's new passages embedded on a Ray cluster (Ray Data, one model actor per node)."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.core.errors import ModelError, QAError
from qa.core.model import ModelStamp
from qa.core.types import Article
from qa.index.backend import Writer
from qa.index.prepare import VectorRow, embedded_spans, prepared_batches

# The custom resource each node offers its one embedding actor (`ray start --resources='{"qa_embed": 1}'`):
# actors take no CPU of Ray's count, so the tasks that read and split the data keep the CPUs they need.
RESOURCE = "qa_embed"
# Passages sent per Ray Data run: bounds what the driver holds; each run's vectors are stored as they come back.
WINDOW = 20_000
# Passages per actor call: a batch the model sorts by length and pads little.
ACTOR_BATCH = 32


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What each node loads: the same model, runtime and prompts as the writer's, checked by its stamp."""

    name: str
    cache_dir: str
    runtime: str
    threads: int
    stamp: ModelStamp


class EmbedActor:
    """One model per actor (per node): embeds passages with their sentence and window spans."""

    def __init__(self, spec: ModelSpec) -> None:
        from qa.core.model import stamp_of
        from qa.embedding.loading import load_encoder

        self.encoder = load_encoder(spec.name, Path(spec.cache_dir), progress=False, threads=spec.threads, runtime=spec.runtime)  # type: ignore[arg-type]
        got = stamp_of(self.encoder)
        if got != spec.stamp:
            import socket

            raise ModelError(f"the Ray node {socket.gethostname()} embeds with {got}, not the writer's {spec.stamp}")

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        texts = [str(t) for t in batch["text"]]
        spans = [[(int(p[i]), int(p[i + 1])) for i in range(0, len(p), 2)] for p in batch["spans"]]
        with_spans = getattr(self.encoder, "embed_passages_with_spans", None)
        if with_spans is not None:
            vecs, span_vecs = with_spans(texts, spans)
        else:
            vecs, span_vecs = self.encoder.embed_passages(texts), [None] * len(texts)
        import ray.util

        return {
            "node": [ray.util.get_node_ip_address()] * len(texts),  # type: ignore[no-untyped-call]
            "hash": batch["hash"],
            "sentences": batch["sentences"],
            "vec": [np.asarray(v, np.float32).tobytes() for v in vecs],
            "spans": [b"" if s is None else np.asarray(s, np.float32).tobytes() for s in span_vecs],
        }


def _rows(articles: Iterable[Article], writer: Writer) -> Iterator[dict[str, Any]]:
    """The passages of these articles that the index has no vector for, each distinct text once."""
    seen: set[str] = set()
    for batch in prepared_batches(articles):
        chunks = {c.content_hash: c for p in batch for c in p.chunks if c.content_hash not in seen}
        seen.update(chunks)
        for h in writer.missing_vectors(chunks):
            c = chunks[h]
            flat = [x for span in embedded_spans(c) for x in span]
            yield {"hash": h, "text": c.text, "spans": flat, "sentences": len(c.sentences)}


def _vector_rows(batch: dict[str, Any], dim: int) -> list[VectorRow]:
    out: list[VectorRow] = []
    for h, n, vec, spans in zip(batch["hash"], batch["sentences"], batch["vec"], batch["spans"], strict=True):
        v = np.frombuffer(vec, np.float32)
        if not spans:
            out.append((str(h), v, None, None))
            continue
        s = np.frombuffer(spans, np.float32).reshape(-1, dim)
        out.append((str(h), v, s[: int(n)], s[int(n) :]))
    return out


def embed_on_ray(
    address: str,
    articles: Iterable[Article],
    writer: Writer,
    spec: ModelSpec,
    *,
    progress: bool = True,
    per_node: Counter[str] | None = None,
) -> int:
    """Embed the articles' new passages on the cluster at `address`, storing each vector through the writer's
    backend as it comes back; returns how many were embedded (`per_node` counts them by node address). The
    writer then finds them all cached."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise QAError("`qa index --ray` needs the ray extra: pip install -e '.[ray]'") from None
    from tqdm import tqdm

    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise QAError(f"cannot join the Ray cluster at {address}: {exc}") from None
    try:
        actors = int(ray.cluster_resources().get(RESOURCE, 0))  # type: ignore[no-untyped-call]
        if actors < 1:
            raise QAError(
                f"no node of the Ray cluster at {address} offers the {RESOURCE} resource: start each node with "
                f"`ray start ... --resources='{{\"{RESOURCE}\": 1}}'`"
            )
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        # Every node's actor loads its model before any passage is handed out: else the first one ready takes
        # a small window whole while the others are still loading.
        context.wait_for_min_actors_s = 600
        done = 0
        nodes = per_node if per_node is not None else Counter()
        with tqdm(desc="embedding on ray", unit="passage", file=sys.stderr, disable=not progress, dynamic_ncols=True) as bar:
            window: list[dict[str, Any]] = []
            for row in _rows(articles, writer):
                window.append(row)
                if len(window) >= WINDOW:
                    done += _run(ray, window, writer, spec, actors, bar, nodes)
                    window = []
            if window:
                done += _run(ray, window, writer, spec, actors, bar, nodes)
        return done
    finally:
        ray.shutdown()


def _run(
    ray: Any, window: list[dict[str, Any]], writer: Writer, spec: ModelSpec, actors: int, bar: Any, nodes: Counter[str]
) -> int:
    ds = ray.data.from_items(window).map_batches(
        EmbedActor,
        fn_constructor_kwargs={"spec": spec},
        batch_size=ACTOR_BATCH,
        batch_format="numpy",
        # One batch in flight per actor: batches go to the idle actor, not queued behind a busy one.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=0,
        resources={RESOURCE: 1},
    )
    done = 0
    for batch in ds.iter_batches(batch_size=ACTOR_BATCH * actors, batch_format="numpy"):
        rows = _vector_rows(batch, spec.stamp.dim)
        writer.put_vectors(rows)
        nodes.update(str(n) for n in batch["node"])
        done += len(rows)
        bar.update(len(rows))
    return done
