"""FHIR R4 input: clinical notes kept as DocumentReference resources in an EHR.

Files:

- A Bundle as one JSON document (any ``Bundle.type``): each ``entry[].resource`` is read.
- A single resource as one JSON document: a lone DocumentReference is read like a one-entry
  Bundle; any other resource type is ignored (counted).
- NDJSON, one resource per line (FHIR bulk-data export, ``.ndjson``); a line holding a Bundle
  is read like a Bundle file. ``looks_like_fhir`` tells such a file from our own JSONL.

A Bundle inside a Bundle is not opened (it is counted as an ignored resource).

A ``.json`` file is read as one document (and as NDJSON when it holds several JSON values);
any other suffix is read as NDJSON, line by line, so a large export is never held in memory.

Mapping of a DocumentReference to the ``Session`` fields (DESIGN.md section 3):

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
characters), and ``status``/``docStatus`` must be codes of their required value sets. Attachment
``data`` is left out of model validation, so a large PDF next to the text is never decoded.

Messages name error codes, element paths and positions, never input values; locations name the
position (``line 7``, ``entry[3]``, ``resource``) and the resource id when it is a valid FHIR id.
The reader never raises on bad content, only ``FileNotFoundError`` for a missing path.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference
from pydantic import ValidationError

# A module import, not ``from ... import RawRecord``: readers.read_path dispatches to this
# module, and attribute access at call time works whichever of the two is imported first.
from pipeline.ingest import readers

logger = logging.getLogger(__name__)

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

LOINC_SYSTEM = "http://loinc.org"
ACT_CODE_SYSTEMS = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "http://hl7.org/fhir/v3/ActCode",  # the URI before R4
        "urn:oid:2.16.840.1.113883.5.4",
    }
)
DOCUMENT_STATUSES = frozenset({"current", "superseded", "entered-in-error"})
COMPOSITION_STATUSES = frozenset({"preliminary", "final", "amended", "entered-in-error"})
TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
CLINICIAN_TYPES = ("Practitioner", "PractitionerRole")
SNIFF_BYTES = 1 << 20
NOTE_TYPE_MAX_CHARS = 100  # Session.note_type's limit: a longer label would reject the note

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_FULL_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_PSYCHOTHERAPY_TEXT = re.compile(r"psycho-?therapy[\s_-]*notes?\b", re.IGNORECASE)
_RESOURCE_TYPE_KEY = re.compile(r'"resourceType"\s*:\s*"')
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class FhirOptions:
    """How FHIR input is read.

    Attributes:
        include_psychotherapy_notes: Read psychotherapy notes too (marked in metadata with
            ``psychotherapy_note: "true"``). Off by default: see the module docstring.
        psychotherapy_type_codes: ``type``/``category`` codes (any system) that mark a
            psychotherapy note.
        psychotherapy_security_codes: Security-label codes (HL7 v3 ActCode) that mark one.
    """

    include_psychotherapy_notes: bool = False
    psychotherapy_type_codes: frozenset[str] = frozenset()
    psychotherapy_security_codes: frozenset[str] = frozenset({"PSYTHPN"})


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


class _Reject(Exception):
    """One resource's text-free error (code and message), raised inside the mapping."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- small helpers over untrusted JSON -------------------------------------------------------


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _codings(concept: object) -> list[dict[str, Any]]:
    return [c for c in _list(_dict(concept).get("coding")) if isinstance(c, dict)]


def _display_path(path: Path | str) -> str:
    # As readers.display_path: undecodable file-name bytes become U+FFFD.
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class _JsonError(ValueError):
    """Text-free JSON failure; ``several_values`` when valid JSON is followed by more."""

    def __init__(self, message: str, several_values: bool = False) -> None:
        super().__init__(message)
        self.several_values = several_values


def _parse_json(text: str) -> Any:
    """``json.loads`` whose every failure is a ``_JsonError`` without input text in it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        # json's messages ("Expecting ',' delimiter") are fixed strings, never the input.
        where = (
            f"line {error.lineno} column {error.colno}"
            if error.lineno > 1
            else (f"column {error.colno}")
        )
        raise _JsonError(
            f"malformed JSON at {where}: {error.msg}", several_values=error.msg == "Extra data"
        ) from None
    except RecursionError:
        raise _JsonError("JSON is nested too deeply") from None
    except ValueError:  # e.g. Python's limit on digits in an integer
        raise _JsonError("JSON holds a number that cannot be read") from None


# --- sniffing --------------------------------------------------------------------------------


def looks_like_fhir(path: Path) -> bool:
    """Whether the file's first JSON object is a FHIR resource (has a ``resourceType``).

    Reads at most ``SNIFF_BYTES``. When the first object is longer than that (a long note in
    base64), the first line is searched for a ``"resourceType":`` key instead; an unescaped
    quote cannot occur inside a JSON string, so a note that mentions the word cannot match.
    A file that cannot be read, is empty or does not start with an object is not FHIR.
    """
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return False
    text = head.decode("utf-8", "replace").removeprefix("\ufeff").lstrip()
    if not text.startswith("{"):
        return False
    try:
        first, _ = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return bool(_RESOURCE_TYPE_KEY.search(text.split("\n", 1)[0]))
    return isinstance(first, dict) and isinstance(first.get("resourceType"), str)


# --- reading ---------------------------------------------------------------------------------


def read_fhir(
    path: Path, options: FhirOptions | None = None, stats: FhirReadStats | None = None
) -> Iterator[readers.RawRecord]:
    """Read a FHIR Bundle, single-resource or NDJSON file into raw session records.

    Args:
        path: A ``.json`` file (Bundle or one resource) or an NDJSON file (any other suffix).
        options: Psychotherapy-note handling; ``FhirOptions()`` when None.
        stats: Filled while the records are consumed (skips, ignored types, errors); read it
            after the iterator is exhausted.

    Returns:
        Records with the ``Session`` field names as ``data``, or error records whose
        ``error_code`` is one of ``FHIR_ERROR_CODES_DOC`` (or READ_ERROR, UNEXPECTED_ERROR).

    Raises:
        FileNotFoundError: The path does not exist (raised at the call, before any reading).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    reader = _Reader(_display_path(path), options or FhirOptions(), stats or FhirReadStats())
    return reader.read(path)


class _Reader:
    def __init__(self, source: str, options: FhirOptions, stats: FhirReadStats) -> None:
        self.source = source
        self.options = options
        self.stats = stats

    def error(self, location: str, code: str, message: str) -> readers.RawRecord:
        self.stats.errors += 1
        return readers.RawRecord(self.source, location, error_code=code, message=message)

    def read(self, path: Path) -> Iterator[readers.RawRecord]:
        try:
            if path.suffix.lower() == ".json":
                yield from self._read_document(path.read_bytes())
            else:
                with path.open("rb") as handle:
                    yield from self._read_lines(handle)
        except OSError as error:
            # strerror only ("Permission denied"); str(error) would repeat the path.
            reason = error.strerror or type(error).__name__
            yield self.error("file", "READ_ERROR", f"cannot read: {reason}")

    def _read_document(self, raw: bytes) -> Iterator[readers.RawRecord]:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield self.error("file", "FHIR_INVALID_UTF8", f"not valid UTF-8 (byte {error.start})")
            return
        if not text.strip():
            return
        try:
            document = _parse_json(text)
        except _JsonError as error:
            if error.several_values:  # NDJSON saved as .json
                yield from self._read_lines(raw.splitlines(keepends=True))
            else:
                yield self.error("file", "FHIR_INVALID_JSON", str(error))
            return
        yield from self._read_value(document, "resource", entry_prefix="")

    def _read_lines(self, lines: Iterable[bytes]) -> Iterator[readers.RawRecord]:
        for number, raw in enumerate(lines, start=1):
            location = f"line {number}"
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield self.error(
                    location, "FHIR_INVALID_UTF8", f"not valid UTF-8 (byte {error.start})"
                )
                continue
            if not text.strip():
                continue
            try:
                value = _parse_json(text)
            except _JsonError as error:
                yield self.error(location, "FHIR_INVALID_JSON", str(error))
                continue
            yield from self._read_value(value, location, entry_prefix=f"{location} ")

    def _read_value(
        self, value: Any, location: str, entry_prefix: str
    ) -> Iterator[readers.RawRecord]:
        """One top-level JSON value: a Bundle (expanded) or a single resource."""
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            yield from self._read_bundle(value, location, entry_prefix)
        else:
            yield from self._read_resource(value, location, {})

    def _read_bundle(
        self, bundle: dict[str, Any], location: str, prefix: str
    ) -> Iterator[readers.RawRecord]:
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            yield self.error(location, "FHIR_NOT_A_RESOURCE", "Bundle.entry is not a list")
            return
        # fullUrl -> "Patient/<id>", for subjects given as urn:uuid: references.
        patients: dict[str, str] = {}
        for entry in entries:
            resource = _dict(_dict(entry).get("resource"))
            full_url = _str(_dict(entry).get("fullUrl"))
            resource_id = _str(resource.get("id"))
            if (
                full_url
                and resource.get("resourceType") == "Patient"
                and resource_id
                and _FHIR_ID.fullmatch(resource_id)
            ):
                patients[full_url] = f"Patient/{resource_id}"
        for index, entry in enumerate(entries):
            where = f"{prefix}entry[{index}]"
            if not isinstance(entry, dict):
                yield self.error(where, "FHIR_NOT_A_RESOURCE", "Bundle entry is not an object")
                continue
            if "resource" not in entry:
                self.stats.skipped[SKIP_NO_RESOURCE] += 1
                continue
            yield from self._read_resource(entry["resource"], where, patients)

    def _read_resource(
        self, resource: Any, location: str, patients: dict[str, str]
    ) -> Iterator[readers.RawRecord]:
        self.stats.resources += 1
        if not isinstance(resource, dict):
            kind = type(resource).__name__
            yield self.error(location, "FHIR_NOT_A_RESOURCE", f"expected an object, got {kind}")
            return
        resource_type = resource.get("resourceType")
        if not isinstance(resource_type, str):
            yield self.error(location, "FHIR_NOT_A_RESOURCE", "no string resourceType")
            return
        if resource_type != "DocumentReference":
            name = resource_type if _RESOURCE_TYPE.fullmatch(resource_type) else "<invalid>"
            self.stats.ignored[name] += 1
            return
        self.stats.documents += 1
        resource_id = resource.get("id")
        if isinstance(resource_id, str) and _FHIR_ID.fullmatch(resource_id):
            location = f"{location} (DocumentReference/{resource_id})"
        try:
            data = self._document(resource, patients)
        except _Reject as reject:
            yield self.error(location, reject.code, reject.message)
            return
        except Exception as error:  # a bug must cost one resource, not the file
            logger.error("unexpected %s while reading a FHIR resource", type(error).__name__)
            yield self.error(
                location,
                "UNEXPECTED_ERROR",
                f"reading this resource failed unexpectedly ({type(error).__name__})",
            )
            return
        if data is None:
            return
        self.stats.records += 1
        yield readers.RawRecord(self.source, location, data=data)

    def _document(
        self, resource: dict[str, Any], patients: dict[str, str]
    ) -> dict[str, Any] | None:
        """Session fields of a DocumentReference, or None when it is skipped.

        Raises:
            _Reject: The resource cannot become a session.
        """
        psychotherapy = _is_psychotherapy_note(resource, self.options)
        if psychotherapy and not self.options.include_psychotherapy_notes:
            self.stats.skipped[SKIP_PSYCHOTHERAPY] += 1
            return None
        # Skip rules first: a retracted or replaced note is not ours to judge, valid or not.
        status, doc_status = resource.get("status"), resource.get("docStatus")
        if "entered-in-error" in (status, doc_status):
            self.stats.skipped[SKIP_ENTERED_IN_ERROR] += 1
            return None
        if status == "superseded":
            self.stats.skipped[SKIP_SUPERSEDED] += 1
            return None
        if doc_status == "preliminary":
            self.stats.skipped[SKIP_PRELIMINARY] += 1
            return None
        _validate(resource)
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


# --- one DocumentReference -------------------------------------------------------------------


def _is_psychotherapy_note(resource: dict[str, Any], options: FhirOptions) -> bool:
    labels = [c for c in _list(_dict(resource.get("meta")).get("security")) if isinstance(c, dict)]
    for concept in _list(resource.get("securityLabel")):
        labels.extend(_codings(concept))
    for label in labels:
        system = label.get("system")
        if _str(label.get("code")) in options.psychotherapy_security_codes and (
            system is None or system in ACT_CODE_SYSTEMS
        ):
            return True
    concepts = [resource.get("type"), *_list(resource.get("category"))]
    for concept in concepts:
        texts = [_dict(concept).get("text")]
        for coding in _codings(concept):
            if _str(coding.get("code")) in options.psychotherapy_type_codes:
                return True
            texts.append(coding.get("display"))
        if any(isinstance(t, str) and _PSYCHOTHERAPY_TEXT.search(t) for t in texts):
            return True
    return False


def _name(part: str | int) -> str:
    if isinstance(part, int) or _SAFE_NAME.fullmatch(part):
        return str(part)
    return "<element>"  # a key that is not an identifier may be text: never echo it


def _validate(resource: dict[str, Any]) -> None:
    """Validate against the R4 DocumentReference model (attachment data left to us).

    Raises:
        _Reject: FHIR_INVALID_RESOURCE with element paths and error types only.
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
    if "status" in resource and resource.get("status") not in DOCUMENT_STATUSES:
        problems.append("status: not a DocumentReference status code")
    if "docStatus" in resource and resource.get("docStatus") not in COMPOSITION_STATUSES:
        problems.append("docStatus: not a composition status code")
    if problems:
        more = [f"and {len(problems) - 5} more"] if len(problems) > 5 else []
        raise _Reject("FHIR_INVALID_RESOURCE", "; ".join(problems[:5] + more))


def _without_data(item: object) -> object:
    attachment = _dict(item).get("attachment")
    if not isinstance(attachment, dict) or not isinstance(attachment.get("data"), str):
        return item
    return {**_dict(item), "attachment": {**attachment, "data": ""}}


def _session_id(resource: dict[str, Any]) -> str:
    resource_id = _str(resource.get("id"))
    if resource_id:
        return resource_id
    for identifier in _list(resource.get("identifier")):
        value = _str(_dict(identifier).get("value"))
        if value:
            return value
    raise _Reject("FHIR_MISSING_ID", "DocumentReference has no id and no identifier value")


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
    if len(parts) < 2 or parts[-2] not in types or not _FHIR_ID.fullmatch(parts[-1]):
        return None
    return f"{parts[-2]}/{parts[-1]}"


def _client_id(resource: dict[str, Any], patients: dict[str, str]) -> str:
    reference = _str(_dict(resource.get("subject")).get("reference"))
    if reference is None:
        raise _Reject("FHIR_MISSING_SUBJECT", "subject.reference is missing")
    client = _relative_reference(reference, ("Patient",), patients)
    if client is None:
        raise _Reject("FHIR_BAD_SUBJECT", "subject.reference does not name a Patient by id")
    return client


def _clinician_id(resource: dict[str, Any]) -> str:
    for author in _list(resource.get("author")):
        reference = _str(_dict(author).get("reference"))
        clinician = reference and _relative_reference(reference, CLINICIAN_TYPES)
        if clinician:
            return clinician
    raise _Reject(
        "FHIR_MISSING_AUTHOR", "no author references a Practitioner or PractitionerRole by id"
    )


def _session_date(resource: dict[str, Any]) -> str:
    start = _dict(_dict(resource.get("context")).get("period")).get("start")
    for value in (start, resource.get("date")):
        if isinstance(value, str) and _FULL_DAY.match(value):
            return value[:10]
    raise _Reject("FHIR_MISSING_DATE", "neither context.period.start nor date gives a full day")


def _slug(text: str) -> str:
    return _SLUG_JUNK.sub("-", text.lower()).strip("-")[:NOTE_TYPE_MAX_CHARS].rstrip("-")


def _note_type(concept: object) -> str | None:
    codings = _codings(concept)
    for coding in codings:
        if coding.get("system") == LOINC_SYSTEM:
            display, code = _str(coding.get("display")), _str(coding.get("code"))
            label = (_slug(display) if display else "") or (code or "")
            if label:
                return label[:NOTE_TYPE_MAX_CHARS]
    candidates = [_dict(concept).get("text")]
    for coding in codings:
        candidates += [coding.get("display"), coding.get("code")]
    for candidate in candidates:
        if isinstance(candidate, str) and _slug(candidate):
            return _slug(candidate)
    return None


def _metadata(resource: dict[str, Any], psychotherapy: bool) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for coding in _codings(resource.get("type")):
        code = _str(coding.get("code"))
        if coding.get("system") == LOINC_SYSTEM and code:
            metadata["loinc_code"] = code
            break
    for key, value in (
        ("fhir_status", resource.get("status")),
        ("fhir_doc_status", resource.get("docStatus")),
        ("fhir_version_id", _dict(resource.get("meta")).get("versionId")),
    ):
        if _str(value):
            metadata[key] = value
    encounters = _list(_dict(resource.get("context")).get("encounter"))
    if encounters:
        reference = _str(_dict(encounters[0]).get("reference"))
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
        _Reject: FHIR_NO_TEXT, FHIR_TEXT_NOT_INLINE, FHIR_BAD_BASE64 or FHIR_TEXT_NOT_UTF8.
    """
    url_only = False
    for index, item in enumerate(_list(resource.get("content"))):
        attachment = _dict(_dict(item).get("attachment"))
        media, charset = _media_type(attachment.get("contentType"))
        has_data = isinstance(attachment.get("data"), str)
        if not has_data and attachment.get("url") is not None and media in ("text/plain", None):
            url_only = True
        if media != "text/plain" or not has_data:
            continue
        where = f"content[{index}].attachment"
        if charset is not None and charset not in TEXT_CHARSETS:
            raise _Reject("FHIR_TEXT_NOT_UTF8", f"{where} declares a charset other than UTF-8")
        encoded = "".join(attachment["data"].split())  # line-wrapped base64 is common
        try:
            payload = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _Reject("FHIR_BAD_BASE64", f"{where}.data is not valid base64") from None
        try:
            text = payload.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            raise _Reject(
                "FHIR_TEXT_NOT_UTF8", f"{where}.data is not valid UTF-8 (byte {error.start})"
            ) from None
        if not text.strip():
            raise _Reject("FHIR_NO_TEXT", f"{where} holds no text")
        return text
    if url_only:
        raise _Reject(
            "FHIR_TEXT_NOT_INLINE", "the text is only referenced by a url (never fetched)"
        )
    raise _Reject("FHIR_NO_TEXT", "no content attachment with text/plain data")
