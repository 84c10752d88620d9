"""Ingest: one reader per source format, then validation into ``Session`` records."""

from pipeline.ingest.readers import read_path
from pipeline.ingest.validate import IngestResult, ingest_paths

__all__ = ["IngestResult", "ingest_paths", "read_path"]
