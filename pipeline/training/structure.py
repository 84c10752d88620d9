"""How well the session ``structure`` (0-1) reads the way a session was run, on held-out data.

Three checks, each a Spearman correlation with a bootstrap 95% interval (resampling sessions):

* public conversations (AnnoMI, ESConv) of a split: the pooled structure of the model's style
  scores against the coded share of directive turns, directive / (directive + exploratory),
  from the corpus's own codes mapped by ``configs/labels.yaml``;
* the labeled note sessions (``data/fixtures/note_sessions.jsonl`` + its label CSV): the
  structure ``alliance score`` writes against the writers' ``structure_1to5`` (the estimates
  against their ratings are in :func:`pipeline.training.sessions.evaluate_sessions`);
* approach fit on those sessions: the call from the pipeline's estimates against the call the
  labels themselves give (the labeled overall against the labeled structure), per client.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import REPO_ROOT, AllianceConfig
from pipeline.model.classify import to_scores
from pipeline.model.folder import PassageScorer
from pipeline.schemas import Session, SessionEstimate
from pipeline.sessions.approach import client_fit
from pipeline.sessions.structure import session_structure
from pipeline.steps import score_sessions
from pipeline.training.evaluate import spearman_interval
from pipeline.training.records import LabeledPassage, scorer_inputs, split_for

DIRECTIVE, EXPLORATORY = 0, 1  # class indices of the style head
NOTE_SESSIONS = REPO_ROOT / "data" / "fixtures" / "note_sessions.jsonl"
NOTE_SESSION_LABELS = REPO_ROOT / "data" / "fixtures" / "note_session_labels.csv"
MIN_CODED_TURNS = 3  # a conversation needs this many coded clinician turns to be compared


def conversation_structure(
    scorer: PassageScorer,
    passages: Sequence[LabeledPassage],
    splits: Sequence[str],
    min_activity: float,
) -> dict[str, dict]:
    """Per source: predicted structure against the coded directive share, over conversations
    of ``splits`` with at least :data:`MIN_CODED_TURNS` coded clinician turns."""
    conversations: dict[tuple[str, str], list[LabeledPassage]] = {}
    for passage in passages:
        if split_for(passage) in splits:
            conversations.setdefault((passage.source, passage.group), []).append(passage)
    kept = {}
    for key, turns in conversations.items():
        coded = [p.labels["style"] for p in turns if p.labels.get("style") in (0, 1)]
        if len(coded) >= MIN_CODED_TURNS:
            kept[key] = (turns, coded.count(DIRECTIVE) / len(coded))
    if not kept:
        return {}
    flat = [p for turns, _ in kept.values() for p in turns]
    probabilities, _ = scorer.predict(*scorer_inputs(flat))
    pairs: dict[str, list[tuple[float, float]]] = {}
    row = 0
    for (source, _), (turns, share) in kept.items():
        scores = [to_scores(probabilities, row + i) for i in range(len(turns))]
        row += len(turns)
        structure = session_structure(scores, [p.speaker for p in turns], min_activity)
        if structure is not None:
            pairs.setdefault(source, []).append((structure, share))
    return {
        f"{source} structure vs coded directive share": spearman_interval(*zip(*values))
        for source, values in sorted(pairs.items())
    }


def read_sessions(path: Path) -> list[Session]:
    """The sessions of a JSONL file in the input contract (the labeled note sessions)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Session.model_validate_json(line) for line in lines if line.strip()]


def read_session_labels(path: Path) -> dict[str, dict]:
    """``note_session_labels.csv``: session id -> split, ratings, structure_1to5 (or None)."""
    with Path(path).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for row in rows:
        out[row["session_id"]] = {
            "client_id": row["client_id"],
            "split": row["split"],
            **{k: float(row[k]) for k in ("task", "bond", "goal", "overall")},
            "structure_1to5": float(row["structure_1to5"]) if row["structure_1to5"] else None,
        }
    return out


def _labeled_estimate(estimate: SessionEstimate, labels: dict) -> SessionEstimate:
    """The estimate with the labels in its place (for the fit the labels themselves give)."""
    structure = labels["structure_1to5"]
    return estimate.model_copy(
        update={
            "overall": labels["overall"],
            "structure": None if structure is None else (structure - 1) / 4,
        }
    )


def note_session_structure(
    model,
    sessions_path: Path,
    labels_path: Path,
    config: AllianceConfig,
    split: str = "test",
) -> dict[str, dict]:
    """Structure, overall and approach fit of a loaded model on the labeled note sessions.

    Args:
        model: A loaded :class:`pipeline.sessions.alliance_model.AllianceModel`.
        sessions_path: ``note_sessions.jsonl`` (input contract).
        labels_path: ``note_session_labels.csv``.
        config: Run config (sections, structure and fit settings).
        split: ``dev``, ``test`` or ``all``.
    """
    labels = read_session_labels(labels_path)
    sessions = read_sessions(sessions_path)
    sessions = [s for s in sessions if split == "all" or labels[s.session_id]["split"] == split]
    estimates = [item.estimate for item in score_sessions(sessions, model, config).values()]
    both = [
        (e.structure, labels[e.session_id]["structure_1to5"])
        for e in estimates
        if e.structure is not None and labels[e.session_id]["structure_1to5"] is not None
    ]
    result = {
        f"note sessions ({split}) structure vs structure_1to5": spearman_interval(
            [x for x, _ in both], [y for _, y in both]
        ),
    }
    by_client: dict[str, list[SessionEstimate]] = {}
    for estimate in estimates:
        by_client.setdefault(estimate.client_id, []).append(estimate)
    calls = []
    for client, items in sorted(by_client.items()):
        predicted = client_fit(items, config.approach).approach_fit
        labeled = client_fit(
            [_labeled_estimate(e, labels[e.session_id]) for e in items], config.approach
        ).approach_fit
        calls.append({"client_id": client, "pipeline": predicted, "labels": labeled})
    result[f"note sessions ({split}) approach fit"] = {
        "n": len(calls),
        "agree": sum(c["pipeline"] == c["labels"] for c in calls),
        "wrong_direction": sum(
            {c["pipeline"], c["labels"]} == {"structure", "exploration"} for c in calls
        ),
        "clients": calls,
    }
    return result


def structure_checks(
    model,
    passages: Sequence[LabeledPassage],
    splits: Sequence[str],
    config: AllianceConfig,
    note_split: str,
) -> dict[str, dict]:
    """Every check above for a loaded model: the public conversations of ``splits`` among
    ``passages``, and the labeled note sessions of ``note_split`` (``dev`` or ``test``)."""
    figures = conversation_structure(model.scorer, passages, splits, config.approach.min_activity)
    notes = note_session_structure(model, NOTE_SESSIONS, NOTE_SESSION_LABELS, config, note_split)
    return figures | notes
