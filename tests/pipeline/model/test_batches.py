"""The inference engine's batching: tokenise once, pack by token count, pad, prefetch."""

import threading

import numpy as np
import pytest

from pipeline.model.batches import EncodedPairs, collate, encode_pairs, plan_batches, prefetch
from tests.helpers import random_pairs
from tests.pipeline.model.conftest import MAX_LENGTH


def test_batches_plan_covers_every_row_once_under_the_budget():
    rng = np.random.default_rng(0)
    for trial in range(50):
        lengths = rng.integers(1, 120, size=int(rng.integers(0, 300)))
        max_rows, max_tokens = int(rng.integers(1, 40)), [None, 64, 500][trial % 3]
        batches = plan_batches(lengths, max_rows, max_tokens)
        rows = np.concatenate(batches) if batches else np.array([], dtype=int)
        assert sorted(rows.tolist()) == list(range(len(lengths)))
        for batch in batches:
            widest = lengths[batch].max()
            assert len(batch) <= max_rows
            assert len(batch) == 1 or max_tokens is None or len(batch) * widest <= max_tokens
            # Within a batch: ascending token count, ties in input order.
            keys = list(zip(lengths[batch], batch))
            assert keys == sorted(keys)
        widths = [lengths[b].max() for b in batches]
        assert widths == sorted(widths, reverse=True)  # longest batch first


def test_batches_plan_gives_an_over_budget_row_its_own_batch():
    batches = plan_batches(np.array([5, 300, 6, 7]), max_rows=8, max_tokens=20)
    assert [b.tolist() for b in batches] == [[1], [3], [0, 2]]
    assert plan_batches(np.array([], dtype=int), 4) == []
    with pytest.raises(ValueError):
        plan_batches(np.array([1]), 0)


def test_batches_collate_pads_and_masks():
    ids, types = [[101, 5, 102], [101, 7, 8, 102, 102]], [[0, 0, 0], [0, 0, 0, 0, 1]]
    encoded = EncodedPairs.from_rows(ids, types)
    batch = collate(encoded, np.array([1, 0]), pad_id=0)
    assert batch["input_ids"].tolist() == [[101, 7, 8, 102, 102], [101, 5, 102, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert collate(EncodedPairs.from_rows(ids), np.array([0]), pad_id=9)["input_ids"].tolist() == [
        [101, 5, 102]
    ]
    assert "token_type_ids" not in collate(EncodedPairs.from_rows(ids), np.array([0, 1]))


def test_batches_encode_matches_padded_tokenizer(tiny, words):
    _, tokenize = tiny
    texts, contexts = random_pairs(words, 10, seed=2)
    encoded = encode_pairs(tokenize, texts, contexts, chunk=3)
    padded = tokenize(texts, contexts)
    for i in range(len(texts)):
        n = int(padded["attention_mask"][i].sum())
        assert encoded.lengths[i] == n <= MAX_LENGTH
        row = slice(encoded.offsets[i], encoded.offsets[i] + n)
        assert encoded.input_ids[row].tolist() == padded["input_ids"][i, :n].tolist()
        assert encoded.token_type_ids[row].tolist() == padded["token_type_ids"][i, :n].tolist()


def test_batches_prefetch_keeps_order_raises_and_stops():
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))
    assert list(prefetch(range(5), depth=0)) == list(range(5))

    def failing():
        yield 1
        raise RuntimeError("tokenizer broke")

    with pytest.raises(RuntimeError, match="tokenizer broke"):
        list(prefetch(failing(), depth=2))
    before = threading.active_count()
    stream = prefetch(iter(range(10_000)), depth=2)
    assert next(stream) == 0
    stream.close()  # the consumer stops early: the producer thread ends too
    assert threading.active_count() == before
