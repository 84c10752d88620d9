"""Session structure (0-1): how structured and directive the clinician's work was.

Pooled from the passage model's ``style`` head over the session's clinician passages (a written
note is all clinician text). Each passage contributes its directive and exploratory
probabilities; its ``neither`` probability (the client's words, warmth alone, administration)
contributes nothing, so a note full of client report is not pulled towards 0.5:

    structure = sum(P(directive)) / sum(P(directive) + P(exploratory))

A session whose clinician passages hold less than ``min_activity`` of that summed activity
records no way of working, and its structure is None (an empty cell), never a neutral 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.schemas import PassageScores


def session_structure(
    scores: Sequence[PassageScores], speakers: Sequence[str], min_activity: float = 0.8
) -> float | None:
    """The session's structure, or None without enough clinician activity or a style head.

    Args:
        scores: The session's passage scores.
        speakers: Each passage's speaker (only clinician passages count).
        min_activity: Least summed directive + exploratory probability for a value.
    """
    directive = activity = 0.0
    for passage, speaker in zip(scores, speakers, strict=True):
        if speaker != "clinician" or passage.style is None:
            continue
        directive += passage.style["directive"]
        activity += passage.style["directive"] + passage.style["exploratory"]
    if activity < min_activity or activity <= 0:
        return None
    return round(directive / activity, 4)
