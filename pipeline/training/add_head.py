"""Add a head to a fine-tuned model folder without fine-tuning again.

A new output (``style``, say) can be learned on the frozen representation the folder's
fine-tuned encoder already gives: a class-balanced logistic regression on the pooled passage
vectors of the passages that carry the head's label, folded back into one linear layer, the
same recipe as the decoupled head refit (:mod:`pipeline.training.head_refit`). Every other head,
the adapters and the session estimator stay exactly as they were, so a folder gains a head in
minutes on a CPU and its other outputs do not move.

Splits are the corpora's own (by conversation, note or post). The penalty is chosen on
validation; the test split is scored once, at the end, beside a TF-IDF + logistic-regression
baseline fitted on the same training rows, with group-bootstrap 95% intervals.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipeline.config import AllianceConfig
from pipeline.model.artifacts import write_manifest
from pipeline.model.folder import TransformerScorer, load_passage_model
from pipeline.model.heads import HEAD_BY_NAME, STYLE_HEAD
from pipeline.model.network import save_transformer
from pipeline.sessions.alliance_model import AllianceModel
from pipeline.training.data import NoteFiles, load_passages
from pipeline.training.evaluate import macro_f1, macro_f1_interval, tfidf_baseline
from pipeline.training.head_refit import (
    _fit,
    _score,
    _training_sample,
    _vectors,
    layer_probabilities,
)
from pipeline.training.labels import LabelsConfig, load_labels
from pipeline.training.model_card import write_model_card
from pipeline.training.records import LabeledPassage
from pipeline.training.registry import git_sha
from pipeline.training.structure import structure_checks

# A new head starts from nothing, so weaker penalties than a refit's are tried too (measured on
# style: validation score 0.712 at C = 0.01 with ESConv capped at 6,000; 0.728 at C = 0.0003
# uncapped).
ADD_HEAD_PENALTIES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.1)


def corpora_labeling(labels: LabelsConfig, head: str) -> list[str]:
    """The corpora whose ``labels.yaml`` rules give ``head`` a label (the others add nothing)."""
    return sorted(
        name
        for name in type(labels.corpora).model_fields
        if any(head in rule.then for rule in labels.corpus(name).rules)
    )


def _test_figures(
    name: str, predicted: dict[str, np.ndarray], test: Sequence[LabeledPassage], train
) -> dict:
    """Macro-F1 per source with a group-bootstrap 95% interval: the model, and a TF-IDF +
    logistic-regression baseline fitted on the same training rows (``train``)."""
    baseline = tfidf_baseline(
        [p.text for p in train], [{name: p.labels[name]} for p in train], [p.text for p in test]
    )
    figures: dict[str, dict] = {}
    by_source: dict[str, list[int]] = {}
    for row, passage in enumerate(test):
        by_source.setdefault(passage.source, []).append(row)
    for source, rows in sorted(by_source.items()) + [("all", list(range(len(test))))]:
        truth = [test[r].labels[name] for r in rows]
        groups = [test[r].group for r in rows]
        entry = {"n": len(rows), "groups": len(set(groups))}
        for label, table in (("model", predicted), ("tfidf", baseline)):
            guess = table[name][rows].argmax(1)
            entry[label] = macro_f1(np.asarray(truth), guess)
            entry[f"{label}_95"] = list(macro_f1_interval(truth, guess, groups))
        figures[source] = entry
    return figures


def add_head(
    model_dir: Path,
    out_dir: Path,
    head: str,
    config: AllianceConfig,
    data_dir: Path | None,
    notes: NoteFiles = None,
    version: str | None = None,
    max_per_source: int | None = None,
    notes_repeat: int = 12,
    seed: int = 0,
    penalties: Sequence[float] = ADD_HEAD_PENALTIES,
    replace: bool = False,
) -> dict:
    """Fit ``head`` on a fine-tuned folder's frozen encoder and write the result to ``out_dir``.

    With ``replace``, a head the folder has is refitted the same way (new labels, such as the
    strain hard negatives of the note sessions) and the report holds the old head's test
    figures beside the new one's.

    Args:
        model_dir: A ``transformer-multitask`` model folder.
        out_dir: Where the new folder goes (replaced if it exists; may not be ``model_dir``).
        head: A head of :mod:`pipeline.model.heads` that the folder lacks (or has, with
            ``replace``).
        config: Run config (the encoder, bf16).
        data_dir: Folder of the public corpora (read in place); None for notes alone.
        notes: Labeled note-passage files.
        version: The new folder's version (default: its folder name).
        max_per_source: Most training passages per corpus (a seeded sample).
        notes_repeat: Weight of note passages, as in fine-tuning.
        seed: Sampling and solver seed.
        penalties: Logistic-regression C values tried (the best on validation is kept).
        replace: Refit a head the folder already has.

    Returns:
        The head's report: penalty, validation score, test figures, counts, seconds.

    Raises:
        ValueError: Unknown head, a head the folder has, the wrong kind of folder, no labels,
            or ``out_dir`` equal to ``model_dir``.
    """
    start = time.perf_counter()
    if head not in HEAD_BY_NAME:
        raise ValueError(f"unknown head {head!r}; known: {sorted(HEAD_BY_NAME)}")
    if Path(out_dir).resolve() == Path(model_dir).resolve():
        raise ValueError("--out must be a new folder: the source model stays as it is")
    passage_model = load_passage_model(model_dir, config.encoder)
    scorer = passage_model.scorer
    if not isinstance(scorer, TransformerScorer):
        raise ValueError(f"{model_dir} is not a fine-tuned (transformer-multitask) model")
    model, tokenize = scorer.model, scorer.tokenize
    if head in model.heads and not replace:
        raise ValueError(f"{model_dir} already has a {head!r} head (refit it with --replace)")
    if head not in model.heads and replace:
        raise ValueError(f"{model_dir} has no {head!r} head to replace")
    labels = load_labels()
    splits = load_passages(data_dir, labels, corpora_labeling(labels, head), notes)
    train, valid, test = (
        [p for p in splits[name] if head in p.labels] for name in ("train", "validation", "test")
    )
    if not train or not valid or not test:
        raise ValueError(f"no {head!r} labels in one of the splits: give --data and/or --notes")
    bf16 = scorer.bf16
    sample, repeats = _training_sample(train, max_per_source, notes_repeat, seed)
    previous = None
    if replace:  # the old head's test figures, for the report
        old = model.heads[head]
        old_weight = old.weight.detach().float().cpu().numpy()
        old_bias = old.bias.detach().float().cpu().numpy()
        old_vectors = _vectors(model, tokenize, test, bf16)
        previous = _test_figures(
            head, layer_probabilities(head, old_vectors @ old_weight.T + old_bias), test, sample
        )
    train_vectors = _vectors(model, tokenize, sample, bf16)
    valid_vectors = _vectors(model, tokenize, valid, bf16)
    labels_array = np.array([p.labels[head] for p in sample])
    best = None
    for penalty in penalties:
        weight, bias = _fit(train_vectors, labels_array, repeats, penalty, seed)
        logits = valid_vectors @ weight.T + bias
        score, by_source = _score(head, logits, valid)
        if best is None or score > best[0]:
            best = (score, by_source, penalty, weight, bias)
    score, by_source, penalty, weight, bias = best
    layer = nn.Linear(model.encoder.config.hidden_size, weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    model.heads[head] = layer.to(next(model.parameters()).device)
    model.settings.heads[head] = list(HEAD_BY_NAME[head].classes)
    test_vectors = _vectors(model, tokenize, test, bf16)
    test_figures = _test_figures(
        head, layer_probabilities(head, test_vectors @ weight.T + bias), test, sample
    )
    report = {
        "recipe": (
            "class-balanced logistic regression on the frozen fine-tuned encoder's pooled "
            "passage vectors, penalty chosen on validation"
        ),
        "penalty": penalty,
        "validation_score": round(score, 4),
        "validation_by_source": by_source,
        "test": test_figures,
        **({"replaced_head_test": previous} if previous is not None else {}),
        "train_passages": _per_source(sample),
        "validation_passages": _per_source(valid),
        "test_passages": _per_source(test),
        "seconds": round(time.perf_counter() - start, 1),
    }
    metadata = _write_folder(
        Path(model_dir), Path(out_dir), model, passage_model.manifest, head, report, version
    )
    if head == STYLE_HEAD:  # the session-level check of what the head is for
        checks = structure_checks(
            AllianceModel.load(out_dir, config.encoder), splits["test"], ("test",), config, "test"
        )
        metadata["metrics"]["structure"] = {k: v for k, v in checks.items() if "spearman" in v}
        write_model_card(Path(out_dir), metadata)
        write_manifest(Path(out_dir), metadata)
        report["structure"] = metadata["metrics"]["structure"]
    return report


def _per_source(passages: Sequence[LabeledPassage]) -> dict[str, int]:
    return dict(sorted(Counter(p.source for p in passages).items()))


def _write_folder(
    model_dir: Path, out_dir: Path, model, manifest: dict, head: str, report: dict, version
) -> dict:
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.copytree(model_dir, out_dir)
    save_transformer(model, out_dir)
    metadata = {k: v for k, v in manifest.items() if k != "files"}
    metadata["parent"] = {"version": manifest.get("version"), "git_sha": manifest.get("git_sha")}
    metadata["version"] = version or out_dir.name
    metadata["git_sha"] = git_sha()
    # The comparison scored the parent's passage model; this folder's heads differ.
    metadata.pop("finetune_baseline", None)
    metadata.setdefault("added_heads", {})[head] = {**report, "added_to": manifest.get("version")}
    metadata.setdefault("metrics", {})
    write_model_card(out_dir, metadata)
    write_manifest(out_dir, metadata)
    return metadata
