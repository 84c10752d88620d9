"""The passage model's output heads: one place that names them and their classes.

Every passage model (the embedding + linear heads baseline and the fine-tuned transformer) predicts
these heads, and every output file is written from them, so the names here are part of the
contract in DESIGN.md section 3.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Head:
    """One prediction head.

    Attributes:
        name: Key used in training labels (``LabeledPassage.labels``) and in artifacts.
        classes: Class names. A binary head has ``("absent", "present")`` and reports the
            probability of ``present``.
        speakers: Speakers whose passages the head applies to.
    """

    name: str
    classes: tuple[str, ...]
    speakers: tuple[str, ...] = ("clinician", "client")

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2 and self.classes[0] == "absent"


BINARY = ("absent", "present")
LEVELS = ("0", "1", "2")

HEADS: tuple[Head, ...] = (
    Head("task", BINARY),
    Head("bond", BINARY),
    Head("goal", BINARY),
    Head("strain", BINARY),
    Head("emotional_reaction", LEVELS, ("clinician",)),
    Head("interpretation", LEVELS, ("clinician",)),
    Head("exploration", LEVELS, ("clinician",)),
    Head("mi_behaviour", ("reflection", "question", "therapist_input", "other"), ("clinician",)),
    Head("client_talk", ("change", "neutral", "sustain"), ("client",)),
    Head(
        "support_strategy",
        (
            "Question",
            "Restatement or Paraphrasing",
            "Reflection of feelings",
            "Self-disclosure",
            "Affirmation and Reassurance",
            "Providing Suggestions",
            "Information",
            "Others",
        ),
        ("clinician",),
    ),
    # The clinician's way of working; pooled into the session's structure (0-1).
    Head("style", ("directive", "exploratory", "neither"), ("clinician",)),
)

HEAD_BY_NAME: dict[str, Head] = {head.name: head for head in HEADS}
ALLIANCE_HEADS = ("task", "bond", "goal")
EMPATHY_HEADS = ("emotional_reaction", "interpretation", "exploration")
AUX_HEADS = ("mi_behaviour", "client_talk", "support_strategy")
STYLE_HEAD = "style"
