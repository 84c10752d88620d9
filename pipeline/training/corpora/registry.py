"""Which corpora exist and how to read several at once: folder lookup, dispatch, subsampling.

Maps each corpus folder name under the data directory to its reader (:data:`READERS`), names the
labeled ones read by default (:data:`DEFAULT_CORPORA`) and reads several into one list, optionally
capped per corpus by whole groups so conversations are never cut.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pipeline.training.corpora.annomi import read_annomi
from pipeline.training.corpora.common import _DATA_HINT, _labels_or_default
from pipeline.training.corpora.counsel_chat import read_counsel_chat
from pipeline.training.corpora.epitome import read_epitome
from pipeline.training.corpora.esconv import read_esconv
from pipeline.training.corpora.mi_boost import read_mi_boost
from pipeline.training.labels import LabelsConfig
from pipeline.training.records import LabeledPassage

logger = logging.getLogger(__name__)

# Folders read by default: the labeled corpora. counsel_chat is unlabeled and opt-in.
DEFAULT_CORPORA = ("epitome", "annomi", "esconv", "mi_boost")

Reader = Callable[[Path, LabelsConfig | None], list[LabeledPassage]]

READERS: dict[str, Reader] = {
    "epitome": read_epitome,
    "annomi": read_annomi,
    "esconv": read_esconv,
    "mi_boost": read_mi_boost,
    "counsel_chat": read_counsel_chat,
}


def corpus_folder(data_dir: Path, name: str) -> Path:
    """The folder of one corpus under the data directory.

    Raises:
        FileNotFoundError: The folder is missing (the message names it and how to fix it).
    """
    folder = Path(data_dir) / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus folder {name!r} not found: expected {folder}; {_DATA_HINT}"
        )
    return folder


def subsample_groups(
    passages: Sequence[LabeledPassage], max_passages: int, seed: int = 0
) -> list[LabeledPassage]:
    """Keep at most ``max_passages`` passages, choosing whole groups in a seeded random order.

    Groups are visited in a shuffled order and kept while they fit, so conversations are never
    cut; a group larger than the budget is skipped. Passage order is preserved.
    """
    sizes: dict[str, int] = defaultdict(int)
    for passage in passages:
        sizes[passage.group] += 1
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    kept: set[str] = set()
    total = 0
    for group in order:
        if total + sizes[group] <= max_passages:
            kept.add(group)
            total += sizes[group]
    return [passage for passage in passages if passage.group in kept]


def read_corpora(
    data_dir: Path,
    names: Sequence[str] | None = None,
    labels: LabelsConfig | None = None,
    max_per_source: int | None = None,
    seed: int = 0,
) -> list[LabeledPassage]:
    """Read several corpora by folder name.

    Args:
        data_dir: Folder holding one sub-folder per corpus (``../shared/data`` in development).
        names: Corpus folder names; defaults to the labeled ones (:data:`DEFAULT_CORPORA`).
        labels: Label definitions; defaults to ``configs/labels.yaml``.
        max_per_source: Cap on passages per corpus, reached by whole groups (see
            :func:`subsample_groups`); None keeps everything.
        seed: Seed of the group subsampling.

    Returns:
        The passages of every corpus, in the order of ``names``.

    Raises:
        ValueError: An unknown corpus name.
        FileNotFoundError: A corpus folder or file is missing.
    """
    config = _labels_or_default(labels)
    names = DEFAULT_CORPORA if names is None else tuple(names)
    unknown = [name for name in names if name not in READERS]
    if unknown:
        raise ValueError(f"unknown corpus name(s) {unknown}; known: {sorted(READERS)}")
    passages: list[LabeledPassage] = []
    for name in names:
        records = READERS[name](corpus_folder(data_dir, name), config)
        if max_per_source is not None:
            records = subsample_groups(records, max_per_source, seed)
        logger.info("%s: %d passages in %d groups", name, len(records), _count_groups(records))
        passages.extend(records)
    return passages


def _count_groups(passages: Iterable[LabeledPassage]) -> int:
    return len({passage.group for passage in passages})
