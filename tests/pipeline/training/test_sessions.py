"""Session rows for the session estimator: turns scored with context, rows built per session."""

import csv
import json
from pathlib import Path

import numpy as np

from pipeline.sessions.alliance_model import AllianceModel
from pipeline.sessions.features import SIGNAL_NAMES
from pipeline.training.records import LabeledSession
from pipeline.training.sessions import (
    NOTE_SOURCE,
    RatedSessions,
    rated_sessions,
    score_turns,
    session_matrix,
    session_rows,
    text_baseline,
    text_learners,
)

FIXTURES = Path(__file__).resolve().parents[3] / "data" / "fixtures"

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
    """Wraps a real scorer and records the rows (text, context, speaker, session) it scored."""

    def __init__(self, scorer):
        self.scorer, self.calls = scorer, []

    def predict(self, texts, contexts, speakers=None, groups=None):
        self.calls.append((list(texts), list(contexts), list(speakers), list(groups)))
        return self.scorer.predict(texts, contexts, speakers, groups)


def test_sessions_score_turns_uses_the_previous_turn_of_the_same_session(tiny_config):
    model = AllianceModel.load(tiny_config.model_dir, tiny_config.encoder)
    recording = RecordingScorer(model.scorer)
    probabilities, vectors, owners, speakers = score_turns(SESSIONS, recording)
    texts, contexts, turn_speakers, groups = recording.calls[0]
    assert contexts == ["", "What brings you in today?", ""]  # no context across sessions
    assert turn_speakers == ["clinician", "client", "client"] and groups == ["0", "0", "1"]
    assert owners == [0, 0, 1] and speakers == ["clinician", "client", "client"]
    assert len(vectors) == 3 and all(len(p) == 3 for p in probabilities.values())


def test_sessions_session_rows_equal_session_matrix(tiny_config):
    model = AllianceModel.load(tiny_config.model_dir, tiny_config.encoder)
    matrix = session_matrix(SESSIONS, model.scorer)
    rows = session_rows(
        len(SESSIONS), *score_turns(SESSIONS, model.scorer), kinds=["transcript"] * 2
    )
    np.testing.assert_allclose(rows, matrix, atol=1e-6)
    kind = [SIGNAL_NAMES.index(f"kind_{k}") for k in ("note", "transcript", "chat")]
    assert matrix[:, kind].tolist() == [[0, 1, 0], [0, 1, 0]]  # AnnoMI reads as a transcript
    assert matrix.shape[0] == 2 and matrix.shape[1] > len(SIGNAL_NAMES)
    assert not np.allclose(matrix[0], matrix[1])  # different sessions, different rows


def _labeled_subset(tmp_path: Path) -> tuple[Path, Path]:
    """Two dev clients and one test client of the labeled note sessions."""
    labels = (FIXTURES / "note_session_labels.csv").read_text(encoding="utf-8").splitlines()
    rows = list(csv.DictReader(labels))
    dev = sorted({r["client_id"] for r in rows if r["split"] == "dev"})[:2]
    test = sorted({r["client_id"] for r in rows if r["split"] == "test"})[:1]
    keep = {r["session_id"] for r in rows if r["client_id"] in dev + test}
    sessions = [
        line
        for line in (FIXTURES / "note_sessions.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["session_id"] in keep
    ]
    (tmp_path / "s.jsonl").write_text("\n".join(sessions) + "\n", encoding="utf-8")
    kept = [labels[0]] + [line for line in labels[1:] if line.split(",")[0] in keep]
    (tmp_path / "l.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return tmp_path / "s.jsonl", tmp_path / "l.csv"


def test_sessions_rated_sessions_read_labeled_notes_as_the_pipeline_does(tiny_config, tmp_path):
    from pipeline.steps import classify_sessions
    from pipeline.training.labels import load_labels
    from pipeline.training.structure import read_sessions

    files = _labeled_subset(tmp_path)
    model = AllianceModel.load(tiny_config.model_dir, tiny_config.encoder)
    rated = rated_sessions(None, load_labels(), model.scorer, tiny_config, files)
    assert set(rated.sources) == {NOTE_SOURCE} and set(rated.splits) == {"dev", "test"}
    # Dev clients train; test clients are held out and never in the training rows.
    assert not (rated.training & (rated.splits == "test")).any()
    assert rated.held_out(("test",)).sum() == (rated.splits == "test").sum()
    assert not rated.held_out(("validation",)).any()
    sessions = read_sessions(files[0])
    expected = classify_sessions(sessions, model.scorer, tiny_config)
    for session in sessions:
        row = rated.X[list(rated.ids).index(session.session_id)]
        np.testing.assert_allclose(row, expected[session.session_id].row)
        assert row[SIGNAL_NAMES.index(f"kind_{session.kind}")] == 1.0
        assert rated.kinds[list(rated.ids).index(session.session_id)] == session.kind
    assert len(rated.kinds) == len(rated.texts) == len(rated.ids)
    assert not np.isnan(rated.y).any()  # every labeled session rates all four targets


def test_sessions_text_baseline_is_fitted_on_training_rows_only(tiny_config, tmp_path):
    from pipeline.training.labels import load_labels

    model = AllianceModel.load(tiny_config.model_dir, tiny_config.encoder)
    files = _labeled_subset(tmp_path)
    rated = rated_sessions(None, load_labels(), model.scorer, tiny_config, files)
    held = rated.held_out(("test",))
    baseline = text_baseline(rated, held)
    assert baseline["overall/note_sessions"]["n"] == held.sum()
    # Replacing the held-out targets cannot change a baseline that never saw them.
    rated.y[held] = 5.0 - rated.y[held] + 1.0
    again = text_baseline(rated, held)
    assert again["overall/note_sessions"]["mae"] != baseline["overall/note_sessions"]["mae"]
    assert (
        again["overall/note_sessions"]["spearman"] == -baseline["overall/note_sessions"]["spearman"]
    )


def test_sessions_text_model_learns_from_every_source_but_the_labeled_transcripts():
    kinds = np.array(["transcript", "transcript", "note", "chat"])
    sources = np.array(["annomi", NOTE_SOURCE, NOTE_SOURCE, "esconv"])
    n = len(kinds)
    rated = RatedSessions(
        np.zeros((n, 2)), np.full((n, 4), 3.0), sources, np.array(["train"] * n),
        np.arange(n), np.arange(n), kinds, np.array(["words"] * n, dtype=object),
        np.array(["client words"] * n, dtype=object),
    )  # fmt: skip
    assert text_learners(rated).tolist() == [True, False, True, True]
