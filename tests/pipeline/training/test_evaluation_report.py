"""`alliance evaluate`'s passage rows: intervals per reader, the plain fine-tune joined by task."""

import json
from pathlib import Path

import pytest

from pipeline.training.evaluation_report import evaluate_model_on, read_finetune_baseline

NOTES = Path(__file__).resolve().parents[3] / "data" / "fixtures" / "note_passages.jsonl"


def test_evaluation_report_rows_carry_intervals_and_the_plain_finetune(tiny_config):
    plain = {"macro_f1": 0.5, "macro_f1_95": [0.4, 0.6]}
    rows = evaluate_model_on(
        tiny_config.model_dir, NOTES, "heldout", tiny_config, {"notes:bond": plain}
    )
    bond = {row["source"]: row for row in rows if row["head"] == "bond"}
    assert set(bond) == {"all", "notes"} and bond["all"]["n"] == bond["notes"]["n"] > 0
    assert bond["notes"]["finetune"] == plain and bond["all"]["finetune"] is None
    for row in rows:
        for reader in ("model", "baseline"):
            low, high = row[reader]["macro_f1_95"]
            assert low <= row[reader]["macro_f1"] <= high


def test_evaluation_report_finetune_file_is_read_for_the_heldout_split_only(tmp_path: Path):
    entry = {"macro_f1": 0.7, "macro_f1_95": [0.6, 0.8]}
    path = tmp_path / "finetune.json"
    path.write_text(json.dumps({"tasks": {"epitome:exploration": {"plain_finetune": entry}}}))
    assert read_finetune_baseline(path, "heldout") == {"epitome:exploration": entry}
    with pytest.raises(ValueError, match="--split heldout"):
        read_finetune_baseline(path, "test")
    path.write_text("{}")
    with pytest.raises(ValueError, match="finetune_baseline.py"):
        read_finetune_baseline(path, "heldout")
