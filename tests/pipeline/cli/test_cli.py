"""The assembled app (pipeline/cli/__init__.py): its commands, entry points and light import."""

import subprocess
import sys
from importlib.metadata import entry_points

import typer
from typer.testing import CliRunner

import pipeline.cli
from pipeline.cli import app

runner = CliRunner()


def _names(group) -> list[str]:
    return list(group.list_commands(typer.Context(group)))


def test_cli_help_teaches_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("score", "train", "report"):
        assert command in result.output


def test_cli_registers_every_command_in_help_order():
    root = typer.main.get_command(app)
    assert _names(root) == [
        "score",
        "nightly",
        "deploy",
        "train",
        "evaluate",
        "report",
        "train-sessions",
        "train-head",
        "train-rupture",
        "data",
    ]
    assert _names(root.commands["data"]) == ["convert", "export-labelstudio", "import-labelstudio"]


def test_cli_without_arguments_shows_the_help():
    for args in ([], ["data"]):
        result = runner.invoke(app, args)
        assert "Usage:" in result.output
        assert "Commands" in result.output


def test_cli_console_script_and_python_m_reach_the_app():
    (script,) = entry_points(group="console_scripts", name="alliance")
    assert script.value == "pipeline.cli:app"
    assert script.load() is pipeline.cli.app
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "train-sessions" in result.stdout


def test_cli_import_stays_light_so_help_is_fast():
    # torch, Prefect and the training code load inside the commands, never for --help.
    code = (
        "import sys, pipeline.cli; heavy = ('torch', 'prefect', 'transformers', 'sklearn', "
        "'pipeline.flows', 'pipeline.training', 'pipeline.store'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy "
        "or m.startswith(('pipeline.flows', 'pipeline.training', 'pipeline.store'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
