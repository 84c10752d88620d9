from pathlib import Path

import pytest

from pipeline.model.artifacts import (
    ArtifactError,
    load_skops,
    save_skops,
    verify_folder,
    write_manifest,
)


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
    package = Path(__file__).resolve().parents[3] / "pipeline"
    offenders = []
    for path in package.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if any(
                word in code for word in ("import pickle", "joblib", "torch.load(", "cloudpickle")
            ):
                offenders.append(f"{path.name}:{number}")
    assert offenders == []


def _rename_module(path: Path, old: str, new: str) -> None:
    """Rewrite the module a skops file records, as a file saved before a move would read."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        items = {item.filename: archive.read(item.filename) for item in archive.infolist()}
    schema = items["schema.json"].decode()
    assert f'"__module__": "{old}"' in schema
    items["schema.json"] = schema.replace(
        f'"__module__": "{old}"', f'"__module__": "{new}"'
    ).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in items.items():
            archive.writestr(name, content)


def test_artifacts_skops_saved_before_the_layout_move_still_loads(tmp_path: Path):
    import numpy as np

    from pipeline.sessions.estimator import SessionAllianceEstimator

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.uniform(1, 5, size=(30, 4))
    estimator = SessionAllianceEstimator().fit(X, y)
    path = tmp_path / "session_estimator.skops"
    save_skops(estimator, path)
    _rename_module(path, "pipeline.sessions.estimator", "pipeline.aggregate")
    loaded = load_skops(path)
    assert isinstance(loaded, SessionAllianceEstimator)
    np.testing.assert_allclose(loaded.predict(X), estimator.predict(X))


def test_artifacts_unknown_old_module_is_still_refused_by_skops(tmp_path: Path):
    import numpy as np

    from pipeline.sessions.estimator import SessionAllianceEstimator

    rng = np.random.default_rng(0)
    estimator = SessionAllianceEstimator().fit(rng.normal(size=(30, 4)), rng.uniform(1, 5, (30, 4)))
    path = tmp_path / "session_estimator.skops"
    save_skops(estimator, path)
    _rename_module(path, "pipeline.sessions.estimator", "evil.module")
    with pytest.raises(ArtifactError, match="do not trust: evil.module"):
        load_skops(path)


def test_artifacts_skops_import_leaves_sklearn_whole_and_estimators_load(tmp_path: Path):
    """skops is imported without its default estimator list (a start-up cost); scikit-learn
    keeps its own ``all_estimators``, and a fitted pipeline still round-trips exactly."""
    import numpy as np
    import sklearn.utils
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pipeline.model.artifacts import _skops_io, load_skops, save_skops

    before = sklearn.utils.all_estimators
    _skops_io()
    assert sklearn.utils.all_estimators is before
    rows = np.random.default_rng(0).normal(size=(20, 3))
    fitted = make_pipeline(StandardScaler(), Ridge()).fit(rows, rows @ [1.0, -2.0, 0.5])
    save_skops(fitted, tmp_path / "model.skops")
    loaded = load_skops(tmp_path / "model.skops")
    assert np.array_equal(loaded.predict(rows), fitted.predict(rows))
