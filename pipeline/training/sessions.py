"""Fit and evaluate the session estimator on rated sessions of three kinds of text.

- ESConv peer-support chats (``chat``): the seeker's survey, mapped to task/bond/goal/overall;
- AnnoMI therapy transcripts (``transcript``): overall from the MI quality;
- the labeled note sessions (``data/fixtures/note_sessions.jsonl`` with
  ``note_session_labels.csv``; notes and some transcripts): task, bond, goal and overall as the
  client would rate them. Their ``dev`` clients train, their ``test`` clients are held out.

Corpus conversations are scored turn by turn with the previous turn as context; the labeled
sessions go through the pipeline's own segmentation, so the estimator reads them exactly as
``alliance score`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.model.classify import to_scores
from pipeline.model.folder import PassageScorer
from pipeline.schemas import TEXT_KINDS
from pipeline.sessions.estimator import TARGETS, SessionAllianceEstimator
from pipeline.sessions.features import pooled_vectors, session_signals, session_vector
from pipeline.sessions.text_model import (
    TEXT_FILE,
    TEXT_SIGNALS,
    SessionTextModel,
    client_keys,
    client_text,
    session_text,
    text_scores,
    with_text_scores,
)
from pipeline.training.corpora import read_session_targets
from pipeline.training.evaluate import session_metrics, tfidf_ridge
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledSession, split_for

# The kind of text each rated corpus holds (``Session.kind`` of the same text in the pipeline).
SOURCE_KINDS = {"esconv": "chat", "annomi": "transcript"}
NOTE_SOURCE = "note_sessions"  # the labeled note sessions, as a source


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
    probabilities, vectors = scorer.predict(texts, contexts, speakers, [str(o) for o in owners])
    return probabilities, vectors, owners, speakers


def session_matrix(sessions: list[LabeledSession], scorer: PassageScorer) -> np.ndarray:
    """Score every turn (with the previous turn as context) and build each session's row
    exactly as the scoring pipeline does (signals + pooled passage vectors)."""
    kinds = [SOURCE_KINDS.get(s.source, "transcript") for s in sessions]
    return session_rows(len(sessions), *score_turns(sessions, scorer), kinds=kinds)


def session_rows(
    n_sessions: int,
    probabilities: dict[str, np.ndarray],
    vectors: np.ndarray,
    owners: list[int],
    speakers: list[str],
    kinds: list[str | None] | None = None,
) -> np.ndarray:
    """Session rows from :func:`score_turns`'s output (signals + pooled passage vectors)."""
    rows: list[list[int]] = [[] for _ in range(n_sessions)]
    for row, owner in enumerate(owners):
        rows[owner].append(row)
    kinds = kinds or [None] * n_sessions
    return np.vstack(
        [
            session_vector(
                session_signals(
                    [to_scores(probabilities, r) for r in rows[n]],
                    [speakers[r] for r in rows[n]],
                    kinds[n],
                ),
                pooled_vectors(vectors[rows[n]]),
            )
            for n in range(n_sessions)
        ]
    )


@dataclass
class RatedSessions:
    """Every rated session the estimator learns from or is measured on, as estimator rows.

    Attributes:
        X: (n, d) session rows.
        y: (n, 4) targets in ``TARGETS`` order, NaN where unrated.
        sources: ``esconv``, ``annomi`` or ``note_sessions`` per row.
        splits: ``train``/``validation``/``test`` (corpora), ``dev``/``test`` (note sessions).
        groups: Conversation id (corpora) or client id (note sessions).
        ids: Conversation or session id.
        kinds: The kind of text (``note``, ``transcript``, ``chat``).
        texts: The session's own words (:func:`pipeline.sessions.text_model.session_text`),
            for the text model and the text baseline.
        client_texts: The client's turns of a transcript or chat (empty for a note;
            :func:`pipeline.sessions.text_model.client_text`), for the text model.
    """

    X: np.ndarray
    y: np.ndarray
    sources: np.ndarray
    splits: np.ndarray
    groups: np.ndarray
    ids: np.ndarray
    kinds: np.ndarray
    texts: np.ndarray
    client_texts: np.ndarray

    def select(self, mask: np.ndarray) -> RatedSessions:
        return RatedSessions(
            self.X[mask],
            self.y[mask],
            self.sources[mask],
            self.splits[mask],
            self.groups[mask],
            self.ids[mask],
            self.kinds[mask],
            self.texts[mask],
            self.client_texts[mask],
        )

    @property
    def training(self) -> np.ndarray:
        """Rows the estimator may learn from: corpus train splits and note-session dev clients."""
        return np.isin(self.splits, ("train", "dev"))

    def held_out(self, splits: tuple[str, ...]) -> np.ndarray:
        """Rows of the held-out ``splits`` ("validation", "test"; note sessions have test only)."""
        return np.isin(self.splits, splits) & (self.splits != "dev")


def rated_sessions(
    data_dir: Path, labels: LabelsConfig, scorer: PassageScorer, config=None, note_sessions=None
) -> RatedSessions:
    """Score every rated corpus conversation and labeled note session into estimator rows.

    Args:
        data_dir: Folder of the public corpora (ESConv and AnnoMI session ratings); None for
            the labeled note sessions alone.
        labels: Label definitions.
        scorer: The passage model whose outputs the estimator reads.
        config: Run config for the pipeline's segmentation (default ``configs/default.yaml``).
        note_sessions: (sessions JSONL, labels CSV) of labeled note sessions; default the
            fixtures' (``data/fixtures/note_sessions.jsonl``); ``()`` for none.
    """
    from pipeline.config import load_config
    from pipeline.steps import classify_sessions
    from pipeline.training.structure import (
        NOTE_SESSION_LABELS,
        NOTE_SESSIONS,
        read_session_labels,
        read_sessions,
    )

    corpus = read_session_targets(data_dir, labels) if data_dir is not None else []
    X = [session_matrix(corpus, scorer)] if corpus else []
    y = [s.targets.get(t, np.nan) for s in corpus for t in TARGETS]
    sources = [s.source for s in corpus]
    splits = [split_for(s) for s in corpus]
    groups = [s.group for s in corpus]
    ids = [s.group for s in corpus]
    kinds = [SOURCE_KINDS.get(s.source, "transcript") for s in corpus]
    texts = [session_text(s.turns, kind) for s, kind in zip(corpus, kinds)]
    client_texts = [client_text(s.turns, kind) for s, kind in zip(corpus, kinds)]
    note_files = (NOTE_SESSIONS, NOTE_SESSION_LABELS) if note_sessions is None else note_sessions
    if note_files:
        rated = read_session_labels(note_files[1])
        sessions = [s for s in read_sessions(note_files[0]) if s.session_id in rated]
        classified = classify_sessions(sessions, scorer, config or load_config())
        if sessions:
            X.append(np.vstack([classified[s.session_id].row for s in sessions]))
        for session in sessions:
            label = rated[session.session_id]
            y += [label[t] for t in TARGETS]
            sources.append(NOTE_SOURCE)
            splits.append(label["split"])
            groups.append(session.client_id)
            ids.append(session.session_id)
            pairs = classified[session.session_id].pairs
            kinds.append(session.kind)
            items = [(p.speaker, p.text) for p, _ in pairs]
            texts.append(session_text(items, session.kind))
            client_texts.append(client_text(items, session.kind))
    return RatedSessions(
        np.vstack(X),
        np.asarray(y, dtype=float).reshape(-1, len(TARGETS)),
        np.asarray(sources),
        np.asarray(splits),
        np.asarray(groups),
        np.asarray(ids),
        np.asarray(kinds),
        np.asarray(texts, dtype=object),
        np.asarray(client_texts, dtype=object),
    )


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


@dataclass
class SessionModels:
    """The session estimator and the text model whose scores it reads."""

    estimator: SessionAllianceEstimator
    text_model: SessionTextModel | None

    def inputs(self, rated: RatedSessions) -> np.ndarray:
        """The estimator's input for ``rated``'s sessions (rows, then text scores)."""
        return with_text_scores(
            rated.X, self.text_model, rated.texts, rated.client_texts, rated.kinds
        )

    def predict(self, rated: RatedSessions) -> np.ndarray:
        return self.estimator.predict(self.inputs(rated))


def text_learners(rated: RatedSessions) -> np.ndarray:
    """Rows the text model learns from: every rated session but the labeled transcripts.

    Their ratings are the client's, while the text model reads only the clinician's turns, and
    grouped cross-validation on the dev clients found no such signal (Spearman of their
    cross-fitted text scores with the ratings -0.39 to -0.57): sharing the transcript
    vocabulary with AnnoMI, whose MI-quality rating is a rating of exactly those turns, they
    cost the AnnoMI scores (cross-validated AUC 0.78 with them, 0.84 without). Their text
    scores come from the model fitted without them, so they are out of sample as they are.
    """
    return ~((rated.kinds == "transcript") & (rated.sources == NOTE_SOURCE))


def fit_text_model(rated: RatedSessions) -> tuple[SessionTextModel, np.ndarray]:
    """The text model over both views of ``rated``'s sessions, and their text scores: cross-
    fitted (:meth:`SessionTextModel.cross_fitted`) for the sessions it learned from.

    The session text view learns from :func:`text_learners`; the client view from every
    transcript and chat, the labeled transcripts included (there, client words and client
    ratings agree in kind).
    """
    learn = text_learners(rated)
    chats = rated.kinds != "note"
    n_learn = int(learn.sum())
    texts = np.concatenate([rated.texts[learn], rated.client_texts[chats]])
    keys = np.concatenate([rated.kinds[learn], client_keys(rated.kinds[chats])])
    y = np.vstack([rated.y[learn], rated.y[chats]])
    groups = np.concatenate([rated.groups[learn], rated.groups[chats]])
    strata = np.concatenate([rated.sources[learn], rated.sources[chats]])
    text_model = SessionTextModel(client_view=True).fit(texts, y, keys, strata)
    scores = text_scores(text_model, rated.texts, rated.client_texts, rated.kinds)
    fitted = text_model.cross_fitted(texts, y, keys, groups, strata)
    n_view = len(TARGETS)
    scores[learn, :n_view] = fitted[:n_learn]
    scores[chats, n_view:] = fitted[n_learn:]
    return text_model, scores


def fit_on(rated: RatedSessions, seed: int = 0) -> SessionModels:
    """The text model and the estimator fitted on ``rated``'s sessions, sources balanced,
    folds grouped. The estimator learns from cross-fitted text scores (:func:`fit_text_model`),
    so it trusts them as far as they hold on sessions the text model never saw.
    """
    text_model, scores = fit_text_model(rated)
    estimator = SessionAllianceEstimator(random_state=seed, n_text=len(TEXT_SIGNALS)).fit(
        np.hstack([rated.X, scores]),
        rated.y,
        sample_weight=source_weights(list(rated.sources)),
        groups=rated.groups,
        strata=rated.sources,
    )
    return SessionModels(estimator, text_model)


def measure(models: SessionModels, rated: RatedSessions) -> dict:
    """Spearman, AUC, MAE and 80% coverage per target and source on ``rated``'s rows."""
    center, low, high = models.estimator.predict_with_interval(models.inputs(rated))
    return session_metrics(center, low, high, rated.y, list(rated.sources), TARGETS)


def fit_session_estimator(
    data_dir: Path,
    labels: LabelsConfig,
    scorer: PassageScorer,
    seed: int = 0,
    config=None,
    note_sessions=None,
) -> tuple[SessionModels, dict, dict[str, int]]:
    """Fit on the training sessions, evaluate on the corpora's validation ones (test untouched).

    Args:
        data_dir: Folder of the public corpora (ESConv and AnnoMI session ratings).
        labels: Label definitions.
        scorer: The passage model whose outputs the estimator reads.
        seed: Seed of the calibration split.
        config: Run config for the note sessions' segmentation.
        note_sessions: As for :func:`rated_sessions`.

    Returns:
        (the estimator and its text model, validation metrics, counts).
    """
    rated = rated_sessions(data_dir, labels, scorer, config, note_sessions)
    train = rated.select(rated.training)
    models = fit_on(train, seed)
    metrics = measure(models, rated.select(rated.held_out(("validation",))))
    counts = {
        "train_sessions": int(len(train.ids)),
        "train_note_sessions": int((train.sources == NOTE_SOURCE).sum()),
        "validation_sessions": int(rated.held_out(("validation",)).sum()),
    }
    return models, metrics, counts


def text_baseline(rated: RatedSessions, held: np.ndarray) -> dict:
    """TF-IDF + ridge over each session's own text, one model per source and target, fitted on
    that source's training rows: the baseline a user would try first. Returns the same metrics
    as :func:`measure` on the ``held`` rows."""
    predicted = np.full(rated.y.shape, np.nan)
    texts = rated.texts
    for source in sorted(set(rated.sources[held].tolist())):
        own = rated.sources == source
        for j in range(len(TARGETS)):
            rows = own & rated.training & ~np.isnan(rated.y[:, j])
            if rows.sum() < 8:
                continue
            model = tfidf_ridge().fit(texts[rows], rated.y[rows, j])
            predicted[own & held, j] = model.predict(texts[own & held])
    # No interval: the baseline is a point estimate (coverage is reported for the model only).
    return session_metrics(
        np.clip(np.nan_to_num(predicted[held], nan=3.0), 1, 5),
        np.full((held.sum(), len(TARGETS)), 1.0),
        np.full((held.sum(), len(TARGETS)), 5.0),
        rated.y[held],
        list(rated.sources[held]),
        TARGETS,
    )


def evaluate_sessions(
    model,
    data_dir: Path,
    labels: LabelsConfig,
    splits: tuple[str, ...] = ("validation",),
    config=None,
    note_sessions=None,
) -> dict:
    """Session-estimate metrics of a loaded model on the held-out sessions of ``splits``,
    beside the TF-IDF + ridge baseline fitted in the same run on the same training rows.

    Args:
        model: A loaded :class:`pipeline.sessions.alliance_model.AllianceModel`.
        data_dir: Folder of the public corpora.
        labels: Label definitions.
        splits: Which held-out splits to score ("validation", "test"); the note sessions are
            held out in "test" only.
        config: Run config for the note sessions' segmentation.
        note_sessions: As for :func:`rated_sessions`.

    Returns:
        ``{"model": ..., "tfidf_ridge": ...}``, each per target/source: n, Spearman, AUC
        (two-valued targets, with its interval), MAE, 80% coverage (the model's only).
    """
    rated = rated_sessions(data_dir, labels, model.scorer, config, note_sessions)
    held = rated.held_out(splits)
    return {
        "model": measure(SessionModels(model.estimator, model.text_model), rated.select(held)),
        "tfidf_ridge": text_baseline(rated, held),
    }


def refit_on_corpora(
    model_dir: Path,
    out_dir: Path,
    data_dir: Path,
    encoder_config,
    seed: int = 0,
    config=None,
) -> dict:
    """Refit a model folder's session estimator on the public corpora and the labeled note
    sessions' dev clients, keeping its passage model; writes ``out_dir`` (may be ``model_dir``)
    and returns the new validation metrics."""
    import shutil

    from pipeline.model.artifacts import save_skops, write_manifest
    from pipeline.model.folder import load_passage_model
    from pipeline.sessions.alliance_model import ESTIMATOR_FILE
    from pipeline.training.labels import load_labels
    from pipeline.training.model_card import write_model_card

    # The passage model only: the estimator is replaced, and may predate the current features.
    model = load_passage_model(model_dir, encoder_config)
    models, metrics, counts = fit_session_estimator(
        data_dir, load_labels(), model.scorer, seed, config
    )
    if out_dir.resolve() != model_dir.resolve():
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.copytree(model_dir, out_dir)
    save_skops(models.estimator, out_dir / ESTIMATOR_FILE)
    save_skops(models.text_model, out_dir / TEXT_FILE)
    manifest = {k: v for k, v in model.manifest.items() if k != "files"}
    manifest["version"] = (
        out_dir.name
        if out_dir.resolve() != model_dir.resolve()
        else manifest.get("version", out_dir.name)
    )
    manifest["metrics"]["session"] = metrics
    manifest["training"].update(counts)
    manifest["session_estimator"] = estimator_summary(models)
    write_model_card(out_dir, manifest)
    write_manifest(out_dir, manifest)
    return metrics


def estimator_summary(models: SessionModels) -> dict:
    """What the manifest records of the estimator: its training data and, per kind of text and
    target, the features of its own model (None: the shared model reads that kind)."""
    empty = [None] * len(TARGETS)
    features = getattr(models.estimator, "kind_features_", {})
    return {
        "trained_on": "ESConv and AnnoMI train splits + labeled note sessions (dev clients)",
        "source_balanced": True,
        "reads_text_scores": bool(models.estimator.n_text),
        "kind_models": {
            kind: dict(zip(TARGETS, features.get(i, empty))) for i, kind in enumerate(TEXT_KINDS)
        },
    }
