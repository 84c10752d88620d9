"""A registry model as the pipeline uses it: the verified passage model plus the folder's
session estimator (``session_estimator.skops``) and, when the folder has one, its rupture model
(``rupture_model.skops``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import EncoderConfig
from pipeline.model.artifacts import ArtifactError, load_skops
from pipeline.model.folder import PassageModel, load_passage_model
from pipeline.sessions.estimator import SessionAllianceEstimator
from pipeline.sessions.rupture import FEATURE_NAMES, RUPTURE_FILE, RuptureModel

ESTIMATOR_FILE = "session_estimator.skops"


@dataclass
class AllianceModel(PassageModel):
    """A verified model folder: passage scorer + session estimator + manifest."""

    estimator: SessionAllianceEstimator | None = None
    rupture: RuptureModel | None = None  # None: flags use the drop-from-baseline rule

    @classmethod
    def load(cls, folder: Path, encoder_config: EncoderConfig) -> AllianceModel:
        """Verify and load a model folder with the configured encoder.

        Raises:
            ArtifactError: Missing folder, tampered or unexpected file, untrusted type, or an
                encoder other than the one the model was trained on.
        """
        passage_model = load_passage_model(folder, encoder_config)
        path = passage_model.folder / ESTIMATOR_FILE
        estimator = load_skops(path)
        if not isinstance(estimator, SessionAllianceEstimator):
            raise ArtifactError(f"{path} is not a SessionAllianceEstimator")
        rupture = None
        rupture_path = passage_model.folder / RUPTURE_FILE
        if rupture_path.exists():
            rupture = load_skops(rupture_path)
            if not isinstance(rupture, RuptureModel):
                raise ArtifactError(f"{rupture_path} is not a RuptureModel")
            if tuple(rupture.feature_names) != FEATURE_NAMES:
                raise ArtifactError(
                    f"{rupture_path} was fitted on other features than this version computes: "
                    "refit it with alliance train-rupture"
                )
        return cls(
            passage_model.folder, passage_model.manifest, passage_model.scorer, estimator, rupture
        )
