"""Source readers. Each yields ``RawRecord``s: a location and either a mapping or an error.

Readers never raise on bad content: a record that cannot be read becomes an error record that
validation turns into a quarantine entry, so one bad line never stops a batch.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FOLDER_SUFFIXES = {".txt", ".md"}
SPEAKERS = ("clinician", "client")


@dataclass
class RawRecord:
    """One input record before validation.

    Attributes:
        source: The file the record came from.
        location: Where in the source (``line 7``, ``row 3``, a file name).
        data: The parsed mapping, or None when the record could not be parsed.
        error_code: Why it could not be parsed (None when ``data`` is set).
        message: A text-free explanation of the error.
    """

    source: str
    location: str
    data: Any = None
    error_code: str | None = None
    message: str = ""


def _decode(raw: bytes, source: str, location: str) -> str | RawRecord:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return RawRecord(
            source,
            location,
            error_code="INVALID_UTF8",
            message=f"not valid UTF-8 (byte {error.start})",
        )


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """One record per non-blank line; malformed lines become INVALID_JSON records."""
    source = str(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"line {number}"
            text = _decode(raw, source, location)
            if isinstance(text, RawRecord):
                yield text
                continue
            if not text.strip():
                continue
            try:
                yield RawRecord(source, location, data=json.loads(text))
            except json.JSONDecodeError as error:
                yield RawRecord(
                    source,
                    location,
                    error_code="INVALID_JSON",
                    message=f"malformed JSON at column {error.colno}: {error.msg}",
                )


CSV_JSON_COLUMNS = ("turns", "metadata")


def _csv_row(row: dict[str, str | None], source: str, location: str) -> RawRecord:
    if None in row:
        return RawRecord(
            source,
            location,
            error_code="INVALID_CSV_ROW",
            message="row has more fields than the header",
        )
    data: dict[str, Any] = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
    for column in CSV_JSON_COLUMNS:
        if column in data:
            try:
                data[column] = json.loads(data[column])
            except json.JSONDecodeError:
                return RawRecord(
                    source,
                    location,
                    error_code="INVALID_JSON",
                    message=f"column {column!r} is not valid JSON",
                )
    if "session_number" in data:
        try:
            data["session_number"] = int(data["session_number"])
        except ValueError:
            return RawRecord(
                source,
                location,
                error_code="INVALID_FIELD",
                message="session_number is not an integer",
            )
    return RawRecord(source, location, data=data)


def read_csv(path: Path) -> Iterator[RawRecord]:
    """CSV with the JSONL field names as columns; ``turns``/``metadata`` hold JSON strings."""
    source = str(path)
    text = _decode(path.read_bytes(), source, "file")
    if isinstance(text, RawRecord):
        yield text
        return
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for number, row in enumerate(reader, start=2):  # row 1 is the header
            yield _csv_row(row, source, f"row {number}")
    except csv.Error as error:
        yield RawRecord(
            source, "file", error_code="INVALID_CSV", message=f"CSV could not be parsed: {error}"
        )


def parse_transcript(body: str) -> list[dict[str, str]]:
    """``speaker: text`` lines; a line without a speaker prefix continues the previous turn.

    Raises:
        ValueError: text before the first speaker, or an unknown speaker prefix.
    """
    turns: list[dict[str, str]] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        prefix, sep, rest = line.partition(":")
        speaker = prefix.strip().lower()
        if sep and speaker in SPEAKERS:
            turns.append({"speaker": speaker, "text": rest.strip()})
        elif sep and " " not in speaker and speaker and not turns:
            raise ValueError(f"unknown speaker {speaker!r}; use 'clinician:' or 'client:'")
        elif turns:
            turns[-1]["text"] = f"{turns[-1]['text']} {line.strip()}".strip()
        else:
            raise ValueError("transcript text before the first 'clinician:'/'client:' line")
    return turns


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        raise ValueError("file does not start with '---' front matter")
    _, header, body = text.split("---", 2) if text.count("---") >= 2 else ("", "", "")
    if not header:
        raise ValueError("front matter is not closed by a second '---' line")
    meta = yaml.safe_load(header)
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, body.lstrip("\n").rstrip()


def read_folder(path: Path) -> Iterator[RawRecord]:
    """Text files (``.txt``, ``.md``) with YAML front matter, one session per file.

    A note file's body is the note. With ``format: transcript`` the body holds one turn per
    line, ``clinician: ...`` or ``client: ...``.
    """
    for file in sorted(p for p in path.rglob("*") if p.suffix in FOLDER_SUFFIXES and p.is_file()):
        location = str(file.relative_to(path))
        text = _decode(file.read_bytes(), str(path), location)
        if isinstance(text, RawRecord):
            yield text
            continue
        try:
            meta, body = _front_matter(text)
            if meta.pop("format", "note") == "transcript":
                meta["turns"] = parse_transcript(body)
            else:
                meta["note"] = body
        except (ValueError, yaml.YAMLError) as error:
            message = (
                str(error).splitlines()[0]
                if isinstance(error, ValueError)
                else ("front matter is not valid YAML")
            )
            yield RawRecord(str(path), location, error_code="BAD_FRONT_MATTER", message=message)
            continue
        for key in ("session_date",):  # YAML parses dates; the schema wants ISO strings
            if key in meta and not isinstance(meta[key], str):
                meta[key] = str(meta[key])
        yield RawRecord(str(path), location, data=meta)


def read_path(path: Path) -> Iterator[RawRecord]:
    """Dispatch on the path: a folder, ``.jsonl``/``.ndjson``, or ``.csv``.

    Raises:
        FileNotFoundError: The path does not exist.
        ValueError: The file type is not supported (names the supported ones).
    """
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    if path.is_dir():
        return read_folder(path)
    if path.suffix in {".jsonl", ".ndjson"}:
        return read_jsonl(path)
    if path.suffix == ".csv":
        return read_csv(path)
    raise ValueError(f"unsupported input {path}: use .jsonl, .csv or a folder of .txt/.md files")
