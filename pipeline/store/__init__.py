"""The result store: every result, in SQLite by default or any SQLAlchemy URL.

Owns the tables (``tables``), the store with its session, passage, estimate and flag records
(``core``), the exactly-once bookkeeping of what is pending, scored before, run or quarantined
(``bookkeeping``), schema migrations (``schema``, ``migrations/``) and the one-run-at-a-time
lock (``locking``).

May import: ``pipeline.schemas`` and its own modules. Never ``model``, ``sessions``,
``report``, ``training``, the flows or the command line.
"""
