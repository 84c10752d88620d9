"""The spaCy pipeline: medspaCy sections -> sentence passages -> medspaCy ConText negation.

Components are registered as spaCy factories prefixed ``alliance_``. Build the pipeline with
:func:`build_nlp`; it needs no downloaded spaCy model (a blank English tokenizer is enough).
"""

from functools import lru_cache
from pathlib import Path

import spacy
from loguru import logger as _loguru
from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.nlp.sections import build_section_rules, load_sections

SENTENCE_END = {".", "!", "?", "..."}
ABBREVIATIONS = {
    "pt",
    "dr",
    "mr",
    "mrs",
    "ms",
    "e.g",
    "i.e",
    "eg",
    "ie",
    "vs",
    "approx",
    "etc",
    "hx",
    "dx",
    "tx",
    "sx",
    "rx",
    "wk",
    "wks",
    "min",
    "mins",
    "no",
    "st",
    "appt",
    "cont",
    "f/u",
    "fu",
}

if not Span.has_extension("alliance_section"):
    Span.set_extension("alliance_section", default=None)


def _sentence_end(doc: Doc, i: int) -> bool:
    """True when token ``i`` closes a sentence (final punctuation, not an abbreviation's dot)."""
    token = doc[i]
    if token.text not in SENTENCE_END and not token.text.endswith((".!", "?!", "!?")):
        return False
    return not (token.text == "." and i > 0 and doc[i - 1].lower_.rstrip(".") in ABBREVIATIONS)


@Language.factory("alliance_sentences")
def make_sentences(nlp: Language, name: str):
    """Sentence boundaries for clinical notes.

    Sets ``token.is_sent_start`` on every token: a sentence starts at the first token, after a
    line break, at each section header and section body (from ``doc._.sections``), and after
    sentence-final punctuation unless the next word is lower-case or the dot ends a known
    abbreviation ("Pt. was on time").
    """

    def sentences(doc: Doc) -> Doc:
        forced = set()
        for section in getattr(doc._, "sections", []) or []:
            forced.update((section.title_start, section.title_end, section.body_start))
        previous_ended = True
        for i, token in enumerate(doc):
            start = previous_ended or i in forced
            if i > 0 and "\n" in doc[i - 1].text:
                start = True
            token.is_sent_start = start
            next_token = doc[i + 1] if i + 1 < len(doc) else None
            previous_ended = _sentence_end(doc, i) and (
                next_token is None or not next_token.text[:1].islower()
            )
        return doc

    return sentences


@Language.factory("alliance_passages", default_config={"default_section": "body"})
def make_passages(nlp: Language, name: str, default_section: str):
    """Passages for ConText: each sentence, trimmed of whitespace and headers, becomes an entity.

    Sets ``doc.ents`` (label ``PASSAGE``) and ``span._.alliance_section`` (the medspaCy section
    category, or ``default_section`` before the first header). Header-only sentences are dropped.
    """

    def passages(doc: Doc) -> Doc:
        header_tokens = set()
        section_of = [default_section] * len(doc)
        for section in getattr(doc._, "sections", []) or []:
            header_tokens.update(range(section.title_start, section.title_end))
            for j in range(section.title_start, section.body_end):
                section_of[j] = section.category or default_section
        spans = []
        for sent in doc.sents:
            kept = [t.i for t in sent if not t.is_space and t.i not in header_tokens]
            if not kept or all(doc[j].is_punct for j in kept):
                continue
            span = Span(doc, kept[0], kept[-1] + 1, label="PASSAGE")
            span._.alliance_section = section_of[kept[0]]
            spans.append(span)
        doc.ents = spans
        return doc

    return passages


def build_nlp(sections_file: Path, default_section: str = "body") -> Language:
    """Build the note-processing pipeline.

    Args:
        sections_file: YAML with section header rules (``configs/sections.yaml``).
        default_section: Section name for text before the first header.

    Returns:
        A spaCy ``Language`` with medspacy_sectionizer, alliance_sentences, alliance_passages
        and medspacy_context.
    """
    # medspaCy's PyRuSH logs tokens at DEBUG through loguru: that is note text, so silence it.
    _loguru.disable("PyRuSH")
    _loguru.disable("medspacy")
    nlp = spacy.blank("en")
    sectionizer = nlp.add_pipe(
        "medspacy_sectionizer",
        config={"rules": None, "require_start_line": True, "phrase_matcher_attr": "LOWER"},
    )
    sectionizer.add(build_section_rules(load_sections(sections_file)))
    nlp.add_pipe("alliance_sentences")
    nlp.add_pipe("alliance_passages", config={"default_section": default_section})
    nlp.add_pipe("medspacy_context", config={"rules": "default"})
    return nlp


@lru_cache(maxsize=4)
def cached_nlp(sections_file: Path, default_section: str = "body") -> Language:
    """One pipeline per (rules, default section) per process: building it takes ~1 s."""
    return build_nlp(sections_file, default_section)
