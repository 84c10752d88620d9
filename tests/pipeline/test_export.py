"""Contract files written from the store a chunk (or a clinician) at a time."""

import csv
from pathlib import Path

import pytest

from pipeline import export, steps
from pipeline.store.core import Store, default_url

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures" / "sessions.jsonl"


class RecordingStore(Store):
    """A real store that records how many estimates each ``estimates`` call asked for."""

    def __init__(self, url: str):
        super().__init__(url)
        self.requests: list[int | None] = []

    def estimates(self, session_ids=None):
        self.requests.append(None if session_ids is None else len(session_ids))
        return super().estimates(session_ids)


@pytest.fixture(scope="module")
def scored(tiny_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    store = RecordingStore(default_url(out))
    steps.run_steps([FIXTURES], tiny_config, store, out)
    return store, out


def test_export_reads_estimates_in_bounded_pieces(scored, tmp_path: Path, monkeypatch):
    store, _ = scored
    monkeypatch.setattr(export, "EXPORT_CHUNK", 7)  # several chunks from the fixture sessions
    store.requests.clear()
    export.export_outputs(store, tmp_path, {"model_version": "m", "config_hash": "h"}, [])
    caseloads = [clinician for _, _, clinician in store.estimated_sessions()]
    largest = max(caseloads.count(c) for c in set(caseloads))
    assert store.requests and None not in store.requests  # never the whole store at once
    assert max(store.requests) <= max(7, largest)


def test_export_files_keep_the_stores_order_and_every_session(scored, tmp_path: Path, monkeypatch):
    store, _ = scored
    monkeypatch.setattr(export, "EXPORT_CHUNK", 5)
    export.export_outputs(store, tmp_path, {"model_version": "m", "config_hash": "h"}, [])
    with (tmp_path / "sessions.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = store.estimates()
    assert [r["session_id"] for r in rows] == [e.session_id for e in expected]
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert all(f'id="{e.session_id}"' in report for e in expected)
    assert all(f'id="clinician-{e.clinician_id}"' in report for e in expected)
