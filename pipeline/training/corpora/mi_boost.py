"""MI-Boost: CounselChat answer sentences with silver (automatic) MI codes.

Reads ``CC_Augmented.csv`` from the ``mi_boost`` folder: each coded listener sentence becomes a
clinician passage labeled by the ``Union (without disambiguities)`` code through ``labels.yaml``,
with the dialog's question as context and grouped by question like CounselChat itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.training.corpora.common import (
    _labels_or_default,
    _passage,
    _question_group,
    _read_csv,
)
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage

logger = logging.getLogger(__name__)

MI_BOOST_FILE = "CC_Augmented.csv"
MI_BOOST_CODE = "Union (without disambiguities)"


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
