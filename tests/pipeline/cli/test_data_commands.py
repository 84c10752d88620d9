"""The ``alliance data`` group (pipeline/cli/data.py): clear errors before any work.

The Label Studio round trip itself is tested in tests/pipeline/training/test_labelstudio.py.
"""

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def test_cli_data_import_labelstudio_names_the_missing_exports(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short path: the error console wraps long lines
    result = runner.invoke(
        app, ["data", "import-labelstudio", "project-1-export.json", "--out", "l.jsonl"]
    )
    assert result.exit_code == 2
    assert "not found:" in result.output and "project-1-export.json" in result.output
    assert not (tmp_path / "l.jsonl").exists()


def test_cli_data_convert_without_the_corpora_is_a_clear_error(tmp_path: Path):
    out = tmp_path / "passages.jsonl"
    result = runner.invoke(
        app, ["data", "convert", "--data", str(tmp_path / "none"), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "error:" in result.output and "not found" in result.output
    assert not out.exists()


def test_cli_data_export_labelstudio_refuses_a_negative_limit(tmp_path: Path):
    result = runner.invoke(
        app,
        ["data", "export-labelstudio", "--store", "sqlite://", "--out", str(tmp_path)]
        + ["--limit", "-1"],
    )
    assert result.exit_code == 2
    assert "--limit" in result.output
