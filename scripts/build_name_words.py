"""Build ``pipeline/ingest/name_words.txt``: first names and surnames that are also English words.

The PERSON recognizer takes a capitalised word for a name, without a cue, only when it is in
Faker's name lists and is not an ordinary word ("Will follow up", "Hope is returning", "Grace
period"). Which names are also words is read off real English text: a name counts as a word
when its lowercase form appears, as a whole word, in at least two of the public corpora
(CounselChat with MI-Boost, which quotes it, as one source; AnnoMI; EPITOME; ESConv), at least
four times in all, and more often than the capitalised form does after a lowercase word. The
file holds only the resulting words, never corpus text.

Usage: python scripts/build_name_words.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from pipeline.ingest.names import load_name_lists

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "pipeline" / "ingest" / "name_words.txt"
SOURCES = {
    "counsel_chat": ["counsel_chat", "mi_boost"],
    "annomi": ["annomi"],
    "epitome": ["epitome"],
    "esconv": ["esconv"],
}
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")
_CAPITALISED_MID = re.compile(r"[a-z,] ([A-Z][a-z]+)(?![\w'’-])")


def _source_text(data: Path, folders: list[str]) -> str:
    files = [f for folder in folders for f in sorted((data / folder).rglob("*"))]
    return "\n".join(
        f.read_text(errors="ignore") for f in files if f.suffix in {".csv", ".json", ".jsonl"}
    )


def name_words(data: Path) -> list[str]:
    """Names in Faker's lists that the corpora under ``data`` use as ordinary words."""
    lower_by_source, capitalised = {}, Counter()
    for source, folders in SOURCES.items():
        text = _source_text(data, folders)
        lower_by_source[source] = Counter(_LOWER_WORD.findall(text))
        capitalised.update(m.group(1) for m in _CAPITALISED_MID.finditer(text))
    first, last = load_name_lists()
    words = []
    for name in sorted(first | last):
        word = name.lower()
        counts = [lower[word] for lower in lower_by_source.values()]
        total = sum(counts)
        if sum(c > 0 for c in counts) >= 2 and total >= 4 and total > capitalised[name]:
            words.append(name)
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    words = name_words(args.data)
    header = (
        "# Names that are also English words (scripts/build_name_words.py; one per line).\n"
        "# Derived word list only: no corpus text. Regenerate after a Faker upgrade.\n"
    )
    args.out.write_text(header + "\n".join(words) + "\n")
    print(f"{len(words)} words -> {args.out}")


if __name__ == "__main__":
    main()
