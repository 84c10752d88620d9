"""The store as alliance 0.1 created it before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(200), primary_key=True),
        sa.Column("client_id", sa.String(200), nullable=False, index=True),
        sa.Column("clinician_id", sa.String(200), nullable=False, index=True),
        sa.Column("session_date", sa.Date, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("ingested_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "passages",
        sa.Column("passage_id", sa.String(220), primary_key=True),
        sa.Column("session_id", sa.String(200), nullable=False, index=True),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("speaker", sa.String(20), nullable=False),
        sa.Column("section", sa.String(64), nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("negated", sa.Boolean, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("scores", sa.JSON, nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
    )
    op.create_table(
        "estimates",
        sa.Column("session_id", sa.String(200), primary_key=True),
        sa.Column("estimate", sa.JSON, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
    )
    op.create_table(
        "session_vectors",
        sa.Column("session_id", sa.String(200), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
    )
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(200), nullable=False, index=True),
        sa.Column("client_id", sa.String(200), nullable=False, index=True),
        sa.Column("flag", sa.JSON, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, index=True),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("info", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "runs",
        "quarantine",
        "flags",
        "session_vectors",
        "estimates",
        "passages",
        "sessions",
    ):
        op.drop_table(table)
