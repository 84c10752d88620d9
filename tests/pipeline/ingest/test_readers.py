import json
from pathlib import Path

import pytest

from pipeline.ingest.readers import parse_transcript, read_csv, read_folder, read_jsonl, read_path

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


def test_readers_unsupported_path_and_missing_path(tmp_path: Path):
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(ValueError, match="unsupported input"):
        read_path(tmp_path / "x.xml")
    with pytest.raises(FileNotFoundError):
        read_path(tmp_path / "nope.jsonl")


def test_readers_never_put_text_in_error_messages(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"note": "CANARYWORD"})[:-1] + "\n")
    (record,) = read_jsonl(path)
    assert "CANARYWORD" not in record.message
