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
