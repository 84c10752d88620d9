"""The unified labeled-passage JSONL: what ``alliance data convert`` and the Label Studio import
write, read back as training records.

One :class:`LabeledPassage` per line (text, context, speaker, source, group, head labels as class
indices, optional split); unlike the corpus readers it applies no ``labels.yaml`` mapping, since
the labels are already ours, but it validates them the same way (:func:`check_labels`).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.training.corpora.common import check_labels
from pipeline.training.records import SPLITS, LabeledPassage


def read_labeled_jsonl(path: Path) -> list[LabeledPassage]:
    """Read the unified labeled-passage format written by ``alliance data convert``.

    Raises:
        ValueError: A line that is not a valid record, with ``file:line`` (never the text).
    """
    passages = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                passage = LabeledPassage(
                    text=str(record["text"]).strip(),
                    context=str(record.get("context", "")),
                    speaker=record["speaker"],
                    source=str(record["source"]),
                    group=str(record["group"]),
                    labels=dict(record.get("labels", {})),
                    split=record.get("split"),
                )
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise ValueError(f"{where}: not a labeled passage record") from None
            if passage.speaker not in ("clinician", "client"):
                raise ValueError(f"{where}: speaker must be 'clinician' or 'client'")
            if passage.split is not None and passage.split not in SPLITS:
                raise ValueError(f"{where}: split must be one of {SPLITS} or absent")
            passage.labels = check_labels(passage.labels, passage.speaker, where)
            if passage.text:
                passages.append(passage)
    return passages
