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

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine, make_url

from pipeline.private_files import private_folder, touch_private
from pipeline.schemas import Flag, Passage, PassageScores, Session, SessionEstimate
from pipeline.store.bookkeeping import Bookkeeping
from pipeline.store.schema import upgrade_schema
from pipeline.store.tables import (
    CURRENT_ESTIMATE,
    chunks,
    estimate_history_table,
    estimates_table,
    flags_table,
    passages_table,
    session_history_table,
    sessions_table,
    utc_now,
    vectors_table,
)

_MIGRATED: set[str] = set()  # URLs already upgraded by this process


def default_url(out_dir: Path) -> str:
    """SQLite file inside the output folder."""
    return f"sqlite:///{(out_dir / 'alliance.db').resolve()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (exports, reports) run while a nightly run commits; synchronous=NORMAL
    # in WAL mode still never corrupts the database or loses a commit on a process crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store(Bookkeeping):
    """Typed access to the result tables.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///out/alliance.db`` or
            ``postgresql+psycopg://user@localhost/alliance``.
    """

    def __init__(self, url: str):
        self.url = url
        sqlite = url.startswith("sqlite")
        database = make_url(url).database if sqlite else None
        if database and database != ":memory:" and not database.startswith("file:"):
            # SQLite gives its -wal, -shm and -journal files the database file's permissions.
            private_folder(Path(database).parent)
            touch_private(Path(database))
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
        now = utc_now()
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
        now = utc_now()
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
            for chunk in chunks(list(session_ids)):
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
            for chunk in chunks(list(client_ids)):
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

    def overall_estimates(self) -> list[float]:
        """The overall estimate of every current session (the clinic's spread, for flags)."""
        query = select(estimates_table.c.estimate).select_from(
            estimates_table.join(sessions_table, CURRENT_ESTIMATE)
        )
        with self.engine.connect() as connection:
            return [float(row[0]["overall"]) for row in connection.execute(query)]

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
