"""``alliance evaluate``: a model's per-head metrics beside a same-run TF-IDF baseline."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import AllianceConfig
from pipeline.training.corpora import read_corpora
from pipeline.training.data import read_labeled_file
from pipeline.training.evaluate import baseline_metrics
from pipeline.training.labels import load_labels
from pipeline.training.records import LabeledPassage, split_for
from pipeline.training.retrain import evaluate_folder

SPLITS = ("validation", "test", "heldout")


def read_any(data: Path) -> list[LabeledPassage]:
    """A corpora folder, a note-passages JSONL, or a converted labeled-passage JSONL."""
    labels = load_labels()
    return read_corpora(data, labels=labels) if data.is_dir() else read_labeled_file(data, labels)


def evaluate_model_on(model: Path, data: Path, split: str, config: AllianceConfig) -> list[dict]:
    """Rows of (head, source, n, model macro-F1, baseline macro-F1).

    Raises:
        ValueError: Unknown split, or no rows in it.
    """
    if split not in SPLITS:
        raise ValueError(f"--split must be one of {', '.join(SPLITS)}")
    passages = read_any(data)
    wanted = ("validation", "test") if split == "heldout" else (split,)
    chosen = [p for p in passages if split_for(p) in wanted]
    train = [p for p in passages if split_for(p) == "train"]
    if not chosen:
        raise ValueError(f"no passages in the {split} split of {data}")
    scores = evaluate_folder(model, config, chosen)
    baseline = baseline_metrics(train, chosen) if train else {}
    rows = []
    for head, entry in scores.items():
        for source, value in entry.items():
            if source == "n":
                continue
            rows.append(
                {
                    "head": head,
                    "source": source,
                    "n": entry["n"] if source == "all" else "",
                    "model": value,
                    "baseline": baseline.get(head, {}).get(source, "–"),
                }
            )
    return rows
