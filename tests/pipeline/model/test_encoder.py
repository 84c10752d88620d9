import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import PINNED_ENCODER_SHA256, EncoderConfig
from pipeline.model.artifacts import ArtifactError
from pipeline.model.encoder import Encoder, embed_pairs, pinned_encoder_path, split_windows


def test_encoder_pinned_package_hash_matches():
    from pipeline.model.artifacts import sha256_file

    assert sha256_file(pinned_encoder_path() / "model.safetensors") == PINNED_ENCODER_SHA256


def test_encoder_tampered_weights_are_refused(tiny_encoder_dir: Path, tmp_path: Path):
    copy = tmp_path / "enc"
    shutil.copytree(tiny_encoder_dir, copy)
    with (copy / "model.safetensors").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        Encoder(EncoderConfig(path=copy, sha256=PINNED_ENCODER_SHA256))


def test_encoder_embeddings_normalised_empty_is_zero(tiny_encoder_config):
    encoder = Encoder(tiny_encoder_config)
    vectors = encoder.embed(["client felt heard", "", "homework was reviewed"])
    assert vectors.shape == (3, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1, atol=1e-5)
    assert not vectors[1].any()


def test_encoder_batching_does_not_change_results(tiny_encoder_config):
    texts = ["client felt heard", "homework was reviewed today", "plan", "a much longer sentence"]
    one = Encoder(tiny_encoder_config.model_copy(update={"batch_size": 1})).embed(texts)
    many = Encoder(tiny_encoder_config).embed(texts)
    assert np.allclose(one, many, atol=1e-5)


def test_encoder_pairs_concatenate_text_and_context(tiny_encoder_config):
    encoder = Encoder(tiny_encoder_config)
    pairs = embed_pairs(encoder, ["a b", "c d"], ["", "a b"])
    assert pairs.shape == (2, 2 * encoder.dim)
    assert np.allclose(pairs[1, encoder.dim :], pairs[0, : encoder.dim])


def test_encoder_windows_split_long_text_on_words():
    text = " ".join(["word"] * 100)
    windows = split_windows(text, 50)
    assert all(len(w) <= 50 for w in windows)
    assert " ".join(windows) == text
    assert split_windows("short", 50) == ["short"]


def test_encoder_folder_without_safetensors_is_refused(tiny_encoder_dir: Path, tmp_path: Path):
    folder = tmp_path / "encoder"
    shutil.copytree(tiny_encoder_dir, folder)
    for weights in folder.glob("*.safetensors"):
        weights.rename(folder / "pytorch_model.bin")
    config = EncoderConfig(path=folder, sha256=None)
    with pytest.raises(ArtifactError, match="no .safetensors weights"):
        Encoder(config)
