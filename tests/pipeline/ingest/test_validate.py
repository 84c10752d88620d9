import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import ingest_paths, validate
from pipeline.ingest.records import RawRecord
from pipeline.ingest.validate import (
    ERROR_CODES_DOC,
    error_codes_table,
    ingest_records,
    validate_record,
)
from pipeline.schemas import Quarantined, Session

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
VALID = {
    "session_id": "s-1",
    "client_id": "c",
    "clinician_id": "t",
    "session_date": "2026-03-02",
    "note": "D: CANARYWORD reported.",
}
TRANSCRIPT = {k: v for k, v in VALID.items() if k != "note"} | {
    "turns": [{"speaker": "clinician", "text": "How was it?"}, {"speaker": "client", "text": "Ok."}]
}
TODAY = dt.date(2026, 6, 1)
CANARY = "CANARYWORD"


def _raw(data) -> RawRecord:
    return RawRecord("src", "line 1", data=data)


def test_validate_bad_fixture_batch_quarantines_each_bad_line():
    result = ingest_paths([FIXTURES / "bad_sessions.jsonl"], IngestConfig(), today=TODAY)
    assert [s.session_id for _, s in result.sessions] == ["s-901", "s-905", "s-909"]
    codes = {q.location: q.error_code for q in result.quarantined}
    # One code per defect in data/fixtures/README.md's table.
    assert codes == {
        "line 2": "INVALID_JSON",
        "line 3": "NOT_AN_OBJECT",
        "line 4": "MISSING_FIELD",
        "line 6": "EMPTY_FIELD",
        "line 7": "BODY_CONFLICT",
        "line 8": "BODY_CONFLICT",
        "line 10": "UNKNOWN_SPEAKER",
        "line 11": "INVALID_DATE",
        "line 12": "WRONG_TYPE",
        "line 13": "UNKNOWN_FIELD",
    }
    assert "Client A" not in " ".join(q.message for q in result.quarantined)


def test_validate_messages_carry_no_note_text():
    bad = {**VALID, "patient_name": "CANARYWORD", "session_date": "CANARYWORD"}
    outcome = validate_record(_raw(bad), IngestConfig())
    assert "CANARYWORD" not in outcome.model_dump_json()


def test_validate_note_size_limit():
    limits = IngestConfig(max_note_bytes=10)
    assert validate_record(_raw({**VALID, "note": "x" * 50}), limits).error_code == "NOTE_TOO_LARGE"
    assert validate_record(_raw({**VALID, "note": "é" * 6}), limits).error_code == "NOTE_TOO_LARGE"
    assert isinstance(validate_record(_raw({**VALID, "note": "x" * 10}), limits), Session)


def test_validate_conflicting_duplicate_is_quarantined_exact_repeat_is_dropped():
    records = [_raw(VALID), _raw(VALID), _raw({**VALID, "note": "different"})]
    result = ingest_records(records, IngestConfig())
    assert len(result.sessions) == 1
    assert [q.error_code for q in result.quarantined] == ["DUPLICATE_ID_CONFLICT"]
    assert result.repeats == [("src", "line 1")]


def test_validate_blank_ids_and_numeric_dates_are_rejected():
    outcome = validate_record(_raw({**VALID, "client_id": "  "}), IngestConfig())
    assert outcome.error_code == "EMPTY_FIELD"
    outcome = validate_record(_raw({**VALID, "session_date": 20260302}), IngestConfig())
    assert outcome.error_code == "WRONG_TYPE"


def _without(record: dict, key: str) -> dict:
    return {k: v for k, v in record.items() if k != key}


BAD_RECORDS = {
    # missing or empty ids and fields
    "MISSING_FIELD": [
        _without(VALID, "client_id"),
        {**TRANSCRIPT, "turns": [{"speaker": "client"}]},
    ],
    "EMPTY_FIELD": [
        {**VALID, "session_id": ""},
        {**VALID, "clinician_id": " \t "},
        {**VALID, "note": " \n "},
        {**TRANSCRIPT, "turns": []},
        {**TRANSCRIPT, "turns": [{"speaker": "client", "text": "  "}]},
    ],
    # wrong types
    "WRONG_TYPE": [
        {**VALID, "note": 12345678},
        {**TRANSCRIPT, "turns": "clinician: CANARYWORD"},
        {**TRANSCRIPT, "turns": ["CANARYWORD"]},
        {**VALID, "metadata": {"modality": 50}},
        {**VALID, "metadata": ["CANARYWORD"]},
        {**VALID, "session_id": 17},
        {**VALID, "session_number": "3"},
        {**VALID, "session_number": True},
        {**VALID, "session_number": 3.0},
        {**VALID, "session_date": 20260302},
    ],
    "INVALID_FIELD": [{**VALID, "session_number": -1}, {**VALID, "session_number": 10**30}],
    "FIELD_TOO_LONG": [
        {**VALID, "session_id": "s" * 201},
        {**VALID, "note_type": "CANARYWORD" * 11},
        {**VALID, "metadata": {"comment": "CANARYWORD" * 101}},
    ],
    "UNKNOWN_FIELD": [
        {**VALID, "patient_name": CANARY},
        {**VALID, "CANARYWORD lives at 5 Elm St": "x"},
        {**TRANSCRIPT, "turns": [{"speaker": "client", "text": "Hi.", "tone": CANARY}]},
    ],
    # both or neither body
    "BODY_CONFLICT": [{**VALID, "turns": TRANSCRIPT["turns"]}, _without(VALID, "note")],
    "UNKNOWN_SPEAKER": [{**TRANSCRIPT, "turns": [{"speaker": CANARY, "text": "Hi."}]}],
    # impossible dates
    "INVALID_DATE": [
        {**VALID, "session_date": "2026-02-30"},
        {**VALID, "session_date": "1899-12-31"},
        {**VALID, "session_date": "0026-03-02"},
        {**VALID, "session_date": CANARY},
        {**VALID, "session_date": "2026-03-02TCANARYWORD"},
        {**VALID, "session_date": "03/02/2026"},
    ],
    "FUTURE_DATE": [
        {**VALID, "session_date": "2026-06-03"},
        {**VALID, "session_date": "9999-12-31"},
    ],
    "NOTE_TOO_LARGE": [
        {**VALID, "note": CANARY * 30_000},
        {**TRANSCRIPT, "turns": [{"speaker": "client", "text": CANARY * 1_000}] * 21},
    ],
    "TOO_MANY_TURNS": [{**TRANSCRIPT, "turns": [{"speaker": "client", "text": "Hi."}] * 2_001}],
    # control-character junk
    "CONTROL_CHARACTERS": [
        {**VALID, "note": "D: CANARYWORD\x00 reported."},
        {**VALID, "note": "\x01\x02\x1b\x7fCANARYWORD\x85" * 20},
        {**TRANSCRIPT, "turns": [{"speaker": "client", "text": "\x0c\x0cCANARYWORD"}]},
        {**VALID, "session_id": "s-1\x07"},
        {**VALID, "metadata": {"comment": "CANARYWORD\x00"}},
    ],
    "INVALID_UTF8": [{**VALID, "note": "D: CANARYWORD \ud800 reported."}],
    "NOT_AN_OBJECT": [[VALID], CANARY, 12, None],
}


@pytest.mark.parametrize(
    ("code", "data"),
    [(code, data) for code, cases in BAD_RECORDS.items() for data in cases],
)
def test_validate_each_defect_has_its_code_and_no_input_in_the_message(code, data):
    outcome = validate_record(_raw(data), IngestConfig(), today=TODAY)
    assert isinstance(outcome, Quarantined)
    assert outcome.error_code == code, outcome.message
    assert code in ERROR_CODES_DOC
    assert CANARY not in outcome.message and "Elm" not in outcome.message
    assert outcome.message


def test_validate_unknown_field_names_are_echoed_only_when_identifiers():
    outcome = validate_record(_raw({**VALID, "patient_name": CANARY}), IngestConfig())
    assert outcome.message == "patient_name: Extra inputs are not permitted"
    outcome = validate_record(_raw({**VALID, "CANARYWORD lives here": 1}), IngestConfig())
    assert outcome.message == "<field>: Extra inputs are not permitted"


def test_validate_dates_timestamps_and_future_grace():
    def check(date: str, limits: IngestConfig = IngestConfig()):
        return validate_record(_raw({**VALID, "session_date": date}), limits, today=TODAY)

    assert check("2026-03-02T23:10:00+01:00").session_date == dt.date(2026, 3, 2)
    assert check(" 1900-01-01 ").session_date == dt.date(1900, 1, 1)
    assert check("2026-06-02").session_date == dt.date(2026, 6, 2)  # today + 1 day of grace
    assert check("2026-06-02", IngestConfig(max_future_days=0)).error_code == "FUTURE_DATE"
    assert check("2026-06-10", IngestConfig(max_future_days=10)).session_date.day == 10


def test_validate_future_check_defaults_to_the_real_today():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    later = dt.date.today() + dt.timedelta(days=2)
    ok = validate_record(_raw({**VALID, "session_date": tomorrow.isoformat()}), IngestConfig())
    assert isinstance(ok, Session)
    bad = validate_record(_raw({**VALID, "session_date": later.isoformat()}), IngestConfig())
    assert bad.error_code == "FUTURE_DATE"


def test_validate_stray_control_characters_below_the_ratio_are_kept():
    note = "D: Client reported a calmer week.\x0c" + " Steady mood." * 10
    outcome = validate_record(_raw({**VALID, "note": note}), IngestConfig())
    assert isinstance(outcome, Session)
    strict = validate_record(_raw({**VALID, "note": note}), IngestConfig(max_control_char_ratio=0))
    assert strict.error_code == "CONTROL_CHARACTERS"
    tabs = validate_record(_raw({**VALID, "note": "D:\tfine.\r\nA:\tok."}), IngestConfig())
    assert isinstance(tabs, Session)


def test_validate_quarantine_session_id_only_when_clean():
    assert validate_record(_raw(_without(VALID, "note")), IngestConfig()).session_id == "s-1"
    nul_id = validate_record(_raw({**VALID, "session_id": "s\x00"}), IngestConfig())
    assert nul_id.session_id is None
    surrogate = validate_record(_raw({**VALID, "session_id": "\udc80"}), IngestConfig())
    assert surrogate.session_id is None
    assert surrogate.model_dump_json()  # writable


def test_validate_csv_rows_are_quarantined_one_by_one(tmp_path: Path):
    path = tmp_path / "x.csv"
    head = "session_id,client_id,clinician_id,session_date,note\n"
    rows = [
        "s-1,c,t,2026-03-02,ok\n",
        "s-2,c,t,2026-03-02,a\x00b\n",  # NUL byte
        "s-3,c,t,2026-03-02,fine,EXTRA\n",  # too many fields
        f's-4,c,t,2026-03-02,"{"x" * 250_000}"\n',  # over csv's field limit and max_note_bytes
        's-5,c,t,2026-03-02,"bad"quote\n',
        f's-6,c,t,2026-03-02,"{"y" * 150_000}"\n',  # over csv's default limit, under ours
    ]
    path.write_text(head + "".join(rows))
    path.write_bytes(path.read_bytes() + b"s-7,c,t,2026-03-02,caf\xe9\n")
    result = ingest_paths([path], IngestConfig(), today=TODAY)
    assert [s.session_id for _, s in result.sessions] == ["s-1", "s-6"]
    assert [(q.location, q.error_code) for q in result.quarantined] == [
        ("row 3", "CONTROL_CHARACTERS"),
        ("row 4", "INVALID_CSV_ROW"),
        ("row 5", "NOTE_TOO_LARGE"),
        ("row 6", "INVALID_CSV"),
        ("row 8", "INVALID_UTF8"),
    ]


def test_validate_folder_transcript_unknown_speaker(tmp_path: Path):
    (tmp_path / "a.txt").write_text(
        "---\nsession_id: s-1\nclient_id: c\nclinician_id: t\nsession_date: 2026-03-02\n"
        "format: transcript\n---\nclinician: Hello.\nclient: Hi.\ntherapist: CANARYWORD\n"
    )
    result = ingest_paths([tmp_path], IngestConfig(), today=TODAY)
    (quarantined,) = result.quarantined
    assert quarantined.error_code == "UNKNOWN_SPEAKER"
    assert quarantined.location == "a.txt"


def test_validate_unexpected_errors_cost_one_record(monkeypatch):
    real = Session.model_validate

    def explode(data, *args, **kwargs):
        if data.get("session_id") == "s-boom":
            raise RuntimeError(CANARY)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(Session, "model_validate", explode)
    records = [_raw({**VALID, "session_id": "s-boom"}), _raw(VALID)]
    result = ingest_records(records, IngestConfig())
    assert [s.session_id for _, s in result.sessions] == ["s-1"]
    (quarantined,) = result.quarantined
    assert quarantined.error_code == "UNEXPECTED_ERROR"
    assert quarantined.message == "validation failed unexpectedly (RuntimeError)"


def test_validate_reader_crash_ends_only_that_input(tmp_path: Path, monkeypatch):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(VALID) + "\n")
    real_read_path = validate.read_path

    def crashing(path: Path, *fhir):
        if path.name != "crash.jsonl":
            return real_read_path(path, *fhir)

        def records():
            yield RawRecord(str(path), "line 1", data={**VALID, "session_id": "s-0"})
            raise RuntimeError(CANARY)

        return records()

    monkeypatch.setattr(validate, "read_path", crashing)
    result = ingest_paths([tmp_path / "crash.jsonl", good], IngestConfig())
    assert [s.session_id for _, s in result.sessions] == ["s-0", "s-1"]
    (quarantined,) = result.quarantined
    assert quarantined.error_code == "UNEXPECTED_ERROR"
    assert CANARY not in quarantined.message


def test_validate_missing_path_fails_before_reading(tmp_path: Path):
    good = tmp_path / "good.jsonl"
    good.write_text("{}\n")
    with pytest.raises(FileNotFoundError, match="input not found"):
        ingest_paths([good, tmp_path / "typo.jsonl"], IngestConfig())


def test_validate_error_code_table_lists_every_code():
    table = error_codes_table()
    assert table.splitlines()[:2] == ["| Code | Meaning |", "| --- | --- |"]
    for code in ERROR_CODES_DOC:
        assert f"| `{code}` |" in table
    assert set(BAD_RECORDS) <= set(ERROR_CODES_DOC)


def test_validate_counts_redacted_identifiers_by_kind():
    from collections import Counter

    from pipeline.ingest.validate import iter_outcomes

    records = [
        _raw(VALID | {"note": "D: Client's sister Maria and her boss Frank called."}),
        _raw(VALID | {"session_id": "s-2", "note": "D: Reported better sleep."}),
    ]
    redacted: Counter = Counter()
    outcomes = [o for _, _, o in iter_outcomes(records, IngestConfig(), TODAY, redacted)]
    assert [o.note for o in outcomes] == [
        "D: Client's sister [PERSON] and her boss [PERSON] called.",
        "D: Reported better sleep.",
    ]
    assert redacted == {"PERSON": 2}
