"""Source readers for our own formats: JSONL, CSV and folders of text files.

Each yields ``RawRecord``s (``pipeline.ingest.records``): a location and either a mapping or an
error. FHIR input has its own reader (``pipeline.ingest.fhir``); ``pipeline.ingest.dispatch``
picks the reader for a path.

Readers never raise on bad content: a record that cannot be read becomes an error record that
validation turns into a quarantine entry, so one bad line, row or file never stops a batch.
Error messages name positions and problems, never input text. The error codes are documented
in ``pipeline.ingest.validate.ERROR_CODES_DOC``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from pipeline.ingest.records import RawRecord, display_path, read_error_message

FOLDER_SUFFIXES = {".txt", ".md"}
SPEAKERS = ("clinician", "client")
CSV_JSON_COLUMNS = ("turns", "metadata")

# Labels that are speaker tags but not ours ("therapist:", "Patient 2:", "spk1:", "T:"): in a
# folder transcript such a line is an UNKNOWN_SPEAKER, not a continuation of the previous turn.
# Any other "word:" line ("Homework: walk daily") continues the previous turn.
_FOREIGN_SPEAKER = re.compile(
    r"(?:therapist|counsell?or|clinician|client|patient|interviewer|interviewee|participant"
    r"|speaker|spk|provider|doctor|dr|psychologist|psychiatrist|user|assistant|[a-z])\s*\d*"
    r"|[a-z]+\d+",
    re.IGNORECASE,
)
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes kept by the surrogateescape decoding
_CSV_INTEGER = re.compile(r"-?[0-9]{1,18}")  # int() would also take "1_000", non-ASCII digits
# A "label:" line at the very start of a transcript must be one of ours.
_LABEL = re.compile(r"[A-Za-z][\w-]{0,30}")


class TranscriptError(ValueError):
    """A folder transcript body that cannot be split into turns.

    Attributes:
        code: ``UNKNOWN_SPEAKER`` or ``BAD_TRANSCRIPT``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


def _read_error(source: str, location: str, error: OSError) -> RawRecord:
    return RawRecord(source, location, error_code="READ_ERROR", message=read_error_message(error))


def _parse_json(text: str) -> Any:
    """``json.loads`` whose every failure is a ``ValueError`` without input text in it.

    The message names the column only (the text is one JSONL line or one CSV cell). The FHIR
    reader has its own, which names the line of a multi-line document.

    Raises:
        ValueError: Malformed JSON, nesting too deep, or an integer too long to convert.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"malformed JSON at column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise ValueError("JSON is nested too deeply") from None
    except ValueError:  # e.g. Python's limit on digits in an integer
        raise ValueError("JSON holds a number that cannot be read") from None


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """One record per non-blank line; malformed lines become INVALID_JSON records.

    A UTF-8 byte order mark at the start of the file is ignored.
    """
    source = display_path(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        yield _read_error(source, "file", error)
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            location = f"line {number}"
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            text = _decode(raw, source, location)
            if isinstance(text, RawRecord):
                yield text
                continue
            if not text.strip():
                continue
            try:
                yield RawRecord(source, location, data=_parse_json(text))
            except ValueError as error:
                yield RawRecord(source, location, error_code="INVALID_JSON", message=str(error))


def _csv_row(row: dict[str, str], source: str, location: str) -> RawRecord:
    if any(_UNDECODED.search(value) for value in row.values()):
        # Bytes that were not UTF-8 (kept as surrogate escapes so the other rows still parse).
        return RawRecord(
            source, location, error_code="INVALID_UTF8", message="row is not valid UTF-8"
        )
    data: dict[str, Any] = {k: v for k, v in row.items() if v != ""}
    for column in CSV_JSON_COLUMNS:
        if column in data:
            try:
                data[column] = _parse_json(data[column])
            except ValueError:
                return RawRecord(
                    source,
                    location,
                    error_code="INVALID_JSON",
                    message=f"column {column!r} is not valid JSON",
                )
    if "session_number" in data:
        value = data["session_number"].strip()
        if not _CSV_INTEGER.fullmatch(value):
            return RawRecord(
                source,
                location,
                error_code="WRONG_TYPE",
                message="session_number is not an integer",
            )
        data["session_number"] = int(value)
    return RawRecord(source, location, data=data)


def read_csv(path: Path) -> Iterator[RawRecord]:
    """CSV with the JSONL field names as columns; ``turns``/``metadata`` hold JSON strings.

    Quoting is parsed strictly, and each row stands alone: a row that cannot be parsed, has
    more fields than the header or holds bytes that are not UTF-8 is quarantined and the
    following rows are still read. There is no CSV field-size limit (the module's default,
    128 KiB, is smaller than a note may be): sizes are checked by validation, per row. Only a
    header that cannot be read (or repeats a column) rejects the whole file.
    """
    source = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        yield _read_error(source, "file", error)
        return
    # surrogateescape: undecodable bytes stay in their row, which alone is rejected.
    text = raw.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, len(text) + 1))  # process-wide: restored below
    try:
        records = list(_csv_records(text, source))
    finally:
        csv.field_size_limit(old_limit)
    yield from records


def _csv_records(text: str, source: str) -> Iterator[RawRecord]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        while header == []:  # blank lines before the header
            header = next(reader, None)
    except csv.Error as error:
        yield RawRecord(
            source,
            "row 1",
            error_code="INVALID_CSV",
            message=f"header could not be parsed: {error}",
        )
        return
    if header is None:
        return
    columns = [name.strip() for name in header]
    if any(_UNDECODED.search(name) for name in columns):
        yield RawRecord(
            source, "row 1", error_code="INVALID_UTF8", message="header is not valid UTF-8"
        )
        return
    named = [name for name in columns if name]  # "a,b,," (spreadsheet export) is fine
    if len(set(named)) != len(named):
        yield RawRecord(
            source, "row 1", error_code="INVALID_CSV", message="header repeats a column name"
        )
        return
    number = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # csv's messages name the problem ("',' expected after '\"'"), never the data.
            number += 1
            yield RawRecord(
                source,
                f"row {number}",
                error_code="INVALID_CSV",
                message=f"row could not be parsed (ends on line {reader.line_num}): {error}",
            )
            continue
        if not row:  # blank line
            continue
        number += 1
        location = f"row {number}"
        if len(row) > len(columns):
            yield RawRecord(
                source,
                location,
                error_code="INVALID_CSV_ROW",
                message=f"row has {len(row)} fields, the header {len(columns)}",
            )
            continue
        yield _csv_row(dict(zip(columns, row, strict=False)), source, location)


def parse_transcript(body: str) -> list[dict[str, str]]:
    """``speaker: text`` lines; a line without a speaker prefix continues the previous turn.

    A line that starts with another speaker tag (``therapist:``, ``Patient 2:``, ``T:``) is an
    error, as is any ``label:`` line before the first turn. Other ``word:`` lines inside a turn
    ("Homework: walk daily") are continuation text.

    Raises:
        TranscriptError: Text before the first speaker, or an unknown speaker tag. The message
            gives the line number, never the line's text.
    """
    turns: list[dict[str, str]] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        prefix, sep, rest = line.partition(":")
        label = prefix.strip()
        if sep and label.lower() in SPEAKERS:
            turns.append({"speaker": label.lower(), "text": rest.strip()})
        elif sep and (_FOREIGN_SPEAKER.fullmatch(label) or (not turns and _LABEL.fullmatch(label))):
            raise TranscriptError(
                "UNKNOWN_SPEAKER",
                f"transcript line {number} has an unknown speaker label; "
                "use 'clinician:' or 'client:'",
            )
        elif turns:
            turns[-1]["text"] = f"{turns[-1]['text']} {line.strip()}".strip()
        else:
            raise TranscriptError(
                "BAD_TRANSCRIPT", "transcript text before the first 'clinician:'/'client:' line"
            )
    return turns


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without implicit dates, so ``session_date`` reaches validation as written."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        raise ValueError("file does not start with '---' front matter")
    _, header, body = text.split("---", 2) if text.count("---") >= 2 else ("", "", "")
    if not header:
        raise ValueError("front matter is not closed by a second '---' line")
    try:
        meta = yaml.load(header, Loader=_FrontMatterLoader)  # a SafeLoader subclass
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        # Fixed text: YAML's own messages quote the offending input.
        raise ValueError("front matter is not valid YAML") from None
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, body.lstrip("\n").rstrip()


def read_folder(path: Path) -> Iterator[RawRecord]:
    """Text files (``.txt``, ``.md``) with YAML front matter, one session per file.

    A note file's body is the note. With ``format: transcript`` the body holds one turn per
    line, ``clinician: ...`` or ``client: ...`` (see ``parse_transcript``).
    """
    source = display_path(path)
    for file in sorted(p for p in path.rglob("*") if p.suffix in FOLDER_SUFFIXES and p.is_file()):
        location = display_path(file.relative_to(path))
        try:
            raw = file.read_bytes()
        except OSError as error:
            yield _read_error(source, location, error)
            continue
        text = _decode(raw, source, location)
        if isinstance(text, RawRecord):
            yield text
            continue
        try:
            meta, body = _front_matter(text.removeprefix("\ufeff"))
            body_format = meta.pop("format", "note")
            if body_format not in ("note", "transcript"):
                raise ValueError("'format' must be 'note' or 'transcript'")
            if body_format == "transcript":
                meta["turns"] = parse_transcript(body)
            else:
                meta["note"] = body
        except TranscriptError as error:
            yield RawRecord(source, location, error_code=error.code, message=str(error))
            continue
        except ValueError as error:
            yield RawRecord(source, location, error_code="BAD_FRONT_MATTER", message=str(error))
            continue
        yield RawRecord(source, location, data=meta)
