"""Fit and evaluate the session estimator on conversations with session-level ratings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.model.classify import to_scores
from pipeline.model.folder import PassageScorer
from pipeline.sessions.estimator import TARGETS, SessionAllianceEstimator
from pipeline.sessions.features import pooled_vectors, session_signals, session_vector
from pipeline.training.corpora import read_session_targets
from pipeline.training.evaluate import session_metrics
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage, LabeledSession, split_for


def score_turns(
    sessions: list[LabeledSession], scorer: PassageScorer
) -> tuple[dict[str, np.ndarray], np.ndarray, list[int], list[str]]:
    """Score every turn of every session, with the previous turn as context.

    Returns:
        (head -> (n_turns, n_classes) probabilities, (n_turns, d) passage vectors, the index
        of each turn's session, each turn's speaker), turns in session order.
    """
    texts, contexts, owners, speakers = [], [], [], []
    for number, session in enumerate(sessions):
        previous = ""
        for speaker, text in session.turns:
            texts.append(text)
            contexts.append(previous)
            owners.append(number)
            speakers.append(speaker)
            previous = text
    probabilities, vectors = scorer.predict(texts, contexts)
    return probabilities, vectors, owners, speakers


def session_matrix(sessions: list[LabeledSession], scorer: PassageScorer) -> np.ndarray:
    """Score every turn (with the previous turn as context) and build each session's row
    exactly as the scoring pipeline does (signals + pooled passage vectors)."""
    return session_rows(len(sessions), *score_turns(sessions, scorer))


def session_rows(
    n_sessions: int,
    probabilities: dict[str, np.ndarray],
    vectors: np.ndarray,
    owners: list[int],
    speakers: list[str],
) -> np.ndarray:
    """Session rows from :func:`score_turns`'s output (signals + pooled passage vectors)."""
    rows: list[list[int]] = [[] for _ in range(n_sessions)]
    for row, owner in enumerate(owners):
        rows[owner].append(row)
    return np.vstack(
        [
            session_vector(
                session_signals(
                    [to_scores(probabilities, r) for r in rows[n]], [speakers[r] for r in rows[n]]
                ),
                pooled_vectors(vectors[rows[n]]),
            )
            for n in range(n_sessions)
        ]
    )


def note_sessions(passages: list[LabeledPassage]) -> list[LabeledSession]:
    """Whole labeled notes as weakly rated sessions (source "notes").

    No note corpus carries client ratings, so a note's target per dimension is read off its
    passage labels by a documented rule: evidence passages that do not mark strain pull the
    score up (5), strained ones down (1), with one neutral pseudo-passage (3) so a note with
    little evidence stays near the middle. A dimension without evidence is unrated; overall is
    the mean of the rated dimensions. This teaches the estimator the note register; it is not a
    client rating, and its validation figures only measure agreement with the rule.
    """
    by_note: dict[str, list[LabeledPassage]] = {}
    for passage in passages:
        if passage.source == "notes":
            by_note.setdefault(passage.group, []).append(passage)
    sessions = []
    for group, items in by_note.items():
        targets = {}
        for dimension in ("task", "bond", "goal"):
            evidence = [p for p in items if p.labels.get(dimension) == 1]
            strained = sum(p.labels.get("strain") == 1 for p in evidence)
            if evidence:
                calm = len(evidence) - strained
                targets[dimension] = (5 * calm + 1 * strained + 3) / (len(evidence) + 1)
        if targets:
            targets["overall"] = float(np.mean(list(targets.values())))
            sessions.append(
                LabeledSession("notes", group, [(p.speaker, p.text) for p in items], targets)
            )
    return sessions


def targets_of(sessions: list[LabeledSession]) -> np.ndarray:
    return np.array([[s.targets.get(t, np.nan) for t in TARGETS] for s in sessions], dtype=float)


def source_weights(sources: list[str]) -> np.ndarray:
    """Weights that give every source the same total weight.

    ESConv has ten times more rated conversations than AnnoMI and the notes together; without
    balancing, the estimator learns what predicts a peer-support chat rating and ignores what
    separates good from poor MI (measured: AnnoMI AUC 0.52 unbalanced, 0.83 balanced).
    """
    sources_array = np.asarray(sources)
    weights = np.ones(len(sources_array))
    names = sorted(set(sources))
    for name in names:
        members = sources_array == name
        weights[members] = len(sources_array) / (len(names) * members.sum())
    return weights


def fit_session_estimator(
    data_dir: Path,
    labels: LabelsConfig,
    scorer: PassageScorer,
    seed: int = 0,
    notes: list[LabeledPassage] | None = None,
) -> tuple[SessionAllianceEstimator, dict, dict[str, int]]:
    """Fit on train conversations (and notes), evaluate on validation ones (test untouched).

    Args:
        data_dir: Folder of the public corpora (ESConv and AnnoMI session ratings).
        labels: Label definitions.
        scorer: The passage model whose outputs the estimator reads.
        seed: Seed of the calibration split.
        notes: Labeled note passages, turned into weakly rated sessions (:func:`note_sessions`).

    Returns:
        (estimator, validation metrics, counts).
    """
    sessions = read_session_targets(data_dir, labels) + note_sessions(notes or [])
    split = [split_for(s) for s in sessions]
    train = [s for s, sp in zip(sessions, split) if sp == "train"]
    valid = [s for s, sp in zip(sessions, split) if sp == "validation"]
    estimator = SessionAllianceEstimator(random_state=seed).fit(
        session_matrix(train, scorer),
        targets_of(train),
        sample_weight=source_weights([s.source for s in train]),
    )
    X_valid = session_matrix(valid, scorer)
    low, high = estimator.predict_interval(X_valid)
    metrics = session_metrics(
        estimator.predict(X_valid), low, high, targets_of(valid), [s.source for s in valid], TARGETS
    )
    return estimator, metrics, {"train_sessions": len(train), "validation_sessions": len(valid)}


def evaluate_sessions(
    model,
    data_dir: Path,
    labels: LabelsConfig,
    splits: tuple[str, ...] = ("validation",),
    notes: list[LabeledPassage] | None = None,
) -> dict:
    """Session-estimate metrics of a loaded model on conversations of the given splits.

    Args:
        model: A loaded :class:`pipeline.model.folder.AllianceModel`.
        data_dir: Folder of the public corpora.
        labels: Label definitions.
        splits: Which group splits to score ("validation", "test").
        notes: Labeled note passages for the weak note targets.

    Returns:
        Per target/source: n, Spearman, AUC (two-valued targets), MAE, 80% coverage.
    """
    sessions = [
        s
        for s in read_session_targets(data_dir, labels) + note_sessions(notes or [])
        if split_for(s) in splits
    ]
    X = session_matrix(sessions, model.scorer)
    low, high = model.estimator.predict_interval(X)
    return session_metrics(
        model.estimator.predict(X),
        low,
        high,
        targets_of(sessions),
        [s.source for s in sessions],
        TARGETS,
    )


def refit_on_corpora(
    model_dir: Path,
    out_dir: Path,
    data_dir: Path,
    encoder_config,
    notes: list[LabeledPassage],
    seed: int = 0,
) -> dict:
    """Refit a model folder's session estimator on the public corpora (and labeled notes),
    keeping its passage model; writes ``out_dir`` (may be ``model_dir``) and returns the new
    validation metrics."""
    import shutil

    from pipeline.model.artifacts import save_skops, write_manifest
    from pipeline.sessions.alliance_model import ESTIMATOR_FILE, AllianceModel
    from pipeline.training.labels import load_labels
    from pipeline.training.model_card import write_model_card

    model = AllianceModel.load(model_dir, encoder_config)
    estimator, metrics, counts = fit_session_estimator(
        data_dir, load_labels(), model.scorer, seed, notes
    )
    if out_dir.resolve() != model_dir.resolve():
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.copytree(model_dir, out_dir)
    save_skops(estimator, out_dir / ESTIMATOR_FILE)
    manifest = {k: v for k, v in model.manifest.items() if k != "files"}
    manifest["version"] = (
        out_dir.name
        if out_dir.resolve() != model_dir.resolve()
        else manifest.get("version", out_dir.name)
    )
    manifest["metrics"]["session"] = metrics
    manifest["training"].update(counts)
    manifest["session_estimator"] = {
        "trained_on": "public corpora + labeled notes",
        "source_balanced": True,
    }
    write_model_card(out_dir, manifest)
    write_manifest(out_dir, manifest)
    return metrics
