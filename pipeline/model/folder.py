"""A model folder of the registry: verified, with its passage model behind one interface.

Two kinds of passage model share the folder layout (``manifest.json``, ``MODEL_CARD.md``) and
differ in their passage scorer:

* ``embedding-linear-heads`` (``alliance train --quick``): frozen encoder embeddings of
  (passage, context) with a logistic-regression head per output (``heads.skops``);
* ``transformer-multitask`` (``alliance train``): the encoder fine-tuned with LoRA, with one
  output layer per head (``adapter.safetensors`` + ``model_config.json``).

Loading verifies every file against the manifest, and the encoder against its sha256. The
folder's session estimator belongs to the next stage (:mod:`pipeline.sessions.alliance_model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.config import EncoderConfig
from pipeline.model.artifacts import ArtifactError, verify_folder
from pipeline.model.encoder import Encoder, embed_pairs
from pipeline.model.engine import PassageEngine
from pipeline.model.network import (
    MultiTaskModel,
    PairTokenizer,
    load_transformer,
    model_tokenizer,
)
from pipeline.model.quick import PassageHeads
from pipeline.model.windows import WindowTokenizer

KIND_LINEAR = "embedding-linear-heads"
KIND_TRANSFORMER = "transformer-multitask"


class PassageScorer(Protocol):
    """Anything that turns (passage, context) pairs into per-head class probabilities.

    ``speakers`` and ``groups`` (each row's speaker and session) are read by a window-encoding
    model (:mod:`pipeline.model.windows`); a scorer that reads pairs ignores them.
    """

    def predict_proba(
        self,
        texts: Sequence[str],
        contexts: Sequence[str],
        speakers: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]: ...

    def predict(
        self,
        texts: Sequence[str],
        contexts: Sequence[str],
        speakers: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Probabilities and one vector per passage (pooled into session features)."""
        ...


@dataclass
class EmbeddingScorer:
    encoder: Encoder
    heads: PassageHeads

    def predict_proba(self, texts, contexts, speakers=None, groups=None):
        return self.predict(texts, contexts)[0]

    def predict(self, texts, contexts, speakers=None, groups=None):
        features = embed_pairs(self.encoder, texts, contexts)
        return self.heads.predict_proba(features), features[:, : self.encoder.dim]


@dataclass
class TransformerScorer:
    """The fine-tuned model behind a :class:`pipeline.model.engine.PassageEngine`, built on
    first use and kept, so its merged inference copy of the model is made once per model."""

    model: MultiTaskModel
    tokenize: PairTokenizer | WindowTokenizer
    batch_size: int
    bf16: bool
    max_tokens: int | None = None  # padded tokens per batch; None = the device's default
    _engine: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def engine(self) -> PassageEngine:
        if self._engine is None:
            self._engine = PassageEngine(
                self.model,
                self.tokenize,
                self.batch_size,
                max_tokens=self.max_tokens,
                bf16=self.bf16,
            )
        return self._engine

    def predict_proba(self, texts, contexts, speakers=None, groups=None):
        return self.engine.predict(texts, contexts, False, speakers, groups)

    def predict(self, texts, contexts, speakers=None, groups=None):
        return self.engine.predict(texts, contexts, True, speakers, groups)


@dataclass
class PassageModel:
    """A verified model folder's manifest and passage scorer."""

    folder: Path
    manifest: dict[str, Any]
    scorer: PassageScorer

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", self.folder.name))


def load_passage_model(folder: Path, encoder_config: EncoderConfig) -> PassageModel:
    """Verify a model folder and load its passage scorer on the configured encoder.

    Raises:
        ArtifactError: Missing folder, tampered or unexpected file, or an encoder other than
            the one the model was trained on.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(
            f"model folder not found: {folder}. Train one with `alliance train --data "
            "../shared/data` or pass --model DIR"
        )
    manifest = verify_folder(folder)
    _check_encoder(manifest, encoder_config, folder)
    encoder = Encoder(encoder_config)
    expected_dim = manifest.get("encoder", {}).get("dim")
    if expected_dim not in (None, encoder.dim):
        raise ArtifactError(
            f"model {folder} expects a {expected_dim}-dim encoder, the configured one has "
            f"{encoder.dim}"
        )
    kind = manifest.get("kind", KIND_LINEAR)
    if kind == KIND_LINEAR:
        scorer: PassageScorer = EmbeddingScorer(encoder, PassageHeads.load(folder))
    elif kind == KIND_TRANSFORMER:
        scorer = transformer_scorer(folder, encoder, encoder_config)
    else:
        raise ArtifactError(f"{folder}: unknown model kind {kind!r}")
    return PassageModel(folder, manifest, scorer)


def transformer_scorer(folder: Path, encoder: Encoder, config: EncoderConfig) -> TransformerScorer:
    """The fine-tuned model on top of the (verified) encoder's transformer."""
    model = load_transformer(folder, encoder.model).to(encoder.device)
    settings = model.settings
    if config.window_tokens and settings.context != "pair":  # a measured change of window
        settings = replace(settings, window_tokens=config.window_tokens)
    tokenize = model_tokenizer(encoder.tokenizer, settings)
    max_tokens = config.max_batch_tokens  # padded tokens per batch; None = device default
    return TransformerScorer(model, tokenize, config.batch_size, encoder.use_bf16, max_tokens)


def _check_encoder(manifest: dict, config: EncoderConfig, folder: Path) -> None:
    expected = manifest.get("encoder", {}).get("sha256")
    if expected and config.sha256 and expected != config.sha256:
        raise ArtifactError(
            f"model {folder} was trained on encoder {expected[:12]}..., but the configured "
            f"encoder is {config.sha256[:12]}..."
        )
