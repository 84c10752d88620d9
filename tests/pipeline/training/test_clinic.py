from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.training.clinic import read_ratings

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"


def test_clinic_srs_is_mapped_to_the_wai_scale():
    ratings = read_ratings(FIXTURES / "ratings_srs.csv")
    assert len(ratings) == 42
    first = ratings["s-001"]
    assert set(first) == {"task", "bond", "goal", "overall"}
    assert np.isclose(first["bond"], 1 + 0.4 * 9.0)
    assert all(1 <= v <= 5 for r in ratings.values() for v in r.values())


def test_clinic_wai_sr_subscales_use_the_right_items(tmp_path: Path):
    header = "session_id," + ",".join(f"wai_{i}" for i in range(1, 13))
    items = [5, 5, 1, 3, 1, 3, 1, 3, 1, 5, 3, 5]  # task items 5, bond items 1, goal items 3
    (tmp_path / "w.csv").write_text(header + "\ns-1," + ",".join(map(str, items)) + "\n")
    rating = read_ratings(tmp_path / "w.csv")["s-1"]
    assert (rating["task"], rating["bond"], rating["goal"]) == (5, 1, 3)
    assert np.isclose(rating["overall"], np.mean(items))


def test_clinic_bad_ratings_are_clear_errors(tmp_path: Path):
    (tmp_path / "a.csv").write_text("session_id,score\ns-1,3\n")
    with pytest.raises(ValueError, match="srs_relationship"):
        read_ratings(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text(
        "session_id,srs_relationship,srs_goals,srs_approach,srs_overall\ns-1,11,1,1,1\n"
    )
    with pytest.raises(ValueError, match="outside 0-10"):
        read_ratings(tmp_path / "b.csv")


def test_clinic_train_sessions_end_to_end(
    prefect_harness, tiny_model_dir, tiny_encoder_dir, tmp_path: Path
):
    runner = CliRunner()
    encoder = ["--set", f"encoder.path={tiny_encoder_dir}", "--set", "encoder.sha256=null"]
    scored = runner.invoke(
        app,
        [
            "score",
            str(FIXTURES / "sessions.jsonl"),
            "--out",
            str(tmp_path / "out"),
            "--model",
            str(tiny_model_dir),
            *encoder,
        ],
    )
    assert scored.exit_code == 0, scored.output
    store = f"sqlite:///{tmp_path / 'out' / 'alliance.db'}"
    result = runner.invoke(
        app,
        [
            "train-sessions",
            "--labels",
            str(FIXTURES / "ratings_srs.csv"),
            "--store",
            store,
            "--out",
            str(tmp_path / "clinic"),
            "--model",
            str(tiny_model_dir),
            *encoder,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "coverage_80" in result.output
    from pipeline.config import EncoderConfig

    model = AllianceModel.load(
        tmp_path / "clinic", EncoderConfig(path=tiny_encoder_dir, sha256=None, bf16=False)
    )
    assert model.manifest["session_estimator"]["sessions"] == 42
    assert model.manifest["session_estimator"]["clients"] == 7
