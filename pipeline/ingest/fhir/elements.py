"""Tolerant accessors over untrusted FHIR JSON, shared by the reader, validation and mapping.

Each accessor returns an empty value (or None) for an element of the wrong JSON type, so the
code that walks a resource never fails on its shape.
"""

from __future__ import annotations

import re
from typing import Any

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # the FHIR ``id`` data type


def as_dict(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def nonblank_str(value: object) -> str | None:
    """``value`` when it is a string with a non-space character, else None."""
    return value if isinstance(value, str) and value.strip() else None


def codings(concept: object) -> list[dict[str, Any]]:
    """The ``coding`` objects of a CodeableConcept (none when it is not one)."""
    return [c for c in as_list(as_dict(concept).get("coding")) if isinstance(c, dict)]
