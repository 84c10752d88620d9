from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.model.artifacts import load_skops, save_skops
from pipeline.sessions.estimator import SessionAllianceEstimator


def _regression(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = 3 + 0.4 * np.column_stack([X[:, 0], -X[:, 1], X[:, 2], X[:, 0] - X[:, 1]])
    return X, np.clip(y + 0.1 * rng.normal(size=y.shape), 1, 5)


def test_aggregate_estimator_overfit_save_load_same_predictions(tmp_path: Path):
    X, y = _regression()
    estimator = SessionAllianceEstimator(alphas=(0.01,)).fit(X, y)
    predicted = estimator.predict(X)
    assert np.abs(predicted - y).mean() < 0.12
    save_skops(estimator, tmp_path / "e.skops")
    loaded = load_skops(tmp_path / "e.skops")
    np.testing.assert_array_equal(loaded.predict(X), predicted)
    np.testing.assert_array_equal(loaded.predict_interval(X)[0], estimator.predict_interval(X)[0])


def test_aggregate_intervals_cover_about_nominal_on_new_data():
    X, y = _regression(n=2000)
    estimator = SessionAllianceEstimator().fit(X[:1000], y[:1000])
    low, high = estimator.predict_interval(X[1000:])
    coverage = ((low <= y[1000:]) & (y[1000:] <= high)).mean(0)
    assert np.all(np.abs(coverage - 0.8) < 0.06), coverage


def test_aggregate_missing_targets_are_masked_and_fall_back():
    X, y = _regression()
    y[:, 2] = np.nan  # nobody rated goal
    y[::2, 0] = np.nan
    estimator = SessionAllianceEstimator().fit(X, y)
    predicted = estimator.predict(X)
    assert [m is None for m in estimator.models_] == [False, False, True, False]
    assert np.all((predicted >= 1) & (predicted <= 5))
    low, high = estimator.predict_interval(X)
    assert np.all(low <= high)


def test_aggregate_estimator_rejects_mismatched_rows():
    with pytest.raises(ValueError):
        SessionAllianceEstimator().fit(np.zeros((5, 2)), np.zeros((4, 4)))


def test_aggregate_single_target_gives_one_dimensional_predictions():
    X, y = _regression()
    estimator = SessionAllianceEstimator().fit(X, y[:, 0])
    assert estimator.predict(X).shape == (len(X),)
    low, high = estimator.predict_interval(X)
    assert low.shape == (len(X),) and np.all(low <= high)


# Weights act on the fit, not on the random calibration split, so weighting a row is not the
# same as repeating it; that is the one check the conformal split cannot pass.
WEIGHT_CHECK = {
    "check_sample_weight_equivalence_on_dense_data": "the calibration split is by rows",
}


@parametrize_with_checks(
    [SessionAllianceEstimator(), SessionAllianceEstimator(scale=None)],
    expected_failed_checks=lambda estimator: WEIGHT_CHECK,
)
def test_aggregate_estimator_follows_the_sklearn_contract(estimator, check):
    check(estimator)
