"""Rupture model: the probability that a session records a rupture in the alliance.

A rupture (Safran and Muran; ``docs/labeling.md`` 5.1) shows in the session itself. The client
withdraws from the clinician or the work, or confronts them. It often comes early, or in a
client whose alliance was never high, so a rule that needs two earlier sessions and a drop
misses it. The model reads what the session shows:

- the strain head's passages: strongest, top three, mean, how many reach 0.5, and the
  strongest in a client's own words (transcripts);
- withdrawal and confrontation markers aimed at the clinician or the work (word patterns
  below): how many, and how many in passages the strain head also reads as strain;
- the bond, task and goal evidence and the session estimates;
- where the client has history, the drop from their own baseline (mean of up to three
  earlier sessions). A first session gets drop 0 with ``has_history`` 0;
- the session's own words: the probability of a TF-IDF + logistic regression over the whole
  session (:class:`pipeline.sessions.text_model.SessionWordsClassifier`), learned from the
  same labeled sessions (``words``; a model fitted without it reads the features alone).
  Across dev clients it raised the cross-validated AUC from 0.835 to 0.87: the wording of a
  documented rupture ("questioned whether", "said the exercise felt") is caught by neither
  the strain head nor the marker patterns alone.

A class-balanced logistic regression, calibrated by Platt scaling on folds grouped by client,
gives the probability. The words' probability it learns from is cross-fitted (from models that
never saw the session's client), so it trusts the words only as far as they hold on new
clients. The threshold is chosen on those same folds for precision. The kind
(withdrawal or confrontation) is the one with more marker hits in the session. A tie is
called by the strain passages' strongest marker, and is left ``unclear`` when nothing decides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.schemas import Passage, PassageScores, SessionEstimate
from pipeline.sessions.text_model import SessionWordsClassifier

RUPTURE_FILE = "rupture_model.skops"

# Moving away from the clinician or the work: flat answers, silence, deflection, appeasing,
# going through the motions, homework or sessions skipped as a reaction to therapy.
WITHDRAWAL = re.compile(
    r"\b(?:went|fell|grew|was|became) (?:quiet|silent|flat)|\bshrug|\bone-word|\bshort answers"
    r"|\bminimal (?:answers|responses|engagement)|\b(?:changed|changing) the (?:subject|topic)"
    r"|\bdeflect|\bwhatever you (?:think|want|say)|\bwent along|\bgoing along|\bgo along"
    r"|\bappeas|\bchecked out|\bdisengag|\bwithdr[ae]w|\bstonewall|\bguarded with (?:writer|me|"
    r"the (?:clinician|therapist))|\bi don'?t know\b|\[pause\]|\blooked away|\bstared at"
    r"|\b(?:almost|nearly) cancel|\bdidn'?t (?:do|want to do) the|\bskipped the|\bno-show"
    r"|\bdidn'?t see the point|\bthinking (?:of|about) (?:stopping|quitting|taking a break)",
    re.IGNORECASE,
)
# Moving against them: complaints about the clinician, the activities or the frame, challenges,
# demands, anger aimed at the clinician.
CONFRONTATION = re.compile(
    r"\byou(?:'re| are) not (?:listening|helping|getting)|\byou don'?t (?:get|understand|listen"
    r"|care)|\byou (?:never|always|keep|just)\b|\bpointless|\bwaste of (?:time|money)"
    r"|\b(?:doesn'?t|isn'?t|not) (?:help|helping|working)\b|\bwhat'?s the point|\bwhy do you"
    r"|\b(?:frustrated|annoyed|angry|irritated|upset) (?:with|at) (?:you|me|writer|the "
    r"(?:clinician|therapist|counsel+or)|therapy|the (?:exercise|homework|plan))|\bjudg"
    r"|\bpushed|\bpushing|\blectur|\bcriticiz|\bcriticis|\bcomplain|\bdemand|\bchalleng"
    r"|\bnot listening|\blike everyone else|\bsound(?:s)? like my|\bmade me come|\bforced"
    r"|\banother (?:therapist|clinician|counsel+or)|\bsomeone else who|\bactually does",
    re.IGNORECASE,
)

# The clinician naming, owning or working through a strain, often one from an earlier session: a
# repair session speaks of strain without a new rupture.
REPAIR = re.compile(
    r"\bapologi[sz]|\bi'?m sorry|\bmy part\b|\bowned\b|\bowning\b|\backnowledged (?:that )?"
    r"(?:pushing|rushing|setting|going|the|her|his|their|my)|\bnamed (?:the|what|last)"
    r"|\b(?:last|previous|earlier) (?:week|session|time)\b|\bchecked in about|\bmetacommunicat"
    r"|\bthat helped|\bglad (?:she|he|they|you) (?:came|said|told)|\bre-?engag|\brepair",
    re.IGNORECASE,
)

FEATURE_NAMES = (
    "strain_max",
    "strain_top3",
    "strain_mean",
    "strain_count",
    "client_strain_max",
    "withdrawal_markers",
    "confrontation_markers",
    "markers_in_strain",
    "repair_markers",
    "bond_evidence",
    "task_evidence",
    "goal_evidence",
    "overall",
    "bond",
    "task",
    "drop",
    "has_history",
)
STRAIN_PASSAGE = 0.5  # a passage at or above this strain probability counts as a strain passage


def session_words(pairs: Sequence[tuple[Passage, PassageScores | None]]) -> str:
    """A session's words, as the rupture model's words classifier reads them: every passage,
    in order."""
    return " ".join(passage.text for passage, _ in pairs)


def _markers(text: str) -> tuple[int, int]:
    return len(WITHDRAWAL.findall(text)), len(CONFRONTATION.findall(text))


def rupture_features(
    pairs: Sequence[tuple[Passage, PassageScores]],
    estimate: SessionEstimate,
    history: Sequence[float] = (),
) -> np.ndarray:
    """The model's input for one session (:data:`FEATURE_NAMES`, in order).

    Args:
        pairs: The session's passages with their scores, in order.
        estimate: The session's estimate.
        history: Overall estimates of the client's earlier sessions, oldest first.
    """
    strain = np.array([s.strain for _, s in pairs]) if pairs else np.zeros(1)
    client = [s.strain for p, s in pairs if p.speaker == "client"]
    markers = [_markers(p.text) for p, _ in pairs]
    in_strain = sum(w + c for (w, c), (_, s) in zip(markers, pairs) if s.strain >= 0.3)

    def evidence(name: str) -> float:
        return float(np.mean([s.alliance.get(name, 0.0) for _, s in pairs])) if pairs else 0.0

    baseline = list(history)[-3:]
    drop = float(np.mean(baseline) - estimate.overall) if baseline else 0.0
    values = [
        strain.max(),
        np.sort(strain)[::-1][:3].mean(),
        strain.mean(),
        float((strain >= STRAIN_PASSAGE).sum()),
        max(client, default=0.0),
        float(sum(w for w, _ in markers)),
        float(sum(c for _, c in markers)),
        float(in_strain),
        float(sum(len(REPAIR.findall(p.text)) for p, _ in pairs)),
        evidence("bond"),
        evidence("task"),
        evidence("goal"),
        estimate.overall,
        estimate.bond,
        estimate.task,
        drop,
        float(bool(baseline)),
    ]
    return np.asarray(values, dtype=float)


def rupture_kind(pairs: Sequence[tuple[Passage, PassageScores]]) -> str:
    """``withdrawal``, ``confrontation`` or ``unclear``, by the session's marker hits."""
    withdrawal = confrontation = 0.0
    for passage, scores in pairs:
        w, c = _markers(passage.text)
        weight = 1.0 + scores.strain  # a marker in a strain passage counts for more
        withdrawal += w * weight
        confrontation += c * weight
    if withdrawal == confrontation:
        return "unclear"
    return "withdrawal" if withdrawal > confrontation else "confrontation"


@dataclass
class RuptureModel:
    """A fitted rupture classifier and its threshold; saved with skops (never pickle).

    Attributes:
        classifier: A scikit-learn classifier with ``predict_proba`` over :data:`FEATURE_NAMES`.
        threshold: Probability at or above which a session is flagged ``RUPTURE``.
        feature_names: The features it was fitted on, in order (checked on load).
        metrics: What the fit measured (cross-validated on the training sessions).
        words: The words classifier whose probability follows :data:`FEATURE_NAMES` as
            the last column; None for a model fitted on the features alone.
    """

    classifier: object
    threshold: float
    feature_names: tuple[str, ...] = FEATURE_NAMES
    metrics: dict = field(default_factory=dict)
    words: object | None = None

    @property
    def reads_words(self) -> bool:
        # getattr: a model saved before the field existed has no attribute at all.
        return getattr(self, "words", None) is not None

    def probability(self, rows: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """P(rupture) of each row of features.

        Args:
            rows: One row of :func:`rupture_features` per session.
            texts: Each session's :func:`session_words`; needed when the model reads them.
        """
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        if self.reads_words:
            if texts is None or len(texts) != len(rows):
                raise ValueError("this rupture model reads the session's words: pass one per row")
            rows = np.column_stack([rows, self.words.predict_proba(list(texts))[:, 1]])
        return self.classifier.predict_proba(rows)[:, 1]


def fit_rupture_model(
    rows: np.ndarray,
    labels: Sequence[int],
    groups: Sequence[str],
    target_precision: float = 0.7,
    penalties: Sequence[float] = (0.03, 0.1, 0.3, 1.0),
    folds: int = 5,
    seed: int = 0,
    budget: FlagBudget | None = None,
    texts: Sequence[str] | None = None,
) -> RuptureModel:
    """Fit the calibrated classifier and choose its threshold, all by folds grouped by client.

    The penalty with the best cross-validated log-loss is kept; the threshold is the lowest
    probability whose cross-validated precision reaches ``target_precision`` (the highest
    recall there) and, with a ``budget``, whose flag rate on a realistic caseload stays within
    it; the best-F1 one when none does.

    Args:
        rows: One row of :func:`rupture_features` per training session.
        labels: 1 for a rupture session, 0 otherwise.
        groups: The client of each session (folds never split a client).
        target_precision: Precision the threshold must reach on the folds.
        penalties: Logistic-regression C values tried.
        folds: Grouped folds, for the penalty, the calibration and the threshold.
        seed: Solver seed.
        budget: The caseload the threshold must not overload (None: precision alone).
        texts: Each session's :func:`session_words`: given, the model also reads the words
            classifier's probability, cross-fitted by client within every fold (nested), so
            neither the penalty nor the threshold is chosen on words a classifier has seen.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, g = np.asarray(rows, dtype=float), np.asarray(labels), np.asarray(groups)
    splits = list(GroupKFold(n_splits=min(folds, len(set(g)))).split(x, y, g))

    def make(penalty: float):
        linear = LogisticRegression(
            C=penalty, class_weight="balanced", max_iter=5000, random_state=seed
        )
        return CalibratedClassifierCV(
            make_pipeline(StandardScaler(), linear), method="sigmoid", cv=3
        )

    words = None if texts is None else np.asarray(list(texts), dtype=object)
    # Each fold's (training rows, held rows), with the words' column where the model reads it.
    fold_rows = [
        (x[train], x[held])
        if words is None
        else (
            np.column_stack([x[train], cross_fitted_words(words[train], y[train], g[train])]),
            np.column_stack([x[held], words_probability(words[train], y[train], words[held])]),
        )
        for train, held in splits
    ]

    def out_of_fold(penalty: float) -> np.ndarray:
        predicted = np.zeros(len(y))
        for (train, held), (x_train, x_held) in zip(splits, fold_rows):
            predicted[held] = make(penalty).fit(x_train, y[train]).predict_proba(x_held)[:, 1]
        return predicted

    tried = {penalty: out_of_fold(penalty) for penalty in penalties}
    penalty = min(tried, key=lambda p: log_loss(y, np.clip(tried[p], 1e-6, 1 - 1e-6)))
    probabilities = tried[penalty]
    threshold = choose_threshold(probabilities, y, target_precision, budget)
    flagged = probabilities >= threshold
    metrics = {
        "sessions": int(len(y)),
        "ruptures": int(y.sum()),
        "penalty": penalty,
        "cv_auc": round(float(roc_auc_score(y, probabilities)), 3),
        "cv_precision": round(float(y[flagged].mean()), 3) if flagged.any() else None,
        "cv_recall": round(float(flagged[y == 1].mean()), 3),
        "target_precision": target_precision,
    }
    if budget is not None:
        metrics["budget"] = {
            "caseload_rupture_rate": budget.rupture_rate,
            "max_flag_rate": budget.max_flag_rate,
            "cv_caseload_flag_rate": round(budget.flag_rate(flagged, y), 3),
        }
    if words is None:
        return RuptureModel(make(penalty).fit(x, y), threshold, FEATURE_NAMES, metrics)
    metrics["reads_words"] = True
    x_all = np.column_stack([x, cross_fitted_words(words, y, g, folds)])
    return RuptureModel(
        make(penalty).fit(x_all, y),
        threshold,
        FEATURE_NAMES,
        metrics,
        SessionWordsClassifier().fit(words, y),
    )


def words_probability(texts: np.ndarray, labels: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The words classifier fitted on ``texts`` scoring ``new`` (the rupture share when the
    texts hold one class only)."""
    if len(set(labels.tolist())) < 2:
        return np.full(len(new), float(labels.mean()))
    return SessionWordsClassifier().fit(texts, labels).predict_proba(list(new))[:, 1]


def cross_fitted_words(
    texts: np.ndarray, labels: np.ndarray, groups: np.ndarray, folds: int = 5
) -> np.ndarray:
    """Each session's words probability from a classifier fitted without its client."""
    from sklearn.model_selection import GroupKFold

    n_folds = min(folds, len(set(groups.tolist())))
    if n_folds < 2:
        return np.full(len(texts), float(labels.mean()))
    out = np.zeros(len(texts))
    for train, held in GroupKFold(n_splits=n_folds).split(texts, labels, groups):
        out[held] = words_probability(texts[train], labels[train], texts[held])
    return out


@dataclass(frozen=True)
class FlagBudget:
    """How many sessions a realistic caseload may see flagged for a rupture.

    Labeled sets are written rich in ruptures (the labeled note sessions' 34%); a caseload holds
    fewer. The flag rate a clinic would see is read off a labeled set by weighting its ruptures
    and non-ruptures to ``rupture_rate``: ``rupture_rate * recall + (1 - rupture_rate) * FPR``.

    Attributes:
        rupture_rate: Share of a caseload's sessions that hold a rupture worth discussing.
        max_flag_rate: Share of a caseload's sessions the rupture flag may take.
    """

    rupture_rate: float = 0.10
    max_flag_rate: float = 0.10

    def flag_rate(self, flagged: np.ndarray, labels: np.ndarray) -> float:
        """The caseload flag rate of ``flagged`` sessions with ``labels`` (1 = rupture)."""
        flagged, labels = np.asarray(flagged, dtype=bool), np.asarray(labels, dtype=bool)
        recall = flagged[labels].mean() if labels.any() else 0.0
        false_positive = flagged[~labels].mean() if (~labels).any() else 0.0
        return float(self.rupture_rate * recall + (1 - self.rupture_rate) * false_positive)


def choose_threshold(
    probabilities: np.ndarray,
    labels: np.ndarray,
    target_precision: float,
    budget: FlagBudget | None = None,
) -> float:
    """The lowest threshold whose precision reaches ``target_precision`` (and whose caseload
    flag rate fits ``budget``), else the best F1 within the budget (the highest threshold among
    equals)."""
    candidates = np.unique(probabilities)[::-1]  # highest first
    hits = np.array([labels[probabilities >= t].sum() for t in candidates], dtype=float)
    flagged = np.array([(probabilities >= t).sum() for t in candidates], dtype=float)
    precision, recall = hits / flagged, hits / max(1, labels.sum())
    if budget is not None:
        fits = np.array([budget.flag_rate(probabilities >= t, labels) for t in candidates])
        fits = fits <= budget.max_flag_rate
        if fits.any():
            candidates, hits, precision, recall = (
                candidates[fits],
                hits[fits],
                precision[fits],
                recall[fits],
            )
    reaching = candidates[precision >= target_precision]
    if len(reaching):
        return float(reaching.min())
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros_like(hits), where=hits > 0
    )
    return float(candidates[int(np.argmax(f1))])
