"""Held-out metrics for passage heads and session estimates, with a TF-IDF baseline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

from pipeline.model.heads import HEADS


def head_rows(labels: Sequence[Mapping[str, int]], head: str) -> list[int]:
    return [i for i, row in enumerate(labels) if head in row]


def macro_f1_by_head(
    probabilities: dict[str, np.ndarray],
    labels: Sequence[Mapping[str, int]],
    sources: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Macro-F1 per head, overall and per source, on the rows that carry the head's label.

    Returns:
        head -> {"all": f1, "<source>": f1, "n": count}. Heads without labels are omitted.
    """
    out: dict[str, dict[str, float]] = {}
    for head in HEADS:
        rows = head_rows(labels, head.name)
        if not rows or head.name not in probabilities:  # unlabeled, or a head the model lacks
            continue
        truth = np.array([labels[i][head.name] for i in rows])
        predicted = probabilities[head.name][rows].argmax(1)
        by_source: dict[str, list[int]] = defaultdict(list)
        for position, i in enumerate(rows):
            by_source[sources[i]].append(position)
        entry = {"all": macro_f1(truth, predicted), "n": len(rows)}
        for source, positions in sorted(by_source.items()):
            entry[source] = macro_f1(truth[positions], predicted[positions])
        out[head.name] = entry
    return out


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 of predicted against true class indices, rounded to 4 places."""
    return round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4)


def passage_metrics(
    probabilities: dict[str, np.ndarray], passages: Sequence
) -> dict[str, dict[str, float]]:
    """:func:`macro_f1_by_head` of predictions for labeled passages (``LabeledPassage``)."""
    return macro_f1_by_head(
        probabilities, [p.labels for p in passages], [p.source for p in passages]
    )


def baseline_metrics(train: Sequence, evaluated: Sequence) -> dict[str, dict[str, float]]:
    """The TF-IDF baseline fitted on ``train`` passages and scored on ``evaluated`` ones."""
    probabilities = tfidf_baseline(
        [p.text for p in train], [p.labels for p in train], [p.text for p in evaluated]
    )
    return passage_metrics(probabilities, evaluated)


def tfidf_baseline(
    train_texts: Sequence[str],
    train_labels: Sequence[Mapping[str, int]],
    test_texts: Sequence[str],
) -> dict[str, np.ndarray]:
    """TF-IDF (word 1-2 grams) + logistic regression per head, fitted on the same train rows."""
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True
    )
    X_train = vectorizer.fit_transform(train_texts)
    X_test = vectorizer.transform(test_texts)
    out = {}
    for head in HEADS:
        rows = head_rows(train_labels, head.name)
        probabilities = np.full((len(test_texts), len(head.classes)), 1.0 / len(head.classes))
        truth = np.array([train_labels[i][head.name] for i in rows])
        if len(set(truth.tolist())) >= 2:
            model = LogisticRegression(max_iter=2000, class_weight="balanced").fit(
                X_train[rows], truth
            )
            probabilities = np.zeros_like(probabilities)
            probabilities[:, model.classes_.astype(int)] = model.predict_proba(X_test)
        out[head.name] = probabilities
    return out


def tfidf_ridge():
    """TF-IDF (word 1-2 grams) + ridge regression over a session's own text: the session-level
    baseline a user would try first (unfitted)."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    return make_pipeline(vectorizer, Ridge(alpha=1.0))


def auc_interval(
    positive: np.ndarray, scores: np.ndarray, resamples: int = 2000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """ROC AUC with a 95% stratified-bootstrap percentile interval.

    Each resample draws the positives and the negatives separately (with replacement), so both
    classes are always present; with 3 low-quality transcripts the interval is wide, and it
    says so.
    """
    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    # One row per resample, positives first; AUC from the positives' rank sum (Mann-Whitney).
    drawn = np.hstack(
        [
            scores[rng.choice(pos, (resamples, len(pos)))],
            scores[rng.choice(neg, (resamples, len(neg)))],
        ]
    )
    rank_sum = rankdata(drawn, axis=1)[:, : len(pos)].sum(1)
    draws = (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(roc_auc_score(positive, scores)), (float(low), float(high))


def spearman_interval(
    x: Sequence[float], y: Sequence[float], resamples: int = 1000, seed: int = 0
) -> dict:
    """Spearman's rho of ``x`` and ``y`` with a percentile bootstrap 95% interval."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:  # no ranking to compare
        return {"n": int(len(x)), "spearman": None, "interval_95": [None, None]}
    rho = float(spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        pick = rng.integers(0, len(x), len(x))
        if np.ptp(x[pick]) > 0 and np.ptp(y[pick]) > 0:
            values.append(spearmanr(x[pick], y[pick]).statistic)
    low, high = np.percentile(values, [2.5, 97.5]) if values else (np.nan, np.nan)
    return {
        "n": int(len(x)),
        "spearman": round(rho, 4),
        "interval_95": [round(float(low), 4), round(float(high), 4)],
    }


def session_metrics(
    predicted: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    targets: np.ndarray,
    sources: Sequence[str],
    target_names: Sequence[str],
) -> dict[str, dict]:
    """Spearman, MAE and interval coverage per target and source on rated sessions only;
    plus AUC of the overall estimate for AnnoMI high vs low quality."""
    out: dict[str, dict] = {}
    sources = np.asarray(sources)
    for j, name in enumerate(target_names):
        for source in sorted(set(sources.tolist())):
            mask = (sources == source) & ~np.isnan(targets[:, j])
            if mask.sum() < 5:
                continue
            truth = targets[mask, j]
            entry = {
                "n": int(mask.sum()),
                "mae": round(float(np.abs(predicted[mask, j] - truth).mean()), 4),
                "coverage_80": round(
                    float(((low[mask, j] <= truth) & (truth <= high[mask, j])).mean()), 4
                ),
            }
            if len(set(truth.tolist())) > 1:
                rho = spearman_interval(predicted[mask, j], truth)
                entry["spearman"] = rho["spearman"]
                entry["spearman_95"] = rho["interval_95"]
                if len(set(truth.tolist())) == 2:
                    positive = truth > truth.min()
                    auc, (auc_low, auc_high) = auc_interval(positive, predicted[mask, j])
                    entry["auc"] = round(auc, 4)
                    entry["auc_ci95"] = [round(auc_low, 4), round(auc_high, 4)]
                    entry["n_low"] = int((~positive).sum())
            out[f"{name}/{source}"] = entry
    return out


def scored_f1(
    truth: Sequence[int], predicted: Sequence[int], groups: Sequence[str], resamples: int = 1000
) -> dict:
    """``{"macro_f1", "macro_f1_95"}``: macro-F1 with its group-bootstrap interval."""
    return {
        "macro_f1": macro_f1(np.asarray(truth), np.asarray(predicted)),
        "macro_f1_95": list(macro_f1_interval(truth, predicted, groups, resamples=resamples)),
    }


def f1_text(entry: dict | None) -> str:
    """A :func:`scored_f1` entry as ``0.767 [0.72, 0.81]`` (``–`` for none)."""
    if not entry:
        return "–"
    low, high = entry["macro_f1_95"]
    return f"{entry['macro_f1']:.3f} [{low:.2f}, {high:.2f}]"


def macro_f1_interval(
    truth: Sequence[int],
    predicted: Sequence[int],
    groups: Sequence[str],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap interval of macro-F1, resampling whole groups (conversations, notes), since
    passages of one conversation are not independent."""
    truth, predicted, groups = np.asarray(truth), np.asarray(predicted), np.asarray(groups)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        values.append(macro_f1(truth[rows], predicted[rows]))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)
