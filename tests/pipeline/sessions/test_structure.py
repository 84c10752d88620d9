"""Session structure pooled from the style head's passage scores."""

import pytest

from pipeline.schemas import PassageScores
from pipeline.sessions.structure import session_structure


def _scores(directive: float, exploratory: float, neither: float | None = None) -> PassageScores:
    style = None
    if neither is not None:
        style = {"directive": directive, "exploratory": exploratory, "neither": neither}
    return PassageScores(alliance={}, strain=0.0, empathy={}, aux={}, style=style)


def test_structure_pools_directive_over_activity():
    scores = [_scores(0.9, 0.05, 0.05), _scores(0.1, 0.8, 0.1), _scores(0.7, 0.2, 0.1)]
    expected = (0.9 + 0.1 + 0.7) / (0.95 + 0.9 + 0.9)
    assert session_structure(scores, ["clinician"] * 3) == pytest.approx(expected, abs=1e-4)


def test_structure_ignores_neither_and_client_passages():
    base = [_scores(0.8, 0.2, 0.0), _scores(0.2, 0.8, 0.0)]
    assert session_structure(base, ["clinician"] * 2) == pytest.approx(0.5)
    # Client report ("neither") adds nothing: the value stays, it is not pulled to 0.5.
    more = base + [_scores(0.02, 0.02, 0.96)] * 10
    assert session_structure(more, ["clinician"] * 12) == pytest.approx(0.5, abs=1e-3)
    # A client turn never counts, whatever its style scores.
    assert session_structure(base + [_scores(1.0, 0.0, 0.0)], ["clinician"] * 2 + ["client"]) == (
        pytest.approx(0.5)
    )


def test_structure_is_empty_without_clinician_activity():
    idle = [_scores(0.05, 0.05, 0.9)] * 5
    assert session_structure(idle, ["clinician"] * 5) is None  # 0.5 of activity < 0.8
    assert session_structure([], []) is None
    assert session_structure([_scores(0, 0)], ["clinician"]) is None  # a model without style
    assert session_structure([_scores(0.9, 0.1, 0.0)], ["client"]) is None


def test_structure_ranges_from_exploratory_to_directive():
    assert session_structure([_scores(0.0, 1.0, 0.0)], ["clinician"]) == 0.0
    assert session_structure([_scores(1.0, 0.0, 0.0)], ["clinician"]) == 1.0
