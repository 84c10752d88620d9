"""Residual identifier guard: finds identifiers that de-identification missed.

Notes arrive de-identified, but mistakes happen. The guard looks for eight kinds of identifier
(:data:`ENTITIES`) with Presidio recognizers called directly, without an NLP model: Presidio's
own recognizers for e-mail addresses, phone numbers (``phonenumbers``), US SSNs and URLs, and
cue-based ``PatternRecognizer``\\ s of ours for street addresses, dates of birth and medical
record numbers, and for SSNs, phone numbers and e-mail addresses after a cue, whose shape is
enough there, valid or not. Dates, scores and counts are everywhere in therapy notes, so a date
is a date of birth only after a birth cue ("DOB", "born on") and a number is a record number
only after a record cue ("MRN", "chart no."). Left-over person names (``PERSON``) come from
:mod:`pipeline.ingest.names` (cue words and Faker's name lists) and have a policy of their own.

Everything that reports on a finding (:func:`describe_findings`, :class:`SessionFinding`)
carries entity types and positions only, never the matched text: leaking the identifier in a
log or quarantine file would defeat the guard.

Presidio is imported when the first guard is built, not on import: it pulls in ``transformers``
(seconds), which ``alliance --help`` should not pay for.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.config import IDENTIFIER_ENTITIES as ENTITIES
from pipeline.config import IdentifierGuardConfig as GuardConfig
from pipeline.ingest.names import get_finder
from pipeline.schemas import Session

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

PLACEHOLDERS: dict[str, str] = {entity: f"[{entity}]" for entity in ENTITIES}
ERROR_CODE = "IDENTIFIER_FOUND"

# Presidio's entity names -> ours.
_PRESIDIO_NAMES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "US_SSN": "SSN"}
_TRAILING_PUNCTUATION = ".,;:!?'\")]"
_MAX_LISTED = 10


@dataclass(frozen=True)
class Finding:
    """One identifier found in a text: its entity type, character span and recognizer score."""

    entity: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class SessionFinding:
    """A finding in a session, located by field (``note`` or ``turn N``, 0-based); no text."""

    location: str
    entity: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class GuardResult:
    """Outcome of :func:`apply_guard`.

    Attributes:
        session: The session to keep (redacted under ``redact``), or None when it must be
            quarantined.
        findings: Everything found, as text-free summaries.
        message: Text-free description of the findings for ``quarantine.jsonl``; "" if none.
    """

    session: Session | None
    findings: tuple[SessionFinding, ...]
    message: str


# --- patterns for what Presidio has no recognizer for -------------------------------------------
# Variable-length lookbehinds keep the cue out of the span, so "DOB: 03/14/1985" redacts to
# "DOB: [DOB]"; Presidio matches with the ``regex`` module, which supports them.

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# A full date with a year; a day and month alone ("on 3/4") cannot be a date of birth.
_FULL_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?![\d/.-]\d)"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?!\d)"
    rf"|{_MONTH}\s+{_DAY},?\s+\d{{4}}(?!\d)"
    rf"|(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}(?!\d)"
    rf"|\d{{1,2}}[-/ ]{_MONTH}[-/ ]\d{{2,4}}(?!\d)"
    r"|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:19|20)\d{2}(?!\d))"
)
_DOB_CUE = r"(?:\bd\.?o\.?b\b\.?|\bdate\s+of\s+birth|\bbirth\s*date|\bborn(?:\s+(?:on|in))?)"
_LINK = r"\s*(?:[:#=\-–]|\bis\b|\bwas\b|\bof\b)?\s*"
DOB_REGEX = rf"(?<={_DOB_CUE}{_LINK})\b{_FULL_DATE}"

_MRN_CUE = (
    r"(?:\bmrn(?![a-z])|\bm\.r\.n\.?|\bmr\s*#|\bmedical\s+record(?:\s*(?:number|num\b\.?|no\b\.?|#))?"
    r"|\b(?:patient\s+)?record\s*(?:number|num\b\.?|no\b\.?|#)"
    r"|\bchart\s*(?:number|num\b\.?|no\b\.?|#)|\bpatient\s+id(?:entifier)?\b|\bpt\.?\s+id\b)"
)
# "MRN" may be glued to a number ("MRN00123456") but not to a letter ("mRNA-1273" is a vaccine).
# Letters, digits and hyphens with at least four digits: "00123456", "A-778812", "MR-2024-0012".
_RECORD_ID = r"(?=[a-z0-9-]*?\d(?:[a-z0-9-]*?\d){3})[a-z0-9](?:[a-z0-9-]{2,22})[a-z0-9]\b"
MRN_REGEX = rf"(?<={_MRN_CUE}{_LINK}#?\s*){_RECORD_ID}"

# SSNs written without separators are too ambiguous for Presidio's weak (0.05) pattern; after a
# cue word they are not.
_SSN_CUE = r"(?:\bssn\b|\bsocial\s+security(?:\s*(?:number|no\b\.?|#))?|\bss\s*#)"
SSN_CUED_REGEX = rf"(?<={_SSN_CUE}{_LINK}#?\s*)\b\d{{3}}([- .]?)\d{{2}}\1\d{{4}}\b"

# After a cue, the shape alone is an identifier, valid or not: Presidio's recognizers drop
# numbers that could never be issued (SSN area 000 or 666, "123-45-6789") and addresses
# without a known domain, which is right for open text but wrong for a guard on notes that
# should hold none. Cues: "SSN", "phone"/"cell"/"call", "e-mail"; DOB and MRN are cued above.
_PHONE_CUE = (
    r"(?:\b(?:tele)?phone(?:\s+(?:number|no\b\.?|#))?|\bcell(?:\s+phone)?|\bmobile|\btel\b\.?"
    r"|\bph\b\.?|\bfax|\bcall(?:ed)?(?:\s+back)?(?:\s+(?:her|him|them|client))?(?:\s+at)?"
    r"|\btext(?:ed)?(?:\s+at)?)"
)
_PHONE_SHAPE = r"(?:(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}|\d{3}[-. ]\d{4})(?![\d-])"
PHONE_CUED_REGEX = rf"(?<={_PHONE_CUE}{_LINK})(?<![\d-]){_PHONE_SHAPE}"
_EMAIL_CUE = r"(?:\be-?mail(?:\s+address)?|\bemailed\s+from)"
EMAIL_CUED_REGEX = (
    rf"(?<={_EMAIL_CUE}{_LINK})[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?<![.-])"
)

# Street addresses are matched case-sensitively: a house number, one to four capitalised words
# (or an ordinal, "5th") and a street suffix, then an optional unit and "City, ST 12345".
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way"
    r"|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Plaza|Loop|Pike"
    r"|Row|Crescent|Cres)"
)
_STREET_NAME = r"(?:[A-Z][a-z'’-]+|\d{1,3}(?:st|nd|rd|th))(?:\s+[A-Z][a-z'’-]+){0,3}"
_DIRECTION = r"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
_UNIT = r"(?:,?\s+(?:Apt|Apartment|Unit|Suite|Ste|Fl|Floor|Rm|#)\.?\s*#?\s*[A-Za-z0-9-]{1,6}\b)?"
_CITY_STATE_ZIP = (
    r"(?:,\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2},?\s+[A-Z]{2}\b(?:\s+\d{5}(?:-\d{4})?\b)?)?"
)
ADDRESS_REGEX = (
    rf"\b\d{{1,6}}[A-Za-z]?\s+{_DIRECTION}{_STREET_NAME}\s+{_STREET_SUFFIX}\b\.?"
    rf"{_UNIT}{_CITY_STATE_ZIP}"
)
PO_BOX_REGEX = r"(?i:\bp\.?\s?o\.?\s+box)\s+\d{1,6}\b"

# A URL without a scheme or "www." needs a common TLD or a path: Presidio's list of TLDs also
# matches typos such as "sleep.it" or "mood.Me" (a missing space after a full stop).
_COMMON_TLDS = frozenset(
    ["com", "org", "net", "edu", "gov", "mil", "int", "info", "io", "co", "us", "uk", "ca"]
    + ["biz", "app", "dev", "health", "care", "online", "site"]
)


_LOCAL_PHONE = re.compile(r"\d{3}[-. ]\d{4}")


def _plausible_phone(candidate: str) -> bool:
    """Reject what lenient ``phonenumbers`` matching takes for a number in clinical text.

    Month ranges ("1/2026-3/2026") and CPT codes with modifiers ("90837-95") pass as possible
    numbers; a phone number has a country code, ten digits, or the local "201-3344" shape.
    """
    if "/" in candidate:
        return False
    digits = sum(c.isdigit() for c in candidate)
    if candidate.startswith("+"):
        return digits >= 8
    return digits >= 10 or _LOCAL_PHONE.fullmatch(candidate) is not None


# --- the guard ------------------------------------------------------------------------------------


class IdentifierGuard:
    """Finds and redacts identifiers in free text; build once, reuse (see :func:`get_guard`).

    Args:
        config: Which entities to look for and the minimum recognizer score; defaults apply
            when None.
    """

    def __init__(self, config: GuardConfig | None = None) -> None:
        self.config = config or GuardConfig()
        # Kinds whose policy is off are not looked for at all.
        entities = [e for e in self.config.entities if self.policy_for(e) != "off"]
        self._recognizers = _build_recognizers(
            tuple(entities),
            tuple(self.config.phone_regions),
            self.config.phone_leniency,
            tuple(self.config.person_allow),
        )

    def policy_for(self, entity: str) -> str:
        """``quarantine``, ``redact`` or ``off`` for findings of ``entity``."""
        return _policy_of(self.config, entity)

    @property
    def active(self) -> bool:
        """Whether any kind is looked for (every policy ``off`` skips the guard)."""
        return guard_active(self.config)

    def find(self, text: str) -> list[Finding]:
        """Identifiers in ``text``, non-overlapping and sorted by start.

        Where spans overlap, the higher score wins, then the longer span (an e-mail's domain is
        also a URL; the e-mail is validated and scores higher); a PERSON span loses to any other.
        """
        candidates = []
        for recognizer in self._recognizers:
            for result in recognizer.analyze(text, recognizer.supported_entities, None):
                if result.score < self.config.min_score:
                    continue
                entity = _PRESIDIO_NAMES.get(result.entity_type, result.entity_type)
                start, end = result.start, result.end
                if entity == "URL":
                    # Presidio's URL path pattern swallows a sentence's final full stop.
                    while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
                        end -= 1
                candidates.append(Finding(entity, start, end, round(result.score, 3)))
        # A name loses to any other kind it overlaps ("P.O. Box 778" is an address).
        candidates.sort(key=lambda f: (f.entity == "PERSON", -f.score, f.start - f.end, f.start))
        kept: list[Finding] = []
        for finding in candidates:
            if all(finding.end <= k.start or finding.start >= k.end for k in kept):
                kept.append(finding)
        return sorted(kept, key=lambda f: f.start)

    def redact(self, text: str) -> str:
        """``text`` with every finding replaced by its placeholder, e.g. ``[PHONE]``."""
        for finding in reversed(self.find(text)):
            text = text[: finding.start] + PLACEHOLDERS[finding.entity] + text[finding.end :]
        return text


def _policy_of(config: GuardConfig, entity: str) -> str:
    return config.person_policy if entity == "PERSON" else config.policy


def guard_active(config: GuardConfig) -> bool:
    """Whether ``config`` looks for anything (without building the recognizers)."""
    return any(_policy_of(config, entity) != "off" for entity in config.entities)


def get_guard(config: GuardConfig | None = None) -> IdentifierGuard:
    """A shared guard for ``config`` (built once per distinct configuration)."""
    return _guard_for((config or GuardConfig()).model_dump_json())


@functools.lru_cache(maxsize=8)
def _guard_for(config_json: str) -> IdentifierGuard:
    return IdentifierGuard(GuardConfig.model_validate_json(config_json))


# --- sessions -------------------------------------------------------------------------------------


def _texts(session: Session) -> list[tuple[str, str]]:
    if session.note is not None:
        return [("note", session.note)]
    return [(f"turn {i}", turn.text) for i, turn in enumerate(session.turns or [])]


def screen_session(session: Session, guard: IdentifierGuard) -> list[SessionFinding]:
    """Findings in a session's note or in each of its turns, without the matched text."""
    return [
        SessionFinding(location, f.entity, f.start, f.end, f.score)
        for location, text in _texts(session)
        for f in guard.find(text)
    ]


def redact_session(session: Session, guard: IdentifierGuard) -> Session:
    """A copy of ``session`` whose note or turn texts have every finding redacted."""
    if session.note is not None:
        return session.model_copy(update={"note": guard.redact(session.note)})
    turns = [t.model_copy(update={"text": guard.redact(t.text)}) for t in session.turns or []]
    return session.model_copy(update={"turns": turns})


def describe_findings(findings: list[SessionFinding] | tuple[SessionFinding, ...]) -> str:
    """A message with entity types, counts and positions only; "" when nothing was found.

    Example: ``possible identifiers (3): EMAIL x1 (note 120-138); PHONE x2 (turn 3 5-17,
    turn 4 0-12)``. At most ten positions are listed per entity.
    """
    if not findings:
        return ""
    by_entity: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        by_entity[f.entity].append(f"{f.location} {f.start}-{f.end}")
    parts = []
    for entity in sorted(by_entity, key=lambda e: ENTITIES.index(e) if e in ENTITIES else 99):
        places = by_entity[entity]
        listed = ", ".join(places[:_MAX_LISTED])
        more = f", +{len(places) - _MAX_LISTED} more" if len(places) > _MAX_LISTED else ""
        parts.append(f"{entity} x{len(places)} ({listed}{more})")
    return f"possible identifiers ({len(findings)}): " + "; ".join(parts)


def apply_guard(session: Session, guard: IdentifierGuard) -> GuardResult:
    """Apply the guard's policies to one validated session.

    Each finding follows the policy of its kind (``PERSON``: ``person_policy``; the others:
    ``policy``); kinds that are ``off`` are not looked for.

    Returns:
        ``session`` None when any finding's policy is ``quarantine``; otherwise the copy with
        every finding redacted (unchanged when nothing was found). ``message`` is text-free.
    """
    if not guard.active:
        return GuardResult(session, (), "")
    findings = tuple(screen_session(session, guard))
    if not findings:
        return GuardResult(session, (), "")
    message = describe_findings(findings)
    if any(guard.policy_for(f.entity) == "quarantine" for f in findings):
        return GuardResult(None, findings, message)
    return GuardResult(redact_session(session, guard), findings, message)


# --- recognizers ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _build_recognizers(
    entities: tuple[str, ...],
    phone_regions: tuple[str, ...],
    phone_leniency: int,
    person_allow: tuple[str, ...] = (),
) -> tuple[EntityRecognizer, ...]:
    import tldextract
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
        UsSsnRecognizer,
    )

    # No suffix-list URLs and no cache: tldextract uses its bundled snapshot and never fetches
    # the Public Suffix List (Presidio's default extractor may, and the machines are offline).
    offline_extract = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_extract(pattern_text).fqdn != ""

    class CheckedPhoneRecognizer(PhoneRecognizer):
        def analyze(self, text, entities, nlp_artifacts=None):
            results = super().analyze(text, entities, nlp_artifacts)
            return [r for r in results if _plausible_phone(text[r.start : r.end])]

    class BoundedUrlRecognizer(UrlRecognizer):
        def invalidate_result(self, pattern_text: str) -> bool:
            lowered = pattern_text.lower()
            if lowered.startswith(("http://", "https://", "www")):
                return False
            host, _, path = pattern_text.partition("/")
            tld = host.rsplit(".", 1)[-1]
            return not tld.islower() or (tld not in _COMMON_TLDS and not path)

    class PersonNameRecognizer(EntityRecognizer):
        """Presidio's face for :class:`pipeline.ingest.names.PersonFinder`."""

        def __init__(self) -> None:
            super().__init__(supported_entities=["PERSON"], name="PersonNameRecognizer")
            self.finder = get_finder(person_allow)

        def load(self) -> None:  # the name lists load in get_finder
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [
                RecognizerResult("PERSON", s, e, score) for s, e, score in self.finder.find(text)
            ]

    base = UrlRecognizer.BASE_URL_REGEX
    # Presidio's URL patterns have no word boundaries, so "sleep.Client" would match "sleep.cl".
    url_patterns = [
        Pattern("Standard Url", rf"(?i)\bhttps?://{base}(?!\w)", 0.6),
        Pattern("Non schema URL", rf"(?i)(?<![\w@.-]){base}(?!\w)", 0.5),
    ]
    case_sensitive = re.DOTALL | re.MULTILINE  # Presidio's default adds IGNORECASE

    def cued(entity: str, name: str, regex: str) -> PatternRecognizer:
        # No validation step: after a cue, the shape is enough (see PHONE_CUED_REGEX).
        return PatternRecognizer(
            supported_entity=entity, name=name, patterns=[Pattern(name, regex, 0.85)]
        )

    factories: dict[str, Any] = {
        "EMAIL": lambda: (
            OfflineEmailRecognizer(),
            cued("EMAIL_ADDRESS", "CuedEmailRecognizer", EMAIL_CUED_REGEX),
        ),
        "PHONE": lambda: (
            CheckedPhoneRecognizer(supported_regions=phone_regions, leniency=phone_leniency),
            cued("PHONE_NUMBER", "CuedPhoneRecognizer", PHONE_CUED_REGEX),
        ),
        "SSN": lambda: (UsSsnRecognizer(), cued("US_SSN", "CuedSsnRecognizer", SSN_CUED_REGEX)),
        "URL": lambda: BoundedUrlRecognizer(patterns=url_patterns),
        "ADDRESS": lambda: PatternRecognizer(
            supported_entity="ADDRESS",
            name="StreetAddressRecognizer",
            patterns=[
                Pattern("Street address", ADDRESS_REGEX, 0.6),
                Pattern("PO box", PO_BOX_REGEX, 0.6),
            ],
            global_regex_flags=case_sensitive,
        ),
        "DOB": lambda: PatternRecognizer(
            supported_entity="DOB",
            name="DateOfBirthRecognizer",
            patterns=[Pattern("Cued date of birth", DOB_REGEX, 0.85)],
        ),
        "MRN": lambda: PatternRecognizer(
            supported_entity="MRN",
            name="MedicalRecordNumberRecognizer",
            patterns=[Pattern("Cued record number", MRN_REGEX, 0.85)],
        ),
        "PERSON": PersonNameRecognizer,
    }
    built = []
    for entity in dict.fromkeys(entities):
        made = factories[entity]()
        built += list(made) if isinstance(made, tuple) else [made]
    return tuple(built)
