from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from pipeline.model.engine import predict_pairs
from pipeline.model.heads import HEADS
from pipeline.model.network import (
    ADAPTER_FILE,
    LoRALinear,
    MultiTaskModel,
    PairTokenizer,
    TransformerSettings,
    load_transformer,
    masked_loss,
    save_transformer,
)

TEXTS = [
    "client felt heard and understood",
    "client said homework was pointless",
    "clinician and client agreed on the goal",
    "client denied si",
]
CONTEXTS = ["", "client felt heard and understood", "", "clinician reflected feelings"]


def _model(encoder_dir: Path, **settings) -> tuple[MultiTaskModel, PairTokenizer]:
    torch.manual_seed(0)
    # No dropout inside the tiny encoder: overfitting four rows should be deterministic.
    encoder = AutoModel.from_pretrained(
        encoder_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    model = MultiTaskModel(
        encoder, TransformerSettings(max_length=32, lora_top_layers=None, **settings)
    )
    return model, PairTokenizer(AutoTokenizer.from_pretrained(encoder_dir), 32)


def test_transformer_only_lora_and_heads_train(tiny_encoder_dir):
    model, _ = _model(tiny_encoder_dir)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith("heads.") for n in trainable)
    assert any(isinstance(m, LoRALinear) for m in model.modules())


def test_transformer_top_layers_limits_adapters(tiny_encoder_dir):
    model, _ = _model(tiny_encoder_dir)
    torch.manual_seed(0)
    top = MultiTaskModel(
        AutoModel.from_pretrained(tiny_encoder_dir), TransformerSettings(lora_top_layers=1)
    )
    count = lambda m: sum(isinstance(x, LoRALinear) for x in m.modules())  # noqa: E731
    assert 0 < count(top) < count(model)


def test_transformer_masked_loss_ignores_unlabeled_rows():
    logits = {
        "bond": torch.tensor([5.0, -5.0, 0.3]),
        "mi_behaviour": torch.tensor([[4.0, 0, 0, 0], [0, 0, 0, 9.0], [1.0, 2, 3, 4]]),
    }
    labeled = {"bond": torch.tensor([1, 0, -1]), "mi_behaviour": torch.tensor([0, -1, -1])}
    changed = {"bond": torch.tensor([1, 0, -1]), "mi_behaviour": torch.tensor([0, -1, -1])}
    changed_logits = {k: v.clone() for k, v in logits.items()}
    changed_logits["bond"][2] = -40.0  # an unlabeled row's logit must not matter
    changed_logits["mi_behaviour"][1] = torch.tensor([9.0, 0, 0, 0])
    assert torch.isclose(masked_loss(logits, labeled), masked_loss(changed_logits, changed))
    assert float(masked_loss(logits, {"bond": torch.tensor([-1, -1, -1])})) == 0.0


def test_transformer_masked_loss_gradient_reaches_only_labeled_heads():
    logits = {
        "bond": torch.zeros(2, requires_grad=True),
        "goal": torch.zeros(2, requires_grad=True),
    }
    masked_loss(logits, {"bond": torch.tensor([1, 0]), "goal": torch.tensor([-1, -1])}).backward()
    assert logits["bond"].grad.abs().sum() > 0
    assert logits["goal"].grad is None or logits["goal"].grad.abs().sum() == 0


def test_transformer_overfit_save_load_identical_predictions(tiny_encoder_dir, tmp_path: Path):
    model, tokenize = _model(tiny_encoder_dir, lora_dropout=0.0, head_dropout=0.0)
    targets = {
        "bond": torch.tensor([1, 0, 0, 0]),
        "strain": torch.tensor([0, 1, 0, 0]),
        "mi_behaviour": torch.tensor([0, 2, 3, 1]),
        "goal": torch.tensor([0, 0, 1, 0]),
    }
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.01)
    encoded = tokenize(TEXTS, CONTEXTS)
    model.train()
    for _ in range(300):
        optimizer.zero_grad()
        masked_loss(model(**encoded), targets).backward()
        optimizer.step()
    before = predict_pairs(model, tokenize, TEXTS, CONTEXTS)
    for name, target in targets.items():
        np.testing.assert_array_equal(before[name].argmax(1), target.numpy())
    save_transformer(model, tmp_path)
    assert (tmp_path / ADAPTER_FILE).stat().st_size < 10_000_000
    loaded = load_transformer(tmp_path, AutoModel.from_pretrained(tiny_encoder_dir))
    after = predict_pairs(loaded, tokenize, TEXTS, CONTEXTS)
    for head in HEADS:
        np.testing.assert_allclose(before[head.name], after[head.name], rtol=0, atol=1e-6)


def test_transformer_adapter_of_another_architecture_is_refused(tiny_encoder_dir, tmp_path):
    model, _ = _model(tiny_encoder_dir, lora_rank=4)
    save_transformer(model, tmp_path)
    config = (
        (tmp_path / "model_config.json").read_text().replace('"lora_rank": 4', '"lora_rank": 8')
    )
    (tmp_path / "model_config.json").write_text(config)
    with pytest.raises(Exception, match="size mismatch|does not fit"):
        load_transformer(tmp_path, AutoModel.from_pretrained(tiny_encoder_dir))


def test_transformer_predictions_sum_to_one_and_keep_order(tiny_encoder_dir):
    model, tokenize = _model(tiny_encoder_dir)
    probabilities = predict_pairs(model, tokenize, TEXTS, CONTEXTS, batch_size=2)
    single = predict_pairs(model, tokenize, TEXTS[2:3], CONTEXTS[2:3])
    for head in HEADS:
        assert probabilities[head.name].shape == (4, len(head.classes))
        np.testing.assert_allclose(probabilities[head.name].sum(1), 1, atol=1e-5)
        np.testing.assert_allclose(probabilities[head.name][2], single[head.name][0], atol=1e-4)
