import numpy as np

from pipeline.schemas import PassageScores
from pipeline.sessions.features import (
    SIGNAL_NAMES,
    pooled_vectors,
    session_signals,
    session_vector,
    signal,
)


def scores(task=0.5, strain=0.1, bond=0.5, goal=0.2, levels=(0.2, 0.3, 0.5)) -> PassageScores:
    return PassageScores(
        alliance={"task": task, "bond": bond, "goal": goal},
        strain=strain,
        empathy={k: list(levels) for k in ("emotional_reaction", "interpretation", "exploration")},
        aux={
            "mi_behaviour": {
                "reflection": 0.6,
                "question": 0.2,
                "therapist_input": 0.1,
                "other": 0.1,
            },
            "client_talk": {"change": 0.5, "neutral": 0.3, "sustain": 0.2},
            "support_strategy": {"Question": 1.0},
        },
    )


def test_features_named_signals_react_to_strain():
    calm = session_signals([scores(), scores()], ["clinician", "client"])
    tense = session_signals([scores(strain=0.9, bond=0.9), scores()], ["clinician", "client"])
    assert calm.shape == (len(SIGNAL_NAMES),)
    for name in ("strain_max", "strain_share", "bond_strained"):
        assert signal(tense, name) > signal(calm, name), name
    assert not session_signals([], []).any()


def test_features_speaker_share_and_empathy_level():
    row = session_signals([scores()] * 4, ["clinician", "client", "client", "clinician"])
    assert signal(row, "client_share") == 0.5
    assert np.isclose(signal(row, "empathy_level"), 1.3)


def test_features_pooled_vectors_use_whole_session_and_last_third():
    vectors = np.arange(12, dtype=float).reshape(6, 2)
    pooled = pooled_vectors(vectors)
    np.testing.assert_allclose(pooled, [5, 6, 9, 10])
    assert session_vector(np.ones(3), pooled).shape == (7,)
    assert session_vector(np.ones(3), None).shape == (3,)
