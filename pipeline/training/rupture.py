"""Fit the rupture model on labeled note sessions and measure it on the held-out clients.

The sessions (``data/fixtures/note_sessions.jsonl``, labels in ``note_session_labels.csv``,
``docs/labeling.md`` 5.1) are scored by the model folder itself, each with its client's history,
and turned into :func:`pipeline.sessions.rupture.rupture_features`. The model is fitted on the
``dev`` clients only: penalty, calibration and threshold by folds grouped by client. The
``test`` clients are scored once, at the end, beside the baseline a user would try first: a
TF-IDF + logistic regression over the session's own text, fitted on the same dev sessions
with its threshold chosen the same way.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from pipeline.config import AllianceConfig
from pipeline.model.artifacts import MANIFEST, save_skops, sha256_file, write_manifest
from pipeline.schemas import Session
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.sessions.estimator import TARGETS
from pipeline.sessions.rupture import (
    RUPTURE_FILE,
    FlagBudget,
    choose_threshold,
    cross_fitted_words,
    fit_rupture_model,
    rupture_features,
    rupture_kind,
    session_words,
    words_probability,
)
from pipeline.steps import score_sessions
from pipeline.training.evaluate import auc_interval
from pipeline.training.registry import git_sha
from pipeline.training.structure import read_sessions


def _read_labels(path: Path) -> dict[str, dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return {row["session_id"]: row for row in csv.DictReader(handle)}


def labeled_rows(
    model: AllianceModel,
    config: AllianceConfig,
    sessions_path: Path,
    labels_path: Path,
    estimates: dict[str, dict[str, float]] | None = None,
) -> dict:
    """Features, labels and texts of every labeled session, each with its client's history.

    Args:
        estimates: Session id -> estimate values to use instead of the folder's estimator's
            (out-of-fold estimates for sessions that estimator learned from).
    """
    estimates = estimates or {}
    labels = _read_labels(labels_path)
    sessions = [
        s
        for s in read_sessions(sessions_path)
        if s.session_id in labels and labels[s.session_id]["rupture"]
    ]
    scored = score_sessions(sessions, model, config)
    by_client: dict[str, list[Session]] = defaultdict(list)
    for session in sorted(sessions, key=lambda s: (s.client_id, s.session_date, s.session_id)):
        by_client[session.client_id].append(session)
    out: dict[str, list] = defaultdict(list)
    for client, ordered in by_client.items():
        history: list[float] = []
        for session in ordered:
            result, label = scored[session.session_id], labels[session.session_id]
            estimate = result.estimate.model_copy(update=estimates.get(session.session_id, {}))
            out["rows"].append(rupture_features(result.pairs, estimate, history))
            out["ids"].append(session.session_id)
            out["clients"].append(client)
            out["split"].append(label["split"])
            out["rupture"].append(int(label["rupture"]))
            out["hard_negative"].append(int(label["hard_negative"] or 0))
            out["kind"].append(label["rupture_kind"])
            out["early"].append(len(history) < 2)
            out["predicted_kind"].append(rupture_kind(result.pairs))
            out["text"].append(session_words(result.pairs))
            out["estimate"].append([getattr(estimate, t) for t in TARGETS])
            out["rating"].append([float(label[t]) for t in TARGETS])
            history.append(estimate.overall)
    arrays = ("rows", "estimate", "rating")
    return {key: np.asarray(value) if key in arrays else value for key, value in out.items()}


def labeled_set_digest(sessions_path: Path, labels_path: Path) -> str:
    """A short digest of the labeled sessions and their labels. Dev figures measured on
    different labeled sets (more sessions, new writers) are not comparable, so the promotion
    rule compares them only between folders fitted on the same set. The first half names the
    sessions file, the second the labels file."""
    return "".join(sha256_file(Path(path))[:8] for path in (sessions_path, labels_path))


def dev_estimate_spearman(data: dict, dev: np.ndarray) -> dict[str, float]:
    """Spearman of the dev sessions' estimates with their labels, per target: with out-of-fold
    estimates, a session-level figure of the whole model that never touches the test clients
    (``alliance train`` compares models on it)."""
    from scipy.stats import spearmanr

    return {
        target: round(float(spearmanr(data["estimate"][dev, j], data["rating"][dev, j])[0]), 3)
        for j, target in enumerate(TARGETS)
    }


def note_sessions_learned(manifest: dict) -> int:
    """How many labeled note sessions the folder's session estimator learned from (those
    sessions must then be estimated out of fold)."""
    return manifest.get("training", {}).get("train_note_sessions", 0)


def out_of_fold_estimates(
    model: AllianceModel, config: AllianceConfig, data_dir: Path, folds: int = 5, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Estimates of the labeled dev sessions from estimators that never saw their client.

    The shipped estimator learned from the dev clients, so its estimates of them are closer to
    the labels than on any new session; a rupture model fitted on them would lean on the
    estimates more than they deserve. Each fold of dev clients is estimated by the estimator
    refitted (same recipe) on every training session but theirs.
    """
    from sklearn.model_selection import GroupKFold

    from pipeline.training.labels import load_labels
    from pipeline.training.sessions import NOTE_SOURCE, fit_on, rated_sessions

    rated = rated_sessions(data_dir, load_labels(), model.scorer, config)
    dev = np.flatnonzero(rated.training & (rated.sources == NOTE_SOURCE))
    out: dict[str, dict[str, float]] = {}
    splitter = GroupKFold(n_splits=min(folds, len(set(rated.groups[dev].tolist()))))
    for _, held in splitter.split(dev, groups=rated.groups[dev]):
        in_fold = np.zeros(len(rated.ids), dtype=bool)
        in_fold[dev[held]] = True
        predicted = fit_on(rated.select(rated.training & ~in_fold), seed).predict(
            rated.select(in_fold)
        )
        for row, values in zip(np.flatnonzero(in_fold), predicted):
            out[str(rated.ids[row])] = {t: float(v) for t, v in zip(TARGETS, values)}
    return out


def _flag_figures(probabilities, threshold, data, rows, budget: FlagBudget) -> dict:
    truth = np.asarray(data["rupture"])[rows].astype(bool)
    flagged = probabilities >= threshold
    hard = np.asarray(data["hard_negative"])[rows].astype(bool)
    early = np.asarray(data["early"])[rows] & truth
    auc, (low, high) = auc_interval(truth, probabilities)
    return {
        "sessions": int(len(rows)),
        "ruptures": int(truth.sum()),
        "auc": round(auc, 3),
        "auc_95": [round(low, 3), round(high, 3)],
        "precision": round(float(truth[flagged].mean()), 3) if flagged.any() else None,
        "recall": round(float(flagged[truth].mean()), 3),
        "flag_rate": round(float(flagged.mean()), 3),
        "caseload_flag_rate": round(budget.flag_rate(flagged, truth), 3),
        "hard_negatives_flagged": round(float(flagged[hard].mean()), 3) if hard.any() else None,
        "early_ruptures_caught": f"{int(flagged[early].sum())} of {int(early.sum())}",
    }


def _tfidf_baseline(
    data: dict, dev: np.ndarray, test: np.ndarray, target_precision: float, budget: FlagBudget
):
    """Session-text TF-IDF + logistic regression (the rupture model's words classifier alone):
    out-of-fold threshold on dev, test scores."""
    texts, y = np.asarray(data["text"], dtype=object), np.asarray(data["rupture"])
    out_of_fold = cross_fitted_words(texts[dev], y[dev], np.asarray(data["clients"])[dev])
    threshold = choose_threshold(out_of_fold, y[dev], target_precision, budget)
    return words_probability(texts[dev], y[dev], texts[test]), threshold


def train_rupture(
    model_dir: Path,
    out_dir: Path,
    config: AllianceConfig,
    sessions_path: Path,
    labels_path: Path,
    target_precision: float = 0.7,
    version: str | None = None,
    data_dir: Path | None = None,
    budget: FlagBudget | None = FlagBudget(),
    in_place: bool = False,
    words: bool = True,
) -> dict:
    """Fit the rupture model on the dev clients, measure it on the test clients, and write a
    copy of ``model_dir`` with it to ``out_dir`` (manifest and model card updated).

    Args:
        model_dir: The model folder whose passage model and estimator score the sessions.
        out_dir: The new folder (a copy of ``model_dir`` with the rupture model).
        config: Run config (encoder, sections).
        sessions_path: Labeled sessions, in the input contract.
        labels_path: Their labels (``split``, ``rupture``, ``rupture_kind``, ``hard_negative``).
        target_precision: Precision the threshold must reach on the dev folds.
        version: The new folder's version (default: its folder name).
        data_dir: The public corpora; needed when the folder's estimator learned from the
            labeled sessions, to estimate the dev sessions out of fold.
        budget: The realistic caseload the threshold may not overload (None: precision only).
        in_place: Add the rupture model to ``model_dir`` itself (``out_dir`` must be it): the
            last step of ``alliance train``, whose candidate keeps its own version.
        words: The model also reads the session's words (a TF-IDF vocabulary fitted on the
            labeled sessions is then stored in the folder: leave it off for real notes).

    Returns:
        The report: the fit's cross-validated figures, test figures of the model and of the
        TF-IDF baseline, and the kind's accuracy on the test ruptures.

    Raises:
        ValueError: ``out_dir`` is ``model_dir`` (unless ``in_place``), a split has no rupture,
            or the estimator learned from the labeled sessions and ``data_dir`` is missing.
    """
    same = Path(out_dir).resolve() == Path(model_dir).resolve()
    if same != in_place:
        raise ValueError(
            "--out must be a new folder: the source model stays as it is"
            if same
            else "in_place needs out_dir to be model_dir"
        )
    model = AllianceModel.load(model_dir, config.encoder)
    learned = note_sessions_learned(model.manifest)
    if learned and data_dir is None:
        raise ValueError(
            f"the session estimator of {model_dir} learned from {learned} labeled note sessions; "
            "pass --data ../shared/data so the rupture model is fitted on out-of-fold estimates"
        )
    estimates = out_of_fold_estimates(model, config, data_dir) if learned else {}
    data = labeled_rows(model, config, sessions_path, labels_path, estimates)
    split = np.asarray(data["split"])
    dev, test = np.flatnonzero(split == "dev"), np.flatnonzero(split == "test")
    y = np.asarray(data["rupture"])
    if not y[dev].any() or not y[test].any():
        raise ValueError("both the dev and the test clients need rupture sessions")
    rupture = fit_rupture_model(
        data["rows"][dev],
        y[dev],
        np.asarray(data["clients"])[dev],
        target_precision,
        budget=budget,
        texts=[data["text"][i] for i in dev] if words else None,
    )
    shown = budget or FlagBudget()
    baseline, baseline_threshold = _tfidf_baseline(data, dev, test, target_precision, budget)
    tested = [i for i in test if y[i]]
    kinds = np.asarray(data["predicted_kind"])
    report = {
        "fit": rupture.metrics,
        "dev_estimate_spearman": dev_estimate_spearman(data, dev),
        "labeled_sessions": labeled_set_digest(sessions_path, labels_path),
        "threshold": round(rupture.threshold, 4),
        "test": _flag_figures(
            rupture.probability(data["rows"][test], [data["text"][i] for i in test]),
            rupture.threshold,
            data,
            test,
            shown,
        ),
        "tfidf_test": _flag_figures(baseline, baseline_threshold, data, test, shown),
        "kind_test": {
            "correct": int(sum(kinds[i] == data["kind"][i] for i in tested)),
            "unclear": int(sum(kinds[i] == "unclear" for i in tested)),
            "ruptures": len(tested),
        },
    }
    rupture.metrics = {**rupture.metrics, "test": report["test"]}
    metadata = {k: v for k, v in model.manifest.items() if k != "files"}
    if not in_place:
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.copytree(model_dir, out_dir)
        # A new version: its flags differ, so a nightly run rescores (and re-flags) every
        # session.
        metadata["parent"] = {"version": model.version, "git_sha": model.manifest.get("git_sha")}
        metadata["version"] = version or Path(out_dir).name
        metadata["git_sha"] = git_sha()
    save_skops(rupture, Path(out_dir) / RUPTURE_FILE)
    metadata["rupture_model"] = {**report, "out_of_fold_estimates": len(estimates)}
    write_manifest(Path(out_dir), metadata)
    _add_to_model_card(Path(out_dir), report, metadata["version"], retitle=not in_place)
    return report


def _add_to_model_card(folder: Path, report: dict, version: str, retitle: bool = True) -> None:
    card = folder / "MODEL_CARD.md"
    test, tfidf, fit = report["test"], report["tfidf_test"], report["fit"]
    budget = fit.get("budget", {})
    within = (
        f", within a flag budget (a caseload with {budget['caseload_rupture_rate']:.0%} ruptures "
        f"sees at most {budget['max_flag_rate']:.0%} of sessions flagged; cross-validated "
        f"{budget['cv_caseload_flag_rate']:.1%})"
        if budget
        else ""
    )
    dev_text = ", ".join(f"{k} {v}" for k, v in report.get("dev_estimate_spearman", {}).items())
    words = (
        "; and the session's own words, a TF-IDF + logistic regression whose vocabulary comes "
        "from the labeled sessions, cross-fitted by client"
        if fit.get("reads_words")
        else ""
    )
    section = f"""

## Rupture model (`{RUPTURE_FILE}`)

Calibrated logistic regression over what a session shows (strain passages, withdrawal and
confrontation markers, alliance evidence, the drop from the client's baseline{words}), fitted on the
{fit["sessions"]} dev sessions of the labeled note sessions ({fit["ruptures"]} ruptures;
synthetic, `data/fixtures/note_sessions_README.md`), threshold {report["threshold"]} chosen on
folds grouped by client for precision {fit["target_precision"]}{within}. Held-out test clients
({test["sessions"]} sessions, {test["ruptures"]} ruptures): AUC {test["auc"]} {test["auc_95"]},
precision {test["precision"]}, recall {test["recall"]}, flag rate {test["flag_rate"]} (in a
caseload with the budget's rupture rate: {test["caseload_flag_rate"]}), hard negatives flagged
{test["hard_negatives_flagged"]}. TF-IDF + logistic regression on the same sessions: AUC
{tfidf["auc"]} {tfidf["auc_95"]}, precision {tfidf["precision"]}, recall {tfidf["recall"]}.
On the dev clients, the session estimates (out of fold where the estimator learned from
them) reach Spearman {dev_text} with the labels.
The sessions are synthetic and hold far more ruptures ({test["ruptures"] / test["sessions"]:.0%} of
the test clients' sessions) than a caseload does.
"""
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    lines = _without_rupture_section(text.splitlines(keepends=True))
    if retitle and lines and lines[0].startswith("# Model card: alliance `"):
        lines[0] = f"# Model card: alliance `{version}` (rupture model added)\n"
    card.write_text("".join(lines).rstrip("\n") + "\n" + section, encoding="utf-8")


def _without_rupture_section(lines: list[str]) -> list[str]:
    """The card's lines without an earlier rupture model's section (a refit replaces it, so
    the card never describes two models)."""
    heading = f"## Rupture model (`{RUPTURE_FILE}`)"
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return lines
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[:start] + lines[end:]


def fit_candidate_rupture(folder: Path, config: AllianceConfig, data_dir: Path | None) -> dict:
    """Give a freshly trained candidate its own rupture model (the last step of ``alliance
    train``), on the labeled note sessions of ``data/fixtures``.

    Returns:
        ``{"fitted": True, "cv_auc": ..., "threshold": ..., "test": {...}}``, or
        ``{"fitted": False, "reason": ...}`` when it cannot be fitted honestly: a session
        estimator that learned from the labeled sessions, kept from the default because no
        corpora were given, cannot estimate them out of fold. The promotion rule then keeps
        the default, so a rupture model is never lost by retraining.
    """
    from pipeline.training.structure import NOTE_SESSION_LABELS, NOTE_SESSIONS

    # The manifest alone says it (train_rupture loads and verifies the folder itself).
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    if note_sessions_learned(manifest) and data_dir is None:
        return {
            "fitted": False,
            "reason": "its session estimator learned from the labeled note sessions; "
            "pass --data so they can be estimated out of fold",
        }
    report = train_rupture(
        folder,
        folder,
        config,
        NOTE_SESSIONS,
        NOTE_SESSION_LABELS,
        data_dir=data_dir,
        in_place=True,
    )
    return {
        "fitted": True,
        "cv_auc": report["fit"]["cv_auc"],
        "dev_estimate_spearman": report["dev_estimate_spearman"],
        "threshold": report["threshold"],
        "test": report["test"],
    }
