from pathlib import Path

from pipeline.schemas import Passage, Quarantined, Session
from pipeline.store import Store
from tests.pipeline.test_features import scores as _scores


def _session(note="D: fine.") -> Session:
    return Session(
        session_id="s-1", client_id="c", clinician_id="t", session_date="2026-03-02", note=note
    )


def _passage() -> Passage:
    return Passage(
        session_id="s-1",
        passage_id="s-1:0000",
        index=0,
        speaker="clinician",
        section="data",
        start=3,
        end=8,
        negated=False,
        text="fine.",
    )


def test_store_upsert_is_idempotent_and_amendment_resets_results(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    assert store.upsert_sessions([_session()], "src") == ["s-1"]
    assert store.upsert_sessions([_session()], "src") == []
    store.replace_passages("s-1", [_passage()])
    store.save_scores({"s-1:0000": _scores()}, "m1")
    ((passage, scores),) = store.passages(["s-1"])["s-1"]
    assert passage == _passage() and scores == _scores()
    assert store.upsert_sessions([_session("D: amended.")], "src") == ["s-1"]
    assert store.passages(["s-1"]) == {}
    assert store.sessions(["s-1"])[0].note == "D: amended."


def test_store_quarantine_and_clients(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    store.upsert_sessions([_session()], "src")
    store.add_quarantine(
        "r1", [Quarantined(source="f", location="line 2", error_code="X", message="m")]
    )
    assert [q.location for q in store.quarantine("r1")] == ["line 2"]
    assert store.quarantine("other") == []
    assert store.client_ids(["s-1"]) == ["c"]
    assert store.sessions_of_clients(["c"]) == ["s-1"]
    assert store.unestimated_session_ids() == ["s-1"]
