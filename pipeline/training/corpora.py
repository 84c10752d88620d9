"""Readers that turn the public corpora (and our labeled note passages) into training records.

One reader per corpus folder under the data directory (``../shared/data`` in development); each
returns :class:`LabeledPassage` records whose labels come from ``configs/labels.yaml`` through
:class:`pipeline.training.labels.LabelsConfig`, so no mapping lives in this module. Readers:

* validate every label against ``pipeline.model.heads`` (known head, speaker it applies to, class range),
* strip whitespace and skip empty texts,
* give every record a ``group`` (conversation, transcript, seeker post, question or note) so that
  splits (:func:`pipeline.training.records.split_for`) never separate related passages; AnnoMI
  fixes its transcripts' splits stratified by MI quality (``stratified_splits``),
* log counts only, never text.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from pipeline.model.heads import HEAD_BY_NAME
from pipeline.training.labels import CorpusMapping, LabelsConfig, load_labels
from pipeline.training.records import (
    SPLITS,
    LabeledPassage,
    LabeledSession,
    Split,
    stratified_splits,
)

logger = logging.getLogger(__name__)

Speaker = Literal["clinician", "client"]

EPITOME_FILES = {
    "emotional_reactions": "emotional-reactions-reddit.csv",
    "interpretations": "interpretations-reddit.csv",
    "explorations": "explorations-reddit.csv",
}
ANNOMI_FULL = "AnnoMI-full.csv"
ANNOMI_SIMPLE = "AnnoMI-simple.csv"
ESCONV_LINE_FILES = ("hf_train.jsonl", "hf_valid.jsonl")
ESCONV_FAILED = "FailedESConv.json"
MI_BOOST_FILE = "CC_Augmented.csv"
MI_BOOST_CODE = "Union (without disambiguities)"
COUNSEL_CHAT_FILE = "20200325_counsel_chat.csv"

ANNOMI_SPEAKERS: dict[str, Speaker] = {"therapist": "clinician", "client": "client"}
ESCONV_SPEAKERS: dict[str, Speaker] = {
    "sys": "clinician",
    "usr": "client",
    "listener": "clinician",
    "speaker": "client",
}

# Folders read by default: the labeled corpora. counsel_chat is unlabeled and opt-in.
DEFAULT_CORPORA = ("epitome", "annomi", "esconv", "mi_boost")

_DATA_HINT = "pass --data ../shared/data (the folder holding the public corpora)"


# --------------------------------------------------------------------------- shared helpers


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


# --------------------------------------------------------------------------- EPITOME


def read_epitome(folder: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """EPITOME Reddit responses, one passage per response with all three empathy levels.

    The three files share (sp_id, rp_id) pairs; they are joined so each response is one passage.
    A level is masked when the pair is missing from that file or its duplicate rows disagree.

    Args:
        folder: The ``epitome`` folder.
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Returns:
        Clinician passages; context = seeker post, group = ``epitome-<sp_id>``.
    """
    mapping = _labels_or_default(labels).corpus("epitome")
    pairs: dict[tuple[str, str], dict[str, str]] = {}
    native: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    disagreements = 0
    for level_field, name in EPITOME_FILES.items():
        levels: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in _read_csv(folder / name):
            key = (row["sp_id"].strip(), row["rp_id"].strip())
            # Texts differ slightly between files (whitespace, a removed word): first file wins.
            pairs.setdefault(key, {"text": row["response_post"], "context": row["seeker_post"]})
            levels[key].add(row["level"].strip())
        for key, values in levels.items():
            if len(values) == 1:
                native[key][level_field] = values.pop()
            else:
                disagreements += 1
    if disagreements:
        logger.info("epitome: %d duplicate (pair, level) rows disagree; masked", disagreements)
    passages = (
        _passage(
            pair["text"],
            pair["context"],
            "clinician",
            "epitome",
            f"epitome-{key[0]}",
            mapping.map_labels(native[key]),
        )
        for key, pair in pairs.items()
    )
    return [p for p in passages if p is not None]


# --------------------------------------------------------------------------- AnnoMI


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


# --------------------------------------------------------------------------- ESConv


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


# --------------------------------------------------------------------------- CounselChat sources


def _question_group(title: str) -> str:
    # MI-Boost sentences come from CounselChat answers; grouping both by the question keeps every
    # answer to one question (and the question used as context) on one side of a split.
    return "counsel_chat-" + _stable_id(" ".join(title.lower().split()))


def read_mi_boost(folder: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """MI-Boost CounselChat answer sentences with silver MI codes (the Union column).

    Args:
        folder: The ``mi_boost`` folder.
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Returns:
        Clinician passages for coded sentences; context = the question of the same dialog,
        group = ``counsel_chat-<question title hash>`` (shared with :func:`read_counsel_chat`).
    """
    mapping = _labels_or_default(labels).corpus("mi_boost")
    rows = _read_csv(folder / MI_BOOST_FILE)
    questions = {row["dialog_id"]: row["text"] for row in rows if row["author"] == "speaker"}
    passages = []
    unmapped = 0
    for row in rows:
        code = row[MI_BOOST_CODE].strip()
        if row["author"] != "listener" or not code:
            continue
        codes = mapping.map_labels({"mi_code": code})
        if not codes:
            unmapped += 1
            continue
        group = _question_group(row["title"])
        context = questions.get(row["dialog_id"], "")
        passage = _passage(row["text"], context, "clinician", "mi_boost", group, codes)
        if passage is not None:
            passages.append(passage)
    if unmapped:
        logger.warning(
            "mi_boost: %d coded sentences with a code labels.yaml does not map", unmapped
        )
    return passages


# Scraped answers lose spaces after periods ("time.It") and keep stray line breaks mid-sentence,
# so a line break only ends a sentence before a capital, like ". " does.
_MISSING_SPACE = re.compile(r"(?<=[a-z][.!?])(?=[A-Z])")
_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))(?<!Dr\.)(?<!Mr\.)(?<!Ms\.)(?<!Mrs\.)\s+(?=[\"'(\[]?[A-Z0-9])"
    r"|\s*\n\s*(?=[\"'(\[]?[A-Z0-9])"
)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences with a simple regex (". ", "!", "?" or a line break before a
    capital), collapsing inner whitespace.

    Good enough for unlabeled domain text; the runtime pipeline segments with spaCy instead.
    """
    parts = _BOUNDARY.split(_MISSING_SPACE.sub(" ", text))
    return [" ".join(part.split()) for part in parts if part.strip()]


def read_counsel_chat(folder: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """CounselChat answers as unlabeled sentences (for unsupervised or domain-adaptive use).

    Args:
        folder: The ``counsel_chat`` folder.
        labels: Unused (CounselChat has no labels); accepted for a uniform reader signature.

    Returns:
        Clinician passages with empty labels; context = question text, group = the question title
        hash shared with :func:`read_mi_boost`.
    """
    del labels
    passages = []
    for row in _read_csv(folder / COUNSEL_CHAT_FILE):
        group = _question_group(row["questionTitle"])
        for sentence in split_sentences(row["answerText"]):
            passage = _passage(
                sentence, row["questionText"], "clinician", "counsel_chat", group, {}
            )
            if passage is not None:
                passages.append(passage)
    return passages


# --------------------------------------------------------------------------- note passages


class _NoteLine(BaseModel):
    """One line of the labeled note-passage JSONL file."""

    model_config = ConfigDict(extra="forbid")

    note_id: str = Field(min_length=1)
    note_type: str | None = None
    section: str | None = None
    text: str
    context: str = ""
    labels: dict[str, StrictInt | None] = Field(default_factory=dict)


def _describe(error: ValidationError) -> str:
    # Field locations and messages only: pydantic's default text echoes input values (note text).
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'line'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    )


def read_note_passages(path: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """Our synthetic labeled note passages (JSONL; a missing or null label is masked).

    Args:
        path: The JSONL file.
        labels: Unused (the file carries head labels directly); accepted for a uniform signature.

    Returns:
        Clinician passages; source "notes", group = note_id.

    Raises:
        ValueError: A malformed line, unknown head or out-of-range label (with the line number).
    """
    del labels
    passages = []
    with _require(Path(path)).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = _NoteLine.model_validate_json(line)
            except ValidationError as error:
                raise ValueError(f"{where}: {_describe(error)}") from None
            given = {name: index for name, index in record.labels.items() if index is not None}
            try:
                passage = _passage(
                    record.text, record.context, "clinician", "notes", record.note_id, given
                )
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
            if passage is not None:
                passages.append(passage)
    return passages


# --------------------------------------------------------------------------- session targets


def read_session_targets(
    data_dir: Path, labels: LabelsConfig | None = None
) -> list[LabeledSession]:
    """Whole conversations with session-level targets on the 1-5 scale.

    ESConv (train, valid and failed) conversations get task/bond/goal/overall from the seeker
    survey as ``labels.yaml`` maps them, and are skipped without ratings; AnnoMI transcripts get
    ``overall`` from their MI quality.

    Args:
        data_dir: Folder holding ``esconv/`` and ``annomi/``.
        labels: Label definitions; defaults to ``configs/labels.yaml``.

    Returns:
        Sessions whose ``group`` matches the passages' group of the same conversation.
    """
    config = _labels_or_default(labels)
    sessions = []
    sources = (
        ("esconv", _esconv_conversations, config.sessions.esconv),
        ("annomi", _annomi_conversations, config.sessions.annomi),
    )
    for name, conversations, mapping in sources:
        for conversation in conversations(corpus_folder(data_dir, name)):
            targets = mapping.map_targets(conversation.meta)
            if targets:
                sessions.append(_session(conversation, name, targets))
    return sessions


# --------------------------------------------------------------------------- dispatch

Reader = Callable[[Path, LabelsConfig | None], list[LabeledPassage]]

READERS: dict[str, Reader] = {
    "epitome": read_epitome,
    "annomi": read_annomi,
    "esconv": read_esconv,
    "mi_boost": read_mi_boost,
    "counsel_chat": read_counsel_chat,
}


def corpus_folder(data_dir: Path, name: str) -> Path:
    """The folder of one corpus under the data directory.

    Raises:
        FileNotFoundError: The folder is missing (the message names it and how to fix it).
    """
    folder = Path(data_dir) / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus folder {name!r} not found: expected {folder}; {_DATA_HINT}"
        )
    return folder


def subsample_groups(
    passages: Sequence[LabeledPassage], max_passages: int, seed: int = 0
) -> list[LabeledPassage]:
    """Keep at most ``max_passages`` passages, choosing whole groups in a seeded random order.

    Groups are visited in a shuffled order and kept while they fit, so conversations are never
    cut; a group larger than the budget is skipped. Passage order is preserved.
    """
    sizes: dict[str, int] = defaultdict(int)
    for passage in passages:
        sizes[passage.group] += 1
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    kept: set[str] = set()
    total = 0
    for group in order:
        if total + sizes[group] <= max_passages:
            kept.add(group)
            total += sizes[group]
    return [passage for passage in passages if passage.group in kept]


def read_corpora(
    data_dir: Path,
    names: Sequence[str] | None = None,
    labels: LabelsConfig | None = None,
    max_per_source: int | None = None,
    seed: int = 0,
) -> list[LabeledPassage]:
    """Read several corpora by folder name.

    Args:
        data_dir: Folder holding one sub-folder per corpus (``../shared/data`` in development).
        names: Corpus folder names; defaults to the labeled ones (:data:`DEFAULT_CORPORA`).
        labels: Label definitions; defaults to ``configs/labels.yaml``.
        max_per_source: Cap on passages per corpus, reached by whole groups (see
            :func:`subsample_groups`); None keeps everything.
        seed: Seed of the group subsampling.

    Returns:
        The passages of every corpus, in the order of ``names``.

    Raises:
        ValueError: An unknown corpus name.
        FileNotFoundError: A corpus folder or file is missing.
    """
    config = _labels_or_default(labels)
    names = DEFAULT_CORPORA if names is None else tuple(names)
    unknown = [name for name in names if name not in READERS]
    if unknown:
        raise ValueError(f"unknown corpus name(s) {unknown}; known: {sorted(READERS)}")
    passages: list[LabeledPassage] = []
    for name in names:
        records = READERS[name](corpus_folder(data_dir, name), config)
        if max_per_source is not None:
            records = subsample_groups(records, max_per_source, seed)
        logger.info("%s: %d passages in %d groups", name, len(records), _count_groups(records))
        passages.extend(records)
    return passages


def _count_groups(passages: Iterable[LabeledPassage]) -> int:
    return len({passage.group for passage in passages})


def read_labeled_jsonl(path: Path) -> list[LabeledPassage]:
    """Read the unified labeled-passage format written by ``alliance data convert``.

    Raises:
        ValueError: A line that is not a valid record, with ``file:line`` (never the text).
    """
    passages = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                passage = LabeledPassage(
                    text=str(record["text"]).strip(),
                    context=str(record.get("context", "")),
                    speaker=record["speaker"],
                    source=str(record["source"]),
                    group=str(record["group"]),
                    labels=dict(record.get("labels", {})),
                    split=record.get("split"),
                )
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise ValueError(f"{where}: not a labeled passage record") from None
            if passage.speaker not in ("clinician", "client"):
                raise ValueError(f"{where}: speaker must be 'clinician' or 'client'")
            if passage.split is not None and passage.split not in SPLITS:
                raise ValueError(f"{where}: split must be one of {SPLITS} or absent")
            passage.labels = check_labels(passage.labels, passage.speaker, where)
            if passage.text:
                passages.append(passage)
    return passages
