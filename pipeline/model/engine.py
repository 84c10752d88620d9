"""Inference engine for the passage model: tokenise once, bucket by token count, run merged
weights in bf16 where the hardware has it, and (on CUDA) prepare the next batch while the
model runs the current one.

The engine owns inference; the network (:mod:`pipeline.model.network`) owns only the network.
The batching stages (tokenise, pack, pad, prefetch) are in :mod:`pipeline.model.batches`; here:

* :func:`inference_copy` is the model with each LoRA update folded into its base weight
  (``W + scale * B @ A``): the same function with two fewer matrix products per layer;
* :func:`pack_feed_forward` makes the copy's feed-forward blocks skip padding, and in the last
  layer the context tokens, whose outputs are never read; on CPU the copy also uses plain
  matmul attention (:func:`use_matmul_attention`).

:class:`PassageEngine` ties them together. A row's result does not depend on which rows share
its batch: every row is tokenised as a pair (an empty context is an empty second segment) and
padding is masked, so any batching returns the same numbers up to floating-point rounding.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from pipeline.model.batches import (
    CPU_MAX_TOKENS,
    CUDA_MAX_ROWS,
    CUDA_MAX_TOKENS,
    CUDA_PREFETCH,
    CUDA_WINDOW,
    collate,
    encode_pairs,
    plan_batches,
    prefetch,
)
from pipeline.model.heads import HEAD_BY_NAME
from pipeline.model.network import LoRALinear, MultiTaskModel, PairTokenizer
from pipeline.model.windows import WindowTokenizer, collate_windows, pool_owned


def inference_copy(model: MultiTaskModel, bf16: bool = False) -> MultiTaskModel:
    """A frozen eval-mode copy with LoRA folded into the base weights (the model is untouched,
    so it can still be trained or saved). With ``bf16`` the encoder's linear weights are
    stored in bf16, which autocast would otherwise cast again on every call."""
    merged = copy.deepcopy(model).eval()
    for name, module in list(merged.encoder.named_modules()):
        if isinstance(module, LoRALinear):
            base = module.base
            with torch.no_grad():
                update = (module.lora_b.float() @ module.lora_a.float()) * module.scale
                base.weight.copy_((base.weight.float() + update).to(base.weight.dtype))
            parent, _, child = name.rpartition(".")
            setattr(merged.encoder.get_submodule(parent) if parent else merged.encoder, child, base)
    if bf16:
        for module in merged.encoder.modules():
            if isinstance(module, nn.Linear):
                module.to(torch.bfloat16)
    for parameter in merged.parameters():
        parameter.requires_grad_(False)
    return merged


class TokenSelection(threading.local):
    """Per batch, the tokens whose feed-forward output is read, as flat positions in
    (batch x length): ``real`` (not padding) in every layer, ``pooled`` (the passage's real
    tokens) in the last one. Computed on the host, so indexing never waits for the GPU.
    Thread-local: parallel CPU workers each run their own batch."""

    real: torch.Tensor | None = None
    pooled: torch.Tensor | None = None
    shape: tuple[int, int] | None = None


def token_positions(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Flat positions of the real tokens and of the passage's (first segment's) real tokens."""
    real = inputs["attention_mask"].bool()
    passage = real & (inputs["token_type_ids"] == 0) if "token_type_ids" in inputs else real
    return {
        "real": torch.nonzero(real.flatten()).flatten(),
        "pooled": torch.nonzero(passage.flatten()).flatten(),
    }


class _PackedFeedForward:
    """A BERT-style layer's feed-forward block on the selected tokens only, packed without
    padding; other positions get zeros. Nothing reads them: padding is masked out of
    attention, and the last layer's context tokens are not pooled. The block is two thirds of
    a layer's arithmetic, so this skips the padding everywhere and the context at the end."""

    def __init__(self, layer: nn.Module, selection: TokenSelection, last: bool):
        self.layer = layer
        self.selection = selection
        self.last = last

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        keep = self.selection.pooled if self.last else self.selection.real
        if keep is None or tuple(hidden.shape[:-1]) != self.selection.shape:  # the plain block
            return self.layer.output(self.layer.intermediate(hidden), hidden)
        flat = hidden.reshape(-1, hidden.shape[-1])
        tokens = flat.index_select(0, keep)
        packed = self.layer.output(self.layer.intermediate(tokens), tokens)
        out = packed.new_zeros((flat.shape[0], packed.shape[-1]))
        return out.index_copy_(0, keep, packed).view(*hidden.shape[:-1], packed.shape[-1])


def pack_feed_forward(model: MultiTaskModel) -> TokenSelection | None:
    """Route each encoder layer's feed-forward block through :class:`_PackedFeedForward`
    (an inference copy only). Returns the selection to set per batch, or None when the
    encoder is not laid out like BERT (its layers then run unchanged)."""
    encoder = model.encoder
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not layers or getattr(encoder.config, "chunk_size_feed_forward", 0):
        return None
    needed = ("feed_forward_chunk", "intermediate", "output")
    if not all(all(hasattr(layer, name) for name in needed) for layer in layers):
        return None
    selection = TokenSelection()
    for i, layer in enumerate(layers):
        # An instance attribute shadows the method that BertLayer.forward calls.
        layer.feed_forward_chunk = _PackedFeedForward(layer, selection, i == len(layers) - 1)
    return selection


def use_matmul_attention(model: MultiTaskModel) -> bool:
    """Switch the copy's encoder to plain matmul ("eager") attention; True when it took.

    On CPU, for pairs of a few dozen tokens, PyTorch's fused SDPA kernel was slower than two
    bf16 matrix products and a softmax (1.18x end to end with 2 threads, same accuracy); on
    CUDA the fused kernels win, so the engine does this only on CPU.
    """
    setter = getattr(model.encoder, "set_attn_implementation", None)
    if setter is None:
        return False
    try:
        setter("eager")
    except (ValueError, ImportError):  # an encoder class without that implementation
        return False
    return True


def _fingerprint(model: nn.Module) -> tuple:
    # In-place updates (optimiser steps, load_state_dict) bump a tensor's version counter.
    return tuple((id(p), p._version) for p in model.parameters())


def _head_probabilities(model: MultiTaskModel, pooled: torch.Tensor) -> torch.Tensor:
    """(batch, sum of classes) probabilities of every head, in ``model.heads`` order."""
    parts = []
    for name, layer in model.heads.items():
        logits = layer(pooled.to(layer.weight.dtype)).float()
        if HEAD_BY_NAME[name].binary:
            positive = torch.sigmoid(logits)
            parts.append(torch.cat([1 - positive, positive], dim=-1))
        else:
            parts.append(torch.softmax(logits, dim=-1))
    return torch.cat(parts, dim=-1)


def passage_mean(
    states: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None
) -> torch.Tensor:
    """Mean of the passage's (first segment's) real token states, in fp32: a bf16 sum over
    tokens would lose precision."""
    mask = attention_mask.bool()
    if token_type_ids is not None:
        mask = mask & (token_type_ids == 0)
    mask = mask.unsqueeze(-1).float()
    return (states.float() * mask).sum(1) / mask.sum(1).clamp(min=1)


def split_table(
    table: np.ndarray, heads: Sequence[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(rows, head classes + hidden) -> (head -> float64 probabilities, float32 vectors)."""
    out, column = {}, 0
    for name in heads:
        width = len(HEAD_BY_NAME[name].classes)
        out[name] = table[:, column : column + width].astype(np.float64)
        column += width
    return out, np.ascontiguousarray(table[:, column:])


class PassageEngine:
    """Head probabilities (and pooled vectors) for (passage, context) pairs.

    Args:
        model: The fine-tuned model; inference runs on a merged copy, refreshed when the
            model's weights change.
        tokenize: Its pair tokenizer.
        batch_size: Most rows per batch on CPU (default 64); on CUDA at least 4,096, the
            token budget deciding.
        max_tokens: Most padded tokens per batch (None: 4,096 on CPU, 65,536 on CUDA).
        bf16: bf16 weights and autocast (the caller checks the hardware supports it).
        prefetch: Batches prepared ahead by a background thread (None: 8 on CUDA, else 0).
        window: Rows tokenised and bucketed together (None: all on CPU, 4,096 on CUDA so
            tokenisation of the next window overlaps the model).
        cpu_workers: Batches run in parallel on CPU, each on one torch thread (None: as many
            as torch has threads, set by ``encoder.threads``; 1: one stream on all threads).
    """

    def __init__(
        self,
        model: MultiTaskModel,
        tokenize: PairTokenizer | WindowTokenizer,
        batch_size: int | None = None,
        max_tokens: int | None = None,
        bf16: bool = False,
        prefetch: int | None = None,
        window: int | None = None,
        cpu_workers: int | None = None,
    ):
        self.model = model
        self.tokenize = tokenize
        self.device = next(model.parameters()).device
        cuda = self.device.type == "cuda"
        # On CUDA the token budget sizes batches; a CPU-sized row cap would starve the GPU.
        self.batch_size = max(batch_size or 0, CUDA_MAX_ROWS) if cuda else (batch_size or 64)
        self.max_tokens = max_tokens or (CUDA_MAX_TOKENS if cuda else CPU_MAX_TOKENS)
        self.bf16 = bf16
        self.prefetch = (CUDA_PREFETCH if cuda else 0) if prefetch is None else prefetch
        self.window = (CUDA_WINDOW if cuda else None) if window is None else window
        self.cpu_workers = cpu_workers
        self._copy: MultiTaskModel | None = None
        self._copy_of: tuple | None = None
        self._selection: TokenSelection | None = None

    @property
    def inference_model(self) -> MultiTaskModel:
        """The merged copy, rebuilt only when the source model's weights changed."""
        stamp = _fingerprint(self.model)
        if self._copy is None or stamp != self._copy_of:
            self._copy = inference_copy(self.model, self.bf16)
            self._selection = pack_feed_forward(self._copy)
            if self.device.type == "cpu":
                use_matmul_attention(self._copy)
            self._copy_of = stamp
        return self._copy

    @property
    def windowed(self) -> bool:
        """True for a window-encoding model (:mod:`pipeline.model.windows`)."""
        return isinstance(self.tokenize, WindowTokenizer)

    def window_batches(
        self,
        texts: Sequence[str],
        contexts: Sequence[str],
        speakers: Sequence[str] | None,
        groups: Sequence[str] | None,
    ) -> Iterator[tuple[None, dict, dict, torch.Tensor]]:
        """(None, model inputs, token positions, owner row per position) per batch of windows,
        bucketed by window length. Every document is packed first (packing is cheap next to
        the model); the rows come from the owners."""
        pad_id = self.tokenize.tokenizer.pad_token_id or 0
        pin = self.device.type == "cuda"
        packed, _ = self.tokenize.pack(texts, contexts, speakers, groups)
        for windows in plan_batches(packed.lengths, self.batch_size, self.max_tokens):
            inputs, owners = collate_windows(packed, windows, pad_id, pin)
            positions = {
                "real": torch.nonzero(inputs["attention_mask"].flatten()).flatten(),
                "pooled": torch.nonzero(owners.flatten() >= 0).flatten(),
            }
            if pin:
                positions = {k: v.pin_memory() for k, v in positions.items()}
            yield None, inputs, positions, owners

    def batches(
        self, texts: Sequence[str], contexts: Sequence[str]
    ) -> Iterator[tuple[np.ndarray, dict[str, torch.Tensor], dict[str, torch.Tensor], None]]:
        """(input rows, model inputs, token positions, None) per batch, as host tensors:
        tokenised window by window and bucketed by token count."""
        pad_id = self.tokenize.tokenizer.pad_token_id or 0
        pin = self.device.type == "cuda"
        window = self.window or max(len(texts), 1)
        for begin in range(0, len(texts), window):
            end = min(begin + window, len(texts))
            encoded = encode_pairs(self.tokenize, texts[begin:end], contexts[begin:end])
            for rows in plan_batches(encoded.lengths, self.batch_size, self.max_tokens):
                inputs = collate(encoded, rows, pad_id, pin)
                positions = token_positions(inputs)
                if pin:
                    positions = {k: v.pin_memory() for k, v in positions.items()}
                yield rows + begin, inputs, positions, None

    def workers(self) -> int:
        """Parallel CPU streams: one per torch thread (CUDA: one)."""
        if self.device.type != "cpu":
            return 1
        return self.cpu_workers or torch.get_num_threads()

    def predict(
        self,
        texts: Sequence[str],
        contexts: Sequence[str],
        with_vectors: bool = False,
        speakers: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
    ):
        """Probabilities per head in input order, like :func:`predict_pairs`.

        Args:
            speakers, groups: Each row's speaker and session (window encoding reads them;
                see :func:`pipeline.model.windows.documents`); the pair model ignores them.

        Returns:
            head -> (n, n_classes) float64 probabilities; with ``with_vectors`` also the
            (n, hidden) float32 pooled passage vectors, as ``(probabilities, vectors)``.
        """
        if len(texts) != len(contexts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        model = self.inference_model
        hidden = model.encoder.config.hidden_size
        widths = [len(HEAD_BY_NAME[name].classes) for name in model.heads]
        if self.windowed:
            batches = self.window_batches(texts, contexts, speakers, groups)
        else:
            batches = self.batches(texts, contexts)
        workers = self.workers()
        if workers > 1:
            parts = self._run_parallel(model, batches, workers)
        else:
            with torch.inference_mode():
                parts = [
                    self._forward(model, *item[1:], rows=item[0])
                    for item in prefetch(batches, self.prefetch)
                ]
        if self.windowed:
            table = self._pooled_windows(model, parts, len(texts), hidden)
        else:
            table = np.zeros((len(texts), sum(widths) + hidden), dtype=np.float32)
            if parts:
                rows = np.concatenate([rows for rows, _ in parts])
                table[rows] = torch.cat([result for _, result in parts]).cpu().numpy()
        out, vectors = split_table(table, list(model.heads))
        return (out, vectors) if with_vectors else out

    @staticmethod
    def _pooled_windows(model: MultiTaskModel, parts: list, n: int, hidden: int) -> np.ndarray:
        """Sum each row's token-state sums and counts over its windows' batches, divide, and
        run the heads on the means: (n, classes + hidden) like the pair path's table."""
        sums = np.zeros((n, hidden + 1), dtype=np.float64)
        for rows, result in parts:
            np.add.at(sums, rows.cpu().numpy(), result.cpu().double().numpy())
        pooled = (sums[:, :hidden] / np.maximum(sums[:, hidden:], 1)).astype(np.float32)
        with torch.inference_mode():
            vectors = torch.from_numpy(pooled)
            heads = _head_probabilities(model, vectors.to(next(model.heads.parameters()).device))
        return np.hstack([heads.cpu().numpy(), pooled])

    def _forward(
        self,
        model: MultiTaskModel,
        inputs: dict[str, torch.Tensor],
        positions: dict[str, torch.Tensor],
        owners: torch.Tensor | None = None,
        rows: np.ndarray | None = None,
    ) -> tuple:
        """One batch's (rows, result), the result left on the device so nothing waits for it
        until the end of the call. Pairs: the batch's rows, and per row the head
        probabilities then the pooled vector (classes + hidden). Windows: the owner rows, and
        per row the sum of its token states then their count (hidden + 1)."""
        inputs = {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
        selection = self._selection
        if selection is not None:
            selection.real = positions["real"].to(self.device, non_blocking=True)
            selection.pooled = positions["pooled"].to(self.device, non_blocking=True)
            selection.shape = tuple(inputs["input_ids"].shape)
        try:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                states = model.encoder(**inputs).last_hidden_state
        finally:
            if selection is not None:  # positions belong to this batch only
                selection.real = selection.pooled = selection.shape = None
        if owners is not None:
            owned, sums, counts = pool_owned(states, owners.to(self.device, non_blocking=True))
            return owned, torch.cat([sums, counts.unsqueeze(-1)], dim=-1)
        pooled = passage_mean(states, inputs["attention_mask"], inputs.get("token_type_ids"))
        return rows, torch.cat([_head_probabilities(model, pooled), pooled], dim=-1)

    def _run_parallel(self, model: MultiTaskModel, batches: Iterator, workers: int) -> list:
        """Batches spread over ``workers`` threads of one torch thread each.

        Small ops (layer norm, GELU, softmax, short attention) scale badly across OpenMP
        threads, and a 2-thread op stalls whenever another process holds one core; separate
        single-threaded streams keep every core busy (1.2x on 2 cores) and degrade gently.
        """
        lock = threading.Lock()
        parts: list = []
        errors: list[BaseException] = []
        previous = torch.get_num_threads()

        def work() -> None:
            torch.set_num_threads(1)
            try:
                with torch.inference_mode():
                    while not errors:
                        with lock:  # the batch generator is not thread-safe
                            item = next(batches, None)
                        if item is None:
                            return
                        parts.append(self._forward(model, *item[1:], rows=item[0]))
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                errors.append(error)

        threads = [
            threading.Thread(target=work, name=f"alliance-engine-{k}", daemon=True)
            for k in range(workers)
        ]
        try:
            for thread in threads:
                thread.start()
        finally:
            for thread in threads:
                if thread.is_alive():
                    thread.join()
            torch.set_num_threads(previous)
        if errors:
            raise errors[0]
        return parts


def predict_pairs(
    model: MultiTaskModel,
    tokenize: PairTokenizer | WindowTokenizer,
    texts: Sequence[str],
    contexts: Sequence[str],
    batch_size: int = 64,
    bf16: bool = False,
    with_vectors: bool = False,
    max_tokens: int | None = None,
    speakers: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
):
    """Head probabilities for (passage, context) pairs (a one-off :class:`PassageEngine`).

    A scorer that predicts many times keeps a :class:`PassageEngine` instead,
    so the merged inference copy of the model is built once.

    Args:
        batch_size: Most rows per batch.
        bf16: bf16 weights and autocast (only where the hardware supports it).
        max_tokens: Most padded tokens per batch (None: the device's default).
        speakers, groups: As for :meth:`PassageEngine.predict`.

    Returns:
        head -> (n, n_classes) probabilities in input order; with ``with_vectors`` also the
        (n, hidden) pooled passage vectors, as ``(probabilities, vectors)``.
    """
    engine = PassageEngine(model, tokenize, batch_size, max_tokens=max_tokens, bf16=bf16)
    return engine.predict(texts, contexts, with_vectors, speakers, groups)
