"""The nightly deployment: created against a temporary Prefect server, scheduled by its cron
and time zone, and run once by a Prefect runner (the same machinery as ``serve``)."""

import asyncio
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import ScheduleConfig
from pipeline.deploy import deployment_parameters, nightly_deployment
from tests.helpers import FIXTURE_SESSIONS

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"


def test_deploy_refuses_a_password_in_the_store_url(tiny_config, tmp_path: Path):
    with pytest.raises(ValueError, match="PGPASSWORD"):
        deployment_parameters(
            tiny_config,
            [FIXTURES / "sessions.jsonl"],
            tmp_path,
            "postgresql+psycopg://alliance:secret@db/alliance",
        )


def test_deploy_schedule_config_rejects_bad_cron_and_zone():
    with pytest.raises(ValueError, match="5 fields"):
        ScheduleConfig(cron="30 3 * *")
    with pytest.raises(ValueError, match="unknown time zone"):
        ScheduleConfig(timezone="Mars/Olympus")


def _next_runs(cron: str, start: dt.datetime) -> list[str]:
    from prefect.server.schemas.schedules import CronSchedule

    schedule = CronSchedule(cron=cron, timezone="America/New_York")
    return [d.isoformat() for d in asyncio.run(schedule.get_dates(3, start=start))]


def test_deploy_cron_daylight_saving_rules_the_readme_documents():
    """Wall-clock times hold across DST; a skipped time runs an hour later, a repeated
    time runs once (its first occurrence). Exactly-once scoring makes either harmless."""
    spring, fall = dt.datetime(2026, 3, 7, tzinfo=dt.UTC), dt.datetime(2026, 10, 31, tzinfo=dt.UTC)
    assert _next_runs("30 3 * * *", spring) == [
        "2026-03-07T03:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T03:30:00-04:00",
    ]
    assert _next_runs("30 2 * * *", spring)[1] == "2026-03-08T03:30:00-04:00"  # 02:30 skipped
    assert _next_runs("30 1 * * *", fall) == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",  # 01:30 happens twice that night; one run
        "2026-11-02T01:30:00-05:00",
    ]


def test_deploy_nightly_deployment_is_scheduled_and_runs_once(
    prefect_harness, tiny_config, tmp_path: Path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.runner import Runner

    settings = tiny_config.model_copy(
        update={"schedule": ScheduleConfig(cron="0 2 * * *", timezone="Europe/Berlin")}
    )
    out, store_url = tmp_path / "out", f"sqlite:///{tmp_path / 'store.db'}"
    deployment = nightly_deployment(settings, [FIXTURES / "sessions.jsonl"], out, store_url)
    deployment_id = deployment.apply()

    async def schedule_and_read():
        # The server's own scheduling code (what its scheduler service runs each loop), asked
        # for the first run since yesterday so that run is already due.
        yesterday = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0) - dt.timedelta(1)
        async with get_client() as client:
            response = await client._client.post(
                f"/deployments/{deployment_id}/schedule",
                json={"start_time": yesterday.isoformat(), "max_runs": 1},
            )
            response.raise_for_status()
            stored = await client.read_deployment(deployment_id)
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
            return stored, runs

    stored, runs = asyncio.run(schedule_and_read())
    (entry,) = stored.schedules
    assert (entry.schedule.cron, entry.schedule.timezone) == ("0 2 * * *", "Europe/Berlin")
    assert stored.parameters["store_url"] == store_url
    (scheduled,) = runs
    berlin = scheduled.expected_start_time.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.minute) == (2, 0)

    runner = Runner(query_seconds=1, prefetch_seconds=5)
    runner.add_deployment(deployment)
    asyncio.run(runner.start(run_once=True))

    async def state():
        async with get_client() as client:
            return (await client.read_flow_run(scheduled.id)).state

    assert asyncio.run(state()).is_completed()
    run_info = json.loads((out / "run.json").read_text())
    assert run_info["job"] == "nightly"
    assert run_info["counts"]["sessions_scored"] == FIXTURE_SESSIONS


def test_deploy_cli_registers_on_a_work_pool(
    prefect_harness, tiny_model_dir, tiny_encoder_dir, tmp_path: Path
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from typer.testing import CliRunner

    from pipeline.cli import app
    from tests.helpers import tiny_cli_options

    async def pool_and_deployments(create: bool):
        async with get_client() as client:
            if create:
                await client.create_work_pool(WorkPoolCreate(name="clinic", type="process"))
            return await client.read_deployments()

    asyncio.run(pool_and_deployments(create=True))
    result = CliRunner().invoke(
        app,
        [
            "deploy",
            "--input",
            str(FIXTURES / "sessions.jsonl"),
            "--out",
            str(tmp_path / "out"),
            "--work-pool",
            "clinic",
            *tiny_cli_options(tiny_model_dir, tiny_encoder_dir),
            "--set",
            "schedule.timezone=America/Chicago",
        ],
    )
    assert result.exit_code == 0, result.output
    (deployment,) = [
        d for d in asyncio.run(pool_and_deployments(create=False)) if d.work_pool_name == "clinic"
    ]
    assert deployment.schedules[0].schedule.timezone == "America/Chicago"
    assert deployment.entrypoint == "pipeline.flows.nightly_flow"
