"""Import of a Label Studio "JSON" export into the unified labeled-passage JSONL.

:func:`import_labelstudio` reads the annotated project's export and writes the JSONL that
``alliance train --notes FILE`` reads. Rules:

* Cancelled (skipped) annotations and predictions are ignored; only submitted annotations count.
* A head an annotator left blank is no vote; a head nobody labeled stays masked (unlabeled).
* Several annotations of one passage (one project with overlap, or several projects' exports
  given together, matched by passage id and text): each head gets the majority class; a tie
  leaves the head masked, because a coin flip would put noise into the training labels.
* A head that does not apply to the passage's speaker (``pipeline.model.heads``) is dropped and
  counted; a choice value that is not one of the head's classes is an error.

The labeled passages hold note text, so the JSONL is written readable by its owner only. Nothing
here logs or raises with note text; messages name task and passage ids, heads and class names.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from pipeline.model.heads import HEAD_BY_NAME, HEADS
from pipeline.private_files import private_folder
from pipeline.training.labels import class_index
from pipeline.training.labelstudio.common import TEXT_NAME
from pipeline.training.records import LabeledPassage, write_labeled_jsonl

# Training source names of imported passages by session kind: "notes" puts them in the note
# register (repeated per epoch like the fixture notes, weak note-level session targets).
SOURCE_BY_KIND = {"note": "notes", "transcript": "transcripts"}


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
    private_folder(out_path.parent)
    out_path.unlink(missing_ok=True)
    # Owner-only permissions, like the export: the labeled passages hold note text.
    os.close(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    write_labeled_jsonl(passages, out_path)
    return report
