"""Passage model v1: frozen base-encoder embeddings with one scikit-learn head per output.

Each head is a logistic regression on ``[emb(passage), emb(context)]``. Heads are trained with
masks: a passage teaches only the heads its source labels. Saved as one skops file plus a
manifest; the encoder itself is not copied (it comes from the pinned package).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline.model.artifacts import load_skops, save_skops
from pipeline.model.heads import HEAD_BY_NAME, HEADS

HEADS_FILE = "heads.skops"


class PassageHeads:
    """A logistic-regression head per output, trained only on rows that carry its label."""

    def __init__(self, C: float = 1.0, max_iter: int = 2000, seed: int = 0):
        self.C = C
        self.max_iter = max_iter
        self.seed = seed
        self.estimators: dict[str, LogisticRegression] = {}

    def fit(self, features: np.ndarray, labels: Sequence[Mapping[str, int]]) -> PassageHeads:
        """Fit every head that has at least two classes among the labeled rows.

        Args:
            features: (n, d) passage features.
            labels: Per row, head name -> class index; a missing head is masked.

        Raises:
            ValueError: No head could be fitted (no labels, or a single class everywhere).
        """
        for head in HEADS:
            rows = [i for i, row in enumerate(labels) if head.name in row]
            targets = np.array([labels[i][head.name] for i in rows])
            if len(set(targets.tolist())) < 2:
                continue
            estimator = LogisticRegression(
                C=self.C, max_iter=self.max_iter, class_weight="balanced", random_state=self.seed
            )
            self.estimators[head.name] = estimator.fit(features[rows], targets)
        if not self.estimators:
            raise ValueError("no head has labels with two or more classes; nothing to train")
        return self

    def predict_proba(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """Per head, an (n, n_classes) probability matrix over the head's full class list.

        A head that was never trained (or a class never seen) gets probability 0 for the
        missing classes, and a head without an estimator is uniform.
        """
        out = {}
        for head in HEADS:
            n_classes = len(head.classes)
            estimator = self.estimators.get(head.name)
            if estimator is None:
                out[head.name] = np.full((len(features), n_classes), 1.0 / n_classes)
                continue
            probabilities = np.zeros((len(features), n_classes))
            probabilities[:, estimator.classes_.astype(int)] = estimator.predict_proba(features)
            out[head.name] = probabilities
        return out

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / HEADS_FILE
        save_skops({"C": self.C, "seed": self.seed, "estimators": self.estimators}, path)
        return path

    @classmethod
    def load(cls, folder: Path) -> PassageHeads:
        state = load_skops(folder / HEADS_FILE)
        heads = cls(C=state["C"], seed=state["seed"])
        unknown = set(state["estimators"]) - set(HEAD_BY_NAME)
        if unknown:
            raise ValueError(f"{folder} has heads this version does not know: {sorted(unknown)}")
        heads.estimators = state["estimators"]
        return heads
