"""Property-based tests: no input makes ingest raise or lose a record, and none leaks its text.

For arbitrary bytes in a JSONL file, a CSV file or a folder file, and for arbitrary JSON-like
values and record dicts, every record the readers yield ends as exactly one outcome (a session,
a quarantine record or a dropped exact repeat), no error is UNEXPECTED_ERROR (a caught bug),
and no quarantine message contains a planted text value (``§`` + 8-16 letters: ``§`` appears in
no message template, so any ``§`` in a message is leaked input).

Examples per property come from a hypothesis profile picked by the ``HYPOTHESIS_PROFILE``
environment variable: ``ingest-default`` (200, the default) or ``ingest-thorough`` (5000; also
``thorough`` or ``ci-long``)::

    HYPOTHESIS_PROFILE=ingest-thorough pytest tests/pipeline/ingest/test_fuzz.py

The profiles keep no example database (``database=None``); hypothesis's own cache of source
constants goes to ``.hypothesis/``, which git ignores.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.config import IngestConfig
from pipeline.ingest.readers import read_csv, read_folder, read_jsonl
from pipeline.ingest.records import RawRecord
from pipeline.ingest.validate import ERROR_CODES_DOC, IngestResult, ingest_records
from pipeline.schemas import Session

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ingest-default", max_examples=200, **_COMMON)
settings.register_profile("ingest-thorough", max_examples=5000, **_COMMON)
_ALIASES = {"thorough": "ingest-thorough", "ci-long": "ingest-thorough"}
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "")
_PROFILE = _ALIASES.get(_PROFILE, _PROFILE)
FUZZ = settings.get_profile(_PROFILE if _PROFILE == "ingest-thorough" else "ingest-default")

TODAY = dt.date(2026, 6, 1)
LIMITS = IngestConfig(max_note_bytes=2_000, max_turns=6)  # small, so the limits are reached
MARK = "§"
FIELDS = list(Session.model_fields)

# --- strategies -------------------------------------------------------------------------------

planted = st.from_regex(r"§[A-Za-z]{8,16}", fullmatch=True)
texts = st.one_of(
    planted,
    st.text(max_size=20),
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=8), planted, st.text(max_size=8)),
    st.sampled_from(["D: fine.", "  ", "", "\x00", "\x01\x02\x03", "\ud800", "clinician"]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts, planted
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=10,
)
dates = st.one_of(
    st.dates().map(dt.date.isoformat),
    st.sampled_from(
        ["2026-02-30", "1899-12-31", "2026-03-02T10:00:00Z", "2026-06-02", "2026-06-03"]
    ),
    json_values,
)
ids = st.one_of(st.sampled_from(["s-1", "s-2", "c", "t"]), texts, json_values)
turns = st.one_of(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "speaker": st.one_of(st.sampled_from(["clinician", "client"]), texts, json_values),
                "text": st.one_of(texts, json_values),
                "tone": texts,
            },
        ),
        max_size=8,
    ),
    json_values,
)
field_values = {
    "session_id": ids,
    "client_id": ids,
    "clinician_id": ids,
    "session_date": dates,
    "note_type": st.one_of(st.sampled_from(["DAP", "SOAP"]), texts, json_values),
    "session_number": st.one_of(st.integers(min_value=-5, max_value=10**20), json_values),
    "metadata": st.one_of(st.dictionaries(texts, texts, max_size=4), json_values),
    "note": st.one_of(texts, texts.map(lambda t: "D: " + t * 100), json_values),
    "turns": turns,
}
assert set(field_values) == set(FIELDS)
valid_records = st.builds(
    lambda base, body: {**base, **body},
    st.fixed_dictionaries(
        {
            "session_id": st.sampled_from(["s-1", "s-2", "s-3"]),
            "client_id": st.just("c"),
            "clinician_id": st.just("t"),
            "session_date": st.dates(dt.date(1900, 1, 1), TODAY).map(dt.date.isoformat),
        },
        optional={"note_type": st.just("DAP"), "session_number": st.integers(0, 50)},
    ),
    st.one_of(
        st.fixed_dictionaries({"note": texts.map(lambda t: "D: " + t)}),
        st.fixed_dictionaries(
            {
                "turns": st.lists(
                    st.fixed_dictionaries(
                        {"speaker": st.sampled_from(["clinician", "client"]), "text": texts}
                    ),
                    min_size=1,
                    max_size=3,
                )
            }
        ),
    ),
)
# A valid record with one or two fields replaced, or one dropped: reaches the deeper checks.
one_change = st.sampled_from(FIELDS).flatmap(
    lambda name: field_values[name].map(lambda v: {name: v})
)
near_valid_records = st.builds(
    lambda base, changes, drop: {k: v for k, v in (base | changes).items() if k != drop},
    valid_records,
    st.lists(one_change, max_size=2).map(lambda items: {k: v for d in items for k, v in d.items()}),
    st.sampled_from([None, *FIELDS]),
)
record_dicts = st.builds(
    lambda fields, extra: {**fields, **extra},
    st.fixed_dictionaries({}, optional=field_values),
    st.dictionaries(texts, json_values, max_size=2),
)

_FRAGMENTS = [
    b'"', b",", b"\n", b"\r\n", b"\r", b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80",
    b"---\n", b"{", b"}", b"[", b"]", b":", b"clinician: ", b"client: ", b"therapist: ",
    b"format: transcript\n", b"session_id,client_id,clinician_id,session_date,note,turns\n",
    b"\\ud800", b"\\u0000",
]  # fmt: skip
chunks = st.one_of(
    st.binary(max_size=30),
    st.sampled_from(_FRAGMENTS),
    planted.map(str.encode),
    record_dicts.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8", "replace")),
)
file_bytes = st.lists(chunks, max_size=15).map(b"".join)
front_matter = st.sampled_from(
    [b"", b"---\nsession_id: s-1\nclient_id: c\nclinician_id: t\nsession_date: 2026-03-02\n---\n"]
)

# --- helpers ----------------------------------------------------------------------------------

GOOD = {
    "session_id": "s-good",
    "client_id": "c",
    "clinician_id": "t",
    "session_date": "2026-03-02",
    "note": "D: Client reported a calm week.",
}


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included (iteratively: values may nest deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _check(records: list[RawRecord], result: IngestResult, planted_values: Iterable[str] = ()):
    """One outcome per record, no caught bug, no planted text in any message."""
    outcomes = len(result.sessions) + len(result.quarantined) + len(result.repeats)
    assert outcomes == len(records)
    tokens = [t for t in planted_values if MARK in t and len(t) >= 8]
    for quarantined in result.quarantined:
        event(f"outcome {quarantined.error_code}")  # shown by --hypothesis-show-statistics
        assert quarantined.error_code in ERROR_CODES_DOC
        assert quarantined.error_code != "UNEXPECTED_ERROR", quarantined.message
        assert MARK not in quarantined.message
        assert not any(token in quarantined.message for token in tokens)
        quarantined.model_dump_json()  # writable to quarantine.jsonl
    for _, session in result.sessions:
        event("outcome session")
        assert session.session_date <= TODAY + dt.timedelta(days=LIMITS.max_future_days)
        assert session.session_date.year >= 1900
        body = session.note if session.note is not None else "".join(t.text for t in session.turns)
        assert len(body.encode("utf-8")) <= LIMITS.max_note_bytes
        assert "\x00" not in body
        session.content_hash()


def _ingest(records: list[RawRecord], planted_values: Iterable[str] = ()) -> IngestResult:
    result = ingest_records(records, LIMITS, today=TODAY)
    _check(records, result, planted_values)
    return result


def _read_file(name: str, content: bytes, reader: Callable[[Path], Iterable[RawRecord]]):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return list(reader(path))


# --- properties -------------------------------------------------------------------------------


@FUZZ
@given(content=file_bytes)
def test_fuzz_jsonl_arbitrary_bytes(content: bytes):
    good_line = b"\n" + json.dumps(GOOD).encode() + b"\n"
    records = _read_file("x.jsonl", content + good_line, read_jsonl)
    result = _ingest(records)
    # The good last line is read whatever came before it.
    assert records[-1].data == GOOD
    assert result.sessions[-1][1].session_id == "s-good"


@FUZZ
@given(content=file_bytes)
def test_fuzz_csv_arbitrary_bytes(content: bytes):
    _ingest(_read_file("x.csv", content, read_csv))


@FUZZ
@given(rows=st.lists(st.lists(st.one_of(texts, planted), max_size=7), max_size=6))
def test_fuzz_csv_well_quoted_rows_each_stand_alone(rows: list[list[str]]):
    # Arbitrary cell text, quoted by csv.writer: each row is one record, and the good row
    # after them is accepted.
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["session_id", "client_id", "clinician_id", "session_date", "note", "x"])
    for row in rows:
        writer.writerow(row)
    writer.writerow(
        [GOOD[k] for k in ("session_id", "client_id", "clinician_id")]
        + [GOOD["session_date"], GOOD["note"]]
    )
    content = buffer.getvalue().encode("utf-8", "surrogatepass")
    records = _read_file("x.csv", content, read_csv)
    result = _ingest(records, [cell for row in rows for cell in row])
    assert len(records) == len([row for row in rows if row]) + 1
    assert result.sessions[-1][1].session_id == "s-good"


@FUZZ
@given(head=front_matter, content=file_bytes)
def test_fuzz_folder_arbitrary_bytes(head: bytes, content: bytes):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "a.txt").write_bytes(head + content)
        good = "---\nsession_id: s-good\nclient_id: c\nclinician_id: t\nsession_date: 2026-03-02"
        (folder / "z.txt").write_text(good + "\n---\nD: Client reported a calm week.\n")
        records = list(read_folder(folder))
    result = _ingest(records)
    assert len(records) == 2
    assert result.sessions[-1][1].session_id == "s-good"


@FUZZ
@given(values=st.lists(json_values, max_size=4))
def test_fuzz_ingest_arbitrary_json_values(values: list[Any]):
    records = [RawRecord("src", f"line {i}", data=value) for i, value in enumerate(values)]
    _ingest(records, _strings(values))


@FUZZ
@given(data=st.lists(st.one_of(record_dicts, near_valid_records), max_size=4))
def test_fuzz_ingest_arbitrary_record_dicts(data: list[dict]):
    records = [RawRecord("src", f"line {i}", data=value) for i, value in enumerate(data)]
    _ingest(records, _strings(data))


@FUZZ
@given(data=st.lists(near_valid_records, max_size=4), valid_at=st.integers(0, 5))
def test_fuzz_ingest_bad_records_do_not_stop_a_good_one(data: list[dict], valid_at: int):
    data.insert(min(valid_at, len(data)), {**GOOD, "session_id": "s-kept"})
    records = [RawRecord("src", f"line {i}", data=value) for i, value in enumerate(data)]
    result = _ingest(records, _strings(data))
    assert "s-kept" in {session.session_id for _, session in result.sessions}
