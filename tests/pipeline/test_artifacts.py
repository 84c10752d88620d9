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


def test_artifacts_untrusted_type_in_a_skops_file_is_refused(tmp_path: Path):
    import fractions

    save_skops({"odd": fractions.Fraction(1, 3)}, tmp_path / "odd.skops")
    with pytest.raises(ArtifactError, match="types we do not trust: fractions.Fraction"):
        load_skops(tmp_path / "odd.skops")


def test_artifacts_listed_pickle_is_refused_by_type(tmp_path: Path):
    folder = _folder(tmp_path)
    (folder / "weights.pkl").write_bytes(b"\x80\x04N.")
    write_manifest(folder, {"version": "x"})  # even when someone lists it in the manifest
    with pytest.raises(ArtifactError, match="weights.pkl has a refused file type"):
        verify_folder(folder)


def test_artifacts_no_pickle_loading_anywhere_in_the_package():
    """No pickle, joblib or torch.load in the runtime package (only safetensors and skops)."""
    package = Path(__file__).resolve().parents[2] / "pipeline"
    offenders = []
    for path in package.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if any(
                word in code for word in ("import pickle", "joblib", "torch.load(", "cloudpickle")
            ):
                offenders.append(f"{path.name}:{number}")
    assert offenders == []
