from pathlib import Path

import pytest

from pipeline.artifacts import ArtifactError, load_skops, save_skops, verify_folder, write_manifest


def _folder(tmp_path: Path) -> Path:
    save_skops({"a": [1, 2, 3]}, tmp_path / "thing.skops")
    write_manifest(tmp_path, {"version": "x"})
    return tmp_path


def test_artifacts_manifest_round_trip(tmp_path: Path):
    manifest = verify_folder(_folder(tmp_path))
    assert set(manifest["files"]) == {"thing.skops"}
    assert load_skops(tmp_path / "thing.skops") == {"a": [1, 2, 3]}


def test_artifacts_tampered_file_is_refused(tmp_path: Path):
    folder = _folder(tmp_path)
    with (folder / "thing.skops").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(ArtifactError, match="sha256 mismatch.*thing.skops"):
        verify_folder(folder)


def test_artifacts_unexpected_file_is_refused(tmp_path: Path):
    folder = _folder(tmp_path)
    (folder / "evil.pkl").write_bytes(b"\x80")
    with pytest.raises(ArtifactError, match="evil.pkl"):
        verify_folder(folder)


def test_artifacts_missing_manifest_is_refused(tmp_path: Path):
    with pytest.raises(ArtifactError, match="manifest"):
        verify_folder(tmp_path)
