"""Researcher retraining: the retrain flow on a tiny encoder, promotion, evaluation, formats."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import load_train_config
from pipeline.model.artifacts import ArtifactError
from pipeline.model.folder import KIND_TRANSFORMER
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.training.corpora import read_labeled_jsonl
from pipeline.training.records import LabeledPassage, write_labeled_jsonl
from pipeline.training.retrain import promote, should_promote

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
NOTES = FIXTURES / "note_passages.jsonl"


def test_retrain_promotion_rule():
    assert should_promote({"candidate": 0.50, "current": 0.50})
    assert should_promote({"candidate": 0.51, "current": 0.50})
    assert not should_promote({"candidate": 0.49, "current": 0.50})
    assert should_promote({"candidate": 0.10, "current": None})
    # A candidate without a rupture model never replaces a default that has one.
    sessions = {"rupture_cv_auc": 0.83, "dev_overall_spearman": 0.60}
    better = {"candidate": 0.60, "current": 0.50, "current_sessions": sessions}
    assert not should_promote({**better, "candidate_sessions": None})
    assert should_promote({**better, "candidate_sessions": sessions})
    assert should_promote({"candidate": 0.60, "current": 0.50, "current_sessions": None})
    # Better passages do not make up for sessions estimated worse.
    worse = {**sessions, "dev_overall_spearman": 0.50}
    assert not should_promote({**better, "candidate_sessions": worse})
    unknown = {**sessions, "dev_overall_spearman": None}
    assert should_promote({**better, "candidate_sessions": sessions, "current_sessions": unknown})
    # Measured on a labeled set that has grown since, the default's figure is not comparable.
    grown = {**worse, "labeled_sessions": "new-set"}
    old_set = {**sessions, "labeled_sessions": "old-set"}
    assert should_promote({**better, "candidate_sessions": grown, "current_sessions": old_set})
    same_set = {**sessions, "labeled_sessions": "new-set"}
    assert not should_promote({**better, "candidate_sessions": grown, "current_sessions": same_set})
    # Nor for a fixture storyline the default meets and the candidate misses.
    stories = {"calls_met": ["c-01 rupture at s-004", "c-04 sustained low"], "steady_flagged": []}
    fewer = {**stories, "calls_met": ["c-01 rupture at s-004"]}
    steady = {**stories, "steady_flagged": ["s-007"]}
    better = {**better, "candidate_sessions": sessions}
    assert should_promote({**better, "candidate_storylines": stories, "current_storylines": fewer})
    assert not should_promote(
        {**better, "candidate_storylines": fewer, "current_storylines": stories}
    )
    assert not should_promote(
        {**better, "candidate_storylines": steady, "current_storylines": stories}
    )


def test_retrain_promote_replaces_default_files(tmp_path: Path):
    candidate, default = tmp_path / "cand", tmp_path / "default"
    candidate.mkdir()
    default.mkdir()
    (candidate / "a.json").write_text("new")
    (default / "old.json").write_text("old")
    promote(candidate, default)
    assert sorted(p.name for p in default.iterdir()) == ["a.json"]
    assert (candidate / "a.json").exists()


def test_retrain_labeled_jsonl_round_trip_and_errors(tmp_path: Path):
    passages = [
        LabeledPassage("text", "ctx", "clinician", "x", "g1", {"bond": 1}),
        LabeledPassage("other", "", "client", "x", "g2", {"client_talk": 2}),
    ]
    path = tmp_path / "p.jsonl"
    assert write_labeled_jsonl(passages, path) == 2
    assert read_labeled_jsonl(path) == passages
    path.write_text(
        json.dumps(
            {
                "text": "CANARY",
                "speaker": "client",
                "source": "x",
                "group": "g",
                "labels": {"bond": 7},
            }
        )
        + "\n"
    )
    with pytest.raises(ValueError, match="bond=7") as error:
        read_labeled_jsonl(path)
    assert "CANARY" not in str(error.value)


@pytest.fixture(scope="module")
def retrained(prefect_harness, tiny_config, tmp_path_factory):
    """The retrain flow on the note passages alone, with the tiny encoder (one short epoch)."""
    from pipeline.flows import retrain_flow

    root = tmp_path_factory.mktemp("registry")
    default = root / "default"
    shutil.copytree(tiny_config.model_dir, default)
    config = tiny_config.model_copy(update={"model_dir": default})
    training = load_train_config(
        overrides=[
            "epochs=1",
            "batch_size=16",
            "max_length=32",
            "notes_repeat=1",
            "lora_top_layers=null",
        ]
    )
    result = retrain_flow(
        data_dir=None,
        out_dir=str(root / "candidate"),
        config=config.model_dump(mode="json"),
        train_config=training.model_dump(mode="json"),
        notes=[str(NOTES)],
    )
    return result, root, config


def test_retrain_flow_writes_a_verified_transformer_candidate(retrained):
    result, root, config = retrained
    candidate = root / "candidate"
    manifest = json.loads((candidate / "manifest.json").read_text())
    assert manifest["kind"] == KIND_TRANSFORMER
    assert set(manifest["files"]) == {
        "adapter.safetensors",
        "model_config.json",
        "rupture_model.skops",
        "session_estimator.skops",
    }
    # The candidate got its own rupture model, fitted on its own outputs.
    assert result["rupture"]["fitted"]
    assert set(result["scores"]["candidate_storylines"]) == {
        "calls_met",
        "steady_flagged",
        "fits_met",
    }
    figures = result["scores"]["candidate_sessions"]
    assert -1 <= figures["dev_overall_spearman"] <= 1 and 0 <= figures["rupture_cv_auc"] <= 1
    assert manifest["rupture_model"]["fit"]["sessions"] == 191
    assert manifest["version"] == "candidate" and "parent" not in manifest
    assert manifest["training"]["history"]["epochs"]
    assert "notes" in manifest["metrics"]["passage_macro_f1"]["bond"]
    card = (candidate / "MODEL_CARD.md").read_text()
    assert card.count("non-commercial") >= 1
    # Every head the notes label went through the refit step, kept or not, with its figures.
    refit = manifest["training"]["head_refit"]
    assert {"task", "bond", "goal", "strain"} <= set(refit)
    for entry in refit.values():
        assert entry["after"] >= entry["before"] and set(entry["by_source"]) == {"notes"}
    assert "Heads refitted on the frozen encoder" in card
    model = AllianceModel.load(candidate, config.encoder)
    probabilities = model.scorer.predict_proba(["Client felt heard."], [""])
    assert probabilities["bond"].shape == (1, 2)


def test_retrain_flow_promotes_only_when_no_worse(retrained):
    result, root, _ = retrained
    scores = result["scores"]
    assert result["promoted"] == should_promote(scores)
    # The tiny default has no rupture model; the candidate meets every call the default meets.
    assert scores["current_sessions"] is None
    assert result["promoted"] == (
        scores["candidate"] >= scores["current"]
        and set(scores["current_storylines"]["calls_met"])
        <= set(scores["candidate_storylines"]["calls_met"])
        and set(scores["candidate_storylines"]["steady_flagged"])
        <= set(scores["current_storylines"]["steady_flagged"])
    )
    default_manifest = json.loads((root / "default" / "manifest.json").read_text())
    assert (default_manifest["kind"] == KIND_TRANSFORMER) == result["promoted"]


def test_retrain_tampered_adapter_is_refused(retrained, tmp_path: Path):
    _, root, config = retrained
    copy = tmp_path / "copy"
    shutil.copytree(root / "candidate", copy)
    with (copy / "adapter.safetensors").open("r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ArtifactError, match="adapter.safetensors"):
        AllianceModel.load(copy, config.encoder)


def test_retrain_evaluate_command_prints_model_and_baseline(retrained, tiny_encoder_dir):
    _, root, _ = retrained
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            str(root / "candidate"),
            "--data",
            str(NOTES),
            "--set",
            f"encoder.path={tiny_encoder_dir}",
            "--set",
            "encoder.sha256=null",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "TF-IDF" in result.output and "bond" in result.output


def test_retrain_cli_needs_some_data():
    result = CliRunner().invoke(app, ["train"])
    assert result.exit_code == 2 and "nothing to train on" in result.output


def test_retrain_source_weights_give_each_source_equal_total_weight():
    from pipeline.training.sessions import source_weights

    weights = source_weights(["esconv"] * 8 + ["annomi"] * 2)
    assert weights[:8].sum() == pytest.approx(weights[8:].sum())
    assert weights.sum() == pytest.approx(10)
