"""Our own labeled note passages (synthetic fixtures or clinic-labeled notes), as JSONL.

Reads the note-passage format of ``data/fixtures/note_passages.jsonl`` (one passage per line:
``note_id``, optional ``note_type``/``section``, ``text``, ``context`` and head ``labels``), where
the labels are our head classes directly, so no ``labels.yaml`` mapping applies. Optional
``speaker`` (a transcript's client turns; default ``clinician``), ``split`` (a split fixed
with the labels, such as a session set's split by client; default: hashed by ``note_id``) and
``tags`` (annotations that are not head labels, such as ``strain_hard_negative``; kept for
evaluation, never trained on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from pipeline.training.corpora.common import _passage, _require
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage


class _NoteLine(BaseModel):
    """One line of the labeled note-passage JSONL file."""

    model_config = ConfigDict(extra="forbid")

    note_id: str = Field(min_length=1)
    note_type: str | None = None
    section: str | None = None
    text: str
    context: str = ""
    labels: dict[str, StrictInt | None] = Field(default_factory=dict)
    speaker: Literal["clinician", "client"] = "clinician"
    split: Literal["train", "validation", "test"] | None = None
    tags: dict[str, str | int] = Field(default_factory=dict)


def _describe(error: ValidationError) -> str:
    # Field locations and messages only: pydantic's default text echoes input values (note text).
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'line'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    )


def read_note_passages(path: Path, labels: LabelsConfig | None = None) -> list[LabeledPassage]:
    """Our synthetic labeled note passages (JSONL; a missing or null label is masked).

    Args:
        path: The JSONL file.
        labels: Unused (the file carries head labels directly); accepted for a uniform signature.

    Returns:
        Passages (clinician unless the line says ``client``); source "notes", group = note_id.

    Raises:
        ValueError: A malformed line, unknown head or out-of-range label (with the line number).
    """
    del labels
    passages = []
    with _require(Path(path)).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = _NoteLine.model_validate_json(line)
            except ValidationError as error:
                raise ValueError(f"{where}: {_describe(error)}") from None
            given = {name: index for name, index in record.labels.items() if index is not None}
            try:
                passage = _passage(
                    record.text,
                    record.context,
                    record.speaker,
                    "notes",
                    record.note_id,
                    given,
                    record.split,
                )
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
            if passage is not None:
                passages.append(passage)
    return passages
