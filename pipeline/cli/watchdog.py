"""A watchdog that ends what a command started when the command itself is killed.

Prefect's temporary API server (and a temporary Dask cluster) run as child processes of the
``alliance`` command. When the command ends normally it stops them; when it is killed with
SIGKILL on its own pid (as schedulers and operators do, rather than its process group), the
children are re-parented and live on, a server still listening on the loopback an hour later.

So a command that starts them first starts this watchdog, in its own session: it polls the
command's pid, remembers the command's descendants while it lives, and when the pid is gone
terminates (then kills) the descendants it last saw, and exits. It never outlives its command
by more than a few seconds, and it touches no process the command did not start.

Run as ``python -m pipeline.cli.watchdog PID``; :func:`start_watchdog` does that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

POLL_S = 0.5
GRACE_S = 3.0  # after SIGTERM, before SIGKILL


def start_watchdog() -> subprocess.Popen | None:
    """Start the watchdog of this process (no-op where psutil is missing or it cannot start)."""
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli.watchdog", str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a kill of the command's process group spares it
            close_fds=True,
        )
    except OSError:
        return None


def watch(pid: int, poll_s: float = POLL_S) -> list[int]:
    """Wait for ``pid`` to end, then end the descendants it had; returns their pids."""
    import psutil

    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    me = os.getpid()
    seen: dict[int, psutil.Process] = {}
    while True:
        try:
            if not parent.is_running() or parent.status() == psutil.STATUS_ZOMBIE:
                break
            for child in parent.children(recursive=True):
                if child.pid != me:
                    seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            break
        time.sleep(poll_s)
    alive = []
    for process in seen.values():
        try:
            if process.is_running():  # is_running also checks the pid was not reused
                process.terminate()
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    _, left = psutil.wait_procs(alive, timeout=GRACE_S)
    for process in left:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    return [process.pid for process in alive]


if __name__ == "__main__":  # pragma: no cover - exercised by the kill test as a subprocess
    watch(int(sys.argv[1]))
