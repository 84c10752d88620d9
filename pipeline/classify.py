"""Batched inference: passages -> head probabilities -> ``PassageScores``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.model import PassageScorer
from pipeline.passage_model import to_scores
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


def score_passages(
    passages: Sequence[Passage], scorer: PassageScorer
) -> tuple[dict[str, PassageScores], np.ndarray]:
    """Score passages (ordered by session and index) with the model's passage scorer.

    Returns:
        (passage_id -> scores, (n, d) passage vectors in input order).
    """
    if not passages:
        return {}, np.zeros((0, 0), dtype=np.float32)
    probabilities, vectors = scorer.predict([p.text for p in passages], contexts_for(passages))
    scores = {p.passage_id: to_scores(probabilities, row) for row, p in enumerate(passages)}
    return scores, vectors
