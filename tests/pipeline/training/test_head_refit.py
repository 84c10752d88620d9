"""Decoupled head re-training on a tiny encoder: kept only where validation improves."""

from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pipeline.model.engine import predict_pairs
from pipeline.model.network import (
    MultiTaskModel,
    PairTokenizer,
    TransformerSettings,
    load_transformer,
    save_transformer,
)
from pipeline.training.head_refit import refit_heads
from pipeline.training.records import LabeledPassage

WARM = ["client felt heard and understood", "client felt understood today", "felt heard"]
COLD = ["client said homework was pointless", "homework was pointless", "client said no"]


def _model(encoder_dir: Path) -> tuple[MultiTaskModel, PairTokenizer]:
    torch.manual_seed(0)
    encoder = AutoModel.from_pretrained(
        encoder_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    settings = TransformerSettings(max_length=32, lora_top_layers=None, head_dropout=0.0)
    return MultiTaskModel(encoder, settings), PairTokenizer(
        AutoTokenizer.from_pretrained(encoder_dir), 32
    )


def _passages(texts: list[str], bond: int, source: str = "notes") -> list[LabeledPassage]:
    return [
        LabeledPassage(t, "", "clinician", source, f"g{i}", {"bond": bond})
        for i, t in enumerate(texts)
    ]


def test_head_refit_fits_the_labels_and_survives_save_load(tiny_encoder_dir, tmp_path: Path):
    model, tokenize = _model(tiny_encoder_dir)
    with torch.no_grad():  # a head that predicts the wrong class everywhere
        model.heads["bond"].weight.zero_()
        model.heads["bond"].bias.fill_(-5.0)
    train = (_passages(WARM, 1) + _passages(COLD, 0)) * 4
    valid = _passages(WARM, 1) + _passages(COLD, 0)
    report = refit_heads(model, tokenize, train, valid, bf16=False)
    assert report["bond"]["kept"] and report["bond"]["after"] > report["bond"]["before"]
    texts = [p.text for p in valid]
    refitted = predict_pairs(model, tokenize, texts, [""] * len(texts))
    np.testing.assert_array_equal(refitted["bond"].argmax(1), [1, 1, 1, 0, 0, 0])
    save_transformer(model, tmp_path)
    loaded = load_transformer(tmp_path, AutoModel.from_pretrained(tiny_encoder_dir))
    again = predict_pairs(loaded, tokenize, texts, [""] * len(texts))
    np.testing.assert_allclose(again["bond"], refitted["bond"], rtol=0, atol=1e-6)


def test_head_refit_rejected_where_validation_gets_worse(tiny_encoder_dir):
    model, tokenize = _model(tiny_encoder_dir)
    train = (_passages(WARM, 1) + _passages(COLD, 0)) * 4
    # Validation says the opposite of training: a faithful refit can only score worse there.
    valid = _passages(WARM, 0) + _passages(COLD, 1)
    refit_heads(model, tokenize, valid * 4, valid, bf16=False)  # now agrees with validation
    weight = model.heads["bond"].weight.detach().clone()
    report = refit_heads(model, tokenize, train, valid, bf16=False)
    assert report["bond"]["kept"] is False
    assert report["bond"]["after"] == report["bond"]["before"]
    torch.testing.assert_close(model.heads["bond"].weight, weight)


def test_head_refit_skips_heads_missing_a_class(tiny_encoder_dir):
    model, tokenize = _model(tiny_encoder_dir)
    train = _passages(WARM, 1) * 4  # bond 0 never seen: a refit could never predict it
    report = refit_heads(model, tokenize, train, _passages(COLD, 0), bf16=False)
    assert "bond" not in report


def test_head_refit_rejected_where_one_corpus_pays_for_another(tiny_encoder_dir):
    train = (_passages(WARM, 1) + _passages(COLD, 0)) * 4
    # Corpus "a" agrees with training; corpus "b" calls one cold passage warm. The refit lifts
    # the mean of the two (a: 0.33 -> 1.0, b: 1.0 -> 0.43) but costs b more than 0.02.
    valid = _passages(WARM, 1, "a") + _passages(COLD, 0, "a") + _passages(WARM + COLD[:1], 1, "b")
    results = {}
    for limit in (0.02, 1.0):
        model, tokenize = _model(tiny_encoder_dir)
        with torch.no_grad():  # predicts "warm" everywhere
            model.heads["bond"].weight.zero_()
            model.heads["bond"].bias.fill_(5.0)
        results[limit] = refit_heads(
            model, tokenize, train, valid, bf16=False, max_source_drop=limit
        )["bond"]
    assert results[1.0]["kept"] and results[1.0]["after"] > results[1.0]["before"]
    assert results[0.02]["kept"] is False
    assert results[1.0]["by_source"]["b"][1] < results[1.0]["by_source"]["b"][0] - 0.5
