"""Fine-tuning loop for the multi-task passage transformer (LoRA + heads).

Seeded; per-epoch resampling that caps large corpora and repeats the note passages; length-
bucketed batches with dynamic padding; bf16 autocast where supported; linear warm-up and
decay; validation after every epoch with early stopping on the mean per-source macro-F1.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from pipeline.config import TrainConfig
from pipeline.model.engine import predict_pairs
from pipeline.model.heads import HEAD_BY_NAME
from pipeline.model.network import MultiTaskModel, PairTokenizer, masked_loss
from pipeline.training.evaluate import macro_f1_by_head
from pipeline.training.records import LabeledPassage


@dataclass
class History:
    """What happened during training (kept in the manifest)."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = float("-inf")
    stopped_early: bool = False
    wall_time_s: float = 0.0
    samples_seen: int = 0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(
    passages: Sequence[LabeledPassage], heads: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Square-root balanced class weights per head (rare classes count more, not too much)."""
    weights = {}
    for name in heads:
        n_classes = len(HEAD_BY_NAME[name].classes)
        counts = np.bincount(
            [p.labels[name] for p in passages if name in p.labels], minlength=n_classes
        ).astype(float)
        if counts.sum() == 0:
            continue
        balanced = counts.sum() / (n_classes * np.maximum(counts, 1))
        weights[name] = torch.tensor(np.sqrt(balanced), dtype=torch.float32)
    return weights


def epoch_sample(
    passages: Sequence[LabeledPassage],
    max_per_source: int | None,
    notes_repeat: int,
    rng: random.Random,
) -> list[LabeledPassage]:
    """This epoch's passages: each corpus capped at ``max_per_source`` (a fresh sample), note
    passages repeated ``notes_repeat`` times (``configs/train.yaml`` sets both)."""
    by_source: dict[str, list[LabeledPassage]] = defaultdict(list)
    for passage in passages:
        by_source[passage.source].append(passage)
    chosen: list[LabeledPassage] = []
    for source, items in sorted(by_source.items()):
        if source == "notes":
            chosen += items * notes_repeat
        elif max_per_source and len(items) > max_per_source:
            chosen += rng.sample(items, max_per_source)
        else:
            chosen += items
    return chosen


def bucketed_batches(
    items: Sequence[LabeledPassage], batch_size: int, rng: random.Random
) -> list[list[LabeledPassage]]:
    """Shuffle, sort by length inside windows of 50 batches, then shuffle the batches:
    little padding, still random order."""
    items = list(items)
    rng.shuffle(items)
    window = batch_size * 50
    batches = []
    for begin in range(0, len(items), window):
        chunk = sorted(items[begin : begin + window], key=lambda p: len(p.text) + len(p.context))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def source_scores(entry: dict[str, float]) -> dict[str, float]:
    """A head's per-source macro-F1 out of its :func:`macro_f1_by_head` entry."""
    return {k: v for k, v in entry.items() if k not in {"all", "n"}}


def head_score(entry: dict[str, float]) -> float | None:
    """One head's mean per-source macro-F1 (each corpus counts, big or small); None if none."""
    sources = list(source_scores(entry).values())
    return float(np.mean(sources)) if sources else None


def validation_score(metrics: dict[str, dict[str, float]]) -> float:
    """Mean over heads of :func:`head_score`."""
    per_head = [s for s in map(head_score, metrics.values()) if s is not None]
    return float(np.mean(per_head)) if per_head else 0.0


def evaluate_model(
    model: MultiTaskModel,
    tokenize: PairTokenizer,
    passages: Sequence[LabeledPassage],
    bf16: bool,
    batch_size: int = 64,
) -> dict[str, dict[str, float]]:
    """Per-head macro-F1 (overall and per source) on labeled passages."""
    probabilities = predict_pairs(
        model, tokenize, [p.text for p in passages], [p.context for p in passages], batch_size, bf16
    )
    return macro_f1_by_head(
        probabilities, [p.labels for p in passages], [p.source for p in passages]
    )


def _targets(batch: Sequence[LabeledPassage], heads) -> dict[str, torch.Tensor]:
    return {name: torch.tensor([p.labels.get(name, -1) for p in batch]) for name in heads}


def finetune(
    model: MultiTaskModel,
    tokenize: PairTokenizer,
    train: Sequence[LabeledPassage],
    valid: Sequence[LabeledPassage],
    config: TrainConfig,
    bf16: bool,
    console: Console | None = None,
) -> History:
    """Train ``model`` in place; on return it holds the best validation epoch's weights."""
    console = console or Console(stderr=True)
    seed_everything(config.seed)
    rng = random.Random(config.seed)
    device = next(model.parameters()).device
    weights = {k: v.to(device) for k, v in class_weights(train, list(model.heads)).items()}
    lora = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
    heads = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n]
    optimizer = torch.optim.AdamW(
        [
            {"params": lora, "lr": config.learning_rate},
            {"params": heads, "lr": config.head_learning_rate},
        ],
        weight_decay=config.weight_decay,
    )

    def sample(rng: random.Random) -> list[LabeledPassage]:
        return epoch_sample(train, config.max_per_source_per_epoch, config.notes_repeat, rng)

    steps_per_epoch = -(-len(sample(random.Random(0))) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup))
        ),
    )
    history = History()
    best_state = model.trainable_state()
    started = time.perf_counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]:.3f}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        for epoch in range(config.epochs):
            model.train()
            batches = bucketed_batches(sample(rng), config.batch_size, rng)
            task = progress.add_task(
                f"epoch {epoch + 1}/{config.epochs}", total=len(batches), loss=0.0
            )
            running = []
            for batch in batches:
                encoded = tokenize([p.text for p in batch], [p.context for p in batch]).to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    logits = model(**encoded)
                loss = masked_loss(
                    logits,
                    {k: v.to(device) for k, v in _targets(batch, model.heads).items()},
                    weights,
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(lora + heads, 1.0)
                optimizer.step()
                scheduler.step()
                history.samples_seen += len(batch)
                running.append(float(loss))
                progress.update(task, advance=1, loss=float(np.mean(running[-50:])))
                if not console.is_terminal and len(running) % max(1, len(batches) // 10) == 0:
                    # Logs and CI have no live bar: report every tenth of an epoch instead.
                    console.print(
                        f"epoch {epoch + 1}: {len(running)}/{len(batches)} batches, "
                        f"loss {np.mean(running[-50:]):.3f}, "
                        f"{time.perf_counter() - started:.0f} s"
                    )
            metrics = evaluate_model(model, tokenize, valid, bf16)
            score = validation_score(metrics)
            history.epochs.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": round(float(np.mean(running)), 4),
                    "validation_score": round(score, 4),
                }
            )
            console.print(
                f"epoch {epoch + 1}: train loss {np.mean(running):.3f}, "
                f"validation score {score:.4f}"
            )
            if score > history.best_score:
                history.best_score, history.best_epoch = score, epoch + 1
                best_state = model.trainable_state()
            elif epoch + 1 - history.best_epoch > config.patience:
                history.stopped_early = True
                break
    model.load_state_dict(best_state, strict=False)
    model.eval()
    history.wall_time_s = round(time.perf_counter() - started, 1)
    return history
