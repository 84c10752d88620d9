"""Accuracy and speed of the residual identifier guard on a synthetic, labeled corpus.

The corpus comes from ``tests/fixtures_identifiers.py`` (seeded, deterministic, no real people):
one split, ``dev``, was used to tune the patterns; report ``test``, whose templates are disjoint.
Person names have hand-written sets of their own: ``names-dev`` (tuned on) and ``names-probe``
(written apart by another writer, never tuned on). Every run also reports the PERSON findings
in the clean fixture notes (``data/fixtures``: sessions, labeled note sessions and passages),
all false alarms, and what the name recognizer costs (the guard with and without PERSON).
Scoring is span-level (a prediction is correct when it overlaps a gold span of the same entity).

The baseline is a naive regex detector (every date is a date of birth, every long number a
record number), to show what the cue words and validation buy.

Prints JSON: per-entity and overall precision/recall for the guard and the baseline, false
alarms on hard negatives, and texts per second of each on the same corpus.

Usage: python benchmarks/identifier_guard.py [--split test|dev|probe|names-dev|names-probe]
    [--repeat N] [--show-errors]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.ingest.identifiers import GuardConfig, get_guard

ROOT = Path(__file__).resolve().parents[1]


def _load_fixtures():
    # Loaded by path: an installed distribution (pysbd) ships top-level "tests" and "benchmarks"
    # packages that shadow ours, and the corpus belongs with the tests.
    path = ROOT / "tests" / "fixtures_identifiers.py"
    spec = importlib.util.spec_from_file_location("alliance_fixtures_identifiers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


fixtures = _load_fixtures()
Span = fixtures.Span

_NAIVE = {
    "EMAIL": r"\S+@\S+\.\w+",
    "PHONE": r"\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}",
    "SSN": r"\b\d{3}-\d{2}-\d{4}\b",
    "URL": r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|org|net|edu|gov|io)\b\S*",
    "ADDRESS": r"\b\d+\s+[A-Z]\w+(?:\s+[A-Z]\w+)*\s+(?:Street|St|Avenue|Ave|Road|Rd|Lane|Drive)",
    "DOB": r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b[A-Z][a-z]+\.? \d{1,2}, \d{4}",
    "MRN": r"\b[A-Z]{0,2}-?\d{6,10}\b",
}


def naive_detect(text: str) -> list[Span]:
    """Baseline: one plain regex per entity, no cue words, no validation, no overlap handling."""
    return [(e, m.start(), m.end()) for e, rx in _NAIVE.items() for m in re.finditer(rx, text)]


def _throughput(detect: Callable[[str], object], texts: list[str], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            detect(text)
    return round(repeat * len(texts) / (time.perf_counter() - start), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split",
        choices=["test", "dev", "probe", "names-dev", "names-probe"],
        default="test",
        help="probe: 63 hand-written sentences in formats the generator does not use; "
        "names-*: the PERSON sets",
    )
    parser.add_argument("--repeat", type=int, default=3, help="passes over the corpus for speed")
    parser.add_argument(
        "--show-errors", action="store_true", help="also list misses and false alarms (synthetic)"
    )
    args = parser.parse_args()

    if args.split == "probe":
        corpus = fixtures.probe_corpus()
    elif args.split.startswith("names-"):
        corpus = fixtures.names_corpus(args.split.removeprefix("names-"))
    else:
        corpus = fixtures.make_corpus(args.split)
    start = time.perf_counter()
    guard = get_guard()
    build_s = time.perf_counter() - start
    without_names = get_guard(GuardConfig(person_policy="off"))

    def guard_detect(text: str) -> list[Span]:
        return [(f.entity, f.start, f.end) for f in guard.find(text)]

    texts = [e.text for e in corpus]
    # A note-sized text too: 20 sentences joined, as a session note would be.
    notes = [" ".join(texts[i : i + 20]) for i in range(0, len(texts), 20)]
    guard_tps = _throughput(guard_detect, texts, args.repeat)
    naive_tps = _throughput(naive_detect, texts, args.repeat)
    without_tps = _throughput(without_names.find, texts, args.repeat)
    clean = fixtures.clean_fixture_texts()
    clean_hits = [f for text in clean for f in guard.find(text) if f.entity == "PERSON"]
    result = {
        "split": args.split,
        "texts": len(corpus),
        "guard": {
            **fixtures.evaluate(guard_detect, corpus),
            "texts_per_s": guard_tps,
            "notes_per_s_20_sentences": _throughput(guard_detect, notes, args.repeat),
            "build_s": round(build_s, 2),
        },
        "naive_regex_baseline": {
            **fixtures.evaluate(naive_detect, corpus),
            "texts_per_s": naive_tps,
        },
        "speed_ratio_guard_vs_baseline": round(guard_tps / naive_tps, 4),
        "person_recognizer_cost": {
            "texts_per_s_without_person": without_tps,
            "speed_ratio_with_vs_without": round(guard_tps / without_tps, 4),
        },
        "person_false_alarms_in_clean_fixture_texts": {
            "texts": len(clean),
            "findings": len(clean_hits),
        },
    }
    if args.show_errors:
        result["errors"] = fixtures.errors(guard_detect, corpus)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
