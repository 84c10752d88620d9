"""Session rows for the session estimator: turns scored with context, rows built per session."""

import numpy as np

from pipeline.sessions.alliance_model import AllianceModel
from pipeline.sessions.features import SIGNAL_NAMES
from pipeline.training.records import LabeledSession
from pipeline.training.sessions import score_turns, session_matrix, session_rows

SESSIONS = [
    LabeledSession(
        "annomi",
        "annomi-1",
        [("clinician", "What brings you in today?"), ("client", "I want to sleep better.")],
        {"overall": 4.0},
    ),
    LabeledSession("annomi", "annomi-2", [("client", "I do not know.")], {"overall": 2.0}),
]


class RecordingScorer:
    """Wraps a real scorer and records the (text, context) pairs it was asked to score."""

    def __init__(self, scorer):
        self.scorer, self.calls = scorer, []

    def predict(self, texts, contexts):
        self.calls.append((list(texts), list(contexts)))
        return self.scorer.predict(texts, contexts)


def test_sessions_score_turns_uses_the_previous_turn_of_the_same_session(tiny_config):
    model = AllianceModel.load(tiny_config.model_dir, tiny_config.encoder)
    recording = RecordingScorer(model.scorer)
    probabilities, vectors, owners, speakers = score_turns(SESSIONS, recording)
    texts, contexts = recording.calls[0]
    assert contexts == ["", "What brings you in today?", ""]  # no context across sessions
    assert owners == [0, 0, 1] and speakers == ["clinician", "client", "client"]
    assert len(vectors) == 3 and all(len(p) == 3 for p in probabilities.values())


def test_sessions_session_rows_equal_session_matrix(tiny_config):
    model = AllianceModel.load(tiny_config.model_dir, tiny_config.encoder)
    matrix = session_matrix(SESSIONS, model.scorer)
    rows = session_rows(len(SESSIONS), *score_turns(SESSIONS, model.scorer))
    np.testing.assert_allclose(rows, matrix, atol=1e-6)
    assert matrix.shape[0] == 2 and matrix.shape[1] > len(SIGNAL_NAMES)
    assert not np.allclose(matrix[0], matrix[1])  # different sessions, different rows
