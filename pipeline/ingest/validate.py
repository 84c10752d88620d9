"""Validation: raw records -> ``Session`` objects or text-free quarantine records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from pipeline.config import IngestConfig
from pipeline.ingest.readers import RawRecord, read_path
from pipeline.schemas import Quarantined, Session

ERROR_CODES = {
    "missing": "MISSING_FIELD",
    "extra_forbidden": "UNKNOWN_FIELD",
    "literal_error": "INVALID_VALUE",
}


@dataclass
class IngestResult:
    """Valid sessions and quarantined records of one batch, in input order."""

    sessions: list[tuple[str, Session]] = field(default_factory=list)  # (source, session)
    quarantined: list[Quarantined] = field(default_factory=list)


def _explain(error: ValidationError) -> tuple[str, str]:
    """An error code and a message naming fields and problems, never the input values."""
    problems = error.errors(include_input=False, include_url=False)
    first = problems[0]
    code = ERROR_CODES.get(first["type"], "INVALID_FIELD")
    if first["type"] == "value_error" and "exactly one of" in first["msg"]:
        code = "BODY_CONFLICT"
    elif first["type"] == "value_error" and "empty" in first["msg"]:
        code = "EMPTY_FIELD"
    parts = []
    for problem in problems[:5]:
        where = ".".join(str(p) for p in problem["loc"]) or "record"
        parts.append(f"{where}: {problem['msg']}")
    return code, "; ".join(parts)


def _session_id_of(data: object) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("session_id"), str):
        return data["session_id"][:200]
    return None


def validate_record(record: RawRecord, limits: IngestConfig) -> Session | Quarantined:
    """Validate one raw record against the input contract and the configured limits."""

    def reject(code: str, message: str) -> Quarantined:
        return Quarantined(
            source=record.source,
            location=record.location,
            session_id=_session_id_of(record.data),
            error_code=code,
            message=message,
        )

    if record.error_code:
        return reject(record.error_code, record.message)
    if not isinstance(record.data, dict):
        return reject("NOT_AN_OBJECT", f"expected a JSON object, got {type(record.data).__name__}")
    note = record.data.get("note")
    if isinstance(note, str) and len(note.encode("utf-8")) > limits.max_note_bytes:
        return reject("NOTE_TOO_LARGE", f"note is larger than {limits.max_note_bytes} bytes")
    turns = record.data.get("turns")
    if isinstance(turns, list) and len(turns) > limits.max_turns:
        return reject("TOO_MANY_TURNS", f"more than {limits.max_turns} turns")
    try:
        return Session.model_validate(record.data)
    except ValidationError as error:
        return reject(*_explain(error))


def ingest_records(records: Iterable[RawRecord], limits: IngestConfig) -> IngestResult:
    """Validate records; a repeated session id with different content quarantines the later one.

    An exact repeat (same id, same content) is dropped silently: re-sent files are common.
    """
    result = IngestResult()
    seen: dict[str, str] = {}
    for record in records:
        outcome = validate_record(record, limits)
        if isinstance(outcome, Quarantined):
            result.quarantined.append(outcome)
            continue
        content_hash = outcome.content_hash()
        previous = seen.get(outcome.session_id)
        if previous == content_hash:
            continue
        if previous is not None:
            result.quarantined.append(
                Quarantined(
                    source=record.source,
                    location=record.location,
                    session_id=outcome.session_id,
                    error_code="DUPLICATE_ID_CONFLICT",
                    message="session_id already seen in this batch with different content",
                )
            )
            continue
        seen[outcome.session_id] = content_hash
        result.sessions.append((record.source, outcome))
    return result


def ingest_paths(paths: Sequence[Path], limits: IngestConfig) -> IngestResult:
    """Read and validate every input path (files and folders) as one batch."""

    def records() -> Iterable[RawRecord]:
        for path in paths:
            yield from read_path(Path(path))

    return ingest_records(records(), limits)
