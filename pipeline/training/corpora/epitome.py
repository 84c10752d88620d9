"""EPITOME (Sharma et al. 2020): Reddit support replies rated for three empathy mechanisms.

Reads the three CSV files of the ``epitome`` folder (emotional reactions, interpretations,
explorations; each rates the same seeker-post/response pairs 0-2) and joins them into one
clinician passage per response with the levels ``labels.yaml`` maps to our empathy heads.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from pipeline.training.corpora.common import _labels_or_default, _passage, _read_csv
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage

logger = logging.getLogger(__name__)

# Native level field (as labels.yaml names it) -> the file that rates it.
EPITOME_FILES = {
    "emotional_reactions": "emotional-reactions-reddit.csv",
    "interpretations": "interpretations-reddit.csv",
    "explorations": "explorations-reddit.csv",
}


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
