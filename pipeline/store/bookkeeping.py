"""Exactly-once bookkeeping: which sessions are pending, what was scored before, runs and
quarantine.

A session is *pending* until the ``estimates`` table holds a result for its current (content
hash, model version); every earlier result and record is kept as history, so
:meth:`Bookkeeping.scoring_events` can prove that no (session, content, model) was scored twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, or_, select, update

from pipeline.schemas import Quarantined
from pipeline.store.tables import (
    TableAccess,
    estimate_history_table,
    estimates_table,
    quarantine_table,
    runs_table,
    session_history_table,
    sessions_table,
    utc_now,
)


class Bookkeeping(TableAccess):
    """Pending work, history, runs and quarantine; mixed into the store
    (:class:`pipeline.store.core.Store`)."""

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
                    insert(runs_table).values(run_id=run_id, started_at=utc_now(), info=info)
                )
