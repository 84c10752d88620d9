"""Reading FHIR files: Bundles, single resources and NDJSON, each DocumentReference a record.

Files:

- A Bundle as one JSON document (any ``Bundle.type``): each ``entry[].resource`` is read.
- A single resource as one JSON document: a lone DocumentReference is read like a one-entry
  Bundle; any other resource type is ignored (counted).
- NDJSON, one resource per line (FHIR bulk-data export, ``.ndjson``); a line holding a Bundle
  is read like a Bundle file. ``looks_like_fhir`` tells such a file from our own JSONL.

A Bundle inside a Bundle is not opened (it is counted as an ignored resource).

A ``.json`` file is read as one document (and as NDJSON when it holds several JSON values);
any other suffix is read as NDJSON, line by line, so a large export is never held in memory.

Each DocumentReference is checked by ``pipeline.ingest.fhir.validation`` (skipped, or rejected
as invalid) and turned into ``Session`` fields by ``pipeline.ingest.fhir.mapping``.

Messages name error codes, element paths and positions, never input values; locations name the
position (``line 7``, ``entry[3]``, ``resource``) and the resource id when it is a valid FHIR id.
The reader never raises on bad content, only ``FileNotFoundError`` for a missing path.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.ingest.fhir.elements import FHIR_ID, as_dict, nonblank_str
from pipeline.ingest.fhir.errors import Reject
from pipeline.ingest.fhir.mapping import session_fields
from pipeline.ingest.fhir.options import FhirOptions
from pipeline.ingest.fhir.stats import SKIP_NO_RESOURCE, SKIP_PSYCHOTHERAPY, FhirReadStats
from pipeline.ingest.fhir.validation import (
    is_psychotherapy_note,
    status_skip_reason,
    validate_document,
)
from pipeline.ingest.records import RawRecord, display_path, read_error_message

# The package's name, not this module's: log lines name the FHIR reader as before the split.
logger = logging.getLogger("pipeline.ingest.fhir")

SNIFF_BYTES = 1 << 20

_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_RESOURCE_TYPE_KEY = re.compile(r'"resourceType"\s*:\s*"')


class _JsonError(ValueError):
    """Text-free JSON failure; ``several_values`` when valid JSON is followed by more."""

    def __init__(self, message: str, several_values: bool = False) -> None:
        super().__init__(message)
        self.several_values = several_values


def _parse_json(text: str) -> Any:
    """``json.loads`` whose every failure is a ``_JsonError`` without input text in it.

    Unlike the JSONL reader's, the message names the line of a multi-line document, and the
    error tells "Extra data" (NDJSON saved as ``.json``) apart.
    """
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
) -> Iterator[RawRecord]:
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
    reader = _Reader(display_path(path), options or FhirOptions(), stats or FhirReadStats())
    return reader.read(path)


class _Reader:
    def __init__(self, source: str, options: FhirOptions, stats: FhirReadStats) -> None:
        self.source = source
        self.options = options
        self.stats = stats

    def error(self, location: str, code: str, message: str) -> RawRecord:
        self.stats.errors += 1
        return RawRecord(self.source, location, error_code=code, message=message)

    def read(self, path: Path) -> Iterator[RawRecord]:
        try:
            if path.suffix.lower() == ".json":
                yield from self._read_document(path.read_bytes())
            else:
                with path.open("rb") as handle:
                    yield from self._read_lines(handle)
        except OSError as error:
            yield self.error("file", "READ_ERROR", read_error_message(error))

    def _read_document(self, raw: bytes) -> Iterator[RawRecord]:
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

    def _read_lines(self, lines: Iterable[bytes]) -> Iterator[RawRecord]:
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

    def _read_value(self, value: Any, location: str, entry_prefix: str) -> Iterator[RawRecord]:
        """One top-level JSON value: a Bundle (expanded) or a single resource."""
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            yield from self._read_bundle(value, location, entry_prefix)
        else:
            yield from self._read_resource(value, location, {})

    def _read_bundle(
        self, bundle: dict[str, Any], location: str, prefix: str
    ) -> Iterator[RawRecord]:
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            yield self.error(location, "FHIR_NOT_A_RESOURCE", "Bundle.entry is not a list")
            return
        # fullUrl -> "Patient/<id>", for subjects given as urn:uuid: references.
        patients: dict[str, str] = {}
        for entry in entries:
            resource = as_dict(as_dict(entry).get("resource"))
            full_url = nonblank_str(as_dict(entry).get("fullUrl"))
            resource_id = nonblank_str(resource.get("id"))
            if (
                full_url
                and resource.get("resourceType") == "Patient"
                and resource_id
                and FHIR_ID.fullmatch(resource_id)
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
    ) -> Iterator[RawRecord]:
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
        if isinstance(resource_id, str) and FHIR_ID.fullmatch(resource_id):
            location = f"{location} (DocumentReference/{resource_id})"
        try:
            data = self._document(resource, patients)
        except Reject as reject:
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
        yield RawRecord(self.source, location, data=data)

    def _document(
        self, resource: dict[str, Any], patients: dict[str, str]
    ) -> dict[str, Any] | None:
        """Session fields of a DocumentReference, or None when it is skipped.

        Raises:
            Reject: The resource cannot become a session.
        """
        psychotherapy = is_psychotherapy_note(resource, self.options)
        if psychotherapy and not self.options.include_psychotherapy_notes:
            self.stats.skipped[SKIP_PSYCHOTHERAPY] += 1
            return None
        # Skip rules first: a retracted or replaced note is not ours to judge, valid or not.
        skip_reason = status_skip_reason(resource)
        if skip_reason:
            self.stats.skipped[skip_reason] += 1
            return None
        validate_document(resource)
        return session_fields(resource, patients, psychotherapy)
