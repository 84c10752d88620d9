"""The text model: a session's own words, per kind of text, cross-fitted for the estimator."""

from pathlib import Path

import numpy as np

from pipeline.model.artifacts import load_skops, save_skops
from pipeline.sessions.text_model import (
    SessionTextModel,
    SessionWordsClassifier,
    client_keys,
    client_text,
    session_text,
    text_scores,
    with_text_scores,
)

GOOD = ["you reflected her worry gently", "we agreed on the goal together", "warm open question"]
POOR = ["told him to stop drinking now", "lectured about the rules again", "warned her sternly"]


def _sessions(n=60, seed=0):
    """Transcripts whose rating follows their wording, and notes whose rating does not."""
    rng = np.random.default_rng(seed)
    texts, y, kinds, groups = [], [], [], []
    for i in range(n):
        good = i % 2 == 0
        words = rng.choice(GOOD if good else POOR, size=3)
        texts.append(" ".join(words))
        y.append([np.nan, np.nan, np.nan, 4.5 if good else 2.0])
        kinds.append("transcript")
        groups.append(f"t{i // 2}")
    group_rating = rng.integers(1, 6, size=n)
    for i in range(n):
        # A word of each client's own (their notes share it), and a rating that is the client's
        # alone: only a model that saw the client can read the rating off its words.
        texts.append(" ".join([*rng.choice(GOOD + POOR, size=3), f"client{i // 3}word"]))
        y.append([3.0, 3.0, 3.0, float(group_rating[i // 3])])
        kinds.append("note")
        groups.append(f"n{i // 3}")
    return np.array(texts, dtype=object), np.array(y), np.array(kinds), np.array(groups)


def test_text_model_session_text_keeps_notes_whole_and_clinician_turns():
    items = [("clinician", "How was the week?"), ("client", "Awful."), ("clinician", "Awful.")]
    assert session_text(items, "transcript") == "How was the week? Awful."
    assert session_text(items, "note") == "How was the week? Awful. Awful."


def test_text_model_client_text_is_the_clients_turns_and_nothing_of_a_note():
    items = [("clinician", "How was the week?"), ("client", "Awful."), ("client", "Truly.")]
    assert client_text(items, "chat") == "Awful. Truly."
    assert client_text(items, "transcript") == "Awful. Truly."
    assert client_text(items, "note") == ""
    assert client_keys(["chat", "note"]) == ["chat/client", "note/client"]


def test_text_model_client_view_scores_the_clients_words_in_four_more_columns():
    # The clinician's words are the same in every chat; only the client's tell the rating.
    rng = np.random.default_rng(2)
    clinician = np.array(["how did that feel for you"] * 80, dtype=object)
    good = np.arange(80) % 2 == 0
    client = np.array(
        [" ".join(rng.choice(["that really helps", "thank you so much"] if g else
                             ["this is not helping", "you do not get it"], size=2)) for g in good],
        dtype=object,
    )  # fmt: skip
    y = np.where(good, 4.5, 2.0)[:, None].repeat(4, 1)
    kinds = np.array(["chat"] * 80)
    texts = np.concatenate([clinician, client])
    keys = np.concatenate([kinds, client_keys(kinds)])
    model = SessionTextModel(min_rated=20, client_view=True).fit(texts, np.vstack([y, y]), keys)
    scores = text_scores(model, clinician, client, kinds)
    assert scores.shape == (80, 8)
    assert np.ptp(scores[:, 1]) < 1e-9  # the clinician view cannot tell the chats apart
    assert scores[good, 5].min() > scores[~good, 5].max()  # the client view can
    blind = SessionTextModel(min_rated=20).fit(clinician, y, kinds)
    assert text_scores(blind, clinician, client, kinds).shape == (80, 4)  # an older folder's


def test_text_model_learns_a_kind_whose_ratings_follow_its_words():
    texts, y, kinds, groups = _sessions()
    model = SessionTextModel(min_rated=20).fit(texts, y, kinds)
    scores = model.predict(texts, kinds)
    transcript = kinds == "transcript"
    good = y[:, 3] > 3
    assert scores[transcript & good, 3].min() > scores[transcript & ~good, 3].max()
    # Unrated targets of a kind get its mean rating, not a model.
    assert np.allclose(scores[transcript, 0], np.nanmean(y[:, 0]))


def test_text_model_cross_fitted_scores_never_come_from_a_model_that_saw_the_group():
    texts, y, kinds, groups = _sessions()
    model = SessionTextModel(min_rated=20).fit(texts, y, kinds)
    in_sample = model.predict(texts, kinds)
    crossed = model.cross_fitted(texts, y, kinds, groups)
    notes = kinds == "note"
    # Note ratings follow only the client: in-sample scores follow them, cross-fitted ones cannot.
    follow = np.corrcoef(in_sample[notes, 3], y[notes, 3])[0, 1]
    held = np.corrcoef(crossed[notes, 3], y[notes, 3])[0, 1]
    assert follow > 0.5 and held < follow - 0.3


def test_text_model_overfit_save_load_same_predictions(tmp_path: Path):
    texts, y, kinds, _ = _sessions()
    model = SessionTextModel(min_rated=20).fit(texts, y, kinds)
    save_skops(model, tmp_path / "text.skops")
    loaded = load_skops(tmp_path / "text.skops")
    np.testing.assert_allclose(loaded.predict(texts, kinds), model.predict(texts, kinds))
    rows = np.zeros((len(texts), 2))
    augmented = with_text_scores(rows, loaded, texts, texts, kinds)
    assert augmented.shape == (len(texts), 6)
    assert with_text_scores(rows, None, texts, texts, kinds) is rows


def test_text_model_ranks_within_each_source_when_given_the_sources():
    # Two sources share the transcript kind: "a" rates 2 or 4 (MI quality), "b" 4.5 or 5 (client
    # ratings, high throughout); each rating follows the wording within its source.
    rng = np.random.default_rng(1)
    texts, y, strata = [], [], []
    for i in range(80):
        source, good = ("a", "b")[i % 2], (i // 2) % 2 == 0
        words = " ".join(rng.choice(GOOD if good else POOR, size=2))
        texts.append(f"{words} {source}style {source}style")
        high, low = (4.0, 2.0) if source == "a" else (5.0, 4.5)
        y.append([np.nan, np.nan, np.nan, high if good else low])
        strata.append(source)
    texts, y, strata = np.array(texts, dtype=object), np.array(y), np.array(strata)
    kinds = np.array(["transcript"] * 80)
    probe = np.array([f"{GOOD[0]} astyle astyle", f"{POOR[0]} bstyle bstyle"], dtype=object)
    pooled = SessionTextModel(min_rated=20).fit(texts, y, kinds).predict(probe, kinds[:2])
    within = SessionTextModel(min_rated=20).fit(texts, y, kinds, strata).predict(probe, kinds[:2])
    # Pooled ratings reward the source's style: a poor "b" session outscores a good "a" one.
    assert pooled[1, 3] > pooled[0, 3]
    assert within[0, 3] > within[1, 3]
    crossed = SessionTextModel(min_rated=20).fit(texts, y, kinds, strata)
    scores = crossed.cross_fitted(texts, y, kinds, np.arange(80) // 2, strata)
    for source in ("a", "b"):
        rows = strata == source
        good = y[rows, 3] == y[rows, 3].max()
        assert scores[rows][good, 3].mean() > scores[rows][~good, 3].mean()


def test_text_model_cross_fitted_keeps_a_target_without_a_model_constant():
    texts, y, kinds, groups = _sessions()
    transcript = kinds == "transcript"
    # A few transcripts rate task too, too few for a model: the column is the kind's mean.
    y[np.flatnonzero(transcript)[:10], 0] = np.arange(10) % 5 + 1.0
    model = SessionTextModel(min_rated=20).fit(texts, y, kinds)
    crossed = model.cross_fitted(texts, y, kinds, groups)
    # In every fold alike, not each fold's own mean (noise the estimator would scale up).
    assert np.ptp(crossed[transcript, 0]) == 0
    assert crossed[transcript, 0][0] == model.predict(texts[:1], kinds[:1])[0, 0]


def test_text_model_words_classifier_overfits_saves_loads_and_predicts_the_same(tmp_path: Path):
    texts, y, kinds, _ = _sessions()
    transcripts = kinds == "transcript"
    labels = (y[transcripts, 3] > 3).astype(int)
    model = SessionWordsClassifier().fit(texts[transcripts], labels)
    probabilities = model.predict_proba(texts[transcripts])[:, 1]
    assert ((probabilities > 0.5) == (labels == 1)).all()
    assert (model.predict(texts[transcripts]) == labels).all()
    save_skops(model, tmp_path / "words.skops")
    loaded = load_skops(tmp_path / "words.skops")
    np.testing.assert_allclose(loaded.predict_proba(texts[transcripts])[:, 1], probabilities)
