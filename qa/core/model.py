"""Model identity: what an index records of the model that embedded it, and what the stages ask of an encoder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class ModelStamp:
    """The embedding model an index is bound to: two models with one stamp give the same vectors."""

    name: str
    dim: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ModelInfo(ModelStamp):
    """A loaded model's stamp and the folder (or hub name) it was loaded from."""

    path: str = ""
    runtime: str = "torch"  # or "openvino-int8": what runs the forward pass
    device: str = "cpu"


class Encoder(Protocol):
    """What indexing needs of an embedding model."""

    @property
    def info(self) -> ModelStamp: ...

    def embed_passages(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False
    ) -> NDArray[np.float32]: ...


class QueryEncoder(Encoder, Protocol):
    """What answering needs of an embedding model, on top of what indexing needs."""

    def embed_queries(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def stamp_of(encoder: Encoder) -> ModelStamp:
    """The stamp an index records for the model that embeds into it."""
    info = encoder.info
    return ModelStamp(info.name, info.dim, info.fingerprint)
