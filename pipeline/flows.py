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
from pipeline.locking import run_lock
from pipeline.store import Store


def _config(config: dict) -> AllianceConfig:
    return AllianceConfig.model_validate(config)


@task(name="ingest", retries=2, retry_delay_seconds=2, persist_result=False)
def ingest_task(paths: list[str], config: dict, store_url: str, run_id: str) -> dict:
    return steps.ingest_step([Path(p) for p in paths], _config(config), Store(store_url), run_id)


@task(name="score-sessions", persist_result=False)
def score_task(session_ids: list[str], config: dict, store_url: str, run_id: str) -> dict:
    return steps.score_step(session_ids, _config(config), Store(store_url), run_id)


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


def _partitions(ids: list[str], size: int) -> list[list[str]]:
    return [ids[begin : begin + size] for begin in range(0, len(ids), size)] or [[]]


def run_pipeline(
    job: str, inputs: list[str], out_dir: str, config: dict, store_url: str, include_text: bool
) -> dict:
    """The body of the ``score`` and ``nightly`` flows (must run inside a flow).

    Holds the run lock of the store and the output folder for the whole run; ingests,
    scores every pending session (each committed on its own), recomputes the flags of the
    clients touched and exports the store's current state.
    """
    settings = _config(config)
    run_id = uuid.uuid4().hex[:12]
    with run_lock(store_url, Path(out_dir)):
        store = Store(store_url)
        model = steps.load_model(settings)
        info: dict = {
            "run_id": run_id,
            "job": job,
            "status": "running",
            "alliance_version": __version__,
            "model_version": model.version,
            "model_manifest_sha256": model.manifest.get("files", {}),
            "encoder_sha256": settings.encoder.sha256,
            "config_hash": settings.digest(),
        }
        info["resumes_after"] = store.mark_interrupted_runs()
        store.record_run(run_id, info)
        timings: dict[str, float] = {}
        try:
            start = time.perf_counter()
            ingested = ingest_task(inputs, config, store_url, run_id)
            timings["ingest"] = round(time.perf_counter() - start, 3)
            ids = ingested["session_ids"]
            scored = {"sessions": 0, "skipped": 0, "passages": 0}
            for part in _partitions(ids, settings.run.sessions_per_task):
                result = score_task(part, config, store_url, run_id)
                for key in scored:
                    scored[key] += result[key]
                for stage, seconds in result["seconds"].items():
                    timings[stage] = round(timings.get(stage, 0.0) + seconds, 3)
            start = time.perf_counter()
            flag_task(ids, config, store_url)
            timings["flag"] = round(time.perf_counter() - start, 3)
            info["counts"] = {
                "records_read": ingested["read"],
                "sessions_valid": ingested["valid"],
                "new_or_amended": ingested["new_or_amended"],
                "quarantined": ingested["quarantined"],
                "exact_repeats_dropped": ingested["repeats"],
                "sessions_pending": len(ids),
                "sessions_scored": scored["sessions"],
                "sessions_skipped": scored["skipped"],
                "passages": scored["passages"],
                "estimates": len(store.estimates()),
                "flags": len(store.flags()),
            }
            if ingested["fhir"]:  # e.g. psychotherapy notes skipped, Patient resources ignored
                info["fhir"] = ingested["fhir"]
            info["status"] = "finished"
            info["timings_s"] = timings
            start = time.perf_counter()
            export_task(out_dir, store_url, run_id, info, include_text)
            timings["export"] = round(time.perf_counter() - start, 3)
        except BaseException as error:
            # The exception's type only: messages from libraries might quote input text.
            store.record_run(run_id, {**info, "status": "failed", "error": type(error).__name__})
            raise
        store.record_run(run_id, info)
        return info


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
    return run_pipeline("score", inputs, out_dir, config, store_url, include_text)


@flow(name="nightly", persist_result=False, log_prints=False)
def nightly_flow(
    inputs: list[str],
    out_dir: str,
    config: dict,
    store_url: str,
    include_text: bool = False,
) -> dict:
    """The clinic's unattended run: score every session not yet scored for its (id, content,
    model version), exactly once, resuming wherever an earlier run stopped.

    Same arguments and result as :func:`score_flow`; the store is usually a long-lived
    database rather than a file in the output folder.
    """
    return run_pipeline("nightly", inputs, out_dir, config, store_url, include_text)


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
