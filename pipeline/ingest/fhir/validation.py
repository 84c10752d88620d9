"""Which DocumentReferences are read: skip rules, psychotherapy notes, and model validation.

Skipped without a quarantine entry, counted in ``FhirReadStats.skipped`` (``SKIP_REASONS``):
psychotherapy notes (unless ``FhirOptions.include_psychotherapy_notes``), ``entered-in-error``
(``status`` or ``docStatus``: recorded by mistake), ``superseded`` (a newer version exists as
its own resource) and ``preliminary`` (an unsigned draft; the final version will follow), and
Bundle entries without a resource (a transaction's DELETE). Resources other than
DocumentReference (Patient, Encounter, OperationOutcome ...) are counted by type in
``FhirReadStats.ignored``.

Psychotherapy notes: under HIPAA (45 CFR 164.501) a therapist's psychotherapy notes are kept
apart from the medical record and need the client's specific authorization for most uses, so
they are not read by default. A DocumentReference is one when any of these holds:

- a security label (``meta.security`` or ``securityLabel``) with a code in
  ``psychotherapy_security_codes``, default ``PSYTHPN`` ("psychotherapy note information
  sensitivity", HL7 v3 ActCode / ActInformationSensitivityPolicy), with the ActCode system or
  none. ``PSY`` ("psychiatry information sensitivity") is deliberately not in the default: a
  behavioral-health EHR may put it on every note of the record.
- a ``type`` or ``category`` coding whose code is in ``psychotherapy_type_codes`` (any system,
  so a clinic can list local codes). The default is empty: we found no LOINC document code for
  a HIPAA psychotherapy note. The mental-health note codes (e.g. 34904-3 Mental health Progress
  note, 28627-8 Psychiatry Progress note, 11510-5 Psychology Progress note; 11488-4 is a Consult
  note) are notes of the medical record, the very notes this pipeline reads, and are not listed.
- a ``type``/``category`` text or coding display that says "psychotherapy note(s)".

Library: resources are validated with ``fhir.resources`` (its ``R4B`` models: FHIR 4.3, whose
DocumentReference, Attachment, Reference and Period are the same as R4's; the package's default
models are R5, where DocumentReference differs). It adds one small dependency (``fhir-core``,
which needs only pydantic), and ``pip check`` passes. Its errors are reported by element path
and error type only, never with pydantic's messages or input. Two checks are ours, because the
models are lenient there: base64 is decoded strictly (pydantic's decoder skips invalid
characters; the decoding is in ``pipeline.ingest.fhir.mapping``), and ``status``/``docStatus``
must be codes of their required value sets. Attachment ``data`` is left out of model
validation, so a large PDF next to the text is never decoded.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference
from pydantic import ValidationError

from pipeline.ingest.fhir.elements import as_dict, as_list, codings, nonblank_str
from pipeline.ingest.fhir.errors import Reject
from pipeline.ingest.fhir.options import FhirOptions
from pipeline.ingest.fhir.stats import SKIP_ENTERED_IN_ERROR, SKIP_PRELIMINARY, SKIP_SUPERSEDED

ACT_CODE_SYSTEMS = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "http://hl7.org/fhir/v3/ActCode",  # the URI before R4
        "urn:oid:2.16.840.1.113883.5.4",
    }
)
DOCUMENT_STATUSES = frozenset({"current", "superseded", "entered-in-error"})
COMPOSITION_STATUSES = frozenset({"preliminary", "final", "amended", "entered-in-error"})

_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_PSYCHOTHERAPY_TEXT = re.compile(r"psycho-?therapy[\s_-]*notes?\b", re.IGNORECASE)


def is_psychotherapy_note(resource: dict[str, Any], options: FhirOptions) -> bool:
    """Whether the DocumentReference is a psychotherapy note (see the module docstring)."""
    labels = [
        c for c in as_list(as_dict(resource.get("meta")).get("security")) if isinstance(c, dict)
    ]
    for concept in as_list(resource.get("securityLabel")):
        labels.extend(codings(concept))
    for label in labels:
        system = label.get("system")
        if nonblank_str(label.get("code")) in options.psychotherapy_security_codes and (
            system is None or system in ACT_CODE_SYSTEMS
        ):
            return True
    concepts = [resource.get("type"), *as_list(resource.get("category"))]
    for concept in concepts:
        texts = [as_dict(concept).get("text")]
        for coding in codings(concept):
            if nonblank_str(coding.get("code")) in options.psychotherapy_type_codes:
                return True
            texts.append(coding.get("display"))
        if any(isinstance(t, str) and _PSYCHOTHERAPY_TEXT.search(t) for t in texts):
            return True
    return False


def status_skip_reason(resource: dict[str, Any]) -> str | None:
    """The ``SKIP_REASONS`` key when ``status``/``docStatus`` say skip the note, else None.

    Checked before validation: a retracted or replaced note is not ours to judge, valid or not.
    """
    status, doc_status = resource.get("status"), resource.get("docStatus")
    if "entered-in-error" in (status, doc_status):
        return SKIP_ENTERED_IN_ERROR
    if status == "superseded":
        return SKIP_SUPERSEDED
    if doc_status == "preliminary":
        return SKIP_PRELIMINARY
    return None


def _name(part: str | int) -> str:
    if isinstance(part, int) or _SAFE_NAME.fullmatch(part):
        return str(part)
    return "<element>"  # a key that is not an identifier may be text: never echo it


def validate_document(resource: dict[str, Any]) -> None:
    """Validate against the R4 DocumentReference model (attachment data left to us).

    Raises:
        Reject: FHIR_INVALID_RESOURCE with element paths and error types only.
    """
    checked = dict(resource)
    content = resource.get("content")
    if isinstance(content, list):
        # Empty base64 in place of each string: strict decoding is ours, and only of the text.
        checked["content"] = [_without_data(item) for item in content]
    problems: list[str] = []
    try:
        DocumentReference.model_validate(checked)
    except ValidationError as error:
        for problem in error.errors(include_input=False, include_url=False, include_context=False):
            if problem["type"] == "extra_forbidden":  # the key itself is input: not echoed
                where = ".".join(_name(p) for p in problem["loc"][:-1])
                problems.append(f"{where + '.' if where else ''}<unknown element>: not allowed")
            else:
                where = ".".join(_name(p) for p in problem["loc"]) or "resource"
                problems.append(f"{where}: {problem['type']}")
    # isinstance first: a list or object is unhashable, and `in frozenset` would raise on it.
    status, doc_status = resource.get("status"), resource.get("docStatus")
    if "status" in resource and not (isinstance(status, str) and status in DOCUMENT_STATUSES):
        problems.append("status: not a DocumentReference status code")
    if "docStatus" in resource and not (
        isinstance(doc_status, str) and doc_status in COMPOSITION_STATUSES
    ):
        problems.append("docStatus: not a composition status code")
    if problems:
        more = [f"and {len(problems) - 5} more"] if len(problems) > 5 else []
        raise Reject("FHIR_INVALID_RESOURCE", "; ".join(problems[:5] + more))


def _without_data(item: object) -> object:
    attachment = as_dict(item).get("attachment")
    if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
        return item
    return {**as_dict(item), "attachment": {**attachment, "data": ""}}
