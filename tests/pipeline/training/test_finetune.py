"""Fine-tuning helpers: the epoch's composition, per-head sources, and a window-model run."""

import random
from pathlib import Path

from pipeline.config import load_train_config
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.training.finetune import epoch_sample, epochs_within_budget, restrict_sources
from pipeline.training.records import LabeledPassage

NOTES = Path(__file__).resolve().parents[3] / "data" / "fixtures" / "note_passages.jsonl"


def _passages(source: str, n: int, labels: dict) -> list[LabeledPassage]:
    return [
        LabeledPassage(f"{source} {i}", "", "clinician", source, f"g{i}", labels) for i in range(n)
    ]


def test_finetune_epoch_sample_caps_and_repeats_sources():
    passages = (
        _passages("esconv", 50, {"bond": 1})
        + _passages("epitome", 5, {"bond": 0})
        + _passages("notes", 3, {"bond": 1})
    )
    chosen = epoch_sample(passages, 20, 4, random.Random(0), {"epitome": 3})
    count = lambda source: sum(p.source == source for p in chosen)  # noqa: E731
    assert (count("esconv"), count("epitome"), count("notes")) == (20, 15, 12)
    assert len({id(p) for p in chosen if p.source == "esconv"}) == 20  # a sample, not repeats


def test_finetune_restrict_sources_masks_other_sources_labels():
    passages = _passages("esconv", 2, {"bond": 1, "task": 0}) + _passages("notes", 2, {"bond": 0})
    kept = restrict_sources(passages, {"bond": ["notes", "epitome"]})
    assert [p.labels for p in kept] == [{"task": 0}, {"task": 0}, {"bond": 0}, {"bond": 0}]
    assert passages[0].labels == {"bond": 1, "task": 0}  # copies: the input is untouched
    only_bond = restrict_sources(_passages("esconv", 2, {"bond": 1}), {"bond": ["notes"]})
    assert only_bond == []  # a passage left with no label is dropped
    assert restrict_sources(passages, {}) == passages


def test_finetune_window_model_trains_and_loads(tiny_config, tmp_path):
    from pipeline.training.retrain import train_transformer

    training = load_train_config(
        profile="fast",
        overrides=[
            "context=window",
            "epochs=1",
            "batch_size=8",
            "max_length=32",
            "window_tokens=48",
            "context_tokens=8",
            "notes_repeat=1",
            "refit_heads=false",
        ],
    )
    manifest = train_transformer(None, tmp_path / "window", tiny_config, training, [NOTES])
    assert manifest["training"]["config"]["context"] == "window"
    assert manifest["training"]["config"]["profile"] == "fast"
    model = AllianceModel.load(tmp_path / "window", tiny_config.encoder)
    texts = ["Client felt heard.", "We agreed on the plan."]
    probabilities = model.scorer.predict_proba(texts, ["", texts[0]], ["client", "clinician"])
    assert probabilities["bond"].shape == (2, 2)


def test_finetune_epochs_within_budget_counts_the_first_epoch_and_the_ceiling():
    assert epochs_within_budget(5, None, 600.0) == 5  # no budget
    assert epochs_within_budget(5, 90 * 60, 20 * 60) == 4  # 20 + 3 x 20 <= 90 < 20 + 4 x 20
    assert epochs_within_budget(5, 90 * 60, 30 * 60) == 3  # exactly 3 x 30
    assert epochs_within_budget(5, 90 * 60, 10 * 60) == 5  # the ceiling
    assert epochs_within_budget(5, 90 * 60, 100 * 60) == 1  # the first epoch is already run


def test_finetune_time_budget_stops_after_the_epochs_that_fit(tiny_config, tmp_path):
    """A budget smaller than one epoch keeps the first epoch's weights and trains no more;
    the history says what was planned."""
    from pipeline.training.retrain import train_transformer

    overrides = ["epochs=3", "patience=5", "batch_size=8", "max_length=32", "notes_repeat=1"]
    training = load_train_config(
        profile="fast", overrides=[*overrides, "refit_heads=false", "time_budget_minutes=0.0001"]
    )
    manifest = train_transformer(None, tmp_path / "budget", tiny_config, training, [NOTES])
    history = manifest["training"]["history"]
    assert [e["epoch"] for e in history["epochs"]] == [1]
    assert history["epochs_planned"] == 1 and history["best_epoch"] == 1
    assert not history["stopped_early"]
