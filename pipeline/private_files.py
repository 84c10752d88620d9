"""Owner-only files and folders for everything that holds note text or estimates.

A run's outputs (the SQLite store and its WAL/journal files, report.html, the contract files,
Label Studio exports, labeled-data files) are readable by the owner alone, whatever the
process umask: files are created 0600 and a folder the tool creates is 0700. SQLite creates
its ``-wal``, ``-shm`` and ``-journal`` files with the database file's own permissions, so the
database file is created owner-only before SQLite first opens it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing folder is left as it is,
    since it is the user's."""
    path = Path(path)
    missing = []
    for parent in (path, *path.parents):
        if parent.exists():
            break
        missing.append(parent)
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, FOLDER_MODE)  # mkdir's mode is masked by the umask; chmod is not
    return path


def open_private(path: Path, mode: str = "w", encoding: str = "utf-8"):
    """Open ``path`` for writing, creating or truncating it with owner-only permissions."""
    path = Path(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.chmod(path, FILE_MODE)  # an existing file keeps its old mode through os.open
    return os.fdopen(descriptor, mode, encoding=encoding)


def touch_private(path: Path) -> Path:
    """Make sure ``path`` exists and is owner-only (e.g. a SQLite database before it opens).

    An existing file is only chmod-ed, never opened: closing any descriptor of a SQLite
    database releases every POSIX lock the process holds on it, so opening and closing a live
    database here would let another writer corrupt it.
    """
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path
