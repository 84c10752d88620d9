"""Shape checks for the synthetic session fixtures in ``data/fixtures/``.

Standard library and pytest only: these tests check the fixture files themselves, not the
pipeline's readers. ``data/fixtures/README.md`` describes the files and storylines.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
JSONL = FIXTURES / "sessions.jsonl"
CSV_FILE = FIXTURES / "sessions.csv"
FOLDER = FIXTURES / "sessions_folder"
BAD_JSONL = FIXTURES / "bad_sessions.jsonl"
MAKE_VARIANTS = FIXTURES / "make_variants.py"

REQUIRED_KEYS = {"session_id", "client_id", "clinician_id", "session_date"}
OPTIONAL_KEYS = {"note_type", "session_number", "metadata", "note", "turns"}
NOTE_TYPES = {"DAP", "SOAP", "BIRP", "GIRP"}
SPEAKERS = {"clinician", "client"}
CSV_COLUMNS = [
    "session_id",
    "client_id",
    "clinician_id",
    "session_date",
    "note_type",
    "session_number",
    "note",
    "turns",
    "metadata",
]

# Expected defect codes per 1-based line of bad_sessions.jsonl (mirrors the README table).
BAD_LINES = {
    1: set(),
    2: {"invalid_json"},
    3: {"not_object"},
    4: {"missing_field"},
    5: set(),
    6: {"empty_note"},
    7: {"body_count"},
    8: {"body_count"},
    9: set(),
    10: {"bad_speaker"},
    11: {"bad_date"},
    12: {"wrong_type"},
    13: {"unknown_key"},
}

_SENTENCE_END = re.compile(r"[.!?][\"\u201d)]?(?=\s|$)")
_GOAL_WORDS = re.compile(r"\b(goals?|objectives?|targets?|aims?|treatment)\b", re.IGNORECASE)
_IDENTIFIER_PATTERNS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.\w+"),
    "url": re.compile(r"https?://|www\.", re.IGNORECASE),
    "phone": re.compile(r"\(?\b\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}\b"),
    "iso date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "slash date": re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    "long number": re.compile(r"\b\d{6,}\b"),
    "titled name": re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+"),
}


def _shape_errors(obj: object) -> set[str]:
    """Defect codes for one decoded JSONL record under the input contract (empty: valid)."""
    if not isinstance(obj, dict):
        return {"not_object"}
    errors: set[str] = set()
    if REQUIRED_KEYS - obj.keys():
        errors.add("missing_field")
    if obj.keys() - REQUIRED_KEYS - OPTIONAL_KEYS:
        errors.add("unknown_key")
    for key in ("session_id", "client_id", "clinician_id"):
        if key in obj and not (isinstance(obj[key], str) and obj[key].strip()):
            errors.add("wrong_type")
    if "session_date" in obj:
        value = obj["session_date"]
        try:
            ok = isinstance(value, str) and dt.date.fromisoformat(value).isoformat() == value
        except ValueError:
            ok = False
        if not ok:
            errors.add("bad_date")
    if "note_type" in obj and obj["note_type"] not in NOTE_TYPES:
        errors.add("bad_note_type")
    if "session_number" in obj:
        number = obj["session_number"]
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            errors.add("wrong_type")
    if "metadata" in obj:
        meta = obj["metadata"]
        if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
        ):
            errors.add("wrong_type")

    has_note, has_turns = "note" in obj, "turns" in obj
    if has_note == has_turns:
        errors.add("body_count")
        return errors
    if has_note and not (isinstance(obj["note"], str) and obj["note"].strip()):
        errors.add("empty_note")
    if has_turns:
        turns = obj["turns"]
        if not isinstance(turns, list) or not turns:
            errors.add("bad_turn")
            return errors
        for turn in turns:
            if not isinstance(turn, dict) or set(turn) != {"speaker", "text"}:
                errors.add("bad_turn")
                continue
            if turn["speaker"] not in SPEAKERS:
                errors.add("bad_speaker")
            if not (isinstance(turn["text"], str) and turn["text"].strip()):
                errors.add("bad_turn")
        if "note_type" in obj:
            errors.add("transcript_has_note_type")
    return errors


def _load_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def sessions() -> list[dict]:
    return _load_jsonl(JSONL)


@pytest.fixture(scope="module")
def by_id(sessions: list[dict]) -> dict[str, dict]:
    return {s["session_id"]: s for s in sessions}


def _texts(session: dict) -> list[str]:
    if "note" in session:
        return [session["note"]]
    return [turn["text"] for turn in session["turns"]]


def _sentence_count(note: str) -> int:
    return len(_SENTENCE_END.findall(note))


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _session_from_csv_row(row: dict[str, str]) -> dict:
    session: dict = {k: row[k] for k in ("session_id", "client_id", "clinician_id", "session_date")}
    if row["note_type"]:
        session["note_type"] = row["note_type"]
    if row["session_number"]:
        session["session_number"] = int(row["session_number"])
    if row["metadata"]:
        session["metadata"] = json.loads(row["metadata"])
    assert bool(row["note"]) != bool(row["turns"]), f"{row['session_id']}: note XOR turns"
    if row["note"]:
        session["note"] = row["note"]
    else:
        session["turns"] = json.loads(row["turns"])
    return session


def _session_from_txt(path: Path) -> dict:
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("---\n"), f"{path.name}: no front matter"
    front, sep, body = text[4:].partition("\n---\n")
    assert sep, f"{path.name}: front matter not closed"
    header: dict = {}
    for line in front.splitlines():
        key, colon, value = line.partition(": ")
        assert colon, f"{path.name}: bad front matter line {line!r}"
        header[key] = json.loads(value) if value.startswith(("{", '"')) else value
    assert body.endswith("\n") and not body.endswith("\n\n"), f"{path.name}: trailing newline"
    body = body[:-1]

    session: dict = {k: header.pop(k) for k in ("session_id", "client_id", "clinician_id")}
    session["session_date"] = header.pop("session_date")
    if "note_type" in header:
        session["note_type"] = header.pop("note_type")
    if "session_number" in header:
        session["session_number"] = int(header.pop("session_number"))
    if "metadata" in header:
        session["metadata"] = header.pop("metadata")
    fmt = header.pop("format", None)
    assert not header, f"{path.name}: unexpected front matter keys {sorted(header)}"
    if fmt == "transcript":
        turns: list[dict] = []
        for line in body.split("\n"):
            speaker, colon, rest = line.partition(": ")
            if colon and speaker in SPEAKERS:
                turns.append({"speaker": speaker, "text": rest})
            else:
                assert turns, f"{path.name}: continuation line before the first turn"
                turns[-1]["text"] += "\n" + line
        session["turns"] = turns
    else:
        assert fmt is None, f"{path.name}: unknown format {fmt!r}"
        session["note"] = body
    return session


def test_fixtures_jsonl_lines_are_valid_sessions() -> None:
    with open(JSONL, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    assert lines[-1] == "", "file must end with a newline"
    for lineno, line in enumerate(lines[:-1], start=1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {lineno}: not a JSON object"
        assert ("note" in obj) != ("turns" in obj), f"line {lineno}: exactly one of note/turns"
        assert _shape_errors(obj) == set(), f"line {lineno}: {_shape_errors(obj)}"


def test_fixtures_session_ids_unique(sessions: list[dict]) -> None:
    ids = [s["session_id"] for s in sessions]
    assert len(ids) == len(set(ids))


def test_fixtures_clients_have_six_weekly_sessions(sessions: list[dict]) -> None:
    per_client: dict[str, list[dict]] = defaultdict(list)
    for s in sessions:
        per_client[s["client_id"]].append(s)
    full = [c for c, rows in per_client.items() if len(rows) >= 6]
    assert len(full) >= 7, f"clients with >= 6 sessions: {sorted(full)}"
    assert {s["clinician_id"] for s in sessions} == {"t-01", "t-02", "t-03", "t-04", "t-05"}
    for client, rows in per_client.items():
        rows = sorted(rows, key=lambda s: s["session_date"])
        assert [s["session_number"] for s in rows] == list(range(1, len(rows) + 1)), client
        assert len({s["clinician_id"] for s in rows}) == 1, client
        dates = [dt.date.fromisoformat(s["session_date"]) for s in rows]
        assert all(d.year == 2026 for d in dates), client
        gaps = {(b - a).days for a, b in zip(dates, dates[1:], strict=False)}
        assert gaps == {7}, f"{client}: not weekly ({gaps})"


def test_fixtures_all_note_types_present(sessions: list[dict]) -> None:
    types = {s["note_type"] for s in sessions if "note" in s}
    assert types == NOTE_TYPES


def test_fixtures_notes_have_five_to_fourteen_sentences(sessions: list[dict]) -> None:
    for s in sessions:
        if "note" in s:
            n = _sentence_count(s["note"])
            assert 5 <= n <= 14, f"{s['session_id']}: {n} sentences"


def test_fixtures_transcripts(sessions: list[dict]) -> None:
    transcripts = [s for s in sessions if "turns" in s]
    assert len(transcripts) >= 4
    assert len({s["client_id"] for s in transcripts}) >= 2
    assert sum(s["client_id"] == "c-05" for s in transcripts) >= 2
    for s in transcripts:
        assert "note_type" not in s, s["session_id"]
        assert 8 <= len(s["turns"]) <= 20, s["session_id"]
        speakers = [t["speaker"] for t in s["turns"]]
        assert set(speakers) == SPEAKERS, s["session_id"]
        switches = sum(a != b for a, b in zip(speakers, speakers[1:], strict=False))
        assert switches >= (len(speakers) - 1) * 0.75, f"{s['session_id']}: not alternating"


def test_fixtures_storyline_sessions_exist(by_id: dict[str, dict]) -> None:
    # c-01: rupture in session 4 (s-004), repair in sessions 5-6 (s-005, s-006).
    for sid, number in (("s-004", 4), ("s-005", 5), ("s-006", 6)):
        assert by_id[sid]["client_id"] == "c-01"
        assert by_id[sid]["session_number"] == number
    assert "did not feel heard" in by_id["s-004"]["note"]
    assert "apologised" in by_id["s-005"]["note"]


def test_fixtures_no_goal_language_for_c03(sessions: list[dict]) -> None:
    c03 = [s for s in sessions if s["client_id"] == "c-03"]
    assert len(c03) >= 6
    for s in c03:
        for text in _texts(s):
            assert not _GOAL_WORDS.findall(text), f"{s['session_id']}: {_GOAL_WORDS.findall(text)}"
            # "Plan" may appear only as a section header (which only schedules the next visit).
            for line in text.splitlines():
                body = re.sub(r"^\s*(?:P|PLAN|Plan)\s*:?\s*", "", line)
                assert "plan" not in body.lower(), f"{s['session_id']}: {line!r}"


def test_fixtures_text_has_no_identifiers(sessions: list[dict]) -> None:
    for s in sessions:
        for text in [*_texts(s), *s.get("metadata", {}).values()]:
            for label, pattern in _IDENTIFIER_PATTERNS.items():
                assert not pattern.search(text), f"{s['session_id']}: looks like a {label}"


def test_fixtures_csv_matches_jsonl(by_id: dict[str, dict]) -> None:
    columns, rows = _read_csv(CSV_FILE)
    assert columns == CSV_COLUMNS
    assert len(rows) >= 12
    assert sum(bool(r["turns"]) for r in rows) >= 2
    ids = [r["session_id"] for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert row["session_id"] in by_id, row["session_id"]
        assert _session_from_csv_row(row) == by_id[row["session_id"]]


def test_fixtures_folder_matches_jsonl(by_id: dict[str, dict]) -> None:
    files = sorted(FOLDER.glob("*.txt"))
    assert len(files) >= 12
    parsed = [_session_from_txt(path) for path in files]
    assert sum("turns" in s for s in parsed) >= 2
    for path, session in zip(files, parsed, strict=True):
        assert path.stem == session["session_id"]
        assert session["session_id"] in by_id, session["session_id"]
        assert session == by_id[session["session_id"]]
    _, rows = _read_csv(CSV_FILE)
    assert {s["session_id"] for s in parsed} == {r["session_id"] for r in rows}


def test_fixtures_make_variants_is_idempotent(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(MAKE_VARIANTS), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sessions.csv").read_bytes() == CSV_FILE.read_bytes()
    made = {p.name: p.read_bytes() for p in (tmp_path / "sessions_folder").iterdir()}
    committed = {p.name: p.read_bytes() for p in FOLDER.iterdir()}
    assert made.keys() == committed.keys()
    for name, content in committed.items():
        assert made[name] == content, name


def test_fixtures_bad_batch_has_documented_defects() -> None:
    with open(BAD_JSONL, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle]
    assert len(lines) == len(BAD_LINES)
    ids = []
    for lineno, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            found = {"invalid_json"}
        else:
            found = _shape_errors(obj)
            if isinstance(obj, dict) and "session_id" in obj:
                ids.append(obj["session_id"])
        assert found == BAD_LINES[lineno], f"line {lineno}: {found}"
    assert len(ids) == len(set(ids))
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for lineno in BAD_LINES:
        assert re.search(rf"^\| {lineno} \|", readme, re.MULTILINE), f"README lacks line {lineno}"
