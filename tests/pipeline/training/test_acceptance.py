"""The fixture storylines as an acceptance check: codes -> calls met, steady sessions,
approach-fit calls."""

from pipeline.training.acceptance import (
    FIXTURE_CALLS,
    INTENDED_FIT,
    meets_storylines,
    storylines,
)


def test_acceptance_storylines_calls_and_steady_sessions():
    none = storylines({})
    assert not any(none["storyline_calls_met"].values()) and none["flag_rate"] == 0
    codes = {"s-004": {"RUPTURE"}, "s-006": {"REPAIR"}, "s-007": {"LOW_ALLIANCE"}}
    result = storylines(codes)
    met = [name for name, ok in result["storyline_calls_met"].items() if ok]
    assert met == ["c-01 rupture at s-004", "c-01 repair at s-005 or s-006"]
    assert result["steady_sessions"] > 0
    # s-007 is c-02's (steady); REPAIR alone is not a flag to review.
    assert result["steady_sessions_flagged"] == {"s-007": ["LOW_ALLIANCE"]}
    assert result["flag_rate"] == round(2 / 66, 3)


def test_acceptance_every_call_is_reachable_and_the_rule_compares():
    everything = {sid: set(codes) for sids, codes in FIXTURE_CALLS.values() for sid in sids}
    assert all(storylines(everything)["storyline_calls_met"].values())
    all_met = {"calls_met": sorted(FIXTURE_CALLS), "steady_flagged": []}
    one_missed = {**all_met, "calls_met": sorted(FIXTURE_CALLS)[1:]}
    assert meets_storylines(all_met, one_missed) and not meets_storylines(one_missed, all_met)


def test_acceptance_an_approach_fit_call_the_default_makes_right_must_stay_right():
    """A candidate that calls a flag-storyline client `structure` (structure not varied on
    purpose) where the default called it `unclear` is not promoted; older summaries without
    approach-fit calls still compare on the storylines alone."""
    both = {"calls_met": sorted(FIXTURE_CALLS), "steady_flagged": []}
    default = {**both, "fits_met": sorted(INTENDED_FIT)}
    candidate = {**both, "fits_met": sorted(c for c in INTENDED_FIT if c != "c-06")}
    assert not meets_storylines(candidate, default)
    assert meets_storylines(default, candidate)
    assert meets_storylines(both, both)
    assert INTENDED_FIT["c-06"] == "unclear" and INTENDED_FIT["c-08"] == "structure"
