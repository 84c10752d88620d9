"""Records that flow through the pipeline (DESIGN.md section 3).

Input records are validated strictly (unknown keys rejected) because they come from outside;
internal records are plain pydantic models so they serialise the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Speaker = Literal["clinician", "client"]

MIN_SESSION_YEAR = 1900  # earlier dates are typos (0026-03-02) or placeholder values
ID_MAX_CHARS = 200
LABEL_MAX_CHARS = 100  # note_type and metadata keys

TextKind = Literal["note", "transcript", "chat"]
TEXT_KINDS: tuple[str, ...] = ("note", "transcript", "chat")
# note_type values (lowercase, "-" and " " read as "_") that mark a transcript as a peer-support
# or text chat rather than a therapy session.
CHAT_NOTE_TYPES = frozenset(
    {"chat", "peer_support", "peer_support_chat", "text_chat", "support_chat"}
)
METADATA_VALUE_MAX_CHARS = 1_000
METADATA_MAX_ENTRIES = 100
SESSION_NUMBER_MAX = 100_000  # also keeps the value inside a 64-bit database integer

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _empty(field: str | None = None) -> PydanticCustomError:
    # Field validators get the field name from the error location; model validators name it.
    if field is None:
        return PydanticCustomError("empty", "must not be empty or blank")
    return PydanticCustomError("empty", "'{field}' must not be empty or blank", {"field": field})


def _parse_session_date(value: object) -> dt.date:
    """``YYYY-MM-DD``, or a full ISO timestamp whose date part is used; never numbers.

    Raises:
        PydanticCustomError: ``wrong_type`` or ``invalid_date``; messages never echo the value.
    """
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        if not isinstance(value, str):
            raise PydanticCustomError("wrong_type", "must be an ISO date string such as 2026-03-02")
        text = value.strip()
        if not _ISO_DATE.match(text):
            raise PydanticCustomError("invalid_date", "not an ISO date (YYYY-MM-DD)")
        try:
            # A time part must itself be valid: "2026-03-02Tjunk" is not a date.
            value = (
                dt.date.fromisoformat(text)
                if len(text) == 10
                else dt.datetime.fromisoformat(text).date()
            )
        except ValueError:
            raise PydanticCustomError(
                "invalid_date", "not a real calendar date or ISO timestamp"
            ) from None
    if value.year < MIN_SESSION_YEAR:
        raise PydanticCustomError("invalid_date", "before {year}", {"year": MIN_SESSION_YEAR})
    return value


class Turn(BaseModel):
    """One speaker turn of a session transcript."""

    model_config = ConfigDict(extra="forbid", strict=True)

    speaker: Speaker
    text: str

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise _empty()
        return value


class Session(BaseModel):
    """One therapy session: exactly one of a written ``note`` or a transcript (``turns``).

    Strict: no type coercion (a number is not an id, ``"3"`` is not a session number), because
    a wrong type in an input file is a data error to report, not to guess around. Validators
    raise ``PydanticCustomError`` with types ``empty``, ``wrong_type``, ``invalid_date`` and
    ``body_conflict``, which ``pipeline.ingest.validate`` maps to quarantine error codes.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    session_id: str = Field(max_length=ID_MAX_CHARS)
    client_id: str = Field(max_length=ID_MAX_CHARS)
    clinician_id: str = Field(max_length=ID_MAX_CHARS)
    session_date: dt.date
    note_type: str | None = Field(default=None, max_length=LABEL_MAX_CHARS)
    session_number: int | None = Field(default=None, ge=0, le=SESSION_NUMBER_MAX)
    metadata: dict[
        Annotated[str, StringConstraints(max_length=LABEL_MAX_CHARS)],
        Annotated[str, StringConstraints(max_length=METADATA_VALUE_MAX_CHARS)],
    ] = Field(default_factory=dict, max_length=METADATA_MAX_ENTRIES)
    note: str | None = None
    turns: list[Turn] | None = None

    @field_validator("session_id", "client_id", "clinician_id")
    @classmethod
    def _strip_ids(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise _empty()
        return value

    @field_validator("session_date", mode="before")
    @classmethod
    def _date_only(cls, value: object) -> dt.date:
        return _parse_session_date(value)

    @model_validator(mode="after")
    def _exactly_one_body(self) -> Session:
        has_note = self.note is not None
        has_turns = self.turns is not None
        if has_note == has_turns:
            raise PydanticCustomError(
                "body_conflict",
                "a session needs exactly one of 'note' or 'turns' (found {found})",
                {"found": "both" if has_note else "neither"},
            )
        if has_note and not self.note.strip():
            raise _empty("note")
        if has_turns and not self.turns:
            raise _empty("turns")
        return self

    @property
    def kind(self) -> TextKind:
        """``note`` (a written note), ``chat`` (a transcript whose ``note_type`` says it is a
        peer-support or text chat, :data:`CHAT_NOTE_TYPES`) or ``transcript`` (a therapy
        transcript). The session estimator reads each kind with its own model."""
        if self.note is not None:
            return "note"
        note_type = (self.note_type or "").strip().lower().replace("-", "_").replace(" ", "_")
        return "chat" if note_type in CHAT_NOTE_TYPES else "transcript"

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the session (detects amended notes)."""
        payload = self.model_dump(mode="json")
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


class Passage(BaseModel):
    """A unit the passage model scores: a sentence of a note or one transcript turn."""

    session_id: str
    passage_id: str
    index: int
    speaker: Speaker
    section: str
    start: int
    end: int
    negated: bool
    text: str

    @staticmethod
    def make_id(session_id: str, index: int) -> str:
        return f"{session_id}:{index:04d}"


class PassageScores(BaseModel):
    """Model outputs for one passage, in the shape of ``passages.jsonl``."""

    alliance: dict[str, float]
    strain: float
    empathy: dict[str, list[float]]
    aux: dict[str, dict[str, float]]
    # The clinician's way of working (directive / exploratory / neither); None from a model
    # without the style head, and then left out of passages.jsonl.
    style: dict[str, float] | None = None


class SessionEstimate(BaseModel):
    """Per-session alliance estimate on the WAI-SR item scale (1-5) with 80% intervals."""

    session_id: str
    client_id: str
    clinician_id: str
    session_date: dt.date
    n_passages: int
    task: float
    bond: float
    goal: float
    overall: float
    task_low: float
    task_high: float
    bond_low: float
    bond_high: float
    goal_low: float
    goal_high: float
    overall_low: float
    overall_high: float
    model_version: str
    flags: list[str] = Field(default_factory=list)
    # 0-1: how structured and directive the clinician's work was (1 = agenda, skills, homework,
    # advice; 0 = following the client's lead); None when no clinician activity is recorded.
    structure: float | None = None
    # The kind of text the session was read from (None in stores written before it existed).
    kind: TextKind | None = None


class ClientFit(BaseModel):
    """One client's trajectory and approach fit: does their alliance estimate run higher in
    more structured or in more exploratory sessions (``clients.csv``)."""

    client_id: str
    clinician_id: str
    n_sessions: int
    first_date: dt.date
    last_date: dt.date
    overall_mean: float
    overall_trend: float | None  # change in the overall estimate per session (OLS slope)
    approach_fit: Literal["structure", "exploration", "unclear"]
    fit_rho: float | None  # partial Spearman of overall and structure, session order held fixed
    fit_low: float | None
    fit_high: float | None
    # Mean overall estimate of the more structured half of the fit's sessions minus the less
    # structured half, in points on the 1-5 scale.
    fit_difference: float | None = None
    fit_sessions: int = 0  # sessions the fit read (with a structure value, of one kind of text)
    fit_kind: TextKind | None = None
    n_structured: int  # sessions with a structure value
    why: str  # plain words: what decided the call


class Flag(BaseModel):
    """A reason for a supervisor to look at a session, with the passages that support it."""

    session_id: str
    client_id: str
    clinician_id: str
    code: str
    severity: Literal["info", "low", "medium", "high"]
    reason: str
    evidence: list[str] = Field(default_factory=list)


class Quarantined(BaseModel):
    """A rejected input record. Never carries note text."""

    source: str
    location: str
    session_id: str | None = None
    error_code: str
    message: str
