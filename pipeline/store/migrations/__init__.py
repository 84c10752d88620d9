"""Alembic migrations of the result store (applied automatically when a store is opened)."""
