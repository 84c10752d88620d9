"""Label definitions and corpus mappings: the typed view of ``configs/labels.yaml``.

``configs/labels.yaml`` is the one place where labels are defined (DESIGN.md section 4). This
module validates it against ``pipeline.model.heads`` (every head defined, no unknown head, class
or key) and turns a source record's native labels into our head labels with
:meth:`LabelsConfig.map_labels`.

Mapping semantics, shared by every corpus reader:

* A corpus reader describes each record as a flat dict of *native fields* (strings), e.g.
  ``{"reflection_subtype": "complex"}``. Field names are documented per corpus in the YAML.
* ``aliases`` first rewrite native spellings to canonical ones ("Questions" -> "Question").
* Every rule whose ``when`` matches (all fields equal one of the listed values) contributes its
  ``then`` (head -> class name). A head no rule sets stays masked.
* When several rules set the same head: ordered heads (binary, levels 0/1/2) keep the highest
  class, so evidence of presence beats a generic negative; nominal heads keep the first rule's
  class, so rule order is the priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from pipeline.model.heads import HEAD_BY_NAME, LEVELS, Head

DEFAULT_LABELS_PATH = Path(__file__).resolve().parents[2] / "configs" / "labels.yaml"

SessionTarget = Literal["task", "bond", "goal", "overall"]
ScoredTarget = Literal["task", "bond", "goal"]


def is_ordered(head: Head) -> bool:
    """Whether a head's classes are ordered (binary absent/present, or levels 0/1/2)."""
    return head.binary or head.classes == LEVELS


def class_index(head_name: str, class_name: str) -> int:
    """Index of ``class_name`` in the head's classes.

    Raises:
        ValueError: Unknown head or class, with the known names in the message.
    """
    head = HEAD_BY_NAME.get(head_name)
    if head is None:
        raise ValueError(f"unknown head {head_name!r}; known heads: {sorted(HEAD_BY_NAME)}")
    if class_name not in head.classes:
        raise ValueError(
            f"unknown class {class_name!r} for head {head_name!r}; known classes: {head.classes}"
        )
    return head.classes.index(class_name)


def _as_text(value: object) -> object:
    # YAML reads unquoted 0/1/2 and True/False as numbers/booleans; native labels and level
    # classes are strings, so accept those scalars and compare them as text.
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    return value


def _when_lists(value: object) -> object:
    # ``when: {field: value}`` is shorthand for ``when: {field: [value]}``.
    if isinstance(value, dict):
        return {k: _as_text(v if isinstance(v, list) else [v]) for k, v in value.items()}
    return value


def _then_text(value: object) -> object:
    if isinstance(value, dict):
        return {key: _as_text(item) for key, item in value.items()}
    return value


When = Annotated[dict[str, list[str]], BeforeValidator(_when_lists), Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HeadDefinition(_Strict):
    """Plain-words definition of one head and, optionally, of its classes."""

    definition: str = Field(min_length=1)
    classes: dict[str, str] = Field(default_factory=dict)


class _Conditional(_Strict):
    """Shared part of passage and session rules: a condition on native fields and its reason."""

    when: When
    why: str = Field(min_length=1)
    weak: bool = False

    def matches(self, native: Mapping[str, str]) -> bool:
        """Whether every ``when`` field of the record has one of the accepted values."""
        return all(native.get(key) in accepted for key, accepted in self.when.items())


class Rule(_Conditional):
    """One mapping entry: when native fields match, set these head classes.

    Attributes:
        when: Native field -> accepted value(s); all listed fields must match.
        then: Head name -> class name (e.g. ``{"interpretation": "2"}``).
        why: The reason for the mapping and its weaknesses.
        weak: True for proxy labels a trainer may down-weight (documentation for model cards).
    """

    then: Annotated[dict[str, str], BeforeValidator(_then_text), Field(min_length=1)]

    @field_validator("then")
    @classmethod
    def _known_heads(cls, value: dict[str, str]) -> dict[str, str]:
        for head_name, class_name in value.items():
            class_index(head_name, class_name)
        return value


class Alias(_Strict):
    """Rewrite native spellings of one field to a canonical spelling before rules apply."""

    field: str = Field(min_length=1)
    native: list[str] = Field(min_length=1)
    canonical: str = Field(min_length=1)
    why: str = Field(min_length=1)


class CorpusMapping(_Strict):
    """How one corpus's native labels become head labels.

    Attributes:
        description: What the corpus is and which native fields the reader exposes.
        license: Its license in short; non-commercial limits pass on to trained models.
        quality: "gold" (expert/crowd labels), "silver" (automatic), "synthetic" or "unlabeled".
        aliases: Spelling normalisations applied first.
        rules: Mapping entries, in priority order for nominal heads.
    """

    description: str = Field(min_length=1)
    license: str = Field(min_length=1)
    quality: Literal["gold", "silver", "synthetic", "unlabeled"]
    aliases: list[Alias] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    def normalise(self, native: Mapping[str, str]) -> dict[str, str]:
        """Apply the aliases to a record's native fields."""
        fields = dict(native)
        for alias in self.aliases:
            if fields.get(alias.field) in alias.native:
                fields[alias.field] = alias.canonical
        return fields

    def map_labels(self, native: Mapping[str, str]) -> dict[str, int]:
        """Head labels (class indices) for one record; heads no rule sets are left out."""
        fields = self.normalise(native)
        labels: dict[str, int] = {}
        for rule in self.rules:
            if not rule.matches(fields):
                continue
            for head_name, class_name in rule.then.items():
                index = class_index(head_name, class_name)
                if head_name not in labels:
                    labels[head_name] = index
                elif is_ordered(HEAD_BY_NAME[head_name]):
                    labels[head_name] = max(labels[head_name], index)
        return labels


class Corpora(_Strict):
    """Mappings for every corpus the readers know (an unknown corpus key is an error)."""

    epitome: CorpusMapping
    annomi: CorpusMapping
    esconv: CorpusMapping
    mi_boost: CorpusMapping
    counsel_chat: CorpusMapping
    notes: CorpusMapping


class ScoreField(_Strict):
    """A session target read from a native 1-5 rating."""

    field: str = Field(min_length=1)
    why: str = Field(min_length=1)
    weak: bool = False


class OverallFrom(_Strict):
    """``overall`` as the mean of native 1-5 ratings (each listed once)."""

    fields: list[str] = Field(min_length=1)
    why: str = Field(min_length=1)


class SessionRule(_Conditional):
    """Fixed session targets (1-5) for conversations whose native fields match."""

    then: dict[SessionTarget, float] = Field(min_length=1)

    @field_validator("then")
    @classmethod
    def _on_scale(cls, value: dict[str, float]) -> dict[str, float]:
        for target, score in value.items():
            if not 1.0 <= score <= 5.0:
                raise ValueError(f"target {target!r} = {score} is outside the 1-5 scale")
        return value


class SessionMapping(_Strict):
    """How one corpus's conversation-level ratings become session targets (1-5 scale)."""

    description: str = Field(min_length=1)
    scores: dict[ScoredTarget, ScoreField] = Field(default_factory=dict)
    overall: OverallFrom | None = None
    rules: list[SessionRule] = Field(default_factory=list)

    def map_targets(self, native: Mapping[str, str]) -> dict[str, float]:
        """Session targets for one conversation; missing or non-numeric ratings are skipped.

        Raises:
            ValueError: A rating outside the 1-5 scale.
        """
        targets: dict[str, float] = {}
        for target, source in self.scores.items():
            score = _rating(native, source.field)
            if score is not None:
                targets[target] = score
        if self.overall is not None:
            scores = [_rating(native, name) for name in self.overall.fields]
            if all(score is not None for score in scores):
                targets["overall"] = sum(scores) / len(scores)
        for rule in self.rules:
            if rule.matches(native):
                for target, value in rule.then.items():
                    targets.setdefault(target, value)
        return targets


def _rating(native: Mapping[str, str], name: str) -> float | None:
    raw = native.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        score = float(raw)
    except ValueError:
        return None
    if not 1.0 <= score <= 5.0:
        raise ValueError(f"rating {name!r} = {score} is outside the 1-5 scale")
    return score


class Sessions(_Strict):
    """Session-level target mappings per corpus."""

    esconv: SessionMapping
    annomi: SessionMapping


class LabelsConfig(_Strict):
    """The whole of ``configs/labels.yaml``."""

    version: Literal[1]
    heads: dict[str, HeadDefinition]
    corpora: Corpora
    sessions: Sessions

    @model_validator(mode="after")
    def _heads_match_code(self) -> LabelsConfig:
        unknown = sorted(set(self.heads) - set(HEAD_BY_NAME))
        if unknown:
            raise ValueError(f"unknown head(s) {unknown}; known heads: {sorted(HEAD_BY_NAME)}")
        missing = sorted(set(HEAD_BY_NAME) - set(self.heads))
        if missing:
            raise ValueError(f"head(s) {missing} have no definition in labels.yaml")
        for name, definition in self.heads.items():
            for class_name in definition.classes:
                class_index(name, class_name)
        return self

    def corpus(self, name: str) -> CorpusMapping:
        """The mapping of one corpus by its folder name.

        Raises:
            KeyError: The corpus has no mapping.
        """
        mapping = getattr(self.corpora, name, None)
        if not isinstance(mapping, CorpusMapping):
            raise KeyError(
                f"no corpus {name!r} in labels.yaml; known: {list(Corpora.model_fields)}"
            )
        return mapping


def load_labels(path: Path | None = None) -> LabelsConfig:
    """Load and validate the label definitions.

    Args:
        path: A labels YAML file; defaults to the repository's ``configs/labels.yaml``.

    Returns:
        The validated configuration.

    Raises:
        FileNotFoundError: The file does not exist.
        pydantic.ValidationError: Unknown keys, heads or classes, or missing definitions.
    """
    path = DEFAULT_LABELS_PATH if path is None else Path(path)
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return LabelsConfig.model_validate(data)
