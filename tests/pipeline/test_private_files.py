"""Everything that holds note text or estimates is owner-only, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline import steps
from pipeline.private_files import open_private, private_folder, touch_private
from pipeline.store.core import Store, default_url
from pipeline.training.records import LabeledPassage, write_labeled_jsonl

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The most permissive common umask: created files would be 0644, folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_private_files_helpers_ignore_the_umask(open_umask, tmp_path: Path):
    folder = private_folder(tmp_path / "a" / "b")
    assert _mode(tmp_path / "a") == _mode(folder) == 0o700
    with open_private(folder / "x.txt") as handle:
        handle.write("note text")
    assert _mode(folder / "x.txt") == 0o600
    loose = folder / "loose.txt"
    loose.write_text("old")
    os.chmod(loose, 0o644)
    with open_private(loose) as handle:  # an existing file is made private too
        handle.write("new")
    assert _mode(loose) == 0o600 and loose.read_text() == "new"
    assert _mode(touch_private(folder / "db")) == 0o600
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    private_folder(mine)
    assert _mode(mine) == 0o755  # a folder the user made is theirs to set


def test_private_files_a_run_leaves_nothing_readable_by_others(
    open_umask, tiny_config, tmp_path: Path
):
    out = tmp_path / "new" / "out"
    store = Store(default_url(out))
    steps.run_steps([FIXTURES / "sessions.jsonl"], tiny_config, store, out)
    assert _mode(out) == _mode(out.parent) == 0o700
    names = {p.name for p in out.iterdir()}
    assert {"alliance.db", "report.html", "passages.jsonl", "sessions.csv", "clients.csv"} <= names
    for path in out.iterdir():
        if path.name.endswith(".lock"):
            continue  # empty lock files: no note text, no estimates
        assert _mode(path) == 0o600, path.name
    assert any(p.name.startswith("alliance.db-") for p in out.iterdir())  # WAL/SHM checked too


def test_private_files_labeled_data_outputs(open_umask, tmp_path: Path):
    path = tmp_path / "labeled.jsonl"
    write_labeled_jsonl([LabeledPassage("Client felt heard.", "", "clinician", "notes", "n")], path)
    assert _mode(path) == 0o600
