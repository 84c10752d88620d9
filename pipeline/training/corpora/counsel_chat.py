"""CounselChat: licensed therapists' written answers, unlabeled (the most note-like prose).

Reads ``20200325_counsel_chat.csv`` from the ``counsel_chat`` folder and splits every answer into
sentences (:func:`split_sentences`), each an unlabeled clinician passage for unsupervised or
domain-adaptive use, with the question as context.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.training.corpora.common import _passage, _question_group, _read_csv
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage

COUNSEL_CHAT_FILE = "20200325_counsel_chat.csv"

# Scraped answers lose spaces after periods ("time.It") and keep stray line breaks mid-sentence,
# so a line break only ends a sentence before a capital, like ". " does.
_MISSING_SPACE = re.compile(r"(?<=[a-z][.!?])(?=[A-Z])")
_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))(?<!Dr\.)(?<!Mr\.)(?<!Ms\.)(?<!Mrs\.)\s+(?=[\"'(\[]?[A-Z0-9])"
    r"|\s*\n\s*(?=[\"'(\[]?[A-Z0-9])"
)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences with a simple regex (". ", "!", "?" or a line break before a
    capital), collapsing inner whitespace.

    Good enough for unlabeled domain text; the runtime pipeline segments with spaCy instead.
    """
    parts = _BOUNDARY.split(_MISSING_SPACE.sub(" ", text))
    return [" ".join(part.split()) for part in parts if part.strip()]


def read_counsel_chat(folder: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """CounselChat answers as unlabeled sentences (for unsupervised or domain-adaptive use).

    Args:
        folder: The ``counsel_chat`` folder.
        labels: Unused (CounselChat has no labels); accepted for a uniform reader signature.

    Returns:
        Clinician passages with empty labels; context = question text, group = the question title
        hash shared with :func:`read_mi_boost`.
    """
    del labels
    passages = []
    for row in _read_csv(folder / COUNSEL_CHAT_FILE):
        group = _question_group(row["questionTitle"])
        for sentence in split_sentences(row["answerText"]):
            passage = _passage(
                sentence, row["questionText"], "clinician", "counsel_chat", group, {}
            )
            if passage is not None:
                passages.append(passage)
    return passages
