import shutil
from pathlib import Path

import pytest

from pipeline.ingest.dispatch import read_path
from pipeline.ingest.fhir import FhirOptions, FhirReadStats, read_fhir
from pipeline.ingest.readers import read_csv, read_folder, read_jsonl

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
FHIR_DIR = FIXTURES / "fhir"


def test_dispatch_unsupported_path_and_missing_path(tmp_path: Path):
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(ValueError, match="unsupported input"):
        read_path(tmp_path / "x.xml")
    with pytest.raises(FileNotFoundError):
        read_path(tmp_path / "nope.jsonl")


def test_dispatch_our_formats_go_to_their_readers():
    assert list(read_path(FIXTURES / "sessions.jsonl")) == list(
        read_jsonl(FIXTURES / "sessions.jsonl")
    )
    assert list(read_path(FIXTURES / "sessions.csv")) == list(read_csv(FIXTURES / "sessions.csv"))
    folder = FIXTURES / "sessions_folder"
    assert list(read_path(folder)) == list(read_folder(folder))


def test_dispatch_fhir_by_suffix_or_by_content(tmp_path: Path):
    bundle, ndjson = FHIR_DIR / "bundle.json", FHIR_DIR / "notes.ndjson"
    assert list(read_path(bundle)) == list(read_fhir(bundle))
    assert list(read_path(ndjson)) == list(read_fhir(ndjson))
    # The suffix .jsonl/.ndjson alone does not decide: the first object does.
    export, ours = tmp_path / "export.jsonl", tmp_path / "ours.ndjson"
    shutil.copy(ndjson, export)
    shutil.copy(FIXTURES / "sessions.jsonl", ours)
    assert list(read_path(export)) == list(read_fhir(export))
    assert list(read_path(ours)) == list(read_jsonl(ours))
    assert all(record.error_code is None for record in read_path(ours))


def test_dispatch_passes_fhir_options_and_stats():
    ndjson = FHIR_DIR / "notes.ndjson"
    options = FhirOptions(include_psychotherapy_notes=True)
    stats, expected = FhirReadStats(), FhirReadStats()
    records = list(read_path(ndjson, options, stats))
    assert records == list(read_fhir(ndjson, options, expected))
    assert stats == expected and stats.records
