"""Probe for issue #17: how far a small span head over the embedding model's frozen token states reads PIAF.

The product cannot run a cross-encoding reader per question within its latency bound (a passage's forward pass
costs more than the whole question's embedding on these cores), but it could store token states at index time
and run a small head over them. This measures whether such a head is worth building, before any storage is.

Token states (the model's last hidden states, before pooling: Encoder.token_states) come from the default int8
runtime, for the
paragraphs and questions of PIAF's dev half (qa.evaluation.piaf.fit_split: 7 pages in 10 train, 3 calibrate;
the test half is never read). They are cached in eval/cache/span-head-states.npz. The head: both sides through
LayerNorm and a 128-d projection, question-to-passage attention, three convolutions, start/end and a no-answer
logit (BiDAF-like, ~0.5 M parameters), trained with the gold paragraph and one other paragraph of the same page
(no answer). Reported on the calibration questions, with the gold paragraph given: SQuAD-style F1 of the span,
the share whose predicted span's sentence holds a gold answer, and no-answer recall at 3% wrong abstentions.
Seeded; writes eval/reports/probe_span_head.json.
"""

from __future__ import annotations

import argparse
import collections
import random
import string
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import save_report

from qa.core.config import Settings
from qa.engine import load_model
from qa.evaluation.piaf import PiafQuestion, fit_split, load_piaf

STATES = Path(__file__).resolve().parent / "cache" / "span-head-states.npz"
ARTICLES = {"le", "la", "les", "l", "un", "une", "des", "du", "de", "d"}


def token_states(questions: list[PiafQuestion], texts: dict[str, str]) -> dict[str, np.ndarray]:
    """Per paragraph p:ID (token states, fp16) and o:ID (their character offsets); per question q:ID."""
    if STATES.exists():
        with np.load(STATES) as data:
            return {k: data[k] for k in data.files}
    encoder = load_model(Settings(), progress=True)
    out: dict[str, np.ndarray] = {}
    pids = sorted({q.paragraph_id for q in questions})
    for pid, (hidden, offsets) in zip(pids, encoder.token_states([texts[p] for p in pids], progress=True), strict=True):
        out[f"p:{pid}"], out[f"o:{pid}"] = hidden.astype(np.float16), offsets.astype(np.int32)
    asked = encoder.token_states([q.question for q in questions], query=True, batch_size=32, progress=True)
    for q, (hidden, _) in zip(questions, asked, strict=True):
        out[f"q:{q.id}"] = hidden.astype(np.float16)
    STATES.parent.mkdir(parents=True, exist_ok=True)
    np.savez(STATES, **out)  # type: ignore[arg-type]
    return out


def words(text: str) -> list[str]:
    text = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    text = "".join(" " if c in string.punctuation + "«»’" else c for c in text)
    return [w for w in text.split() if w not in ARTICLES]


def f1(predicted: str, gold: str) -> float:
    p, g = words(predicted), words(gold)
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def sentence_around(text: str, start: int, end: int) -> str:
    before = max(text.rfind(t, 0, start) for t in (". ", "? ", "! "))
    after = [i for i in (text.find(t, end) for t in (". ", "? ", "! ")) if i >= 0]
    return text[0 if before < 0 else before + 2 : min(after) + 1 if after else len(text)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    rng = random.Random(0)
    piaf = load_piaf()
    texts = {p.id: p.text for p in piaf.paragraphs}
    questions = [q for q in piaf.questions if fit_split(q.title)]
    states = token_states(questions, texts)
    pages: dict[str, set[str]] = collections.defaultdict(set)
    for q in questions:
        pages[q.title].add(q.paragraph_id)

    def tensor(key: str) -> Any:
        return torch.from_numpy(states[key].astype(np.float32))

    def target(q: PiafQuestion) -> tuple[int, int] | None:
        offs = states[f"o:{q.paragraph_id}"]
        answer, start = q.answers[0]
        first, last = np.flatnonzero(offs[:, 1] > start), np.flatnonzero(offs[:, 0] < start + len(answer))
        if not len(first) or not len(last) or last[-1] < first[0]:
            return None
        return int(first[0]), int(last[-1])

    d, h = 128, 128

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm_p, self.norm_q = nn.LayerNorm(768), nn.LayerNorm(768)
            self.proj_p, self.proj_q = nn.Linear(768, d), nn.Linear(768, d)
            self.convs = nn.ModuleList(
                [nn.Conv1d(4 * d, h, 5, padding=2), nn.Conv1d(h, h, 5, padding=2), nn.Conv1d(h, h, 5, padding=2)]
            )
            self.start, self.end, self.null = nn.Linear(h, 1), nn.Linear(h, 1), nn.Linear(2 * h, 1)
            self.drop = nn.Dropout(0.15)

        def forward(self, pt: Any, qt: Any) -> tuple[Any, Any, Any]:
            p, q = self.drop(self.proj_p(self.norm_p(pt))), self.drop(self.proj_q(self.norm_q(qt)))
            c = torch.softmax(p @ q.T / d**0.5, dim=1) @ q
            x = torch.cat([p, c, p * c, p * q.mean(0)], 1).T[None]
            for i, conv in enumerate(self.convs):
                x = F.gelu(conv(x)) if i == 0 else x + F.gelu(conv(self.drop(x)))
            x = x[0].T
            return self.start(x)[:, 0], self.end(x)[:, 0], self.null(torch.cat([x.max(0).values, x.mean(0)]))[0]

    def best_span(start: Any, end: Any, longest: int = 30) -> tuple[int, int, float]:
        n = len(start)
        allowed = torch.triu(torch.ones(n, n, dtype=torch.bool)) & ~torch.triu(
            torch.ones(n, n, dtype=torch.bool), diagonal=longest
        )
        scores = (start[:, None] + end[None, :]).masked_fill(~allowed, -1e9)
        k = int(scores.argmax())
        return k // n, k % n, float(scores.max())

    train = [q for q in questions if fit_split(q.title) == "train" and target(q) is not None]
    calibrate = [q for q in questions if fit_split(q.title) == "calibrate"]
    head = Head()
    optimiser = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.01)

    def evaluate() -> dict[str, float]:
        head.eval()
        total_f1 = in_sentence = 0.0
        margins: list[tuple[float, float]] = []
        with torch.no_grad():
            for q in calibrate:
                start, end, null = head(tensor(f"p:{q.paragraph_id}"), tensor(f"q:{q.id}"))
                i, j, score = best_span(start, end)
                offs, text = states[f"o:{q.paragraph_id}"], texts[q.paragraph_id]
                predicted = text[offs[i, 0] : offs[j, 1]]
                total_f1 += max(f1(predicted, a) for a, _ in q.answers)
                sentence = " ".join(words(sentence_around(text, int(offs[i, 0]), int(offs[j, 1]))))
                in_sentence += any(words(a) and " ".join(words(a)) in sentence for a, _ in q.answers)
                others = sorted(pages[q.title] - {q.paragraph_id})
                if others:
                    other = random.Random(q.id).choice(others)
                    s2, e2, n2 = head(tensor(f"p:{other}"), tensor(f"q:{q.id}"))
                    margins.append((score - float(null), best_span(s2, e2)[2] - float(n2)))
        head.train()
        answerable, unanswerable = np.array([a for a, _ in margins]), np.array([b for _, b in margins])
        threshold = np.quantile(answerable, 0.03)  # 3% of answerable questions abstain wrongly
        n = len(calibrate)
        return {
            "f1": round(total_f1 / n, 3),
            "sentence": round(in_sentence / n, 3),
            "no_answer_recall": round(float(np.mean(unanswerable < threshold)), 3),
        }

    epochs = []
    for epoch in range(args.epochs):
        rng.shuffle(train)
        began, total = time.monotonic(), 0.0
        for q in train:
            span = target(q)
            assert span is not None
            start, end, null = head(tensor(f"p:{q.paragraph_id}"), tensor(f"q:{q.id}"))
            loss = F.cross_entropy(torch.cat([null[None], start])[None], torch.tensor([span[0] + 1]))
            loss = loss + F.cross_entropy(torch.cat([null[None], end])[None], torch.tensor([span[1] + 1]))
            others = sorted(pages[q.title] - {q.paragraph_id})
            if others:
                s2, e2, n2 = head(tensor(f"p:{rng.choice(others)}"), tensor(f"q:{q.id}"))
                loss = loss + F.cross_entropy(torch.cat([n2[None], s2])[None], torch.tensor([0]))
                loss = loss + F.cross_entropy(torch.cat([n2[None], e2])[None], torch.tensor([0]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        measured = {
            "epoch": epoch,
            "loss": round(total / len(train), 3),
            "seconds": round(time.monotonic() - began),
            **evaluate(),
        }
        epochs.append(measured)
        print(measured, file=sys.stderr)
    save_report("probe_span_head", {"train": len(train), "calibrate": len(calibrate), "epochs": epochs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
