"""Picks the reader for an input path: our JSONL, CSV or text folder, or FHIR.

The only module that knows both ``pipeline.ingest.readers`` and ``pipeline.ingest.fhir``, so
neither of them imports the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.ingest.fhir import FhirOptions, FhirReadStats, looks_like_fhir, read_fhir
from pipeline.ingest.readers import read_csv, read_folder, read_jsonl
from pipeline.ingest.records import RawRecord


def read_path(
    path: Path, fhir_options: FhirOptions | None = None, fhir_stats: FhirReadStats | None = None
) -> Iterator[RawRecord]:
    """Dispatch on the path: a folder, ``.jsonl``/``.ndjson`` (our JSONL, or FHIR NDJSON when
    its first object has a ``resourceType``), ``.json`` (a FHIR Bundle or resource), ``.csv``.

    Args:
        path: A file or folder.
        fhir_options: :class:`pipeline.ingest.fhir.FhirOptions` for FHIR inputs.
        fhir_stats: A :class:`pipeline.ingest.fhir.FhirReadStats` that FHIR inputs count into.

    Raises:
        FileNotFoundError: The path does not exist.
        ValueError: The file type is not supported (names the supported ones).
    """
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    if path.is_dir():
        return read_folder(path)
    if path.suffix in {".json", ".jsonl", ".ndjson"}:
        if path.suffix == ".json" or looks_like_fhir(path):
            return read_fhir(path, fhir_options, fhir_stats)
        return read_jsonl(path)
    if path.suffix == ".csv":
        return read_csv(path)
    raise ValueError(
        f"unsupported input {path}: use .jsonl, .csv, a FHIR .json Bundle or .ndjson export, "
        "or a folder of .txt/.md files"
    )
