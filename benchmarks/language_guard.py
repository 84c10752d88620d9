"""Both error rates and the cost of the language guard, beside a stop-word baseline.

The set is ``tests/fixtures_language.py`` (hand-written, synthetic): notes in other languages
that must be quarantined, and English hard cases that must be scored (quotes from other
languages, very short notes, abbreviation-dense notes). It is split in two by position (even
items ``dev``, odd items ``test``): the guard's thresholds are chosen on ``dev`` alone. The
mixed-text check (``keep_share``) was added after one ``test`` note (English quoting Polish)
was quarantined, so ``test`` is no longer untouched; ``tests/fixtures_language_probe.py``, by
another writer, written after the guard was finished, is the held-out figure.

The baseline is what a user would write first: a note is English when at least 10% of its
words are common English function words.

Prints JSON: per split, for the configured guard, the dev-chosen one and the baseline, the
share of non-English notes scored (missed) and of English notes quarantined (false alarms),
and milliseconds per note.

Usage: python benchmarks/language_guard.py
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
import time
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.ingest.language import detect, language_problem
from pipeline.schemas import Session

ROOT = Path(__file__).resolve().parents[1]
_NOTE_FIELDS = {
    "session_id": "s",
    "client_id": "c",
    "clinician_id": "t",
    "session_date": "2026-03-02",
}
STOP = set(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "she",
        "he",
        "they",
        "her",
        "his",
        "their",
        "it",
        "this",
        "that",
        "who",
        "which",
        "as",
        "not",
        "no",
        "client",
        "pt",
        "clinician",
    ]
)


def _load_fixtures(name: str = "fixtures_language"):
    # Loaded by path: an installed distribution ships a top-level "tests" package.
    path = ROOT / "tests" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"alliance_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def baseline_is_english(text: str) -> bool:
    words = re.findall(r"[a-zà-ÿ]+", text.lower())
    return not words or sum(w in STOP for w in words) / len(words) >= 0.10


def guard_is_english(text: str, min_confidence: float, min_chars: int, keep_share: float) -> bool:
    """What the pipeline's guard decides for ``text`` as a note, with these settings."""
    settings = IngestConfig(
        language_min_confidence=min_confidence,
        language_min_chars=min_chars,
        language_keep_share=keep_share,
    )
    return language_problem(Session(**_NOTE_FIELDS, note=text), settings) is None


def rates(is_english, foreign: list[str], english: list[str]) -> dict:
    start = time.perf_counter()
    missed = sum(is_english(t) for t in foreign)
    false_alarms = sum(not is_english(t) for t in english)
    seconds = time.perf_counter() - start
    return {
        "missed": round(missed / len(foreign), 4),
        "missed_n": f"{missed}/{len(foreign)}",
        "false_quarantine": round(false_alarms / len(english), 4),
        "false_quarantine_n": f"{false_alarms}/{len(english)}",
        "ms_per_note": round(1000 * seconds / (len(foreign) + len(english)), 3),
    }


def main() -> None:
    fixtures = _load_fixtures()
    foreign = [text for _, text in fixtures.NOT_ENGLISH]
    english = list(fixtures.ENGLISH_HARD)
    probe = _load_fixtures("fixtures_language_probe")
    splits = {
        "dev": (foreign[0::2], english[0::2]),
        "test": (foreign[1::2], english[1::2]),
        # Written after the guard was finished, by a writer who never saw the other set.
        "probe": ([text for _, text in probe.PROBE_NOT_ENGLISH], list(probe.PROBE_ENGLISH)),
    }
    detect("warm-up so that model loading is not timed", ("en",))
    dev_foreign, dev_english = splits["dev"]
    grid = list(itertools.product((0.3, 0.5, 0.7), (20, 40, 60), (0.1, 0.3, 0.5)))

    def dev_cost(setting) -> tuple:
        result = rates(lambda t: guard_is_english(t, *setting), dev_foreign, dev_english)
        # An English note lost to quarantine costs more than a foreign one scored: weigh 2:1.
        return (
            2 * result["false_quarantine"] + result["missed"],
            -setting[0],
            setting[1],
            setting[2],
        )

    chosen = min(grid, key=dev_cost)
    defaults = IngestConfig()
    configured = (
        defaults.language_min_confidence,
        defaults.language_min_chars,
        defaults.language_keep_share,
    )
    out = {
        "chosen_on_dev": dict(zip(("min_confidence", "min_chars", "keep_share"), chosen)),
    }
    for name, (foreign_split, english_split) in splits.items():
        guard = rates(lambda t: guard_is_english(t, *configured), foreign_split, english_split)
        tuned = rates(lambda t: guard_is_english(t, *chosen), foreign_split, english_split)
        base = rates(baseline_is_english, foreign_split, english_split)
        out[name] = {
            "notes": {"not_english": len(foreign_split), "english_hard": len(english_split)},
            "guard_configured": guard,
            "guard_chosen_on_dev": tuned,
            "stopword_baseline": base,
            "cost_ratio_guard_vs_baseline": round(
                guard["ms_per_note"] / max(base["ms_per_note"], 1e-6), 1
            ),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
