"""Readers that turn the public corpora (and our labeled note passages) into training records.

One reader per corpus folder under the data directory (``../shared/data`` in development), one
module each (``epitome``, ``annomi``, ``esconv``, ``mi_boost``, ``counsel_chat``); each returns
:class:`LabeledPassage` records whose labels come from ``configs/labels.yaml`` through
:class:`pipeline.training.labels.LabelsConfig`, so no mapping lives in this package. Readers:

* validate every label against ``pipeline.model.heads`` (known head, speaker it applies to,
  class range),
* strip whitespace and skip empty texts,
* give every record a ``group`` (conversation, transcript, seeker post, question or note) so that
  splits (:func:`pipeline.training.records.split_for`) never separate related passages; AnnoMI
  fixes its transcripts' splits stratified by MI quality (``stratified_splits``),
* log counts only, never text.

Besides the readers: ``common`` (what they share), ``notes`` (our labeled note passages),
``labeled_jsonl`` (the unified labeled-passage format), ``session_targets`` (whole conversations
with session-level targets) and ``registry`` (corpus folders, dispatch by name, subsampling).

This module only re-exports; the modules import each other by full path, never through here,
so importing one of them never imports the whole package back.
"""

from __future__ import annotations

from pipeline.training.corpora.annomi import (
    ANNOMI_FULL,
    ANNOMI_SIMPLE,
    ANNOMI_SPEAKERS,
    read_annomi,
)
from pipeline.training.corpora.common import Speaker, check_labels
from pipeline.training.corpora.counsel_chat import (
    COUNSEL_CHAT_FILE,
    read_counsel_chat,
    split_sentences,
)
from pipeline.training.corpora.epitome import EPITOME_FILES, read_epitome
from pipeline.training.corpora.esconv import (
    ESCONV_FAILED,
    ESCONV_LINE_FILES,
    ESCONV_SPEAKERS,
    read_esconv,
)
from pipeline.training.corpora.labeled_jsonl import read_labeled_jsonl
from pipeline.training.corpora.mi_boost import MI_BOOST_CODE, MI_BOOST_FILE, read_mi_boost
from pipeline.training.corpora.notes import read_note_passages
from pipeline.training.corpora.registry import (
    DEFAULT_CORPORA,
    READERS,
    Reader,
    corpus_folder,
    read_corpora,
    subsample_groups,
)
from pipeline.training.corpora.session_targets import read_session_targets

__all__ = [
    "ANNOMI_FULL",
    "ANNOMI_SIMPLE",
    "ANNOMI_SPEAKERS",
    "COUNSEL_CHAT_FILE",
    "DEFAULT_CORPORA",
    "EPITOME_FILES",
    "ESCONV_FAILED",
    "ESCONV_LINE_FILES",
    "ESCONV_SPEAKERS",
    "MI_BOOST_CODE",
    "MI_BOOST_FILE",
    "READERS",
    "Reader",
    "Speaker",
    "check_labels",
    "corpus_folder",
    "read_annomi",
    "read_corpora",
    "read_counsel_chat",
    "read_epitome",
    "read_esconv",
    "read_labeled_jsonl",
    "read_mi_boost",
    "read_note_passages",
    "read_session_targets",
    "split_sentences",
    "subsample_groups",
]
