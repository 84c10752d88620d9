"""``FhirReadStats``: what a FHIR read counts, and the reasons (``SKIP_REASONS``) it skips for.

A skipped DocumentReference or Bundle entry gets no quarantine entry: it is only counted here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SKIP_PSYCHOTHERAPY = "psychotherapy_note"
SKIP_ENTERED_IN_ERROR = "entered_in_error"
SKIP_SUPERSEDED = "superseded"
SKIP_PRELIMINARY = "preliminary"
SKIP_NO_RESOURCE = "entry_without_resource"
SKIP_REASONS: dict[str, str] = {
    SKIP_PSYCHOTHERAPY: "A psychotherapy note (HIPAA 45 CFR 164.501), read only on request.",
    SKIP_ENTERED_IN_ERROR: "`status` or `docStatus` is entered-in-error.",
    SKIP_SUPERSEDED: "`status` is superseded: a newer version is its own resource.",
    SKIP_PRELIMINARY: "`docStatus` is preliminary: an unsigned draft.",
    SKIP_NO_RESOURCE: "A Bundle entry without a resource (e.g. a transaction's DELETE).",
}


@dataclass
class FhirReadStats:
    """Counts filled while FHIR input is read; pass one object to several reads to add up.

    Attributes:
        resources: Resources seen (Bundle entries counted one by one, the Bundle not).
        documents: DocumentReference resources among them.
        records: DocumentReferences yielded as session data.
        errors: Error records yielded (files, lines, entries and resources).
        skipped: Reason (``SKIP_REASONS``) -> DocumentReferences or entries passed over.
        ignored: Resource type -> resources of other types passed over (``<invalid>`` for a
            type that is not a FHIR type name).
    """

    resources: int = 0
    documents: int = 0
    records: int = 0
    errors: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """The counts as plain JSON types (for ``run.json``)."""
        return {
            "resources": self.resources,
            "documents": self.documents,
            "records": self.records,
            "errors": self.errors,
            "skipped": dict(sorted(self.skipped.items())),
            "ignored": dict(sorted(self.ignored.items())),
        }
