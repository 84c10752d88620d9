"""Training records shared by every corpus reader and trainer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

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
        labels: Head name (see ``pipeline.heads``) -> class index (binary heads: 0 or 1).
    """

    text: str
    context: str
    speaker: Literal["clinician", "client"]
    source: str
    group: str
    labels: dict[str, int] = field(default_factory=dict)


@dataclass
class LabeledSession:
    """A whole conversation with session-level targets on the 1-5 scale (missing = unknown).

    Attributes:
        source: Corpus name.
        group: Conversation id (same id space as the passages' ``group``).
        turns: (speaker, text) pairs in order.
        targets: Any of "task", "bond", "goal", "overall" -> value on the 1-5 scale.
    """

    source: str
    group: str
    turns: list[tuple[Literal["clinician", "client"], str]]
    targets: dict[str, float] = field(default_factory=dict)


def split_of(group: str, validation_fraction: float = 0.15, test_fraction: float = 0.15) -> Split:
    """Deterministic split by group id, stable across runs and machines.

    Args:
        group: The group id (conversation, transcript, seeker post or note).
        validation_fraction: Share of groups used for validation.
        test_fraction: Share of groups held out for the final figures.

    Returns:
        "train", "validation" or "test".
    """
    bucket = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < test_fraction:
        return "test"
    if bucket < test_fraction + validation_fraction:
        return "validation"
    return "train"


def write_labeled_jsonl(passages: list[LabeledPassage], path: Path) -> int:
    """Write passages in the unified labeled-passage format, one JSON object per line:
    ``{text, context, speaker, source, group, labels: {head: class index}}``."""
    with path.open("w", encoding="utf-8") as handle:
        for passage in passages:
            handle.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
    return len(passages)
