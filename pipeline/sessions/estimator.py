"""Per-session alliance estimates on the WAI-SR item scale (1-5) with conformal intervals.

:class:`SessionAllianceEstimator` maps a session vector (:mod:`pipeline.sessions.features`) to task,
bond, goal and overall. Each target has its own ridge regression (regularisation chosen by
internal cross-validation) wrapped in MAPIE's split-conformal regressor, so the 80% intervals
come with a finite-sample coverage guarantee on data like the calibration data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mapie.regression import SplitConformalRegressor
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.schemas import SessionEstimate
from pipeline.sessions.features import session_signals

TARGETS = ("task", "bond", "goal", "overall")
SCALE = (1.0, 5.0)
MIN_RATED = 8  # sessions a target needs before it gets a model of its own


class SessionAllianceEstimator(RegressorMixin, BaseEstimator):
    """Ridge per target + split-conformal intervals (MAPIE), NaN targets masked.

    ``y`` is (n, n_targets), ``TARGETS`` order by convention, with NaN where a source gives no
    rating; each target's model sees only the sessions rated for it. A target with fewer than
    ``MIN_RATED`` ratings falls back to the mean of the other targets' predictions and the
    widest interval. A 1-D ``y`` gives 1-D predictions.

    Args:
        alphas: Ridge penalties tried by leave-one-out cross-validation.
        coverage: Nominal coverage of the intervals.
        calibration_fraction: Share of each target's rated sessions held out to calibrate.
        random_state: Seed of the calibration split.
        scale: (low, high) the predictions and intervals are clipped to (the WAI-SR item
            scale); None leaves them unclipped.
    """

    def __init__(
        self,
        alphas=(0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
        coverage=0.8,
        calibration_fraction=0.25,
        random_state=0,
        scale=SCALE,
    ):
        self.alphas = alphas
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state
        self.scale = scale

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.multi_output = True
        # Clipping to the rating scale scores poorly on generic (standardised) test targets.
        tags.regressor_tags.poor_score = self.scale is not None
        return tags

    def _clip(self, values: np.ndarray) -> np.ndarray:
        return values if self.scale is None else np.clip(values, *self.scale)

    def fit(self, X, y, sample_weight=None):
        """Fit each target on its rated rows.

        Args:
            X: (n, d) session vectors.
            y: (n, n_targets) or (n,) targets, NaN where unrated.
            sample_weight: Optional (n,) weights, e.g. to balance sources so a large corpus
                does not drown a small one.
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
        self.models_ = []
        for column in range(y.shape[1]):
            rated = ~np.isnan(y[:, column])
            self.models_.append(
                self._fit_target(X[rated], y[rated, column], weights[rated])
                if rated.sum() >= MIN_RATED
                else None
            )
        if all(model is None for model in self.models_):
            raise ValueError(
                f"n_samples={len(X)}: no target has at least {MIN_RATED} rated sessions"
            )
        return self

    def _fit_target(self, X, y, weights) -> SplitConformalRegressor:
        # Split conformal needs at least 1 / (1 - coverage) calibration rows.
        minimum = int(np.ceil(1 / (1 - self.coverage)))
        n_cal = min(len(y) - 2, max(minimum, round(len(y) * self.calibration_fraction)))
        X_fit, X_cal, y_fit, y_cal, w_fit, _ = train_test_split(
            X, y, weights, test_size=n_cal, random_state=self.random_state
        )
        base = make_pipeline(
            StandardScaler(), RidgeCV(alphas=np.asarray(self.alphas, dtype=float))
        ).fit(X_fit, y_fit, ridgecv__sample_weight=w_fit)
        conformal = SplitConformalRegressor(base, confidence_level=self.coverage, prefit=True)
        return conformal.conformalize(X_cal, y_cal)

    def _columns(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        check_is_fitted(self, "models_")
        X = np.nan_to_num(
            validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=float)
        )
        centers, lows, highs = [], [], []
        for model in self.models_:
            if model is None:
                centers.append(None)
                lows.append(None)
                highs.append(None)
                continue
            center, bounds = model.predict_interval(X)
            centers.append(center)
            lows.append(bounds[:, 0, 0])
            highs.append(bounds[:, 1, 0])
        known = [i for i, c in enumerate(centers) if c is not None]
        filler = np.mean([centers[i] for i in known], axis=0)
        width = max(float(np.max(highs[i] - lows[i])) for i in known) / 2
        for i, center in enumerate(centers):
            if center is None:
                centers[i], lows[i], highs[i] = filler, filler - width, filler + width
        return np.column_stack(centers), np.column_stack(lows), np.column_stack(highs)

    def predict(self, X):
        """Point estimates clipped to ``scale``: (n, n_targets), or (n,) for 1-D ``y``."""
        center = self._clip(self._columns(X)[0])
        return center.ravel() if self.single_output_ else center

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(low, high), each like :meth:`predict`, clipped to the scale and around the center."""
        center, low, high = self._columns(X)
        center = self._clip(center)
        low = np.minimum(self._clip(low), center)
        high = np.maximum(self._clip(high), center)
        return (low.ravel(), high.ravel()) if self.single_output_ else (low, high)


def session_row(pairs: Sequence) -> np.ndarray:
    """The named signals of one session from its (Passage, PassageScores) pairs; the stored
    pooled vectors are appended by the caller."""
    signals = session_signals([s for _, s in pairs], [p.speaker for p, _ in pairs])
    return signals


def estimate_sessions(
    sessions: Sequence,
    rows: dict[str, np.ndarray],
    n_passages: dict[str, int],
    estimator: SessionAllianceEstimator,
    model_version: str,
) -> list:
    """Session estimates from precomputed session rows.

    Args:
        sessions: ``Session`` records.
        rows: session_id -> estimator input row (:func:`session_row`).
        n_passages: session_id -> number of passages.
        estimator: A fitted :class:`SessionAllianceEstimator`.
        model_version: Recorded on each estimate.
    """
    if not sessions:
        return []
    X = np.vstack([rows[s.session_id] for s in sessions])
    center = estimator.predict(X)
    low, high = estimator.predict_interval(X)
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
