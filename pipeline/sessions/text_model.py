"""A session's own words as evidence: TF-IDF + ridge per kind of text and target.

The passage model reads each passage through a small encoder tuned on many corpora; a linear
model over a session's own n-grams catches what it smooths over (in AnnoMI, therapist wording
alone separates good from poor MI well). Its scores join the session estimator's input as
more columns (``TEXT_SIGNALS``), so the estimator weighs them against the passage signals, per
kind of text, by cross-validation.

Trained with the sessions' sources, each source's ratings are standardised first, so a kind
shared by two sources (AnnoMI's MI quality and the labeled transcripts' client ratings) gets
scores that rank within a source rather than tell the sources apart.

A session is read in two views: its text (:func:`session_text`: a note's passages, or the
clinician's turns of a transcript or chat) and, for a transcript or chat, the client's own
turns (:func:`client_text`), each with its own vocabulary and models. The client's words say how
the help lands ("that really helps", "you're right"): on ESConv's training chats, grouped
cross-validation ranked the seekers' bond ratings at Spearman 0.26 from their own turns and 0.24
from the supporters'; the two together with the passage signals, stacked, reached 0.34 to
0.37 against 0.31 to 0.34 for the passage signals alone.

The vocabulary is learned from the public corpora and the synthetic labeled sessions only: a
clinic's refit never fits one, since a vocabulary holds fragments of
the notes it was fitted on and notes stay in the result store.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import GroupKFold

from pipeline.sessions.estimator import TARGETS

CLIENT_VIEW = "/client"  # appended to a kind: the key of its client-turn vocabulary and models
TEXT_SIGNALS = (
    *(f"text_{target}" for target in TARGETS),
    *(f"client_text_{target}" for target in TARGETS),
)
TEXT_FILE = "session_text_model.skops"


def session_text(items: Sequence[tuple[str, str]], kind: str | None) -> str:
    """The words the text model reads: every passage of a note, the clinician's turns of a
    transcript or chat (the client's words say how the client is, not how the work goes).

    Args:
        items: (speaker, text) of each passage or turn, in order.
        kind: ``note``, ``transcript`` or ``chat``.
    """
    return " ".join(text for speaker, text in items if kind == "note" or speaker != "client")


def client_text(items: Sequence[tuple[str, str]], kind: str | None) -> str:
    """The client's own turns of a transcript or chat; empty for a note (written by the
    clinician, it has no client turns).

    Args:
        items: (speaker, text) of each passage or turn, in order.
        kind: ``note``, ``transcript`` or ``chat``.
    """
    if kind == "note":
        return ""
    return " ".join(text for speaker, text in items if speaker == "client")


def client_keys(kinds: Sequence[str]) -> list[str]:
    """The text model's keys of the client-turn view of sessions of ``kinds``."""
    return [f"{kind}{CLIENT_VIEW}" for kind in kinds]


def fit_vocabulary(
    texts: Sequence[str], max_features: int | None = None
) -> tuple[object, np.ndarray, np.ndarray]:
    """TF-IDF over word 1-2-grams (seen in 2+ texts, sublinear counts) fitted on ``texts``.

    Returns:
        (the texts' TF-IDF matrix, the terms in column order, their idf weights). The terms
        and weights are kept as two arrays, not the fitted vectorizer: skops writes a dict
        entry by entry, which made a vocabulary alone 15 MB; arrays are stored as compact
        .npy blocks. :func:`vectorizer_of` rebuilds the vectorizer from them.
    """
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features
    )
    matrix = vectorizer.fit_transform(texts)
    terms = np.array(sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get))
    return matrix, terms, vectorizer.idf_


def vectorizer_of(terms: np.ndarray, idf: np.ndarray) -> TfidfVectorizer:
    """The vectorizer of :func:`fit_vocabulary` rebuilt from its terms and idf weights."""
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, vocabulary={t: i for i, t in enumerate(terms)}
    )
    vectorizer.idf_ = idf
    return vectorizer


class SessionWordsClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF + class-balanced logistic regression over whole sessions' words, for a yes/no
    session label (a rupture), stored compactly (:func:`fit_vocabulary`).

    Args:
        C: Inverse penalty of the logistic regression.
        max_features: Largest vocabulary (None: every 1-2-gram seen in two sessions).
    """

    def __init__(self, C=1.0, max_features=None):
        self.C = C
        self.max_features = max_features

    def fit(self, texts: Sequence[str], y: Sequence[int]):
        """Fit the vocabulary and the classifier on ``texts`` with labels ``y``."""
        matrix, self.terms_, self.idf_ = fit_vocabulary(list(texts), self.max_features)
        self.classifier_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000).fit(
            matrix, np.asarray(y)
        )
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 2) class probabilities of each text."""
        matrix = vectorizer_of(self.terms_, self.idf_).transform(list(texts))
        return self.classifier_.predict_proba(matrix)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(1)]


class SessionTextModel(BaseEstimator):
    """One TF-IDF vocabulary per kind of text, and a ridge regression per target on it.

    A (kind, target) with fewer than ``min_rated`` rated sessions has no model; its column is
    then the kind's mean rating (a constant the estimator can ignore).

    Args:
        min_rated: Rated sessions a (kind, target) needs for a model.
        max_features: Largest vocabulary per kind (keeps the artifact small).
        alphas: Ridge penalties tried by leave-one-out cross-validation.
        folds: Folds (grouped, e.g. by client) of :meth:`cross_fitted`.
        client_view: Whether it was fitted on the client-turn view too (keys of
            :func:`client_keys` among its kinds), so :func:`text_scores` gives 8 columns.
    """

    def __init__(
        self,
        min_rated=30,
        max_features=5_000,
        alphas=(0.1, 0.3, 1.0, 3.0, 10.0),
        folds=5,
        client_view=False,
    ):
        self.min_rated = min_rated
        self.max_features = max_features
        self.alphas = alphas
        self.folds = folds
        self.client_view = client_view

    def _fit_kind(self, texts: np.ndarray, y: np.ndarray):
        matrix, terms, idf = fit_vocabulary(texts, self.max_features)
        models = []
        for j in range(y.shape[1]):
            rated = ~np.isnan(y[:, j])
            models.append(
                RidgeCV(alphas=np.asarray(self.alphas, dtype=float)).fit(matrix[rated], y[rated, j])
                if rated.sum() >= self.min_rated
                else None
            )
        return terms, idf, models

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        kinds: Sequence[str],
        strata: Sequence[str] | None = None,
    ):
        """Fit each kind's vocabulary and its targets' ridge models.

        Args:
            texts: Each session's text (:func:`session_text`).
            y: (n, n_targets) ratings, NaN where unrated.
            kinds: Each session's kind of text.
            strata: Each session's source. Given, each source's ratings are standardised
                (per target) before fitting, so the scores rank sessions within a source and
                spend nothing on telling sources apart: AnnoMI's MI quality (2 or 4) and the
                labeled transcripts' client ratings (1-5) share the transcript vocabulary.
                The scores are then on that standard scale, which the estimator maps back.
        """
        texts, y, kinds = np.asarray(texts, dtype=object), np.asarray(y, float), np.asarray(kinds)
        if strata is not None:
            y = _standardised_within(y, np.asarray(strata))

        def means(rows: np.ndarray, fallback: list[float]) -> list[float]:
            rated = ~np.isnan(y[rows])
            return [
                float(y[rows, j][rated[:, j]].mean()) if rated[:, j].any() else fallback[j]
                for j in range(y.shape[1])
            ]

        self.n_targets_ = y.shape[1]
        # A kind's mean rating per target, else every session's, else the middle of the scale.
        self.fallback_ = means(np.ones(len(y), dtype=bool), [3.0] * y.shape[1])
        self.means_ = {}
        self.kinds_ = {}
        for kind in sorted(set(kinds.tolist())):
            rows = kinds == kind
            self.means_[kind] = means(rows, self.fallback_)
            if (~np.isnan(y[rows])).any(axis=1).sum() >= self.min_rated:
                self.kinds_[kind] = self._fit_kind(texts[rows], y[rows])
        return self

    def predict(self, texts: Sequence[str], kinds: Sequence[str]) -> np.ndarray:
        """(n, n_targets) text scores; a kind or target without a model gets its mean rating
        (on the standardised scale when fitted with ``strata``)."""
        texts, kinds = np.asarray(texts, dtype=object), np.asarray(kinds)
        out = np.empty((len(texts), self.n_targets_))
        for kind in sorted(set(kinds.tolist())):
            rows = kinds == kind
            out[rows] = self.means_.get(kind, self.fallback_)
            if kind in self.kinds_:
                terms, idf, models = self.kinds_[kind]
                matrix = vectorizer_of(terms, idf).transform(texts[rows])
                for j, model in enumerate(models):
                    if model is not None:
                        out[rows, j] = model.predict(matrix)
        return out

    def cross_fitted(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        kinds: Sequence[str],
        groups: Sequence[str],
        strata: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Text scores of training sessions from models that never saw their group.

        The estimator learns how far to trust the text scores from these: scores of sessions a
        text model was fitted on would be near their ratings, and would be trusted too much.
        ``strata`` as for :meth:`fit` (pass the same as there).
        """
        texts, y = np.asarray(texts, dtype=object), np.asarray(y, float)
        kinds, groups = np.asarray(kinds), np.asarray(groups)
        strata = None if strata is None else np.asarray(strata)
        out = self.predict(texts, kinds)
        for kind in self.kinds_:
            rows = np.flatnonzero(kinds == kind)
            n_folds = min(self.folds, len(set(groups[rows].tolist())))
            if n_folds < 2:
                continue
            for train, held in GroupKFold(n_splits=n_folds).split(rows, groups=groups[rows]):
                fold = rows[train]
                part = clone(self).fit(
                    texts[fold], y[fold], kinds[fold], None if strata is None else strata[fold]
                )
                out[rows[held]] = part.predict(texts[rows[held]], kinds[rows[held]])
            # A target the kind has no model for is a constant at predict time; the folds'
            # own means would make it a column of small noise, which the estimator's scaling
            # blows up (it did: every AnnoMI estimate fell to 1).
            for j, model in enumerate(self.kinds_[kind][2]):
                if model is None:
                    out[rows, j] = self.means_[kind][j]
        return out


def _standardised_within(y: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """``y`` with each stratum's ratings of each target centred and scaled to unit spread
    (a constant target is only centred); NaN stays NaN."""
    out = y.copy()
    for stratum in set(strata.tolist()):
        rows = strata == stratum
        for j in range(y.shape[1]):
            rated = rows & ~np.isnan(y[:, j])
            if rated.any():
                spread = y[rated, j].std()
                out[rated, j] = (y[rated, j] - y[rated, j].mean()) / (spread if spread > 0 else 1)
    return out


def text_scores(
    text_model: SessionTextModel,
    texts: Sequence[str],
    client_texts: Sequence[str],
    kinds: Sequence[str],
) -> np.ndarray:
    """(n, 4 or 8) text scores: each session's text, then (for a model fitted with the client
    view, see :attr:`SessionTextModel.client_view`) its client turns.

    Args:
        text_model: A fitted :class:`SessionTextModel`.
        texts: Each session's :func:`session_text`.
        client_texts: Each session's :func:`client_text`.
        kinds: Each session's kind of text.
    """
    scores = text_model.predict(texts, kinds)
    if not getattr(text_model, "client_view", False):  # folders written before the view
        return scores
    return np.hstack([scores, text_model.predict(client_texts, client_keys(kinds))])


def with_text_scores(
    rows: np.ndarray,
    text_model: SessionTextModel | None,
    texts: Sequence[str],
    client_texts: Sequence[str],
    kinds: Sequence[str],
) -> np.ndarray:
    """The estimator's input: session rows, then the text scores (rows alone without a model)."""
    if text_model is None:
        return rows
    return np.hstack([rows, text_scores(text_model, texts, client_texts, kinds)])
