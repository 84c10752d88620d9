"""Window encoding: documents rebuilt from rows, packing (offsets, overlap, long passages,
speakers), training packing identical to inference, and the window model end to end."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, BertTokenizer

from pipeline.config import TrainConfig
from pipeline.model.engine import PassageEngine, predict_pairs
from pipeline.model.heads import HEADS
from pipeline.model.network import (
    LoRALinear,
    MultiTaskModel,
    TransformerSettings,
    load_transformer,
    masked_loss,
    model_tokenizer,
    save_transformer,
)
from pipeline.model.windows import (
    CLIENT_TYPE,
    UNOWNED,
    WindowTokenizer,
    batch_units,
    collate_windows,
    documents,
)
from pipeline.training.finetune import reading_order, training_batches
from pipeline.training.records import LabeledPassage, scorer_inputs

WINDOW, CONTEXT = 24, 4


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir: Path):
    return BertTokenizer.from_pretrained(tiny_encoder_dir)


@pytest.fixture(scope="module")
def vocabulary(tokenizer) -> list[str]:
    return sorted(w for w in tokenizer.get_vocab() if w.isalpha() and len(w) > 2)[:200]


def _session(words: list[str], rng: random.Random, turns: int, longest: int = 8) -> list[str]:
    return [" ".join(rng.choices(words, k=rng.randint(1, longest))) for _ in range(turns)]


def _rows(sessions: list[list[str]]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Rows as the pipeline gives them: previous passage of the same session as context."""
    texts, contexts, speakers, groups = [], [], [], []
    for number, session in enumerate(sessions):
        for i, text in enumerate(session):
            texts.append(text)
            contexts.append(session[i - 1] if i else "")
            speakers.append("client" if i % 2 else "clinician")
            groups.append(f"s{number}")
    return texts, contexts, speakers, groups


def test_windows_documents_rebuild_sessions_replies_and_gaps():
    texts = ["hello", "i feel low", "tell me more", "reply one", "reply two", "turn five"]
    contexts = ["", "hello", "i feel low", "seeker post", "seeker post", "turn four"]
    speakers = ["clinician", "client", "clinician", "clinician", "clinician", "clinician"]
    groups = ["a", "a", "a", "e", "e", "e"]
    docs, pool = documents(texts, contexts, speakers, groups)
    assert [[(row, pool[i], kind) for row, i, kind in d.turns] for d in docs] == [
        [(0, "hello", 0), (1, "i feel low", CLIENT_TYPE), (2, "tell me more", 0)],
        [(UNOWNED, "seeker post", CLIENT_TYPE), (3, "reply one", 0)],
        # A sibling reply starts its own document; a gap gets its context read before it.
        [
            (UNOWNED, "seeker post", CLIENT_TYPE),
            (4, "reply two", 0),
            (UNOWNED, "turn four", CLIENT_TYPE),
            (5, "turn five", 0),
        ],
    ]
    # Another group starts a document even when the context matches the previous text.
    assert len(documents(["x", "y"], ["", "x"], None, ["g1", "g2"])[0]) == 2


def test_windows_pack_reads_every_passage_token_once(tokenizer, vocabulary):
    rng = random.Random(0)
    sessions = [_session(vocabulary, rng, n) for n in (1, 7, 15)]
    texts, contexts, speakers, groups = _rows(sessions)
    packed, per_doc = WindowTokenizer(tokenizer, WINDOW, CONTEXT).pack(
        texts, contexts, speakers, groups
    )
    assert len(per_doc) == len(sessions)
    assert packed.lengths.max() <= WINDOW
    expected = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    for row, ids in enumerate(expected):
        owned = packed.input_ids[packed.owners == row]
        np.testing.assert_array_equal(owned, ids)  # all of it, in order, once
        assert set(packed.token_type_ids[packed.owners == row]) == {
            CLIENT_TYPE if speakers[row] == "client" else 0
        }
    for window in range(len(packed)):
        begin, length = packed.offsets[window], packed.lengths[window]
        ids = packed.input_ids[begin : begin + length]
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    # Most tokens are read once: re-read context is at most CONTEXT tokens per extra window.
    unowned = (packed.owners == UNOWNED).sum() - 2 * len(packed)
    assert unowned <= CONTEXT * (len(packed) - len(per_doc))


def test_windows_overlap_is_the_previous_segments_tail(tokenizer, vocabulary):
    rng = random.Random(1)
    texts, contexts, speakers, groups = _rows([_session(vocabulary, rng, 12)])
    packed, per_doc = WindowTokenizer(tokenizer, WINDOW, CONTEXT).pack(
        texts, contexts, speakers, groups
    )
    assert len(per_doc[0]) > 1
    for window in per_doc[0][1:]:
        begin = packed.offsets[window]
        owners = packed.owners[begin : begin + packed.lengths[window]]
        lead = 1 + int(np.argmax(owners[1:] >= 0))  # unowned tokens after [CLS]
        context = packed.input_ids[begin + 1 : begin + lead]
        assert 0 < len(context) <= CONTEXT
        before = packed.offsets[window - 1]
        previous = packed.input_ids[before + 1 : before + packed.lengths[window - 1] - 1]
        np.testing.assert_array_equal(previous[-len(context) :], context)


def test_windows_long_passage_is_split_and_kept_in_one_training_unit(tokenizer, vocabulary):
    long_text = " ".join(vocabulary[:60])
    texts = ["short opener", long_text, "short closer"]
    packed, per_doc = WindowTokenizer(tokenizer, WINDOW, CONTEXT).pack(
        texts, ["", texts[0], texts[1]], ["clinician", "client", "clinician"], ["s"] * 3
    )
    holding = [w for w in per_doc[0] if 1 in packed.window_owners(w)]
    assert len(holding) >= 3
    units = batch_units(packed, per_doc)
    assert any(set(holding) <= set(unit) for unit in units)
    assert sorted(w for unit in units for w in unit) == list(range(len(packed)))
    with pytest.raises(ValueError, match="must exceed"):
        WindowTokenizer(tokenizer, 8, 6).pack(texts, ["", "", ""])


def test_windows_collate_pads_and_marks_owners(tokenizer):
    packed, _ = WindowTokenizer(tokenizer, WINDOW, CONTEXT).pack(
        ["a b c", "d"], ["", ""], ["clinician", "client"]
    )
    inputs, owners = collate_windows(packed, np.array([0, 1]))
    assert inputs["input_ids"].shape == owners.shape == (2, int(packed.lengths.max()))
    assert (owners[inputs["attention_mask"] == 0] == UNOWNED).all()
    assert inputs["token_type_ids"][1].max() == CLIENT_TYPE


def _window_model(encoder_dir: Path, **settings) -> MultiTaskModel:
    torch.manual_seed(0)
    encoder = AutoModel.from_pretrained(
        encoder_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    return MultiTaskModel(
        encoder,
        TransformerSettings(
            context="window",
            window_tokens=WINDOW,
            context_tokens=CONTEXT,
            lora_top_layers=None,
            **settings,
        ),
    )


def test_windows_speaker_embedding_is_trained_and_saved(tiny_encoder_dir, tmp_path):
    model = _window_model(tiny_encoder_dir)
    state = model.trainable_state()
    assert any("token_type_embeddings" in name for name in state)
    save_transformer(model, tmp_path)
    loaded = load_transformer(tmp_path, AutoModel.from_pretrained(tiny_encoder_dir))
    assert loaded.settings.context == "window"


def _labeled(sessions: list[list[str]]) -> list[LabeledPassage]:
    texts, contexts, speakers, groups = _rows(sessions)
    return [
        LabeledPassage(t, c, s, "notes", g, {"bond": i % 2})
        for i, (t, c, s, g) in enumerate(zip(texts, contexts, speakers, groups))
    ]


def test_windows_training_packs_as_inference_does(tiny_encoder_dir, tokenizer, vocabulary):
    rng = random.Random(2)
    passages = _labeled([_session(vocabulary, rng, n, longest=20) for n in (3, 9, 5)])
    tokenize = WindowTokenizer(tokenizer, WINDOW, CONTEXT)
    config = TrainConfig(batch_size=2, max_length=40, notes=None)
    shuffled = rng.sample(passages, len(passages))
    position = {id(p): i for i, p in enumerate(passages)}
    assert reading_order(shuffled, position) == passages
    batches = training_batches(tokenize, shuffled, config, random.Random(0), position)
    packed, _ = tokenize.pack(*scorer_inputs(passages))
    inference = {tuple(packed.input_ids[o : o + n]) for o, n in zip(packed.offsets, packed.lengths)}
    training = set()
    for inputs, owners, batch in batches:
        for ids, mask in zip(inputs["input_ids"], inputs["attention_mask"]):
            training.add(tuple(ids[mask.bool()].tolist()))
        rows = torch.unique(owners[owners >= 0]).tolist()
        assert [passages[r] for r in rows] == batch
    assert training == inference
    assert sorted(id(p) for _, _, b in batches for p in b) == sorted(map(id, passages))


def test_windows_overfit_save_load_identical_predictions(tiny_encoder_dir, tmp_path, tokenizer):
    model = _window_model(tiny_encoder_dir, lora_dropout=0.0, head_dropout=0.0)
    tokenize = model_tokenizer(tokenizer, model.settings)
    texts = ["client felt heard", "homework was pointless", "we agreed the goal", "denied si"]
    contexts = ["", texts[0], texts[1], ""]
    speakers = ["client", "client", "clinician", "clinician"]
    targets = {"bond": torch.tensor([1, 0, 0, 0]), "goal": torch.tensor([0, 0, 1, 0])}
    packed, _ = tokenize.pack(texts, contexts, speakers)
    inputs, owners = collate_windows(packed, np.arange(len(packed)))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model.train()
    for _ in range(200):
        optimizer.zero_grad()
        rows, pooled = model.pool_windows(inputs, owners)
        assert rows.tolist() == [0, 1, 2, 3]
        masked_loss(model(None, None, pooled=pooled), targets).backward()
        optimizer.step()
    before = predict_pairs(model, tokenize, texts, contexts, speakers=speakers)
    for name, target in targets.items():
        np.testing.assert_array_equal(before[name].argmax(1), target.numpy())
    save_transformer(model, tmp_path)
    loaded = load_transformer(tmp_path, AutoModel.from_pretrained(tiny_encoder_dir))
    after = predict_pairs(
        loaded, model_tokenizer(tokenizer, loaded.settings), texts, contexts, speakers=speakers
    )
    for head in HEADS:
        np.testing.assert_allclose(before[head.name], after[head.name], rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def window_engine_model(tiny_encoder_dir) -> MultiTaskModel:
    model = _window_model(tiny_encoder_dir)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_b.normal_(0, 0.2)
    return model.eval()


def _reference(model: MultiTaskModel, tokenize: WindowTokenizer, rows) -> np.ndarray:
    """Pooled vectors the plain (unmerged, unpacked) model gives, every window in one batch."""
    packed, _ = tokenize.pack(*rows)
    inputs, owners = collate_windows(packed, np.arange(len(packed)))
    with torch.inference_mode():
        _, pooled = model.pool_windows(inputs, owners)
    return pooled.numpy()


def test_windows_engine_scores_do_not_depend_on_batch_mates(
    window_engine_model, tokenizer, vocabulary
):
    rng = random.Random(3)
    tokenize = model_tokenizer(tokenizer, window_engine_model.settings)
    alone = _session(vocabulary, rng, 6, longest=30)
    others = [_session(vocabulary, rng, n, longest=30) for n in (4, 11)]
    rows_alone = _rows([alone])
    reference = _reference(window_engine_model, tokenize, rows_alone)
    mixed = _rows([others[0], alone, others[1]])
    start = len(others[0])
    for batch_size, workers in ((1, 1), (3, 2), (64, 1)):
        engine = PassageEngine(
            window_engine_model, tokenize, batch_size=batch_size, cpu_workers=workers
        )
        probabilities, vectors = engine.predict(mixed[0], mixed[1], True, mixed[2], mixed[3])
        np.testing.assert_allclose(
            vectors[start : start + len(alone)], reference, rtol=0, atol=2e-4
        )
        solo, solo_vectors = engine.predict(*rows_alone[:2], True, *rows_alone[2:])
        for head in HEADS:
            np.testing.assert_allclose(
                probabilities[head.name][start : start + len(alone)],
                solo[head.name],
                rtol=0,
                atol=2e-4,
            )
