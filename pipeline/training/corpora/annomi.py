"""AnnoMI: 85 expert-annotated motivational-interviewing transcripts.

Reads ``AnnoMI-full.csv`` (one annotator per transcript kept) or, when it is absent,
``AnnoMI-simple.csv`` from the ``annomi`` folder. Every utterance becomes a passage with the MI
behaviour, client talk and empathy/alliance heads that ``labels.yaml`` maps its codes to; the
transcripts' MI quality (high/low) fixes their splits and is their session-level target.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from pipeline.training.corpora.common import (
    Speaker,
    _Conversation,
    _dialogue_passages,
    _labels_or_default,
    _read_csv,
    _Turn,
)
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage, stratified_splits

ANNOMI_FULL = "AnnoMI-full.csv"
ANNOMI_SIMPLE = "AnnoMI-simple.csv"

ANNOMI_SPEAKERS: dict[str, Speaker] = {"therapist": "clinician", "client": "client"}


def _annomi_rows(folder: Path) -> list[dict[str, str]]:
    """AnnoMI rows, one annotator per transcript (the lowest id), from the full file if present."""
    if not (folder / ANNOMI_FULL).exists():
        return _read_csv(folder / ANNOMI_SIMPLE)
    rows = _read_csv(folder / ANNOMI_FULL)
    first: dict[str, int] = {}
    for row in rows:
        annotator = int(row["annotator_id"])
        tid = row["transcript_id"]
        first[tid] = min(first.get(tid, annotator), annotator)
    return [row for row in rows if int(row["annotator_id"]) == first[row["transcript_id"]]]


def _annomi_conversations(folder: Path) -> list[_Conversation]:
    by_transcript: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _annomi_rows(folder):
        by_transcript[row["transcript_id"].strip()].append(row)
    conversations = []
    for tid in sorted(by_transcript, key=_natural_key):
        rows = sorted(by_transcript[tid], key=lambda row: int(row["utterance_id"]))
        turns = [_Turn(_annomi_speaker(row), row["utterance_text"], row) for row in rows]
        meta = {"mi_quality": rows[0]["mi_quality"].strip()}
        conversations.append(_Conversation(f"annomi-{tid}", turns, meta))
    # Stratified by MI quality: the held-out splits need low-quality transcripts too, or the
    # high- vs low-quality AUC cannot be measured on them (15 of 85 transcripts are low).
    splits = stratified_splits({c.group: c.meta["mi_quality"] for c in conversations})
    for conversation in conversations:
        conversation.split = splits[conversation.group]
    return conversations


def _annomi_speaker(row: Mapping[str, str]) -> Speaker:
    speaker = ANNOMI_SPEAKERS.get(row["interlocutor"].strip())
    if speaker is None:
        raise ValueError(
            f"annomi transcript {row['transcript_id']} utterance {row['utterance_id']}: "
            f"unknown interlocutor {row['interlocutor']!r}"
        )
    return speaker


def _natural_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (-1, value)


def read_annomi(folder: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """AnnoMI utterances with MI behaviour, client talk and the empathy/alliance heads they imply.

    Args:
        folder: The ``annomi`` folder (AnnoMI-full.csv preferred, AnnoMI-simple.csv fallback).
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Returns:
        One passage per utterance; context = previous utterance, group = ``annomi-<transcript_id>``.
    """
    mapping = _labels_or_default(labels).corpus("annomi")
    return [
        passage
        for conversation in _annomi_conversations(folder)
        for passage in _dialogue_passages(conversation, "annomi", mapping)
    ]
