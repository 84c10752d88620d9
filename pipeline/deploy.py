"""The scheduled ``nightly`` deployment: one definition for a single machine (``serve``) and
for a clinic's Prefect server with a work pool and a worker.

Deployment parameters are stored in Prefect's database, so they hold paths, the store URL and
the validated config, never note text and never a database password (use ``~/.pgpass`` or
``PGPASSWORD`` in the worker's environment instead).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from pipeline.config import AllianceConfig


def deployment_parameters(
    settings: AllianceConfig, inputs: list[Path], out_dir: Path, store_url: str
) -> dict:
    """Parameters of every scheduled run (absolute paths: workers run elsewhere).

    Raises:
        ValueError: The store URL carries a password, or an input does not exist.
    """
    if make_url(store_url).password:
        raise ValueError(
            "the store URL holds a password, which would be saved in Prefect's database; "
            "drop it from the URL and give the worker PGPASSWORD or a ~/.pgpass file instead"
        )
    missing = [str(p) for p in inputs if not Path(p).exists()]
    if missing:
        raise ValueError(f"input not found: {', '.join(missing)}")
    return {
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "out_dir": str(Path(out_dir).resolve()),
        "config": settings.model_dump(mode="json"),
        "store_url": store_url,
        "include_text": False,
    }


def nightly_deployment(
    settings: AllianceConfig,
    inputs: list[Path],
    out_dir: Path,
    store_url: str,
    work_pool: str | None = None,
):
    """The ``nightly`` flow as a Prefect deployment on the configured cron schedule.

    At most one run at a time (``concurrency_limit=1``; the run lock guards the store too).
    The flow is referenced by module path, so a worker needs only this package installed.

    Returns:
        A ``prefect.deployments.runner.RunnerDeployment``: ``apply()`` registers it with a
        server (worker set-up); ``prefect.serve(deployment)`` runs it in this process.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from pipeline.flows import dask_task_runner, nightly_flow

    schedule = settings.schedule
    flow = nightly_flow
    if settings.run.task_runner == "dask":  # scheduled runs scale out like `alliance nightly`
        flow = nightly_flow.with_options(task_runner=dask_task_runner(settings))
    return flow.to_deployment(
        name=schedule.deployment_name,
        schedule=Cron(schedule.cron, timezone=schedule.timezone),
        parameters=deployment_parameters(settings, inputs, out_dir, store_url),
        concurrency_limit=1,
        description="alliance: score new and amended session notes exactly once.",
        tags=["alliance"],
        work_pool_name=work_pool,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
