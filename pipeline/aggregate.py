"""Passage signals -> per-session alliance estimates on the WAI-SR item scale with intervals.

:func:`session_features` pools passage scores into one fixed-length vector per session;
:class:`SessionAllianceEstimator` maps it to task, bond, goal and overall (1-5) with 80%
split-conformal intervals. Features are computed once and reused by the flags and the report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline.heads import ALLIANCE_HEADS, EMPATHY_HEADS
from pipeline.schemas import PassageScores

TARGETS = ("task", "bond", "goal", "overall")
SCALE = (1.0, 5.0)

FEATURE_NAMES: tuple[str, ...] = (
    *(f"{name}_mean" for name in ALLIANCE_HEADS),
    *(f"{name}_p90" for name in ALLIANCE_HEADS),
    "strain_mean",
    "strain_max",
    "strain_share",
    *(f"{name}_level" for name in EMPATHY_HEADS),
    "reflection_share",
    "question_share",
    "input_share",
    "reflection_to_question",
    "change_share",
    "sustain_share",
    "client_share",
    "log_passages",
)


def _share(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else 0.0


def session_features(scores: Sequence[PassageScores], speakers: Sequence[str]) -> np.ndarray:
    """Pool one session's passage scores into the ``FEATURE_NAMES`` vector.

    Args:
        scores: Scores of the session's passages, in order.
        speakers: Each passage's speaker ("clinician" or "client").

    Returns:
        float64 vector of ``len(FEATURE_NAMES)``; zeros for an empty session.
    """
    if not scores:
        return np.zeros(len(FEATURE_NAMES))
    alliance = np.array([[s.alliance[h] for h in ALLIANCE_HEADS] for s in scores])
    strain = np.array([s.strain for s in scores])
    levels = np.array([[np.dot(s.empathy[h], (0, 1, 2)) for h in EMPATHY_HEADS] for s in scores])
    mi = np.array(
        [
            [s.aux["mi_behaviour"][k] for k in ("reflection", "question", "therapist_input")]
            for s in scores
        ]
    )
    talk = np.array([[s.aux["client_talk"][k] for k in ("change", "sustain")] for s in scores])
    client = np.array([speaker == "client" for speaker in speakers])
    clinician = ~client
    reflection = _share(mi[:, 0], clinician)
    question = _share(mi[:, 1], clinician)
    return np.array(
        [
            *alliance.mean(0),
            *np.quantile(alliance, 0.9, axis=0),
            strain.mean(),
            strain.max(),
            float((strain >= 0.5).mean()),
            *(levels[clinician].mean(0) if clinician.any() else np.zeros(3)),
            reflection,
            question,
            _share(mi[:, 2], clinician),
            reflection / (question + 0.05),
            _share(talk[:, 0], client),
            _share(talk[:, 1], client),
            float(client.mean()),
            float(np.log1p(len(scores))),
        ]
    )


class SessionAllianceEstimator(RegressorMixin, BaseEstimator):
    """Ridge regression per alliance target with split-conformal 80% intervals.

    ``y`` is (n, 4) in ``TARGETS`` order with NaN where a source gives no rating for a target;
    each target's model sees only the sessions rated for it. A share of those sessions is held
    out to calibrate the interval half-width (the ``coverage`` quantile of absolute residuals).

    Args:
        alpha: Ridge regularisation.
        coverage: Nominal interval coverage.
        calibration_fraction: Share of rated sessions held out for calibration.
        random_state: Seed of the calibration split.
    """

    def __init__(self, alpha=1.0, coverage=0.8, calibration_fraction=0.25, random_state=0):
        self.alpha = alpha
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state

    def fit(self, X, y):
        X = np.nan_to_num(validate_data(self, X, ensure_all_finite="allow-nan"))
        # NaN in y means "not rated"; sklearn's y checks refuse NaN, so check shape by hand.
        y = np.asarray(y, dtype=float)
        y = y.reshape(len(X), -1) if y.ndim == 1 else y
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.n_targets_ = y.shape[1]
        self.models_, self.half_widths_, self.fallback_ = [], [], []
        for column in range(self.n_targets_):
            rated = ~np.isnan(y[:, column])
            # A target nobody rated falls back to the mean of the other targets' predictions.
            self.fallback_.append(bool(rated.sum() < 4))
            if self.fallback_[-1]:
                self.models_.append(None)
                self.half_widths_.append(np.nan)
                continue
            X_fit, X_cal, y_fit, y_cal = train_test_split(
                X[rated],
                y[rated, column],
                test_size=self.calibration_fraction,
                random_state=self.random_state,
            )
            model = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)).fit(X_fit, y_fit)
            residuals = np.abs(y_cal - model.predict(X_cal))
            level = min(1.0, np.ceil((len(residuals) + 1) * self.coverage) / len(residuals))
            self.half_widths_.append(float(np.quantile(residuals, level)))
            self.models_.append(model.fit(X[rated], y[rated, column]))
        if all(self.fallback_):
            raise ValueError("no target has at least 4 rated sessions")
        return self

    def _raw(self, X) -> np.ndarray:
        check_is_fitted(self, "models_")
        X = np.nan_to_num(validate_data(self, X, reset=False, ensure_all_finite="allow-nan"))
        columns = [m.predict(X) if m is not None else None for m in self.models_]
        known = np.column_stack([c for c in columns if c is not None])
        filler = known.mean(1)
        return np.column_stack([c if c is not None else filler for c in columns])

    def predict(self, X):
        """Point estimates, clipped to the 1-5 scale, shape (n, n_targets)."""
        return np.clip(self._raw(X), *SCALE)

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bounds, each (n, n_targets), clipped to the 1-5 scale.

        A fallback target takes the widest calibrated half-width.
        """
        center = self._raw(X)
        widths = np.array(self.half_widths_, dtype=float)
        widths = np.where(np.isnan(widths), np.nanmax(widths), widths)
        return np.clip(center - widths, *SCALE), np.clip(center + widths, *SCALE)


def estimate_sessions(
    sessions: Sequence, scored: dict, estimator: SessionAllianceEstimator, model_version: str
) -> tuple[list, dict[str, list[float]]]:
    """Session estimates for sessions whose passages are scored.

    Args:
        sessions: ``Session`` records.
        scored: session_id -> list of (Passage, PassageScores).
        estimator: A fitted :class:`SessionAllianceEstimator`.
        model_version: Recorded on each estimate.

    Returns:
        (estimates, session_id -> feature vector as a list).
    """
    from pipeline.schemas import SessionEstimate

    if not sessions:
        return [], {}
    rows = []
    for session in sessions:
        pairs = scored.get(session.session_id, [])
        rows.append(session_features([s for _, s in pairs], [p.speaker for p, _ in pairs]))
    X = np.vstack(rows)
    center = estimator.predict(X)
    low, high = estimator.predict_interval(X)
    estimates = []
    for i, session in enumerate(sessions):
        values = {}
        for j, target in enumerate(TARGETS):
            values[target] = round(float(center[i, j]), 3)
            values[f"{target}_low"] = round(float(min(low[i, j], center[i, j])), 3)
            values[f"{target}_high"] = round(float(max(high[i, j], center[i, j])), 3)
        estimates.append(
            SessionEstimate(
                session_id=session.session_id,
                client_id=session.client_id,
                clinician_id=session.clinician_id,
                session_date=session.session_date,
                n_passages=len(scored.get(session.session_id, [])),
                model_version=model_version,
                **values,
            )
        )
    return estimates, {s.session_id: rows[i].tolist() for i, s in enumerate(sessions)}
