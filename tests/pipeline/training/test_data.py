"""Training data: corpora and labeled note files combined and split by group."""

import json
from pathlib import Path

import pytest

from pipeline.training.data import load_passages, note_files
from pipeline.training.labels import load_labels
from pipeline.training.registry import data_snapshot

FIXTURE_NOTES = Path(__file__).resolve().parents[3] / "data" / "fixtures" / "note_passages.jsonl"


def _own_notes(path: Path) -> Path:
    row = {
        "note_id": "clinic-note-1",
        "note_type": "DAP",
        "section": "plan",
        "text": "Agreed to keep a sleep diary and review it together next week.",
        "context": "",
        "labels": {"task": 1, "goal": 1},
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return path


def test_data_note_files_accepts_one_several_or_none(tmp_path: Path):
    assert note_files(None) == []
    assert note_files(tmp_path / "a.jsonl") == [tmp_path / "a.jsonl"]
    assert note_files(str(tmp_path / "a.jsonl")) == [tmp_path / "a.jsonl"]
    assert note_files([tmp_path / "a", tmp_path / "b"]) == [tmp_path / "a", tmp_path / "b"]


def test_data_several_note_files_are_combined(tmp_path: Path):
    own = _own_notes(tmp_path / "own.jsonl")
    labels = load_labels()

    def count(notes) -> int:
        return sum(len(split) for split in load_passages(None, labels, notes=notes).values())

    fixtures, mine = count(FIXTURE_NOTES), count(own)
    assert mine == 1 and fixtures > 100
    assert count([FIXTURE_NOTES, own]) == fixtures + mine
    snapshot = data_snapshot(None, [FIXTURE_NOTES, own])
    assert set(snapshot) == {"notes:note_passages.jsonl", "notes:own.jsonl"}


def test_data_no_corpora_and_no_notes_is_an_error():
    with pytest.raises(ValueError, match="no training data"):
        load_passages(None, load_labels(), notes=[])
