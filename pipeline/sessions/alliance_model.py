"""A registry model as the pipeline uses it: the verified passage model plus the folder's
session estimator (``session_estimator.skops``), the text model it reads
(``session_text_model.skops``, when it reads one) and, when the folder has one, its rupture
model (``rupture_model.skops``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import EncoderConfig
from pipeline.model.artifacts import ArtifactError, load_skops
from pipeline.model.folder import PassageModel, load_passage_model
from pipeline.sessions.estimator import SessionAllianceEstimator
from pipeline.sessions.features import SIGNAL_NAMES
from pipeline.sessions.rupture import FEATURE_NAMES, RUPTURE_FILE, RuptureModel
from pipeline.sessions.text_model import TEXT_FILE, SessionTextModel

ESTIMATOR_FILE = "session_estimator.skops"


@dataclass
class AllianceModel(PassageModel):
    """A verified model folder: passage scorer + session estimator + manifest."""

    estimator: SessionAllianceEstimator | None = None
    rupture: RuptureModel | None = None  # None: flags use the drop-from-baseline rule
    text_model: SessionTextModel | None = None  # read when the estimator has text columns

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
        if getattr(estimator, "n_named", None) != len(SIGNAL_NAMES):
            raise ArtifactError(
                f"{path} was fitted on other session features than this version computes (it "
                "does not know the kind of text): refit it with "
                "alliance train-sessions --data ../shared/data"
            )
        text_model = None
        if getattr(estimator, "n_text", 0):
            text_path = passage_model.folder / TEXT_FILE
            if not text_path.exists():
                raise ArtifactError(
                    f"{path} reads text scores but {text_path.name} is missing: copy the whole "
                    "model folder, or refit with alliance train-sessions --data ../shared/data"
                )
            text_model = load_skops(text_path)
            if not isinstance(text_model, SessionTextModel):
                raise ArtifactError(f"{text_path} is not a SessionTextModel")
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
            passage_model.folder,
            passage_model.manifest,
            passage_model.scorer,
            estimator,
            rupture,
            text_model,
        )
