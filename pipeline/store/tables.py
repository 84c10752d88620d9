"""The result tables (SQLAlchemy Core) and the one join every reader of estimates uses.

Shared by the store (:mod:`pipeline.store.core`), its exactly-once bookkeeping
(:mod:`pipeline.store.bookkeeping`) and the migrations (:mod:`pipeline.store.migrations`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

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
)
from sqlalchemy.engine import Engine

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

# An estimate is current when it was made for its session's current content.
CURRENT_ESTIMATE = and_(
    sessions_table.c.session_id == estimates_table.c.session_id,
    estimates_table.c.content_hash == sessions_table.c.content_hash,
)


def chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    """``items`` in slices of ``size``: an ``IN`` list every database accepts."""
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def utc_now() -> dt.datetime:
    """Naive UTC now, as every timestamp column stores it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TableAccess:
    """What every part of the store shares: its engine and chunked ``IN`` selects."""

    engine: Engine

    def _select(self, query, column, values: Sequence[str] | None) -> list:
        """Rows of ``query``, restricted to ``column IN values`` (chunked, so any number of
        ids works on every database) or unrestricted when ``values`` is None."""
        with self.engine.connect() as connection:
            if values is None:
                return connection.execute(query).all()
            rows = []
            for chunk in chunks(list(values)):
                rows += connection.execute(query.where(column.in_(chunk))).all()
            return rows
