"""The warm start: Prefect's server beside the model load and the ingest checks."""

import shutil

import pytest

from pipeline.cli.startup import warm_start
from pipeline.model.artifacts import ArtifactError


def test_startup_times_each_part_and_starts_no_server_when_one_is_set(
    tiny_config, prefect_harness, monkeypatch
):
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    started = []
    monkeypatch.setattr(SubprocessASGIServer, "start", lambda self, *a, **k: started.append(self))
    assert PREFECT_API_URL.value()  # the harness's server
    seconds = warm_start(tiny_config)
    assert set(seconds) == {"model", "ingest_checks", "total"}
    assert seconds["total"] >= max(seconds["model"], seconds["ingest_checks"])
    assert started == []


def test_startup_starts_the_server_beside_the_model(tiny_config, monkeypatch):
    import threading

    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    threads = []
    monkeypatch.setattr(
        SubprocessASGIServer,
        "start",
        lambda self, *a, **k: threads.append(threading.current_thread().name),
    )
    with temporary_settings(updates={PREFECT_API_URL: ""}):
        seconds = warm_start(tiny_config)
    assert threads == ["prefect-server-start"]  # not the caller's thread
    assert {"prefect_server", "model", "ingest_checks", "total"} == set(seconds)


def test_startup_refused_model_stops_the_server_it_started(tiny_config, tmp_path, monkeypatch):
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    folder = tmp_path / "model"
    shutil.copytree(tiny_config.model_dir, folder)
    (folder / "session_estimator.skops").write_bytes(b"tampered")
    settings = tiny_config.model_copy(update={"model_dir": folder})
    started = []
    monkeypatch.setattr(SubprocessASGIServer, "start", lambda self, *a, **k: started.append(self))
    stopped = []
    monkeypatch.setattr(SubprocessASGIServer, "stop", lambda self: stopped.append(self))
    with temporary_settings(updates={PREFECT_API_URL: ""}), pytest.raises(ArtifactError):
        warm_start(settings)
    assert started and stopped == started


def test_startup_server_begun_early_is_the_one_warm_start_waits_for(tiny_config, monkeypatch):
    """`alliance score` starts the server before its imports; the warm start then joins it."""
    import time

    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipeline.cli.startup import start_server

    started = []

    def slow_start(self, *args, **kwargs):
        time.sleep(0.3)
        started.append(self)

    monkeypatch.setattr(SubprocessASGIServer, "start", slow_start)
    with temporary_settings(updates={PREFECT_API_URL: ""}):
        server = start_server(tiny_config)
        seconds = warm_start(tiny_config, server)
    assert len(started) == 1 and server.server is started[0]
    assert seconds["prefect_server"] >= 0.3 and seconds["total"] >= seconds["prefect_server"]
