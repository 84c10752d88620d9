"""Training records shared by every corpus reader and trainer."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.private_files import open_private

Split = Literal["train", "validation", "test"]


@dataclass
class LabeledPassage:
    """One passage with the labels its source gives; a head missing from ``labels`` is masked.

    Attributes:
        text: The passage (utterance, sentence or response).
        context: The previous turn, or the seeker post for EPITOME; "" when there is none.
        speaker: "clinician" (therapist, supporter, responder) or "client" (seeker, client).
        source: Corpus name ("epitome", "annomi", "esconv", "mi_boost", "notes", ...).
        group: Conversation / transcript / seeker-post / note id; splits are made by group.
        labels: Head name (see ``pipeline.model.heads``) -> class index (binary heads: 0 or 1).
        split: The split its corpus reader fixed (a stratified corpus); None means
            :func:`split_of` the group (see :func:`split_for`).
    """

    text: str
    context: str
    speaker: Literal["clinician", "client"]
    source: str
    group: str
    labels: dict[str, int] = field(default_factory=dict)
    split: Split | None = None


@dataclass
class LabeledSession:
    """A whole conversation with session-level targets on the 1-5 scale (missing = unknown).

    Attributes:
        source: Corpus name.
        group: Conversation id (same id space as the passages' ``group``).
        turns: (speaker, text) pairs in order.
        targets: Any of "task", "bond", "goal", "overall" -> value on the 1-5 scale.
        split: As for :class:`LabeledPassage` (the same split as the conversation's passages).
    """

    source: str
    group: str
    turns: list[tuple[Literal["clinician", "client"], str]]
    targets: dict[str, float] = field(default_factory=dict)
    split: Split | None = None


SPLITS: tuple[Split, ...] = ("train", "validation", "test")


def scorer_inputs(
    passages: Sequence[LabeledPassage],
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(texts, contexts, speakers, groups) of labeled passages: the rows a passage scorer
    reads (``PassageScorer.predict``); a window model rebuilds each conversation from them."""
    return (
        [p.text for p in passages],
        [p.context for p in passages],
        [p.speaker for p in passages],
        [f"{p.source}:{p.group}" for p in passages],
    )


def _bucket(group: str) -> float:
    """The group's stable position in [0, 1] (first 8 hex digits of its SHA-256)."""
    return int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_for(record: LabeledPassage | LabeledSession) -> Split:
    """A passage's or session's split: the one its reader fixed, else :func:`split_of`."""
    return record.split or split_of(record.group)


def stratified_splits(
    strata: Mapping[str, str], validation_fraction: float = 0.15, test_fraction: float = 0.15
) -> dict[str, Split]:
    """Splits that give every stratum its share of the validation and test groups.

    A hashed split can leave a rare stratum out of a held-out split altogether (AnnoMI's 15
    low-quality transcripts once fell 0 in validation, 3 in test), and then a metric that
    needs both strata, such as a high- vs low-quality AUC, cannot be measured there. Within
    each stratum, groups are ordered by their stable hash (as in :func:`split_of`); the first
    ``ceil(n * test_fraction)`` go to test, the next ``ceil(n * validation_fraction)`` to
    validation, the rest to train. Rounding up keeps a rare stratum in both held-out splits.
    A stratum of fewer than 3 groups cannot fill three splits and keeps :func:`split_of`.

    Args:
        strata: Group id -> stratum (e.g. "high" / "low" quality).
        validation_fraction: Share of each stratum's groups used for validation.
        test_fraction: Share of each stratum's groups held out for the final figures.

    Returns:
        Group id -> split.
    """
    by_stratum: dict[str, list[str]] = {}
    for group, stratum in strata.items():
        by_stratum.setdefault(stratum, []).append(group)
    splits: dict[str, Split] = {}
    for groups in by_stratum.values():
        if len(groups) < 3:
            splits.update({group: split_of(group) for group in groups})
            continue
        ordered = sorted(groups, key=lambda g: (_bucket(g), g))
        n_test = math.ceil(len(ordered) * test_fraction)
        n_valid = math.ceil(len(ordered) * validation_fraction)
        for rank, group in enumerate(ordered):
            splits[group] = (
                "test" if rank < n_test else "validation" if rank < n_test + n_valid else "train"
            )
    return splits


def split_of(group: str, validation_fraction: float = 0.15, test_fraction: float = 0.15) -> Split:
    """Deterministic split by group id, stable across runs and machines.

    Args:
        group: The group id (conversation, transcript, seeker post or note).
        validation_fraction: Share of groups used for validation.
        test_fraction: Share of groups held out for the final figures.

    Returns:
        "train", "validation" or "test".
    """
    bucket = _bucket(group)
    if bucket < test_fraction:
        return "test"
    if bucket < test_fraction + validation_fraction:
        return "validation"
    return "train"


def write_labeled_jsonl(passages: list[LabeledPassage], path: Path) -> int:
    """Write passages in the unified labeled-passage format, one JSON object per line:
    ``{text, context, speaker, source, group, labels: {head: class index}}``."""
    with open_private(path) as handle:  # may hold a clinic's note text
        for passage in passages:
            handle.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
    return len(passages)
