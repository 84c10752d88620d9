import csv
import json
from pathlib import Path

import pytest

from pipeline.ingest.readers import (
    TranscriptError,
    parse_transcript,
    read_csv,
    read_folder,
    read_jsonl,
)

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"


def test_readers_three_formats_give_the_same_sessions():
    jsonl = {r.data["session_id"]: r.data for r in read_jsonl(FIXTURES / "sessions.jsonl")}
    csv_rows = {r.data["session_id"]: r.data for r in read_csv(FIXTURES / "sessions.csv")}
    folder = {r.data["session_id"]: r.data for r in read_folder(FIXTURES / "sessions_folder")}
    assert len(jsonl) >= 36
    for other in (csv_rows, folder):
        assert other
        for session_id, record in other.items():
            assert record.get("note") == jsonl[session_id].get("note")
            assert record.get("turns") == jsonl[session_id].get("turns")


def test_readers_jsonl_bad_lines_become_error_records(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{broken\n\n\xff\xfe\n')
    records = list(read_jsonl(path))
    assert [r.error_code for r in records] == [None, "INVALID_JSON", "INVALID_UTF8"]
    assert [r.location for r in records] == ["line 1", "line 2", "line 4"]


def test_readers_csv_bad_json_column_is_reported(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("session_id,turns\ns-1,[not json\n")
    (record,) = read_csv(path)
    assert record.error_code == "INVALID_JSON"
    assert "turns" in record.message


def test_readers_folder_transcript_and_bad_front_matter(tmp_path: Path):
    (tmp_path / "a.txt").write_text(
        "---\nsession_id: s-1\nformat: transcript\n---\nclinician: Hello there.\n"
        "client: Hi.\nstill the client\n"
    )
    (tmp_path / "b.txt").write_text("no front matter here")
    good, bad = list(read_folder(tmp_path))
    assert good.data["turns"] == [
        {"speaker": "clinician", "text": "Hello there."},
        {"speaker": "client", "text": "Hi. still the client"},
    ]
    assert bad.error_code == "BAD_FRONT_MATTER"


def test_readers_transcript_unknown_speaker_is_an_error():
    with pytest.raises(ValueError, match="unknown speaker"):
        parse_transcript("therapist2: hello")


def test_readers_never_put_text_in_error_messages(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"note": "CANARYWORD"})[:-1] + "\n")
    (record,) = read_jsonl(path)
    assert "CANARYWORD" not in record.message


# --- every bad record becomes one error record; the rest of the input is still read ---------


def _codes(records) -> list[str | None]:
    return [r.error_code for r in records]


def test_readers_jsonl_bom_deep_nesting_and_huge_numbers(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    deep = b"[" * 100_000 + b"]" * 100_000
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n' + deep + b"\n" + b'{"n": ' + b"9" * 5000 + b"}\n")
    records = list(read_jsonl(path))
    assert _codes(records) == [None, "INVALID_JSON", "INVALID_JSON"]
    assert records[0].data == {"a": 1}
    assert "nested too deeply" in records[1].message


def test_readers_unreadable_files_become_read_errors(tmp_path: Path, monkeypatch):
    (tmp_path / "x.jsonl").write_text("{}\n")
    (tmp_path / "x.csv").write_text("session_id\ns-1\n")
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("---\nsession_id: s-1\n---\nbody\n")
    (folder / "b.txt").write_text("---\nsession_id: s-2\n---\nbody\n")
    real_read_bytes = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name in {"x.csv", "a.txt"}:
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(self)

    def deny_open(self: Path, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    (csv_record,) = read_csv(tmp_path / "x.csv")
    first, second = read_folder(folder)
    monkeypatch.setattr(Path, "open", deny_open)
    (jsonl_record,) = read_jsonl(tmp_path / "x.jsonl")
    for record in (csv_record, first, jsonl_record):
        assert record.error_code == "READ_ERROR"
        assert record.message == "cannot read: Permission denied"
    assert second.data["session_id"] == "s-2"


def test_readers_csv_too_many_fields_only_that_row(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("session_id,note\ns-1,a\ns-2,b,EXTRA\ns-3,c\n")
    records = list(read_csv(path))
    assert _codes(records) == [None, "INVALID_CSV_ROW", None]
    assert [r.location for r in records] == ["row 2", "row 3", "row 4"]
    assert "EXTRA" not in records[1].message


def test_readers_csv_bad_quoting_only_that_row(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text('session_id,note\ns-1,"a"CANARYWORD\ns-2,b\ns-3,"never closed\n')
    records = list(read_csv(path))
    assert _codes(records) == ["INVALID_CSV", None, "INVALID_CSV"]
    assert records[1].data == {"session_id": "s-2", "note": "b"}
    assert all("CANARYWORD" not in r.message for r in records)


def test_readers_csv_invalid_utf8_only_that_row(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfsession_id,note\ns-1,caf\xe9\ns-2,ok\n")
    records = list(read_csv(path))
    assert _codes(records) == ["INVALID_UTF8", None]
    assert records[1].data == {"session_id": "s-2", "note": "ok"}  # BOM dropped from the header


def test_readers_csv_nul_bytes_reach_validation(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"session_id,note\ns-1,a\x00b\ns-2,ok\n")
    records = list(read_csv(path))
    assert _codes(records) == [None, None]
    assert records[0].data["note"] == "a\x00b"  # rejected as CONTROL_CHARACTERS by validation


def test_readers_csv_field_over_csv_module_limit_is_one_row(tmp_path: Path):
    limit_before = csv.field_size_limit()
    big = "x" * (limit_before + 10)  # csv's own "field larger than field limit" error
    path = tmp_path / "x.csv"
    path.write_text(f'session_id,note\ns-1,"{big}\nsecond line"\ns-2,ok\n')
    records = list(read_csv(path))
    assert _codes(records) == [None, None]
    assert len(records[0].data["note"]) == len(big) + len("\nsecond line")
    assert records[1].data == {"session_id": "s-2", "note": "ok"}
    assert csv.field_size_limit() == limit_before


def test_readers_csv_header_problems_reject_the_file(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("session_id,note,note\ns-1,a,b\n")
    assert _codes(read_csv(path)) == ["INVALID_CSV"]
    path.write_bytes(b"session_id,n\xffote\ns-1,a\n")
    assert _codes(read_csv(path)) == ["INVALID_UTF8"]
    path.write_text("")
    assert list(read_csv(path)) == []
    path.write_text("session_id,note,,\ns-1,a,,\n")  # empty trailing columns are no repeat
    (record,) = read_csv(path)
    assert record.data == {"session_id": "s-1", "note": "a"}


def test_readers_csv_session_number_must_be_an_integer(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("session_id,session_number\ns-1,3\ns-2,three\ns-3,1_000\ns-4,-1\n")
    records = list(read_csv(path))
    assert _codes(records) == [None, "WRONG_TYPE", "WRONG_TYPE", None]
    assert records[0].data["session_number"] == 3
    assert records[3].data["session_number"] == -1  # out of range: INVALID_FIELD in validation


def test_readers_transcript_unknown_speaker_anywhere_never_echoed():
    with pytest.raises(TranscriptError) as caught:
        parse_transcript("clinician: Hello.\nclient: Hi.\ntherapist2: CANARYWORD")
    assert caught.value.code == "UNKNOWN_SPEAKER"
    assert "line 3" in str(caught.value)
    assert "therapist2" not in str(caught.value) and "CANARYWORD" not in str(caught.value)
    for body in ("Patient 2: hi", "T: hi", "Counsellor: hi", "spk1: hi"):
        with pytest.raises(TranscriptError, match="unknown speaker"):
            parse_transcript(f"clinician: Hello.\n{body}")
    # Other "word:" lines inside a turn are text; before the first turn they are speakers.
    turns = parse_transcript("Clinician: Homework?\nclient: Yes.\nHomework: walk daily")
    assert turns[-1] == {"speaker": "client", "text": "Yes. Homework: walk daily"}
    with pytest.raises(TranscriptError) as caught:
        parse_transcript("Homework: walk daily\nclient: Yes.")
    assert caught.value.code == "UNKNOWN_SPEAKER"
    with pytest.raises(TranscriptError) as caught:
        parse_transcript("10:30 we started late\nclient: Yes.")
    assert caught.value.code == "BAD_TRANSCRIPT"


def test_readers_folder_bad_files_each_get_their_own_code(tmp_path: Path):
    head = "---\nsession_id: s-{n}\nsession_date: 2026-02-30\n{extra}---\n"
    files = {
        "a.txt": head.format(n=1, extra="format: transcript\n") + "clinician: Hi.\nT: CANARYWORD\n",
        "b.txt": head.format(n=2, extra="format: transcript\n") + "before any speaker\n",
        "c.txt": head.format(n=3, extra="format: slides\n") + "body\n",
        "d.txt": "---\nsession_id: [unclosed CANARYWORD\n---\nbody\n",
        "e.md": head.format(n=5, extra="") + "A note.\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "f.txt").write_bytes(b"---\nsession_id: s-6\n---\ncaf\xe9\n")
    records = list(read_folder(tmp_path))
    assert _codes(records) == [
        "UNKNOWN_SPEAKER",
        "BAD_TRANSCRIPT",
        "BAD_FRONT_MATTER",
        "BAD_FRONT_MATTER",
        None,
        "INVALID_UTF8",
    ]
    assert records[3].message == "front matter is not valid YAML"
    # YAML dates stay strings, so an impossible date reaches validation (INVALID_DATE).
    assert records[4].data["session_date"] == "2026-02-30"
    assert all("CANARYWORD" not in r.message for r in records)
