"""Training data: the public corpora and labeled note passages, split by group."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pipeline.training.corpora import read_corpora, read_labeled_jsonl, read_note_passages
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage, split_for

NoteFiles = Path | Sequence[Path] | None


def note_files(notes: NoteFiles) -> list[Path]:
    """One labeled-notes path, several, or none, as a list of paths."""
    if notes is None:
        return []
    return [Path(notes)] if isinstance(notes, str | Path) else [Path(n) for n in notes]


def load_passages(
    data_dir: Path | None,
    labels: LabelsConfig,
    corpora: Sequence[str] | None = None,
    notes: NoteFiles = None,
    max_per_source: int | None = None,
    seed: int = 0,
) -> dict[str, list[LabeledPassage]]:
    """Read the corpora and note passages and split them by group.

    Args:
        data_dir: Folder of the public corpora; None trains on ``notes`` alone.
        labels: Label definitions.
        corpora: Corpus folder names (default: every labeled corpus).
        notes: Labeled note passage files (JSONL): one path or several (the fixture set, a
            researcher's own, or both); their passages are combined.
        max_per_source: Cap on passages per corpus (whole groups kept).
        seed: Subsampling seed.

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}``.

    Raises:
        ValueError: Neither corpora nor notes were given.
    """
    passages: list[LabeledPassage] = []
    if data_dir is not None:
        passages += read_corpora(data_dir, corpora, labels, max_per_source, seed)
    for path in note_files(notes):
        passages += read_labeled_file(path, labels)
    if not passages:
        raise ValueError("no training data: pass --data (public corpora) and/or --notes FILE")
    splits: dict[str, list[LabeledPassage]] = {"train": [], "validation": [], "test": []}
    for passage in passages:
        splits[split_for(passage)].append(passage)
    return splits


def read_labeled_file(path: Path, labels: LabelsConfig) -> list[LabeledPassage]:
    """A researcher's labeled passages: the note-passage format (lines with ``note_id``) or the
    unified labeled-passage format written by ``alliance data convert``."""
    with Path(path).open(encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "")
    if '"note_id"' in first:
        return read_note_passages(path, labels)
    return read_labeled_jsonl(path)


def describe(splits: dict[str, list[LabeledPassage]]) -> dict[str, dict[str, int]]:
    """Passage counts per split and source (for the manifest and the console)."""
    return {
        name: dict(sorted(Counter(p.source for p in items).items()))
        for name, items in splits.items()
    }
