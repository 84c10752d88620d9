"""Whole conversations with session-level targets, for fitting the session estimator.

Reads the ESConv and AnnoMI folders of the data directory through the same conversation builders
as their passage readers, so a session's ``group`` is exactly its passages' group (and the two
never land on different sides of a split).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.training.corpora.annomi import _annomi_conversations
from pipeline.training.corpora.common import _labels_or_default, _session
from pipeline.training.corpora.esconv import _esconv_conversations
from pipeline.training.corpora.registry import corpus_folder
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledSession


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
