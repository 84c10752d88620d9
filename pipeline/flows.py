"""Prefect flows: thin sequences of the plain steps in :mod:`pipeline.steps`.

Tasks receive and return ids, counts and paths only; result persistence is off, so no note
text reaches Prefect's database or result storage. Only ingest (file I/O) retries.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from prefect import flow, task

from pipeline import __version__, steps
from pipeline.config import AllianceConfig
from pipeline.export import export_outputs
from pipeline.store import Store


def _config(config: dict) -> AllianceConfig:
    return AllianceConfig.model_validate(config)


@task(name="ingest", retries=2, retry_delay_seconds=2, persist_result=False)
def ingest_task(paths: list[str], config: dict, store_url: str, run_id: str) -> dict:
    return steps.ingest_step([Path(p) for p in paths], _config(config), Store(store_url), run_id)


@task(name="segment", persist_result=False)
def segment_task(session_ids: list[str], config: dict, store_url: str) -> int:
    return steps.segment_step(session_ids, _config(config), Store(store_url))


@task(name="classify", persist_result=False)
def classify_task(session_ids: list[str], config: dict, store_url: str) -> int:
    return steps.classify_step(session_ids, _config(config), Store(store_url))


@task(name="estimate", persist_result=False)
def estimate_task(session_ids: list[str], config: dict, store_url: str) -> int:
    return steps.estimate_step(session_ids, _config(config), Store(store_url))


@task(name="flag", persist_result=False)
def flag_task(session_ids: list[str], config: dict, store_url: str) -> int:
    return steps.flag_step(session_ids, _config(config), Store(store_url))


@task(name="export", persist_result=False)
def export_task(
    out_dir: str, store_url: str, run_id: str, run_info: dict, include_text: bool
) -> list[str]:
    store = Store(store_url)
    paths = export_outputs(store, Path(out_dir), run_info, store.quarantine(run_id), include_text)
    return [str(p) for p in paths.values()]


@flow(name="score", persist_result=False, log_prints=False)
def score_flow(
    inputs: list[str],
    out_dir: str,
    config: dict,
    store_url: str,
    include_text: bool = False,
) -> dict:
    """Ingest -> segment -> classify -> estimate -> flag -> export, for one batch of inputs.

    Args:
        inputs: Input files or folders (JSONL, CSV, folders of front-matter text files).
        out_dir: Output folder for the contract files.
        config: A validated ``AllianceConfig`` as a JSON-able dict.
        store_url: SQLAlchemy URL of the result store.
        include_text: Put passage text into passages.jsonl.

    Returns:
        The run summary written to run.json.
    """
    run_id = uuid.uuid4().hex[:12]
    timings: dict[str, float] = {}

    def timed(name, future_fn, *args):
        start = time.perf_counter()
        value = future_fn(*args)
        timings[name] = round(time.perf_counter() - start, 3)
        return value

    ingested = timed("ingest", ingest_task, inputs, config, store_url, run_id)
    ids = ingested["session_ids"]
    n_passages = timed("segment", segment_task, ids, config, store_url)
    n_scored = timed("classify", classify_task, ids, config, store_url)
    n_estimates = timed("estimate", estimate_task, ids, config, store_url)
    n_flags = timed("flag", flag_task, ids, config, store_url)
    settings = _config(config)
    model = steps.load_model(settings)
    run_info = {
        "run_id": run_id,
        "alliance_version": __version__,
        "model_version": model.version,
        "model_manifest_sha256": model.manifest.get("files", {}),
        "encoder_sha256": settings.encoder.sha256,
        "config_hash": settings.digest(),
        "counts": {
            "records_read": ingested["read"],
            "sessions_valid": ingested["valid"],
            "sessions_scored": len(ids),
            "quarantined": ingested["quarantined"],
            "passages": n_passages,
            "passages_scored": n_scored,
            "estimates": n_estimates,
            "flags": n_flags,
        },
        "timings_s": timings,
    }
    start = time.perf_counter()
    export_task(out_dir, store_url, run_id, run_info, include_text)
    timings["export"] = round(time.perf_counter() - start, 3)
    Store(store_url).record_run(run_id, run_info)
    return run_info


@task(name="train-candidate", persist_result=False)
def train_candidate_task(
    data_dir: str | None,
    out_dir: str,
    config: dict,
    train_config: dict,
    notes: str | None,
    quick: bool,
) -> dict:
    from pipeline.config import TrainConfig
    from pipeline.training.quick import train_quick
    from pipeline.training.retrain import train_transformer

    settings = _config(config)
    notes_path = Path(notes) if notes else None
    if quick:
        manifest = train_quick(
            Path(data_dir),
            Path(out_dir),
            settings,
            notes=notes_path,
            seed=TrainConfig.model_validate(train_config).seed,
        )
    else:
        manifest = train_transformer(
            Path(data_dir) if data_dir else None,
            Path(out_dir),
            settings,
            TrainConfig.model_validate(train_config),
            notes_path,
        )
    return {
        "version": manifest["version"],
        "metrics": manifest["metrics"],
        "wall_time_s": manifest["training"]["wall_time_s"],
    }


@task(name="compare", persist_result=False)
def compare_task(
    candidate: str,
    current: str,
    config: dict,
    data_dir: str | None,
    train_config: dict,
    notes: str | None,
) -> dict:
    from pipeline.config import TrainConfig
    from pipeline.labels import load_labels
    from pipeline.training.data import load_passages
    from pipeline.training.retrain import compare_models

    settings = TrainConfig.model_validate(train_config)
    valid = load_passages(
        Path(data_dir) if data_dir else None,
        load_labels(),
        settings.corpora if data_dir else None,
        Path(notes) if notes else settings.notes,
    )["validation"]
    return compare_models(Path(candidate), Path(current), _config(config), valid)


@task(name="promote", persist_result=False)
def promote_task(candidate: str, default: str) -> None:
    from pipeline.training.retrain import promote

    promote(Path(candidate), Path(default))


@flow(name="retrain", persist_result=False)
def retrain_flow(
    data_dir: str | None,
    out_dir: str,
    config: dict,
    train_config: dict,
    notes: str | None = None,
    quick: bool = False,
    promote: bool = True,
) -> dict:
    """Train a candidate -> compare it with the current default on validation -> promote it
    only when it is no worse (otherwise it stays a candidate in ``models/``).

    Returns:
        Candidate metrics, both validation scores and the promotion decision.
    """
    from pipeline.training.retrain import should_promote

    trained = train_candidate_task(data_dir, out_dir, config, train_config, notes, quick)
    current = str(_config(config).model_dir)
    scores = compare_task(out_dir, current, config, data_dir, train_config, notes)
    promoted = promote and should_promote(scores)
    if promoted:
        promote_task(out_dir, current)
    return {**trained, "scores": scores, "promoted": promoted, "candidate": out_dir}
