"""Passages -> head probabilities -> ``PassageScores`` (the ``passages.jsonl`` shape)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.model.folder import PassageScorer
from pipeline.model.heads import (
    ALLIANCE_HEADS,
    AUX_HEADS,
    EMPATHY_HEADS,
    HEAD_BY_NAME,
    STYLE_HEAD,
)
from pipeline.schemas import Passage, PassageScores


def contexts_for(passages: Sequence[Passage]) -> list[str]:
    """The previous passage of the same session (the previous turn for transcripts), or ""."""
    contexts = []
    previous: Passage | None = None
    for passage in passages:
        same = previous is not None and previous.session_id == passage.session_id
        contexts.append(previous.text if same else "")
        previous = passage
    return contexts


def to_scores(probabilities: dict[str, np.ndarray], row: int) -> PassageScores:
    """One row of head probabilities in the ``passages.jsonl`` shape (DESIGN.md section 3)."""

    def present(name: str) -> float:
        return round(float(probabilities[name][row, 1]), 4)

    def named(name: str) -> dict[str, float]:
        classes = HEAD_BY_NAME[name].classes
        return {c: round(float(p), 4) for c, p in zip(classes, probabilities[name][row])}

    return PassageScores(
        alliance={name: present(name) for name in ALLIANCE_HEADS},
        strain=present("strain"),
        empathy={
            name: [round(float(p), 4) for p in probabilities[name][row]] for name in EMPATHY_HEADS
        },
        aux={name: named(name) for name in AUX_HEADS},
        style=named(STYLE_HEAD) if STYLE_HEAD in probabilities else None,
    )


def score_passages(
    passages: Sequence[Passage], scorer: PassageScorer
) -> tuple[dict[str, PassageScores], np.ndarray]:
    """Score passages (ordered by session and index) with the model's passage scorer.

    Returns:
        (passage_id -> scores, (n, d) passage vectors in input order).
    """
    if not passages:
        return {}, np.zeros((0, 0), dtype=np.float32)
    probabilities, vectors = scorer.predict(
        [p.text for p in passages],
        contexts_for(passages),
        [p.speaker for p in passages],
        [p.session_id for p in passages],
    )
    scores = {p.passage_id: to_scores(probabilities, row) for row, p in enumerate(passages)}
    return scores, vectors
