"""Decoupled head re-training: refit each output layer on the fine-tuned, frozen encoder.

Fine-tuning learns the representation and all heads at once, under one loss summed over the heads
and with only square-root class weights, so a rare class can stay under-predicted although the
representation separates it: AnnoMI's therapist input was recalled 37% of the time on held-out
transcripts, mostly mistaken for reflections, while a class-balanced logistic regression on the
same pooled vectors recalled 66%. Re-training only the classifier on the frozen representation,
class-balanced, is the "decoupling" recipe of Kang et al. (ICLR 2020) for long-tailed labels.

Each head is refitted by an L2-regularised, class-balanced logistic regression (scikit-learn)
on the training passages' pooled vectors, its penalty chosen on the validation passages, and
the refit replaces the head's linear layer only where it raises that head's validation score
(mean per-source macro-F1, as epoch selection uses) and costs no corpus more than 0.02 of its
own macro-F1. The result is still one linear layer per head, saved and loaded like any other
(safetensors).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from pipeline.model.engine import predict_pairs
from pipeline.model.heads import HEAD_BY_NAME
from pipeline.model.network import MultiTaskModel, PairTokenizer, probabilities
from pipeline.model.windows import WindowTokenizer
from pipeline.training.evaluate import macro_f1_by_head
from pipeline.training.finetune import epoch_sample, head_score, source_scores
from pipeline.training.records import LabeledPassage, scorer_inputs

PENALTIES = (0.01, 0.1, 1.0)  # logistic regression C values tried per head


def _vectors(
    model: MultiTaskModel,
    tokenize: PairTokenizer | WindowTokenizer,
    passages: Sequence[LabeledPassage],
    bf16: bool,
) -> np.ndarray:
    texts, contexts, speakers, groups = scorer_inputs(passages)
    _, vectors = predict_pairs(
        model,
        tokenize,
        texts,
        contexts,
        bf16=bf16,
        with_vectors=True,
        speakers=speakers,
        groups=groups,
    )
    return np.asarray(vectors, dtype=np.float64)


def _layer_logits(layer: torch.nn.Linear, vectors: np.ndarray) -> np.ndarray:
    weight = layer.weight.detach().double().cpu().numpy()
    bias = layer.bias.detach().double().cpu().numpy()
    return vectors @ weight.T + bias


def layer_probabilities(name: str, logits: np.ndarray) -> dict[str, np.ndarray]:
    """Class probabilities from one head's raw logits, through the model's own link (sigmoid
    or softmax; binary heads give one logit per row)."""
    values = torch.from_numpy(logits[:, 0] if HEAD_BY_NAME[name].binary else logits)
    return probabilities({name: values})


def _score(
    name: str, logits: np.ndarray, passages: Sequence[LabeledPassage]
) -> tuple[float, dict[str, float]]:
    """The head's validation score (mean per-source macro-F1) and its per-source macro-F1, on
    passages that all carry the head's label."""
    entry = macro_f1_by_head(
        layer_probabilities(name, logits),
        [{name: p.labels[name]} for p in passages],  # this head only: the others are not scored
        [p.source for p in passages],
    )[name]
    return head_score(entry), source_scores(entry)


def _fit(
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, penalty: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A class-balanced logistic regression, folded back to (weight, bias) on raw vectors."""
    scaler = StandardScaler().fit(vectors)
    classifier = LogisticRegression(
        C=penalty, class_weight="balanced", max_iter=2000, random_state=seed
    ).fit(scaler.transform(vectors), labels, sample_weight=weights)
    weight = classifier.coef_ / scaler.scale_
    bias = classifier.intercept_ - weight @ scaler.mean_
    return weight, bias


def _training_sample(
    train: Sequence[LabeledPassage],
    max_per_source: int | None,
    notes_repeat: int,
    seed: int,
    source_repeat: dict[str, int] | None = None,
) -> tuple[list[LabeledPassage], np.ndarray]:
    """One epoch's composition (each corpus capped, notes and ``source_repeat`` corpora
    repeated), without duplicate rows: repeats become sample weights, so each passage is
    encoded once. In the training set's order, so a window model reads conversations whole."""
    chosen = epoch_sample(train, max_per_source, notes_repeat, random.Random(seed), source_repeat)
    counts = Counter(id(p) for p in chosen)
    position = {id(p): i for i, p in enumerate(train)}
    unique = sorted({id(p): p for p in chosen}.values(), key=lambda p: position[id(p)])
    return unique, np.array([counts[id(p)] for p in unique], dtype=float)


def refit_heads(
    model: MultiTaskModel,
    tokenize: PairTokenizer | WindowTokenizer,
    train: Sequence[LabeledPassage],
    valid: Sequence[LabeledPassage],
    bf16: bool,
    max_per_source: int | None = 8000,
    notes_repeat: int = 1,
    seed: int = 0,
    max_source_drop: float = 0.02,
    source_repeat: dict[str, int] | None = None,
) -> dict[str, dict]:
    """Refit every head of ``model`` in place where that raises its validation score.

    Args:
        model: The fine-tuned model (its best epoch).
        tokenize: Its tokenizer (pairs or windows).
        train: Training passages (the vectors the heads are refitted on).
        valid: Validation passages (choose the penalty; keep or reject the refit).
        bf16: Encode with bf16 autocast where supported (as inference does).
        max_per_source: Most training passages per corpus (a seeded sample).
        notes_repeat: Weight of note passages (as in fine-tuning).
        seed: Sampling and solver seed.
        max_source_drop: A refit that lowers any one corpus's validation macro-F1 by more than
            this is rejected, even if the mean rises (one corpus must not pay for another).
        source_repeat: Weights of further corpora (as in fine-tuning).

    Returns:
        head -> {"before", "after", "penalty", "kept", "by_source": {source: [before, after]}}
        (validation figures of the kept layer), for the manifest.
    """
    model.eval()
    sample, repeats = _training_sample(train, max_per_source, notes_repeat, seed, source_repeat)
    train_vectors = _vectors(model, tokenize, sample, bf16)
    valid_vectors = _vectors(model, tokenize, valid, bf16)
    report: dict[str, dict] = {}
    for name, layer in model.heads.items():
        head = HEAD_BY_NAME[name]
        rows = [i for i, p in enumerate(sample) if name in p.labels]
        labels = np.array([sample[i].labels[name] for i in rows])
        valid_rows = [i for i, p in enumerate(valid) if name in p.labels]
        if len(set(labels.tolist())) < len(head.classes) or not valid_rows:
            continue  # a class never seen in training: a refit could never predict it
        scored = [valid[i] for i in valid_rows]
        before, sources_before = _score(
            name, _layer_logits(layer, valid_vectors[valid_rows]), scored
        )
        best = (before, sources_before, None, None, None)
        for penalty in PENALTIES:
            weight, bias = _fit(train_vectors[rows], labels, repeats[rows], penalty, seed)
            after, sources_after = _score(name, valid_vectors[valid_rows] @ weight.T + bias, scored)
            worst_drop = max(sources_before[k] - sources_after[k] for k in sources_before)
            if after > best[0] and worst_drop <= max_source_drop:
                best = (after, sources_after, penalty, weight, bias)
        after, sources_after, penalty, weight, bias = best
        kept = weight is not None
        if kept:
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(weight, dtype=layer.weight.dtype))
                layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype))
        report[name] = {
            "before": round(before, 4),
            "after": round(after, 4),
            "penalty": penalty,
            "kept": kept,
            "by_source": {k: [v, sources_after[k]] for k, v in sources_before.items()},
        }
    return report
