"""Tests for the label definitions (configs/labels.yaml) and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pipeline.model.heads import HEAD_BY_NAME
from pipeline.training.labels import DEFAULT_LABELS_PATH, LabelsConfig, class_index, load_labels


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_LABELS_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_labels_default_file_defines_every_head_and_corpus():
    config = load_labels()
    assert set(config.heads) == set(HEAD_BY_NAME)
    assert all(definition.definition.strip() for definition in config.heads.values())
    for name in ("epitome", "annomi", "esconv", "mi_boost", "counsel_chat", "notes"):
        mapping = config.corpus(name)
        assert all(rule.why.strip() for rule in mapping.rules)


def test_labels_every_rule_sets_known_head_and_class():
    config = load_labels()
    for name in ("epitome", "annomi", "esconv", "mi_boost"):
        for rule in config.corpus(name).rules:
            for head, class_name in rule.then.items():
                assert class_name in HEAD_BY_NAME[head].classes


def test_labels_rejects_unknown_head_in_rule(tmp_path):
    data = _raw()
    data["corpora"]["epitome"]["rules"][0]["then"] = {"empathy": "1"}
    with pytest.raises(ValidationError, match="unknown head 'empathy'"):
        load_labels(_write(tmp_path, data))


def test_labels_rejects_unknown_head_definition(tmp_path):
    data = _raw()
    data["heads"]["rapport"] = {"definition": "not a head of the model"}
    with pytest.raises(ValidationError, match="unknown head"):
        load_labels(_write(tmp_path, data))


def test_labels_rejects_missing_head_definition(tmp_path):
    data = _raw()
    del data["heads"]["goal"]
    with pytest.raises(ValidationError, match="no definition"):
        load_labels(_write(tmp_path, data))


def test_labels_rejects_unknown_class(tmp_path):
    data = _raw()
    data["corpora"]["annomi"]["rules"][0]["then"] = {"mi_behaviour": "advice"}
    with pytest.raises(ValidationError, match="unknown class 'advice'"):
        load_labels(_write(tmp_path, data))


@pytest.mark.parametrize(
    "where",
    [
        lambda d: d,
        lambda d: d["corpora"]["esconv"],
        lambda d: d["corpora"]["esconv"]["rules"][0],
        lambda d: d["sessions"]["annomi"],
    ],
)
def test_labels_rejects_unknown_key(tmp_path, where):
    data = _raw()
    where(data)["colour"] = "blue"
    with pytest.raises(ValidationError, match="colour"):
        load_labels(_write(tmp_path, data))


def test_labels_rejects_unknown_corpus(tmp_path):
    data = _raw()
    data["corpora"]["talklife"] = data["corpora"]["epitome"]
    with pytest.raises(ValidationError, match="talklife"):
        load_labels(_write(tmp_path, data))


def test_labels_rejects_session_target_off_scale(tmp_path):
    data = _raw()
    data["sessions"]["annomi"]["rules"][0]["then"] = {"overall": 7.0}
    with pytest.raises(ValidationError, match="1-5"):
        load_labels(_write(tmp_path, data))


def test_labels_missing_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_labels(tmp_path / "nope.yaml")


def _config_with_rules(rules: list[dict], aliases: list[dict] | None = None) -> LabelsConfig:
    data = _raw()
    data["corpora"]["esconv"]["rules"] = rules
    data["corpora"]["esconv"]["aliases"] = aliases or []
    return LabelsConfig.model_validate(data)


def test_labels_ordered_heads_keep_highest_and_nominal_keep_first():
    mapping = _config_with_rules(
        [
            {"when": {"a": "x"}, "then": {"task": "absent", "mi_behaviour": "other"}, "why": "w"},
            {
                "when": {"b": "y"},
                "then": {"task": "present", "mi_behaviour": "question"},
                "why": "w",
            },
        ]
    ).corpus("esconv")
    labels = mapping.map_labels({"a": "x", "b": "y"})
    assert labels["task"] == 1
    assert labels["mi_behaviour"] == class_index("mi_behaviour", "other")


def test_labels_when_needs_all_fields_and_accepts_lists_and_scalars():
    mapping = _config_with_rules(
        [
            {"when": {"a": ["x", "z"], "b": True}, "then": {"interpretation": 2}, "why": "w"},
        ]
    ).corpus("esconv")
    assert mapping.map_labels({"a": "z", "b": "True"}) == {"interpretation": 2}
    assert mapping.map_labels({"a": "z"}) == {}
    assert mapping.map_labels({}) == {}


def test_labels_aliases_normalise_before_rules():
    mapping = _config_with_rules(
        [{"when": {"strategy": "Question"}, "then": {"support_strategy": "Question"}, "why": "w"}],
        [{"field": "strategy", "native": ["Questions"], "canonical": "Question", "why": "w"}],
    ).corpus("esconv")
    assert mapping.map_labels({"strategy": "Questions"}) == {"support_strategy": 0}


def test_labels_session_targets_from_ratings_and_rules():
    config = load_labels()
    esconv = config.sessions.esconv.map_targets({"empathy": "5", "relevance": "3"})
    assert esconv["bond"] == 5.0 and esconv["task"] == 3.0 and esconv["overall"] == 4.0
    assert config.sessions.esconv.map_targets({"initial_emotion_intensity": "4"}) == {}
    with pytest.raises(ValueError, match="1-5"):
        config.sessions.esconv.map_targets({"empathy": "9", "relevance": "3"})
    assert config.sessions.annomi.map_targets({"mi_quality": "high"}) == {"overall": 4.0}
    assert config.sessions.annomi.map_targets({"mi_quality": "low"}) == {"overall": 2.0}


@pytest.mark.parametrize(
    "corpus, native, style",
    [
        ("annomi", {"main_therapist_behaviour": "therapist_input"}, "directive"),
        ("annomi", {"main_therapist_behaviour": "reflection"}, "exploratory"),
        ("annomi", {"main_therapist_behaviour": "question"}, "exploratory"),
        ("annomi", {"main_therapist_behaviour": "other"}, "neither"),
        ("esconv", {"strategy": "Providing Suggestions"}, "directive"),
        ("esconv", {"strategy": "Direct Guidance"}, "directive"),  # alias of the same class
        ("esconv", {"strategy": "Information"}, "directive"),
        ("esconv", {"strategy": "Questions"}, "exploratory"),  # alias: plural
        ("esconv", {"strategy": "Restatement or Paraphrasing"}, "exploratory"),
        ("esconv", {"strategy": "Reflection of feelings"}, "exploratory"),
        ("esconv", {"strategy": "Affirmation and Reassurance"}, "neither"),
        ("esconv", {"strategy": "Self-disclosure"}, "neither"),
        ("mi_boost", {"mi_code": "Give Information"}, "directive"),
        ("mi_boost", {"mi_code": "Advise without Permission"}, "directive"),
        ("mi_boost", {"mi_code": "Warn"}, "directive"),
        ("mi_boost", {"mi_code": "Open Question"}, "exploratory"),
        ("mi_boost", {"mi_code": "Complex Reflection"}, "exploratory"),
        ("mi_boost", {"mi_code": "Support"}, "neither"),
        ("mi_boost", {"mi_code": "Closed Question"}, None),  # masked: mostly fact checks
        ("annomi", {"client_talk_type": "change"}, None),  # client turns: no style
    ],
)
def test_labels_style_head_mapping(corpus, native, style):
    labels = load_labels().corpus(corpus).map_labels(native)
    if style is None:
        assert "style" not in labels
    else:
        assert labels["style"] == class_index("style", style)
