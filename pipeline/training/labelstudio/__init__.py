"""Annotation round trip with Label Studio: export passages from the store, import the labels.

``export`` (:func:`export_labelstudio`) writes ``tasks.json`` and ``labeling_config.xml`` for a
Label Studio project from the scored passages of the store; ``importer``
(:func:`import_labelstudio`) turns the project's "JSON" export back into the labeled-passage
JSONL that ``alliance train --notes FILE`` reads; ``common`` holds what both sides agree on.

Note text is sensitive: the export necessarily holds it (that is its purpose), so both written
files are readable by their owner only and must stay inside the clinic's environment. Nothing
here logs or raises with note text; messages name task and passage ids, heads and class names.

This module only re-exports; its modules import each other by full path, never through here.
"""

from __future__ import annotations

from pipeline.training.labelstudio.common import CONFIG_FILE, NOTE_HEADS, TASKS_FILE, TEXT_NAME
from pipeline.training.labelstudio.export import (
    GUIDE,
    ExportSummary,
    build_tasks,
    check_heads,
    export_labelstudio,
    head_probabilities,
    labeling_config,
    prediction,
)
from pipeline.training.labelstudio.importer import (
    SOURCE_BY_KIND,
    ImportReport,
    import_annotations,
    import_labelstudio,
    read_labelstudio_export,
)

__all__ = [
    "CONFIG_FILE",
    "GUIDE",
    "NOTE_HEADS",
    "SOURCE_BY_KIND",
    "TASKS_FILE",
    "TEXT_NAME",
    "ExportSummary",
    "ImportReport",
    "build_tasks",
    "check_heads",
    "export_labelstudio",
    "head_probabilities",
    "import_annotations",
    "import_labelstudio",
    "labeling_config",
    "prediction",
    "read_labelstudio_export",
]
