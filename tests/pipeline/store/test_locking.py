"""The run lock: one run per store and output folder; a killed holder leaves no stale lock."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.store.locking import RunLockedError, run_lock


def test_locking_refuses_a_second_run_on_the_same_output_folder(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store' / 'a.db'}"
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with (
        run_lock(url, tmp_path / "out"),
        pytest.raises(RunLockedError, match="another alliance run is using the output"),
        run_lock(other, tmp_path / "out"),
    ):
        pass
    with run_lock(url, tmp_path / "out"):  # released: the next run goes ahead
        pass


def test_locking_refuses_a_second_run_on_the_same_store(tmp_path: Path):
    (tmp_path / "store").mkdir()
    url = f"sqlite:///{tmp_path / 'store' / 'a.db'}"
    with (
        run_lock(url, tmp_path / "out-1"),
        pytest.raises(RunLockedError, match=r"the store .*a\.db \(pid \d+"),
        run_lock(url, tmp_path / "out-2"),
    ):
        pass


def test_locking_lock_of_a_killed_run_is_released(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from pipeline.store.locking import run_lock\n"
            f"with run_lock({url!r}, Path({str(tmp_path / 'out')!r})):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError), run_lock(url, tmp_path / "out"):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    time.sleep(0.1)
    with run_lock(url, tmp_path / "out"):
        pass


def test_locking_store_lock_holds_across_output_folders_on_every_backend(
    store_url: str, tmp_path: Path
):
    """SQLite: a lock file beside the database; PostgreSQL: a session advisory lock."""
    with (
        run_lock(store_url, tmp_path / "out-1"),
        pytest.raises(RunLockedError, match="another alliance run"),
        run_lock(store_url, tmp_path / "out-2"),
    ):
        pass
    with run_lock(store_url, tmp_path / "out-2"):
        pass
