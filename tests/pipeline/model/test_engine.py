import copy

import numpy as np
import pytest
import torch

from pipeline.model.engine import PassageEngine, inference_copy, predict_pairs
from pipeline.model.folder import TransformerScorer
from pipeline.model.heads import HEADS
from pipeline.model.network import (
    LoRALinear,
    MultiTaskModel,
    PairTokenizer,
    probabilities,
)
from tests.helpers import random_pairs


def _reference(model: MultiTaskModel, tokenize: PairTokenizer, texts, contexts):
    """The plainest path: the unmerged fp32 model, one pair at a time, no padding."""
    out = {name: [] for name in model.heads}
    vectors = []
    with torch.no_grad():
        for text, context in zip(texts, contexts):
            encoded = tokenize([text], [context])
            pooled = model.pool(**encoded)
            for name, value in probabilities(model(**encoded, pooled=pooled)).items():
                out[name].append(value[0])
            vectors.append(pooled[0].numpy())
    return {k: np.array(v) for k, v in out.items()}, np.array(vectors)


def _assert_same(result, expected, atol=1e-5):
    (probs, vectors), (ref_probs, ref_vectors) = result, expected
    assert set(probs) == set(ref_probs)
    for name in ref_probs:
        assert probs[name].shape == ref_probs[name].shape
        np.testing.assert_allclose(probs[name], ref_probs[name], rtol=0, atol=atol)
    np.testing.assert_allclose(vectors, ref_vectors, rtol=0, atol=atol * 10)


@pytest.mark.parametrize(
    ("batch_size", "max_tokens", "context_share", "workers"),
    [(8, None, 0.6, 1), (8, None, 0.6, 2), (64, 200, 0.6, 2), (3, 90, 0.0, 1), (16, None, 1.0, 2)],
)
def test_engine_equals_one_pair_at_a_time(
    tiny, words, batch_size, max_tokens, context_share, workers
):
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 37, seed=batch_size, context_share=context_share)
    engine = PassageEngine(model, tokenize, batch_size, max_tokens=max_tokens, cpu_workers=workers)
    _assert_same(
        engine.predict(texts, contexts, with_vectors=True),
        _reference(model, tokenize, texts, contexts),
    )


def test_engine_empty_input_has_empty_columns(tiny):
    model, tokenize = tiny
    probs, vectors = PassageEngine(model, tokenize).predict([], [], with_vectors=True)
    for head in HEADS:
        assert probs[head.name].shape == (0, len(head.classes))
    assert vectors.shape == (0, model.encoder.config.hidden_size)


def test_engine_single_passage_with_and_without_context(tiny):
    model, tokenize = tiny
    for context in ("", "client felt heard"):
        texts, contexts = ["clinician reflected the client's worry"], [context]
        _assert_same(
            PassageEngine(model, tokenize).predict(texts, contexts, with_vectors=True),
            _reference(model, tokenize, texts, contexts),
        )


def test_engine_row_scores_do_not_depend_on_batch_neighbours(tiny, words):
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 20, seed=3)
    alone = predict_pairs(model, tokenize, texts[:1], contexts[:1])
    together = predict_pairs(model, tokenize, texts, contexts, batch_size=20)
    for head in HEADS:
        np.testing.assert_allclose(alone[head.name][0], together[head.name][0], atol=1e-5)


def test_engine_prefetch_and_windows_equal_plain_path(tiny, words):
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 45, seed=7)
    plain = PassageEngine(model, tokenize, 8, prefetch=0, cpu_workers=1)
    expected = plain.predict(texts, contexts, True)
    overlapped = PassageEngine(
        model, tokenize, 8, max_tokens=150, prefetch=2, window=11, cpu_workers=1
    )
    _assert_same(overlapped.predict(texts, contexts, True), expected)


def test_engine_parallel_cpu_workers_equal_one_stream(tiny, words):
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 50, seed=8)
    threads = torch.get_num_threads()
    expected = PassageEngine(model, tokenize, 4, cpu_workers=1).predict(texts, contexts, True)
    parallel = PassageEngine(model, tokenize, 4, cpu_workers=3)
    assert parallel.workers() == 3
    _assert_same(parallel.predict(texts, contexts, True), expected)
    assert torch.get_num_threads() == threads  # restored after the workers


def test_engine_parallel_workers_raise_the_batch_error(tiny, words, monkeypatch):
    model, tokenize = tiny
    engine = PassageEngine(model, tokenize, 4, cpu_workers=2)
    plain_batches = engine.batches

    def failing(texts, contexts):
        batches = plain_batches(texts, contexts)
        yield next(batches)
        raise RuntimeError("tokenizer broke")

    monkeypatch.setattr(engine, "batches", failing)
    threads = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="tokenizer broke"):
        engine.predict(*random_pairs(words, 20, seed=1))
    assert torch.get_num_threads() == threads


def test_engine_bf16_stays_close_to_fp32(tiny, words):
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 24, seed=5)
    fp32 = PassageEngine(model, tokenize, bf16=False).predict(texts, contexts, True)
    _assert_same(
        PassageEngine(model, tokenize, bf16=True).predict(texts, contexts, True), fp32, 0.05
    )


def test_engine_inference_copy_leaves_the_model_trainable(tiny):
    model, tokenize = tiny
    state = {k: v.clone() for k, v in model.trainable_state().items()}
    merged = inference_copy(model)
    assert not any(isinstance(m, LoRALinear) for m in merged.modules())
    assert any(isinstance(m, LoRALinear) for m in model.modules())
    for name, value in model.trainable_state().items():
        assert torch.equal(value, state[name])
        assert model.get_parameter(name).requires_grad
    # On CPU the engine's copy uses matmul attention; the model keeps its own.
    attention = model.encoder.config._attn_implementation
    copy_config = PassageEngine(model, tokenize).inference_model.encoder.config
    assert copy_config._attn_implementation == "eager"
    assert model.encoder.config._attn_implementation == attention


def test_engine_feed_forward_runs_on_real_tokens_and_last_on_the_passage(tiny):
    model, tokenize = tiny
    texts, contexts = ["client felt heard", "goal was agreed on today"], ["", "client felt heard"]
    engine = PassageEngine(model, tokenize, prefetch=0)
    layers = engine.inference_model.encoder.encoder.layer
    assert engine._selection is not None
    rows = {}

    def count(index):
        def hook(_module, args, _output):
            rows[index] = args[0].shape[0]  # tokens in, packed: (tokens, hidden)

        return hook

    last = len(layers) - 1
    hooks = [layers[i].intermediate.register_forward_hook(count(i)) for i in (0, last)]
    try:
        engine.predict(texts, contexts)
    finally:
        for hook in hooks:
            hook.remove()
    encoded = tokenize.encode(texts, contexts)
    real = sum(len(ids) for ids in encoded["input_ids"])
    passage = sum(types.count(0) for types in encoded["token_type_ids"])
    assert rows == {0: real, last: passage}  # no padding rows; no context at the end


def test_engine_rebuilds_its_copy_when_the_weights_change(tiny, words):
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 6, seed=9)
    scorer = TransformerScorer(model, tokenize, batch_size=4, bf16=False)
    first = scorer.predict_proba(texts, contexts)
    copy = scorer.engine.inference_model
    assert scorer.engine.inference_model is copy  # kept between calls
    head = model.heads["bond"]
    with torch.no_grad():
        head.bias.add_(3.0)
    try:
        changed = scorer.predict_proba(texts, contexts)
        assert scorer.engine.inference_model is not copy
        assert (changed["bond"][:, 1] > first["bond"][:, 1]).all()
    finally:
        with torch.no_grad():
            head.bias.sub_(3.0)


@pytest.mark.gpu
def test_engine_on_cuda_equals_cpu_reference(tiny, words):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model, tokenize = tiny
    texts, contexts = random_pairs(words, 300, seed=11)
    expected = _reference(model, tokenize, texts, contexts)
    cuda_model = copy.deepcopy(model).cuda()
    engine = PassageEngine(cuda_model.eval(), tokenize, window=64)  # prefetch, pinned, budget
    assert engine.prefetch > 0 and engine.max_tokens
    _assert_same(engine.predict(texts, contexts, with_vectors=True), expected, atol=1e-3)
    bf16 = PassageEngine(cuda_model, tokenize, bf16=torch.cuda.is_bf16_supported(), window=64)
    _assert_same(bf16.predict(texts, contexts, with_vectors=True), expected, atol=0.05)
