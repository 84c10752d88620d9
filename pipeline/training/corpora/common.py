"""What the corpus readers share: file access, label checks, passage and conversation building.

Every reader builds its records through :func:`_passage` (strip, skip empty, validate labels
against ``pipeline.model.heads``); dialogue corpora (AnnoMI, ESConv) first build
:class:`_Conversation` objects, which give both the passages (:func:`_dialogue_passages`) and the
whole sessions (:func:`_session`). Nothing here imports a reader, so every reader can import it.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.model.heads import HEAD_BY_NAME
from pipeline.training.labels import CorpusMapping, LabelsConfig, load_labels
from pipeline.training.records import LabeledPassage, LabeledSession, Split

Speaker = Literal["clinician", "client"]

_DATA_HINT = "pass --data ../shared/data (the folder holding the public corpora)"


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"expected {path}; {_DATA_HINT}")
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a UTF-8 CSV file as dicts (empty cells are "")."""
    with _require(path).open(encoding="utf-8", newline="") as handle:
        return [{key: value or "" for key, value in row.items()} for row in csv.DictReader(handle)]


def _stable_id(*parts: str) -> str:
    # sha256 rather than hash(): the id must not change between runs or machines.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _question_group(title: str) -> str:
    # MI-Boost sentences come from CounselChat answers; grouping both by the question keeps every
    # answer to one question (and the question used as context) on one side of a split.
    return "counsel_chat-" + _stable_id(" ".join(title.lower().split()))


def check_labels(labels: Mapping[str, int], speaker: str, where: str) -> dict[str, int]:
    """Validate passage labels against ``pipeline.model.heads``.

    Args:
        labels: Head name -> class index.
        speaker: The passage's speaker; each head must apply to it.
        where: Location for the error message (source, file, line).

    Returns:
        The labels as a new dict.

    Raises:
        ValueError: Unknown head, a head that does not apply to the speaker, or a class index
            outside the head's range.
    """
    for name, index in labels.items():
        head = HEAD_BY_NAME.get(name)
        if head is None:
            raise ValueError(f"{where}: unknown head {name!r}; known heads: {sorted(HEAD_BY_NAME)}")
        if speaker not in head.speakers:
            raise ValueError(f"{where}: head {name!r} does not apply to {speaker} passages")
        # bool is an int subclass; True/False are not class indices.
        if type(index) is not int or not 0 <= index < len(head.classes):
            raise ValueError(f"{where}: label {name}={index!r} outside 0..{len(head.classes) - 1}")
    return dict(labels)


def _passage(
    text: str,
    context: str,
    speaker: Speaker,
    source: str,
    group: str,
    labels: Mapping[str, int],
    split: Split | None = None,
) -> LabeledPassage | None:
    """A validated passage, or None when the text is empty after stripping."""
    text = (text or "").strip()
    if not text:
        return None
    return LabeledPassage(
        text=text,
        context=(context or "").strip(),
        speaker=speaker,
        source=source,
        group=group,
        labels=check_labels(labels, speaker, f"{source} group {group}"),
        split=split,
    )


@dataclass
class _Turn:
    speaker: Speaker
    text: str
    native: dict[str, str] = field(default_factory=dict)


@dataclass
class _Conversation:
    group: str
    turns: list[_Turn]
    meta: dict[str, str] = field(default_factory=dict)
    split: Split | None = None  # fixed by a stratified reader; None = split_of(group)


def _dialogue_passages(
    conversation: _Conversation, source: str, mapping: CorpusMapping
) -> list[LabeledPassage]:
    """One passage per labeled, non-empty turn; context is the previous non-empty turn.

    Turns that no rule labels (e.g. ESConv seeker turns) teach no head, so they only serve as
    context; the whole conversation stays available through :func:`read_session_targets`.
    """
    passages: list[LabeledPassage] = []
    context = ""
    for turn in conversation.turns:
        labels = mapping.map_labels(turn.native)
        passage = _passage(
            turn.text,
            context,
            turn.speaker,
            source,
            conversation.group,
            labels,
            conversation.split,
        )
        if passage is None:
            continue
        if labels:
            passages.append(passage)
        context = passage.text
    return passages


def _session(conversation: _Conversation, source: str, targets: dict[str, float]) -> LabeledSession:
    turns = [(turn.speaker, turn.text.strip()) for turn in conversation.turns if turn.text.strip()]
    return LabeledSession(
        source=source,
        group=conversation.group,
        turns=turns,
        targets=targets,
        split=conversation.split,
    )


def _labels_or_default(labels: LabelsConfig | None) -> LabelsConfig:
    return load_labels() if labels is None else labels
