from pathlib import Path

import numpy as np
import pytest

from pipeline.model.classify import to_scores
from pipeline.model.heads import HEADS
from pipeline.model.quick import PassageHeads
from tests.helpers import all_class_labels


def _data(n=120, d=16, seed=0):
    rng = np.random.default_rng(seed)
    labels = all_class_labels(n, seed)
    # Make each head's class linearly recoverable so the heads can overfit.
    X = rng.normal(size=(n, d))
    for j, head in enumerate(HEADS):
        X[:, j] += 3 * np.array([row[head.name] for row in labels])
    return X, labels


def test_passage_model_overfit_save_load_same_predictions(tmp_path: Path):
    X, labels = _data()
    heads = PassageHeads(C=100.0).fit(X, labels)
    before = heads.predict_proba(X)
    for head in HEADS:
        truth = np.array([row[head.name] for row in labels])
        assert (before[head.name].argmax(1) == truth).mean() > 0.9, head.name
    heads.save(tmp_path)
    after = PassageHeads.load(tmp_path).predict_proba(X)
    for head in HEADS:
        np.testing.assert_array_equal(before[head.name], after[head.name])


def test_passage_model_masked_heads_train_only_on_labeled_rows():
    X, labels = _data()
    for row in labels[60:]:
        row.pop("goal")
    X[60:, 2] = 0  # the goal signal is absent from unlabeled rows: they must not matter
    heads = PassageHeads().fit(X, labels)
    assert heads.estimators["goal"].n_features_in_ == X.shape[1]


def test_passage_model_head_without_two_classes_is_uniform():
    X, labels = _data()
    for row in labels:
        row["strain"] = 0
    heads = PassageHeads().fit(X, labels)
    assert "strain" not in heads.estimators
    assert np.allclose(heads.predict_proba(X[:2])["strain"], 0.5)


def test_passage_model_no_labels_is_an_error():
    with pytest.raises(ValueError, match="nothing to train"):
        PassageHeads().fit(np.zeros((3, 2)), [{}, {}, {}])


def test_passage_model_scores_have_the_contract_shape():
    X, labels = _data()
    scores = to_scores(PassageHeads().fit(X, labels).predict_proba(X[:1]), 0)
    assert set(scores.alliance) == {"task", "bond", "goal"}
    assert set(scores.empathy) == {"emotional_reaction", "interpretation", "exploration"}
    assert all(len(v) == 3 and abs(sum(v) - 1) < 1e-3 for v in scores.empathy.values())
    assert set(scores.aux) == {"mi_behaviour", "client_talk", "support_strategy"}
    assert 0 <= scores.strain <= 1
