"""Scale-out on Dask (prefect-dask): the same results as one process, each session once."""

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.flows import _public_address, run_scoring
from pipeline.store.core import Store, default_url
from tests.helpers import FIXTURE_SESSIONS

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"
OUTPUTS = ("sessions.csv", "clients.csv", "flags.jsonl", "passages.jsonl")


def _settings(tiny_config, **run):
    """Float32 (bf16 numerics could depend on the CPU path) and 8 sessions per task, so the
    fixture sessions make several partitions to spread over the workers."""
    encoder = tiny_config.encoder.model_copy(update={"bf16": False})
    run = tiny_config.run.model_copy(update={"sessions_per_task": 8, **run})
    return tiny_config.model_copy(update={"encoder": encoder, "run": run})


def _score(settings, out: Path) -> dict:
    return run_scoring(
        "score", [str(FIXTURES / "sessions.jsonl")], str(out), settings, default_url(out)
    )


@pytest.fixture(scope="module")
def both_runs(prefect_harness, tiny_config, tmp_path_factory):
    single = tmp_path_factory.mktemp("thread")
    spread = tmp_path_factory.mktemp("dask")
    return (
        (single, _score(_settings(tiny_config), single)),
        (spread, _score(_settings(tiny_config, task_runner="dask", dask_workers=2), spread)),
    )


def test_flows_dask_outputs_equal_one_process(both_runs):
    (single, _), (spread, _) = both_runs
    for name in OUTPUTS:
        # Byte for byte: the partitions and model batches are the same in both runs and every
        # process runs the same float32 kernels, so not even the last digit may differ.
        assert (spread / name).read_text() == (single / name).read_text(), name
    assert len((single / "sessions.csv").read_text().splitlines()) == 1 + FIXTURE_SESSIONS


def test_flows_dask_scores_each_session_exactly_once(both_runs):
    for out, info in both_runs:
        events = Store(default_url(out)).scoring_events()
        scored = info["counts"]["sessions_scored"]
        assert len(events) == len(set(events)) == scored == FIXTURE_SESSIONS


def test_flows_dask_postgresql_store_takes_concurrent_commits(
    both_runs, tiny_config, store_url: str, tmp_path: Path
):
    if store_url.startswith("sqlite"):
        pytest.skip("the SQLite store is covered by both_runs")
    (single, _), _ = both_runs
    settings = _settings(tiny_config, task_runner="dask", dask_workers=2)
    info = run_scoring(
        "nightly", [str(FIXTURES / "sessions.jsonl")], str(tmp_path), settings, store_url
    )
    events = Store(store_url).scoring_events()
    assert len(events) == len(set(events)) == info["counts"]["sessions_scored"] == FIXTURE_SESSIONS
    for name in OUTPUTS:
        assert (tmp_path / name).read_text() == (single / name).read_text(), name


def test_flows_dask_run_json_names_the_runner_and_both_timings(both_runs):
    (single, _), (spread, info) = both_runs
    runner = json.loads((spread / "run.json").read_text())["task_runner"]
    assert runner == {
        "name": "dask",
        "address": "local-cluster",
        "workers_requested": 2,
        "torch_threads_per_worker": info["task_runner"]["torch_threads_per_worker"],
        "workers": 2,
        "tasks": math.ceil(FIXTURE_SESSIONS / 8),
    }
    assert json.loads((single / "run.json").read_text())["task_runner"] == {
        "name": "thread",
        "tasks": math.ceil(FIXTURE_SESSIONS / 8),
    }
    for out in (single, spread):
        run = json.loads((out / "run.json").read_text())
        stages = {"segment", "classify", "estimate", "commit"}
        assert set(run["timings_s"]) >= {"ingest", "score", "flag"} | stages
        assert set(run["worker_seconds"]) == stages
        # Per-stage wall-clock never adds up to more than the scoring phase took.
        assert sum(run["timings_s"][s] for s in stages) <= run["timings_s"]["score"] + 0.01


def test_flows_dask_addresses_lose_credentials():
    assert _public_address("tls://user:secret@10.0.0.5:8786") == "tls://10.0.0.5:8786"
    assert _public_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"


def test_flows_dask_standing_cluster_without_prefect_server_is_refused(tiny_config, tmp_path):
    # Its workers outlive the run's temporary server on 127.0.0.1 (and may not reach it).
    from prefect.settings import PREFECT_API_URL, temporary_settings

    settings = _settings(tiny_config, task_runner="dask", dask_address="tcp://127.0.0.1:8786")
    with (
        temporary_settings(restore_defaults={PREFECT_API_URL}),
        pytest.raises(ValueError, match="PREFECT_API_URL"),
    ):
        _score(settings, tmp_path)


def test_flows_dask_cli_option_errors(tmp_path: Path):
    runner = CliRunner()
    base = ["score", str(FIXTURES / "sessions.jsonl"), "--out", str(tmp_path)]
    result = runner.invoke(app, [*base, "--dask-workers", "2"])
    assert result.exit_code == 2 and "--task-runner dask" in result.output
    result = runner.invoke(
        app,
        [*base, "--task-runner", "dask", "--dask-address", "tcp://h:8786", "--dask-workers", "2"],
    )
    assert result.exit_code == 2 and "dask worker" in result.output
    result = runner.invoke(app, [*base, "--task-runner", "ray"])
    assert result.exit_code == 2


@pytest.mark.slow  # ≈ 40 s: two fresh worker processes import torch and load the model
def test_flows_dask_cli_nightly_on_two_local_workers(
    prefect_harness, tiny_model_dir, tiny_encoder_dir, tmp_path: Path
):
    from tests.helpers import tiny_cli_options

    result = CliRunner().invoke(
        app,
        [
            "nightly",
            "--input",
            str(FIXTURES / "sessions.jsonl"),
            "--out",
            str(tmp_path),
            *tiny_cli_options(tiny_model_dir, tiny_encoder_dir),
            "--set",
            "run.sessions_per_task=16",
            "--task-runner",
            "dask",
            "--dask-workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["counts"]["sessions_scored"] == FIXTURE_SESSIONS
    assert run["task_runner"]["name"] == "dask" and run["task_runner"]["tasks"] == math.ceil(
        FIXTURE_SESSIONS / 16
    )


def test_flows_dask_worker_reloads_a_promoted_model_and_refuses_another(
    tiny_config, tiny_encoder_config, tmp_path: Path
):
    import shutil

    from pipeline import steps
    from pipeline.flows import _model_identity, _use_flow_model
    from pipeline.sessions.alliance_model import AllianceModel
    from tests.helpers import build_tiny_model

    folder = tmp_path / "default"
    shutil.copytree(tiny_config.model_dir, folder)
    settings = tiny_config.model_copy(update={"model_dir": folder})
    assert steps.load_model(settings).version == "tiny-test"  # cached, as in a standing worker
    newer = build_tiny_model(tmp_path / "candidate", tiny_encoder_config, version="tiny-test-2")
    shutil.rmtree(folder)
    shutil.copytree(newer, folder)  # promoted while the worker kept the old model in memory
    flow_model = AllianceModel.load(folder, settings.encoder)  # the flow: a fresh process
    _use_flow_model(settings, _model_identity(flow_model))
    assert steps.load_model(settings).version == "tiny-test-2"
    with pytest.raises(RuntimeError, match="same model folder"):
        _use_flow_model(settings, {"version": "elsewhere", "files": {}})
