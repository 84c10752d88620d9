"""Adding a head to a fine-tuned folder: other outputs unchanged, save -> load -> same."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel

from pipeline.model.artifacts import write_manifest
from pipeline.model.heads import HEADS
from pipeline.model.network import MultiTaskModel, TransformerSettings, save_transformer
from pipeline.sessions.alliance_model import ESTIMATOR_FILE, AllianceModel
from pipeline.training.add_head import add_head, corpora_labeling
from pipeline.training.corpora import read_note_passages
from pipeline.training.labels import load_labels

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"
NOTES = FIXTURES / "note_passages.jsonl"


@pytest.fixture(scope="module")
def no_style_folder(tmp_path_factory, tiny_encoder_dir, tiny_model_dir) -> Path:
    """A tiny fine-tuned folder whose heads are every head but style."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("ft-no-style")
    heads = {h.name: list(h.classes) for h in HEADS if h.name != "style"}
    model = MultiTaskModel(
        AutoModel.from_pretrained(tiny_encoder_dir),
        TransformerSettings(max_length=48, lora_top_layers=None, heads=heads),
    )
    save_transformer(model, folder)
    shutil.copy(tiny_model_dir / ESTIMATOR_FILE, folder / ESTIMATOR_FILE)
    write_manifest(
        folder,
        {
            "version": "tiny-ft",
            "kind": "transformer-multitask",
            "created": "2026-12-01T00:00:00+00:00",
            "git_sha": "0" * 40,
            "encoder": {"name": "tiny", "sha256": None, "dim": 32},
            "metrics": {},
            "training": {"wall_time_s": 0, "machine": "test"},
        },
    )
    return folder


def test_add_head_knows_which_corpora_label_style():
    assert corpora_labeling(load_labels(), "style") == ["annomi", "esconv", "mi_boost"]
    assert "epitome" in corpora_labeling(load_labels(), "emotional_reaction")


def test_add_head_style_leaves_other_heads_and_reloads_the_same(
    no_style_folder: Path, tiny_config, tmp_path: Path
):
    out = tmp_path / "ft-style"
    report = add_head(no_style_folder, out, "style", tiny_config, None, notes=NOTES)
    assert set(report["test"]) == {"notes", "all"}
    assert report["train_passages"] == {"notes": report["train_passages"]["notes"]}
    for figure in report["test"].values():
        low, high = figure["model_95"]
        assert 0 <= low <= figure["model"] <= high <= 1

    passages = read_note_passages(NOTES)[:60]
    texts, contexts = [p.text for p in passages], [p.context for p in passages]
    before = AllianceModel.load(no_style_folder, tiny_config.encoder).scorer.predict_proba(
        texts, contexts
    )
    loaded = AllianceModel.load(out, tiny_config.encoder)
    after = loaded.scorer.predict_proba(texts, contexts)
    assert "style" not in before and after["style"].shape == (60, 3)
    for name, values in before.items():
        np.testing.assert_allclose(after[name], values, atol=1e-6)
    np.testing.assert_allclose(after["style"].sum(1), 1.0, atol=1e-5)
    again = AllianceModel.load(out, tiny_config.encoder).scorer.predict_proba(texts, contexts)
    np.testing.assert_allclose(again["style"], after["style"], atol=1e-6)
    assert loaded.manifest["parent"]["version"] == "tiny-ft"
    assert loaded.manifest["added_heads"]["style"]["added_to"] == "tiny-ft"
    assert loaded.manifest["version"] == "ft-style"
    assert "style to `tiny-ft`" in (out / "MODEL_CARD.md").read_text()


def test_add_head_learns_the_labels_it_is_given(no_style_folder: Path, tiny_config, tmp_path):
    """Overfit: on its own training passages the new head beats the majority class."""
    out = tmp_path / "ft-style"
    add_head(no_style_folder, out, "style", tiny_config, None, notes=NOTES, notes_repeat=1)
    passages = [p for p in read_note_passages(NOTES) if "style" in p.labels]
    model = AllianceModel.load(out, tiny_config.encoder)
    predicted = model.scorer.predict_proba(
        [p.text for p in passages], [p.context for p in passages]
    )["style"].argmax(1)
    truth = np.array([p.labels["style"] for p in passages])
    majority = np.bincount(truth).max() / len(truth)
    recall = [np.mean(predicted[truth == c] == c) for c in range(3)]
    assert min(recall) > 0.3, recall  # class-balanced: no class is given up for the majority
    assert np.mean(predicted == truth) > 0.5 * majority


def test_add_head_refuses_what_it_cannot_do(no_style_folder, tiny_model_dir, tiny_config, tmp_path):
    with pytest.raises(ValueError, match="already has"):
        add_head(no_style_folder, tmp_path / "a", "task", tiny_config, None, notes=NOTES)
    with pytest.raises(ValueError, match="not a fine-tuned"):
        add_head(tiny_model_dir, tmp_path / "b", "style", tiny_config, None, notes=NOTES)
    with pytest.raises(ValueError, match="new folder"):
        add_head(no_style_folder, no_style_folder, "style", tiny_config, None, notes=NOTES)
    with pytest.raises(ValueError, match="unknown head"):
        add_head(no_style_folder, tmp_path / "c", "charisma", tiny_config, None, notes=NOTES)


def test_add_head_replace_refits_a_head_and_keeps_the_others(
    no_style_folder: Path, tiny_config, tmp_path: Path
):
    out = tmp_path / "ft-strain"
    report = add_head(no_style_folder, out, "strain", tiny_config, None, notes=NOTES, replace=True)
    assert set(report["replaced_head_test"]) == set(report["test"]) == {"notes", "all"}
    passages = read_note_passages(NOTES)[:40]
    texts, contexts = [p.text for p in passages], [p.context for p in passages]
    before = AllianceModel.load(no_style_folder, tiny_config.encoder).scorer.predict_proba(
        texts, contexts
    )
    after = AllianceModel.load(out, tiny_config.encoder).scorer.predict_proba(texts, contexts)
    for name, values in before.items():
        if name != "strain":
            np.testing.assert_allclose(after[name], values, atol=1e-6)
    assert not np.allclose(after["strain"], before["strain"], atol=1e-4)
    with pytest.raises(ValueError, match="no 'style' head to replace"):
        shutil.rmtree(out)
        add_head(no_style_folder, out, "style", tiny_config, None, notes=NOTES, replace=True)
