"""A warm start for `alliance score` and `alliance nightly`: start-up work side by side.

Before the first session is read, a run starts Prefect's temporary API server (a subprocess,
seconds of imports and database set-up), loads and verifies the model, and builds the
identifier guard and the language detector. None needs another, so the server starts in a
thread while this thread loads the model and builds the ingest checks; the flow then runs
against that server. Each part's seconds go into ``run.json`` (``startup_s``).

A run with ``PREFECT_API_URL`` set (a standing server) or on a standing Dask cluster (whose
workers need a server that outlives the run) starts no server here.
"""

from __future__ import annotations

import threading
import time

from pipeline.config import AllianceConfig


def _timed(seconds: dict[str, float], name: str, work) -> None:
    start = time.perf_counter()
    work()
    seconds[name] = round(time.perf_counter() - start, 3)


def _ingest_checks(settings: AllianceConfig) -> None:
    """Build the identifier guard and load the language detector's models, once per process."""
    from pipeline.ingest.identifiers import get_guard, guard_active
    from pipeline.ingest.language import detect

    if guard_active(settings.ingest.identifiers):
        get_guard(settings.ingest.identifiers)
    if settings.ingest.languages:
        detect("The client arrived on time and we reviewed the plan.", settings.ingest.languages)


def warm_start(settings: AllianceConfig) -> dict[str, float]:
    """Start the server, load the model and build the ingest checks at the same time.

    The server is Prefect's own temporary-server instance (``SubprocessASGIServer()``, the one
    its clients start on first use), so the flow finds it running and Prefect stops it at exit,
    after its log and event workers have drained, exactly as when it starts it itself.

    Returns:
        Seconds per part (``prefect_server``, ``model``, ``ingest_checks``) and ``total``, the
        wall time of all three.

    Raises:
        ArtifactError: The model or encoder cannot be trusted (before any flow starts; the
            server is stopped again).
        Exception: Whatever stopped the server from starting.
    """
    from prefect.settings import PREFECT_API_URL

    from pipeline.steps import load_model

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    server = None
    failure: list[BaseException] = []
    thread = None
    if not PREFECT_API_URL.value() and not settings.run.dask_address:
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()

        def start_server() -> None:
            try:
                _timed(seconds, "prefect_server", server.start)
            except BaseException as error:  # re-raised in the caller's thread
                failure.append(error)

        thread = threading.Thread(target=start_server, name="prefect-server-start", daemon=True)
        thread.start()
    try:
        _timed(seconds, "model", lambda: load_model(settings))
        _timed(seconds, "ingest_checks", lambda: _ingest_checks(settings))
    except BaseException:
        if thread is not None:
            thread.join()
            server.stop()  # no flow will use it
        raise
    if thread is not None:
        thread.join()
    if failure:
        raise failure[0]
    seconds["total"] = round(time.perf_counter() - started, 3)
    return seconds
