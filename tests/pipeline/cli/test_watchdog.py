"""Nothing a command started outlives a SIGKILL of the command's pid alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from pipeline.cli.watchdog import watch

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.2)
    return False


def test_watchdog_ends_the_children_of_a_killed_parent(tmp_path: Path):
    """A parent starts a long child and its watchdog, then is killed with SIGKILL (its pid,
    not its group): the child ends within seconds, and so does the watchdog."""
    script = textwrap.dedent(
        """
        import subprocess, sys, time
        from pipeline.cli.watchdog import start_watchdog
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        dog = start_watchdog()
        print(child.pid, dog.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child_pid, dog_pid = map(int, parent.stdout.readline().split())
    time.sleep(1.5)  # the watchdog has seen the child
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _gone(child_pid, 10), "the child outlived its killed parent"
    assert _gone(dog_pid, 10), "the watchdog outlived its work"


def test_watchdog_returns_at_once_for_a_missing_pid():
    ghost = subprocess.Popen([sys.executable, "-c", "pass"])
    ghost.wait()
    assert watch(ghost.pid, poll_s=0.05) == []


def test_watchdog_a_killed_score_leaves_no_prefect_server(
    tiny_model_dir, tiny_encoder_dir, tmp_path
):
    """`alliance score` killed with SIGKILL on its own pid while Prefect's temporary server
    runs: the server (a uvicorn child) is gone within seconds."""
    from tests.helpers import private_env, tiny_cli_options

    command = [
        sys.executable,
        "-m",
        "pipeline",
        "score",
        str(FIXTURES / "sessions.jsonl"),
        "--out",
        str(tmp_path / "out"),
        *tiny_cli_options(tiny_model_dir, tiny_encoder_dir),
    ]
    run = subprocess.Popen(
        command,
        env=private_env(tmp_path / "prefect"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = None
    deadline = time.monotonic() + 120
    while server is None and time.monotonic() < deadline and run.poll() is None:
        for child in psutil.Process(run.pid).children(recursive=True):
            try:
                if "uvicorn" in " ".join(child.cmdline()):
                    server = child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.2)
    assert server is not None, "Prefect's temporary server never started"
    time.sleep(1.0)  # the watchdog polls every 0.5 s
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert _gone(server.pid, 15), "Prefect's temporary server outlived the killed command"
