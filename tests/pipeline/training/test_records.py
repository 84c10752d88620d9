"""Splits by group: hashed, or stratified where a corpus needs every stratum held out."""

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from pipeline.training.corpora import read_labeled_jsonl
from pipeline.training.records import (
    LabeledPassage,
    LabeledSession,
    split_for,
    split_of,
    stratified_splits,
    write_labeled_jsonl,
)


def _strata(n_high: int, n_low: int) -> dict[str, str]:
    return {**{f"h{i}": "high" for i in range(n_high)}, **{f"l{i}": "low" for i in range(n_low)}}


def test_records_stratified_splits_hold_every_stratum_out():
    strata = _strata(70, 15)
    splits = stratified_splits(strata)
    counts = Counter((strata[g], s) for g, s in splits.items())
    # ceil(15 * 0.15) = 3 low-quality groups in each held-out split, ceil(70 * 0.15) = 11 high.
    assert counts[("low", "test")] == counts[("low", "validation")] == 3
    assert counts[("high", "test")] == counts[("high", "validation")] == 11
    assert counts[("low", "train")] == 9 and counts[("high", "train")] == 48
    assert splits == stratified_splits(dict(reversed(list(strata.items()))))  # order-free


def test_records_stratified_splits_follow_the_hash_within_a_stratum():
    strata = _strata(20, 0)
    splits = stratified_splits(strata)
    by_hash = sorted(strata, key=lambda g: hashlib.sha256(g.encode()).hexdigest()[:8])
    assert [splits[g] for g in by_hash] == ["test"] * 3 + ["validation"] * 3 + ["train"] * 14


def test_records_stratified_splits_tiny_stratum_keeps_the_hashed_split():
    splits = stratified_splits({"a": "high", "b": "high", "c": "low"})
    assert splits == {g: split_of(g) for g in "abc"}


@pytest.mark.parametrize("fixed", [None, "validation"])
def test_records_split_for_prefers_the_fixed_split(fixed):
    passage = LabeledPassage("t", "", "client", "x", "annomi-1", {}, split=fixed)
    session = LabeledSession("x", "annomi-1", [], {}, split=fixed)
    expected = fixed or split_of("annomi-1")
    assert split_for(passage) == split_for(session) == expected


def test_records_fixed_split_survives_the_jsonl_round_trip(tmp_path: Path):
    passages = [LabeledPassage("t", "", "client", "x", "g", {"client_talk": 1}, split="test")]
    path = tmp_path / "p.jsonl"
    write_labeled_jsonl(passages, path)
    assert read_labeled_jsonl(path) == passages
    path.write_text(path.read_text().replace('"test"', '"holdout"'))
    with pytest.raises(ValueError, match="split must be one of"):
        read_labeled_jsonl(path)
