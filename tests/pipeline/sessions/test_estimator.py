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


def _two_kinds(n_per_kind=80, noise_columns=0, seed=0):
    """Rows of two kinds of text (one-hot in columns 2 and 3) whose targets run opposite ways
    in column 0, so one shared linear model cannot fit both."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2 * n_per_kind, 2))
    kind = np.repeat([0, 1], n_per_kind)
    one_hot = np.eye(2)[kind]
    noise = rng.normal(size=(2 * n_per_kind, noise_columns))
    X = np.column_stack([x, one_hot, noise])
    sign = np.where(kind == 0, 1.0, -1.0)
    y = 3 + 0.8 * sign * x[:, 0] + 0.05 * rng.normal(size=len(x))
    return X, np.column_stack([y, y]), kind


def test_aggregate_each_kind_of_text_gets_its_own_model():
    X, y, kind = _two_kinds()
    aware = SessionAllianceEstimator(kind_columns=(2, 3), n_named=4, min_kind_rated=40).fit(X, y)
    blind = SessionAllianceEstimator(kind_columns=None).fit(X, y)
    assert sorted(aware.kind_models_) == [0, 1]
    aware_error = np.abs(aware.predict(X) - y).mean()
    blind_error = np.abs(blind.predict(X) - y).mean()
    assert aware_error < 0.15 < blind_error


def test_aggregate_a_kind_with_few_ratings_is_read_by_the_shared_model():
    X, y, kind = _two_kinds(n_per_kind=30)
    estimator = SessionAllianceEstimator(kind_columns=(2, 3), n_named=4, min_kind_rated=40)
    estimator.fit(X, y)
    assert all(model is None for model in estimator.kind_models_[0])
    shared = SessionAllianceEstimator(kind_columns=None).fit(X, y)
    np.testing.assert_allclose(estimator.predict(X), shared.predict(X))


def test_aggregate_a_kind_reads_the_named_signals_alone_when_the_rest_is_noise():
    X, y, kind = _two_kinds(n_per_kind=60, noise_columns=120)
    estimator = SessionAllianceEstimator(kind_columns=(2, 3), n_named=4, min_kind_rated=40)
    estimator.fit(X, y, groups=np.arange(len(X)) // 3)
    assert estimator.kind_features_[0] == ["named", "named"]


def test_aggregate_kind_models_overfit_save_load_same_predictions(tmp_path: Path):
    X, y, _ = _two_kinds()
    estimator = SessionAllianceEstimator(alphas=(0.01,), kind_columns=(2, 3), n_named=4).fit(X, y)
    assert np.abs(estimator.predict(X) - y).mean() < 0.1
    save_skops(estimator, tmp_path / "e.skops")
    loaded = load_skops(tmp_path / "e.skops")
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    np.testing.assert_array_equal(loaded.predict_interval(X)[1], estimator.predict_interval(X)[1])


def test_aggregate_a_kind_reads_the_text_scores_when_they_carry_the_rating():
    X, y, kind = _two_kinds(n_per_kind=60, noise_columns=0)
    rng = np.random.default_rng(1)
    hidden = rng.normal(size=len(X))  # what only the session's words tell
    y = y + 0.8 * hidden[:, None]
    text = hidden + 0.1 * rng.normal(size=len(X))
    estimator = SessionAllianceEstimator(kind_columns=(2, 3), n_named=4, n_text=1)
    estimator.fit(np.column_stack([X, text]), y, groups=np.arange(len(X)) // 3)
    assert all(chosen.endswith("+text") for chosen in estimator.kind_features_[0])
    blind = SessionAllianceEstimator(kind_columns=(2, 3), n_named=4).fit(X, y)
    error = np.abs(estimator.predict(np.column_stack([X, text])) - y).mean()
    assert error < np.abs(blind.predict(X) - y).mean() - 0.2


def test_aggregate_feature_choice_ranks_within_each_source():
    from pipeline.sessions.estimator import _mean_within

    truth = np.array([1.0, 1.5, 2, 2.5, 3, 4, 4.25, 4.5, 4.75, 5])
    strata = np.array(["a"] * 5 + ["b"] * 5)
    # Tells the sources apart (b high, a low) but ranks backwards within each.
    apart = np.array([5.0, 4, 3, 2, 1, 10, 9, 8, 7, 6])
    within = np.array([1.0, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    assert _mean_within(within, truth, strata) == pytest.approx(1.0)
    assert _mean_within(apart, truth, strata) == pytest.approx(-1.0)
    assert _mean_within(apart, truth, np.zeros(10)) > 0  # pooled, it would look right


def test_aggregate_feature_choice_weighs_each_source_by_its_size():
    from pipeline.sessions.estimator import _mean_within

    rng = np.random.default_rng(0)
    big, small = np.arange(40.0), np.arange(6.0)
    truth = np.concatenate([big, small])
    strata = np.array(["big"] * 40 + ["small"] * 6)
    # Right on the large source, backwards on the small one: weighted by n - 3, 37 against 3.
    predicted = np.concatenate([big + rng.normal(0, 0.1, 40), -small])
    assert _mean_within(predicted, truth, strata) == pytest.approx((37 - 3) / 40, abs=0.01)


def test_aggregate_feature_sets_place_the_text_columns_last():
    estimator = SessionAllianceEstimator(n_named=3, n_text=2)
    assert estimator._columns_of("named", 8).tolist() == [0, 1, 2]
    assert estimator._columns_of("named+text", 8).tolist() == [0, 1, 2, 6, 7]
    assert estimator._columns_of("all+text", 8).tolist() == list(range(8))
    assert estimator._columns_of("all", 8).tolist() == [0, 1, 2, 3, 4, 5]
    assert estimator._columns_of("stacked", 8).tolist() == list(range(8))
    assert SessionAllianceEstimator()._feature_sets() == ("named", "all")  # no text columns
    assert estimator._feature_sets() == ("all", "all+text", "stacked")


def test_aggregate_stacked_trusts_a_strong_text_score_that_a_wide_ridge_shrinks():
    # 400 noise columns and one weak signal column: a ridge over all of them with the text
    # score appended shrinks the score with the rest; stacked, it weighs it as one of two.
    rng = np.random.default_rng(3)
    n = 160
    signal, hidden = rng.normal(size=n), rng.normal(size=n)
    y = (3 + 0.3 * signal + 0.6 * hidden).clip(1, 5)
    rows = np.column_stack([signal, rng.normal(size=(n, 400))])
    X = np.column_stack([rows, hidden + 0.3 * rng.normal(size=n)])
    train, held = np.arange(120), np.arange(120, n)
    errors = {}
    for feature_set in ("all+text", "stacked"):
        estimator = SessionAllianceEstimator(kind_columns=None, n_text=1)
        model = estimator._model(feature_set).fit(
            X[train], y[train], **estimator._fit_args(feature_set, np.ones(120), None)
        )
        errors[feature_set] = np.abs(model.predict(X[held]) - y[held]).mean()
    assert errors["stacked"] < errors["all+text"] - 0.05


def test_aggregate_stacked_overfit_save_load_same_predictions(tmp_path: Path):
    from pipeline.sessions.estimator import StackedRidge

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 6))
    y = 3 + X[:, 0] + X[:, -1]
    model = StackedRidge(alphas=(0.01,), n_text=1).fit(X, y)
    # Not exact: the second stage learns from out-of-fold estimates, noisier than the final ones.
    assert np.abs(model.predict(X) - y).mean() < 0.15 * y.std()
    assert np.abs(model.second_[-1].coef_).min() > 0.5  # both stages carry the rating
    save_skops(model, tmp_path / "s.skops")
    np.testing.assert_array_equal(load_skops(tmp_path / "s.skops").predict(X), model.predict(X))
