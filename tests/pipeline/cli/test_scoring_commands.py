"""score, nightly, deploy and report (pipeline/cli/scoring.py) through the command line."""

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.helpers import FIXTURE_SESSIONS

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
runner = CliRunner()


def test_cli_score_folder_input_end_to_end(
    prefect_harness, tiny_model_dir, tiny_encoder_dir, tmp_path: Path
):
    result = runner.invoke(
        app,
        [
            "score",
            str(FIXTURES / "sessions_folder"),
            "--out",
            str(tmp_path),
            "--model",
            str(tiny_model_dir),
            "--set",
            f"encoder.path={tiny_encoder_dir}",
            "--set",
            "encoder.sha256=null",
        ],
    )
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["counts"]["sessions_scored"] == FIXTURE_SESSIONS
    report = runner.invoke(
        app,
        [
            "report",
            "--store",
            f"sqlite:///{tmp_path / 'alliance.db'}",
            "--out",
            str(tmp_path / "again"),
        ],
    )
    assert report.exit_code == 0, report.output
    assert (tmp_path / "again" / "report.html").exists()


def test_cli_clear_errors_for_bad_config_and_missing_input(tmp_path: Path):
    result = runner.invoke(app, ["score", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "input not found" in result.output
    result = runner.invoke(
        app,
        [
            "score",
            str(FIXTURES / "sessions.jsonl"),
            "--out",
            str(tmp_path),
            "--set",
            "encoder.nope=1",
        ],
    )
    assert result.exit_code == 2 and "encoder.nope" in result.output


def test_cli_missing_model_folder_is_a_clear_error(tmp_path: Path):
    result = runner.invoke(
        app,
        [
            "score",
            str(FIXTURES / "sessions.jsonl"),
            "--out",
            str(tmp_path),
            "--model",
            str(tmp_path / "no-model"),
        ],
    )
    assert result.exit_code == 2
    assert "model folder not found" in result.output


def test_cli_task_runner_options_that_make_no_sense_are_refused(tmp_path: Path):
    sessions = str(FIXTURES / "sessions.jsonl")
    out = tmp_path / "out"
    for command in (["score", sessions], ["nightly", "--input", sessions]):
        result = runner.invoke(app, [*command, "--out", str(out), "--dask-workers", "2"])
        assert result.exit_code == 2
        assert "need --task-runner dask" in result.output
        result = runner.invoke(
            app,
            [*command, "--out", str(out), "--task-runner", "dask"]
            + ["--dask-address", "tcp://127.0.0.1:8786", "--dask-workers", "2"],
        )
        assert result.exit_code == 2
        assert "sizes a temporary local cluster" in result.output
    result = runner.invoke(app, ["score", sessions, "--out", str(out), "--task-runner", "spark"])
    assert result.exit_code == 2
    assert not out.exists(), "nothing is written before the options are checked"


def test_cli_nightly_and_deploy_need_their_inputs(tmp_path: Path):
    for command in ("nightly", "deploy"):
        result = runner.invoke(app, [command, "--out", str(tmp_path)])
        assert result.exit_code == 2
        assert "--input" in result.output
