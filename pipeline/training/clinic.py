"""``alliance train-sessions``: refit the session estimator on a clinic's own client ratings.

Ratings come as CSV with ``session_id`` and either the Session Rating Scale (four 0-10 lines:
``srs_relationship, srs_goals, srs_approach, srs_overall``) or the WAI-SR (12 items, 1-5:
``wai_1`` ... ``wai_12``). Both are put on the WAI-SR item scale (1-5):

* SRS: relationship -> bond, goals and topics -> goal, approach or method -> task, overall ->
  overall; each ``1 + 0.4 * score`` (0 -> 1, 10 -> 5).
* WAI-SR: task = mean of items 1, 2, 10, 12; bond = 3, 5, 7, 9; goal = 4, 6, 8, 11; overall =
  mean of all twelve.

The sessions must already be scored in the store by the same passage model (their pooled
vectors are the estimator's inputs). Coverage and rank correlation are measured by
cross-validation grouped by client, then the estimator is refitted on every rated session.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.model_selection import GroupKFold

from pipeline.model.artifacts import save_skops, write_manifest
from pipeline.model.folder import load_passage_model
from pipeline.sessions.alliance_model import ESTIMATOR_FILE
from pipeline.sessions.estimator import TARGETS, SessionAllianceEstimator
from pipeline.sessions.text_model import TEXT_FILE
from pipeline.steps import stored_session_rows
from pipeline.store.core import Store

SRS_COLUMNS = {
    "srs_approach": "task",
    "srs_relationship": "bond",
    "srs_goals": "goal",
    "srs_overall": "overall",
}
WAI_ITEMS = {"task": (1, 2, 10, 12), "bond": (3, 5, 7, 9), "goal": (4, 6, 8, 11)}


def _number(row: dict, column: str, low: float, high: float, where: str) -> float:
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {column} is not a number") from None
    if not low <= value <= high:
        raise ValueError(f"{where}: {column}={value} outside {low:g}-{high:g}")
    return value


def read_ratings(path: Path) -> dict[str, dict[str, float]]:
    """session_id -> {task, bond, goal, overall} on the 1-5 scale, from SRS or WAI-SR columns.

    Raises:
        ValueError: Neither column set is complete, or a value is out of range.
    """
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        srs = set(SRS_COLUMNS) <= columns
        wai = {f"wai_{i}" for i in range(1, 13)} <= columns
        if "session_id" not in columns or not (srs or wai):
            raise ValueError(
                f"{path}: need session_id and either {', '.join(SRS_COLUMNS)} (SRS, 0-10) or "
                "wai_1 ... wai_12 (WAI-SR, 1-5)"
            )
        ratings = {}
        for number, row in enumerate(reader, start=2):
            where = f"{path}:{number}"
            if srs:
                ratings[row["session_id"]] = {
                    target: 1 + 0.4 * _number(row, column, 0, 10, where)
                    for column, target in SRS_COLUMNS.items()
                }
            else:
                items = {i: _number(row, f"wai_{i}", 1, 5, where) for i in range(1, 13)}
                values = {
                    t: float(np.mean([items[i] for i in numbers]))
                    for t, numbers in WAI_ITEMS.items()
                }
                values["overall"] = float(np.mean(list(items.values())))
                ratings[row["session_id"]] = values
    return ratings


def session_rows(store: Store, session_ids: list[str]) -> np.ndarray:
    """Estimator inputs of stored sessions, exactly as the scoring pipeline builds them.

    Raises:
        ValueError: A session is not (fully) scored in the store.
    """
    scored = store.passages(session_ids)
    for session_id in session_ids:
        pairs = scored.get(session_id, [])
        if not pairs or any(scores is None for _, scores in pairs):
            raise ValueError(
                f"session {session_id} is not scored in the store; run `alliance score` on it first"
            )
    rows = stored_session_rows(store, session_ids)
    return np.vstack([rows[session_id] for session_id in session_ids])


def train_sessions(
    ratings_path: Path,
    store_url: str,
    model_dir: Path,
    out_dir: Path,
    encoder_config,
    folds: int = 5,
    seed: int = 0,
) -> dict:
    """Fit the estimator on the clinic's ratings and write a model folder beside the old one.

    Returns:
        Cross-validated metrics and counts (also stored in the new manifest).
    """
    ratings = read_ratings(ratings_path)
    store = Store(store_url)
    # The passage model only: the estimator is replaced, and may predate the current features.
    model = load_passage_model(model_dir, encoder_config)
    known = {s.session_id: s for s in store.sessions(list(ratings))}
    ids = [sid for sid in ratings if sid in known]
    if len(ids) < 10:
        raise ValueError(f"only {len(ids)} rated sessions are in the store; need at least 10")
    X = session_rows(store, ids)
    y = np.array([[ratings[sid][t] for t in TARGETS] for sid in ids])
    clients = np.array([known[sid].client_id for sid in ids])
    metrics = cross_validate(X, y, clients, min(folds, len(set(clients))), seed)
    estimator = SessionAllianceEstimator(random_state=seed).fit(X, y)

    if out_dir.resolve() != model_dir.resolve():
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.copytree(model_dir, out_dir)
    save_skops(estimator, out_dir / ESTIMATOR_FILE)
    # The clinic's estimator reads no text scores: a text model fitted on its notes would keep
    # fragments of them in the model folder, and notes stay in the result store.
    (out_dir / TEXT_FILE).unlink(missing_ok=True)
    manifest = dict(model.manifest)
    manifest.pop("files", None)
    manifest["version"] = out_dir.name
    manifest["session_estimator"] = {
        "trained_on": "clinic client ratings",
        "reads_text_scores": False,
        "ratings_file": ratings_path.name,
        "sessions": len(ids),
        "clients": int(len(set(clients))),
        "metrics": metrics,
    }
    write_manifest(out_dir, manifest)
    return manifest["session_estimator"]


def cross_validate(X, y, groups, folds: int, seed: int) -> dict:
    """Out-of-fold Spearman, MAE and 80% interval coverage per target, grouped by client."""
    predicted, low, high = np.zeros_like(y), np.zeros_like(y), np.zeros_like(y)
    for train, test in GroupKFold(n_splits=max(2, folds)).split(X, y, groups):
        estimator = SessionAllianceEstimator(random_state=seed).fit(X[train], y[train])
        predicted[test], low[test], high[test] = estimator.predict_with_interval(X[test])
    out = {}
    for j, target in enumerate(TARGETS):
        truth = y[:, j]
        out[target] = {
            "spearman": round(float(spearmanr(predicted[:, j], truth).statistic), 4),
            "mae": round(float(np.abs(predicted[:, j] - truth).mean()), 4),
            "coverage_80": round(float(((low[:, j] <= truth) & (truth <= high[:, j])).mean()), 4),
        }
    return out
