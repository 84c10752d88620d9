"""Exactly-once nightly runs: estimates remember the content they scored; history tables.

Estimates gain ``content_hash``, ``run_id`` and ``scored_at``; amended sessions keep their
earlier records in ``session_history`` and earlier estimates in ``estimate_history``.
Existing estimates are attributed to their session's current content and to run ``pre-0002``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(200), nullable=False, index=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("ingested_at", sa.DateTime, nullable=False),
        sa.Column("superseded_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "estimate_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(200), nullable=False, index=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("estimate", sa.JSON, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("scored_at", sa.DateTime, nullable=False),
        sa.Column("superseded_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("estimates") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("run_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("scored_at", sa.DateTime, nullable=True))
    sessions = sa.table("sessions", sa.column("session_id"), sa.column("content_hash"))
    estimates = sa.table(
        "estimates",
        sa.column("session_id"),
        sa.column("content_hash"),
        sa.column("run_id"),
        sa.column("scored_at"),
    )
    current = (
        sa.select(sessions.c.content_hash)
        .where(sessions.c.session_id == estimates.c.session_id)
        .scalar_subquery()
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.execute(
        estimates.update().values(
            content_hash=sa.func.coalesce(current, ""), run_id="pre-0002", scored_at=now
        )
    )
    with op.batch_alter_table("estimates") as batch:
        batch.alter_column("content_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("run_id", existing_type=sa.String(64), nullable=False)
        batch.alter_column("scored_at", existing_type=sa.DateTime, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("estimates") as batch:
        batch.drop_column("scored_at")
        batch.drop_column("run_id")
        batch.drop_column("content_hash")
    op.drop_table("estimate_history")
    op.drop_table("session_history")
