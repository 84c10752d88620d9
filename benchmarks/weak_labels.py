"""Do weak labels from other corpora help a head or hurt it? Measured per head on validation.

Several heads get labels from corpora that give them only one class: ESConv and MI-Boost mark
bond, emotional reactions and explorations present and never absent, so from those corpora a
head can learn only which corpus a passage comes from. For every head, this fits the head the
way the head refit does (a class-balanced logistic regression on a model's frozen pooled
vectors, ``pipeline.training.head_refit``) under three label sets and scores each on the
validation passages of the head's *core* sources (those whose training labels hold two or more
classes), so every option is scored on the same rows:

* ``all``: every source's labels, as ``configs/labels.yaml`` maps them;
* ``core``: only the core sources' labels (one-class sources dropped);
* ``core+negatives``: ``core`` plus, from ESConv, the head's positives with the turns of every
  other support strategy as negatives (the head's negatives from the corpus of its positives).

Prints a table and writes JSON. The choice goes into ``configs/train.yaml`` (``head_sources``)
where ``core`` beats ``all``. About 3 minutes on 2 CPU cores. Not run in CI.

Usage: python benchmarks/weak_labels.py --data ../shared/data [--model models/default]
       [--out benchmarks/results/weak_labels.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.model.heads import HEAD_BY_NAME  # noqa: E402
from pipeline.sessions.alliance_model import AllianceModel  # noqa: E402
from pipeline.training.data import load_passages  # noqa: E402
from pipeline.training.evaluate import macro_f1  # noqa: E402
from pipeline.training.finetune import epoch_sample  # noqa: E402
from pipeline.training.labels import load_labels  # noqa: E402
from pipeline.training.records import LabeledPassage, scorer_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTES = (ROOT / "data/fixtures/note_passages.jsonl", ROOT / "data/fixtures/strain_passages.jsonl")
PENALTIES = (0.01, 0.1, 1.0)


def core_sources(passages: list[LabeledPassage], head: str) -> set[str]:
    """Sources whose labels of ``head`` hold at least two classes."""
    classes: dict[str, set[int]] = defaultdict(set)
    for p in passages:
        if head in p.labels:
            classes[p.source].add(p.labels[head])
    return {source for source, seen in classes.items() if len(seen) > 1}


def with_strategy_negatives(passages: list[LabeledPassage], head: str) -> list[LabeledPassage]:
    """ESConv supporter turns coded with a strategy that gives ``head`` nothing, labeled 0."""
    out = []
    for p in passages:
        if p.source == "esconv" and "support_strategy" in p.labels and head not in p.labels:
            p = replace(p, labels={**p.labels, head: 0})
        out.append(p)
    return out


def fit_and_score(train_x, train_y, weights, valid_x, valid_y, valid_sources, seed=0) -> dict:
    """Best-penalty balanced logistic regression: mean per-source macro-F1 on validation."""
    scaler = StandardScaler().fit(train_x)
    best: dict = {"score": -1.0}
    for penalty in PENALTIES:
        model = LogisticRegression(
            C=penalty, class_weight="balanced", max_iter=2000, random_state=seed
        ).fit(scaler.transform(train_x), train_y, sample_weight=weights)
        predicted = model.predict(scaler.transform(valid_x))
        per_source = {
            source: macro_f1(valid_y[valid_sources == source], predicted[valid_sources == source])
            for source in sorted(set(valid_sources.tolist()))
        }
        score = float(np.mean(list(per_source.values())))
        if score > best["score"]:
            best = {"score": round(score, 4), "penalty": penalty, "by_source": per_source}
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--max-per-source", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/weak_labels.json")
    args = parser.parse_args(argv)

    splits = load_passages(args.data, load_labels(), notes=list(NOTES))
    train = epoch_sample(splits["train"], args.max_per_source, 1, random.Random(0))
    valid = splits["validation"]
    scorer = AllianceModel.load(args.model, load_config().encoder).scorer
    vectors = {}
    for name, rows in (("train", train), ("valid", valid)):
        _, vectors[name] = scorer.predict(*scorer_inputs(rows))
    results = {}
    for head in sorted(HEAD_BY_NAME):
        core = core_sources(train, head)
        sources = {p.source for p in train if head in p.labels}
        options = {"all": sources, "core": core}
        if "esconv" in sources - core:
            options["core+negatives"] = core | {"esconv"}
        if len(sources) == len(core) and "core+negatives" not in options:
            continue  # nothing to drop or add
        valid_rows = [i for i, p in enumerate(valid) if head in p.labels and p.source in core]
        valid_y = np.array([valid[i].labels[head] for i in valid_rows])
        valid_sources = np.array([valid[i].source for i in valid_rows])
        entry = {"core_sources": sorted(core), "one_class_sources": sorted(sources - core)}
        for option, allowed in options.items():
            rows_source = with_strategy_negatives(train, head) if "negatives" in option else train
            rows = [i for i, p in enumerate(rows_source) if head in p.labels]
            rows = [i for i in rows if rows_source[i].source in allowed]
            y = np.array([rows_source[i].labels[head] for i in rows])
            weights = np.array([12.0 if rows_source[i].source == "notes" else 1.0 for i in rows])
            entry[option] = fit_and_score(
                vectors["train"][rows],
                y,
                weights,
                vectors["valid"][valid_rows],
                valid_y,
                valid_sources,
            )
        results[head] = entry
        scores = "  ".join(f"{o} {entry[o]['score']:.3f}" for o in options)
        print(f"{head:20s} core {sorted(core)}  {scores}")
    out = {"model": str(args.model), "max_per_source": args.max_per_source, "heads": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
