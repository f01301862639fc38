"""Fine-tunes the span reader (multilingual-e5-small with LoRA adapters and a start/end head) on PIAF, and writes
what the product loads: qa/answering/params/span-reader/ (or --out).

Questions come from the pages of PIAF's dev half that qa.evaluation.piaf.fit_split puts in "train"; its
"calibrate" pages score each epoch; the test half, where the test sample is drawn, is never read. Each example
is what the product gives the reader: the question and a window of the paragraph, the sentence that holds the
answer with a neighbour either side half the time; one question in two also gets a window of its paragraph
that does not hold the answer, whose target is "no answer" (the first token). Seeded: rerun it to get the
same files (on the same torch build and thread count). The adapters are saved after each epoch.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.core.config import Settings
from qa.evaluation.metrics import span_f1
from qa.evaluation.piaf import PIAF_PATH, PiafQuestion, fit_split, load_piaf
from qa.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Example:
    """One training or scoring example: a question, a window of text, and the answer's offsets in it (or none)."""

    question: str
    context: str
    answers: tuple[tuple[int, int], ...]  # (start, end) in context; empty: the window does not answer


def windows(q: PiafQuestion, text: str, rng: random.Random, negative: bool) -> list[Example]:
    """The answer's window, and one window of the same paragraph without the answer when `negative`."""
    spans = split_sentences(text)
    start = q.answers[0][1]
    end = start + len(q.answers[0][0])
    hit = [i for i, s in enumerate(spans) if s.start < end and s.end > start]
    if not hit:
        return []
    lo, hi = hit[0], hit[-1]
    if rng.random() < 0.5:
        lo, hi = max(0, lo - rng.randint(0, 1)), min(len(spans) - 1, hi + rng.randint(0, 1))
    w0, w1 = spans[lo].start, spans[hi].end
    answers = tuple((a - w0, a - w0 + len(t)) for t, a in q.answers if a >= w0 and a + len(t) <= w1 and text[a : a + len(t)] == t)
    out = [Example(q.question, text[w0:w1], answers)] if answers else []
    if negative:
        free = [s for s in spans if all(not (s.start < a + len(t) and s.end > a) for t, a in q.answers)]
        if free:
            s = rng.choice(free)
            out.append(Example(q.question, text[s.start : s.end], ()))
    return out


def examples(questions: Sequence[PiafQuestion], texts: dict[str, str], seed: int, negatives: bool) -> list[Example]:
    rng = random.Random(seed)
    out: list[Example] = []
    for i, q in enumerate(questions):
        out.extend(windows(q, texts[q.paragraph_id], rng, negatives and i % 2 == 0))
    return out


def encode(tokenizer, batch: Sequence[Example], max_length: int):  # type: ignore[no-untyped-def]
    """Token ids and the start/end token of each answer (0, 0: no answer, or one cut off by the length)."""
    import torch

    enc = tokenizer(
        [e.question for e in batch],
        [e.context for e in batch],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    starts, ends = [], []
    for b, e in enumerate(batch):
        seq = enc.sequence_ids(b)
        offsets = enc["offset_mapping"][b].tolist()
        s_tok = e_tok = 0
        if e.answers:
            a0, a1 = e.answers[0]
            inside = [i for i, sid in enumerate(seq) if sid == 1]
            first = next((i for i in inside if offsets[i][1] > a0), None)
            last = next((i for i in reversed(inside) if offsets[i][0] < a1), None)
            if first is not None and last is not None and first <= last and offsets[last][1] >= a1:
                s_tok, e_tok = first, last
        starts.append(s_tok)
        ends.append(e_tok)
    enc.pop("offset_mapping")
    return enc, torch.tensor(starts), torch.tensor(ends)


def score(reader, batch_size: int, data: Sequence[Example]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Span F1 on the answering windows, and how often a window without the answer is read as none."""
    from qa.answering.span_reader import null_margin_auc

    f1s, margins, labels = [], [], []
    for i in range(0, len(data), batch_size):
        batch = data[i : i + batch_size]
        for e, found in zip(batch, reader.read([e.question for e in batch], [e.context for e in batch]), strict=True):
            if e.answers:
                f1s.append(span_f1(e.context[found.start : found.end], [e.context[a:b] for a, b in e.answers]))
            margins.append(found.margin)
            labels.append(bool(e.answers))
    return {"span_f1": sum(f1s) / max(1, len(f1s)), "answers": len(f1s), "no_answer_auc": null_margin_auc(margins, labels)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--piaf", type=Path, default=PIAF_PATH, help="PIAF SQuAD-format file [%(default)s]")
    ap.add_argument("--out", type=Path, default=None, help="where to write the reader [qa/answering/params/span-reader]")
    ap.add_argument("--limit", type=int, default=0, help="only this many training and scoring questions (a smoke run)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--rank", type=int, default=16, help="LoRA rank [%(default)s]")
    ap.add_argument("--max-length", type=int, default=192, help="tokens of question and window [%(default)s]")
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args(argv)

    import torch
    from peft import LoraConfig, get_peft_model
    from tqdm import tqdm
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    from qa.answering.span_reader import DEFAULT_DIR, SpanReader, base_folder, save_reader

    out: Path = args.out or DEFAULT_DIR
    torch.manual_seed(args.seed)
    piaf = load_piaf(args.piaf)
    texts = {p.id: p.text for p in piaf.paragraphs}
    train_q = [q for q in piaf.questions if fit_split(q.title) == "train"]
    calib_q = [q for q in piaf.questions if fit_split(q.title) == "calibrate"]
    if args.limit:
        train_q, calib_q = train_q[: args.limit], calib_q[: args.limit]
    train = examples(train_q, texts, args.seed, negatives=True)
    calib = examples(calib_q, texts, args.seed + 1, negatives=True)
    print(f"{len(train)} training windows from {len(train_q)} questions, {len(calib)} calibration windows", file=sys.stderr)

    base = base_folder(Settings().cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    config = LoraConfig(
        r=args.rank,
        lora_alpha=2 * args.rank,
        lora_dropout=0.1,
        target_modules=["query", "key", "value", "dense"],
        modules_to_save=["qa_outputs"],
    )
    model = get_peft_model(model, config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch_size - 1) // args.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)
    rng = random.Random(args.seed)
    history = []
    started = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        model.train()
        # Batches of similar length waste less padding; their order is shuffled.
        order = sorted(range(len(train)), key=lambda i: (len(train[i].context) + len(train[i].question), rng.random()))
        batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]
        rng.shuffle(batches)
        total = 0.0
        bar = tqdm(batches, desc=f"epoch {epoch}/{args.epochs}", unit="batch", file=sys.stderr)
        for n, idx in enumerate(bar, start=1):
            enc, starts, ends = encode(tokenizer, [train[i] for i in idx], args.max_length)
            loss = model(**enc, start_positions=starts, end_positions=ends).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += loss.item()
            bar.set_postfix(loss=f"{total / n:.3f}")
        model.eval()
        meta = {
            "seed": args.seed,
            "epochs_done": epoch,
            "lr": args.lr,
            "rank": args.rank,
            "batch_size": args.batch_size,
            "train_questions": len(train_q),
            "train_windows": len(train),
            "calibration_windows": len(calib),
        }
        save_reader(model, tokenizer, out, args.max_length, meta)
        with torch.no_grad():
            figures = score(SpanReader.load(out, Settings().cache_dir), 32, calib)
        minutes = (time.monotonic() - started) / 60
        history.append({"epoch": epoch, "loss": total / max(1, len(batches)), **figures, "minutes": minutes})
        print(json.dumps(history[-1]), file=sys.stderr)
        save_reader(model, tokenizer, out, args.max_length, {**meta, "calibration": figures, "history": history})
    print(f"span reader written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
