"""Session features: one fixed-length vector per session, pooled from its passages.

Computed once per session (when it is scored) and stored; the session estimator, the flags and
the report all read the same numbers. Two parts:

* named signals (``SIGNAL_NAMES``): alliance evidence, strain, empathy levels, MI ratios, client
  talk, speaker proportions, and last the kind of text as one-hot columns (``KIND_COLUMNS``), so
  the estimator can read a note, a therapy transcript and a peer-support chat each its own way;
* pooled passage vectors: the mean of all passage vectors and of the last third's (a session
  tends to end on where it landed), from the passage model's own representation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.model.heads import ALLIANCE_HEADS, EMPATHY_HEADS
from pipeline.schemas import TEXT_KINDS, PassageScores

LEVELS = np.array([0.0, 1.0, 2.0])

SIGNAL_NAMES: tuple[str, ...] = (
    *(f"{h}_mean" for h in ALLIANCE_HEADS),
    *(f"{h}_p90" for h in ALLIANCE_HEADS),
    *(f"{h}_strained" for h in ALLIANCE_HEADS),
    "strain_mean",
    "strain_max",
    "strain_share",
    "strain_count_log",
    *(f"{h}_level" for h in EMPATHY_HEADS),
    *(f"{h}_level2_share" for h in EMPATHY_HEADS),
    "empathy_level",
    "reflection_share",
    "question_share",
    "input_share",
    "reflection_to_question",
    "complex_reflection_share",
    "change_share",
    "sustain_share",
    "change_to_sustain",
    "client_share",
    "log_passages",
    *(f"kind_{kind}" for kind in TEXT_KINDS),
)
# Where the kind of text sits in a session vector (the estimator splits its models by it).
KIND_COLUMNS: tuple[int, ...] = tuple(SIGNAL_NAMES.index(f"kind_{k}") for k in TEXT_KINDS)


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else 0.0


def kind_one_hot(kind: str | None) -> list[float]:
    """The ``kind_*`` signals: 1 for the session's kind of text, 0 elsewhere (all 0: unknown)."""
    return [float(kind == name) for name in TEXT_KINDS]


def session_signals(
    scores: Sequence[PassageScores], speakers: Sequence[str], kind: str | None = None
) -> np.ndarray:
    """The named signals (``SIGNAL_NAMES``) of one session; zeros (but the kind) for an empty
    session.

    Only signals that training conversations and scored notes both have are used (no
    sections or negation: the public corpora have neither), so the estimator sees the same
    kind of input in training and in use.

    Args:
        scores: The session's passage scores, in order.
        speakers: Each passage's speaker.
        kind: The kind of text (``note``, ``transcript``, ``chat``; see ``Session.kind``).
    """
    if not scores:
        return np.array([0.0] * (len(SIGNAL_NAMES) - len(TEXT_KINDS)) + kind_one_hot(kind))
    n = len(scores)
    alliance = np.array([[s.alliance[h] for h in ALLIANCE_HEADS] for s in scores])
    strain = np.array([s.strain for s in scores])
    empathy = np.array([[s.empathy[h] for h in EMPATHY_HEADS] for s in scores])  # (n, 3, 3)
    levels = empathy @ LEVELS
    mi = np.array(
        [
            [s.aux["mi_behaviour"][k] for k in ("reflection", "question", "therapist_input")]
            for s in scores
        ]
    )
    talk = np.array([[s.aux["client_talk"][k] for k in ("change", "sustain")] for s in scores])
    client = np.array([speaker == "client" for speaker in speakers])
    clinician = ~client
    # Strain weighted by the evidence for each dimension: "how strained is the talk about X".
    strained = (alliance * strain[:, None]).sum(0) / np.maximum(alliance.sum(0), 1e-6)
    reflection, question = _mean(mi[:, 0], clinician), _mean(mi[:, 1], clinician)
    change, sustain = _mean(talk[:, 0], client), _mean(talk[:, 1], client)
    level_means = [_mean(levels[:, j], clinician) for j in range(3)]
    level2 = [_mean(empathy[:, j, 2], clinician) for j in range(3)]
    complex_reflection = _mean(empathy[:, 1, 2], clinician) / (reflection + 0.05)
    return np.array(
        [
            *alliance.mean(0),
            *np.quantile(alliance, 0.9, axis=0),
            *strained,
            strain.mean(),
            strain.max(),
            float((strain >= 0.5).mean()),
            float(np.log1p((strain >= 0.5).sum())),
            *level_means,
            *level2,
            float(np.mean(level_means)),
            reflection,
            question,
            _mean(mi[:, 2], clinician),
            reflection / (question + 0.05),
            complex_reflection,
            change,
            sustain,
            change / (sustain + 0.05),
            float(client.mean()),
            float(np.log1p(n)),
            *kind_one_hot(kind),
        ]
    )


def pooled_vectors(vectors: np.ndarray) -> np.ndarray:
    """Mean passage vector of the whole session and of its last third, concatenated."""
    if len(vectors) == 0:
        return np.zeros(0)
    late = vectors[len(vectors) * 2 // 3 :]
    return np.concatenate([vectors.mean(0), late.mean(0)])


def session_vector(signals: np.ndarray, pooled: np.ndarray | None) -> np.ndarray:
    """The estimator's input row: named signals, then the pooled vectors (when present)."""
    return signals if pooled is None or len(pooled) == 0 else np.concatenate([signals, pooled])


def signal(vector: Sequence[float], name: str) -> float:
    """One named signal out of a stored session vector."""
    return float(vector[SIGNAL_NAMES.index(name)])
