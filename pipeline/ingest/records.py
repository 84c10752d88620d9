"""The record every reader yields, and the text-free helpers all readers share.

``RawRecord`` is what the source readers (``pipeline.ingest.readers``) and the FHIR reader
(``pipeline.ingest.fhir``) hand to validation: a location and either a mapping or an error.
This module imports no reader, so every reader can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RawRecord:
    """One input record before validation.

    Attributes:
        source: The file the record came from.
        location: Where in the source (``line 7``, ``row 3``, a file name, ``file``).
        data: The parsed mapping, or None when the record could not be parsed.
        error_code: Why it could not be parsed (None when ``data`` is set).
        message: A text-free explanation of the error.
    """

    source: str
    location: str
    data: Any = None
    error_code: str | None = None
    message: str = ""


def display_path(path: Path | str) -> str:
    """A path as printable text: undecodable file-name bytes become U+FFFD.

    Linux file names may hold bytes that are not UTF-8; Python keeps them as lone surrogates,
    which cannot be written to the store or to quarantine.jsonl.
    """
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_error_message(error: OSError) -> str:
    """The READ_ERROR message for a file that cannot be opened or read.

    Only ``strerror`` ("Permission denied"): ``str(error)`` would repeat the path.
    """
    reason = error.strerror or type(error).__name__
    return f"cannot read: {reason}"
