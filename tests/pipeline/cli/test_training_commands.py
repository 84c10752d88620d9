"""train, evaluate, train-sessions, train-head (pipeline/cli/training.py): the checks done up front.

The full runs are tested with the training code (tests/pipeline/training/test_retrain.py,
test_clinic.py); these exit with status 2 before any training starts.
"""

from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def _refused(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and message in result.output, result.output


def test_cli_train_refuses_what_it_cannot_train_on(tmp_path: Path):
    _refused(["train"], "nothing to train on")
    _refused(["train", "--quick", "--notes", str(tmp_path)], "--quick needs --data")
    _refused(["train", "--notes", str(tmp_path / "none.jsonl")], "not found:")
    _refused(["train", "--data", str(tmp_path), "--train-set", "nope=1"], "nope")
    _refused(["train", "--data", str(tmp_path), "--set", "encoder.nope=1"], "encoder.nope")
    _refused(["train", "--data", str(tmp_path), "--profile", "huge"], "unknown training profile")


def test_cli_train_sessions_needs_labels_with_a_store_or_the_corpora(tmp_path: Path):
    out = ["--out", str(tmp_path / "model")]
    message = "pass either --labels FILE with --store URL"
    _refused(["train-sessions", *out], message)
    _refused(["train-sessions", *out, "--labels", str(tmp_path / "r.csv")], message)
    _refused(
        ["train-sessions", *out, "--labels", str(tmp_path / "r.csv"), "--data", str(tmp_path)],
        message,
    )


def test_cli_evaluate_needs_a_model_and_data():
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 2
    assert "--model" in result.output


def test_train_head_refuses_a_folder_that_is_not_fine_tuned(
    tiny_model_dir, tiny_encoder_dir, tmp_path: Path
):
    from tests.helpers import tiny_cli_options

    args = ["train-head", "style", "--out", str(tmp_path / "new")]
    _refused(args + tiny_cli_options(tiny_model_dir, tiny_encoder_dir), "not a fine-tuned")
