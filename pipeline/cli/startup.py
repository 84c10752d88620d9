"""A warm start for `alliance score` and `alliance nightly`: start-up work side by side.

Before the first session is read, a run starts Prefect's temporary API server (a subprocess,
seconds of imports and database set-up), loads and verifies the model, and builds the
identifier guard and the language detector. None needs another, so the server starts in a
thread first, before the run imports its flows and the model code, while this thread imports
them, loads the model and builds the ingest checks; the flow then runs against that server.
Each part's seconds go into ``run.json`` (``startup_s``).

A run with ``PREFECT_API_URL`` set (a standing server) or on a standing Dask cluster (whose
workers need a server that outlives the run) starts no server here.
"""

from __future__ import annotations

import contextvars
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


class ServerStart:
    """Prefect's temporary server, starting in a thread (see :func:`start_server`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()
        self.server = None
        self.thread: threading.Thread | None = None
        self.failure: list[BaseException] = []

    def wait(self) -> None:
        """Block until the server is up; re-raise what stopped it in this thread."""
        if self.thread is not None:
            self.thread.join()
        if self.failure:
            raise self.failure[0]

    def stop(self) -> None:
        """Stop it again (nothing will use it)."""
        if self.thread is not None:
            self.thread.join()
            if self.server is not None and not self.failure:
                self.server.stop()


def start_server(settings: AllianceConfig) -> ServerStart:
    """Start Prefect's temporary server in a thread, now: before the run imports the model and
    the flows, so the server's own start (a subprocess: seconds of imports and database
    set-up, on another core) overlaps this process's imports.

    The server is Prefect's own temporary-server instance (``SubprocessASGIServer()``, the one
    its clients start on first use), so the flow finds it running and Prefect stops it at exit,
    after its log and event workers have drained, exactly as when it starts it itself. None is
    started with ``PREFECT_API_URL`` set or on a standing Dask cluster.
    """
    handle = ServerStart()
    if settings.run.dask_address:
        return handle

    def start() -> None:
        try:
            started = time.perf_counter()
            # Even importing Prefect takes a second: in this thread too.
            from prefect.settings import PREFECT_API_URL

            if PREFECT_API_URL.value():
                return
            from prefect.server.api.server import SubprocessASGIServer

            handle.server = SubprocessASGIServer()
            handle.server.start()
            handle.seconds["prefect_server"] = round(time.perf_counter() - started, 3)
        except BaseException as error:  # re-raised in the caller's thread
            handle.failure.append(error)

    # The caller's context (Prefect's settings context included) goes with the thread.
    context = contextvars.copy_context()
    handle.thread = threading.Thread(
        target=context.run, args=(start,), name="prefect-server-start", daemon=True
    )
    handle.thread.start()
    return handle


def warm_start(settings: AllianceConfig, server: ServerStart | None = None) -> dict[str, float]:
    """Load the model and build the ingest checks while the server starts.

    Args:
        settings: The run's config.
        server: A server start begun earlier (:func:`start_server`); None starts one now.

    Returns:
        Seconds per part (``prefect_server``, ``model``, ``ingest_checks``) and ``total``, the
        wall time from the server's start until all three are ready (the run's imports
        between :func:`start_server` and this call included).

    Raises:
        ArtifactError: The model or encoder cannot be trusted (before any flow starts; the
            server is stopped again).
        Exception: Whatever stopped the server from starting.
    """
    from pipeline.steps import load_model

    server = server or start_server(settings)
    seconds = server.seconds
    try:
        _timed(seconds, "model", lambda: load_model(settings))
        _timed(seconds, "ingest_checks", lambda: _ingest_checks(settings))
    except BaseException:
        server.stop()
        raise
    server.wait()
    seconds["total"] = round(time.perf_counter() - server.started, 3)
    return seconds
