"""A model folder of the registry: passage heads + session estimator + manifest + model card.

``models/<version>/`` holds ``heads.skops``, ``session_estimator.skops``, ``manifest.json``
(file hashes, encoder hash, data snapshot, metrics, versions) and ``MODEL_CARD.md``. Loading
verifies every hash first (:func:`pipeline.artifacts.verify_folder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.aggregate import SessionAllianceEstimator
from pipeline.artifacts import ArtifactError, load_skops, verify_folder
from pipeline.passage_model import PassageHeads

ESTIMATOR_FILE = "session_estimator.skops"


@dataclass
class AllianceModel:
    """Everything needed to score passages and estimate sessions, except the encoder."""

    folder: Path
    manifest: dict[str, Any]
    heads: PassageHeads
    estimator: SessionAllianceEstimator

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", self.folder.name))

    @classmethod
    def load(cls, folder: Path) -> AllianceModel:
        """Verify and load a model folder.

        Raises:
            ArtifactError: Missing folder, tampered or unexpected file, untrusted type.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ArtifactError(
                f"model folder not found: {folder}. Train one with `alliance train --quick "
                "--data ../shared/data` or pass --model DIR"
            )
        manifest = verify_folder(folder)
        estimator = load_skops(folder / ESTIMATOR_FILE)
        if not isinstance(estimator, SessionAllianceEstimator):
            raise ArtifactError(f"{folder / ESTIMATOR_FILE} is not a SessionAllianceEstimator")
        return cls(folder, manifest, PassageHeads.load(folder), estimator)

    def check_encoder(self, encoder_sha256: str | None, dim: int) -> None:
        """Refuse an encoder other than the one the heads were trained on."""
        expected = self.manifest.get("encoder", {})
        if expected.get("dim") not in (None, dim):
            raise ArtifactError(
                f"model {self.folder} expects {expected['dim']}-dim encoder features, got {dim}"
            )
        if expected.get("sha256") and encoder_sha256 and expected["sha256"] != encoder_sha256:
            raise ArtifactError(
                f"model {self.folder} was trained on encoder {expected['sha256'][:12]}..., "
                f"but the configured encoder is {encoder_sha256[:12]}..."
            )
