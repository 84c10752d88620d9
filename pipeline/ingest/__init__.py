"""Ingest: one reader per source format, then validation into ``Session`` records.

Owns the readers (JSONL, CSV, folders of text files, FHIR), validation, the quarantine codes
and the identifier guard.

May import: ``pipeline.config``, ``pipeline.schemas`` and its own modules. Never ``nlp``,
``model``, ``sessions``, ``store``, ``report``, ``training``, the flows or the command line.
"""

from pipeline.ingest.dispatch import read_path
from pipeline.ingest.validate import IngestResult, ingest_paths

__all__ = ["IngestResult", "ingest_paths", "read_path"]
