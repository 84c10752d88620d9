"""The fine-tuned passage model: a shared transformer encoder with LoRA adapters and one output
layer per head, reading (passage, context) as a sentence pair.

Only the LoRA matrices and the heads are trained and saved (``adapter.safetensors``, about
3 MB), so the shipped model stays small and the base weights come from the pinned encoder
package, verified by sha256 at load time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from pipeline.model.heads import HEAD_BY_NAME, HEADS, Head
from pipeline.model.windows import WindowTokenizer, pool_owned

ADAPTER_FILE = "adapter.safetensors"
CONFIG_FILE = "model_config.json"
# Linear layers of a BERT-style encoder that get LoRA adapters (matched by name suffix).
LORA_TARGETS = (
    "query",
    "key",
    "value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


@dataclass
class TransformerSettings:
    """Architecture of the fine-tuned model (saved beside the adapter)."""

    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.1
    lora_top_layers: int | None = 3
    head_dropout: float = 0.1
    max_length: int = 128
    # "pair": each passage with its previous one as a second segment; "window": a session's
    # passages packed in order into windows (:mod:`pipeline.model.windows`), speaker as the
    # token type (learned), each passage pooled over its own tokens; "alone": each passage
    # read on its own, the same way (what window encoding is measured against).
    context: str = "pair"
    window_tokens: int = 256
    context_tokens: int = 32
    heads: dict[str, list[str]] = field(
        default_factory=lambda: {h.name: list(h.classes) for h in HEADS}
    )


class LoRALinear(nn.Module):
    """``base(x) + scale * B(A(dropout(x)))`` with the base layer frozen (Hu et al. 2021)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = alpha / rank
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.dropout(x) @ self.lora_a.t() @ self.lora_b.t()
        return self.base(x) + self.scale * update


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for before, after in zip(parts, parts[1:]):
        if before == "layer" and after.isdigit():
            return int(after)
    return None


def add_lora(
    model: nn.Module, rank: int, alpha: float, dropout: float, top_layers: int | None = None
) -> int:
    """Wrap targeted ``nn.Linear`` layers with LoRA; returns how many were wrapped.

    Args:
        top_layers: Adapt only the last N encoder layers (None = all). Gradients then stop
            at the lowest adapted layer, which makes CPU training much cheaper.
    """
    layers = {i for name, _ in model.named_modules() if (i := _layer_index(name)) is not None}
    lowest = max(layers) + 1 - top_layers if (top_layers and layers) else 0
    targets = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and name.endswith(LORA_TARGETS)
        and (_layer_index(name) or 0) >= lowest
    ]
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(module, rank, alpha, dropout))
    return len(targets)


def _output_size(head: Head) -> int:
    return 1 if head.binary else len(head.classes)


class MultiTaskModel(nn.Module):
    """Encoder + LoRA + one linear layer per head over the mean of the passage's tokens.

    The context (previous turn, or the seeker post) is the second segment of the pair: it
    informs the passage's token states through attention but is not pooled.
    """

    def __init__(self, encoder: nn.Module, settings: TransformerSettings):
        super().__init__()
        self.settings = settings
        self.encoder = encoder
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        add_lora(
            self.encoder,
            settings.lora_rank,
            settings.lora_alpha,
            settings.lora_dropout,
            settings.lora_top_layers,
        )
        types = getattr(getattr(self.encoder, "embeddings", None), "token_type_embeddings", None)
        if settings.context in ("window", "alone") and types is not None:
            types.weight.requires_grad = True  # the speaker marker the model learns
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(settings.head_dropout)
        self.heads = nn.ModuleDict(
            {name: nn.Linear(hidden, _output_size(HEAD_BY_NAME[name])) for name in settings.heads}
        )

    def pool(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        """Mean of the passage's (first segment's) final token states, (batch, hidden)."""
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.clone()
        if token_type_ids is not None:
            mask = mask * (token_type_ids == 0)
        mask = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def pool_windows(
        self, inputs: dict[str, torch.Tensor], owners: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Window encoding: (owner rows, mean of each row's token states) for one batch of
        windows (:func:`pipeline.model.windows.collate_windows`)."""
        states = self.encoder(**inputs).last_hidden_state
        rows, sums, counts = pool_owned(states, owners)
        return rows, sums / counts.clamp(min=1).unsqueeze(-1)

    def forward(self, input_ids, attention_mask, token_type_ids=None, pooled=None):
        """Logits per head: (batch,) for binary heads, (batch, classes) otherwise.

        ``pooled`` (from :meth:`pool`) skips the encoder when it was already run.
        """
        if pooled is None:
            pooled = self.pool(input_ids, attention_mask, token_type_ids)
        pooled = self.dropout(pooled)
        out = {}
        for name, layer in self.heads.items():
            logits = layer(pooled.to(layer.weight.dtype))
            out[name] = logits.squeeze(-1) if HEAD_BY_NAME[name].binary else logits
        return out

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The parameters that training changes (LoRA matrices and heads)."""
        return {
            k: v.detach().clone().contiguous()
            for k, v in self.named_parameters()
            if v.requires_grad
        }


def probabilities(logits: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Class probabilities per head over the head's full class list."""
    out = {}
    for name, value in logits.items():
        value = value.float()
        if HEAD_BY_NAME[name].binary:
            positive = torch.sigmoid(value)
            out[name] = torch.stack([1 - positive, positive], dim=-1).cpu().numpy()
        else:
            out[name] = torch.softmax(value, dim=-1).cpu().numpy()
    return out


def masked_loss(
    logits: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    class_weights: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Sum over heads of the mean loss on rows that carry the head's label.

    ``targets[head]`` holds class indices with -1 where the source says nothing; such rows add
    nothing to the loss or its gradient. Binary heads use a logistic loss (weight of the
    positive class from ``class_weights[head][1] / [0]``), the others cross-entropy.
    """
    total = None
    for name, target in targets.items():
        mask = target >= 0
        if not bool(mask.any()):
            continue
        head_logits = logits[name][mask].float()
        labels = target[mask]
        weights = class_weights.get(name) if class_weights else None
        if HEAD_BY_NAME[name].binary:
            pos_weight = (weights[1] / weights[0]).reshape(1) if weights is not None else None
            loss = nn.functional.binary_cross_entropy_with_logits(
                head_logits, labels.float(), pos_weight=pos_weight
            )
        else:
            loss = nn.functional.cross_entropy(head_logits, labels, weight=weights)
        total = loss if total is None else total + loss
    if total is None:
        return next(iter(logits.values())).sum() * 0.0
    return total


class PairTokenizer:
    """Tokenise (passage, context) pairs, truncating the longer segment first.

    Every row is a pair: an empty context is an empty second segment (``[CLS] passage [SEP]
    [SEP]``), so a row's tokens, and so its scores, never depend on the other rows of its
    batch (a batch whose contexts were all empty used to be encoded as single segments).
    """

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.max_length = max_length

    def _pairs(self, texts: Sequence[str], contexts: Sequence[str], **kwargs):
        # " " (not "") for an empty context: the exact input the models were trained on.
        return self.tokenizer(
            list(texts),
            [c or " " for c in contexts],
            truncation="longest_first",
            max_length=self.max_length,
            **kwargs,
        )

    def __call__(self, texts: Sequence[str], contexts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Padded tensors for one batch (training, and the one-row reference path)."""
        return self._pairs(texts, contexts, padding=True, return_tensors="pt")

    def encode(self, texts: Sequence[str], contexts: Sequence[str]) -> dict[str, list[list[int]]]:
        """Unpadded token ids per row (the engine pads each batch itself)."""
        return self._pairs(texts, contexts, return_attention_mask=False)


def model_tokenizer(tokenizer, settings: TransformerSettings) -> PairTokenizer | WindowTokenizer:
    """The input side of a model: pairs, or windows (``settings.context``)."""
    if settings.context in ("window", "alone"):
        return WindowTokenizer(
            tokenizer,
            settings.window_tokens,
            settings.context_tokens,
            isolated=settings.context == "alone",
        )
    return PairTokenizer(tokenizer, settings.max_length)


def save_transformer(model: MultiTaskModel, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_file(model.trainable_state(), str(folder / ADAPTER_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(asdict(model.settings), indent=2) + "\n")


def load_transformer(folder: Path, encoder: nn.Module) -> MultiTaskModel:
    """Rebuild the model on ``encoder`` (already verified) and load the adapter weights.

    Raises:
        ValueError: The adapter does not match the architecture (missing or extra tensors).
    """
    settings = TransformerSettings(**json.loads((folder / CONFIG_FILE).read_text()))
    unknown = set(settings.heads) - set(HEAD_BY_NAME)
    if unknown:
        raise ValueError(f"{folder} has heads this version does not know: {sorted(unknown)}")
    model = MultiTaskModel(encoder, settings)
    state = load_file(str(folder / ADAPTER_FILE))
    expected = set(model.trainable_state())
    if set(state) != expected:
        missing, extra = expected - set(state), set(state) - expected
        raise ValueError(
            f"{folder / ADAPTER_FILE} does not fit the model: missing "
            f"{sorted(missing)[:3]}, unexpected {sorted(extra)[:3]}"
        )
    model.load_state_dict(state, strict=False)
    model.eval()
    return model
