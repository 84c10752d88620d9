import numpy as np
import pytest

from pipeline.model.artifacts import load_skops, save_skops
from pipeline.sessions.flags import Clinic, compute_flags, rupture_probabilities
from pipeline.sessions.rupture import (
    FEATURE_NAMES,
    FlagBudget,
    RuptureModel,
    choose_threshold,
    fit_rupture_model,
    rupture_features,
    rupture_kind,
    session_words,
)
from tests.pipeline.sessions.test_flags import RULES, _estimate, _scored


def _pairs(texts_and_strain):
    estimate = _estimate(0, 4.0)
    [(template, scores)] = _scored([estimate])[estimate.session_id]
    out = []
    for i, (text, strain) in enumerate(texts_and_strain):
        passage = template.model_copy(update={"text": text, "index": i, "passage_id": f"p{i}"})
        out.append((passage, scores.model_copy(update={"strain": strain})))
    return out, estimate


def test_rupture_features_read_markers_strain_and_history():
    pairs, estimate = _pairs(
        [
            ("When writer returned to the plan pt went quiet and shrugged.", 0.7),
            ("Pt said 'you keep pushing worksheets, this is pointless.'", 0.9),
            ("Pt reported sleeping better.", 0.1),
        ]
    )
    row = dict(zip(FEATURE_NAMES, rupture_features(pairs, estimate, [4.5, 4.4, 4.6])))
    assert len(row) == len(FEATURE_NAMES)
    assert row["strain_max"] == pytest.approx(0.9) and row["strain_count"] == 2
    assert row["withdrawal_markers"] >= 2 and row["confrontation_markers"] >= 2
    assert row["drop"] == pytest.approx(0.5) and row["has_history"] == 1.0
    first = dict(zip(FEATURE_NAMES, rupture_features(pairs, estimate, [])))
    assert first["drop"] == 0.0 and first["has_history"] == 0.0


def test_rupture_kind_follows_the_markers():
    withdrawal, _ = _pairs([("Pt went quiet, shrugged, 'whatever you think.'", 0.6)])
    confrontation, _ = _pairs([("Client: 'You don't get it, this is a waste of time.'", 0.8)])
    neither, _ = _pairs([("Reviewed the sleep diary together.", 0.1)])
    assert rupture_kind(withdrawal) == "withdrawal"
    assert rupture_kind(confrontation) == "confrontation"
    assert rupture_kind(neither) == "unclear"


def test_rupture_threshold_reaches_the_precision_asked_for():
    probabilities = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    labels = np.array([1, 1, 0, 1, 0, 0, 0])
    assert choose_threshold(probabilities, labels, 0.7) == 0.6  # 3 of 4 flagged are ruptures
    assert choose_threshold(probabilities, labels, 1.0) == 0.8


def _separable(n=80, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    rows = rng.normal(size=(n, len(FEATURE_NAMES)))
    rows[:, 0] += 2.5 * y  # strain_max carries the label
    groups = [f"c{i // 4}" for i in range(n)]
    return rows, y, groups


def test_rupture_model_overfits_saves_loads_and_predicts_the_same(tmp_path):
    rows, y, groups = _separable()
    model = fit_rupture_model(rows, y, groups, target_precision=0.8)
    probabilities = model.probability(rows)
    assert model.metrics["cv_auc"] > 0.85
    assert ((probabilities >= model.threshold) == (y == 1)).mean() > 0.85
    save_skops(model, tmp_path / "rupture.skops")
    loaded = load_skops(tmp_path / "rupture.skops")
    assert isinstance(loaded, RuptureModel) and loaded.threshold == model.threshold
    np.testing.assert_allclose(loaded.probability(rows), probabilities)


def _worded(n=80, seed=0):
    """Features that carry nothing, words that carry the label (as a documented rupture's
    wording does where the strain head and the markers miss it)."""
    rows, y, groups = _separable(n, seed)
    rows[:, 0] -= 2.5 * y
    said = ("questioned whether the sessions help", "reviewed the sleep diary together")
    texts = [f"Pt {said[1 - label]} and talked about week {i % 7}." for i, label in enumerate(y)]
    return rows, y, groups, texts


def test_rupture_model_reads_the_session_words_when_fitted_with_them(tmp_path):
    rows, y, groups, texts = _worded()
    without = fit_rupture_model(rows, y, groups)
    model = fit_rupture_model(rows, y, groups, texts=texts)
    assert model.reads_words and not without.reads_words
    assert model.metrics["cv_auc"] > 0.9 > without.metrics["cv_auc"]
    probabilities = model.probability(rows, texts)
    assert ((probabilities >= model.threshold) == (y == 1)).mean() > 0.9
    with pytest.raises(ValueError, match="words"):
        model.probability(rows)
    save_skops(model, tmp_path / "rupture.skops")
    loaded = load_skops(tmp_path / "rupture.skops")
    np.testing.assert_allclose(loaded.probability(rows, texts), probabilities)


def test_rupture_model_saved_before_words_still_reads_features_alone():
    rows, y, groups = _separable()
    model = fit_rupture_model(rows, y, groups)
    del model.words  # as a model saved before the field existed loads
    assert not model.reads_words
    assert model.probability(rows).shape == (len(rows),)


def test_rupture_flag_comes_from_the_model_and_works_on_a_first_session():
    rows, y, groups = _separable()
    model = fit_rupture_model(rows, y, groups)
    estimates = [_estimate(i, 4.2) for i in range(3)]
    scored = _scored(estimates, {"c-1-s0": 0.99})
    for sid, pairs in scored.items():
        strain = 0.99 if sid == "c-1-s0" else 0.01
        text = "Pt went quiet and said this is pointless." if sid == "c-1-s0" else "Reviewed HW."
        scored[sid] = [
            (p.model_copy(update={"text": text}), s.model_copy(update={"strain": strain}))
            for p, s in pairs
        ]
    strong = RuptureModel(model.classifier, threshold=0.0)  # flags everything: check the shape
    assert {f.code for f in compute_flags(estimates, scored, {}, RULES, Clinic(strong))} >= {
        "RUPTURE"
    }
    flags = compute_flags(estimates, scored, {}, RULES, Clinic(model))
    ruptures = [f for f in flags if f.code == "RUPTURE"]
    assert [f.session_id for f in ruptures] == ["c-1-s0"]  # the first session, no history
    assert ruptures[0].reason.startswith("Possible rupture (probability")
    assert ruptures[0].evidence == ["c-1-s0:0000"]
    assert not any(f.code in ("STRAIN_MARKERS", "RUPTURE_DROP") for f in flags)


def test_rupture_probabilities_in_one_call_match_each_session_alone():
    """Batched over clients, each session still reads its own passages and its own client's
    earlier estimates (a first session: no history)."""
    rows, y, groups = _separable()
    model = fit_rupture_model(rows, y, groups)
    first = [_estimate(i, overall) for i, overall in enumerate((4.4, 4.1, 2.2))]
    other = [
        e.model_copy(update={"client_id": "c-2", "session_id": f"c-2-s{i}"})
        for i, e in enumerate(first[:2])
    ]
    scored = _scored(first, {"c-1-s2": 0.95}) | _scored(other)
    batched = rupture_probabilities([first, other], scored, model)
    assert list(batched) == [e.session_id for e in first + other]
    for estimates in (first, other):
        for i, estimate in enumerate(estimates):
            history = [e.overall for e in estimates[:i]]
            row = rupture_features(scored[estimate.session_id], estimate, history)
            assert batched[estimate.session_id] == pytest.approx(float(model.probability(row)[0]))
    assert batched["c-1-s2"] > batched["c-2-s1"]  # strain and a drop against neither


def test_rupture_probabilities_pass_each_session_its_own_words():
    rows, y, groups, texts = _worded()
    model = fit_rupture_model(rows, y, groups, texts=texts)
    estimates = [_estimate(i, 4.0) for i in range(2)]
    scored = _scored(estimates)
    said = {"c-1-s0": texts[1], "c-1-s1": texts[0]}  # a rupture's wording, then a calm one
    for sid, pairs in scored.items():
        scored[sid] = [(p.model_copy(update={"text": said[sid]}), s) for p, s in pairs]
    batched = rupture_probabilities([estimates], scored, model)
    for i, estimate in enumerate(estimates):
        pairs = scored[estimate.session_id]
        row = rupture_features(pairs, estimate, [e.overall for e in estimates[:i]])
        alone = model.probability(row, [session_words(pairs)])[0]
        assert batched[estimate.session_id] == pytest.approx(float(alone))
    assert batched["c-1-s0"] > batched["c-1-s1"]


def test_rupture_budget_weights_a_labeled_set_to_a_caseload():
    budget = FlagBudget(rupture_rate=0.1, max_flag_rate=0.1)
    labels = np.array([1] * 4 + [0] * 6)  # 40% ruptures, as a written set holds
    flagged = np.array([1, 1, 0, 0] + [1, 0, 0, 0, 0, 0], dtype=bool)  # recall 0.5, FPR 1/6
    assert budget.flag_rate(flagged, labels) == pytest.approx(0.1 * 0.5 + 0.9 / 6)


def test_rupture_threshold_within_budget_gives_up_recall_for_fewer_flags():
    probabilities = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    labels = np.array([1, 1, 0, 1, 1, 0, 0, 0])
    assert choose_threshold(probabilities, labels, 0.7) == 0.5  # 4 of 5 flagged: recall 1.0
    budget = FlagBudget(rupture_rate=0.1, max_flag_rate=0.1)
    # At 0.5 a caseload would see 0.1 * 1.0 + 0.9 * 0.25 = 32% flagged; only 0.8 fits.
    assert choose_threshold(probabilities, labels, 0.7, budget) == 0.8


def _client_with_rupture_at(texts: dict[int, list[tuple[str, float]]], overall: list[float]):
    estimates = [_estimate(i, v) for i, v in enumerate(overall)]
    scored = {}
    for i, estimate in enumerate(estimates):
        pairs, _ = _pairs(texts.get(i, [("Reviewed the plan.", 0.05)]))
        scored[estimate.session_id] = [
            (
                p.model_copy(
                    update={
                        "session_id": estimate.session_id,
                        "passage_id": f"{estimate.session_id}:{k}",
                    }
                ),
                s,
            )
            for k, (p, s) in enumerate(pairs)
        ]
    return estimates, scored


class _RuptureAt:
    """A stand-in classifier for a fitted rupture model: rupture where strain_max is high."""

    def predict_proba(self, rows):
        p = (np.asarray(rows)[:, FEATURE_NAMES.index("strain_max")] >= 0.8).astype(float)
        return np.column_stack([1 - p, p])


def test_rupture_repair_when_the_strain_is_named_and_the_client_re_engages():
    texts = {
        2: [("Pt said this is pointless and went quiet.", 0.95)],
        3: [("Clinician named the tension from last week and owned her part.", 0.3)],
    }
    estimates, scored = _client_with_rupture_at(texts, [4.4, 4.5, 2.9, 3.7, 3.8])
    model = RuptureModel(_RuptureAt(), threshold=0.5)
    flags = compute_flags(estimates, scored, {}, RULES, Clinic(model))
    codes = {(f.session_id, f.code) for f in flags}
    assert ("c-1-s2", "RUPTURE") in codes
    # 3.7 is not back near 4.45, but the strain is named and the estimate rose by 0.8.
    repair = next(f for f in flags if f.code == "REPAIR")
    assert repair.session_id == "c-1-s3" and "named and worked through" in repair.reason
    assert repair.evidence == ["c-1-s3:0"]


def test_rupture_no_repair_without_naming_the_strain_or_recovering():
    texts = {2: [("Pt said this is pointless and went quiet.", 0.95)]}
    estimates, scored = _client_with_rupture_at(texts, [4.4, 4.5, 2.9, 3.7, 3.8])
    flags = compute_flags(estimates, scored, {}, RULES, Clinic(RuptureModel(_RuptureAt(), 0.5)))
    assert not any(f.code == "REPAIR" for f in flags)


def test_rupture_repaired_within_the_same_session():
    texts = {
        1: [
            ("Pt said the homework is pointless and you never listen.", 0.95),
            ("Clinician apologised for rushing; pt re-engaged with the plan.", 0.2),
        ]
    }
    estimates, scored = _client_with_rupture_at(texts, [4.4, 3.5, 4.3])
    flags = compute_flags(estimates, scored, {}, RULES, Clinic(RuptureModel(_RuptureAt(), 0.5)))
    on_rupture = {f.code for f in flags if f.session_id == "c-1-s1"}
    assert on_rupture == {"RUPTURE", "REPAIR"}
    repair = next(f for f in flags if f.code == "REPAIR" and f.session_id == "c-1-s1")
    assert "within the session" in repair.reason and repair.evidence == ["c-1-s1:1"]
