"""ESConv: emotional-support chats with a support strategy per supporter turn.

Reads ``hf_train.jsonl``, ``hf_valid.jsonl`` and ``FailedESConv.json`` (the low-rated chats, whose
turns also carry seeker feedback) from the ``esconv`` folder. Supporter turns become passages
labeled through ``labels.yaml``'s strategy mapping; seeker turns serve as context only. The
seeker's survey ratings are kept on each conversation for the session-level targets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.model.heads import HEAD_BY_NAME
from pipeline.training.corpora.common import (
    Speaker,
    _Conversation,
    _dialogue_passages,
    _labels_or_default,
    _require,
    _stable_id,
    _Turn,
)
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage

logger = logging.getLogger(__name__)

ESCONV_LINE_FILES = ("hf_train.jsonl", "hf_valid.jsonl")
ESCONV_FAILED = "FailedESConv.json"

ESCONV_SPEAKERS: dict[str, Speaker] = {
    "sys": "clinician",
    "usr": "client",
    "listener": "clinician",
    "speaker": "client",
}


def _json_lines(path: Path) -> list[dict]:
    """Objects of a JSON-lines file; a line may also hold a JSON string that encodes the object."""
    objects = []
    with _require(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            value = json.loads(line)
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object per line")
            objects.append(value)
    return objects


def _esconv_speaker(raw: str, where: str) -> Speaker:
    speaker = ESCONV_SPEAKERS.get(raw)
    if speaker is None:
        raise ValueError(f"{where}: unknown speaker {raw!r}")
    return speaker


def _esconv_group(turns: Sequence[_Turn]) -> str:
    # No id field: hash the content, so the id is stable and a conversation repeated in two files
    # lands in one group (never on both sides of a split).
    return "esconv-" + _stable_id(*(f"{turn.speaker}:{turn.text}" for turn in turns))


def _esconv_line_conversation(obj: Mapping, where: str) -> _Conversation:
    turns = []
    for turn in obj.get("dialog", []):
        speaker = _esconv_speaker(turn.get("speaker", ""), where)
        native = {"strategy": turn["strategy"]} if turn.get("strategy") else {}
        turns.append(_Turn(speaker, turn.get("text") or "", native))
    return _Conversation(_esconv_group(turns), turns, _seeker_survey(obj))


def _esconv_failed_conversation(obj: Mapping, where: str) -> _Conversation:
    turns = []
    for turn in obj.get("dialog", []):
        speaker = _esconv_speaker(turn.get("speaker", ""), where)
        annotation = turn.get("annotation") or {}
        native = {k: str(annotation[k]) for k in ("strategy", "feedback") if annotation.get(k)}
        turns.append(_Turn(speaker, turn.get("content") or "", native))
    _attach_feedback(turns)
    return _Conversation(_esconv_group(turns), turns, _seeker_survey(obj))


def _attach_feedback(turns: list[_Turn]) -> None:
    """Give each supporter turn the seeker feedback that directly follows its block of turns."""
    pending: str | None = None
    for turn in reversed(turns):
        if turn.speaker == "client":
            pending = turn.native.pop("feedback", None)
        elif pending is not None:
            turn.native["feedback_after"] = pending


def _seeker_survey(obj: Mapping) -> dict[str, str]:
    seeker = (obj.get("survey_score") or {}).get("seeker") or {}
    return {str(key): str(value) for key, value in seeker.items() if value is not None}


def _esconv_conversations(folder: Path) -> list[_Conversation]:
    """All ESConv conversations (train, valid, failed), exact duplicates dropped."""
    conversations = []
    for name in ESCONV_LINE_FILES:
        for number, obj in enumerate(_json_lines(folder / name), start=1):
            conversations.append(_esconv_line_conversation(obj, f"{name}:{number}"))
    with _require(folder / ESCONV_FAILED).open(encoding="utf-8") as handle:
        failed = json.load(handle)
    for number, obj in enumerate(failed):
        conversations.append(_esconv_failed_conversation(obj, f"{ESCONV_FAILED}[{number}]"))
    unique = {conversation.group: conversation for conversation in reversed(conversations)}
    if len(unique) < len(conversations):
        logger.info("esconv: dropped %d duplicate conversations", len(conversations) - len(unique))
    return [c for c in conversations if unique[c.group] is c]


def read_esconv(folder: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """ESConv turns (hf_train, hf_valid and FailedESConv) with support strategies.

    Args:
        folder: The ``esconv`` folder.
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Returns:
        One passage per turn; context = previous turn, group = ``esconv-<content hash>``.
    """
    mapping = _labels_or_default(labels).corpus("esconv")
    strategies = set(HEAD_BY_NAME["support_strategy"].classes)
    passages = []
    unknown = 0
    for conversation in _esconv_conversations(folder):
        for turn in conversation.turns:
            strategy = mapping.normalise(turn.native).get("strategy")
            unknown += strategy is not None and strategy not in strategies
        passages.extend(_dialogue_passages(conversation, "esconv", mapping))
    if unknown:
        logger.warning("esconv: %d turns with a strategy that labels.yaml does not map", unknown)
    return passages
