"""The clinic's commands: ``score``, ``nightly``, ``deploy`` and ``report``.

``score`` and ``nightly`` run the Prefect scoring flows (on threads or Dask workers),
``deploy`` schedules ``nightly``, and ``report`` rewrites the output files from a result
store. Registered on the app in :mod:`pipeline.cli`; Prefect, the model and the store are
imported inside the commands so that ``alliance --help`` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import (
    ConfigOption,
    ModelOption,
    SetOption,
    console,
    fail,
    load_settings,
    private_environment,
)
from pipeline.cli.watchdog import start_watchdog


class TaskRunnerName(StrEnum):
    thread = "thread"
    dask = "dask"


IncludeTextOption = Annotated[
    bool, typer.Option("--include-text", help="Write passage text into passages.jsonl.")
]
TaskRunnerOption = Annotated[
    TaskRunnerName | None,
    typer.Option(
        "--task-runner",
        help="Where the scoring tasks run: thread = one after another in this process; dask = "
        "on Dask workers (default: run.task_runner of the config, thread).",
    ),
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (with "
        "--task-runner dask; default: a temporary local cluster).",
    ),
]
DaskWorkersOption = Annotated[
    int | None,
    typer.Option(
        "--dask-workers",
        min=1,
        help="Worker processes of the temporary local Dask cluster (default 2).",
    ),
]


def score(
    inputs: Annotated[list[Path], typer.Argument(help="JSONL/CSV files or folders of .txt notes.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOption = None,
    model: ModelOption = None,
    store: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL of the result store (default: SQLite in --out)."),
    ] = None,
    overrides: SetOption = None,
    include_text: IncludeTextOption = False,
    task_runner: TaskRunnerOption = None,
    dask_address: DaskAddressOption = None,
    dask_workers: DaskWorkersOption = None,
) -> None:
    """Score sessions end to end and write the contract files into --out.

    Writes passages.jsonl, sessions.csv, flags.jsonl, report.html, quarantine.jsonl and
    run.json. Bad records are quarantined and the run goes on (exit status 0).

    Example: alliance score data/fixtures/sessions.jsonl --out out/

    On Dask workers: alliance score notes.jsonl --out out/ --task-runner dask --dask-workers 4
    """
    _run_flow(
        "score",
        inputs,
        out,
        config,
        model,
        store,
        overrides,
        include_text,
        _runner_options(task_runner, dask_address, dask_workers),
    )


def nightly(
    inputs: Annotated[
        list[Path],
        typer.Option("--input", "-i", help="JSONL/CSV file or folder of .txt notes; repeatable."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    store: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL of the long-lived result store, e.g. sqlite:////srv/alliance.db "
            "or postgresql+psycopg://alliance@localhost/alliance (default: SQLite in --out)."
        ),
    ] = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    overrides: SetOption = None,
    include_text: IncludeTextOption = False,
    task_runner: TaskRunnerOption = None,
    dask_address: DaskAddressOption = None,
    dask_workers: DaskWorkersOption = None,
) -> None:
    """The clinic's unattended nightly run (Prefect flow 'nightly'): resumable, exactly once.

    Scores every session not yet scored for its (session id, content hash, model version):
    new sessions, amended notes (the earlier result is kept as history), sessions a stopped
    run left unscored, and all sessions after a new model is promoted. Each session commits
    in its own transaction, so after a crash (even kill -9) the same command finishes the
    job. A second run on the same store or output folder is refused (exit status 3). Bad
    records are quarantined; the exit status is 0 when the run finished.

    Example: alliance nightly --input /data/notes/ --store sqlite:////srv/alliance.db --out out/

    Spread the scoring over a Dask cluster with --task-runner dask --dask-address tcp://HOST:8786.
    """
    _run_flow(
        "nightly",
        inputs,
        out,
        config,
        model,
        store,
        overrides,
        include_text,
        _runner_options(task_runner, dask_address, dask_workers),
    )


def _runner_options(
    task_runner: TaskRunnerName | None, dask_address: str | None, dask_workers: int | None
) -> dict:
    """The ``run`` settings given on the command line (they override the config's)."""
    given = {
        "task_runner": task_runner.value if task_runner else None,
        "dask_address": dask_address,
        "dask_workers": dask_workers,
    }
    return {key: value for key, value in given.items() if value is not None}


def _with_runner(settings, options: dict):
    """Apply the command line's task-runner options to the config, checked for sense."""
    from pipeline.config import RunConfig

    try:
        run = RunConfig.model_validate({**settings.run.model_dump(), **options})
    except ValueError as error:
        raise fail(f"invalid task-runner options: {error}") from None
    if run.task_runner == "thread" and {"dask_address", "dask_workers"} & set(options):
        raise fail("--dask-address and --dask-workers need --task-runner dask")
    if run.dask_address and "dask_workers" in options:
        raise fail(
            "--dask-workers sizes a temporary local cluster; with --dask-address the "
            "cluster's own workers are used (start them with `dask worker --nworkers N`)"
        )
    return settings.model_copy(update={"run": run})


def _run_flow(
    job: str,
    inputs: list[Path],
    out: Path,
    config: Path | None,
    model: Path | None,
    store: str | None,
    overrides: list[str] | None,
    include_text: bool,
    runner_options: dict | None = None,
) -> None:
    """Validate everything cheap first, then run the ``score`` or ``nightly`` flow."""
    private_environment()
    settings = _with_runner(load_settings(config, overrides, model), runner_options or {})
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise fail(f"input not found: {', '.join(missing)}")
    from pipeline.cli.startup import start_server, warm_start
    from pipeline.private_files import private_folder

    private_folder(out)
    # Prefect's temporary server (and a temporary Dask cluster) must not outlive a SIGKILL.
    start_watchdog()
    # The server starts first, so its start overlaps the imports below.
    server = start_server(settings)
    from pipeline.flows import run_scoring
    from pipeline.model.artifacts import ArtifactError
    from pipeline.store.core import default_url
    from pipeline.store.locking import RunLockedError

    url = store or settings.store.url or default_url(out)
    try:
        # The model is loaded (and refused, if it cannot be trusted) before the flow starts,
        # while Prefect's temporary server starts beside it.
        startup = warm_start(settings, server)
        where = "" if settings.run.task_runner == "thread" else " on Dask workers"
        with console.status(f"Scoring sessions (Prefect flow '{job}'{where})..."):
            info = run_scoring(
                job,
                [str(p.resolve()) for p in inputs],
                str(out.resolve()),
                settings,
                url,
                include_text,
                startup,
            )
    except RunLockedError as error:
        console.print(f"[bold yellow]refused:[/] {error}")
        raise typer.Exit(code=3) from None
    except (ArtifactError, FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    counts = info["counts"]
    console.print(
        f"[green]done[/]: {counts['sessions_scored']} sessions scored "
        f"({counts['new_or_amended']} new or amended), {counts['passages']} passages, "
        f"{counts['flags']} flags in the store, {counts['quarantined']} quarantined."
    )
    console.print(f"Report: {(out / 'report.html').resolve()}")


def deploy(
    inputs: Annotated[
        list[Path],
        typer.Option("--input", "-i", help="What each run reads (file or folder); repeatable."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder of every run.")],
    store: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL of the store, without a password (default: SQLite in --out)."
        ),
    ] = None,
    work_pool: Annotated[
        str | None,
        typer.Option(
            help="Register the deployment on this Prefect work pool and return (clinic set-up: "
            "a Prefect server plus `prefect worker start --pool NAME`). Without it, serve the "
            "schedule from this process until stopped (single machine)."
        ),
    ] = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    overrides: SetOption = None,
) -> None:
    """Schedule the nightly flow with the cron and time zone of the config's `schedule`.

    Single machine: `alliance deploy --input /data/notes --out /srv/out --store URL` serves
    the schedule (keep it running, e.g. as a systemd service). Clinic set-up: point
    PREFECT_API_URL at your Prefect server, add `--work-pool alliance`, and run a worker.

    Example: alliance deploy -i notes/ -o out/ --set schedule.timezone=America/Chicago
    """
    private_environment()
    settings = load_settings(config, overrides, model)
    start_watchdog()
    from pipeline.deploy import nightly_deployment
    from pipeline.store.core import default_url

    url = store or settings.store.url or default_url(out.resolve())
    try:
        deployment = nightly_deployment(settings, inputs, out, url, work_pool)
    except ValueError as error:
        raise fail(str(error)) from None
    schedule = settings.schedule
    when = f"cron '{schedule.cron}' in {schedule.timezone}"
    if work_pool:
        deployment_id = deployment.apply(work_pool_name=work_pool)
        console.print(
            f"[green]deployed[/] nightly/{schedule.deployment_name} ({deployment_id}) on work "
            f"pool {work_pool!r}, {when}. Start a worker: prefect worker start --pool {work_pool}"
        )
        return
    from prefect import serve

    console.print(f"Serving nightly/{schedule.deployment_name}, {when}. Ctrl+C stops it.")
    serve(deployment)


def report(
    store: Annotated[str, typer.Option(help="SQLAlchemy URL of the result store.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOption = None,
    overrides: SetOption = None,
) -> None:
    """Regenerate report.html (and the other contract files) from a result store.

    The config's `approach` settings decide the approach-fit calls in clients.csv and the
    report (e.g. `--set approach.min_difference=0.3`).

    Example: alliance report --store sqlite:///out/alliance.db --out out/
    """
    private_environment()
    settings = load_settings(config, overrides, None)
    from pipeline.export import export_outputs
    from pipeline.store.core import Store

    results = Store(store)
    versions = sorted({e.model_version for e in results.estimates()})
    info = {
        "model_version": ", ".join(versions) or "none",
        "config_hash": "n/a",
        "regenerated_from_store": True,
    }
    paths = export_outputs(
        results, out, info, quarantined=results.quarantine(), approach=settings.approach
    )
    console.print(f"Report: {paths['report.html'].resolve()}")
