"""Batching for the inference engine: tokenise once, pack rows by token count, pad, prefetch.

The stages are plain functions so each can be tested on its own, on CPU:

* :func:`encode_pairs` tokenises every (passage, context) pair in a few large calls of the
  fast tokenizer, without padding;
* :func:`plan_batches` sorts rows by token count and packs them under a row cap and a token
  budget (rows x padded length), so padding is small and a batch fills the device;
* :func:`collate` pads one batch into tensors (pinned host memory for CUDA);
* :func:`prefetch` runs any batch iterator in a background thread behind a bounded queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import torch

from pipeline.model.network import PairTokenizer
from pipeline.model.windows import ENCODE_CHUNK, padded_index

# CPU: a budget near 64 rows of typical pairs keeps activations in cache (bigger was slower).
CPU_MAX_TOKENS = 4096
# CUDA defaults: a batch is bounded by tokens (rows x padded length), not by a row count.
CUDA_MAX_TOKENS = 65536
CUDA_MAX_ROWS = 4096
CUDA_PREFETCH = 8
CUDA_WINDOW = 4096


@dataclass
class EncodedPairs:
    """Unpadded token ids of (passage, context) pairs, all rows end to end in flat arrays."""

    input_ids: np.ndarray  # (total tokens,)
    token_type_ids: np.ndarray | None  # same shape; None for tokenizers without segments
    lengths: np.ndarray  # (n,) tokens per row
    offsets: np.ndarray  # (n,) where each row starts

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_rows(
        cls, input_ids: list[list[int]], token_type_ids: list[list[int]] | None = None
    ) -> EncodedPairs:
        lengths = np.fromiter(map(len, input_ids), dtype=np.int64, count=len(input_ids))
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

        def flat(rows):
            return np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))

        types = flat(token_type_ids) if token_type_ids is not None else None
        return cls(flat(input_ids), types, lengths, offsets[: len(lengths)])


def encode_pairs(
    tokenize: PairTokenizer,
    texts: Sequence[str],
    contexts: Sequence[str],
    chunk: int = ENCODE_CHUNK,
) -> EncodedPairs:
    """Tokenise pairs in large calls of the fast tokenizer, without padding."""
    ids: list[list[int]] = []
    types: list[list[int]] | None = []
    for begin in range(0, len(texts), chunk):
        encoded = tokenize.encode(texts[begin : begin + chunk], contexts[begin : begin + chunk])
        ids += encoded["input_ids"]
        if types is not None and "token_type_ids" in encoded:
            types += encoded["token_type_ids"]
        else:
            types = None  # a tokenizer without segment ids (RoBERTa-style)
    return EncodedPairs.from_rows(ids, types)


def plan_batches(
    lengths: np.ndarray, max_rows: int, max_tokens: int | None = None
) -> list[np.ndarray]:
    """Row indices per batch: sorted by token count, packed under ``max_rows`` rows and
    ``max_tokens`` padded tokens (a longer single row still gets a batch of its own).

    Every row appears in exactly one batch. Ties keep input order; batches come longest first,
    so a batch that does not fit the device fails at once, not at the end of a long run.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    order = np.argsort(lengths, kind="stable")
    budget = max_tokens if max_tokens is not None else np.inf
    batches, begin = [], 0
    for end, row in enumerate(order):
        # Sorted ascending: the row being added is the widest, so it sets the padded length.
        rows = end - begin + 1
        if end > begin and (rows > max_rows or rows * int(lengths[row]) > budget):
            batches.append(order[begin:end])
            begin = end
    if begin < len(order):
        batches.append(order[begin:])
    return batches[::-1]


def collate(
    encoded: EncodedPairs, rows: np.ndarray, pad_id: int = 0, pin: bool = False
) -> dict[str, torch.Tensor]:
    """Pad one batch to its longest row: ``input_ids``, ``attention_mask`` (and
    ``token_type_ids``) as int64 tensors, in pinned memory when ``pin``.

    Vectorised (no loop over rows), so a background thread preparing big CUDA batches holds
    the interpreter lock only briefly.
    """
    real, index = padded_index(encoded.lengths[rows], encoded.offsets[rows])
    out = {
        "input_ids": np.where(real, encoded.input_ids[index], pad_id),
        "attention_mask": real.astype(np.int64),
    }
    if encoded.token_type_ids is not None:
        out["token_type_ids"] = np.where(real, encoded.token_type_ids[index], 0)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}
    return {k: v.pin_memory() for k, v in tensors.items()} if pin else tensors


_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable, depth: int) -> Iterator:
    """Yield ``items`` in order while a background thread produces up to ``depth`` ahead.

    The producer's exceptions are raised in the consumer; a consumer that stops early stops
    the producer too. ``depth`` 0 iterates in the caller's thread.
    """
    if depth <= 0:
        yield from items
        return
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            put(_Failure(error))

    worker = threading.Thread(target=produce, name="alliance-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
