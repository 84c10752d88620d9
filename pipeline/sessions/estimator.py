"""Per-session alliance estimates on the WAI-SR item scale (1-5) with conformal intervals.

:class:`SessionAllianceEstimator` maps a session vector (:mod:`pipeline.sessions.features`) to task,
bond, goal and overall. Each target has its own ridge regression (regularisation chosen by
internal cross-validation) wrapped in MAPIE's split-conformal regressor, so the 80% intervals
come with a finite-sample coverage guarantee on data like the calibration data.

It knows the kind of text it reads. A written note, a therapy transcript and a peer-support chat
say different things about the alliance: unsolicited advice marks poor MI in a transcript while
chat seekers rate suggestions well, and a note records what the writer chose to document. So
each kind with enough rated sessions for a target gets a model of its own (and its own
calibration), with its features (with or without the text model's scores; the named signals
alone or with the pooled passage vectors when there are none) chosen by cross-validation on
its training sessions (the set whose out-of-fold estimates rank them best). A kind with too
few ratings is read by the shared model fitted on every kind, which sees the kind as a feature.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mapie.regression import SplitConformalRegressor
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.schemas import SessionEstimate
from pipeline.sessions.features import KIND_COLUMNS, SIGNAL_NAMES, session_signals

TARGETS = ("task", "bond", "goal", "overall")
SCALE = (1.0, 5.0)
MIN_RATED = 8  # sessions a target needs before it gets a model of its own
# What a kind's own model may read, chosen by cross-validation. Without text scores (a clinic's
# refit): the named signals, or with the pooled passage vectors. With them: the named signals
# and the pooled vectors, with or without the text scores (the last columns). The named
# signals without the pooled vectors are no choice there: on the fixture notes, by a writer
# the estimator never learns from, they ranked the sessions far worse (Spearman 0.51 with the
# text scores, against 0.72 with the pooled vectors too), while cross-validation within the
# training writers could not tell the two apart (0.53 and 0.51) and picked the worse.
FEATURE_SETS = ("named", "all")
TEXT_FEATURE_SETS = ("all", "all+text", "stacked")


def _mean_within(predicted: np.ndarray, truth: np.ndarray, strata: np.ndarray) -> float:
    """Spearman of ``predicted`` with ``truth`` within each stratum of 5+ rankable rows, averaged
    with weights n - 3 (the inverse variance of a rank correlation on n rows, by Fisher's z).

    Weighted, because a ranking of 9 sessions says far less than one of 57: unweighted, the 9
    labeled transcripts outvoted AnnoMI's 57 in the transcript model's feature choice.
    """
    values, weights = [], []
    for stratum in sorted(set(strata.tolist())):
        rows = strata == stratum
        if rows.sum() >= 5 and np.ptp(truth[rows]) > 0 and np.ptp(predicted[rows]) > 0:
            value = spearmanr(predicted[rows], truth[rows]).statistic
            if not np.isnan(value):
                values.append(value)
                weights.append(rows.sum() - 3)
    return float(np.average(values, weights=weights)) if values else -np.inf


def _folds(n: int, groups, folds: int, random_state: int) -> list:
    """Cross-validation folds of n rows: grouped when some group holds two rows, else shuffled."""
    distinct = 0 if groups is None else len(set(np.asarray(groups).tolist()))
    if 0 < distinct < n:
        return list(GroupKFold(n_splits=min(folds, distinct)).split(groups, groups=groups))
    return list(
        KFold(n_splits=min(folds, n), shuffle=True, random_state=random_state).split(np.zeros(n))
    )


def _ridge(alphas) -> object:
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.asarray(alphas, dtype=float)))


class StackedRidge(RegressorMixin, BaseEstimator):
    """A ridge over the session rows, then a small linear model over its estimate and the text
    scores (the last ``n_text`` columns).

    Appended to ~800 row columns, a handful of text scores are shrunk with everything else, so a
    strong text score (a chat seeker's own words about the help) moves the estimate little.
    Stacked, the text scores weigh as much as the whole row model does, by what they add: the
    second stage learns from the row ridge's out-of-fold estimates, so it trusts that ridge as
    far as it holds on sessions it never saw.

    Args:
        alphas: Penalties of the row ridge (internal cross-validation).
        n_text: Text-score columns at the end of ``X``.
        folds: Folds of the out-of-fold row estimates.
        random_state: Seed of the folds.
    """

    def __init__(self, alphas=(0.1, 1.0, 10.0, 100.0), n_text=1, folds=5, random_state=0):
        self.alphas = alphas
        self.n_text = n_text
        self.folds = folds
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit both stages.

        Args:
            X: (n, d) session rows, the text scores last.
            y: (n,) ratings.
            sample_weight: Optional (n,) weights of both stages.
            groups: Optional (n,) client ids: the out-of-fold row estimates never come from a
                ridge that saw the client's other sessions (which would make them look better
                than they are on a new client, and the second stage would trust them too much).
        """
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        rows, text = X[:, : -self.n_text], X[:, -self.n_text :]
        out_of_fold = np.zeros(len(y))
        for train, held in _folds(len(y), groups, self.folds, self.random_state):
            part = _ridge(self.alphas).fit(
                rows[train], y[train], ridgecv__sample_weight=weights[train]
            )
            out_of_fold[held] = part.predict(rows[held])
        self.rows_ = _ridge(self.alphas).fit(rows, y, ridgecv__sample_weight=weights)
        self.second_ = _ridge(self.alphas).fit(
            np.column_stack([out_of_fold, text]), y, ridgecv__sample_weight=weights
        )
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        first = self.rows_.predict(X[:, : -self.n_text])
        return self.second_.predict(np.column_stack([first, X[:, -self.n_text :]]))


class SessionAllianceEstimator(RegressorMixin, BaseEstimator):
    """Ridge per target (and per kind of text) + split-conformal intervals, NaN targets masked.

    ``y`` is (n, n_targets), ``TARGETS`` order by convention, with NaN where a source gives no
    rating; each target's model sees only the sessions rated for it. A target with fewer than
    ``MIN_RATED`` ratings falls back to the mean of the other targets' predictions and the
    widest interval. A 1-D ``y`` gives 1-D predictions.

    Args:
        alphas: Ridge penalties tried by leave-one-out cross-validation.
        coverage: Nominal coverage of the intervals.
        calibration_fraction: Share of each model's rated sessions held out to calibrate.
        random_state: Seed of the calibration split and the folds.
        scale: (low, high) the predictions and intervals are clipped to (the WAI-SR item
            scale); None leaves them unclipped.
        kind_columns: Columns of ``X`` holding the one-hot kind of text; None reads every row
            with the shared model alone.
        n_named: The first ``n_named`` columns are the named signals (a kind's model may read
            them alone); None: all columns.
        min_kind_rated: Rated sessions a kind needs, per target, for a model of its own.
        folds: Cross-validation folds for a kind's feature choice.
        n_text: The last ``n_text`` columns are the text model's scores
            (:mod:`pipeline.sessions.text_model`); 0 when the estimator reads no text scores.
    """

    def __init__(
        self,
        alphas=(0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
        coverage=0.8,
        calibration_fraction=0.25,
        random_state=0,
        scale=SCALE,
        kind_columns=KIND_COLUMNS,
        n_named=len(SIGNAL_NAMES),
        min_kind_rated=40,
        folds=5,
        n_text=0,
    ):
        self.alphas = alphas
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state
        self.scale = scale
        self.kind_columns = kind_columns
        self.n_named = n_named
        self.min_kind_rated = min_kind_rated
        self.folds = folds
        self.n_text = n_text

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.multi_output = True
        # Clipping to the rating scale scores poorly on generic (standardised) test targets.
        tags.regressor_tags.poor_score = self.scale is not None
        return tags

    def _clip(self, values: np.ndarray) -> np.ndarray:
        return values if self.scale is None else np.clip(values, *self.scale)

    def _kinds(self, X: np.ndarray) -> np.ndarray:
        """Each row's kind (index into ``kind_columns``), -1 where none is set."""
        if not self.kind_columns or X.shape[1] <= max(self.kind_columns):
            return np.full(len(X), -1)
        one_hot = X[:, list(self.kind_columns)]
        return np.where(one_hot.max(1) > 0, one_hot.argmax(1), -1)

    def _feature_sets(self) -> tuple[str, ...]:
        return TEXT_FEATURE_SETS if self.n_text else FEATURE_SETS

    def _columns_of(self, feature_set: str, width: int) -> np.ndarray:
        text = np.arange(width - self.n_text, width)
        base = width - self.n_text
        named = base if self.n_named is None else min(self.n_named, base)
        columns = np.arange(named if feature_set.startswith("named") else base)
        reads_text = feature_set.endswith("+text") or feature_set == "stacked"
        return np.concatenate([columns, text]) if reads_text else columns

    def fit(self, X, y, sample_weight=None, groups=None, strata=None):
        """Fit each target on its rated rows: a shared model, and one per kind with enough.

        Args:
            X: (n, d) session vectors.
            y: (n, n_targets) or (n,) targets, NaN where unrated.
            sample_weight: Optional (n,) weights, e.g. to balance sources so a large corpus
                does not drown a small one.
            groups: Optional (n,) client or conversation ids: the folds of a kind's feature
                choice never split one.
            strata: Optional (n,) sources: a kind's feature choice ranks within each source
                (ratings of different sources are not on one scale), weighing each by its size.
        """
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        X = np.nan_to_num(validate_data(self, X, ensure_all_finite="allow-nan", dtype=float))
        y = np.asarray(y, dtype=float)
        self.single_output_ = y.ndim == 1
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        weights = (
            np.ones(len(X))
            if sample_weight is None
            else np.asarray(sample_weight, dtype=float).reshape(len(X))
        )
        groups = np.arange(len(X)) if groups is None else np.asarray(groups)
        strata = np.zeros(len(X)) if strata is None else np.asarray(strata)
        every = np.arange(X.shape[1])
        self.models_ = []
        for column in range(y.shape[1]):
            rated = ~np.isnan(y[:, column])
            self.models_.append(
                (every, self._fit_target(X[rated], y[rated, column], weights[rated]))
                if rated.sum() >= MIN_RATED
                else None
            )
        if all(model is None for model in self.models_):
            raise ValueError(
                f"n_samples={len(X)}: no target has at least {MIN_RATED} rated sessions"
            )
        kinds = self._kinds(X)
        self.kind_models_: dict[int, list] = {}
        self.kind_features_: dict[int, list] = {}
        for kind in sorted(set(kinds.tolist()) - {-1}):
            own, chosen = [], []
            for column in range(y.shape[1]):
                rows = (kinds == kind) & ~np.isnan(y[:, column])
                if rows.sum() < max(self.min_kind_rated, MIN_RATED):
                    own.append(None)
                    chosen.append(None)
                    continue
                feature_set = self._choose_features(
                    X[rows], y[rows, column], weights[rows], groups[rows], strata[rows]
                )
                columns = self._columns_of(feature_set, X.shape[1])
                fitted = self._fit_target(
                    X[rows][:, columns], y[rows, column], weights[rows], feature_set, groups[rows]
                )
                own.append((columns, fitted))
                chosen.append(feature_set)
            self.kind_models_[kind] = own
            self.kind_features_[kind] = chosen
        return self

    def _choose_features(self, X, y, weights, groups, strata) -> str:
        """The feature set whose out-of-fold predictions rank these sessions best: Spearman
        within each stratum (source), averaged over the strata that can be ranked.

        Ranking, not squared error, is what the estimates are read for (the clinic's low line,
        approach fit, every held-out figure): a ridge over the pooled vectors can rank well
        while its errors are larger, and the squared error then picks the wrong set. Within a
        source, because two sources' ratings (AnnoMI's MI quality, the note sessions' client
        ratings) are not one scale, and a pooled ranking would reward telling sources apart;
        each source's ranking weighs by its size (:func:`_mean_within`).
        """
        folds = _folds(len(y), groups, self.folds, self.random_state)
        scores = {}
        for feature_set in self._feature_sets():
            columns = self._columns_of(feature_set, X.shape[1])
            predicted = np.zeros(len(y))
            for train, held in folds:
                model = self._model(feature_set).fit(
                    X[train][:, columns],
                    y[train],
                    **self._fit_args(feature_set, weights[train], groups[train]),
                )
                predicted[held] = model.predict(X[held][:, columns])
            scores[feature_set] = _mean_within(predicted, y, strata)
        return max(scores, key=lambda name: scores[name])

    def _model(self, feature_set: str):
        if feature_set == "stacked":
            return StackedRidge(self.alphas, self.n_text, self.folds, self.random_state)
        return _ridge(self.alphas)

    @staticmethod
    def _fit_args(feature_set: str, weights: np.ndarray, groups: np.ndarray | None) -> dict:
        """``fit``'s weight (and, stacked, group) arguments of a feature set's model."""
        if feature_set == "stacked":
            return {"sample_weight": weights, "groups": groups}
        return {"ridgecv__sample_weight": weights}

    def _fit_target(
        self, X, y, weights, feature_set: str = "all", groups=None
    ) -> SplitConformalRegressor:
        # Split conformal needs at least 1 / (1 - coverage) calibration rows.
        minimum = int(np.ceil(1 / (1 - self.coverage)))
        n_cal = min(len(y) - 2, max(minimum, round(len(y) * self.calibration_fraction)))
        groups = np.arange(len(y)) if groups is None else np.asarray(groups)
        X_fit, X_cal, y_fit, y_cal, w_fit, _, g_fit, _ = train_test_split(
            X, y, weights, groups, test_size=n_cal, random_state=self.random_state
        )
        base = self._model(feature_set).fit(
            X_fit, y_fit, **self._fit_args(feature_set, w_fit, g_fit)
        )
        conformal = SplitConformalRegressor(base, confidence_level=self.coverage, prefit=True)
        return conformal.conformalize(X_cal, y_cal)

    def _columns(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        check_is_fitted(self, "models_")
        X = np.nan_to_num(
            validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        )
        n_targets = len(self.models_)
        center = np.full((len(X), n_targets), np.nan)
        low, high = center.copy(), center.copy()
        kinds = self._kinds(X)
        for j in range(n_targets):
            for kind in sorted(set(kinds.tolist())):
                rows = kinds == kind
                fitted = self.kind_models_.get(kind, [None] * n_targets)[j] or self.models_[j]
                if fitted is None:
                    continue
                columns, model = fitted
                estimate, bounds = model.predict_interval(X[rows][:, columns])
                center[rows, j], low[rows, j], high[rows, j] = (
                    estimate,
                    bounds[:, 0, 0],
                    bounds[:, 1, 0],
                )
        known = [j for j in range(n_targets) if not np.isnan(center[:, j]).all()]
        filler = center[:, known].mean(1)
        width = max(float(np.nanmax(high[:, j] - low[:, j])) for j in known) / 2
        for j in set(range(n_targets)) - set(known):
            center[:, j], low[:, j], high[:, j] = filler, filler - width, filler + width
        return center, low, high

    def predict_with_interval(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(center, low, high) in one pass over the models: the center clipped to the scale,
        the interval clipped and around it; each like :meth:`predict`."""
        center, low, high = self._columns(X)
        center = self._clip(center)
        low = np.minimum(self._clip(low), center)
        high = np.maximum(self._clip(high), center)
        if self.single_output_:
            return center.ravel(), low.ravel(), high.ravel()
        return center, low, high

    def predict(self, X):
        """Point estimates clipped to ``scale``: (n, n_targets), or (n,) for 1-D ``y``."""
        return self.predict_with_interval(X)[0]

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(low, high), each like :meth:`predict`, clipped to the scale and around the center."""
        return self.predict_with_interval(X)[1:]


def session_row(pairs: Sequence, kind: str | None) -> np.ndarray:
    """The named signals of one session from its (Passage, PassageScores) pairs and its kind of
    text; the stored pooled vectors are appended by the caller."""
    return session_signals([s for _, s in pairs], [p.speaker for p, _ in pairs], kind)


def estimate_sessions(
    sessions: Sequence,
    rows: dict[str, np.ndarray],
    n_passages: dict[str, int],
    estimator: SessionAllianceEstimator,
    model_version: str,
    text_scores: dict[str, np.ndarray] | None = None,
) -> list:
    """Session estimates from precomputed session rows.

    Args:
        sessions: ``Session`` records.
        rows: session_id -> estimator input row (:func:`session_row`).
        n_passages: session_id -> number of passages.
        estimator: A fitted :class:`SessionAllianceEstimator`.
        model_version: Recorded on each estimate.
        text_scores: session_id -> the text model's scores, appended to the row when the
            estimator reads them (``n_text``).
    """
    if not sessions:
        return []
    X = np.vstack([rows[s.session_id] for s in sessions])
    if estimator.n_text:
        X = np.hstack([X, np.vstack([text_scores[s.session_id] for s in sessions])])
    center, low, high = estimator.predict_with_interval(X)
    estimates = []
    for i, session in enumerate(sessions):
        values = {}
        for j, target in enumerate(TARGETS):
            values[target] = round(float(center[i, j]), 3)
            values[f"{target}_low"] = round(float(low[i, j]), 3)
            values[f"{target}_high"] = round(float(high[i, j]), 3)
        estimates.append(
            SessionEstimate(
                session_id=session.session_id,
                client_id=session.client_id,
                clinician_id=session.clinician_id,
                session_date=session.session_date,
                n_passages=n_passages.get(session.session_id, 0),
                model_version=model_version,
                **values,
            )
        )
    return estimates
