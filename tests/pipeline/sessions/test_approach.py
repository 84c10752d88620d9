"""Approach fit on constructed trajectories: structure, exploration, no relation, a trend."""

import datetime as dt

import numpy as np
import pytest

from pipeline.config import ApproachConfig
from pipeline.schemas import SessionEstimate
from pipeline.sessions.approach import client_fit, fit_sentence, partial_spearman

STRUCTURE = [0.9, 0.1, 0.7, 0.3, 0.8, 0.2]  # irregular in time, as a clinic's would be


def _estimates(overall, structure, client="c-1"):
    return [
        SessionEstimate(
            session_id=f"{client}-s{i}",
            client_id=client,
            clinician_id="t-1",
            session_date=dt.date(2026, 1, 5) + dt.timedelta(days=7 * i),
            n_passages=8,
            **{f"{t}{s}": value for t in ("task", "bond", "goal") for s in ("", "_low", "_high")},
            overall=value,
            overall_low=value - 0.5,
            overall_high=value + 0.5,
            model_version="m",
            structure=x,
        )
        for i, (value, x) in enumerate(zip(overall, structure))
    ]


def _fit(overall, structure):
    return client_fit(_estimates(overall, structure), ApproachConfig())


def test_approach_structure_client():
    fit = _fit([4.4, 2.6, 4.1, 3.2, 4.3, 2.9], STRUCTURE)
    assert fit.approach_fit == "structure"
    assert fit.fit_rho > 0.8 and 0 < fit.fit_low <= fit.fit_rho <= fit.fit_high
    assert "more structured" in fit_sentence(fit, 0.8) and "not a rule" in fit_sentence(fit, 0.8)


def test_approach_exploration_client():
    fit = _fit([2.7, 4.5, 3.1, 4.0, 2.6, 4.2], STRUCTURE)
    assert fit.approach_fit == "exploration"
    assert fit.fit_high < 0
    sentence = fit_sentence(fit, 0.8)
    assert sentence.startswith("In 6 sessions, the alliance estimate was higher when sessions")
    assert "exploratory" in sentence and "80% interval" in sentence


def test_approach_no_relation_is_unclear():
    rng = np.random.default_rng(3)
    fit = _fit(list(4.0 + rng.normal(0, 0.05, 6)), STRUCTURE)
    assert fit.approach_fit == "unclear"
    assert fit.fit_low is not None and fit.fit_low <= 0 <= fit.fit_high


def test_approach_a_pure_time_trend_is_not_a_structure_client():
    """Alliance grows week by week and structure happens to rise too: a naive correlation
    says structure (rho = 1); with session order held fixed nothing is left."""
    overall = [2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
    rising = [0.1, 0.2, 0.35, 0.5, 0.7, 0.9]
    fit = _fit(overall, rising)
    assert fit.approach_fit == "unclear" and "time" in fit.why
    assert fit.overall_trend == pytest.approx(0.5)
    noisy = [0.1, 0.25, 0.2, 0.55, 0.7, 0.9]  # rises with time, not exactly
    assert _fit(overall, noisy).approach_fit == "unclear"


def test_approach_needs_enough_sessions_and_spread():
    few = client_fit(_estimates([4.4, 2.6, 4.1], STRUCTURE[:3]), ApproachConfig())
    assert few.approach_fit == "unclear" and "needs 4" in few.why
    flat = _fit([4.4, 2.6, 4.1, 3.2, 4.3, 2.9], [0.5, 0.45, 0.52, 0.48, 0.55, 0.5])
    assert flat.approach_fit == "unclear" and "too little" in flat.why
    missing = _fit([4.4, 2.6, 4.1, 3.2, 4.3, 2.9], [0.9, None, None, None, 0.8, 0.2])
    assert missing.approach_fit == "unclear" and missing.n_structured == 3


def test_approach_row_describes_the_client():
    fit = _fit([4.4, 2.6, 4.1, 3.2, 4.3, 2.9], STRUCTURE)
    assert (fit.n_sessions, fit.first_date, fit.last_date) == (
        6,
        dt.date(2026, 1, 5),
        dt.date(2026, 2, 9),
    )
    assert fit.overall_mean == pytest.approx(np.mean([4.4, 2.6, 4.1, 3.2, 4.3, 2.9]), abs=1e-4)
    again = _fit([4.4, 2.6, 4.1, 3.2, 4.3, 2.9], STRUCTURE)
    assert again == fit  # seeded bootstrap: the same call and interval every run


def test_approach_partial_spearman_removes_the_trend():
    t = np.arange(6.0)
    assert partial_spearman([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], t) is None
    assert partial_spearman([3, 1, 4, 1.5, 5, 2], [3, 1, 4, 1.5, 5, 2], t) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        client_fit([], ApproachConfig())


def test_approach_a_difference_smaller_than_the_estimators_error_is_no_pattern():
    """Ranks can agree perfectly while the estimates barely move: not worth a supervisor's
    time (the estimator's held-out error is about half a point)."""
    fit = _fit([4.12, 3.95, 4.08, 3.99, 4.10, 3.96], STRUCTURE)
    assert fit.fit_rho > 0.9
    assert fit.approach_fit == "unclear" and "differ by" in fit.why
    assert abs(fit.fit_difference) < 0.5


def test_approach_reads_one_kind_of_text():
    """Transcripts record every reflection (low structure) and may score higher: mixed with
    notes they would make any client look like an exploration client."""
    overall = [3.4, 4.3, 3.5, 3.7, 4.0, 3.6, 3.5]
    structure = [0.9, 0.3, 0.9, 0.7, 0.2, 0.7, 0.8]
    kinds = ["note", "transcript", "note", "note", "transcript", "note", "note"]
    estimates = [
        e.model_copy(update={"kind": kind})
        for e, kind in zip(_estimates(overall, structure), kinds)
    ]
    fit = client_fit(estimates, ApproachConfig())
    assert fit.fit_kind == "note" and fit.fit_sessions == 5 and fit.n_structured == 7
    assert fit.approach_fit == "unclear"
    mixed = client_fit([e.model_copy(update={"kind": None}) for e in estimates], ApproachConfig())
    assert mixed.fit_sessions == 7  # stores from before kinds were recorded: all sessions
