"""The result store: SQLite by default, any SQLAlchemy URL (e.g. PostgreSQL).

The store is the one place that holds note text besides the report. Prefect tasks pass session
ids to each other and read what they need from here.

Exactly-once scoring: a session is *pending* until the ``estimates`` table holds a result for
its current (content hash, model version). :meth:`Store.commit_session` writes a session's
passages, scores, pooled vector and estimate in one transaction, so a run killed at any moment
leaves every session either fully scored or pending, and the next run picks up the pending ones.
An amended note (same id, new content) keeps its earlier record and estimate as history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine

from pipeline.schemas import Flag, Passage, PassageScores, Quarantined, Session, SessionEstimate

metadata = MetaData()

sessions_table = Table(
    "sessions",
    metadata,
    Column("session_id", String(200), primary_key=True),
    Column("client_id", String(200), nullable=False, index=True),
    Column("clinician_id", String(200), nullable=False, index=True),
    Column("session_date", Date, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("record", JSON, nullable=False),
    Column("ingested_at", DateTime, nullable=False),
)

passages_table = Table(
    "passages",
    metadata,
    Column("passage_id", String(220), primary_key=True),
    Column("session_id", String(200), nullable=False, index=True),
    Column("idx", Integer, nullable=False),
    Column("speaker", String(20), nullable=False),
    Column("section", String(64), nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("negated", Boolean, nullable=False),
    Column("text", Text, nullable=False),
    Column("scores", JSON, nullable=True),
    Column("model_version", String(64), nullable=True),
)

session_history_table = Table(
    "session_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(200), nullable=False, index=True),
    Column("content_hash", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("record", JSON, nullable=False),
    Column("ingested_at", DateTime, nullable=False),
    Column("superseded_at", DateTime, nullable=False),
)

estimates_table = Table(
    "estimates",
    metadata,
    Column("session_id", String(200), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("estimate", JSON, nullable=False),
    Column("features", JSON, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("scored_at", DateTime, nullable=False),
)

estimate_history_table = Table(
    "estimate_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(200), nullable=False, index=True),
    Column("content_hash", String(64), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("estimate", JSON, nullable=False),
    Column("features", JSON, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("scored_at", DateTime, nullable=False),
    Column("superseded_at", DateTime, nullable=False),
)

vectors_table = Table(
    "session_vectors",
    metadata,
    Column("session_id", String(200), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # float32 bytes: pooled passage vectors
    Column("model_version", String(64), nullable=False),
)

flags_table = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(200), nullable=False, index=True),
    Column("client_id", String(200), nullable=False, index=True),
    Column("flag", JSON, nullable=False),
)

quarantine_table = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("record", JSON, nullable=False),
)

runs_table = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_at", DateTime, nullable=False),
    Column("info", JSON, nullable=False),
)


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"  # the schema alliance 0.1 created before migrations existed
_MIGRATED: set[str] = set()  # URLs already upgraded by this process


def _alembic_config(connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def schema_revision(engine: Engine) -> str | None:
    """The store's Alembic revision (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Bring the store's schema to the newest revision (a no-op when it is current).

    A store created before migrations existed (tables but no ``alembic_version``) is stamped
    with the baseline revision first, then upgraded like any other.
    """
    with engine.begin() as connection:
        config = _alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "sessions" in tables and "alembic_version" not in tables:
            command.stamp(config, BASELINE_REVISION)
        command.upgrade(config, "head")


def default_url(out_dir: Path) -> str:
    """SQLite file inside the output folder."""
    return f"sqlite:///{(out_dir / 'alliance.db').resolve()}"


# An estimate is current when it was made for its session's current content.
CURRENT_ESTIMATE = and_(
    sessions_table.c.session_id == estimates_table.c.session_id,
    estimates_table.c.content_hash == sessions_table.c.content_hash,
)


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (exports, reports) run while a nightly run commits; synchronous=NORMAL
    # in WAL mode still never corrupts the database or loses a commit on a process crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """Typed access to the result tables.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///out/alliance.db`` or
            ``postgresql+psycopg://user@localhost/alliance``.
    """

    def __init__(self, url: str):
        self.url = url
        sqlite = url.startswith("sqlite")
        self.engine: Engine = create_engine(
            url, future=True, connect_args={"timeout": 60} if sqlite else {}
        )
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if url not in _MIGRATED:
            upgrade_schema(self.engine)
            _MIGRATED.add(url)

    # -- sessions -------------------------------------------------------------------------
    def upsert_sessions(self, sessions: Sequence[Session], source: str) -> list[str]:
        """Store sessions in one transaction. An id whose content changed (an amended note)
        replaces the current record; the old record goes to ``session_history``, and its
        results stay until the new content is scored (then they become history too).

        Returns:
            Ids of sessions that are new or changed.
        """
        changed = []
        now = _now()
        columns = sessions_table.c
        with self.engine.begin() as connection:
            for session in sessions:
                content_hash = session.content_hash()
                known = (
                    connection.execute(
                        select(sessions_table).where(columns.session_id == session.session_id)
                    )
                    .mappings()
                    .one_or_none()
                )
                if known is not None and known["content_hash"] == content_hash:
                    continue
                values = {
                    "client_id": session.client_id,
                    "clinician_id": session.clinician_id,
                    "session_date": session.session_date,
                    "content_hash": content_hash,
                    "source": source,
                    "record": session.model_dump(mode="json"),
                    "ingested_at": now,
                }
                if known is None:
                    connection.execute(
                        insert(sessions_table).values(session_id=session.session_id, **values)
                    )
                else:
                    connection.execute(
                        insert(session_history_table).values(
                            **{k: known[k] for k in ("session_id", "content_hash", "source")},
                            record=known["record"],
                            ingested_at=known["ingested_at"],
                            superseded_at=now,
                        )
                    )
                    connection.execute(
                        update(sessions_table)
                        .where(columns.session_id == session.session_id)
                        .values(**values)
                    )
                changed.append(session.session_id)
        return changed

    def _select(self, query, column, values: Sequence[str] | None) -> list:
        """Rows of ``query``, restricted to ``column IN values`` (chunked, so any number of
        ids works on every database) or unrestricted when ``values`` is None."""
        with self.engine.connect() as connection:
            if values is None:
                return connection.execute(query).all()
            rows = []
            for chunk in _chunks(list(values)):
                rows += connection.execute(query.where(column.in_(chunk))).all()
            return rows

    def sessions(self, session_ids: Sequence[str] | None = None) -> list[Session]:
        """Sessions by id (all when ``session_ids`` is None), ordered by client and date."""
        query = select(sessions_table.c.record).order_by(
            sessions_table.c.client_id, sessions_table.c.session_date, sessions_table.c.session_id
        )
        rows = self._select(query, sessions_table.c.session_id, session_ids)
        return [Session.model_validate(record) for (record,) in rows]

    def session_ids(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(sessions_table.c.session_id)).scalars())

    def pending_session_ids(self, model_version: str) -> list[str]:
        """Sessions without a result for their current content and this model version: new
        and amended sessions, sessions a stopped run left unscored, and every session after a
        new model is promoted. Ordered by client, date and id."""
        s, e = sessions_table.c, estimates_table.c
        query = (
            select(s.session_id)
            .select_from(sessions_table.outerjoin(estimates_table, s.session_id == e.session_id))
            .where(
                or_(
                    e.session_id.is_(None),
                    e.content_hash != s.content_hash,
                    e.model_version != model_version,
                )
            )
            .order_by(s.client_id, s.session_date, s.session_id)
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def content_hashes(self, session_ids: Sequence[str]) -> dict[str, str]:
        rows = self._select(
            select(sessions_table.c.session_id, sessions_table.c.content_hash),
            sessions_table.c.session_id,
            session_ids,
        )
        return dict(rows)

    def client_ids(self, session_ids: Sequence[str]) -> list[str]:
        rows = self._select(
            select(sessions_table.c.client_id), sessions_table.c.session_id, session_ids
        )
        return sorted({client for (client,) in rows})

    def sessions_of_clients(self, client_ids: Sequence[str]) -> list[str]:
        rows = self._select(
            select(sessions_table.c.session_id), sessions_table.c.client_id, client_ids
        )
        return [session_id for (session_id,) in rows]

    # -- passages, scores and estimates ------------------------------------------------------
    def commit_session(
        self,
        content_hash: str,
        passages: Sequence[tuple[Passage, PassageScores]],
        vector: np.ndarray,
        estimate: SessionEstimate,
        features: dict[str, float],
        run_id: str,
    ) -> bool:
        """Write one session's scored passages, pooled vector and estimate in one transaction.

        Args:
            content_hash: The content the results were computed from. Nothing is written when
                the stored session has changed since (the next run scores the new content) or
                when this content already has a result from this model version.
            passages: The session's passages with their scores, in order.
            vector: Pooled passage vectors (inputs of the session estimator).
            estimate: The session estimate.
            features: Named session signals (read again by flags and the report).
            run_id: The run that produced the results.

        Returns:
            True when the results were committed.
        """
        session_id = estimate.session_id
        now = _now()
        with self.engine.begin() as connection:
            current = connection.execute(
                select(sessions_table.c.content_hash).where(
                    sessions_table.c.session_id == session_id
                )
            ).scalar_one_or_none()
            if current != content_hash:
                return False
            earlier = (
                connection.execute(
                    select(estimates_table).where(estimates_table.c.session_id == session_id)
                )
                .mappings()
                .one_or_none()
            )
            if earlier is not None:
                if (earlier["content_hash"], earlier["model_version"]) == (
                    content_hash,
                    estimate.model_version,
                ):
                    return False
                connection.execute(
                    insert(estimate_history_table).values(**earlier, superseded_at=now)
                )
            for table in (passages_table, vectors_table, estimates_table):
                connection.execute(delete(table).where(table.c.session_id == session_id))
            if passages:
                connection.execute(
                    insert(passages_table),
                    [
                        {
                            **passage.model_dump(exclude={"index"}),
                            "idx": passage.index,
                            "scores": scores.model_dump(mode="json"),
                            "model_version": estimate.model_version,
                        }
                        for passage, scores in passages
                    ],
                )
            connection.execute(
                insert(vectors_table).values(
                    session_id=session_id,
                    vector=np.asarray(vector, dtype=np.float32).tobytes(),
                    model_version=estimate.model_version,
                )
            )
            connection.execute(
                insert(estimates_table).values(
                    session_id=session_id,
                    content_hash=content_hash,
                    model_version=estimate.model_version,
                    estimate=estimate.model_dump(mode="json"),
                    features=features,
                    run_id=run_id,
                    scored_at=now,
                )
            )
        return True

    def passages(
        self, session_ids: Sequence[str]
    ) -> dict[str, list[tuple[Passage, PassageScores | None]]]:
        """Passages (with scores when scored) per session, in passage order."""
        out: dict[str, list] = defaultdict(list)
        with self.engine.connect() as connection:
            for chunk in _chunks(list(session_ids)):
                rows = connection.execute(
                    select(passages_table)
                    .where(passages_table.c.session_id.in_(chunk))
                    .order_by(passages_table.c.session_id, passages_table.c.idx)
                ).mappings()
                for row in rows:
                    passage = Passage(
                        **{k: row[k] for k in Passage.model_fields if k != "index"},
                        index=row["idx"],
                    )
                    scores = PassageScores.model_validate(row["scores"]) if row["scores"] else None
                    out[row["session_id"]].append((passage, scores))
        return dict(out)

    def vectors(self, session_ids: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._select(
            select(vectors_table.c.session_id, vectors_table.c.vector),
            vectors_table.c.session_id,
            session_ids,
        )
        return {sid: np.frombuffer(blob, dtype=np.float32) for sid, blob in rows}

    # -- estimates and flags ----------------------------------------------------------------
    def estimates(self, session_ids: Sequence[str] | None = None) -> list[SessionEstimate]:
        """Current estimates (of each session's current content), by client, date and id."""
        e = estimates_table.c
        query = select(e.estimate).join(sessions_table, CURRENT_ESTIMATE)
        rows = self._select(query, e.session_id, session_ids)
        estimates = [SessionEstimate.model_validate(record) for (record,) in rows]
        return sorted(estimates, key=lambda e: (e.client_id, e.session_date, e.session_id))

    def estimated_sessions(self) -> list[tuple[str, str, str]]:
        """(session id, client id, clinician id) of every session with a current estimate, in
        :meth:`estimates`' order: a light index to export the store a chunk at a time."""
        s = sessions_table.c
        query = (
            select(s.session_id, s.client_id, s.clinician_id)
            .join(estimates_table, CURRENT_ESTIMATE)
            .order_by(s.client_id, s.session_date, s.session_id)
        )
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]

    def features(self, session_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """Named session signals stored with the estimates."""
        rows = self._select(
            select(estimates_table.c.session_id, estimates_table.c.features),
            estimates_table.c.session_id,
            session_ids,
        )
        return dict(rows)

    def replace_flags(self, client_ids: Sequence[str], flags: Sequence[Flag]) -> None:
        """Flags are recomputed per client (trajectories), so a client's flags are replaced."""
        with self.engine.begin() as connection:
            for chunk in _chunks(list(client_ids)):
                connection.execute(delete(flags_table).where(flags_table.c.client_id.in_(chunk)))
            if flags:
                connection.execute(
                    insert(flags_table),
                    [
                        {
                            "session_id": f.session_id,
                            "client_id": f.client_id,
                            "flag": f.model_dump(mode="json"),
                        }
                        for f in flags
                    ],
                )

    def counts(self) -> dict[str, int]:
        """Current estimates and flags, counted in the database (nothing loaded)."""
        current = select(func.count()).select_from(
            estimates_table.join(sessions_table, CURRENT_ESTIMATE)
        )
        with self.engine.connect() as connection:
            return {
                "estimates": connection.execute(current).scalar_one(),
                "flags": connection.execute(
                    select(func.count()).select_from(flags_table)
                ).scalar_one(),
            }

    def flags(self) -> list[Flag]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(flags_table.c.flag).order_by(flags_table.c.id))
            return [Flag.model_validate(row) for row in rows.scalars()]

    # -- quarantine and runs ----------------------------------------------------------------
    def add_quarantine(self, run_id: str, records: Sequence[Quarantined]) -> None:
        if not records:
            return
        with self.engine.begin() as connection:
            connection.execute(
                insert(quarantine_table),
                [{"run_id": run_id, "record": r.model_dump(mode="json")} for r in records],
            )

    def quarantine(self, run_id: str | None = None) -> list[Quarantined]:
        query = select(quarantine_table.c.record).order_by(quarantine_table.c.id)
        if run_id is not None:
            query = query.where(quarantine_table.c.run_id == run_id)
        with self.engine.connect() as connection:
            return [Quarantined.model_validate(r) for r in connection.execute(query).scalars()]

    def estimate_history(self, session_id: str) -> list[dict]:
        """Earlier results of a session (amended content or an older model), oldest first."""
        h = estimate_history_table.c
        query = (
            select(h.content_hash, h.model_version, h.estimate, h.run_id, h.superseded_at)
            .where(h.session_id == session_id)
            .order_by(h.id)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def session_history(self, session_id: str) -> list[dict]:
        """Earlier records of an amended session (content hash, source, times), oldest first."""
        h = session_history_table.c
        query = (
            select(h.content_hash, h.source, h.ingested_at, h.superseded_at)
            .where(h.session_id == session_id)
            .order_by(h.id)
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def scoring_events(self) -> list[tuple[str, str, str]]:
        """Every (session id, content hash, model version) ever scored, current and history:
        exactly-once scoring means no triple appears twice."""
        columns = ("session_id", "content_hash", "model_version")
        with self.engine.connect() as connection:
            events = []
            for table in (estimates_table, estimate_history_table):
                query = select(*(table.c[name] for name in columns))
                events += [tuple(row) for row in connection.execute(query)]
            return events

    def runs(self) -> list[dict]:
        query = select(runs_table.c.run_id, runs_table.c.started_at, runs_table.c.info)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(runs_table.c.started_at)).mappings()
            return [dict(row) for row in rows]

    def mark_interrupted_runs(self) -> list[str]:
        """Mark runs still recorded as running as interrupted; call only while holding the run
        lock (then no other run can be alive). Returns their ids."""
        with self.engine.begin() as connection:
            rows = connection.execute(select(runs_table.c.run_id, runs_table.c.info)).all()
            stale = [run_id for run_id, info in rows if info.get("status") == "running"]
            for run_id, info in rows:
                if run_id in stale:
                    connection.execute(
                        update(runs_table)
                        .where(runs_table.c.run_id == run_id)
                        .values(info={**info, "status": "interrupted"})
                    )
        return stale

    def record_run(self, run_id: str, info: dict) -> None:
        """Insert or update a run's record (its start time is kept on updates)."""
        with self.engine.begin() as connection:
            known = connection.execute(
                update(runs_table).where(runs_table.c.run_id == run_id).values(info=info)
            ).rowcount
            if not known:
                connection.execute(
                    insert(runs_table).values(run_id=run_id, started_at=_now(), info=info)
                )
