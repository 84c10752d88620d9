from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config


def test_config_defaults_load_and_resolve_paths():
    config = load_config()
    assert config.model_dir.is_absolute()
    assert config.nlp.sections_file.exists()
    assert len(config.digest()) == 16


def test_config_dotted_override_changes_value():
    config = load_config(overrides=["encoder.batch_size=7", "ingest.max_note_bytes=10"])
    assert config.encoder.batch_size == 7
    assert config.ingest.max_note_bytes == 10


def test_config_unknown_key_is_rejected(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("encoder:\n  batch_sise: 3\n")
    with pytest.raises(ConfigError, match="batch_sise"):
        load_config(bad)


def test_config_bad_override_syntax_is_rejected():
    with pytest.raises(ConfigError, match="key.subkey=value"):
        load_config(overrides=["encoder.batch_size"])


def test_config_training_profiles_apply_then_overrides(tmp_path: Path):
    from pipeline.config import load_train_config

    plain = load_train_config()
    assert plain.profile is None and plain.context == "pair"
    fast, full = load_train_config(profile="fast"), load_train_config(profile="full")
    assert (fast.profile, full.profile) == ("fast", "full")
    assert fast.context == full.context == "alone"
    assert fast.epochs < full.epochs and fast.lora_top_layers is None
    assert full.head_sources["bond"] == ["epitome", "notes"]
    assert load_train_config(profile="fast", overrides=["epochs=1"]).epochs == 1
    with pytest.raises(ConfigError, match="unknown training profile 'huge'.*fast, full"):
        load_train_config(profile="huge")
    custom = tmp_path / "train.yaml"
    custom.write_text("profile: tiny\nprofiles:\n  tiny: {epochs: 1, colour: red}\n")
    with pytest.raises(ConfigError, match="colour"):
        load_train_config(custom)
