import datetime as dt
import json

import numpy as np

from pipeline.schemas import Passage, Quarantined, Session, SessionEstimate
from pipeline.store.core import Store
from tests.pipeline.sessions.test_features import scores as _scores


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


def _estimate(version="m1", overall=3.0) -> SessionEstimate:
    values = {}
    for target in ("task", "bond", "goal", "overall"):
        values.update({target: overall, f"{target}_low": 2.0, f"{target}_high": 4.0})
    return SessionEstimate(
        session_id="s-1",
        client_id="c",
        clinician_id="t",
        session_date=dt.date(2026, 3, 2),
        n_passages=1,
        model_version=version,
        **values,
    )


def _commit(store: Store, session: Session, version="m1", overall=3.0) -> bool:
    return store.commit_session(
        session.content_hash(),
        [(_passage(), _scores())],
        np.ones(4),
        _estimate(version, overall),
        {"signal": 1.0},
        "run-1",
    )


def test_store_upsert_is_idempotent(store_url: str):
    store = Store(store_url)
    assert store.upsert_sessions([_session()], "src") == ["s-1"]
    assert store.upsert_sessions([_session()], "src") == []
    assert store.pending_session_ids("m1") == ["s-1"]


def test_store_commit_session_is_atomic_and_exactly_once(store_url: str):
    store = Store(store_url)
    store.upsert_sessions([_session()], "src")
    assert _commit(store, _session())
    ((passage, scores),) = store.passages(["s-1"])["s-1"]
    assert passage == _passage() and scores == _scores()
    assert store.pending_session_ids("m1") == []
    assert not _commit(store, _session()), "the same content and model must not score twice"
    assert store.scoring_events() == [("s-1", _session().content_hash(), "m1")]
    assert store.vectors(["s-1"])["s-1"].tolist() == [1.0] * 4


def test_store_amendment_is_rescored_and_keeps_history(store_url: str):
    store = Store(store_url)
    store.upsert_sessions([_session()], "src")
    _commit(store, _session(), overall=3.0)
    amended = _session("D: amended.")
    assert store.upsert_sessions([amended], "src2") == ["s-1"]
    assert store.sessions(["s-1"])[0].note == "D: amended."
    assert store.pending_session_ids("m1") == ["s-1"]
    assert store.estimates() == [], "the old content's estimate is not current any more"
    assert not _commit(store, _session()), "results of superseded content are refused"
    assert _commit(store, amended, overall=4.0)
    assert [e.overall for e in store.estimates()] == [4.0]
    (earlier,) = store.estimate_history("s-1")
    assert earlier["content_hash"] == _session().content_hash()
    assert earlier["estimate"]["overall"] == 3.0
    (record,) = store.session_history("s-1")
    assert record["content_hash"] == _session().content_hash() and record["source"] == "src"


def test_store_new_model_version_makes_sessions_pending(store_url: str):
    store = Store(store_url)
    store.upsert_sessions([_session()], "src")
    _commit(store, _session(), version="m1")
    assert store.pending_session_ids("m2") == ["s-1"]
    assert _commit(store, _session(), version="m2")
    assert [e.model_version for e in store.estimates()] == ["m2"]
    assert len(store.scoring_events()) == len(set(store.scoring_events())) == 2


def test_store_quarantine_clients_and_runs(store_url: str):
    store = Store(store_url)
    store.upsert_sessions([_session()], "src")
    store.add_quarantine(
        "r1", [Quarantined(source="f", location="line 2", error_code="X", message="m")]
    )
    assert [q.location for q in store.quarantine("r1")] == ["line 2"]
    assert store.quarantine("other") == []
    assert store.client_ids(["s-1"]) == ["c"]
    assert store.sessions_of_clients(["c"]) == ["s-1"]
    store.record_run("r1", {"status": "running"})
    started = store.runs()[0]["started_at"]
    store.record_run("r1", {"status": "finished"})
    (run,) = store.runs()
    assert run["info"] == {"status": "finished"} and run["started_at"] == started


def test_store_schema_after_migrations_matches_the_tables_the_code_uses(store_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from pipeline.store.tables import metadata

    store = Store(store_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_store_created_before_migrations_is_stamped_and_upgraded(store_url: str):
    """A store made by alliance 0.1 (schema 0001, no version table) keeps its results."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from pipeline.store.schema import alembic_config, schema_revision

    engine = create_engine(store_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(text("DROP TABLE alembic_version"))
        record = _session().model_dump(mode="json")
        connection.execute(
            text(
                "INSERT INTO sessions VALUES (:sid, 'c', 't', '2026-03-02', :hash, 'src', "
                ":record, '2026-03-03 00:00:00')"
            ),
            {"sid": "s-1", "hash": _session().content_hash(), "record": json.dumps(record)},
        )
        connection.execute(
            text("INSERT INTO estimates VALUES ('s-1', :estimate, '{}', 'm1')"),
            {"estimate": _estimate().model_dump_json()},
        )
    engine.dispose()
    store = Store(store_url)
    assert schema_revision(store.engine) == "0002"
    assert [e.session_id for e in store.estimates()] == ["s-1"]
    assert store.pending_session_ids("m1") == []
    assert store.pending_session_ids("m2") == ["s-1"]


def test_store_migrations_downgrade_and_upgrade_again(store_url: str):
    from alembic import command

    from pipeline.store.schema import alembic_config, schema_revision, upgrade_schema

    store = Store(store_url)
    store.upsert_sessions([_session()], "src")
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert schema_revision(store.engine) == "0001"
    upgrade_schema(store.engine)
    assert schema_revision(store.engine) == "0002"
    assert store.pending_session_ids("m1") == ["s-1"]
