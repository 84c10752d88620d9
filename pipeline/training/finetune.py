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
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from pipeline.config import TrainConfig
from pipeline.model.engine import predict_pairs
from pipeline.model.heads import HEAD_BY_NAME
from pipeline.model.network import MultiTaskModel, PairTokenizer, masked_loss
from pipeline.model.windows import WindowTokenizer, batch_units, collate_windows
from pipeline.training.evaluate import macro_f1_by_head
from pipeline.training.records import LabeledPassage, scorer_inputs


@dataclass
class History:
    """What happened during training (kept in the manifest)."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = float("-inf")
    stopped_early: bool = False
    epochs_planned: int = 0
    wall_time_s: float = 0.0
    samples_seen: int = 0


def epochs_within_budget(ceiling: int, budget_s: float | None, first_epoch_s: float) -> int:
    """How many epochs fit a wall-time budget, the first (already run, ``first_epoch_s``
    long, validation included) among them: at least 1, at most ``ceiling``."""
    if budget_s is None or first_epoch_s <= 0:
        return ceiling
    more = int((budget_s - first_epoch_s) // first_epoch_s)
    return max(1, min(ceiling, 1 + max(0, more)))


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
    source_repeat: dict[str, int] | None = None,
) -> list[LabeledPassage]:
    """This epoch's passages: each corpus capped at ``max_per_source`` (a fresh sample), note
    passages repeated ``notes_repeat`` times and any corpus in ``source_repeat`` as often as it
    says (``configs/train.yaml`` sets all three)."""
    repeats = {"notes": notes_repeat, **(source_repeat or {})}
    by_source: dict[str, list[LabeledPassage]] = defaultdict(list)
    for passage in passages:
        by_source[passage.source].append(passage)
    chosen: list[LabeledPassage] = []
    for source, items in sorted(by_source.items()):
        if max_per_source and len(items) > max_per_source and source != "notes":
            items = rng.sample(items, max_per_source)
        chosen += items * repeats.get(source, 1)
    return chosen


def restrict_sources(
    passages: Sequence[LabeledPassage], head_sources: dict[str, list[str]]
) -> list[LabeledPassage]:
    """Passages whose labels keep, for each head of ``head_sources``, only the listed sources'
    labels (copies; a passage left with no label is dropped). Used on the train and validation
    splits alike, so a head is trained and selected on the sources it is meant to learn."""
    if not head_sources:
        return list(passages)
    out = []
    for passage in passages:
        labels = {
            head: value
            for head, value in passage.labels.items()
            if head not in head_sources or passage.source in head_sources[head]
        }
        if labels:
            out.append(replace(passage, labels=labels))
    return out


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


class EpochBatches(Sequence):
    """One epoch's batches, each tokenised or collated only when it is read: its length (the
    scheduler's step count) costs no tokenising. Items are (model inputs, owner row per
    position or None, the passages whose labels the batch's outputs meet, in output order)."""

    def __init__(self, plans: list, make):
        self._plans = plans
        self._make = make

    def __len__(self) -> int:
        return len(self._plans)

    def __getitem__(self, index):
        return self._make(self._plans[index])


def training_batches(
    tokenize: PairTokenizer | WindowTokenizer,
    passages: Sequence[LabeledPassage],
    config: TrainConfig,
    rng: random.Random,
    position: dict[int, int] | None = None,
) -> EpochBatches:
    """One epoch's batches (:class:`EpochBatches`).

    Pairs: :func:`bucketed_batches` of ``batch_size`` rows. Windows: the passages are put back
    in reading order (each repeat of a corpus as its own pass), packed exactly as inference
    packs them (:meth:`WindowTokenizer.pack`), and whole units of windows
    (:func:`batch_units`) are batched under ``batch_size * max_length`` padded tokens.
    ``position`` maps ``id(passage)`` to its place in the training set (reading order).
    """
    if not isinstance(tokenize, WindowTokenizer):
        return EpochBatches(
            bucketed_batches(passages, config.batch_size, rng),
            lambda batch: (
                tokenize([p.text for p in batch], [p.context for p in batch]),
                None,
                list(batch),
            ),
        )
    ordered = reading_order(passages, position)
    packed, per_doc = tokenize.pack(*scorer_inputs(ordered))
    units = batch_units(packed, per_doc)
    rng.shuffle(units)
    budget = config.batch_size * config.max_length
    batches: list[list[int]] = []
    window = 50 * max(1, budget // tokenize.window_tokens)
    for begin in range(0, len(units), window):
        chunk = sorted(units[begin : begin + window], key=lambda u: int(packed.lengths[u].max()))
        current: list[int] = []
        for unit in chunk:
            widest = int(packed.lengths[current + unit].max())
            if current and (len(current) + len(unit)) * widest > budget:
                batches.append(current)
                current = []
            current = current + unit
        if current:
            batches.append(current)
    rng.shuffle(batches)

    def make(windows: list[int]):
        inputs, owners = collate_windows(packed, np.asarray(windows))
        rows = torch.unique(owners[owners >= 0]).tolist()
        return inputs, owners, [ordered[r] for r in rows]

    return EpochBatches(batches, make)


def reading_order(
    passages: Sequence[LabeledPassage], position: dict[int, int] | None = None
) -> list[LabeledPassage]:
    """An epoch sample back in reading order: the k-th copy of a passage (a repeated corpus)
    goes in the k-th pass, each pass in ``position`` order (default: the order first given)."""
    if position is None:  # each passage's first place in the sample
        position = {id(p): i for i, p in reversed(list(enumerate(passages)))}
    seen: dict[int, int] = defaultdict(int)
    keys = []
    for passage in passages:
        key = id(passage)
        keys.append((seen[key], position[key]))
        seen[key] += 1
    return [p for _, p in sorted(zip(keys, passages), key=lambda item: item[0])]


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
    tokenize: PairTokenizer | WindowTokenizer,
    passages: Sequence[LabeledPassage],
    bf16: bool,
    batch_size: int = 64,
) -> dict[str, dict[str, float]]:
    """Per-head macro-F1 (overall and per source) on labeled passages."""
    texts, contexts, speakers, groups = scorer_inputs(passages)
    probabilities = predict_pairs(
        model, tokenize, texts, contexts, batch_size, bf16, speakers=speakers, groups=groups
    )
    return macro_f1_by_head(
        probabilities, [p.labels for p in passages], [p.source for p in passages]
    )


def _plan_budget(
    history: History, config: TrainConfig, budget_s: float, first_epoch_s: float, console
) -> None:
    """Cut the planned epochs to those that fit ``budget_s``, saying so when it binds."""
    history.epochs_planned = epochs_within_budget(config.epochs, budget_s, first_epoch_s)
    if history.epochs_planned < config.epochs:
        console.print(
            f"time budget {budget_s / 60:.0f} min: the first epoch took "
            f"{first_epoch_s / 60:.1f} min, so {history.epochs_planned} of {config.epochs} "
            "epochs fit; the learning rate now decays to zero at the end of the last of them"
        )


def _targets(batch: Sequence[LabeledPassage], heads) -> dict[str, torch.Tensor]:
    return {name: torch.tensor([p.labels.get(name, -1) for p in batch]) for name in heads}


def finetune(
    model: MultiTaskModel,
    tokenize: PairTokenizer | WindowTokenizer,
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
        return epoch_sample(
            train, config.max_per_source_per_epoch, config.notes_repeat, rng, config.source_repeat
        )

    position = {id(p): i for i, p in enumerate(train)}
    steps_per_epoch = len(
        training_batches(tokenize, sample(random.Random(0)), config, random.Random(0), position)
    )
    # The schedule decays to zero at the end of the last planned epoch; a time budget may
    # shorten the plan after the first epoch (``plan`` is read at every step).
    plan = {"total": steps_per_epoch * config.epochs}
    warmup = max(1, int(plan["total"] * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / warmup, max(0.0, (plan["total"] - step) / max(1, plan["total"] - warmup))
        ),
    )
    history = History(epochs_planned=config.epochs)
    budget_s = None if config.time_budget_minutes is None else config.time_budget_minutes * 60
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
            if epoch >= history.epochs_planned:
                break
            model.train()
            batches = training_batches(tokenize, sample(rng), config, rng, position)
            task = progress.add_task(
                f"epoch {epoch + 1}/{config.epochs}", total=len(batches), loss=0.0
            )
            running = []
            for encoded, owners, batch in batches:
                encoded = {k: v.to(device) for k, v in encoded.items()}
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    if owners is None:
                        logits = model(**encoded)
                    else:  # window encoding: each passage pooled over its own tokens
                        _, pooled = model.pool_windows(encoded, owners.to(device))
                        logits = model(None, None, pooled=pooled)
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
                running.append(float(loss.detach()))
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
            if epoch == 0 and budget_s is not None:
                _plan_budget(history, config, budget_s, time.perf_counter() - started, console)
                plan["total"] = steps_per_epoch * history.epochs_planned
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
