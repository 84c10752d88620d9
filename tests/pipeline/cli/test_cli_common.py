"""What the command modules share (pipeline/cli/common.py)."""

import os
from pathlib import Path

import pytest
import typer

from pipeline.cli.common import fail, load_settings, private_environment

PRIVATE = (
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
)


def test_cli_fail_prints_the_error_and_exits_with_2(capsys):
    exit_ = fail("input not found: x.jsonl")
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 2
    assert "error: input not found: x.jsonl" in capsys.readouterr().err


def test_cli_load_settings_applies_overrides_and_the_model_folder(tmp_path: Path):
    settings = load_settings(None, ["encoder.batch_size=3"], tmp_path / "model")
    assert settings.encoder.batch_size == 3
    assert settings.model_dir == (tmp_path / "model").resolve()


def test_cli_load_settings_turns_a_bad_config_into_exit_2(capsys):
    with pytest.raises(typer.Exit) as raised:
        load_settings(None, ["encoder.nope=1"], None)
    assert raised.value.exit_code == 2
    assert "encoder.nope" in capsys.readouterr().err


def test_cli_private_environment_turns_off_telemetry_without_overriding(monkeypatch):
    for name in PRIVATE:  # restored after the test, whatever private_environment sets
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")
    private_environment()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"


def test_cli_private_environment_gives_the_first_server_start_time(monkeypatch):
    """A new PREFECT_HOME's first temporary-server start builds its database, which took over
    Prefect's 20 s default on a busy 2-core machine; a value the user set is kept."""
    monkeypatch.delenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", raising=False)
    private_environment()
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "90"
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    private_environment()
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "300"
