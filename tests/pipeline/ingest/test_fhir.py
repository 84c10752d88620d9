import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest.fhir import (
    FHIR_ERROR_CODES_DOC,
    SKIP_REASONS,
    FhirOptions,
    FhirReadStats,
    looks_like_fhir,
    read_fhir,
)
from pipeline.ingest.fhir import mapping as fhir_mapping
from pipeline.ingest.fhir import reader as fhir_reader
from pipeline.ingest.validate import validate_record
from pipeline.schemas import Session

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
FHIR_DIR = FIXTURES / "fhir"
CANARY = "CANARYWORD"
NOTE = f"D: Client said {CANARY} twice.\nA: Engaged and open.\nP: Continue weekly."
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DROP = object()


def b64(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def doc(**changes: Any) -> dict[str, Any]:
    """A valid DocumentReference; ``key=DROP`` removes an element."""
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": "dr-1",
        "status": "current",
        "docStatus": "final",
        "type": {
            "coding": [
                {"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}
            ]
        },
        "subject": {"reference": "Patient/p-1"},
        "date": "2026-03-02T23:00:00Z",
        "author": [{"reference": "Practitioner/t-7"}],
        "content": [
            {"attachment": {"contentType": "text/plain; charset=utf-8", "data": b64(NOTE)}}
        ],
        "context": {"period": {"start": "2026-03-02T21:00:00-05:00"}},
    }
    resource.update(changes)
    return {k: v for k, v in resource.items() if v is not DROP}


def attachment(**fields: Any) -> list[dict[str, Any]]:
    return [{"attachment": fields}]


def read(tmp_path: Path, *resources: Any, options: FhirOptions | None = None, name="x.ndjson"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    stats = FhirReadStats()
    return list(read_fhir(path, options, stats)), stats


def _fixture_note(path: Path, doc_id: str) -> str:
    if path.suffix == ".json":
        resources = [e["resource"] for e in json.loads(path.read_text())["entry"]]
    else:
        resources = [json.loads(line) for line in path.read_text().splitlines()[:4]]
    (resource,) = [r for r in resources if r.get("id") == doc_id]
    return base64.b64decode(resource["content"][-1]["attachment"]["data"]).decode("utf-8")


# --- the fixtures ----------------------------------------------------------------------------


def test_fhir_bundle_maps_every_field():
    records = {r.data["session_id"]: r for r in read_fhir(FHIR_DIR / "bundle.json") if r.data}
    first = records["dr-101-1"]
    assert first.location == "entry[2] (DocumentReference/dr-101-1)"
    assert first.data == {
        "session_id": "dr-101-1",
        "client_id": "Patient/pt-101",
        "clinician_id": "Practitioner/pr-7",
        "session_date": "2026-02-02",
        "note_type": "progress-note",
        "metadata": {
            "loinc_code": "11506-3",
            "fhir_status": "current",
            "fhir_doc_status": "final",
            "fhir_encounter": "Encounter/enc-101-1",
        },
        "note": _fixture_note(FHIR_DIR / "bundle.json", "dr-101-1"),
    }
    # No context.period: the day of `date`; an amended version keeps its version id.
    assert records["dr-101-2"].data["session_date"] == "2026-02-09"
    assert records["dr-101-2"].data["metadata"]["fhir_doc_status"] == "amended"
    assert records["dr-101-2"].data["metadata"]["fhir_version_id"] == "2"
    # A PDF rendition listed first: the text/plain content is the note.
    assert records["dr-101-3"].data["note"].startswith("D: Client arrived on time")
    # A mental-health progress note belongs to the record: read, not skipped.
    assert records["dr-102-1"].data["note_type"] == "mental-health-progress-note"
    assert records["dr-102-1"].data["metadata"]["loinc_code"] == "34904-3"
    # Subject by urn:uuid resolved through the Bundle; an Organization author passed over.
    assert records["dr-102-2"].data["client_id"] == "Patient/pt-102"
    assert records["dr-102-2"].data["clinician_id"] == "Practitioner/pr-8"
    assert records["dr-102-3"].data["note"].startswith("S: Client said he missed")


def test_fhir_bundle_skips_and_errors_are_counted():
    stats = FhirReadStats()
    records = list(read_fhir(FHIR_DIR / "bundle.json", stats=stats))
    errors = [(r.location, r.error_code) for r in records if r.error_code]
    assert errors == [
        ("entry[10] (DocumentReference/dr-bad-1)", "FHIR_NO_TEXT"),
        ("entry[11] (DocumentReference/dr-bad-2)", "FHIR_BAD_BASE64"),
    ]
    assert stats.as_dict() == {
        "resources": 12,
        "documents": 10,
        "records": 6,
        "errors": 2,
        "skipped": {"entered_in_error": 1, "psychotherapy_note": 1},
        "ignored": {"Patient": 2},
    }
    assert {r.data["session_id"] for r in records if r.data}.isdisjoint({"dr-101-p", "dr-102-x"})


def test_fhir_ndjson_fixture_reads_line_by_line():
    stats = FhirReadStats()
    records = list(read_fhir(FHIR_DIR / "notes.ndjson", stats=stats))
    assert [(r.location, r.error_code) for r in records] == [
        ("line 2 (DocumentReference/dr-103-1)", None),
        ("line 3 (DocumentReference/dr-103-2)", None),
        ("line 4 (DocumentReference/dr-103-3)", None),
        ("line 5", "FHIR_INVALID_JSON"),
        ("line 9 (DocumentReference/dr-bad-3)", "FHIR_TEXT_NOT_INLINE"),
    ]
    assert records[0].data["note"] == _fixture_note(FHIR_DIR / "notes.ndjson", "dr-103-1")
    assert stats.skipped == {"psychotherapy_note": 1, "superseded": 1, "preliminary": 1}
    assert stats.ignored == {"Patient": 1}
    assert (stats.records, stats.errors) == (3, 2)


def test_fhir_fixture_records_validate_into_sessions():
    for name in ("bundle.json", "notes.ndjson"):
        for record in read_fhir(FHIR_DIR / name):
            outcome = validate_record(record, IngestConfig())
            if record.error_code:
                assert outcome.error_code == record.error_code
            else:
                assert isinstance(outcome, Session), (name, record.location, outcome)
                assert outcome.kind == "note"


def test_fhir_make_fhir_reproduces_the_fixtures(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, str(FHIR_DIR / "make_fhir.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for name in ("bundle.json", "notes.ndjson"):
        assert (tmp_path / name).read_bytes() == (FHIR_DIR / name).read_bytes(), name


# --- psychotherapy notes and status rules ----------------------------------------------------

PSYTHPN = {"system": ACT_CODE, "code": "PSYTHPN"}


@pytest.mark.parametrize(
    ("changes", "options"),
    [
        ({"meta": {"security": [PSYTHPN]}}, None),
        ({"meta": {"security": [{"code": "PSYTHPN"}]}}, None),  # no system: still the label
        ({"securityLabel": [{"coding": [PSYTHPN]}]}, None),
        ({"type": {"text": "Psychotherapy Note"}}, None),
        ({"type": {"coding": [{"system": "urn:local", "display": "psychotherapy notes"}]}}, None),
        ({"category": [{"text": "Psychotherapy note"}]}, None),
        (
            {"type": {"coding": [{"system": "urn:local", "code": "PN-1"}]}},
            FhirOptions(psychotherapy_type_codes=frozenset({"PN-1"})),
        ),
        (
            {"meta": {"security": [{"system": ACT_CODE, "code": "PSY"}]}},
            FhirOptions(psychotherapy_security_codes=frozenset({"PSY", "PSYTHPN"})),
        ),
    ],
)
def test_fhir_psychotherapy_notes_are_skipped_and_counted(tmp_path: Path, changes, options):
    records, stats = read(tmp_path, doc(**changes), options=options)
    assert records == []
    assert stats.skipped == {"psychotherapy_note": 1}
    assert (stats.documents, stats.records, stats.errors) == (1, 0, 0)


def test_fhir_psychotherapy_notes_are_read_with_the_option(tmp_path: Path):
    options = FhirOptions(include_psychotherapy_notes=True)
    (record,), stats = read(tmp_path, doc(meta={"security": [PSYTHPN]}), options=options)
    assert record.data["metadata"]["psychotherapy_note"] == "true"
    assert isinstance(validate_record(record, IngestConfig()), Session)
    assert not stats.skipped


@pytest.mark.parametrize(
    "changes",
    [
        # Psychiatry sensitivity (PSY) is broader than psychotherapy notes: not by default.
        {"meta": {"security": [{"system": ACT_CODE, "code": "PSY"}]}},
        # PSYTHPN from another code system is not the v3 label.
        {"meta": {"security": [{"system": "urn:local", "code": "PSYTHPN"}]}},
        # Mental-health and psychology progress notes are part of the medical record.
        {"type": {"coding": [{"system": "http://loinc.org", "code": "34904-3"}]}},
        {"type": {"coding": [{"system": "http://loinc.org", "code": "11510-5"}]}},
        {"description": "psychotherapy note kept separately"},  # free text is not a type
    ],
)
def test_fhir_record_notes_are_not_taken_for_psychotherapy_notes(tmp_path: Path, changes):
    (record,), stats = read(tmp_path, doc(**changes))
    assert record.data and not stats.skipped


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "entered-in-error"}, "entered_in_error"),
        ({"docStatus": "entered-in-error"}, "entered_in_error"),
        ({"status": "superseded"}, "superseded"),
        ({"docStatus": "preliminary"}, "preliminary"),
        # Skipped before validation: a retracted note is not reported as broken.
        ({"status": "entered-in-error", "content": []}, "entered_in_error"),
    ],
)
def test_fhir_status_rules_skip_with_a_count(tmp_path: Path, changes, reason):
    records, stats = read(tmp_path, doc(**changes))
    assert records == []
    assert stats.skipped == {reason: 1}
    assert reason in SKIP_REASONS


def test_fhir_amended_and_status_only_documents_are_read(tmp_path: Path):
    records, _ = read(tmp_path, doc(docStatus="amended"), doc(id="dr-2", docStatus=DROP))
    assert [r.data["metadata"].get("fhir_doc_status") for r in records] == ["amended", None]


# --- mapping details -------------------------------------------------------------------------


def test_fhir_mapping_fallbacks_and_reference_forms(tmp_path: Path):
    records, _ = read(
        tmp_path,
        # No id: the identifier value; absolute references with a version are cut to Type/id.
        doc(
            id=DROP,
            identifier=[{"system": "urn:ehr"}, {"system": "urn:ehr", "value": "note-77"}],
            subject={"reference": "https://ehr.example.org/fhir/Patient/p-9/_history/3"},
            author=[{"reference": "#contained"}, {"reference": "PractitionerRole/r-2"}],
            context=DROP,
            type={"text": "Individual Therapy Progress Note"},
        ),
        # Partial context date: the day of `date`; a LOINC code without display; no type at all.
        doc(
            id="dr-2",
            context={"period": {"start": "2026-03"}},
            type={"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        ),
        doc(id="dr-3", type=DROP),
    )
    first, second, third = (r.data for r in records)
    assert first["session_id"] == "note-77"
    assert first["client_id"] == "Patient/p-9"
    assert first["clinician_id"] == "PractitionerRole/r-2"
    assert first["session_date"] == "2026-03-02"  # the instant's day, as written
    assert first["note_type"] == "individual-therapy-progress-note"
    assert "loinc_code" not in first["metadata"]
    assert second["session_date"] == "2026-03-02"
    assert second["note_type"] == "11506-3"
    assert "note_type" not in third
    # The local day of a late-evening session is kept (not shifted to the UTC day).
    assert records[2].data["session_date"] == "2026-03-02"


def test_fhir_text_details(tmp_path: Path):
    records, _ = read(
        tmp_path,
        # Line-wrapped base64 and a byte order mark are accepted.
        doc(
            content=attachment(
                contentType="text/plain",
                data=b64("\ufeffD: ok.")[:8] + "\n" + b64("\ufeffD: ok.")[8:],
            )
        ),
        # A broken PDF next to the text does not reject the note (only the text is decoded).
        doc(
            id="dr-2",
            content=[
                {"attachment": {"contentType": "application/pdf", "data": "%%%not base64"}},
                {"attachment": {"contentType": 'TEXT/PLAIN; Charset="UTF-8"', "data": b64(NOTE)}},
            ],
        ),
    )
    assert [r.error_code for r in records] == [None, None]
    assert records[0].data["note"] == "D: ok."
    assert records[1].data["note"] == NOTE


# --- bad resources: one error code each, never text in messages ------------------------------

BAD_RESOURCES = [
    ("FHIR_NO_TEXT", {"content": attachment(contentType="application/pdf", data=b64(NOTE))}),
    ("FHIR_NO_TEXT", {"content": []}),
    ("FHIR_NO_TEXT", {"content": attachment(contentType="text/plain", data=b64("  \n"))}),
    ("FHIR_NO_TEXT", {"content": attachment(data=b64(NOTE))}),  # no contentType: not text
    ("FHIR_TEXT_NOT_INLINE", {"content": attachment(contentType="text/plain", url="Binary/1")}),
    ("FHIR_TEXT_NOT_INLINE", {"content": attachment(url=f"https://x.example/{CANARY}")}),
    ("FHIR_BAD_BASE64", {"content": attachment(contentType="text/plain", data=f"{CANARY}!!")}),
    ("FHIR_BAD_BASE64", {"content": attachment(contentType="text/plain", data=b64(NOTE)[:-1])}),
    (
        "FHIR_TEXT_NOT_UTF8",
        {"content": attachment(contentType="text/plain", data=b64(NOTE.encode("utf-16")))},
    ),
    (
        "FHIR_TEXT_NOT_UTF8",
        {"content": attachment(contentType="text/plain; charset=iso-8859-1", data=b64(NOTE))},
    ),
    ("FHIR_MISSING_SUBJECT", {"subject": DROP}),
    ("FHIR_MISSING_SUBJECT", {"subject": {"display": CANARY}}),
    ("FHIR_BAD_SUBJECT", {"subject": {"reference": f"Group/{CANARY}"}}),
    (
        "FHIR_BAD_SUBJECT",
        {"subject": {"reference": "urn:uuid:0e4a3d5c-1111-4a2b-9c3d-123456789abc"}},
    ),
    ("FHIR_MISSING_AUTHOR", {"author": DROP}),
    ("FHIR_MISSING_AUTHOR", {"author": [{"reference": "Organization/o-1"}, {"display": CANARY}]}),
    ("FHIR_MISSING_DATE", {"date": DROP, "context": DROP}),
    ("FHIR_MISSING_DATE", {"date": DROP, "context": {"period": {"start": "2026"}}}),
    ("FHIR_MISSING_ID", {"id": DROP}),
    ("FHIR_INVALID_RESOURCE", {CANARY: CANARY}),  # an unknown element: its name is input too
    ("FHIR_INVALID_RESOURCE", {"description": [CANARY]}),
    ("FHIR_INVALID_RESOURCE", {"date": CANARY}),
    ("FHIR_INVALID_RESOURCE", {"date": "2026-03-02T10:00:00"}),  # an instant needs a zone
    ("FHIR_INVALID_RESOURCE", {"status": CANARY}),
    ("FHIR_INVALID_RESOURCE", {"docStatus": CANARY}),
    ("FHIR_INVALID_RESOURCE", {"status": DROP}),
    ("FHIR_INVALID_RESOURCE", {"status": [CANARY]}),  # unhashable: was UNEXPECTED_ERROR
    ("FHIR_INVALID_RESOURCE", {"docStatus": {"code": CANARY}}),
    ("FHIR_INVALID_RESOURCE", {"content": attachment(contentType="text/plain", data=[CANARY])}),
    ("FHIR_INVALID_RESOURCE", {"subject": {"reference": 5}, "id": f"bad id {CANARY}"}),
]


@pytest.mark.parametrize(("code", "changes"), BAD_RESOURCES)
def test_fhir_bad_resources_get_their_code_and_no_text(tmp_path: Path, code, changes):
    (record,), stats = read(tmp_path, doc(**changes))
    assert record.error_code == code, record.message
    assert code in FHIR_ERROR_CODES_DOC
    assert record.data is None and record.message
    assert CANARY not in record.message and CANARY not in record.location
    assert "D: Client" not in record.message
    assert stats.errors == 1
    quarantined = validate_record(record, IngestConfig())
    assert quarantined.error_code == code


def test_fhir_invalid_resource_message_names_elements(tmp_path: Path):
    (record,), _ = read(tmp_path, doc(description=5, status="final", extra_thing=1))
    assert record.error_code == "FHIR_INVALID_RESOURCE"
    assert "description: string_type" in record.message
    assert "<unknown element>" in record.message and "extra_thing" not in record.message
    assert "status: not a DocumentReference status code" in record.message


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b'{"resourceType": "Bundle", "entry": [', "b.json", [("file", "FHIR_INVALID_JSON")]),
        (b'\xff{"resourceType": "Bundle"}', "b.json", [("file", "FHIR_INVALID_UTF8")]),
        (b"[1, 2]", "b.json", [("resource", "FHIR_NOT_A_RESOURCE")]),
        (b'{"id": "x"}\n', "x.ndjson", [("line 1", "FHIR_NOT_A_RESOURCE")]),
        (
            b'"text"\n\xff\xfe\n',
            "x.ndjson",
            [("line 1", "FHIR_NOT_A_RESOURCE"), ("line 2", "FHIR_INVALID_UTF8")],
        ),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", "x.ndjson", [("line 1", "FHIR_INVALID_JSON")]),
        (
            b'{"resourceType": "Bundle", "entry": {}}',
            "b.json",
            [("resource", "FHIR_NOT_A_RESOURCE")],
        ),
        (
            b'{"resourceType": "Bundle", "entry": [3, {"resource": 4}, {"request": {}}]}',
            "b.json",
            [("entry[0]", "FHIR_NOT_A_RESOURCE"), ("entry[1]", "FHIR_NOT_A_RESOURCE")],
        ),
        (b"", "b.json", []),
        (b"\n\n", "x.ndjson", []),
    ],
)
def test_fhir_bad_files_and_lines_never_raise(tmp_path: Path, content, name, expected):
    path = tmp_path / name
    path.write_bytes(content)
    stats = FhirReadStats()
    records = list(read_fhir(path, stats=stats))
    assert [(r.location, r.error_code) for r in records] == expected
    assert stats.errors == len(expected)


def test_fhir_entry_without_resource_and_other_types_are_counted(tmp_path: Path):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "DELETE", "url": "DocumentReference/old"}},
            {"resource": {"resourceType": "Encounter", "id": "e-1"}},
            {"resource": {"resourceType": "Bundle", "type": "collection"}},  # nested: not read
            {"resource": {"resourceType": f"not a type {CANARY}"}},
            {"resource": doc()},
        ],
    }
    records, stats = read(tmp_path, bundle, name="b.json")
    assert [r.location for r in records] == ["entry[4] (DocumentReference/dr-1)"]
    assert stats.skipped == {"entry_without_resource": 1}
    assert stats.ignored == {"Encounter": 1, "Bundle": 1, "<invalid>": 1}
    assert CANARY not in json.dumps(stats.as_dict())


# --- file forms ------------------------------------------------------------------------------


def test_fhir_single_resource_files(tmp_path: Path):
    (record,), stats = read(tmp_path, doc(), name="one.json")
    assert record.location == "resource (DocumentReference/dr-1)"
    assert record.data["note"] == NOTE
    assert isinstance(validate_record(record, IngestConfig()), Session)
    records, stats = read(tmp_path, {"resourceType": "Patient", "id": "p-1"}, name="p.json")
    assert records == [] and stats.ignored == {"Patient": 1}


def test_fhir_pretty_bundle_ndjson_bundle_lines_and_ndjson_saved_as_json(tmp_path: Path):
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": doc()}]}
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(bundle, indent=2))
    assert [r.location for r in read_fhir(pretty)] == ["entry[0] (DocumentReference/dr-1)"]
    # A Bundle on an NDJSON line is expanded; several lines in a .json file are NDJSON.
    records, _ = read(tmp_path, bundle, doc(id="dr-2"), name="two.json")
    assert [r.location for r in records] == [
        "line 1 entry[0] (DocumentReference/dr-1)",
        "line 2 (DocumentReference/dr-2)",
    ]


def test_fhir_stats_add_up_across_files(tmp_path: Path):
    stats = FhirReadStats()
    for name in ("bundle.json", "notes.ndjson"):
        list(read_fhir(FHIR_DIR / name, stats=stats))
    assert (stats.records, stats.errors, stats.skipped["psychotherapy_note"]) == (9, 4, 2)


def test_fhir_missing_path_raises_and_unreadable_file_is_an_error(tmp_path: Path, monkeypatch):
    with pytest.raises(FileNotFoundError):
        read_fhir(tmp_path / "nope.ndjson")  # at the call, like read_path
    path = tmp_path / "x.ndjson"
    path.write_text(json.dumps(doc()) + "\n")

    def deny(self: Path, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", deny)
    (record,) = read_fhir(path)
    assert (record.location, record.error_code) == ("file", "READ_ERROR")
    assert "Permission denied" in record.message and str(tmp_path) not in record.message


def test_fhir_unexpected_error_costs_one_resource(tmp_path: Path, monkeypatch):
    real = fhir_mapping._session_date

    def flaky(resource):
        if resource.get("id") == "dr-1":
            raise RuntimeError(CANARY)
        return real(resource)

    monkeypatch.setattr(fhir_mapping, "_session_date", flaky)
    records, _ = read(tmp_path, doc(), doc(id="dr-2"))
    assert [r.error_code for r in records] == ["UNEXPECTED_ERROR", None]
    assert CANARY not in records[0].message and "RuntimeError" in records[0].message


# --- sniffing --------------------------------------------------------------------------------


def test_fhir_looks_like_fhir(tmp_path: Path, monkeypatch):
    assert looks_like_fhir(FHIR_DIR / "notes.ndjson")
    assert looks_like_fhir(FHIR_DIR / "bundle.json")  # pretty-printed: first object parsed
    assert not looks_like_fhir(FIXTURES / "sessions.jsonl")
    assert not looks_like_fhir(FIXTURES / "bad_sessions.jsonl")
    assert not looks_like_fhir(tmp_path / "missing.ndjson")
    cases = {
        "empty.ndjson": b"",
        "array.ndjson": b'[{"resourceType": "Patient"}]\n',
        "mention.jsonl": json.dumps(
            {"session_id": "s", "note": 'said "resourceType": "x"'}
        ).encode()
        + b"\n",
        "bom.ndjson": b'\xef\xbb\xbf\n  {"resourceType": "Patient", "id": "p"}\n',
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    assert [looks_like_fhir(tmp_path / name) for name in cases] == [False, False, False, True]
    # A first line longer than the sniffed head is searched for the key.
    monkeypatch.setattr(fhir_reader, "SNIFF_BYTES", 200)
    long_line = tmp_path / "long.ndjson"
    long_line.write_text(json.dumps(doc()) + "\n")
    assert looks_like_fhir(long_line)
    long_jsonl = tmp_path / "long.jsonl"
    long_jsonl.write_text(json.dumps({"session_id": "s", "note": "resourceType " * 50}) + "\n")
    assert not looks_like_fhir(long_jsonl)
