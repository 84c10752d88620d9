"""The model card's plain fine-tune section, attached to a model folder after the benchmark."""

import json
import shutil
from pathlib import Path

import pytest

from pipeline.sessions.alliance_model import AllianceModel
from pipeline.training.model_card import FINETUNE_HEADING, attach_finetune_baseline


def _results(version: str, f1: float) -> dict:
    entry = {"macro_f1": f1, "macro_f1_95": [f1 - 0.05, f1 + 0.05]}
    task = {"n_train": 10, "n_held_out": 5, "shipped": entry, "plain_finetune": entry}
    return {
        "model_version": version,
        "recipe": {"lr": 5e-5, "epochs": 4, "input": "passage text alone"},
        "held_out": "validation + test groups",
        "tasks": {"epitome:exploration": {**task, "tfidf": entry}},
        "mean_macro_f1": {"shipped": f1, "plain_finetune": f1, "tfidf": f1},
    }


def test_model_card_attach_finetune_baseline_records_it_once_and_keeps_the_folder_loadable(
    tiny_model_dir: Path, tiny_config, tmp_path: Path
):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    version = json.loads((folder / "manifest.json").read_text())["version"]
    attach_finetune_baseline(folder, _results(version, 0.61))
    attach_finetune_baseline(folder, _results(version, 0.72))  # replaces, not appends
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.count(FINETUNE_HEADING) == 1
    assert "| epitome:exploration | 10 / 5 | 0.720 [0.67, 0.77]" in card and "0.610" not in card
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["finetune_baseline"]["mean_macro_f1"]["plain_finetune"] == 0.72
    AllianceModel.load(folder, tiny_config.encoder)  # every artifact still matches its hash
    with pytest.raises(ValueError, match="not " + version):
        attach_finetune_baseline(folder, _results("another-version", 0.5))


def test_model_card_attach_finetune_baseline_keeps_a_section_written_after_it(
    tiny_model_dir: Path, tmp_path: Path
):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    version = json.loads((folder / "manifest.json").read_text())["version"]
    attach_finetune_baseline(folder, _results(version, 0.61))
    card = folder / "MODEL_CARD.md"
    card.write_text(card.read_text() + "\n\n## Rupture model (`rupture_model.skops`)\nKept.\n")
    attach_finetune_baseline(folder, _results(version, 0.72))
    text = card.read_text()
    assert "## Rupture model" in text and "Kept." in text and text.count(FINETUNE_HEADING) == 1
    assert "0.610" not in text and text.rstrip().endswith("0.72 |")


def test_model_card_rewritten_by_a_refit_keeps_the_finetune_section(tmp_path: Path):
    from pipeline.training.model_card import write_model_card

    # What train-sessions and train-rupture do: a new card from the manifest they carry over.
    shipped = json.loads(Path("models/default/manifest.json").read_text())
    metadata = {k: v for k, v in shipped.items() if k != "files"}
    metadata["finetune_baseline"] = _results(shipped["version"], 0.61)
    card = write_model_card(tmp_path, metadata).read_text()
    assert card.count(FINETUNE_HEADING) == 1 and "0.610 [0.56, 0.66]" in card
    del metadata["finetune_baseline"]
    assert FINETUNE_HEADING not in write_model_card(tmp_path, metadata).read_text()


def test_model_card_names_the_model_each_head_was_added_to_after_a_refit(tmp_path: Path):
    from pipeline.training.model_card import write_model_card

    shipped = json.loads(Path("models/default/manifest.json").read_text())
    metadata = {k: v for k, v in shipped.items() if k != "files"}
    # A refit (train-sessions, train-rupture) makes the refitted folder the parent; the heads
    # were added to earlier models and keep naming them.
    metadata["parent"] = {"version": "some-refit-s", "git_sha": None}
    heads = metadata["added_heads"]
    heads["style"] = {**heads["style"], "added_to": "base-a"}
    heads["strain"] = {k: v for k, v in heads["strain"].items() if k != "added_to"}
    card = write_model_card(tmp_path, metadata).read_text()
    assert "style to `base-a`" in card
    # A head saved before the field existed falls back to the folder's parent.
    assert "strain to `some-refit-s`" in card
