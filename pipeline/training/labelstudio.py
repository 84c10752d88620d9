"""Annotation round trip with Label Studio: export passages from the store, import the labels.

Export (:func:`export_labelstudio`) writes two files for a Label Studio project:

* ``tasks.json``: Label Studio's task-import JSON, one task per scored passage of the store,
  ``{"data": {text, context, session_id, passage_id, index, speaker, section, kind, where}}``,
  and optionally ``predictions`` (pre-annotations from the stored model scores, so annotators
  correct rather than start blank). ``context`` is the previous passage of the same session,
  exactly what the passage model sees (``pipeline.model.classify.contexts_for``).
* ``labeling_config.xml``: the labeling interface, generated from ``configs/labels.yaml``: one
  single-choice ``<Choices>`` per head whose choice values are our class names.

Import (:func:`import_labelstudio`) reads Label Studio's "JSON" export of the annotated project
and writes the unified labeled-passage JSONL that ``alliance train --notes FILE`` reads. Rules:

* Cancelled (skipped) annotations and predictions are ignored; only submitted annotations count.
* A head an annotator left blank is no vote; a head nobody labeled stays masked (unlabeled).
* Several annotations of one passage (one project with overlap, or several projects' exports
  given together, matched by passage id and text): each head gets the majority class; a tie
  leaves the head masked, because a coin flip would put noise into the training labels.
* A head that does not apply to the passage's speaker (``pipeline.model.heads``) is dropped and
  counted; a choice value that is not one of the head's classes is an error.

Note text is sensitive: the export necessarily holds it (that is its purpose), so both files are
written readable by their owner only and must stay inside the clinic's environment. Nothing here
logs or raises with note text; messages name task and passage ids, heads and class names only.
"""

from __future__ import annotations

import json
import os
import random
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from pipeline.model.classify import contexts_for
from pipeline.model.heads import ALLIANCE_HEADS, EMPATHY_HEADS, HEAD_BY_NAME, HEADS
from pipeline.schemas import Passage, PassageScores
from pipeline.store.core import Store
from pipeline.training.labels import LabelsConfig, class_index, load_labels
from pipeline.training.records import LabeledPassage, write_labeled_jsonl

TASKS_FILE = "tasks.json"
CONFIG_FILE = "labeling_config.xml"
TEXT_NAME = "text"  # the object tag every <Choices> points at (toName)

# The heads docs/labeling.md defines for note passages (and the fixture set labels). The aux
# heads are source-native coding schemes (AnnoMI MI codes, ESConv strategies) that need their
# own coding manuals, so they are opt-in (``heads=``), mostly for transcript turns.
NOTE_HEADS: tuple[str, ...] = (*ALLIANCE_HEADS, "strain", *EMPATHY_HEADS)

GUIDE = (
    "Label each head by docs/labeling.md. Leave a head blank only when you cannot decide: "
    "a blank head is unlabeled and teaches the model nothing. Skip passages you cannot judge."
)

# Training source names of imported passages by session kind: "notes" puts them in the note
# register (repeated per epoch like the fixture notes, weak note-level session targets).
SOURCE_BY_KIND = {"note": "notes", "transcript": "transcripts"}


# --------------------------------------------------------------------------- export


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
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks_path, config_path = out_dir / TASKS_FILE, out_dir / CONFIG_FILE
    _write_private(tasks_path, json.dumps(tasks, ensure_ascii=False) + "\n")
    config_path.write_text(config, encoding="utf-8")  # no note text in the config
    summary.files = {"tasks": str(tasks_path), "labeling_config": str(config_path)}
    return summary


# --------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    """What an import read and decided (counts only, never text).

    Attributes:
        tasks: Task records read (over all export files).
        passages: Distinct passages (a passage in several files or tasks counts once).
        annotated: Passages with at least one submitted (not cancelled) annotation.
        skipped: Passages without one (never annotated, or every annotation cancelled).
        cancelled: Cancelled annotations ignored.
        annotations: Submitted annotations used.
        written: Passages written (annotated and with at least one head labeled).
        no_labels: Annotated passages where every head was left blank or tied.
        ties: Per head, passages whose annotators tied (the head is left unlabeled).
        not_applicable: Per head, labels dropped because the head does not apply to the
            passage's speaker (e.g. ``client_talk`` on a clinician passage).
        ignored_controls: Per control name, choices results that are not one of our heads.
        label_counts: Per head, final labels per class name.
        agreement: Per head with doubly annotated passages: ``items`` (passages with 2+
            votes), ``pairs`` (annotation pairs), ``percent`` (share of agreeing pairs) and
            ``kappa`` (Cohen's kappa averaged over annotator pairs, weighted by shared items;
            None when undefined, e.g. one class only).
    """

    tasks: int = 0
    passages: int = 0
    annotated: int = 0
    skipped: int = 0
    cancelled: int = 0
    annotations: int = 0
    written: int = 0
    no_labels: int = 0
    ties: dict[str, int] = field(default_factory=dict)
    not_applicable: dict[str, int] = field(default_factory=dict)
    ignored_controls: dict[str, int] = field(default_factory=dict)
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    agreement: dict[str, dict[str, float | int | None]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Item:
    """One passage and its submitted annotations: (annotator key, head -> class name)."""

    data: dict
    where: str
    votes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    seen: set[tuple[str, object]] = field(default_factory=set)


def read_labelstudio_export(path: Path) -> list[dict]:
    """Tasks of a Label Studio "JSON" export (a list of task objects).

    Raises:
        ValueError: Not JSON, or not a list of task objects (no text in the message).
    """
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON (line {error.lineno})") from None
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        raise ValueError(
            f"{path}: expected Label Studio's JSON export (a list of tasks); "
            "export the project with the 'JSON' format"
        )
    return tasks


def _annotator(annotation: Mapping, position: int) -> str:
    # completed_by is a user id in the JSON export (an object in some versions); without it,
    # the annotation's position stands in so that agreement still pairs first with second.
    who = annotation.get("completed_by")
    if isinstance(who, Mapping):
        who = who.get("id", who.get("email"))
    return f"user:{who}" if who is not None else f"position:{position}"


def _choices(annotation: Mapping, where: str, report: ImportReport) -> dict[str, str]:
    """Head -> class name of one annotation (validated)."""
    labeled: dict[str, str] = {}
    for result in annotation.get("result") or []:
        if not isinstance(result, Mapping) or result.get("type") != "choices":
            continue  # other controls (comments, ratings) are not head labels
        name = str(result.get("from_name", ""))
        head = HEAD_BY_NAME.get(name)
        if head is None:
            report.ignored_controls[name] = report.ignored_controls.get(name, 0) + 1
            continue
        chosen = (result.get("value") or {}).get("choices") or []
        if len(chosen) > 1:
            raise ValueError(f"{where}: head {name!r} has several choices {chosen}; one expected")
        if not chosen:
            continue
        value = str(chosen[0])
        if value not in head.classes:
            raise ValueError(
                f"{where}: head {name!r} has unknown choice {value!r}; classes: {head.classes} "
                "(was the project's labeling config changed?)"
            )
        labeled[name] = value
    return labeled


def _collect(
    exports: Sequence[Sequence[Mapping]], report: ImportReport
) -> dict[tuple[str, str], _Item]:
    items: dict[tuple[str, str], _Item] = {}
    for file_number, tasks in enumerate(exports):
        for position, task in enumerate(tasks):
            report.tasks += 1
            data = task.get("data")
            task_id = task.get("id", f"#{position + 1}")
            where = f"task {task_id}"
            if not isinstance(data, Mapping):
                raise ValueError(f"{where}: no 'data' object")
            missing = [key for key in (TEXT_NAME, "session_id", "speaker") if key not in data]
            if missing:
                raise ValueError(
                    f"{where}: data lacks {missing}; import only projects made from "
                    "`alliance data export-labelstudio` tasks"
                )
            if data["speaker"] not in ("clinician", "client"):
                raise ValueError(f"{where}: speaker must be 'clinician' or 'client'")
            if "passage_id" in data:
                where = f"task {task_id} (passage {data['passage_id']})"
            # The same passage exported into several projects is pooled; the text is part of
            # the key so that a re-segmented (amended) note never merges different passages.
            key = (str(data.get("passage_id", f"{file_number}:{task_id}")), str(data[TEXT_NAME]))
            item = items.setdefault(key, _Item(dict(data), where))
            # "completions" is the name of annotations in Label Studio before 1.0.
            annotations = task.get("annotations", task.get("completions")) or []
            for number, annotation in enumerate(annotations):
                who = _annotator(annotation, number)
                if annotation.get("id") is not None:
                    # The same export given twice must not double an annotator's vote.
                    if (who, annotation["id"]) in item.seen:
                        continue
                    item.seen.add((who, annotation["id"]))
                if annotation.get("was_cancelled"):
                    report.cancelled += 1
                    continue
                report.annotations += 1
                item.votes.append((who, _choices(annotation, where, report)))
    return items


def _majority(votes: Sequence[str]) -> str | None:
    """The most frequent class, or None on a tie for the top."""
    ranked = Counter(votes).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def _agreement(items: Iterable[_Item], heads: Sequence[str]) -> dict[str, dict]:
    from sklearn.metrics import cohen_kappa_score

    out: dict[str, dict] = {}
    for head in heads:
        n_items, n_pairs, agreeing = 0, 0, 0
        by_raters: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(
            lambda: ([], [])
        )
        for item in items:
            votes = [(who, labeled[head]) for who, labeled in item.votes if head in labeled]
            if len(votes) < 2:
                continue
            n_items += 1
            for (who_a, a), (who_b, b) in combinations(sorted(votes), 2):
                n_pairs += 1
                agreeing += a == b
                first, second = by_raters[(who_a, who_b)]
                first.append(a)
                second.append(b)
        if not n_items:
            continue
        kappas, weights = [], []
        for first, second in by_raters.values():
            # Kappa is undefined for fewer than two items or a single class on both sides.
            if len(first) >= 2 and len(set(first) | set(second)) >= 2:
                kappas.append(float(cohen_kappa_score(first, second)))
                weights.append(len(first))
        kappa = sum(k * w for k, w in zip(kappas, weights)) / sum(weights) if kappas else None
        out[head] = {
            "items": n_items,
            "pairs": n_pairs,
            "percent": round(100.0 * agreeing / n_pairs, 1),
            "kappa": None if kappa is None else round(kappa, 3),
        }
    return out


def import_annotations(
    exports: Sequence[Sequence[Mapping]], source: str | None = None
) -> tuple[list[LabeledPassage], ImportReport]:
    """Labeled passages from Label Studio exports (see the module docstring for the rules).

    Args:
        exports: One list of tasks per export file (as :func:`read_labelstudio_export` reads).
        source: Training source name of every passage; default by session kind
            (:data:`SOURCE_BY_KIND`: notes -> "notes", transcripts -> "transcripts").

    Returns:
        Passages with at least one head labeled (group = session id), and the report.

    Raises:
        ValueError: A task without our data fields, a bad speaker, an unknown choice value or
            several choices for one head; the message names the task, passage and head.
    """
    report = ImportReport()
    items = _collect(exports, report)
    report.passages = len(items)
    passages: list[LabeledPassage] = []
    label_counts: dict[str, Counter] = defaultdict(Counter)
    for item in items.values():
        if not item.votes:
            report.skipped += 1
            continue
        report.annotated += 1
        speaker = item.data["speaker"]
        labels: dict[str, int] = {}
        for head in HEADS:
            votes = [labeled[head.name] for _, labeled in item.votes if head.name in labeled]
            if not votes:
                continue
            if speaker not in head.speakers:
                report.not_applicable[head.name] = report.not_applicable.get(head.name, 0) + 1
                continue
            winner = _majority(votes)
            if winner is None:
                report.ties[head.name] = report.ties.get(head.name, 0) + 1
                continue
            labels[head.name] = class_index(head.name, winner)
            label_counts[head.name][winner] += 1
        text = str(item.data[TEXT_NAME]).strip()
        if not labels or not text:
            report.no_labels += 1
            continue
        kind = str(item.data.get("kind") or "note")
        passages.append(
            LabeledPassage(
                text=text,
                context=str(item.data.get("context") or "").strip(),
                speaker=speaker,
                source=source or SOURCE_BY_KIND.get(kind, "notes"),
                group=str(item.data["session_id"]),
                labels=labels,
            )
        )
    report.written = len(passages)
    report.label_counts = {
        head.name: dict(sorted(label_counts[head.name].items()))
        for head in HEADS
        if head.name in label_counts
    }
    report.agreement = _agreement(list(items.values()), [head.name for head in HEADS])
    return passages, report


def import_labelstudio(
    exports: Path | Sequence[Path], out_path: Path, source: str | None = None
) -> ImportReport:
    """Convert Label Studio JSON export file(s) into labeled-passage JSONL for training.

    Args:
        exports: One export file, or several (e.g. one project per annotator): annotations of
            the same passage are pooled.
        out_path: The JSONL to write (``alliance train --notes FILE`` reads it).
        source: Training source name (see :func:`import_annotations`).

    Returns:
        The import report (counts, ties, per-head label counts, agreement).

    Raises:
        ValueError: A malformed export or annotation (see :func:`import_annotations`).
    """
    paths = [Path(exports)] if isinstance(exports, str | Path) else [Path(p) for p in exports]
    passages, report = import_annotations([read_labelstudio_export(p) for p in paths], source)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.unlink(missing_ok=True)
    # Owner-only permissions, like the export: the labeled passages hold note text.
    os.close(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    write_labeled_jsonl(passages, out_path)
    return report
