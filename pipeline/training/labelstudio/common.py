"""What both halves of the Label Studio round trip agree on: file names, tag name, head set.

The export writes tasks whose ``data`` carries the passage under :data:`TEXT_NAME` and a labeling
config whose ``<Choices>`` point at that tag; the import reads the passage back from the same key.
"""

from __future__ import annotations

from pipeline.model.heads import ALLIANCE_HEADS, EMPATHY_HEADS, STYLE_HEAD

TASKS_FILE = "tasks.json"
CONFIG_FILE = "labeling_config.xml"
TEXT_NAME = "text"  # the object tag every <Choices> points at (toName)

# The heads docs/labeling.md defines for note passages (and the fixture set labels). The aux
# heads are source-native coding schemes (AnnoMI MI codes, ESConv strategies) that need their
# own coding manuals, so they are opt-in (``heads=``), mostly for transcript turns.
NOTE_HEADS: tuple[str, ...] = (*ALLIANCE_HEADS, "strain", *EMPATHY_HEADS, STYLE_HEAD)
