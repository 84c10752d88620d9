"""Fitting the rupture model on labeled sessions: report, folder, save -> load -> same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.sessions.alliance_model import AllianceModel
from pipeline.sessions.rupture import RUPTURE_FILE
from pipeline.training.rupture import (
    fit_candidate_rupture,
    labeled_rows,
    labeled_set_digest,
    train_rupture,
)
from pipeline.training.structure import NOTE_SESSION_LABELS, NOTE_SESSIONS


def test_train_rupture_writes_a_folder_that_flags_the_same_after_reload(
    tiny_model_dir: Path, tiny_config, tmp_path: Path
):
    out = tmp_path / "with-rupture"
    report = train_rupture(tiny_model_dir, out, tiny_config, NOTE_SESSIONS, NOTE_SESSION_LABELS)
    assert report["fit"]["sessions"] == 191 and report["test"]["sessions"] == 64
    assert report["labeled_sessions"] == labeled_set_digest(NOTE_SESSIONS, NOTE_SESSION_LABELS)
    for figures in (report["test"], report["tfidf_test"]):
        low, high = figures["auc_95"]
        assert 0 <= low <= figures["auc"] <= high <= 1
    assert (out / RUPTURE_FILE).exists()
    assert "rupture_model" in json.loads((out / "manifest.json").read_text())
    assert "Rupture model" in (out / "MODEL_CARD.md").read_text()

    loaded = AllianceModel.load(out, tiny_config.encoder)
    assert AllianceModel.load(tiny_model_dir, tiny_config.encoder).rupture is None
    data = labeled_rows(loaded, tiny_config, NOTE_SESSIONS, NOTE_SESSION_LABELS)
    again = AllianceModel.load(out, tiny_config.encoder).rupture
    assert loaded.rupture.reads_words  # the fixtures are synthetic: the words are read
    np.testing.assert_allclose(
        loaded.rupture.probability(data["rows"], data["text"]),
        again.probability(data["rows"], data["text"]),
    )
    assert loaded.rupture.threshold == pytest.approx(report["threshold"], abs=1e-4)


def test_train_rupture_refuses_to_overwrite_its_source(tiny_model_dir: Path, tiny_config):
    with pytest.raises(ValueError, match="new folder"):
        train_rupture(
            tiny_model_dir, tiny_model_dir, tiny_config, NOTE_SESSIONS, NOTE_SESSION_LABELS
        )


def test_train_rupture_in_place_only_when_asked(tiny_model_dir: Path, tiny_config, tmp_path):
    with pytest.raises(ValueError, match="in_place needs"):
        train_rupture(
            tiny_model_dir,
            tmp_path / "x",
            tiny_config,
            NOTE_SESSIONS,
            NOTE_SESSION_LABELS,
            in_place=True,
        )


def test_train_rupture_candidate_without_corpora_is_not_fitted_in_sample(
    tiny_model_dir: Path, tiny_config, tmp_path: Path
):
    """An estimator that learned from the labeled sessions cannot estimate them honestly."""
    folder = tmp_path / "candidate"
    shutil.copytree(tiny_model_dir, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.setdefault("training", {})["train_note_sessions"] = 191
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = fit_candidate_rupture(folder, tiny_config, None)
    assert not result["fitted"] and "--data" in result["reason"]
    assert not (folder / RUPTURE_FILE).exists()


def test_train_rupture_card_replaces_an_earlier_rupture_section():
    from pipeline.training.rupture import _without_rupture_section

    card = [
        "# Model card\n",
        "## Rupture model (`rupture_model.skops`)\n",
        "old figures\n",
        "## Beside the plain fine-tune\n",
        "table\n",
    ]
    assert _without_rupture_section(card) == [card[0], *card[3:]]
    assert _without_rupture_section(card[:3]) == card[:1]
    assert _without_rupture_section(card[3:]) == card[3:]
