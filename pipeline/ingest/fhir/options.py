"""``FhirOptions``: how FHIR input is read (whether psychotherapy notes are, and what marks one)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FhirOptions:
    """How FHIR input is read.

    Attributes:
        include_psychotherapy_notes: Read psychotherapy notes too (marked in metadata with
            ``psychotherapy_note: "true"``). Off by default: see
            ``pipeline.ingest.fhir.validation``.
        psychotherapy_type_codes: ``type``/``category`` codes (any system) that mark a
            psychotherapy note.
        psychotherapy_security_codes: Security-label codes (HL7 v3 ActCode) that mark one.
    """

    include_psychotherapy_notes: bool = False
    psychotherapy_type_codes: frozenset[str] = frozenset()
    psychotherapy_security_codes: frozenset[str] = frozenset({"PSYTHPN"})
