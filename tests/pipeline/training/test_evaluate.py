"""Held-out metrics: session metrics per target and source, the AUC and its interval."""

import numpy as np
import pytest

from pipeline.training.evaluate import auc_interval, session_metrics


def test_evaluate_auc_interval_brackets_the_auc_and_narrows_with_data():
    rng = np.random.default_rng(0)
    small = np.r_[np.ones(3, bool), np.zeros(20, bool)]
    auc, (low, high) = auc_interval(small, small + rng.normal(0, 1.5, len(small)))
    assert low <= auc <= high
    large = np.r_[np.ones(100, bool), np.zeros(600, bool)]
    auc_l, (low_l, high_l) = auc_interval(large, large + rng.normal(0, 1.5, len(large)))
    assert low_l <= auc_l <= high_l and high_l - low_l < (high - low) / 2  # 3 positives: wide


def test_evaluate_auc_interval_is_seeded():
    positive = np.array([1, 1, 0, 0, 0, 1, 0], bool)
    scores = np.array([0.9, 0.4, 0.5, 0.1, 0.3, 0.8, 0.6])
    assert auc_interval(positive, scores) == auc_interval(positive, scores)
    assert auc_interval(positive, scores)[0] == pytest.approx(10 / 12)


def test_evaluate_session_metrics_two_valued_target_gets_auc_and_counts():
    truth = np.array([4.0] * 6 + [2.0] * 3)
    predicted = np.array([3.9, 3.8, 3.5, 3.6, 3.7, 3.4, 3.0, 3.45, 3.1])
    targets = np.column_stack([truth])
    metrics = session_metrics(
        predicted[:, None], targets - 1, targets + 1, targets, ["annomi"] * 9, ["overall"]
    )
    entry = metrics["overall/annomi"]
    assert entry["n"] == 9 and entry["n_low"] == 3 and entry["coverage_80"] == 1.0
    assert entry["auc"] == round(17 / 18, 4)  # one (high, low) pair out of 18 is misordered
    assert entry["auc_ci95"][0] <= entry["auc"] <= entry["auc_ci95"][1]
