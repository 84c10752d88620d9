"""Prefect flows: thin sequences of the plain steps in :mod:`pipeline.steps`.

Tasks receive and return ids, counts and paths only; result persistence is off, so no note
text reaches Prefect's database or result storage. Only ingest (file I/O) retries.

Scoring is split into partitions of ``run.sessions_per_task`` sessions. Under Prefect's default
thread-pool runner they run one after another in the flow process; under any other task runner
(``run.task_runner: dask`` picks a ``prefect_dask.DaskTaskRunner``, see :func:`run_scoring`)
they are submitted to it, and each worker process loads the model once and commits to the store
on its own. Ingest, flags and export always run in the flow process.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import Flow, flow, task
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline import __version__, steps
from pipeline.config import AllianceConfig
from pipeline.export import export_outputs
from pipeline.store.core import Store
from pipeline.store.locking import run_lock


def _config(config: dict) -> AllianceConfig:
    return AllianceConfig.model_validate(config)


@task(name="ingest", retries=2, retry_delay_seconds=2, persist_result=False)
def ingest_task(paths: list[str], config: dict, store_url: str, run_id: str) -> dict:
    return steps.ingest_step([Path(p) for p in paths], _config(config), Store(store_url), run_id)


def _model_identity(model) -> dict:
    return {"version": model.version, "files": model.manifest.get("files", {})}


def _use_flow_model(settings: AllianceConfig, identity: dict | None) -> None:
    """Make sure this process scores with the model the flow loaded.

    A Dask worker outlives runs and keeps its model in memory (``steps.load_model`` caches
    it), so after a promotion replaced the folder it reloads it. A worker whose folder holds
    another model (another machine's copy) is an error rather than a silent mix of models.
    """
    if identity is None or _model_identity(steps.load_model(settings)) == identity:
        return
    steps._model.cache_clear()  # the folder changed since this process loaded it
    if _model_identity(steps.load_model(settings)) != identity:
        raise RuntimeError(
            f"the model folder {settings.model_dir} on this worker does not hold the flow's "
            f"model {identity['version']}: give every worker the same model folder"
        )


@task(name="score-sessions", persist_result=False)
def score_task(
    session_ids: list[str],
    config: dict,
    store_url: str,
    run_id: str,
    model: dict | None = None,
) -> dict:
    settings = _config(config)
    _use_flow_model(settings, model)
    return steps.score_step(session_ids, settings, Store(store_url), run_id)


@task(name="flag", persist_result=False)
def flag_task(session_ids: list[str], config: dict, store_url: str) -> int:
    return steps.flag_step(session_ids, _config(config), Store(store_url))


@task(name="export", persist_result=False)
def export_task(
    out_dir: str, store_url: str, run_id: str, run_info: dict, include_text: bool, config: dict
) -> list[str]:
    store = Store(store_url)
    paths = export_outputs(
        store,
        Path(out_dir),
        run_info,
        store.quarantine(run_id),
        include_text,
        _config(config).approach,
    )
    return [str(p) for p in paths.values()]


def _partitions(ids: list[str], size: int) -> list[list[str]]:
    return [ids[begin : begin + size] for begin in range(0, len(ids), size)] or [[]]


STAGES = ("segment", "classify", "estimate", "commit")


def _public_address(address: str | None) -> str | None:
    """A scheduler address without any ``user:password@`` part (it goes into run.json)."""
    return re.sub(r"(?<=://)[^/@]*@", "", address) if address else address


def _describe_runner(runner: Any, started: bool) -> dict:
    """What ran the scoring partitions, for run.json (no credentials)."""
    if runner is None or isinstance(runner, ThreadPoolTaskRunner):
        return {"name": "thread"}
    name = type(runner).__name__
    if name != "DaskTaskRunner":
        return {"name": name}
    address = getattr(runner, "address", None)
    described: dict = {"name": "dask", "address": _public_address(address) or "local-cluster"}
    if not address:
        described["workers_requested"] = runner.cluster_kwargs.get("n_workers")
        env = runner.cluster_kwargs.get("env") or {}
        described["torch_threads_per_worker"] = int(env.get("OMP_NUM_THREADS", 1))
    # Only a runner that was used has a client; asking an unused one would start a cluster.
    described["workers"] = len(runner.client.nthreads()) if started else None
    return described


def _score_partitions(
    ids: list[str], config: dict, store_url: str, run_id: str, model: dict
) -> tuple[list[dict], dict]:
    """Score every partition: in this process one after another under the default thread-pool
    runner, else submitted to the flow's task runner (e.g. Dask workers)."""
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    parts = _partitions(ids, _config(config).run.sessions_per_task)
    if runner is None or isinstance(runner, ThreadPoolTaskRunner) or not ids:
        results = [score_task(part, config, store_url, run_id, model) for part in parts]
        return results, _describe_runner(runner, started=False)
    futures = [score_task.submit(part, config, store_url, run_id, model) for part in parts]
    # Let every partition end before the first error is raised, so no worker is still
    # committing once the flow gives the run lock back.
    for future in futures:
        future.wait()
    results = [future.result() for future in futures]
    return results, _describe_runner(runner, started=True)


def _stage_wall_clock(worker_s: dict[str, float], scoring_s: float, runner: dict) -> dict:
    """Wall-clock seconds per scoring stage, as seen from the flow.

    In one process the stages ran one after another, so their own times are wall-clock
    times. Across workers they overlap: the scoring wall-clock is split between the stages
    in proportion to the worker seconds each took (``worker_seconds`` keeps the sums).
    """
    total = sum(worker_s.values())
    if runner["name"] == "thread" or total <= 0:
        return dict(worker_s)
    return {stage: round(scoring_s * seconds / total, 3) for stage, seconds in worker_s.items()}


def run_pipeline(
    job: str,
    inputs: list[str],
    out_dir: str,
    config: dict,
    store_url: str,
    include_text: bool,
    startup_s: dict | None = None,
) -> dict:
    """The body of the ``score`` and ``nightly`` flows (must run inside a flow).

    Holds the run lock of the store and the output folder for the whole run; ingests,
    scores every pending session (each committed on its own), recomputes the flags of the
    clients touched and exports the store's current state. ``startup_s`` (the command's
    start-up seconds, :mod:`pipeline.cli.startup`) goes into run.json as it is.
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
        if startup_s:
            info["startup_s"] = startup_s
        info["resumes_after"] = store.mark_interrupted_runs()
        store.record_run(run_id, info)
        timings: dict[str, float] = {}
        try:
            start = time.perf_counter()
            ingested = ingest_task(inputs, config, store_url, run_id)
            timings["ingest"] = round(time.perf_counter() - start, 3)
            ids = ingested["session_ids"]
            start = time.perf_counter()
            results, info["task_runner"] = _score_partitions(
                ids, config, store_url, run_id, _model_identity(model)
            )
            scoring_s = time.perf_counter() - start
            info["task_runner"]["tasks"] = len(results)
            scored = {k: sum(r[k] for r in results) for k in ("sessions", "skipped", "passages")}
            worker_s = {
                stage: round(sum(r["seconds"].get(stage, 0.0) for r in results), 3)
                for stage in STAGES
            }
            timings.update(_stage_wall_clock(worker_s, scoring_s, info["task_runner"]))
            timings["score"] = round(scoring_s, 3)
            info["worker_seconds"] = worker_s
            start = time.perf_counter()
            flag_task(ids, config, store_url)
            timings["flag"] = round(time.perf_counter() - start, 3)
            info["counts"] = {
                "records_read": ingested["read"],
                "sessions_valid": ingested["valid"],
                "new_or_amended": ingested["new_or_amended"],
                "quarantined": ingested["quarantined"],
                "exact_repeats_dropped": ingested["repeats"],
                # Kinds and counts only (policy redact): the redacted text is in the store.
                "identifiers_redacted": ingested["identifiers_redacted"],
                "sessions_pending": len(ids),
                "sessions_scored": scored["sessions"],
                "sessions_skipped": scored["skipped"],
                "passages": scored["passages"],
                **store.counts(),
            }
            if ingested["fhir"]:  # e.g. psychotherapy notes skipped, Patient resources ignored
                info["fhir"] = ingested["fhir"]
            info["status"] = "finished"
            info["timings_s"] = timings
            start = time.perf_counter()
            export_task(out_dir, store_url, run_id, info, include_text, config)
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
    startup_s: dict | None = None,
) -> dict:
    """Ingest -> segment -> classify -> estimate -> flag -> export, for one batch of inputs.

    Args:
        inputs: Input files or folders (JSONL, CSV, folders of front-matter text files).
        out_dir: Output folder for the contract files.
        config: A validated ``AllianceConfig`` as a JSON-able dict.
        store_url: SQLAlchemy URL of the result store.
        include_text: Put passage text into passages.jsonl.
        startup_s: The command's start-up seconds, recorded in run.json.

    Returns:
        The run summary written to run.json.
    """
    return run_pipeline("score", inputs, out_dir, config, store_url, include_text, startup_s)


@flow(name="nightly", persist_result=False, log_prints=False)
def nightly_flow(
    inputs: list[str],
    out_dir: str,
    config: dict,
    store_url: str,
    include_text: bool = False,
    startup_s: dict | None = None,
) -> dict:
    """The clinic's unattended run: score every session not yet scored for its (id, content,
    model version), exactly once, resuming wherever an earlier run stopped.

    Same arguments and result as :func:`score_flow`; the store is usually a long-lived
    database rather than a file in the output folder.
    """
    return run_pipeline("nightly", inputs, out_dir, config, store_url, include_text, startup_s)


def dask_task_runner(settings: AllianceConfig):
    """The ``prefect_dask.DaskTaskRunner`` for ``settings.run``.

    With ``run.dask_address`` it connects to that scheduler and uses the cluster's workers.
    Otherwise it starts a temporary ``LocalCluster`` of ``run.dask_workers`` processes with one
    Dask thread each (one partition at a time per process); torch in each gets
    ``encoder.threads`` intra-op threads, or this machine's cores shared out between the
    workers, so the workers do not oversubscribe the CPU.
    """
    from prefect_dask import DaskTaskRunner

    run = settings.run
    if run.dask_address:
        return DaskTaskRunner(address=run.dask_address)
    threads = settings.encoder.threads or max(1, (os.cpu_count() or 1) // run.dask_workers)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": run.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            # No dashboard for a one-run cluster, and its status endpoint on a free loopback
            # port, so runs side by side (or a standing scheduler on 8787) never clash.
            "dashboard_address": None,
            "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
            # Torch and BLAS read these when they start in the worker process.
            "env": {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        }
    )


@contextlib.contextmanager
def _api_for_workers(standing_cluster: bool) -> Iterator[None]:
    """Give task-runner workers the flow's Prefect API.

    Workers report their task runs to ``PREFECT_API_URL`` from the flow's settings. Without
    one, every worker process would start a temporary Prefect server of its own, so for a
    temporary local cluster the temporary server the flow would start anyway is started here
    and named in the settings that travel to the workers. A standing cluster's workers outlive
    the run (and may sit on other machines): they need a server that outlives it too.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    if standing_cluster:
        raise ValueError(
            "--dask-address needs a Prefect server that the Dask workers can reach: start one "
            "(prefect server start --host 0.0.0.0) and set PREFECT_API_URL, e.g. "
            "http://flow-host:4200/api, where the flow runs"
        )
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the instance Prefect's own client would start
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def run_scoring(
    job: str,
    inputs: list[str],
    out_dir: str,
    settings: AllianceConfig,
    store_url: str,
    include_text: bool = False,
    startup_s: dict | None = None,
) -> dict:
    """Run the ``score`` or ``nightly`` flow with the task runner of ``settings.run``.

    ``thread`` (the default) scores the partitions in this process; ``dask`` submits them
    to a :func:`dask_task_runner`.

    Returns:
        The run summary written to run.json.
    """
    chosen: Flow = score_flow if job == "score" else nightly_flow
    arguments = {
        "inputs": inputs,
        "out_dir": out_dir,
        "config": settings.model_dump(mode="json"),
        "store_url": store_url,
        "include_text": include_text,
        "startup_s": startup_s,
    }
    if settings.run.task_runner == "thread":
        return chosen(**arguments)
    with _api_for_workers(standing_cluster=bool(settings.run.dask_address)):
        return chosen.with_options(task_runner=dask_task_runner(settings))(**arguments)


@task(name="train-candidate", persist_result=False)
def train_candidate_task(
    data_dir: str | None,
    out_dir: str,
    config: dict,
    train_config: dict,
    notes: list[str] | None,
    quick: bool,
) -> dict:
    from pipeline.config import TrainConfig
    from pipeline.training.quick import train_quick
    from pipeline.training.retrain import train_transformer

    settings = _config(config)
    notes_path = [Path(n) for n in notes] if notes else None
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


@task(name="fit-rupture", persist_result=False)
def rupture_task(candidate: str, config: dict, data_dir: str | None) -> dict:
    """Refit the rupture model on the candidate's own outputs (its features are the
    candidate's passage scores and estimates, so the current default's cannot be reused)."""
    from pipeline.training.rupture import fit_candidate_rupture

    return fit_candidate_rupture(
        Path(candidate), _config(config), Path(data_dir) if data_dir else None
    )


@task(name="compare", persist_result=False)
def compare_task(
    candidate: str,
    current: str,
    config: dict,
    data_dir: str | None,
    train_config: dict,
    notes: list[str] | None,
) -> dict:
    from pipeline.config import TrainConfig
    from pipeline.training.data import load_passages
    from pipeline.training.finetune import restrict_sources
    from pipeline.training.labels import load_labels
    from pipeline.training.retrain import compare_models

    settings = TrainConfig.model_validate(train_config)
    valid = load_passages(
        Path(data_dir) if data_dir else None,
        load_labels(),
        settings.corpora if data_dir else None,
        [Path(n) for n in notes] if notes else settings.notes,
    )["validation"]
    # Both models are scored on the labels the candidate was trained to predict.
    valid = restrict_sources(valid, settings.head_sources)
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
    notes: list[str] | None = None,
    quick: bool = False,
    promote: bool = True,
) -> dict:
    """Train a candidate -> fit its rupture model -> compare it with the current default on
    validation -> promote it only when it is no worse (otherwise it stays a candidate in
    ``models/``).

    Returns:
        Candidate metrics, the rupture model's report, both validation scores and the
        promotion decision.
    """
    from pipeline.training.retrain import should_promote

    trained = train_candidate_task(data_dir, out_dir, config, train_config, notes, quick)
    rupture = rupture_task(out_dir, config, data_dir)
    current = str(_config(config).model_dir)
    scores = compare_task(out_dir, current, config, data_dir, train_config, notes)
    promoted = promote and should_promote(scores)
    if promoted:
        promote_task(out_dir, current)
    return {
        **trained,
        "rupture": rupture,
        "scores": scores,
        "promoted": promoted,
        "candidate": out_dir,
    }
