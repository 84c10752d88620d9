"""A validated DocumentReference as ``Session`` fields (DESIGN.md section 3).

- ``session_id``: ``id``; without one (a Bundle built for upload), the ``value`` of the first
  ``identifier`` that has one.
- ``client_id``: ``subject.reference`` as a relative reference, ``Patient/123``. An absolute URL
  is cut to its ``Patient/<id>`` tail (a ``/_history/<n>`` suffix dropped); a ``urn:uuid:``
  reference is resolved through the Bundle entry whose ``fullUrl`` it names. The type prefix is
  kept so that FHIR ids do not collide with the plain ids of other inputs, nor a
  ``Practitioner/7`` with a ``PractitionerRole/7``. The subject must be a Patient.
- ``clinician_id``: the first ``author`` that references a Practitioner or PractitionerRole, in
  the same form (``Practitioner/t-07``); Organization or Device authors are passed over.
- ``session_date``: the day of ``context.period.start`` when it names a full day, else the day
  of ``date`` (a FHIR instant). The day is taken as written, not converted to UTC, so a session
  at 23:30-05:00 keeps its local date.
- ``note``: the first ``content[].attachment`` whose ``contentType`` is ``text/plain`` (a
  ``charset`` parameter must be UTF-8 or US-ASCII) and that carries inline ``data``: strict
  base64, then UTF-8 (a byte order mark is dropped). Other content types (PDF, HTML, CDA) are
  passed over. An attachment with only a ``url`` is never fetched.
- ``note_type``: from ``type``: the display of its LOINC coding as a slug (``Progress note`` ->
  ``progress-note``), else the LOINC code (``11506-3``); without a LOINC coding, the slug of
  ``type.text`` or of the first coding's display or code.
- ``metadata`` (string codes and ids only): ``loinc_code``, ``fhir_status``,
  ``fhir_doc_status``, ``fhir_version_id`` (``meta.versionId``), ``fhir_encounter`` (the first
  ``context.encounter`` as ``Encounter/<id>``), and ``psychotherapy_note: "true"`` on a
  psychotherapy note read with ``include_psychotherapy_notes``. Each key only when present.

A field that cannot be mapped raises ``Reject`` with its ``FHIR_*`` code.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from pipeline.ingest.fhir.elements import FHIR_ID, as_dict, as_list, codings, nonblank_str
from pipeline.ingest.fhir.errors import Reject

LOINC_SYSTEM = "http://loinc.org"
TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
CLINICIAN_TYPES = ("Practitioner", "PractitionerRole")
NOTE_TYPE_MAX_CHARS = 100  # Session.note_type's limit: a longer label would reject the note

_FULL_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def session_fields(
    resource: dict[str, Any], patients: dict[str, str], psychotherapy: bool
) -> dict[str, Any]:
    """The ``Session`` fields of a DocumentReference that passed validation.

    Args:
        resource: The DocumentReference.
        patients: Bundle ``fullUrl`` -> ``Patient/<id>``, for ``urn:uuid:`` subjects.
        psychotherapy: Whether it is a psychotherapy note (marked in ``metadata``).

    Raises:
        Reject: A field cannot be mapped (the first one, in field order).
    """
    data: dict[str, Any] = {
        "session_id": _session_id(resource),
        "client_id": _client_id(resource, patients),
        "clinician_id": _clinician_id(resource),
        "session_date": _session_date(resource),
    }
    note_type = _note_type(resource.get("type"))
    if note_type:
        data["note_type"] = note_type
    metadata = _metadata(resource, psychotherapy)
    if metadata:
        data["metadata"] = metadata
    data["note"] = _note_text(resource)
    return data


def _session_id(resource: dict[str, Any]) -> str:
    resource_id = nonblank_str(resource.get("id"))
    if resource_id:
        return resource_id
    for identifier in as_list(resource.get("identifier")):
        value = nonblank_str(as_dict(identifier).get("value"))
        if value:
            return value
    raise Reject("FHIR_MISSING_ID", "DocumentReference has no id and no identifier value")


def _relative_reference(
    reference: str, types: tuple[str, ...], resolved: dict[str, str] | None = None
) -> str | None:
    """``Type/id`` for a literal reference to one of ``types``, else None."""
    reference = reference.strip()
    if resolved and reference in resolved:
        reference = resolved[reference]
    parts = reference.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or parts[-2] not in types or not FHIR_ID.fullmatch(parts[-1]):
        return None
    return f"{parts[-2]}/{parts[-1]}"


def _client_id(resource: dict[str, Any], patients: dict[str, str]) -> str:
    reference = nonblank_str(as_dict(resource.get("subject")).get("reference"))
    if reference is None:
        raise Reject("FHIR_MISSING_SUBJECT", "subject.reference is missing")
    client = _relative_reference(reference, ("Patient",), patients)
    if client is None:
        raise Reject("FHIR_BAD_SUBJECT", "subject.reference does not name a Patient by id")
    return client


def _clinician_id(resource: dict[str, Any]) -> str:
    for author in as_list(resource.get("author")):
        reference = nonblank_str(as_dict(author).get("reference"))
        clinician = reference and _relative_reference(reference, CLINICIAN_TYPES)
        if clinician:
            return clinician
    raise Reject(
        "FHIR_MISSING_AUTHOR", "no author references a Practitioner or PractitionerRole by id"
    )


def _session_date(resource: dict[str, Any]) -> str:
    start = as_dict(as_dict(resource.get("context")).get("period")).get("start")
    for value in (start, resource.get("date")):
        if isinstance(value, str) and _FULL_DAY.match(value):
            return value[:10]
    raise Reject("FHIR_MISSING_DATE", "neither context.period.start nor date gives a full day")


def _slug(text: str) -> str:
    return _SLUG_JUNK.sub("-", text.lower()).strip("-")[:NOTE_TYPE_MAX_CHARS].rstrip("-")


def _note_type(concept: object) -> str | None:
    type_codings = codings(concept)
    for coding in type_codings:
        if coding.get("system") == LOINC_SYSTEM:
            display, code = nonblank_str(coding.get("display")), nonblank_str(coding.get("code"))
            label = (_slug(display) if display else "") or (code or "")
            if label:
                return label[:NOTE_TYPE_MAX_CHARS]
    candidates = [as_dict(concept).get("text")]
    for coding in type_codings:
        candidates += [coding.get("display"), coding.get("code")]
    for candidate in candidates:
        if isinstance(candidate, str) and _slug(candidate):
            return _slug(candidate)
    return None


def _metadata(resource: dict[str, Any], psychotherapy: bool) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for coding in codings(resource.get("type")):
        code = nonblank_str(coding.get("code"))
        if coding.get("system") == LOINC_SYSTEM and code:
            metadata["loinc_code"] = code
            break
    for key, value in (
        ("fhir_status", resource.get("status")),
        ("fhir_doc_status", resource.get("docStatus")),
        ("fhir_version_id", as_dict(resource.get("meta")).get("versionId")),
    ):
        if nonblank_str(value):
            metadata[key] = value
    encounters = as_list(as_dict(resource.get("context")).get("encounter"))
    if encounters:
        reference = nonblank_str(as_dict(encounters[0]).get("reference"))
        encounter = reference and _relative_reference(reference, ("Encounter",))
        if encounter:
            metadata["fhir_encounter"] = encounter
    if psychotherapy:
        metadata["psychotherapy_note"] = "true"
    return metadata


def _media_type(content_type: object) -> tuple[str | None, str | None]:
    """(media type, charset), lower-cased; (None, None) without a contentType."""
    if not isinstance(content_type, str):
        return None, None
    media, *params = content_type.split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _note_text(resource: dict[str, Any]) -> str:
    """The text of the first inline text/plain attachment.

    Raises:
        Reject: FHIR_NO_TEXT, FHIR_TEXT_NOT_INLINE, FHIR_BAD_BASE64 or FHIR_TEXT_NOT_UTF8.
    """
    url_only = False
    for index, item in enumerate(as_list(resource.get("content"))):
        attachment = as_dict(as_dict(item).get("attachment"))
        media, charset = _media_type(attachment.get("contentType"))
        has_data = isinstance(attachment.get("data"), str)
        if not has_data and attachment.get("url") is not None and media in ("text/plain", None):
            url_only = True
        if media != "text/plain" or not has_data:
            continue
        where = f"content[{index}].attachment"
        if charset is not None and charset not in TEXT_CHARSETS:
            raise Reject("FHIR_TEXT_NOT_UTF8", f"{where} declares a charset other than UTF-8")
        encoded = "".join(attachment["data"].split())  # line-wrapped base64 is common
        try:
            payload = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Reject("FHIR_BAD_BASE64", f"{where}.data is not valid base64") from None
        try:
            text = payload.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            raise Reject(
                "FHIR_TEXT_NOT_UTF8", f"{where}.data is not valid UTF-8 (byte {error.start})"
            ) from None
        if not text.strip():
            raise Reject("FHIR_NO_TEXT", f"{where} holds no text")
        return text
    if url_only:
        raise Reject("FHIR_TEXT_NOT_INLINE", "the text is only referenced by a url (never fetched)")
    raise Reject("FHIR_NO_TEXT", "no content attachment with text/plain data")
