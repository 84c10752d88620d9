"""Precision and recall of each flag code, and the flag rate, on labeled sessions.

Two sets, both scored by the pipeline's own steps with the model in ``--model``:

- **Labeled note sessions** (``data/fixtures/note_sessions.jsonl`` with
  ``note_session_labels.csv``): every session is scored with its client's history, and each
  code is checked against the label it claims: the rupture codes (``RUPTURE``,
  ``RUPTURE_DROP``, ``STRAIN_MARKERS``) against ``rupture``, ``LOW_ALLIANCE`` against a labeled
  ``overall`` of 2.5 or less, ``NO_GOAL_TALK`` against ``goal`` 2.5 or less, ``REPAIR``
  against ``repaired_in_session`` or ``repairs_earlier``. Also: the share of sessions with a
  flag (information-only ``REPAIR`` aside), the same share in a realistic caseload (its
  ruptures weighted to 10%, ``FlagBudget``), and of hard negatives with one. Report ``test``;
  ``dev`` is where thresholds may be chosen (and the session estimator learned from it, so
  its dev figures are in-sample).
- **The session estimates** on the same sessions: Spearman of the overall and bond estimates
  with the labels, beside a TF-IDF + ridge regression over the session's own text fitted on
  the dev sessions (95% bootstrap intervals).
- **The strain head** on the labeled strain passages of the note sessions' test clients
  (``data/fixtures/strain_passages.jsonl``): AUC of its probability for strain between client
  and clinician against the hard negatives (distress, conflict outside therapy, symptoms, risk
  talk), and against every passage without strain; the same on the withdrawal passages' test
  notes (``data/fixtures/withdrawal_passages.jsonl``: thinking of stopping, feeling lectured).
- **The fixtures** (``data/fixtures/sessions.jsonl``): the sessions their storylines call for
  (``data/fixtures/README.md``, "Flags the storylines call for"), and whether any session of
  the steady clients is flagged.

Prints JSON. Usage: python benchmarks/flags.py [--model DIR] [--split test|dev]
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from pipeline import steps  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.sessions.rupture import FlagBudget  # noqa: E402
from pipeline.sessions.text_model import session_text  # noqa: E402
from pipeline.store.core import Store, default_url  # noqa: E402
from pipeline.training.acceptance import (  # noqa: E402
    INFO_CODES,
    RUPTURE_CODES,
    read_flag_codes,
    storylines,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "data" / "fixtures"


def flags_of(inputs: list[Path], model: Path | None) -> tuple[dict[str, set[str]], dict, dict]:
    """Session id -> flag codes, from a fresh store; also each session's estimate and text."""
    config = load_config()
    if model is not None:
        config = config.model_copy(update={"model_dir": model})
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(default_url(Path(tmp)))
        steps.run_steps(inputs, config, store, Path(tmp))
        codes = read_flag_codes(Path(tmp) / "flags.jsonl")
        estimates = {e.session_id: e for e in store.estimates()}
        passages = store.passages(list(estimates))
        # The words the session text baseline of ``alliance evaluate --sessions`` reads: a
        # note whole, a transcript's clinician turns (a client turn marks a transcript).
        texts = {
            sid: session_text(
                [(p.speaker, p.text) for p, _ in pairs],
                "transcript" if any(p.speaker == "client" for p, _ in pairs) else "note",
            )
            for sid, pairs in passages.items()
        }
        store.engine.dispose()
    return codes, estimates, texts


@functools.cache
def _labels() -> dict[str, dict]:
    """``note_session_labels.csv``, by session id."""
    with (FIXTURES / "note_session_labels.csv").open(encoding="utf-8") as handle:
        return {row["session_id"]: row for row in csv.DictReader(handle)}


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def _precision_recall(flagged: set[str], truth: set[str], sessions: set[str]) -> dict:
    flagged, truth = flagged & sessions, truth & sessions
    hits = len(flagged & truth)
    return {
        "flagged": len(flagged),
        "true": len(truth),
        "precision": _ratio(hits, len(flagged)),
        "recall": _ratio(hits, len(truth)),
    }


def note_sessions(codes: dict[str, set[str]], split: str) -> dict:
    labels = _labels()
    sessions = {sid for sid, row in labels.items() if row["split"] == split}

    def labeled(test) -> set[str]:
        return {sid for sid, row in labels.items() if test(row)}

    truth = {
        "rupture": labeled(lambda r: r["rupture"] == "1"),
        "LOW_ALLIANCE": labeled(lambda r: float(r["overall"]) <= 2.5),
        "NO_GOAL_TALK": labeled(lambda r: float(r["goal"]) <= 2.5),
        "REPAIR": labeled(lambda r: "1" in (r["repaired_in_session"], r["repairs_earlier"])),
    }
    with_code = defaultdict(set)
    for sid, session_codes in codes.items():
        for code in session_codes:
            with_code[code].add(sid)
    rupture_flagged = set().union(*(with_code[c] for c in RUPTURE_CODES))
    concern = {sid for sid, c in codes.items() if set(c) - set(INFO_CODES)}
    hard = labeled(lambda r: r["hard_negative"] == "1") & sessions
    per_code = {
        code: _precision_recall(with_code[code], truth["rupture"], sessions)
        for code in RUPTURE_CODES
    }
    per_code["any rupture code"] = _precision_recall(rupture_flagged, truth["rupture"], sessions)
    for code in ("LOW_ALLIANCE", "NO_GOAL_TALK", "REPAIR"):
        per_code[code] = _precision_recall(with_code[code], truth[code], sessions)
    ordered = sorted(sessions)
    caseload = FlagBudget().flag_rate(
        [sid in concern for sid in ordered], [sid in truth["rupture"] for sid in ordered]
    )
    return {
        "split": split,
        "sessions": len(sessions),
        "ruptures": len(truth["rupture"] & sessions),
        "per_code": per_code,
        "flag_rate": _ratio(len(concern & sessions), len(sessions)),
        # The share of sessions with a flag in a caseload holding 10% ruptures (FlagBudget).
        "caseload_flag_rate": round(caseload, 3),
        "hard_negatives": len(hard),
        "hard_negatives_flagged": _ratio(len(concern & hard), len(hard)),
        "hard_negatives_with_a_rupture_code": _ratio(len(rupture_flagged & hard), len(hard)),
    }


def strain_head(model: Path | None, split: str) -> dict:
    """AUCs of the strain head on the labeled strain passages of ``split`` (see the module
    docstring), and on the withdrawal passages' notes of the same split."""
    from pipeline.sessions.alliance_model import AllianceModel

    config = load_config()
    scorer = AllianceModel.load(model or config.model_dir, config.encoder).scorer
    figures = strain_auc(scorer, FIXTURES / "strain_passages.jsonl", split)
    withdrawal = strain_auc(scorer, FIXTURES / "withdrawal_passages.jsonl", split)
    if figures and withdrawal:
        figures["withdrawal_passages"] = withdrawal
    return figures or withdrawal


def strain_auc(scorer, path: Path, split: str) -> dict:
    """The strain head's AUC against the hard negatives and against every other passage, on
    the lines of ``path`` in ``split`` (``dev``: its train and validation lines)."""
    from sklearn.metrics import roc_auc_score

    if not path.exists():
        return {}
    wanted = "test" if split == "test" else ("train", "validation")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines = [line for line in lines if line["split"] in wanted]
    probabilities = scorer.predict_proba([x["text"] for x in lines], [x["context"] for x in lines])
    strain = probabilities["strain"][:, 1]
    truth = [x["labels"]["strain"] for x in lines]
    hard = [x["tags"].get("strain_hard_negative") == 1 for x in lines]
    against_hard = [i for i, (t, h) in enumerate(zip(truth, hard)) if t == 1 or h]

    def auc(rows: list[int]) -> float:
        return round(float(roc_auc_score([truth[i] for i in rows], strain[rows])), 3)

    return {
        "passages": len(lines),
        "strain": sum(truth),
        "hard_negatives": sum(hard),
        "auc_strain_vs_hard_negatives": auc(against_hard),
        "auc_strain_vs_all_other": auc(list(range(len(lines)))),
    }


def note_estimates(estimates: dict, texts: dict[str, str], split: str) -> dict:
    """Overall and bond estimates against the labels on ``split``, beside a TF-IDF + ridge
    regression over the session's own text fitted on the dev sessions (Spearman, 95%)."""
    from pipeline.training.evaluate import spearman_interval, tfidf_ridge

    labels = _labels()
    dev = [sid for sid, row in labels.items() if row["split"] == "dev" and sid in estimates]
    held = [sid for sid, row in labels.items() if row["split"] == split and sid in estimates]
    out = {}
    for target in ("overall", "bond"):
        truth = [float(labels[sid][target]) for sid in held]
        baseline = tfidf_ridge().fit(
            [texts.get(sid, "") for sid in dev], [float(labels[sid][target]) for sid in dev]
        )
        out[target] = {
            "model": spearman_interval([getattr(estimates[sid], target) for sid in held], truth),
            "tfidf_ridge": spearman_interval(
                baseline.predict([texts.get(s, "") for s in held]), truth
            ),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: shipped)")
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    args = parser.parse_args()
    note_codes, note_estimates_by_id, note_texts = flags_of(
        [FIXTURES / "note_sessions.jsonl"], args.model
    )
    fixture_codes, _, _ = flags_of([FIXTURES / "sessions.jsonl"], args.model)
    print(
        json.dumps(
            {
                "model": str(args.model or "models/default"),
                "note_sessions": note_sessions(note_codes, args.split),
                "note_session_estimates": note_estimates(
                    note_estimates_by_id, note_texts, args.split
                ),
                "strain_head": strain_head(args.model, args.split),
                "fixtures": storylines(fixture_codes),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
