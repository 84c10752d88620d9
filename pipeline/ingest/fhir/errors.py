"""The FHIR reader's error codes, and ``Reject``, which validation and mapping raise with one.

Messages name error codes, element paths and positions, never input values.
"""

from __future__ import annotations

FHIR_ERROR_CODES_DOC: dict[str, str] = {
    "FHIR_INVALID_UTF8": "A FHIR JSON file, or an NDJSON line, is not UTF-8.",
    "FHIR_INVALID_JSON": (
        "A FHIR JSON file (Bundle or single resource), or an NDJSON line, is not valid JSON "
        "(including nesting too deep and integers too long to read). For a JSON file the "
        "whole file is rejected."
    ),
    "FHIR_NOT_A_RESOURCE": (
        "Valid JSON that is not a FHIR resource: not an object or without a string "
        "`resourceType`; a Bundle whose `entry` is not a list, an entry that is not an "
        "object, or an entry `resource` that is not an object."
    ),
    "FHIR_INVALID_RESOURCE": (
        "A DocumentReference that does not validate against the FHIR R4 model: an element of "
        "the wrong type, an unknown element, a required element missing (`status`, "
        "`content`), a malformed date or id, or a `status`/`docStatus` outside its code list. "
        "The message lists element paths and error types."
    ),
    "FHIR_MISSING_ID": "The DocumentReference has neither an `id` nor an `identifier` value.",
    "FHIR_MISSING_SUBJECT": "The DocumentReference has no `subject.reference`.",
    "FHIR_BAD_SUBJECT": (
        "`subject.reference` does not name a Patient with a valid id (a Group, a contained "
        "`#` reference, or a `urn:uuid:` that no Bundle entry resolves to a Patient)."
    ),
    "FHIR_MISSING_AUTHOR": "No `author` references a Practitioner or PractitionerRole by id.",
    "FHIR_MISSING_DATE": (
        "Neither `context.period.start` nor `date` gives a full day (YYYY-MM-DD)."
    ),
    "FHIR_NO_TEXT": (
        "No `content[].attachment` has contentType `text/plain` with inline `data` (only "
        "PDF, HTML or other types, or no content), or the text is empty."
    ),
    "FHIR_TEXT_NOT_INLINE": (
        "The text/plain attachment has only a `url`: the text is not in the resource, and "
        "the pipeline never fetches."
    ),
    "FHIR_BAD_BASE64": "The text/plain attachment's `data` is not valid base64.",
    "FHIR_TEXT_NOT_UTF8": (
        "The text/plain attachment declares a charset other than UTF-8/US-ASCII, or its "
        "decoded bytes are not UTF-8."
    ),
}
# Also produced: READ_ERROR (the file cannot be opened or read) and UNEXPECTED_ERROR (a bug
# while reading one resource; the rest of the file is still read), as documented in
# pipeline.ingest.validate.ERROR_CODES_DOC.


class Reject(Exception):
    """One resource's text-free error (code and message), raised inside the mapping."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
