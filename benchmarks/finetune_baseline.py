"""The passage baseline a researcher writes first: one plain fine-tune per gold head and corpus.

For each head that a corpus labels by hand (EPITOME's three empathy mechanisms, AnnoMI's
therapist behaviour and client talk, ESConv's support strategy, and every head of the labeled
note passages), the pinned all-MiniLM-L6-v2 is fine-tuned on its own, all layers, as
``AutoModelForSequenceClassification`` on the passage text alone: plain AdamW, a fixed number
of epochs, no schedule, no weak labels, no other corpus. It trains on that corpus's train split
and is scored on the held-out split ``alliance evaluate --split heldout`` scores (validation +
test groups), beside the shipped model and a TF-IDF + logistic regression fitted on the same
train rows. Macro-F1 comes with 95% intervals that resample whole groups (conversations,
posts, notes).

Prints a table and writes JSON (``--out``; ``alliance evaluate --finetune-baseline FILE`` shows it
beside the model). About 40 minutes on 2 CPU cores for all 14 tasks (measured: 39 min 22 s
wall, 35 min 31 s of it fine-tuning; ESConv's strategy alone 14 min); ``--tasks`` and
``--max-train`` give a quicker look. Not run in CI.

Usage: python benchmarks/finetune_baseline.py --data ../shared/data
       [--notes data/fixtures/note_passages.jsonl] [--tasks epitome:exploration ...]
       [--epochs 4] [--lr 5e-5] [--batch-size 32] [--max-length 128] [--max-train N]
       [--model models/default] [--out benchmarks/results/finetune_baseline.json]
       [--attach models/default] [--from RESULTS.json]   (record it in the model card)
       [--from RESULTS.json --rescore --model DIR --out FILE]   (a new model's column only)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the encoder is a local folder; never download

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.model.encoder import bf16_supported, resolve_encoder_path  # noqa: E402
from pipeline.model.heads import HEAD_BY_NAME  # noqa: E402
from pipeline.training.corpora import read_corpora  # noqa: E402
from pipeline.training.data import read_labeled_file  # noqa: E402
from pipeline.training.evaluate import f1_text, scored_f1, tfidf_baseline  # noqa: E402
from pipeline.training.labels import load_labels  # noqa: E402
from pipeline.training.model_card import attach_finetune_baseline  # noqa: E402
from pipeline.training.records import LabeledPassage, scorer_inputs, split_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTES = (ROOT / "data/fixtures/note_passages.jsonl", ROOT / "data/fixtures/strain_passages.jsonl")
# The heads each corpus labels by hand (weak labels mapped from other schemes are left out).
CORPUS_TASKS = (
    ("epitome", "emotional_reaction"),
    ("epitome", "interpretation"),
    ("epitome", "exploration"),
    ("annomi", "mi_behaviour"),
    ("annomi", "client_talk"),
    ("esconv", "support_strategy"),
)
HELD_OUT = ("validation", "test")


def tasks_of(passages: list[LabeledPassage]) -> list[tuple[str, str]]:
    """The corpus tasks, then every head the labeled note passages carry."""
    note_heads = sorted({h for p in passages if p.source == "notes" for h in p.labels})
    return [*CORPUS_TASKS, *(("notes", head) for head in note_heads)]


def rows_for(passages, source: str, head: str, splits: tuple[str, ...]) -> list[LabeledPassage]:
    return [
        p for p in passages if p.source == source and head in p.labels and split_for(p) in splits
    ]


def cap(rows: list[LabeledPassage], limit: int | None, seed: int) -> list[LabeledPassage]:
    """At most ``limit`` rows, drawn at random (all of them without a limit)."""
    if limit is None or len(rows) <= limit:
        return rows
    keep = np.random.default_rng(seed).choice(len(rows), size=limit, replace=False)
    return [rows[i] for i in sorted(keep)]


def fine_tune(
    encoder_path: Path,
    texts: list[str],
    labels: list[int],
    n_classes: int,
    args: argparse.Namespace,
) -> tuple[object, object, float]:
    """Fine-tune every layer of the encoder with a new linear head; (model, tokenizer, seconds)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(encoder_path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        encoder_path, num_labels=n_classes, local_files_only=True, use_safetensors=True
    )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    autocast = bf16_supported(device) and not args.no_bf16
    target = torch.tensor(labels)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    for _ in range(args.epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            inputs = tokenizer(
                [texts[i] for i in batch],
                truncation=True,
                max_length=args.max_length,
                padding=True,
                return_tensors="pt",
            ).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(**inputs).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), target[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval(), tokenizer, time.perf_counter() - started


@torch.inference_mode()
def predict(model, tokenizer, texts: list[str], args: argparse.Namespace) -> np.ndarray:
    """Class indices of ``texts``, in order."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(texts), 128):
        inputs = tokenizer(
            texts[start : start + 128],
            truncation=True,
            max_length=args.max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        out.append(model(**inputs).logits.float().argmax(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=int)


class ShippedScores:
    """The shipped model's outputs on every held-out passage of a source, scored once per source
    with all its passages (a window model then reads whole conversations, as in use)."""

    def __init__(self, passages: list[LabeledPassage], model):
        self.passages = passages
        self.model = model
        self._by_source: dict[str, dict[int, int]] = {}
        self._probabilities: dict[str, dict] = {}

    def predicted(self, source: str, head: str, held: list[LabeledPassage]) -> np.ndarray | None:
        """Class indices of ``held`` (rows of ``source``) for ``head``, or None if no head."""
        if source not in self._by_source:
            rows = [p for p in self.passages if p.source == source and split_for(p) in HELD_OUT]
            self._by_source[source] = {id(p): i for i, p in enumerate(rows)}
            self._probabilities[source] = self.model.scorer.predict_proba(*scorer_inputs(rows))
        probabilities = self._probabilities[source].get(head)
        if probabilities is None:
            return None
        index = self._by_source[source]
        return probabilities[[index[id(p)] for p in held]].argmax(1)

    def entry(self, source: str, head: str) -> dict | None:
        held = rows_for(self.passages, source, head, HELD_OUT)
        predicted = self.predicted(source, head, held)
        if predicted is None or not held:
            return None
        truth = np.array([p.labels[head] for p in held])
        return scored_f1(truth, predicted, [p.group for p in held])


def run_task(passages, source, head, shipped, encoder_path, args) -> dict | None:
    """The three readers of one (corpus, head) on the same held-out rows."""
    train = cap(rows_for(passages, source, head, ("train",)), args.max_train, args.seed)
    held = rows_for(passages, source, head, HELD_OUT)
    if len({p.labels[head] for p in train}) < 2 or not held:
        return None
    n_classes = len(HEAD_BY_NAME[head].classes)
    truth = np.array([p.labels[head] for p in held])
    groups = [p.group for p in held]
    texts = [p.text for p in held]
    model, tokenizer, seconds = fine_tune(
        encoder_path, [p.text for p in train], [p.labels[head] for p in train], n_classes, args
    )
    plain = predict(model, tokenizer, texts, args)
    tfidf = tfidf_baseline([p.text for p in train], [p.labels for p in train], texts)[head]
    entry = {
        "n_train": len(train),
        "n_held_out": len(held),
        "train_seconds": round(seconds, 1),
        "plain_finetune": scored_f1(truth, plain, groups),
        "tfidf": scored_f1(truth, tfidf.argmax(1), groups),
    }
    if shipped is not None and (scores := shipped.entry(source, head)) is not None:
        entry["shipped"] = scores
    return entry


READERS = ("shipped", "plain_finetune", "tfidf")


def held_out_passages(args: argparse.Namespace) -> list[LabeledPassage]:
    """Every corpus passage and the labeled note passages, in reading order."""
    labels = load_labels()
    passages = read_corpora(args.data, labels=labels)
    for path in args.notes or NOTES:
        passages += read_labeled_file(path, labels)
    return passages


def mean_scores(results: dict) -> dict:
    """Mean macro-F1 of each reader over the tasks (a reader missing from one is left out)."""
    return {
        reader: round(float(np.mean([r[reader]["macro_f1"] for r in results.values()])), 4)
        for reader in READERS
        if results and all(reader in r for r in results.values())
    }


def add_ratio(report: dict) -> None:
    means = report["mean_macro_f1"]
    if "shipped" in means and means.get("plain_finetune"):
        report["shipped_over_plain_finetune"] = round(means["shipped"] / means["plain_finetune"], 3)


def rescored(report: dict, args: argparse.Namespace) -> dict:
    """``report`` with its shipped column scored afresh by ``args.model``."""
    from pipeline.sessions.alliance_model import AllianceModel

    model = AllianceModel.load(args.model, load_config().encoder)
    shipped = ShippedScores(held_out_passages(args), model)
    for name, entry in report["tasks"].items():
        source, head = name.split(":", 1)
        scores = shipped.entry(source, head)
        if scores is None:
            entry.pop("shipped", None)
        else:
            entry["shipped"] = scores
    report["model"], report["model_version"] = str(args.model), model.manifest.get("version")
    report["mean_macro_f1"] = mean_scores(report["tasks"])
    add_ratio(report)
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="public corpora folder")
    parser.add_argument("--notes", type=Path, action="append", help="labeled note passages")
    parser.add_argument("--tasks", nargs="*", help="corpus:head pairs (default: every task)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-train", type=int, help="cap on training rows per task")
    parser.add_argument("--model", type=Path, default=ROOT / "models/default")
    parser.add_argument("--no-shipped", action="store_true", help="skip the shipped model")
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--attach",
        type=Path,
        help="record the results in this model folder's manifest and model card (the model "
        "they scored)",
    )
    parser.add_argument(
        "--from", dest="results", type=Path, help="an earlier results JSON: attach it, no run"
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="with --from: score --model afresh for the shipped column (no fine-tuning; the "
        "plain fine-tune and TF-IDF columns are kept: they do not depend on the model)",
    )
    args = parser.parse_args(argv)
    if args.results:
        report = json.loads(args.results.read_text(encoding="utf-8"))
        if args.rescore:
            report = rescored(report, args)
        if args.out:
            args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        if args.attach:
            attach_finetune_baseline(args.attach, report)
        print(json.dumps(report["mean_macro_f1"]))
        return report
    if args.threads:
        torch.set_num_threads(args.threads)
    from rich.console import Console
    from rich.table import Table

    from pipeline.sessions.alliance_model import AllianceModel

    config = load_config()
    passages = held_out_passages(args)
    encoder_path = resolve_encoder_path(config.encoder)  # sha256-verified, as in training
    shipped = (
        None
        if args.no_shipped
        else ShippedScores(passages, AllianceModel.load(args.model, config.encoder))
    )
    wanted = [tuple(t.split(":", 1)) for t in args.tasks] if args.tasks else tasks_of(passages)
    results = {}
    console = Console(stderr=True)
    for source, head in wanted:
        console.log(f"{source}:{head} ...")
        entry = run_task(passages, source, head, shipped, encoder_path, args)
        if entry is not None:
            results[f"{source}:{head}"] = entry
            console.log(f"{source}:{head} {json.dumps(entry)}")
    means = mean_scores(results)
    report = {
        "machine": {
            "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(),
            "platform": platform.platform(),
        },
        "recipe": {
            "epochs": args.epochs,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "max_train": args.max_train,
            "input": "passage text alone",
        },
        "model": str(args.model) if shipped is not None else None,
        "model_version": shipped.model.manifest.get("version") if shipped is not None else None,
        "held_out": "validation + test groups",
        "tasks": results,
        "mean_macro_f1": means,
        "train_seconds_total": round(sum(r["train_seconds"] for r in results.values()), 1),
    }
    add_ratio(report)
    table = Table(title="held-out macro-F1 [95%]: shipped model, plain fine-tune, TF-IDF")
    for column in ("task", "n train", "n held out", *READERS, "train s"):
        table.add_column(column)
    for name, r in results.items():
        cells = [f1_text(r.get(x)) for x in READERS]
        table.add_row(
            name, str(r["n_train"]), str(r["n_held_out"]), *cells, str(r["train_seconds"])
        )
    console.print(table)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    if args.attach:
        attach_finetune_baseline(args.attach, report)
    return report


if __name__ == "__main__":
    main()
