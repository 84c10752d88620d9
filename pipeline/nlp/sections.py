"""Section-header rules for progress notes, read from ``configs/sections.yaml``."""

from __future__ import annotations

from pathlib import Path

from medspacy.section_detection import SectionRule
from pydantic import BaseModel, ConfigDict, field_validator

from pipeline.config import ConfigError, load_yaml


class SectionsConfig(BaseModel):
    """Section category -> header spellings (lower-case words)."""

    model_config = ConfigDict(extra="forbid")

    sections: dict[str, list[str]]

    @field_validator("sections")
    @classmethod
    def _non_empty(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for category, headers in value.items():
            if not headers:
                raise ValueError(f"section {category!r} lists no headers")
        return value


def load_sections(path: Path) -> SectionsConfig:
    """Read and validate the section rules file."""
    try:
        return SectionsConfig.model_validate(load_yaml(path))
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None


def _words(header: str) -> list[dict]:
    return [{"LOWER": word} for word in header.lower().split()]


def build_section_rules(config: SectionsConfig) -> list[SectionRule]:
    """Turn header spellings into medspaCy ``SectionRule`` token patterns.

    Every header matches with a following colon (``Plan:``); headers longer than one letter
    also match alone on their line (``PLAN`` + newline). One-letter headers need the colon,
    because "A client ..." or "I think ..." would otherwise open a section.
    """
    rules = []
    for category, headers in config.sections.items():
        for header in headers:
            words = _words(header)
            rules.append(
                SectionRule(
                    literal=f"{header}:", category=category, pattern=words + [{"ORTH": ":"}]
                )
            )
            if len(header) > 1:
                newline = {"IS_SPACE": True, "TEXT": {"REGEX": "\n"}}
                rules.append(
                    SectionRule(literal=header, category=category, pattern=words + [newline])
                )
    return rules
