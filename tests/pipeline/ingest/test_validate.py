from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.ingest import ingest_paths
from pipeline.ingest.readers import RawRecord
from pipeline.ingest.validate import ingest_records, validate_record

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
VALID = {
    "session_id": "s-1",
    "client_id": "c",
    "clinician_id": "t",
    "session_date": "2026-03-02",
    "note": "D: CANARYWORD reported.",
}


def _raw(data) -> RawRecord:
    return RawRecord("src", "line 1", data=data)


def test_validate_bad_fixture_batch_quarantines_each_bad_line():
    result = ingest_paths([FIXTURES / "bad_sessions.jsonl"], IngestConfig())
    assert [s.session_id for _, s in result.sessions] == ["s-901", "s-905", "s-909"]
    codes = {q.location: q.error_code for q in result.quarantined}
    assert len(codes) == 10
    assert codes["line 2"] == "INVALID_JSON"
    assert set(codes.values()) >= {
        "INVALID_JSON",
        "NOT_AN_OBJECT",
        "MISSING_FIELD",
        "BODY_CONFLICT",
        "UNKNOWN_FIELD",
        "INVALID_FIELD",
    }


def test_validate_messages_carry_no_note_text():
    bad = {**VALID, "patient_name": "CANARYWORD", "session_date": "CANARYWORD"}
    outcome = validate_record(_raw(bad), IngestConfig())
    assert "CANARYWORD" not in outcome.model_dump_json()


def test_validate_note_size_limit():
    outcome = validate_record(_raw({**VALID, "note": "x" * 50}), IngestConfig(max_note_bytes=10))
    assert outcome.error_code == "NOTE_TOO_LARGE"


def test_validate_conflicting_duplicate_is_quarantined_exact_repeat_is_dropped():
    records = [_raw(VALID), _raw(VALID), _raw({**VALID, "note": "different"})]
    result = ingest_records(records, IngestConfig())
    assert len(result.sessions) == 1
    assert [q.error_code for q in result.quarantined] == ["DUPLICATE_ID_CONFLICT"]


def test_validate_blank_ids_and_numeric_dates_are_rejected():
    assert validate_record(_raw({**VALID, "client_id": "  "}), IngestConfig()).error_code
    assert validate_record(_raw({**VALID, "session_date": 20260302}), IngestConfig()).error_code
