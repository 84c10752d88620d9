"""``alliance evaluate``: a model's per-head metrics beside a same-run TF-IDF baseline, each with
a 95% interval that resamples whole groups, and beside the plain fine-tune of
``benchmarks/finetune_baseline.py`` when its results file is given."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from pipeline.config import AllianceConfig
from pipeline.model.heads import HEADS
from pipeline.training.corpora import read_corpora
from pipeline.training.data import read_labeled_file
from pipeline.training.evaluate import head_rows, scored_f1, tfidf_baseline
from pipeline.training.labels import load_labels
from pipeline.training.records import LabeledPassage, scorer_inputs, split_for

SPLITS = ("validation", "test", "heldout")


def read_any(data: Path) -> list[LabeledPassage]:
    """A corpora folder, a note-passages JSONL, or a converted labeled-passage JSONL."""
    labels = load_labels()
    return read_corpora(data, labels=labels) if data.is_dir() else read_labeled_file(data, labels)


def read_finetune_baseline(path: Path, split: str) -> dict[str, dict]:
    """``source:head`` -> the plain fine-tune's entry, from ``benchmarks/finetune_baseline.py``.

    Raises:
        ValueError: The file does not hold such results, or ``split`` is not the held-out
            split it was scored on (its figures would not be comparable).
    """
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))["tasks"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            f"{path} is not a results file of benchmarks/finetune_baseline.py ({error})"
        ) from None
    if split != "heldout":
        raise ValueError(
            "the plain fine-tune was scored on the held-out split: use --split heldout with "
            "--finetune-baseline"
        )
    return {name: entry["plain_finetune"] for name, entry in tasks.items()}


def evaluate_model_on(
    model: Path,
    data: Path,
    split: str,
    config: AllianceConfig,
    finetune: dict[str, dict] | None = None,
) -> list[dict]:
    """Rows of (head, source, n, model, TF-IDF baseline[, plain fine-tune]), each reader's entry
    its macro-F1 and 95% interval (``"all"`` pools every source of the head).

    Raises:
        ValueError: Unknown split, or no rows in it.
    """
    from pipeline.sessions.alliance_model import AllianceModel

    if split not in SPLITS:
        raise ValueError(f"--split must be one of {', '.join(SPLITS)}")
    passages = read_any(data)
    wanted = ("validation", "test") if split == "heldout" else (split,)
    chosen = [p for p in passages if split_for(p) in wanted]
    train = [p for p in passages if split_for(p) == "train"]
    if not chosen:
        raise ValueError(f"no passages in the {split} split of {data}")
    scorer = AllianceModel.load(model, config.encoder).scorer
    predicted = scorer.predict_proba(*scorer_inputs(chosen))
    baseline = (
        tfidf_baseline([p.text for p in train], [p.labels for p in train], [p.text for p in chosen])
        if train
        else {}
    )
    labels = [p.labels for p in chosen]
    groups = np.array([p.group for p in chosen])
    rows = []
    for head in HEADS:
        indices = head_rows(labels, head.name)
        if not indices or head.name not in predicted:
            continue
        truth = np.array([labels[i][head.name] for i in indices])
        by_source: dict[str, list[int]] = defaultdict(list)
        for position, i in enumerate(indices):
            by_source[chosen[i].source].append(position)
        for source, positions in [("all", list(range(len(indices)))), *sorted(by_source.items())]:
            rows_of = np.asarray(indices)[positions]
            row = {
                "head": head.name,
                "source": source,
                "n": len(positions),
                "model": scored_f1(
                    truth[positions], predicted[head.name][rows_of].argmax(1), groups[rows_of], 500
                ),
                "baseline": scored_f1(
                    truth[positions], baseline[head.name][rows_of].argmax(1), groups[rows_of], 500
                )
                if head.name in baseline
                else None,
            }
            if finetune is not None:
                row["finetune"] = finetune.get(f"{source}:{head.name}")
            rows.append(row)
    return rows
