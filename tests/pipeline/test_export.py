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


def test_export_clients_csv_one_row_per_client_across_chunks(scored, tmp_path, monkeypatch):
    """A chunk boundary inside a client's sessions must not split the client's row."""
    from pipeline.config import ApproachConfig
    from pipeline.sessions.approach import client_fit

    store, _ = scored
    monkeypatch.setattr(export, "EXPORT_CHUNK", 5)  # 6 sessions per client: every client split
    export.export_outputs(store, tmp_path, {"model_version": "m", "config_hash": "h"}, [])
    with (tmp_path / "clients.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == export.CLIENT_COLUMNS
    estimates = store.estimates()
    clients = sorted({e.client_id for e in estimates})
    assert [r["client_id"] for r in rows] == clients
    for row in rows:
        fit = client_fit(
            [e for e in estimates if e.client_id == row["client_id"]], ApproachConfig()
        )
        assert int(row["n_sessions"]) == fit.n_sessions == 6
        assert row["approach_fit"] == fit.approach_fit in {"structure", "exploration", "unclear"}
        assert row["fit_rho"] == ("" if fit.fit_rho is None else str(fit.fit_rho))
    with (tmp_path / "sessions.csv").open(encoding="utf-8") as handle:
        sessions = list(csv.DictReader(handle))
    assert list(sessions[0])[-2:] == ["structure", "kind"]
    values = [float(r["structure"]) for r in sessions if r["structure"]]
    assert values and all(0 <= v <= 1 for v in values)
