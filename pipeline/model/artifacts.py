"""Trusted artifacts: safetensors and skops only, every file listed with its sha256.

A model folder holds ``manifest.json`` with ``files: {name: sha256}``. :func:`verify_folder`
refuses a folder whose files do not match their hashes, or that holds an unexpected file, so a
tampered or swapped artifact never loads. Nothing here uses pickle.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# Files that may sit in a model folder without being hashed (documentation only).
UNHASHED = {MANIFEST, "MODEL_CARD.md", "README.md"}
ALLOWED_SUFFIXES = {".skops", ".safetensors", ".json", ".md", ".txt"}
# Types a skops file may contain; anything else is refused (skops' own safety model).
TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.",
    "builtins.",
    "pipeline.",
    "collections.",
    "mapie.",
)
# Modules that moved (the stage layout of 0.2): a skops file records each object's module, so a
# model saved before the move names the old one. Loading reads it under the new name; nothing
# else in the file changes, and the manifest's hash is of the file as it is on disk.
MOVED_MODULES = {
    "pipeline.aggregate": "pipeline.sessions.estimator",
    "pipeline.passage_model": "pipeline.model.quick",
}


@functools.cache
def _skops_io():
    """``skops.io``, imported without its default list of trusted estimators.

    Importing ``skops.io`` builds that list with ``sklearn.utils.all_estimators()``, which
    imports every scikit-learn module: seconds of every command's start-up (6.3 s against
    1.1 s on a busy 2-core machine). The list only decides which types skops reports as
    untrusted, and :func:`load_skops` vets every reported type against ``TRUSTED_PREFIXES``
    itself, so an empty list refuses nothing that would have loaded and admits nothing new.
    """
    import sklearn.utils

    all_estimators = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = all_estimators
    return skops.io


class ArtifactError(RuntimeError):
    """An artifact is missing, tampered with, or of a type we refuse to load."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ArtifactError` unless ``path`` exists and has the ``expected`` sha256."""
    if not path.exists():
        raise ArtifactError(f"artifact not found: {path}")
    actual = sha256_file(path)
    if actual != expected:
        raise ArtifactError(
            f"sha256 mismatch for {path}: expected {expected}, found {actual}. "
            "The file was changed or replaced; reinstall it or point the config at a trusted copy."
        )


def write_manifest(folder: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Hash every artifact in ``folder`` and write ``manifest.json`` with ``metadata``."""
    files = {
        path.name: sha256_file(path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name not in UNHASHED
    }
    manifest = {**metadata, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def verify_folder(folder: Path) -> dict[str, Any]:
    """Check a model folder against its manifest and return the manifest.

    Raises:
        ArtifactError: No manifest, a listed file missing or changed, or an unlisted file.
    """
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        raise ArtifactError(
            f"{folder} has no {MANIFEST}; train a model with `alliance train` or pass --model "
            "with a model folder"
        )
    manifest = json.loads(manifest_path.read_text())
    listed = manifest.get("files", {})
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name in UNHASHED:
            continue
        if path.name not in listed:
            raise ArtifactError(f"unexpected file {path} is not in the manifest; refusing to load")
        if path.suffix not in ALLOWED_SUFFIXES:
            raise ArtifactError(f"{path} has a refused file type {path.suffix!r}")
    for name, expected in listed.items():
        verify_sha256(folder / name, expected)
    return manifest


def save_skops(obj: Any, path: Path) -> None:
    """Persist a scikit-learn object with skops (never pickle)."""
    _skops_io().dump(obj, path)


def _with_moved_modules(data: bytes) -> bytes:
    """``data`` with every moved module name in its schema rewritten (unchanged if none)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = archive.read("schema.json").decode("utf-8")
        renamed = schema
        for old, new in MOVED_MODULES.items():
            renamed = renamed.replace(f'"__module__": "{old}"', f'"__module__": "{new}"')
        if renamed == schema:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as rewritten:
            for item in archive.infolist():
                content = renamed.encode("utf-8") if item.filename == "schema.json" else None
                rewritten.writestr(item, content or archive.read(item.filename))
        return out.getvalue()


def load_skops(path: Path) -> Any:
    """Load a skops file, refusing any type outside ``TRUSTED_PREFIXES``."""
    data = _with_moved_modules(Path(path).read_bytes())
    sio = _skops_io()
    untrusted = sio.get_untrusted_types(data=data)
    refused = [name for name in untrusted if not name.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ArtifactError(f"{path} contains types we do not trust: {', '.join(refused)}")
    return sio.loads(data, trusted=untrusted)
