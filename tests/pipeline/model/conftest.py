"""Fixtures of the passage-model tests: a tiny multi-task model with non-zero LoRA updates."""

from pathlib import Path

import pytest
import torch
from transformers import AutoModel, BertTokenizer

from pipeline.model.network import LoRALinear, MultiTaskModel, PairTokenizer, TransformerSettings

MAX_LENGTH = 48


@pytest.fixture(scope="module")
def tiny(tiny_encoder_dir: Path) -> tuple[MultiTaskModel, PairTokenizer]:
    """A tiny model whose LoRA updates are non-zero (B starts at zero), so merging matters."""
    torch.manual_seed(0)
    model = MultiTaskModel(
        AutoModel.from_pretrained(tiny_encoder_dir),
        TransformerSettings(max_length=MAX_LENGTH, lora_top_layers=None),
    )
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_b.normal_(0, 0.2)
    tokenizer = BertTokenizer.from_pretrained(tiny_encoder_dir)
    return model.eval(), PairTokenizer(tokenizer, MAX_LENGTH)


@pytest.fixture(scope="module")
def words(tiny) -> list[str]:
    words = sorted(w for w in tiny[1].tokenizer.get_vocab() if w.isalpha())
    assert len(words) > 100
    return words
