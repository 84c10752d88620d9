"""Checks on the withdrawal-passage fixture (``data/fixtures/withdrawal_passages.jsonl``).

Hand-written note sentences on a weakening alliance (withdrawal, confrontation, repair) beside
hard negatives, by three writers in three voices. The labeling rules live in
``docs/labeling.md``; these tests enforce the shape, the splits by note, strain-implies-dimension,
the strain tags, the balance the file was written for, no obvious identifiers and its
independence from the evaluation fixtures.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from pipeline.training.corpora.notes import read_note_passages
from tests.pipeline.training.test_note_passages import (
    BINARY,
    IDENTIFIER_PATTERNS,
    LABELS,
    LEVELS,
    SECTIONS,
    STYLE,
)

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
FIXTURE = FIXTURES / "withdrawal_passages.jsonl"
FIELDS = {
    "note_id",
    "note_type",
    "section",
    "text",
    "context",
    "labels",
    "speaker",
    "split",
    "tags",
}
NOTE_ID = re.compile(r"nw-v[1-3]-\d{2}")
KINDS = {"withdrawal", "confrontation", "repair"}


@lru_cache(maxsize=1)
def _rows() -> tuple[dict, ...]:
    return tuple(json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines())


def _notes() -> dict[str, list[dict]]:
    notes: dict[str, list[dict]] = {}
    for row in _rows():
        notes.setdefault(row["note_id"], []).append(row)
    return notes


def test_withdrawal_passages_shape_and_label_ranges():
    for row in _rows():
        assert set(row) == FIELDS, row["note_id"]
        assert NOTE_ID.fullmatch(row["note_id"]), row["note_id"]
        assert row["speaker"] == "clinician"
        assert set(row["labels"]) == set(LABELS), row["text"]
        for name in BINARY:
            assert row["labels"][name] in (0, 1), (name, row["text"])
        for name in (*LEVELS, STYLE):
            assert row["labels"][name] in (0, 1, 2), (name, row["text"])


def test_withdrawal_passages_notes_are_whole_ordered_and_split_by_note():
    for note_id, rows in _notes().items():
        assert len({row["note_type"] for row in rows}) == 1, note_id
        order = SECTIONS[rows[0]["note_type"]]
        positions = [order.index(row["section"]) for row in rows]
        assert positions == sorted(positions), note_id
        assert rows[0]["context"] == "", note_id
        for previous, row in zip(rows, rows[1:], strict=False):
            assert row["context"] == previous["text"], (note_id, row["text"])
        assert len({row["split"] for row in rows}) == 1, note_id


def test_withdrawal_passages_strain_tags_follow_the_labels():
    for row in _rows():
        labels, tags = row["labels"], row["tags"]
        if labels["strain"]:
            assert labels["task"] or labels["bond"] or labels["goal"], row["text"]
            assert tags["strain_kind"] in KINDS and tags["strain_hard_negative"] == 0, row["text"]
        else:
            assert tags["strain_kind"] == "none", row["text"]


def test_withdrawal_passages_every_split_holds_each_kind_and_hard_negatives():
    for split in ("train", "validation", "test"):
        rows = [row for row in _rows() if row["split"] == split]
        kinds = Counter(row["tags"]["strain_kind"] for row in rows)
        assert kinds["withdrawal"] >= 10 and kinds["confrontation"] >= 5, (split, kinds)
        assert sum(row["tags"]["strain_hard_negative"] for row in rows) >= 10, split
    writers = Counter(row["note_id"][:5] for row in _rows())
    assert set(writers) == {"nw-v1", "nw-v2", "nw-v3"} and min(writers.values()) >= 90


def test_withdrawal_passages_texts_unique_and_independent_of_the_evaluation_fixtures():
    texts = [row["text"] for row in _rows()]
    assert len(texts) == len(set(texts))
    # The fixture sessions are a writer no model learns from, and the note sessions are the
    # rupture model's data: no sentence here may come from them (or from the other passages).
    elsewhere = []
    for name in ("sessions.jsonl", "note_sessions.jsonl"):
        for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            elsewhere.append(record.get("note") or "")
            elsewhere += [turn["text"] for turn in record.get("turns") or []]
    for name in ("note_passages.jsonl", "strain_passages.jsonl"):
        for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
            elsewhere.append(json.loads(line)["text"])
    corpus = "\n".join(elsewhere)
    assert [text for text in texts if text in corpus] == []


def test_withdrawal_passages_have_no_obvious_identifiers():
    for row in _rows():
        for field in ("text", "context"):
            for kind, pattern in IDENTIFIER_PATTERNS.items():
                assert not pattern.search(row[field]), (kind, row[field])


def test_withdrawal_passages_read_with_their_splits():
    passages = read_note_passages(FIXTURE)
    assert len(passages) == len(_rows())
    assert Counter(p.split for p in passages) == Counter(row["split"] for row in _rows())
    assert {p.source for p in passages} == {"notes"}
