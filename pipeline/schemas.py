"""Records that flow through the pipeline (DESIGN.md section 3).

Input records are validated strictly (unknown keys rejected) because they come from outside;
internal records are plain pydantic models so they serialise the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Speaker = Literal["clinician", "client"]


class Turn(BaseModel):
    """One speaker turn of a session transcript."""

    model_config = ConfigDict(extra="forbid", strict=True)

    speaker: Speaker
    text: str = Field(min_length=1)


class Session(BaseModel):
    """One therapy session: exactly one of a written ``note`` or a transcript (``turns``)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=200)
    client_id: str = Field(min_length=1, max_length=200)
    clinician_id: str = Field(min_length=1, max_length=200)
    session_date: dt.date
    note_type: str | None = None
    session_number: int | None = Field(default=None, ge=0)
    metadata: dict[str, str] = Field(default_factory=dict)
    note: str | None = None
    turns: list[Turn] | None = None

    @field_validator("session_id", "client_id", "clinician_id")
    @classmethod
    def _strip_ids(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("session_date", mode="before")
    @classmethod
    def _date_only(cls, value: object) -> object:
        # Accept "2026-03-02" and full ISO timestamps, but never numbers (epoch guesses).
        if isinstance(value, int | float):
            raise ValueError("session_date must be an ISO date string such as 2026-03-02")
        if isinstance(value, str) and "T" in value:
            return value.split("T", 1)[0]
        return value

    @model_validator(mode="after")
    def _exactly_one_body(self) -> Session:
        has_note = self.note is not None
        has_turns = self.turns is not None
        if has_note == has_turns:
            raise ValueError("a session needs exactly one of 'note' or 'turns'")
        if has_note and not self.note.strip():
            raise ValueError("'note' is empty")
        if has_turns and not self.turns:
            raise ValueError("'turns' is empty")
        return self

    @property
    def kind(self) -> Literal["note", "transcript"]:
        return "note" if self.note is not None else "transcript"

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
