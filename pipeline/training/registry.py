"""Writing model folders: artifacts + manifest (hashes, data snapshot, versions) + card."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from pathlib import Path

import sklearn
import torch

from pipeline import __version__
from pipeline.config import REPO_ROOT
from pipeline.model.artifacts import save_skops, sha256_file, write_manifest
from pipeline.sessions.alliance_model import ESTIMATOR_FILE
from pipeline.training.data import NoteFiles, note_files
from pipeline.training.model_card import write_model_card


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def data_snapshot(data_dir: Path | None, notes: NoteFiles) -> dict[str, str]:
    """sha256 of every data file the model was trained from."""
    snapshot = {}
    if data_dir is not None:
        for path in sorted(Path(data_dir).rglob("*")):
            if path.suffix in {".csv", ".json", ".jsonl"}:
                snapshot[str(path.relative_to(data_dir))] = sha256_file(path)
    for path in note_files(notes):
        if path.exists():
            snapshot[f"notes:{path.name}"] = sha256_file(path)
    return snapshot


def prepare_folder(folder: Path) -> None:
    """Create the folder and remove artifacts of an earlier model written there."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        if stale.is_file():
            stale.unlink()


def finish_folder(folder: Path, estimator, metadata: dict, text_model=None) -> dict:
    """Save the session estimator (and its text model), write the model card and the manifest
    (hashes last)."""
    save_skops(estimator, folder / ESTIMATOR_FILE)
    if text_model is not None:
        from pipeline.sessions.text_model import TEXT_FILE

        save_skops(text_model, folder / TEXT_FILE)
    metadata = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_sha": git_sha(),
        "versions": {
            "alliance": __version__,
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
            "python": platform.python_version(),
        },
        **metadata,
    }
    write_model_card(folder, metadata)
    return write_manifest(folder, metadata)
