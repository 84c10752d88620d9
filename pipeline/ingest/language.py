"""Language guard: a note or transcript not in a supported language is quarantined.

The passage model reads English; a Spanish or German progress note would still get estimates,
and they would look as confident as any other. The guard runs `lingua` (a maintained language
identifier whose models ship inside its PyPI wheel: nothing is downloaded, nothing unpickled)
over the session's text and quarantines it as ``UNSUPPORTED_LANGUAGE`` when it reads, with
enough confidence, as a language outside ``ingest.languages``.

English notes that quote another language, very short notes ("Pt no-show.") and notes full of
abbreviations must still be scored, so the guard only says no when it is sure: the text needs
``ingest.language_min_chars`` letters, the winning language at least
``ingest.language_min_confidence`` of the detector's confidence, and, read as a mixed text,
less than ``ingest.language_keep_share`` of its characters may be in a supported language.
The detector chooses among the supported languages and :data:`CANDIDATES`, the languages a
clinic's notes most often come in, so that rare lookalikes do not win on a few words.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from pipeline.config import IngestConfig
from pipeline.schemas import Session

ERROR_CODE = "UNSUPPORTED_LANGUAGE"
# ISO 639-1 codes of the languages the detector weighs besides the supported ones.
CANDIDATES = (
    "en", "es", "pt", "fr", "de", "it", "nl", "pl", "sv", "da", "nb", "fi", "tr", "ru", "uk",
    "ro", "cs", "el", "ar", "fa", "he", "hi", "bn", "zh", "ja", "ko", "vi", "tl", "id", "so",
)  # fmt: skip


@functools.cache
def known_languages() -> dict[str, object]:
    """ISO 639-1 code -> lingua ``Language``, for every language the detector knows."""
    from lingua import Language

    return {language.iso_code_639_1.name.lower(): language for language in Language.all()}


@functools.lru_cache(maxsize=4)
def _detector(supported: tuple[str, ...]):
    """The detector over the supported languages and the known :data:`CANDIDATES`."""
    from lingua import LanguageDetectorBuilder

    known = known_languages()
    codes = sorted(c for c in {*CANDIDATES, *supported} if c in known)
    return LanguageDetectorBuilder.from_languages(*(known[c] for c in codes)).build()


def detect(text: str, supported: Sequence[str] = ("en",)) -> tuple[str, float]:
    """The most likely language of ``text`` (ISO 639-1) and the detector's confidence, 0-1."""
    values = _detector(tuple(supported)).compute_language_confidence_values(text)
    if not values:
        return "", 0.0
    best = values[0]
    return best.language.iso_code_639_1.name.lower(), float(best.value)


def supported_share(text: str, supported: Sequence[str] = ("en",)) -> float:
    """Share of ``text``'s characters that read as a supported language when the detector
    splits a mixed text into its languages (an English note quoting Polish stays English)."""
    segments = _detector(tuple(supported)).detect_multiple_languages_of(text)
    total = sum(s.end_index - s.start_index for s in segments)
    if not total:
        return 0.0
    inside = sum(
        s.end_index - s.start_index
        for s in segments
        if s.language.iso_code_639_1.name.lower() in supported
    )
    return inside / total


def session_text(session: Session) -> str:
    """The note, or every turn's text, as one string."""
    if session.note is not None:
        return session.note
    return "\n".join(turn.text for turn in session.turns or [])


def language_problem(session: Session, limits: IngestConfig) -> tuple[str, str] | None:
    """``(UNSUPPORTED_LANGUAGE, message)`` when the session is surely not in a supported
    language; None when it is, when it is too short to tell, or when the guard is off."""
    if limits.languages is None:
        return None
    text = session_text(session)
    if sum(c.isalpha() for c in text) < limits.language_min_chars:
        return None
    language, confidence = detect(text, limits.languages)
    if language in limits.languages or confidence < limits.language_min_confidence:
        return None
    # Only then the costlier mixed-text reading: an English note that quotes another language
    # keeps most of its characters in English.
    if supported_share(text, limits.languages) >= limits.language_keep_share:
        return None
    return ERROR_CODE, (
        f"the text reads as language '{language}' (confidence {confidence:.2f}); "
        f"ingest.languages allows {', '.join(limits.languages)}. Set ingest.languages to "
        "include it, or to null, to score it anyway"
    )
