"""Export of scored passages from the store into a Label Studio project.

:func:`export_labelstudio` writes two files:

* ``tasks.json``: Label Studio's task-import JSON, one task per scored passage of the store,
  ``{"data": {text, context, session_id, passage_id, index, speaker, section, kind, where}}``,
  and optionally ``predictions`` (pre-annotations from the stored model scores, so annotators
  correct rather than start blank). ``context`` is the previous passage of the same session,
  exactly what the passage model sees (``pipeline.model.classify.contexts_for``).
* ``labeling_config.xml``: the labeling interface, generated from ``configs/labels.yaml``: one
  single-choice ``<Choices>`` per head whose choice values are our class names.

``tasks.json`` holds note text (that is its purpose), so it is written readable by its owner only
and must stay inside the clinic's environment; nothing here logs note text.
"""

from __future__ import annotations

import json
import os
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.model.classify import contexts_for
from pipeline.model.heads import ALLIANCE_HEADS, HEAD_BY_NAME, HEADS
from pipeline.private_files import private_folder
from pipeline.schemas import Passage, PassageScores
from pipeline.store.core import Store
from pipeline.training.labels import LabelsConfig, load_labels
from pipeline.training.labelstudio.common import CONFIG_FILE, NOTE_HEADS, TASKS_FILE, TEXT_NAME

GUIDE = (
    "Label each head by docs/labeling.md. Leave a head blank only when you cannot decide: "
    "a blank head is unlabeled and teaches the model nothing. Skip passages you cannot judge."
)


def check_heads(heads: Iterable[str]) -> tuple[str, ...]:
    """Validate head names, keeping the order of ``pipeline.model.heads`` and dropping repeats.

    Raises:
        ValueError: An unknown head, with the known names.
    """
    wanted = set(heads)
    unknown = sorted(wanted - set(HEAD_BY_NAME))
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; known heads: {[h.name for h in HEADS]}")
    if not wanted:
        raise ValueError("no heads to annotate")
    return tuple(head.name for head in HEADS if head.name in wanted)


def _speakers_hint(name: str) -> str:
    speakers = HEAD_BY_NAME[name].speakers
    return "" if len(speakers) == 2 else f" ({speakers[0]} passages only)"


def labeling_config(heads: Sequence[str] = NOTE_HEADS, labels: LabelsConfig | None = None) -> str:
    """Label Studio labeling config (XML) for ``heads``, from the label schema.

    One ``<Choices name=HEAD toName="text" choice="single-radio">`` per head with exactly the
    head's classes as choice values (what :func:`import_annotations` expects back); the head's
    definition from ``labels.yaml`` is shown above it and class definitions are choice hints.

    Args:
        heads: Head names (see ``pipeline.model.heads``).
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Raises:
        ValueError: An unknown head.
    """
    heads = check_heads(heads)
    labels = labels or load_labels()
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=GUIDE, size="6")
    ET.SubElement(view, "Text", name="where", value="$where")
    ET.SubElement(view, "Header", value="Context (previous passage, for references only)", size="6")
    ET.SubElement(view, "Text", name="context", value="$context")
    ET.SubElement(view, "Header", value="Passage to label", size="5")
    ET.SubElement(view, "Text", name=TEXT_NAME, value=f"${TEXT_NAME}")
    for name in heads:
        definition = labels.heads[name]
        box = ET.SubElement(view, "View")
        # Class meanings go in the header too: choice hints need a Label Studio feature flag.
        classes = "; ".join(f"{k} = {v}" for k, v in definition.classes.items())
        text = f"{name}{_speakers_hint(name)}: {definition.definition}"
        ET.SubElement(box, "Header", value=f"{text} ({classes})" if classes else text, size="6")
        choices = ET.SubElement(
            box,
            "Choices",
            name=name,
            toName=TEXT_NAME,
            choice="single-radio",
            showInline="true",
            required="false",  # blank = unlabeled: the masked loss ignores the head
        )
        for class_name in HEAD_BY_NAME[name].classes:
            attributes = {"value": class_name}
            if class_name in definition.classes:
                attributes["hint"] = definition.classes[class_name]
            ET.SubElement(choices, "Choice", attributes)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def head_probabilities(scores: PassageScores) -> dict[str, list[float]]:
    """Per head, probabilities over the head's classes (the inverse of ``to_scores``)."""
    out: dict[str, list[float]] = {}
    for head in HEADS:
        if head.name in ALLIANCE_HEADS or head.name == "strain":
            present = scores.strain if head.name == "strain" else scores.alliance[head.name]
            out[head.name] = [1.0 - present, present]
        elif head.name in scores.empathy:
            out[head.name] = list(scores.empathy[head.name])
        elif head.name in scores.aux:
            named = scores.aux[head.name]
            out[head.name] = [named.get(c, 0.0) for c in head.classes]
    return out


def prediction(
    scores: PassageScores, heads: Sequence[str], speaker: str, model_version: str
) -> dict:
    """A Label Studio pre-annotation: the most probable class of each head that applies.

    The prediction's ``score`` is the lowest per-head confidence, so sorting tasks by
    prediction score in Label Studio puts the passages the model is least sure about first.
    """
    probabilities = head_probabilities(scores)
    result, confidences = [], []
    for name in heads:
        if name not in probabilities or speaker not in HEAD_BY_NAME[name].speakers:
            continue
        row = probabilities[name]
        best = max(range(len(row)), key=row.__getitem__)
        confidences.append(row[best])
        result.append(
            {
                "from_name": name,
                "to_name": TEXT_NAME,
                "type": "choices",
                "value": {"choices": [HEAD_BY_NAME[name].classes[best]]},
                "score": round(row[best], 4),
            }
        )
    score = round(min(confidences), 4) if confidences else 0.0
    return {"model_version": model_version, "score": score, "result": result}


@dataclass
class ExportSummary:
    """Counts of one export (no text).

    Attributes:
        tasks: Tasks written (one per passage).
        sessions: Sessions the tasks come from.
        passages_available: Scored passages in the selected sessions (before ``limit``).
        not_scored: Requested session ids that have no current result in the store (unknown,
            or amended and not yet rescored): their passages are not exported.
        heads: Heads in the labeling config.
        predictions: Tasks carrying pre-annotations.
        files: Paths written.
    """

    tasks: int
    sessions: int
    passages_available: int
    not_scored: int
    heads: list[str]
    predictions: int
    files: dict[str, str] = field(default_factory=dict)


def build_tasks(
    store: Store,
    session_ids: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int | None = None,
    heads: Sequence[str] = NOTE_HEADS,
    with_predictions: bool = False,
) -> tuple[list[dict], ExportSummary]:
    """Label Studio tasks for the scored passages of the store.

    Only sessions whose current content has a result are used: their stored passages are what
    the model scored, and their estimate names the model version of the pre-annotations.

    Args:
        store: The result store.
        session_ids: Sessions to export (default: every scored session).
        limit: At most this many passages: the first ones (by client, date, session, order) or,
            with ``seed``, a random sample (kept in that order so a session reads in sequence).
        seed: Seed of the random sample; without ``limit`` it changes nothing.
        heads: Heads to annotate (pre-annotations cover these heads only).
        with_predictions: Add the stored model scores as pre-annotations.

    Returns:
        The tasks and a summary of counts.

    Raises:
        ValueError: An unknown head or a negative limit.
    """
    heads = check_heads(heads)
    if limit is not None and limit < 0:
        raise ValueError("limit must be zero or more")
    estimates = store.estimates(session_ids)
    versions = {e.session_id: e.model_version for e in estimates}
    scored = list(versions)
    requested = set(session_ids) if session_ids is not None else set(scored)
    kinds = {s.session_id: s.kind for s in store.sessions(scored)}
    by_session = store.passages(scored)
    rows: list[tuple[Passage, PassageScores | None, str]] = []
    for session_id in scored:
        pairs = by_session.get(session_id, [])
        contexts = contexts_for([passage for passage, _ in pairs])
        rows += [(passage, scores, context) for (passage, scores), context in zip(pairs, contexts)]
    available = len(rows)
    if limit is not None and limit < len(rows):
        if seed is None:
            rows = rows[:limit]
        else:
            keep = sorted(random.Random(seed).sample(range(len(rows)), limit))
            rows = [rows[i] for i in keep]
    tasks = []
    for passage, scores, context in rows:
        kind = kinds.get(passage.session_id, "note")
        task: dict = {
            "data": {
                TEXT_NAME: passage.text,
                "context": context,
                "session_id": passage.session_id,
                "passage_id": passage.passage_id,
                "index": passage.index,
                "speaker": passage.speaker,
                "section": passage.section,
                "kind": kind,
                "where": f"{passage.passage_id} · {passage.section} · {passage.speaker}",
            }
        }
        if with_predictions and scores is not None:
            version = versions[passage.session_id]
            task["predictions"] = [prediction(scores, heads, passage.speaker, version)]
        tasks.append(task)
    summary = ExportSummary(
        tasks=len(tasks),
        sessions=len({task["data"]["session_id"] for task in tasks}),
        passages_available=available,
        not_scored=len(requested - set(scored)),
        heads=list(heads),
        predictions=sum("predictions" in task for task in tasks),
    )
    return tasks, summary


def _write_private(path: Path, text: str) -> None:
    # Owner-only permissions: the file holds note text (os.open applies the mode on creation).
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def export_labelstudio(
    store: Store | str,
    out_dir: Path,
    session_ids: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int | None = None,
    heads: Sequence[str] | None = None,
    with_predictions: bool = False,
    labels: LabelsConfig | None = None,
) -> ExportSummary:
    """Write ``tasks.json`` and ``labeling_config.xml`` for a Label Studio project.

    Args:
        store: The result store or its SQLAlchemy URL.
        out_dir: Folder to write into (created).
        session_ids: Sessions to export (default: every scored session).
        limit: At most this many passages (see :func:`build_tasks`).
        seed: Draw ``limit`` passages at random with this seed.
        heads: Heads to annotate (default: :data:`NOTE_HEADS`).
        with_predictions: Add pre-annotations from the stored model scores.
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Returns:
        Counts and the paths written (never text).

    Raises:
        ValueError: An unknown head or a negative limit.
    """
    store = Store(store) if isinstance(store, str) else store
    heads = check_heads(heads if heads is not None else NOTE_HEADS)
    config = labeling_config(heads, labels)
    tasks, summary = build_tasks(store, session_ids, limit, seed, heads, with_predictions)
    out_dir = Path(out_dir)
    private_folder(out_dir)
    tasks_path, config_path = out_dir / TASKS_FILE, out_dir / CONFIG_FILE
    _write_private(tasks_path, json.dumps(tasks, ensure_ascii=False) + "\n")
    config_path.write_text(config, encoding="utf-8")  # no note text in the config
    summary.files = {"tasks": str(tasks_path), "labeling_config": str(config_path)}
    return summary
