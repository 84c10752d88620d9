"""One scoring run at a time per store and per output folder.

The locks are operating-system locks (``flock`` through :mod:`filelock`, or a PostgreSQL
session-level advisory lock), so they vanish with the process that holds them: a run killed
with ``kill -9`` never leaves a stale lock behind, and the next run starts at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pipeline.private_files import private_folder

LOCK_NAME = ".alliance-run.lock"


class RunLockedError(RuntimeError):
    """Another run holds the lock of this store or output folder."""


def _holder(info_path: Path) -> str:
    try:
        holder = json.loads(info_path.read_text())
        return f" (pid {holder['pid']} on {holder['host']}, started {holder['started']})"
    except (OSError, ValueError, KeyError):
        return ""


@contextmanager
def _file_lock(path: Path, what: str) -> Iterator[None]:
    private_folder(path.parent)
    info_path = path.with_name(path.name + ".holder")
    lock = FileLock(path, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise RunLockedError(
            f"another alliance run is using {what}{_holder(info_path)}; wait for it to finish "
            "(its lock is released automatically when it ends or is killed)"
        ) from None
    try:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": stamp}
        info_path.write_text(json.dumps(holder))
        yield
    finally:
        info_path.unlink(missing_ok=True)
        lock.release()


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    """A PostgreSQL session-level advisory lock, held on its own connection for the run."""
    key = int.from_bytes(hashlib.sha256(b"alliance-run").digest()[:8], "big", signed=True)
    engine = create_engine(url, future=True, pool_size=1)
    connection = engine.connect()
    try:
        locked = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        if not locked.scalar():
            raise RunLockedError(
                "another alliance run is writing to this PostgreSQL store; wait for it to finish "
                "(the lock is released automatically when its database session ends)"
            )
        connection.commit()
        yield
    finally:
        connection.close()
        engine.dispose()


@contextmanager
def run_lock(store_url: str, out_dir: Path) -> Iterator[None]:
    """Hold the run lock of a store and an output folder for the duration of a run.

    SQLite stores are locked with a file beside the database; PostgreSQL stores with an
    advisory lock; the output folder with a file inside it.

    Raises:
        RunLockedError: Another run holds one of the locks (the message names the holder).
    """
    url = make_url(store_url)
    with ExitStack() as stack:
        stack.enter_context(_file_lock(Path(out_dir) / LOCK_NAME, f"the output folder {out_dir}"))
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            database = Path(url.database).resolve()
            stack.enter_context(
                _file_lock(database.with_name(database.name + ".lock"), f"the store {database}")
            )
        elif url.get_backend_name() == "postgresql":
            stack.enter_context(_advisory_lock(store_url))
        yield
