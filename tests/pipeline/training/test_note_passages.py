"""Checks on the hand-written, synthetic note-passage fixture (stdlib only).

The labeling rules themselves live in docs/labeling.md; these tests enforce the file's shape, the
label ranges, section/note-type consistency, minimum label counts and the absence of obvious
identifiers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[3] / "data" / "fixtures" / "note_passages.jsonl"

FIELDS = {"note_id", "note_type", "section", "text", "context", "labels"}
BINARY = ("task", "bond", "goal", "strain")
LEVELS = ("emotional_reaction", "interpretation", "exploration")
STYLE = "style"  # 0 directive, 1 exploratory, 2 neither (docs/labeling.md section 2.6)
LABELS = BINARY + LEVELS + (STYLE,)
SECTIONS = {
    "DAP": ("data", "assessment", "plan"),
    "SOAP": ("subjective", "objective", "assessment", "plan"),
    "BIRP": ("behavior", "intervention", "response", "plan"),
    "GIRP": ("goal", "intervention", "response", "plan"),
}
NOTE_ID = re.compile(r"n-\d{3}")

IDENTIFIER_PATTERNS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[A-Za-z]{2,}"),
    "phone": re.compile(r"(?:\+?1[-. ]?)?\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "full date": re.compile(r"\b\d{1,2}[/-]\d{1,2}[/-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b"),
    "record number": re.compile(r"\b(?:MRN|DOB|SSN|date of birth)\b", re.IGNORECASE),
    "titled name": re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+"),
    "url": re.compile(r"https?://|www\.", re.IGNORECASE),
}


@lru_cache(maxsize=1)
def _rows() -> tuple[dict, ...]:
    rows = []
    with FIXTURE.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            assert line.strip(), f"line {number} is blank"
            rows.append(json.loads(line))
    return tuple(rows)


def _notes() -> dict[str, list[dict]]:
    notes: dict[str, list[dict]] = {}
    for row in _rows():
        notes.setdefault(row["note_id"], []).append(row)
    return notes


def test_note_passages_every_line_is_json_object_with_fields():
    rows = _rows()
    assert rows, "fixture is empty"
    for row in rows:
        assert isinstance(row, dict)
        assert set(row) == FIELDS, row
        assert NOTE_ID.fullmatch(row["note_id"]), row["note_id"]
        assert row["note_type"] in SECTIONS, row["note_type"]
        assert isinstance(row["text"], str) and row["text"].strip(), row
        assert row["text"] == row["text"].strip(), row["text"]
        assert isinstance(row["context"], str), row
        assert isinstance(row["labels"], dict) and set(row["labels"]) == set(LABELS), row


def test_note_passages_labels_in_range():
    for row in _rows():
        labels = row["labels"]
        for name in BINARY:
            assert type(labels[name]) is int and labels[name] in (0, 1), (name, row["text"])
        for name in (*LEVELS, STYLE):
            assert type(labels[name]) is int and labels[name] in (0, 1, 2), (name, row["text"])


def test_note_passages_note_type_consistent_and_sections_allowed():
    for note_id, rows in _notes().items():
        types = {row["note_type"] for row in rows}
        assert len(types) == 1, (note_id, types)
        allowed = SECTIONS[types.pop()]
        for row in rows:
            assert row["section"] in allowed, (note_id, row["section"])


def test_note_passages_sections_appear_in_note_order():
    for note_id, rows in _notes().items():
        order = SECTIONS[rows[0]["note_type"]]
        positions = [order.index(row["section"]) for row in rows]
        assert positions == sorted(positions), (note_id, [row["section"] for row in rows])


def test_note_passages_notes_are_contiguous_and_numbered():
    seen: list[str] = []
    for row in _rows():
        if not seen or seen[-1] != row["note_id"]:
            assert row["note_id"] not in seen, f"{row['note_id']} is split across the file"
            seen.append(row["note_id"])
    assert seen == [f"n-{k:03d}" for k in range(1, len(seen) + 1)]


def test_note_passages_context_is_previous_sentence_of_same_note():
    for note_id, rows in _notes().items():
        assert rows[0]["context"] == "", note_id
        for previous, row in zip(rows, rows[1:], strict=False):
            assert row["context"] == previous["text"], (note_id, row["text"])


def test_note_passages_texts_are_unique():
    counts = Counter(row["text"] for row in _rows())
    duplicates = [text for text, count in counts.items() if count > 1]
    assert not duplicates, duplicates


def test_note_passages_strain_implies_an_alliance_dimension():
    for row in _rows():
        labels = row["labels"]
        if labels["strain"]:
            assert labels["task"] or labels["bond"] or labels["goal"], row["text"]


def test_note_passages_minimum_counts():
    rows = _rows()
    assert len(rows) >= 480
    assert len(_notes()) >= 70
    for name in ("task", "bond", "goal"):
        assert sum(row["labels"][name] for row in rows) >= 90, name
    assert sum(row["labels"]["strain"] for row in rows) >= 70
    for name in LEVELS:
        assert sum(row["labels"][name] >= 1 for row in rows) >= 60, name
        assert sum(row["labels"][name] == 2 for row in rows) >= 25, name
    for style in (0, 1):  # directive, exploratory: enough of each to fit and test the head
        assert sum(row["labels"][STYLE] == style for row in rows) >= 100, style


def test_note_passages_all_zero_share_is_roughly_a_third():
    rows = _rows()
    all_zero = sum(not any(row["labels"][name] for name in BINARY + LEVELS) for row in rows)
    assert 0.30 <= all_zero / len(rows) <= 0.40, all_zero / len(rows)


def test_note_passages_cover_every_note_type():
    by_type = Counter(rows[0]["note_type"] for rows in _notes().values())
    for note_type in SECTIONS:
        assert by_type[note_type] >= 10, (note_type, by_type)


def test_note_passages_have_no_obvious_identifiers():
    for row in _rows():
        for field in ("text", "context"):
            for kind, pattern in IDENTIFIER_PATTERNS.items():
                assert not pattern.search(row[field]), (kind, row[field])
