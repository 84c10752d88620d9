"""Validation: raw records -> ``Session`` objects or text-free quarantine records.

Every input record ends as exactly one of: a valid ``Session``, a ``Quarantined`` record, or
(an exact repeat of an earlier session) a dropped repeat. Nothing in a record stops the batch.
Quarantine messages name fields, positions and limits, never input values: field names are
quoted only when they look like identifiers (``patient_name``), so text typed into a key is not
echoed either. ``ERROR_CODES_DOC`` lists every error code; ``error_codes_table`` renders it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from pipeline.config import IngestConfig
from pipeline.ingest.dispatch import read_path
from pipeline.ingest.fhir import FHIR_ERROR_CODES_DOC, FhirOptions, FhirReadStats
from pipeline.ingest.identifiers import ERROR_CODE as IDENTIFIER_ERROR_CODE
from pipeline.ingest.identifiers import apply_guard, get_guard, guard_active
from pipeline.ingest.language import language_problem
from pipeline.ingest.records import RawRecord, display_path
from pipeline.schemas import (
    ID_MAX_CHARS,
    MIN_SESSION_YEAR,
    SESSION_NUMBER_MAX,
    Quarantined,
    Session,
)

logger = logging.getLogger(__name__)

ERROR_CODES_DOC: dict[str, str] = {
    "READ_ERROR": "The file could not be read (permissions, I/O error).",
    "INVALID_UTF8": (
        "Bytes that are not UTF-8 (a JSONL line, a CSV row or header, a folder file), or a "
        "JSON string holding an unpaired surrogate escape such as \\ud800."
    ),
    "INVALID_JSON": (
        "A JSONL line, or a CSV `turns`/`metadata` cell, is not valid JSON (including nesting "
        "too deep and integers too long to read)."
    ),
    "INVALID_CSV": (
        "A CSV row cannot be parsed (bad quoting, data after a closing quote, a quote left "
        "open at the end of the file); on the header, or a header that repeats a column, the "
        "whole file is rejected."
    ),
    "INVALID_CSV_ROW": "A CSV row has more fields than the header.",
    "BAD_FRONT_MATTER": (
        "A folder file has no `---` front matter, it is not closed, not valid YAML or not a "
        "mapping, or `format` is not `note`/`transcript`."
    ),
    "BAD_TRANSCRIPT": (
        "A folder transcript has text before its first `clinician:`/`client:` line."
    ),
    "NOT_AN_OBJECT": "The record is valid JSON but not an object (an array, string, number).",
    "MISSING_FIELD": (
        "A required field is absent: `session_id`, `client_id`, `clinician_id`, "
        "`session_date`, or a turn's `speaker`/`text`."
    ),
    "EMPTY_FIELD": "An id, the note, the turn list or a turn's text is empty or blank.",
    "UNKNOWN_FIELD": "A field the input contract does not define (on the record or a turn).",
    "WRONG_TYPE": (
        "A field has the wrong type: note or id a number, turns a string, a turn not an "
        "object, metadata not a string map, session_number not an integer."
    ),
    "INVALID_FIELD": (
        f"A value of the right type outside its range: session_number below 0 or above "
        f"{SESSION_NUMBER_MAX}."
    ),
    "FIELD_TOO_LONG": (
        f"An id over {ID_MAX_CHARS} characters, note_type or a metadata key over 100, a "
        "metadata value over 1000, or more than 100 metadata entries."
    ),
    "UNKNOWN_SPEAKER": (
        "A turn's speaker is not `clinician` or `client` (JSON/CSV turns), or a folder "
        "transcript line starts with another speaker tag (`therapist:`, `Patient 2:`, `T:`)."
    ),
    "BODY_CONFLICT": "The record has both `note` and `turns`, or neither.",
    "INVALID_DATE": (
        "`session_date` is not an ISO date (YYYY-MM-DD, or a full ISO timestamp), is not a real "
        f"calendar date (2026-02-30), or is before {MIN_SESSION_YEAR}."
    ),
    "FUTURE_DATE": "`session_date` is more than `ingest.max_future_days` days after today.",
    "NOTE_TOO_LARGE": (
        "The note, or all turn text together, is over `ingest.max_note_bytes` UTF-8 bytes."
    ),
    "TOO_MANY_TURNS": "The transcript has more than `ingest.max_turns` turns.",
    "CONTROL_CHARACTERS": (
        "Text holds a NUL character; an id, note_type or metadata key holds any control "
        "character; or in the note, the turn text or a metadata value, control characters "
        "other than tab, newline and carriage return are more than "
        "`ingest.max_control_char_ratio` of the characters (binary or mis-decoded junk)."
    ),
    "DUPLICATE_ID_CONFLICT": (
        "A `session_id` already seen in this batch with different content (an exact repeat "
        "is dropped silently instead)."
    ),
    "IDENTIFIER_FOUND": (
        "The residual identifier guard found a possible e-mail address, phone number, SSN, URL, "
        "street address, date of birth or record number (`ingest.identifiers`; the message "
        "names the kinds and positions, never the text). With `policy: redact` the session is "
        "kept with placeholders instead. Left-over person names (`PERSON`) follow "
        "`person_policy`, `redact` by default: the session is kept with `[PERSON]` in place of "
        "each name and `run.json` counts the redactions (`counts.identifiers_redacted`); with "
        "`person_policy: quarantine` a name quarantines the session as `IDENTIFIER_FOUND`."
    ),
    "UNSUPPORTED_LANGUAGE": (
        "The note or transcript reads, with confidence, as a language outside "
        "`ingest.languages` (default English): the model would score it as if it were English. "
        "Texts under `ingest.language_min_chars` letters are never judged; set "
        "`ingest.languages` to null (or add the language) to score it anyway."
    ),
    "UNEXPECTED_ERROR": (
        "A bug: reading or validating the record raised an unexpected exception (named in the "
        "message). For a reader, the rest of that input was not read."
    ),
}

# pydantic error types -> codes; any other "*_type" error is WRONG_TYPE, the rest INVALID_FIELD.
_PYDANTIC_CODES = {
    "missing": "MISSING_FIELD",
    "extra_forbidden": "UNKNOWN_FIELD",
    "invalid_key": "WRONG_TYPE",
    "literal_error": "UNKNOWN_SPEAKER",  # speaker is the only Literal in the input models
    "empty": "EMPTY_FIELD",
    "string_too_short": "EMPTY_FIELD",
    "too_short": "EMPTY_FIELD",
    "string_too_long": "FIELD_TOO_LONG",
    "too_long": "FIELD_TOO_LONG",
    "wrong_type": "WRONG_TYPE",
    "invalid_date": "INVALID_DATE",
    "body_conflict": "BODY_CONFLICT",
    "string_unicode": "INVALID_UTF8",
}
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc
_STRAY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # Cc less \t \n \r


def error_codes_table() -> str:
    """``ERROR_CODES_DOC`` and the FHIR reader's codes as a Markdown table (for the README)."""
    codes = {**ERROR_CODES_DOC, **FHIR_ERROR_CODES_DOC}
    rows = [f"| `{code}` | {meaning} |" for code, meaning in codes.items()]
    return "\n".join(["| Code | Meaning |", "| --- | --- |", *rows])


@dataclass
class IngestResult:
    """Valid sessions and quarantined records of one batch, in input order.

    ``repeats`` holds ``(source, location)`` of exact repeats of an earlier session, which are
    dropped without a quarantine record (re-sent files are common).
    """

    sessions: list[tuple[str, Session]] = field(default_factory=list)  # (source, session)
    quarantined: list[Quarantined] = field(default_factory=list)
    repeats: list[tuple[str, str]] = field(default_factory=list)
    fhir: dict = field(default_factory=dict)  # FHIR reading counts (skipped, ignored), if any


def _name(part: str | int) -> str:
    if isinstance(part, int) or part == "[key]" or _SAFE_NAME.fullmatch(part):
        return str(part)
    return "<field>"  # a key that is not an identifier may be text: never echo it


def _explain(error: ValidationError) -> tuple[str, str]:
    """An error code and a message naming fields and problems, never the input values."""
    problems = error.errors(include_input=False, include_url=False, include_context=False)
    kind = problems[0]["type"]
    code = _PYDANTIC_CODES.get(kind) or ("WRONG_TYPE" if kind.endswith("_type") else None)
    parts = []
    for problem in problems[:5]:
        where = ".".join(_name(p) for p in problem["loc"])
        parts.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    if len(problems) > 5:
        parts.append(f"and {len(problems) - 5} more")
    return code or "INVALID_FIELD", "; ".join(parts)


def _clean_id(value: object) -> str | None:
    """The record's session id for the quarantine entry, if it is a usable one."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > ID_MAX_CHARS or _SURROGATE.search(value) or _CONTROL.search(value):
        return None
    return value


def _turn_texts(data: dict) -> list[str]:
    turns = data.get("turns")
    if not isinstance(turns, list):
        return []
    return [t["text"] for t in turns if isinstance(t, dict) and isinstance(t.get("text"), str)]


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _body_size_problem(data: dict, limits: IngestConfig) -> tuple[str, str] | None:
    """NOTE_TOO_LARGE / TOO_MANY_TURNS, checked before the schema so huge input is cheap."""
    turns = data.get("turns")
    if isinstance(turns, list) and len(turns) > limits.max_turns:
        return "TOO_MANY_TURNS", f"more than {limits.max_turns} turns"
    note = data.get("note")
    if isinstance(note, str) and _utf8_size(note) > limits.max_note_bytes:
        return "NOTE_TOO_LARGE", f"note is larger than {limits.max_note_bytes} bytes"
    if sum(_utf8_size(text) for text in _turn_texts(data)) > limits.max_note_bytes:
        return "NOTE_TOO_LARGE", f"turn text is larger than {limits.max_note_bytes} bytes in all"
    return None


def _text_problem(session: Session, limits: IngestConfig) -> tuple[str, str] | None:
    """INVALID_UTF8 / CONTROL_CHARACTERS in the strings the pipeline keeps."""
    labels = {
        "session_id": session.session_id,
        "client_id": session.client_id,
        "clinician_id": session.clinician_id,
        "note_type": session.note_type or "",
        **{f"metadata key {i + 1}": key for i, key in enumerate(session.metadata)},
    }
    free_text = {"note": session.note or ""}
    if session.turns:
        free_text = {"turn text": "\n".join(turn.text for turn in session.turns)}
    free_text.update(
        {f"metadata value {i + 1}": v for i, v in enumerate(session.metadata.values())}
    )
    for name, text in {**labels, **free_text}.items():
        if _SURROGATE.search(text):
            return "INVALID_UTF8", f"{name} holds an unpaired surrogate (not encodable as UTF-8)"
    for name, text in {**labels, **free_text}.items():
        if "\x00" in text:
            return "CONTROL_CHARACTERS", f"{name} contains a NUL character"
    for name, text in labels.items():
        if _CONTROL.search(text):
            return "CONTROL_CHARACTERS", f"{name} contains control characters"
    for name, text in free_text.items():
        stray = len(_STRAY_CONTROL.findall(text))
        if stray and stray > limits.max_control_char_ratio * len(text):
            share = 100 * stray / len(text)
            limit = 100 * limits.max_control_char_ratio
            return (
                "CONTROL_CHARACTERS",
                f"{name}: {share:.1f}% control characters (limit {limit:g}%)",
            )
    return None


def validate_record(
    record: RawRecord,
    limits: IngestConfig,
    today: dt.date | None = None,
    redactions: Counter | None = None,
) -> Session | Quarantined:
    """Validate one raw record against the input contract and the configured limits.

    Args:
        record: A reader's record (parsed data or a read error).
        limits: Size, date and text limits.
        today: The date FUTURE_DATE is measured from; ``dt.date.today()`` when None.
        redactions: Counts identifiers redacted by the guard, by kind, when given.

    Returns:
        The session, or a quarantine record whose message carries no input values.
    """

    def reject(code: str, message: str) -> Quarantined:
        data = record.data
        return Quarantined(
            source=record.source,
            location=record.location,
            session_id=_clean_id(data.get("session_id")) if isinstance(data, dict) else None,
            error_code=code,
            message=message,
        )

    if record.error_code:
        return reject(record.error_code, record.message)
    if not isinstance(record.data, dict):
        return reject("NOT_AN_OBJECT", f"expected a JSON object, got {type(record.data).__name__}")
    problem = _body_size_problem(record.data, limits)
    if problem:
        return reject(*problem)
    try:
        session = Session.model_validate(record.data)
    except ValidationError as error:
        return reject(*_explain(error))
    problem = _text_problem(session, limits)
    if problem:
        return reject(*problem)
    latest = (today or dt.date.today()) + dt.timedelta(days=limits.max_future_days)
    if session.session_date > latest:
        days = limits.max_future_days
        return reject(
            "FUTURE_DATE", f"session_date is more than {days} day{'s' * (days != 1)} after today"
        )
    problem = language_problem(session, limits)
    if problem:
        return reject(*problem)
    if guard_active(limits.identifiers):
        guarded = apply_guard(session, get_guard(limits.identifiers))
        if guarded.session is None:
            return reject(IDENTIFIER_ERROR_CODE, guarded.message)
        if redactions is not None:
            redactions.update(f.entity for f in guarded.findings)
        return guarded.session
    return session


def _unexpected(record: RawRecord, error: Exception) -> Quarantined:
    # Type name only: an exception's text may quote the input.
    logger.error("unexpected %s while validating %s", type(error).__name__, record.location)
    return Quarantined(
        source=record.source,
        location=record.location,
        error_code="UNEXPECTED_ERROR",
        message=f"validation failed unexpectedly ({type(error).__name__})",
    )


def iter_outcomes(
    records: Iterable[RawRecord],
    limits: IngestConfig,
    today: dt.date | None = None,
    redactions: Counter | None = None,
) -> Iterator[tuple[str, str, Session | Quarantined | None]]:
    """Validate records one at a time (memory stays flat however large the input).

    Yields ``(source, location, outcome)``: a ``Session``, a ``Quarantined`` record, or None
    for an
    exact repeat (same id, same content) of an earlier session, which is dropped: re-sent
    files are common. A repeated id with different content quarantines the later record.

    Args:
        records: Reader output.
        limits: Size, date and text limits.
        today: The date FUTURE_DATE is measured from; ``dt.date.today()`` once per batch when
            None.
        redactions: Counts identifiers the guard redacted, by kind (``PERSON`` ...), if given.
    """
    today = today or dt.date.today()
    seen: dict[str, str] = {}  # session id -> content hash: ids only, a few MB per million
    for record in records:
        try:
            outcome = validate_record(record, limits, today, redactions)
            content_hash = outcome.content_hash() if isinstance(outcome, Session) else ""
        except Exception as error:  # a bug must cost one record, not the batch
            outcome = _unexpected(record, error)
        if isinstance(outcome, Quarantined):
            yield record.source, record.location, outcome
            continue
        previous = seen.get(outcome.session_id)
        if previous == content_hash:
            yield record.source, record.location, None
            continue
        if previous is not None:
            yield (
                record.source,
                record.location,
                Quarantined(
                    source=record.source,
                    location=record.location,
                    session_id=outcome.session_id,
                    error_code="DUPLICATE_ID_CONFLICT",
                    message="session_id already seen in this batch with different content",
                ),
            )
            continue
        seen[outcome.session_id] = content_hash
        yield record.source, record.location, outcome


def ingest_records(
    records: Iterable[RawRecord], limits: IngestConfig, today: dt.date | None = None
) -> IngestResult:
    """:func:`iter_outcomes` collected into one :class:`IngestResult` (small batches, tests)."""
    result = IngestResult()
    for source, location, outcome in iter_outcomes(records, limits, today):
        if outcome is None:
            result.repeats.append((source, location))
        elif isinstance(outcome, Quarantined):
            result.quarantined.append(outcome)
        else:
            result.sessions.append((source, outcome))
    return result


def _guarded(records: Iterator[RawRecord], source: str) -> Iterator[RawRecord]:
    """A reader whose unexpected exception ends that input with one UNEXPECTED_ERROR record."""
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as error:
            logger.error("unexpected %s while reading an input", type(error).__name__)
            yield RawRecord(
                source,
                "file",
                error_code="UNEXPECTED_ERROR",
                message=f"reading stopped early ({type(error).__name__}); the rest was not read",
            )
            return
        yield record


def read_paths(paths: Sequence[Path], limits: IngestConfig, fhir_stats=None) -> Iterator[RawRecord]:
    """Every record of every input path, lazily, in order.

    Raises:
        FileNotFoundError: An input path does not exist (checked before any record is read).
        ValueError: An input path is not a supported type.
    """
    fhir_options = FhirOptions(include_psychotherapy_notes=limits.fhir_include_psychotherapy_notes)
    readers = [
        _guarded(read_path(Path(path), fhir_options, fhir_stats), display_path(path))
        for path in paths
    ]
    for reader in readers:
        yield from reader


def ingest_paths(
    paths: Sequence[Path], limits: IngestConfig, today: dt.date | None = None
) -> IngestResult:
    """Read and validate every input path (files and folders) as one batch, in memory.

    Raises:
        FileNotFoundError: An input path does not exist (checked before any record is read).
        ValueError: An input path is not a supported type.
    """
    fhir_stats = FhirReadStats()
    records = read_paths(paths, limits, fhir_stats)
    result = ingest_records(records, limits, today)
    if fhir_stats.resources:
        result.fhir = fhir_stats.as_dict()
    return result
