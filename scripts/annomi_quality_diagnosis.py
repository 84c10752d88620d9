"""Why the AnnoMI high- vs low-quality AUC is what it is: gold vs predicted MI behaviour shares.

AnnoMI's expert codes separate high- from low-quality MI transcripts well: a transcript's share
of therapist reflections, minus its share of therapist input. This script asks how much of that
separation survives when the shares come from the passage model instead of the experts, on the
transcripts it never trained on (validation, test, both) and on all of them:

* utterance level: macro F1 of the ``mi_behaviour`` head against the expert code;
* transcript level: Spearman between predicted and expert shares, and the high- vs low-quality
  AUC of each share (input share negated, so higher always means "more like high quality");
* the AUC of the session estimator's overall estimate (what issue 4's target measures);

each AUC with its 95% stratified-bootstrap interval (3 low-quality transcripts per held-out
split since AnnoMI is split by quality: the intervals are wide).

Prints JSON. Usage:
    python scripts/annomi_quality_diagnosis.py --data ../shared/data [--model models/default]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy.stats import spearmanr  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from pipeline.config import load_config  # noqa: E402
from pipeline.model.heads import HEAD_BY_NAME  # noqa: E402
from pipeline.steps import load_model  # noqa: E402
from pipeline.training.corpora import corpus_folder, read_annomi, read_session_targets  # noqa: E402
from pipeline.training.evaluate import auc_interval  # noqa: E402
from pipeline.training.labels import load_labels  # noqa: E402
from pipeline.training.records import split_for  # noqa: E402
from pipeline.training.sessions import score_turns, session_rows  # noqa: E402

CLASSES = HEAD_BY_NAME["mi_behaviour"].classes


def _auc(high: np.ndarray, values: np.ndarray) -> dict | None:
    """AUC with its 95% stratified-bootstrap interval (few low-quality transcripts: wide)."""
    if len(set(high.tolist())) != 2:
        return None
    auc, (low, upper) = auc_interval(high, values)
    return {"auc": round(auc, 3), "ci95": [round(low, 3), round(upper, 3)]}


def diagnose(data_dir: Path, model_dir: str | None) -> dict:
    """The figures described in the module docstring, as a dict."""
    config = load_config(None, [f"model_dir={model_dir}"] if model_dir else None)
    model = load_model(config)
    labels = load_labels()
    sessions = [s for s in read_session_targets(data_dir, labels) if s.source == "annomi"]
    gold_by_group: dict[str, list[int | None]] = {}
    for passage in read_annomi(corpus_folder(data_dir, "annomi"), labels):
        gold_by_group.setdefault(passage.group, []).append(passage.labels.get("mi_behaviour"))
    scored = score_turns(sessions, model.scorer)
    probabilities, _, owners, speakers = scored
    predicted = probabilities["mi_behaviour"]
    owners_array, clinician = np.array(owners), np.array(speakers) == "clinician"

    gold = np.full(len(owners), -1)
    for number, session in enumerate(sessions):
        rows = np.flatnonzero(owners_array == number)
        codes = gold_by_group.get(session.group, [])
        if len(codes) != len(rows):  # turns and passages must line up one to one
            continue
        gold[rows] = [-1 if code is None else int(code) for code in codes]

    def shares(source: np.ndarray, k: int) -> np.ndarray:
        out = []
        for number in range(len(sessions)):
            rows = (owners_array == number) & clinician & (gold >= 0)
            out.append(float(source[rows, k].mean()) if rows.any() else np.nan)
        return np.array(out)

    expert = np.eye(len(CLASSES))[np.maximum(gold, 0)]
    reflection, therapist_input = CLASSES.index("reflection"), CLASSES.index("therapist_input")
    values = {
        "gold_reflection_share": shares(expert, reflection),
        "predicted_reflection_share": shares(predicted, reflection),
        "gold_minus_input_share": -shares(expert, therapist_input),
        "predicted_minus_input_share": -shares(predicted, therapist_input),
    }
    values["gold_reflection_minus_input"] = (
        values["gold_reflection_share"] + values["gold_minus_input_share"]
    )
    values["predicted_reflection_minus_input"] = (
        values["predicted_reflection_share"] + values["predicted_minus_input_share"]
    )
    values["overall_estimate"] = model.estimator.predict(session_rows(len(sessions), *scored))[:, 3]
    high = np.array([s.targets["overall"] > 3 for s in sessions])
    split = np.array([split_for(s) for s in sessions])
    held = split != "train"
    held_rows = held[owners_array] & (gold >= 0)
    report = {
        "model_version": model.version,
        "transcripts": {
            "all": len(sessions),
            "low_quality": int((~high).sum()),
            "heldout": int(held.sum()),
            "heldout_low_quality": int((~high & held).sum()),
            "validation_low_quality": int((~high & (split == "validation")).sum()),
        },
        "heldout_utterance_macro_f1": round(
            float(f1_score(gold[held_rows], predicted[held_rows].argmax(1), average="macro")), 3
        ),
        "heldout_share_spearman_predicted_vs_gold": {
            name: round(
                float(
                    spearmanr(
                        values[f"predicted_{name}"][held], values[f"gold_{name}"][held]
                    ).statistic
                ),
                3,
            )
            for name in ("reflection_share", "minus_input_share")
        },
        "quality_auc": {
            subset: {name: _auc(high[mask], v[mask]) for name, v in values.items()}
            for subset, mask in (
                ("validation", split == "validation"),
                ("test", split == "test"),
                ("heldout", held),
                ("all", np.ones_like(held)),
            )
        },
        "note": "'all' includes transcripts the passage model trained on; 'heldout' does not",
    }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="../shared/data")
    parser.add_argument("--model", default=None, help="model folder (default models/default)")
    args = parser.parse_args()
    print(json.dumps(diagnose(args.data, args.model), indent=2))


if __name__ == "__main__":
    main()
