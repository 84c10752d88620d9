"""FHIR R4 input: clinical notes kept as DocumentReference resources in an EHR.

The public API is re-exported here: ``read_fhir``, ``looks_like_fhir``, ``FhirOptions``,
``FhirReadStats``, ``FHIR_ERROR_CODES_DOC``, ``SKIP_REASONS`` and the ``SKIP_*`` keys.

Modules, each documenting its part of the behaviour:

- ``reader``: the files read (Bundle, single resource, NDJSON), sniffing FHIR NDJSON apart
  from our JSONL, locations and the counts in ``FhirReadStats``.
- ``validation``: which DocumentReferences are skipped (statuses, psychotherapy notes under
  HIPAA, read only with ``FhirOptions.include_psychotherapy_notes``) and the model validation
  with ``fhir.resources``.
- ``mapping``: a DocumentReference as ``Session`` fields (DESIGN.md section 3).
- ``errors``: the ``FHIR_*`` error codes; ``stats`` and ``options``: the read's counts and
  options; ``elements``: tolerant accessors over the untrusted JSON.

May import (of the pipeline): ``pipeline.ingest.records`` and its own modules, which import
one another by full dotted path (``pipeline.ingest.fhir.mapping``), never through this package.
"""

from pipeline.ingest.fhir.errors import FHIR_ERROR_CODES_DOC
from pipeline.ingest.fhir.options import FhirOptions
from pipeline.ingest.fhir.reader import looks_like_fhir, read_fhir
from pipeline.ingest.fhir.stats import (
    SKIP_ENTERED_IN_ERROR,
    SKIP_NO_RESOURCE,
    SKIP_PRELIMINARY,
    SKIP_PSYCHOTHERAPY,
    SKIP_REASONS,
    SKIP_SUPERSEDED,
    FhirReadStats,
)

__all__ = [
    "FHIR_ERROR_CODES_DOC",
    "SKIP_ENTERED_IN_ERROR",
    "SKIP_NO_RESOURCE",
    "SKIP_PRELIMINARY",
    "SKIP_PSYCHOTHERAPY",
    "SKIP_REASONS",
    "SKIP_SUPERSEDED",
    "FhirOptions",
    "FhirReadStats",
    "looks_like_fhir",
    "read_fhir",
]
