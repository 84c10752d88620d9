"""The result store: SQLite by default, any SQLAlchemy URL (e.g. PostgreSQL).

The store is the one place that holds note text besides the report. Prefect tasks pass session
ids to each other and read what they need from here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
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
    create_engine,
    delete,
    insert,
    select,
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

estimates_table = Table(
    "estimates",
    metadata,
    Column("session_id", String(200), primary_key=True),
    Column("estimate", JSON, nullable=False),
    Column("features", JSON, nullable=False),
    Column("model_version", String(64), nullable=False),
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


def default_url(out_dir: Path) -> str:
    """SQLite file inside the output folder."""
    return f"sqlite:///{(out_dir / 'alliance.db').resolve()}"


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


class Store:
    """Typed access to the result tables.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///out/alliance.db`` or
            ``postgresql+psycopg://user@localhost/alliance``.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        metadata.create_all(self.engine)

    # -- sessions -------------------------------------------------------------------------
    def upsert_sessions(self, sessions: Sequence[Session], source: str) -> list[str]:
        """Store sessions; an id whose content changed replaces the old record and its results.

        Returns:
            Ids of sessions that are new or changed (those that need scoring).
        """
        changed = []
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.engine.begin() as connection:
            for session in sessions:
                content_hash = session.content_hash()
                known = connection.execute(
                    select(sessions_table.c.content_hash).where(
                        sessions_table.c.session_id == session.session_id
                    )
                ).scalar_one_or_none()
                if known == content_hash:
                    continue
                if known is not None:
                    self._forget(connection, [session.session_id])
                connection.execute(
                    insert(sessions_table).values(
                        session_id=session.session_id,
                        client_id=session.client_id,
                        clinician_id=session.clinician_id,
                        session_date=session.session_date,
                        content_hash=content_hash,
                        source=source,
                        record=session.model_dump(mode="json"),
                        ingested_at=now,
                    )
                )
                changed.append(session.session_id)
        return changed

    @staticmethod
    def _forget(connection, session_ids: Sequence[str]) -> None:
        for table in (sessions_table, passages_table, estimates_table, vectors_table):
            connection.execute(delete(table).where(table.c.session_id.in_(session_ids)))

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

    def unestimated_session_ids(self) -> list[str]:
        """Sessions stored without an estimate (e.g. a run that stopped part-way)."""
        query = select(sessions_table.c.session_id).where(
            ~sessions_table.c.session_id.in_(select(estimates_table.c.session_id))
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

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

    # -- passages and scores --------------------------------------------------------------
    def replace_passages(self, session_id: str, passages: Sequence[Passage]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(passages_table).where(passages_table.c.session_id == session_id)
            )
            if passages:
                connection.execute(
                    insert(passages_table),
                    [{**p.model_dump(exclude={"index"}), "idx": p.index} for p in passages],
                )

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

    def save_scores(self, scores: dict[str, PassageScores], model_version: str) -> None:
        with self.engine.begin() as connection:
            for passage_id, value in scores.items():
                connection.execute(
                    passages_table.update()
                    .where(passages_table.c.passage_id == passage_id)
                    .values(scores=value.model_dump(mode="json"), model_version=model_version)
                )

    def save_vectors(self, vectors: dict[str, np.ndarray], model_version: str) -> None:
        """Pooled passage vectors per session (inputs of the session estimator)."""
        if not vectors:
            return
        with self.engine.begin() as connection:
            connection.execute(
                delete(vectors_table).where(vectors_table.c.session_id.in_(list(vectors)))
            )
            connection.execute(
                insert(vectors_table),
                [
                    {
                        "session_id": sid,
                        "vector": np.asarray(v, dtype=np.float32).tobytes(),
                        "model_version": model_version,
                    }
                    for sid, v in vectors.items()
                ],
            )

    def vectors(self, session_ids: Sequence[str]) -> dict[str, np.ndarray]:
        rows = self._select(
            select(vectors_table.c.session_id, vectors_table.c.vector),
            vectors_table.c.session_id,
            session_ids,
        )
        return {sid: np.frombuffer(blob, dtype=np.float32) for sid, blob in rows}

    # -- estimates and flags ----------------------------------------------------------------
    def save_estimates(
        self, estimates: Sequence[SessionEstimate], features: dict[str, dict[str, float]]
    ) -> None:
        """Estimates with their named session signals (read again by flags and report)."""
        with self.engine.begin() as connection:
            ids = [e.session_id for e in estimates]
            connection.execute(delete(estimates_table).where(estimates_table.c.session_id.in_(ids)))
            if estimates:
                connection.execute(
                    insert(estimates_table),
                    [
                        {
                            "session_id": e.session_id,
                            "estimate": e.model_dump(mode="json"),
                            "features": features[e.session_id],
                            "model_version": e.model_version,
                        }
                        for e in estimates
                    ],
                )

    def estimates(self, session_ids: Sequence[str] | None = None) -> list[SessionEstimate]:
        """Estimates ordered by client, date and session id."""
        rows = self._select(
            select(estimates_table.c.estimate), estimates_table.c.session_id, session_ids
        )
        estimates = [SessionEstimate.model_validate(record) for (record,) in rows]
        return sorted(estimates, key=lambda e: (e.client_id, e.session_date, e.session_id))

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

    def record_run(self, run_id: str, info: dict) -> None:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.engine.begin() as connection:
            connection.execute(delete(runs_table).where(runs_table.c.run_id == run_id))
            connection.execute(insert(runs_table).values(run_id=run_id, started_at=now, info=info))
